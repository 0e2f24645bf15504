import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * One spelling per address, so a grant and a lookup always meet: IPv4
 * dotted-quad without leading zeros, IPv6 in RFC 5952 form, an IPv4-mapped
 * IPv6 address as the IPv4 address it is. Anything else is undefined.
 */
export function canonicalIp(text: string): string | undefined {
  if (text.length > 45) return undefined;
  if (isIPv4(text)) return text;
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const groups = expandIPv6(text);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  return compressIPv6(groups);
}

function expandIPv6(text: string): number[] {
  let t = text.toLowerCase();
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(t);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    t = `${t.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const h = head === '' ? [] : head.split(':');
  const tl = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : Array<string>(8 - h.length - tl.length).fill('0');
  return [...h, ...zeros, ...tl].map((g) => parseInt(g, 16));
}

/** RFC 5952: lowercase, no leading zeros, the longest run (>1) of zero groups as "::", the first on a tie. */
function compressIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** A list of CIDR blocks (or single addresses), IPv4 and IPv6. */
export class AddressSet {
  private readonly list = new BlockList();
  readonly text: string;

  constructor(specs: readonly string[]) {
    for (const spec of specs) {
      const [addr, bits] = spec.split('/') as [string, string | undefined];
      const ip = canonicalIp(addr);
      if (!ip) throw new Error(`${JSON.stringify(spec)} is not an address or CIDR block`);
      const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!(prefix >= 0 && prefix <= max)) throw new Error(`${JSON.stringify(spec)}: prefix length must be 0-${max}`);
      this.list.addSubnet(ip, prefix, family);
    }
    this.text = specs.join(' ');
  }

  has(ip: string): boolean {
    return this.list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
  }
}
