import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { CacheTagger } from '../crypt/cache-tag.js';

interface Entry {
  readonly mac: Buffer;
  readonly generation: string | undefined;
  /** When the success was stored (Date.now()). */
  readonly made: number;
}

export interface CacheOptions {
  readonly entries: number;
  readonly ttlMs: number;
}

/**
 * Remembers successful logins as HMAC-SHA256(key, user, realm, service,
 * password) under a key made at start and held only in memory: neither a
 * memory dump nor a copy of the table yields passwords or offline-guessable
 * unkeyed digests. Only successes are stored; a hit needs the same password
 * and the backend's data unchanged since the entry was made.
 */
export class CredentialCache {
  private readonly key = randomBytes(32);
  /** HMAC-SHA256 under `key`: the same as createHmac, with the key's blocks hashed once. */
  private readonly tagger = new CacheTagger(this.key);
  private readonly lru: LRUCache<string, Entry>;
  /** Whose entries these are: see scoped(). */
  private readonly scope: string = '';

  private readonly ttlMs: number;

  constructor(opts: CacheOptions) {
    this.ttlMs = opts.ttlMs;
    // ttlResolution 0: the clock is read on each lookup (tens of nanoseconds); lru-cache's default
    // of 1 ms saves those reads by arming a timer every millisecond, which costs a busy daemon more.
    this.lru = new LRUCache<string, Entry>({ max: opts.entries, ttl: opts.ttlMs, ttlResolution: 0, updateAgeOnGet: false, ttlAutopurge: false });
  }

  /**
   * The same table, key and limits, under another name. Each mechanism of a
   * chain keeps its entries under its own: their generations differ, and an
   * entry one mechanism made must neither answer for another nor be dropped
   * as stale by it.
   */
  scoped(scope: string): CredentialCache {
    const view = Object.create(this) as CredentialCache;
    Object.defineProperty(view, 'scope', { value: scope });
    return view;
  }

  private id(user: string, realm: string, service: string): string {
    return `${this.scope}\0${user}\0${realm}\0${service}`;
  }

  private mac(id: string, password: Buffer): Buffer {
    return this.tagger.tag(id, password);
  }

  private matches(e: Entry, id: string, password: Buffer): boolean {
    return this.tagger.matches(e.mac, id, password);
  }

  /** True when this exact password succeeded for this key and the data has not changed since. */
  hit(user: string, realm: string, service: string, password: Buffer, generation: string | undefined): boolean {
    const id = this.id(user, realm, service);
    const e = this.lru.get(id);
    if (!e) return false;
    if (e.generation !== generation) {
      this.lru.delete(id);
      return false;
    }
    return this.matches(e, id, password);
  }

  /**
   * True when this exact password succeeded for this key within the TTL,
   * whatever the data's state then: the answer while the backend cannot be asked.
   */
  hitStale(user: string, realm: string, service: string, password: Buffer): boolean {
    const id = this.id(user, realm, service);
    const e = this.lru.get(id);
    return e !== undefined && this.matches(e, id, password);
  }

  /**
   * True when this exact password succeeded for this key less than `maxAgeMs`
   * ago, whatever the data's state: for a source that lets a recent success
   * answer without being asked at all (LDAP's ldap_cache_ttl).
   */
  hitWithin(user: string, realm: string, service: string, password: Buffer, maxAgeMs: number): boolean {
    const id = this.id(user, realm, service);
    const e = this.lru.get(id);
    return e !== undefined && Date.now() - e.made < maxAgeMs && this.matches(e, id, password);
  }

  /** A keyed digest of what the backend returned, so a stored hash or clear password is never kept as is. */
  fingerprint(data: string): string {
    return this.tagger.tag('fingerprint', data).toString('base64');
  }

  /** `lifetimeMs`: a shorter life than the cache's own for this entry; 0 stores nothing (lru-cache would read it as "no limit"). */
  store(user: string, realm: string, service: string, password: Buffer, generation: string | undefined, lifetimeMs?: number): void {
    const id = this.id(user, realm, service);
    if (lifetimeMs !== undefined && lifetimeMs <= 0) {
      this.lru.delete(id);
      return;
    }
    this.lru.set(id, { mac: this.mac(id, password), generation, made: Date.now() }, lifetimeMs === undefined ? undefined : { ttl: Math.min(lifetimeMs, this.ttlMs) });
  }

  forget(user: string, realm: string, service: string): void {
    this.lru.delete(this.id(user, realm, service));
  }

  /** Drops every entry of this login (any mechanism, any service; any realm when none is given), e.g. after an admin reset its password; returns how many. */
  forgetLogin(user: string, realm?: string): number {
    let n = 0;
    for (const id of [...this.lru.keys()]) {
      // id: scope NUL user NUL realm NUL service
      const [, u, r] = id.split('\0');
      if (u === user && (realm === undefined || r === realm) && this.lru.delete(id)) n++;
    }
    return n;
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}
