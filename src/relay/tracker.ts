import type { RelayConfig } from '../config/relay.js';
import { logLine } from '../log-line.js';
import type { Logger } from '../log.js';
import { AddressSet, canonicalIp } from '../net/address.js';
import { inGrantOrder } from './grant-lines.js';
import type { RelayStore } from './store.js';

/** Told of every change, so MTAs that read files or listen for events see it. */
export interface RelayPublisher {
  readonly name: string;
  /** Called after a change is in the store; `live` gives the grants now live when a publisher needs them all. */
  changed(change: RelayChange, live: () => Promise<Array<[string, number]>>): void;
  /** Called every expiry interval, whether or not the store could expire anything: grants made at or before `cutoff` are no longer live. */
  tick?(cutoff: number, live: () => Promise<Array<[string, number]>>): void;
  close(): Promise<void>;
}

export type RelayChange =
  | { readonly kind: 'grant'; readonly ip: string; readonly at: number; readonly until: number }
  | { readonly kind: 'revoke'; readonly ips: readonly string[]; readonly why: 'expired' | 'deleted' }
  /** At start: the store may hold grants no publisher has seen yet. */
  | { readonly kind: 'refresh' };

export interface LoginFacts {
  readonly service: string;
  readonly clientIp?: string | undefined;
  /** False when the account's source says it never opens relay (vpopmail's NO_RELAY). */
  readonly mayRelay?: boolean | undefined;
  readonly user: string;
}

export type Decision = { readonly grant: true; readonly ip: string } | { readonly grant: false; readonly why: string };

/**
 * Addresses that name no single host: unspecified, "this network",
 * broadcast, multicast and reserved. A grant for one would open relay to
 * nobody in particular, or in a hand-written map to everybody; they are
 * refused whatever relay_ignore says.
 */
const NEVER_GRANTED = new AddressSet(['0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '::/128', 'ff00::/8']);

export class RelayInputError extends Error {
  override readonly name = 'RelayInputError';
}

/**
 * POP-before-SMTP: turns successful logins into relay grants (policy),
 * keeps them in one store, expires them, and tells the publishers.
 */
export class RelayTracker {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly config: RelayConfig,
    readonly store: RelayStore,
    private readonly publishers: readonly RelayPublisher[],
    private readonly log: Logger,
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  decide(f: LoginFacts): Decision {
    if (!f.clientIp) return { grant: false, why: 'no client address' };
    const ip = canonicalIp(f.clientIp);
    if (!ip) return { grant: false, why: `malformed client address ${JSON.stringify(f.clientIp)}` };
    if (!this.config.services.has(f.service.toLowerCase())) return { grant: false, why: `service ${f.service} does not open relay` };
    if (f.mayRelay === false) return { grant: false, why: 'the account may not open relay' };
    if (NEVER_GRANTED.has(ip)) return { grant: false, why: `${ip} is not a host address` };
    if (this.config.ignore.has(ip)) return { grant: false, why: `${ip} is in relay_ignore` };
    return { grant: true, ip };
  }

  /** Records a grant for a login when the policy allows one; resolves once the store holds it. */
  async recordLogin(f: LoginFacts): Promise<Decision> {
    const d = this.decide(f);
    if (!d.grant) {
      // Most logins carry no address (Cyrus SASL before 2.1.28 sends none): no line for each of them.
      if (f.clientIp) this.log.debug(logLine`relay: no grant for ${f.user}: ${d.why}`);
      return d;
    }
    await this.put(d.ip, this.now());
    this.log.info(logLine`relay: ${d.ip} may relay for ${this.config.ttlS} s (login of ${f.user}, ${f.service})`);
    return d;
  }

  /** A grant made by hand (relay add) or by a login; `ipText` is checked here, whoever sent it. */
  async grant(ipText: string, at: number): Promise<string> {
    const ip = canonicalIp(ipText);
    if (!ip) throw new RelayInputError(`${JSON.stringify(ipText)} is not an IPv4 or IPv6 address`);
    if (NEVER_GRANTED.has(ip)) throw new RelayInputError(`${ip} is not a host address (unspecified, broadcast, multicast or reserved)`);
    await this.put(ip, at);
    return ip;
  }

  private async put(ip: string, at: number): Promise<void> {
    await this.store.put(ip, at);
    this.publish({ kind: 'grant', ip, at, until: at + this.config.ttlS });
  }

  async revoke(ipTexts: readonly string[]): Promise<string[]> {
    const ips = ipTexts.map((t) => {
      const ip = canonicalIp(t);
      if (!ip) throw new RelayInputError(`${JSON.stringify(t)} is not an IPv4 or IPv6 address`);
      return ip;
    });
    const gone = await this.store.remove(ips);
    if (gone.length > 0) this.publish({ kind: 'revoke', ips: gone, why: 'deleted' });
    return gone;
  }

  /** Removes grants `ageS` old or older (default relay_ttl): exactly those isLive no longer counts. */
  async expire(ageS = this.config.ttlS): Promise<string[]> {
    const gone = await this.store.expireBefore(this.now() - ageS + 1);
    if (gone.length > 0) {
      this.log.info(`relay: ${gone.length} grant(s) expired`);
      this.publish({ kind: 'revoke', ips: gone, why: 'expired' });
    }
    return gone;
  }

  /** True while `ip` holds a grant younger than relay_ttl. Rejects with TempFail when the store cannot answer. */
  async isLive(ip: string): Promise<boolean> {
    if (NEVER_GRANTED.has(ip)) return false;
    const at = await this.store.get(ip);
    return at !== undefined && at > this.now() - this.config.ttlS;
  }

  async live(maxAgeS = this.config.ttlS): Promise<Array<[string, number]>> {
    const cutoff = this.now() - maxAgeS;
    // A store others can write to (a shared Redis, the vpopmail table) may hold what no login made:
    // only addresses in their one spelling, naming a single host, reach the published maps.
    return inGrantOrder((await this.store.entries()).filter(([ip, at]) => at > cutoff && canonicalIp(ip) === ip && !NEVER_GRANTED.has(ip)));
  }

  /** Publishers that write whole files (text map, cdb) start from the store's contents. */
  refreshPublishers(): void {
    this.publish({ kind: 'refresh' });
  }

  private publish(change: RelayChange): void {
    for (const p of this.publishers) {
      try {
        p.changed(change, () => this.live());
      } catch (err) {
        this.log.error(`relay: publisher ${p.name}: ${(err as Error).message}`);
      }
    }
  }

  startExpiry(): void {
    this.timer = setInterval(() => {
      // Published maps drop a grant past its TTL on their own, even while the store cannot expire it
      // (a writer holding the lock, a database away): none outlives its TTL there by more than one interval.
      const cutoff = this.now() - this.config.ttlS;
      for (const p of this.publishers) p.tick?.(cutoff, () => this.live());
      this.expire().catch((err: Error) => this.log.error(`relay: expiry failed, retried in ${this.config.expireIntervalMs / 1000} s: ${err.message}`));
    }, this.config.expireIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.publishers.map((p) => p.close()));
    await this.store.close();
  }
}
