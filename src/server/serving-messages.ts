import type { PenaltyEntry, PenaltyEvent } from '../auth/penalty.js';
import type { LoginFacts } from '../relay/tracker.js';

/**
 * What the first process and the other serving processes (serve_processes)
 * say to each other over Node's IPC channel. Nothing here carries a
 * password: a failure travels as its keyed digest.
 */

/** The environment variable that makes a started process a serving process; its value is the index. */
export const SERVING_PROCESS_VAR = 'AUTHMUX_SERVING_PROCESS';

/** Where a serving process finds the listening socket (fd 3 is the IPC channel). */
export const SERVING_SOCKET_FD = 4;

export type ToServing =
  /** First message; the listening socket is at SERVING_SOCKET_FD. */
  | { readonly t: 'start'; readonly penaltyKey: string }
  /**
   * The answer to 'ready': what changed while the process started. It reads
   * the configuration again when a reload happened meanwhile, takes the
   * failure counts, and only then accepts.
   */
  | { readonly t: 'begin'; readonly reload: boolean; readonly penalties: readonly PenaltyEntry[] }
  | { readonly t: 'reload' }
  | { readonly t: 'reopen-log' }
  | { readonly t: 'flush'; readonly id: number; readonly login?: string | undefined }
  | { readonly t: 'penalty'; readonly e: PenaltyEvent }
  | { readonly t: 'metrics'; readonly id: number }
  | { readonly t: 'stats'; readonly id: number };

export type FromServing =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly why: string }
  | { readonly t: 'grant'; readonly f: LoginFacts }
  | { readonly t: 'penalty'; readonly e: PenaltyEvent }
  | { readonly t: 'answer'; readonly id: number; readonly value: unknown };

/** What each serving process tells of itself for `authmux ctl stats`. */
export interface ServingStats {
  readonly served: number;
  readonly cacheEntries: number;
}
