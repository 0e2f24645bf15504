import { canonicalIp } from '../net/address.js';

/** A grant: the address and the time (epoch seconds) of the login that opened it. */
export type Grant = readonly [ip: string, at: number];

/** Oldest first, then by address: the order every listing and map uses. */
export function inGrantOrder<T extends Grant>(grants: T[]): T[] {
  return grants.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
}

/** `IP epoch` lines: what vsmtprelay's list prints, the relay file holds and makemap/postmap read. */
export function grantLines(grants: Iterable<Grant>): string {
  let out = '';
  for (const [ip, at] of grants) out += `${ip} ${at}\n`;
  return out;
}

/** The grants in `IP epoch` lines; lines that are not one (or name no address) are skipped. */
export function parseGrantLines(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [ipText, atText] = line.trim().split(/\s+/);
    if (!ipText || !atText || !/^\d{1,12}$/.test(atText)) continue;
    const ip = canonicalIp(ipText);
    if (ip) map.set(ip, Number(atText));
  }
  return map;
}
