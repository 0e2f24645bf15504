import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface PenaltyOptions {
  /** The first penalty; each further failure doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Addresses remembered at most: an attack from a million addresses stays within this many. */
  readonly entries: number;
  /** A quiet address is forgotten after this long. */
  readonly forgetAfterMs: number;
  /** The pair digests' key: the same in every process that shares counts (serve_processes), else made here. */
  readonly key?: Buffer;
}

/** One address's counts, as a process that starts (serve_processes) is given them. */
export interface PenaltyEntry {
  readonly key: string;
  readonly failures: number;
  readonly tried: readonly number[];
}

/** One change to the counts, as the processes serving one socket tell each other: no password, only its keyed digest. */
export type PenaltyEvent =
  | { readonly op: 'failed'; readonly key: string; readonly digest: number }
  | { readonly op: 'succeeded' | 'cleared'; readonly key: string };

interface Entry {
  failures: number;
  /**
   * Keyed digests of the last user+password pairs tried from here, newest
   * last, 32 bits each: plain numbers, some 80 bytes for ten, where a Buffer
   * for each cost over a hundred. A chance collision (about 1 in 400 million
   * a failure) only means one failure is not counted.
   */
  readonly tried: number[];
}

/** How many recent pairs a repeat is looked for in (Dovecot keeps 10). */
const REMEMBERED_PAIRS = 10;

const LOCAL_PEER = 'uid:';

/**
 * What a local user's requests are counted under when no address of theirs
 * is believed (they are not root nor in trusted_users): their uid, as the
 * kernel tells it. Used in place of an address throughout this table.
 */
export function localPeerKey(uid: number): string {
  return `${LOCAL_PEER}${uid}`;
}

/** The key an admin names as `uid:N` (authmux ctl penalty-clear); undefined for anything else. */
export function parseLocalPeerKey(text: string): string | undefined {
  const m = /^uid:(\d{1,10})$/.exec(text);
  return m ? localPeerKey(Number(m[1])) : undefined;
}

/**
 * The key an address is counted under: IPv4 as it is, IPv6 by its /48,
 * the block one site gets, so an attacker cannot step through the
 * addresses of its own network to start each guess with a clean slate.
 */
export function penaltyKey(ip: string): string {
  if (!ip.includes(':') || ip.startsWith(LOCAL_PEER)) return ip;
  const groups = expandIpv6(ip);
  return groups ? `${groups.slice(0, 3).join(':')}::/48` : ip;
}

function expandIpv6(ip: string): string[] | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  return groups.length === 8 ? groups.map((g) => (parseInt(g, 16) || 0).toString(16)) : undefined;
}

/**
 * Dovecot's authentication penalty: consecutive failures from one address
 * make its next requests wait 2 s, 4 s, 8 s... up to a cap; a success
 * clears it. A failure that repeats a user+password pair tried lately from
 * the same address (a phone retrying a stale password) does not raise it.
 * Pairs are kept as keyed, truncated digests under a key made at start:
 * nothing here yields a password.
 */
export class PenaltyTable {
  private readonly key: Buffer;
  private readonly table: LRUCache<string, Entry>;

  private maxMs: number;
  /** Told of each change this table makes on its own (not of those applied from elsewhere). */
  onChange: ((e: PenaltyEvent) => void) | undefined;

  constructor(private readonly opts: PenaltyOptions) {
    this.key = opts.key ?? randomBytes(32);
    this.maxMs = opts.maxMs;
    this.table = new LRUCache<string, Entry>({ max: opts.entries, ttl: opts.forgetAfterMs, updateAgeOnGet: false });
  }

  /** How long a request from `ip` waits before it is checked. */
  delayMs(ip: string): number {
    return this.delayFor(this.table.get(penaltyKey(ip))?.failures ?? 0);
  }

  /** The wait after this many consecutive failures. */
  delayFor(failures: number): number {
    if (failures <= 0) return 0;
    return Math.min(this.opts.baseMs * 2 ** Math.min(failures - 1, 30), this.maxMs);
  }

  /** A reload may change the cap; the counts stay. */
  limit(maxMs: number): void {
    this.maxMs = maxMs;
  }

  /** Counts a failure; false when it repeated a recent pair and so counted nothing. */
  failed(ip: string, login: string, password: Buffer): boolean {
    const key = penaltyKey(ip);
    const digest = createHmac('sha256', this.key).update(login, 'latin1').update('\0').update(password).digest().readUInt32BE(0);
    const counted = this.count(key, digest);
    if (counted) this.onChange?.({ op: 'failed', key, digest });
    return counted;
  }

  private count(k: string, digest: number): boolean {
    const e = this.table.get(k) ?? { failures: 0, tried: [] };
    if (e.tried.includes(digest)) {
      this.table.set(k, e);
      return false;
    }
    e.tried.push(digest);
    if (e.tried.length > REMEMBERED_PAIRS) e.tried.shift();
    e.failures++;
    this.table.set(k, e);
    return true;
  }

  succeeded(ip: string): void {
    const key = penaltyKey(ip);
    if (this.table.delete(key)) this.onChange?.({ op: 'succeeded', key });
  }

  /** Every address counted now, for a process that starts with this table's state. */
  entries(): PenaltyEntry[] {
    return [...this.table.entries()].map(([key, e]) => ({ key, failures: e.failures, tried: [...e.tried] }));
  }

  /** Takes `entries` as they are (another process's table); not told on. */
  adopt(entries: readonly PenaltyEntry[]): void {
    for (const e of entries) this.table.set(e.key, { failures: e.failures, tried: e.tried.slice(-REMEMBERED_PAIRS) });
  }

  /** A change another process made: applied, and not told on. */
  apply(e: PenaltyEvent): void {
    if (e.op === 'failed') this.count(e.key, e.digest);
    else this.table.delete(e.key);
  }

  /** Failures counted for the address's key now (the control command shows them). */
  failures(ip: string): number {
    return this.table.get(penaltyKey(ip))?.failures ?? 0;
  }

  /** The addresses counted now (or the one `ip` falls under), most recently seen first. */
  list(ip?: string): Array<{ key: string; failures: number; delayMs: number }> {
    const keys = ip === undefined ? [...this.table.keys()] : [penaltyKey(ip)];
    return keys.flatMap((key) => {
      const e = this.table.get(key);
      return e ? [{ key, failures: e.failures, delayMs: this.delayFor(e.failures) }] : [];
    });
  }

  clear(ip: string): boolean {
    const key = penaltyKey(ip);
    const cleared = this.table.delete(key);
    if (cleared) this.onChange?.({ op: 'cleared', key });
    return cleared;
  }

  get size(): number {
    return this.table.size;
  }
}
