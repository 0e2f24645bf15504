import { BlockList } from 'node:net';

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** A dotted quad, each part 0-255 without leading zeros; undefined otherwise. */
function ipv4Parts(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out.push(Number(p));
  }
  return out;
}

/** Eight 16-bit groups, "::" and a trailing dotted quad allowed; undefined when not an IPv6 address. */
function ipv6Groups(text: string): number[] | undefined {
  let t = text;
  let tail: number[] = [];
  const lastColon = t.lastIndexOf(':');
  if (t.includes('.', lastColon)) {
    const v4 = ipv4Parts(t.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    const before = t.slice(0, lastColon + 1);
    t = before.endsWith('::') ? before : before.slice(0, -1);
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]!);
  const rest = halves.length === 2 ? part(halves[1]!) : [];
  if (![...head, ...rest].every((g) => HEX_GROUP.test(g))) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const zeros = Array<number>(8 - given).fill(0);
  return [...head.map((g) => parseInt(g, 16)), ...zeros, ...rest.map((g) => parseInt(g, 16)), ...tail];
}

/**
 * One spelling per address, so a grant and a lookup always meet: IPv4
 * dotted-quad without leading zeros, IPv6 in RFC 5952 form, an IPv4-mapped
 * IPv6 address as the IPv4 address it is. Anything else is undefined.
 * Parsed here rather than with node:net's isIP, whose IPv6 expression costs
 * every checkpassword start milliseconds to compile.
 */
export function canonicalIp(text: string): string | undefined {
  if (text.length === 0 || text.length > 45) return undefined;
  if (!text.includes(':')) return ipv4Parts(text) ? text : undefined;
  const groups = ipv6Groups(text);
  if (!groups) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  return compressIPv6(groups);
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
  /** IPv4 blocks as [network, mask], checked with integer arithmetic: BlockList parses the address on every call (over a microsecond). */
  private readonly v4: Array<readonly [number, number]> = [];
  readonly text: string;

  constructor(specs: readonly string[]) {
    for (const spec of specs) {
      const [addr, bits] = spec.split('/') as [string, string | undefined];
      const ip = canonicalIp(addr);
      if (!ip) throw new Error(`${JSON.stringify(spec)} is not an address or CIDR block`);
      const family = ip.includes(':') ? 'ipv6' : 'ipv4';
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (!(prefix >= 0 && prefix <= max)) throw new Error(`${JSON.stringify(spec)}: prefix length must be 0-${max}`);
      this.list.addSubnet(ip, prefix, family);
      if (family === 'ipv4') {
        const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
        this.v4.push([(ipv4Number(ip)! & mask) >>> 0, mask]);
      }
    }
    this.text = specs.join(' ');
  }

  /** `ip` in canonicalIp's spelling. */
  has(ip: string): boolean {
    const n = ipv4Number(ip);
    if (n === undefined) return this.list.check(ip, 'ipv6');
    for (const [net, mask] of this.v4) if (((n & mask) >>> 0) === net) return true;
    return false;
  }
}

/** A dotted quad as an unsigned 32-bit number; undefined for anything else. */
function ipv4Number(ip: string): number | undefined {
  const p = ipv4Parts(ip);
  return p && p[0]! * 0x1000000 + (p[1]! << 16) + (p[2]! << 8) + p[3]!;
}
