import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config/config.js';
import type { AddressSet } from '../net/address.js';
import type { Decided, DecidedAtOnce } from './chain.js';
import { localPeerKey, penaltyKey, PenaltyTable } from './penalty.js';
import type { SharedPenalty } from './shared-penalty.js';
import type { AuthRequest } from './types.js';

/** Dovecot's numbers: 2 s for the first penalty; an address quiet for an hour starts clean. */
const PENALTY_BASE_MS = 2000;
export const PENALTY_FORGET_MS = 3_600_000;
/** About 300 bytes of heap an address (measured full: 29 MB of heap kept, 73 to 80 MB more RSS at the peak of filling it, in each serving process): an attack from a million addresses keeps this many. */
const PENALTY_ENTRIES = 100_000;

/** The table of this process's counts, as long as it lives; a reload only changes the rules (gateFor). */
export function newPenaltyTable(config: Config, key?: Buffer): PenaltyTable {
  return new PenaltyTable({ baseMs: PENALTY_BASE_MS, maxMs: config.penalty.maxMs, entries: PENALTY_ENTRIES, forgetAfterMs: PENALTY_FORGET_MS, key });
}

export function gateFor(config: Config, table: PenaltyTable, shared: SharedPenalty | undefined): PenaltyGate {
  table.limit(config.penalty.maxMs);
  return new PenaltyGate({ table: config.penalty.enabled ? table : undefined, exempt: config.penalty.trusted, failureDelayMs: config.penalty.failureDelayMs, shared });
}

export interface PenaltyGateOptions {
  /** Undefined: no per-address penalty (`penalty: no`). */
  readonly table: PenaltyTable | undefined;
  /** Addresses never penalised (penalty_trusted: the site's own relays, monitoring). */
  readonly exempt: AddressSet;
  /** Every failure's reply waits this long (auth_failure_delay; 0 as saslauthd). */
  readonly failureDelayMs: number;
  /** penalty_store: redis: the fleet's counts, beside this daemon's own. */
  readonly shared?: SharedPenalty | undefined;
}

/** What the gate counted, for the metrics and the log. */
export interface GateOutcome {
  readonly result: Decided;
  /** How long the request waited for its address's penalty. */
  readonly penaltyMs: number;
}

/**
 * Checks at once from one penalised address. Every request from it waits
 * the same penalty, side by side; without a bound, a client opening many
 * connections would have all its guesses checked after one wait.
 */
export const PENALISED_AT_ONCE = 2;

/**
 * Holds back requests from addresses that keep failing, before they cost a
 * check, and every failure's reply by auth_failure_delay. A wait is a timer:
 * it holds no hash worker and blocks no other request, and a client that
 * hangs up while waiting ends it at once, costing nothing more. A penalised
 * address gets PENALISED_AT_ONCE requests through at a time; more are
 * answered as temporary failures, unchecked.
 */
export class PenaltyGate {
  /** Penalised requests waiting or being checked, by address key. */
  private readonly held = new Map<string, number>();

  constructor(private readonly opts: PenaltyGateOptions) {}

  /**
   * The gate for an answer that needs no waiting (a cached success): given
   * only when nothing would hold the request back, that is when its address
   * is not penalised and no fleet count has to be asked first. Undefined
   * sends the request through run().
   */
  runAtOnce(req: AuthRequest, decide: () => DecidedAtOnce | undefined): GateOutcome | undefined {
    const { who, table, shared } = this.subject(req);
    if (table && (shared || table.delayMs(who!) > 0)) return undefined;
    const result = decide();
    if (result === undefined) return undefined;
    table?.succeeded(who!);
    return { result, penaltyMs: 0 };
  }

  async run(req: AuthRequest, signal: AbortSignal | undefined, decide: () => Promise<Decided>): Promise<GateOutcome> {
    const { who, table, key, shared } = this.subject(req);
    const fleet = table && shared ? await shared.failures(key) : undefined;
    // The fleet's count when Redis tells it in time (a success anywhere clears it); this daemon's own otherwise.
    const penaltyMs = table ? (fleet !== undefined ? table.delayFor(fleet) : table.delayMs(who!)) : 0;
    if (penaltyMs === 0) return this.checked(req, who, table, key, shared, signal, decide, 0);
    const held = this.held.get(key) ?? 0;
    if (held >= PENALISED_AT_ONCE) {
      return { result: { kind: 'tempfail', reason: `more than ${PENALISED_AT_ONCE} logins at once from a penalised address`, mech: 'penalty' }, penaltyMs: 0 };
    }
    this.held.set(key, held + 1);
    try {
      if (!(await this.wait(penaltyMs, signal))) {
        return { result: { kind: 'tempfail', reason: 'client gone while its address was penalised', mech: 'penalty' }, penaltyMs };
      }
      return await this.checked(req, who, table, key, shared, signal, decide, penaltyMs);
    } finally {
      const n = (this.held.get(key) ?? 1) - 1;
      if (n > 0) this.held.set(key, n);
      else this.held.delete(key);
    }
  }

  /** Whose failures count for `req`, in which table, and whether the fleet's count applies. */
  private subject(req: AuthRequest): { who: string | undefined; table: PenaltyTable | undefined; key: string; shared: SharedPenalty | undefined } {
    const ip = req.clientIp;
    // An address when one is believed; else an untrusted local user's uid (never shared: a uid names a user of this host only).
    const who = ip ?? (req.localPeer !== undefined ? localPeerKey(req.localPeer) : undefined);
    const table = who !== undefined && req.noPenalty !== true && (ip === undefined || !this.opts.exempt.has(ip)) ? this.opts.table : undefined;
    const key = table ? penaltyKey(who!) : '';
    const shared = table && ip !== undefined ? this.opts.shared : undefined;
    return { who, table, key, shared };
  }

  private async checked(
    req: AuthRequest,
    who: string | undefined,
    table: PenaltyTable | undefined,
    key: string,
    shared: SharedPenalty | undefined,
    signal: AbortSignal | undefined,
    decide: () => Promise<Decided>,
    penaltyMs: number,
  ): Promise<GateOutcome> {
    const result = await decide();
    if (result.kind === 'fail') {
      if (table?.failed(who!, req.login, req.password)) shared?.failed(key);
      if (this.opts.failureDelayMs > 0) await this.wait(this.opts.failureDelayMs, signal);
    } else if (result.kind === 'ok') {
      if (table) {
        table.succeeded(who!);
        shared?.succeeded(key);
      }
    }
    return { result, penaltyMs };
  }

  /** False when the client left first. */
  private async wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted) return false;
    try {
      await sleep(ms, undefined, { signal });
      return true;
    } catch {
      return false;
    }
  }
}
