import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { PeerUid } from '../os/peer-credentials.js';
import { ThrottledWarning } from './throttled-warning.js';

export interface ConnectionPolicy {
  /** All connections to all listeners: the last resort, sized to the descriptors the process may open. */
  readonly maxConnections: number;
  /** What one ordinary (untrusted) user may hold at once, over all listeners. */
  readonly maxPerUser: number;
  /** Root and the MTA and IMAP accounts: bound only by maxConnections. */
  readonly trustedUids: ReadonlySet<number>;
}

/** Stands for a peer whose credentials could not be read: counted as one ordinary user. */
const UNKNOWN_PEER = -1;

/** Who an admitted connection's peer is. */
export interface Admission {
  /**
   * Root or a trusted user (or any peer when peers cannot be told apart, as
   * saslauthd never could): only those are believed about a login's client
   * address and challenge, and told why a login failed.
   */
  readonly trusted: boolean;
  /** The peer's uid as the kernel gave it; undefined when it could not be read. */
  readonly uid: number | undefined;
}

const UNKNOWN_TRUSTED: Admission = Object.freeze({ trusted: true, uid: undefined });
const UNKNOWN_ORDINARY: Admission = Object.freeze({ trusted: false, uid: undefined });

/**
 * Admission for every listener of the daemon, so one count covers the
 * descriptors they share. Ordinary users are held to a few connections each
 * and together to half of the total, so whatever they keep open, root, the
 * MTA and the IMAP server always find the other half free.
 */
export class ConnectionLimits {
  private total = 0;
  private ordinary = 0;
  private readonly perUid = new Map<number, number>();
  private readonly refusals: ThrottledWarning;
  readonly ordinaryShare: number;

  /** Without `peerUid` every peer is treated as trusted and only maxConnections applies. */
  constructor(readonly policy: ConnectionPolicy, log: Logger, private readonly peerUid: PeerUid | undefined) {
    this.refusals = new ThrottledWarning(log, { one: 'connection refused', many: 'connections refused' });
    this.ordinaryShare = Math.max(1, Math.floor(policy.maxConnections / 2));
  }

  /**
   * Counts `s` against its peer's limits until it closes and says who the
   * peer is, or destroys it and returns undefined. `where` names the listener in the log.
   */
  admit(s: Socket, where: string): Admission | undefined {
    const uid = this.peerUid ? this.peerUid(s) ?? UNKNOWN_PEER : undefined;
    const ordinary = uid !== undefined && !this.policy.trustedUids.has(uid);
    const why = this.refusal(uid, ordinary);
    if (why) {
      s.destroy();
      this.refusals.warn(`${why} (${where})`);
      return undefined;
    }
    this.total++;
    if (ordinary) {
      this.ordinary++;
      this.perUid.set(uid, (this.perUid.get(uid) ?? 0) + 1);
    }
    s.once('close', () => {
      this.total--;
      if (!ordinary) return;
      this.ordinary--;
      const n = this.perUid.get(uid)! - 1;
      if (n === 0) this.perUid.delete(uid);
      else this.perUid.set(uid, n);
    });
    if (uid === undefined || uid === UNKNOWN_PEER) return ordinary ? UNKNOWN_ORDINARY : UNKNOWN_TRUSTED;
    return { trusted: !ordinary, uid };
  }

  private refusal(uid: number | undefined, ordinary: boolean): string | undefined {
    if (this.total >= this.policy.maxConnections) return `max_connections (${this.policy.maxConnections}) reached`;
    if (!ordinary) return undefined;
    const who = uid === UNKNOWN_PEER ? 'a peer of unknown uid' : `uid ${uid}`;
    if ((this.perUid.get(uid!) ?? 0) >= this.policy.maxPerUser) return `${who} already holds max_connections_per_user (${this.policy.maxPerUser})`;
    if (this.ordinary >= this.ordinaryShare) return `${who}: ordinary users already hold ${this.ordinaryShare} connections, half of max_connections`;
    return undefined;
  }

  get open(): number {
    return this.total;
  }

  close(): void {
    this.refusals.close();
  }
}

/**
 * A warning when the process may open fewer descriptors than max_connections
 * needs: past that limit accept() fails and connections are dropped unseen.
 */
export function descriptorShortfall(maxConnections: number, limitsFile = '/proc/self/limits'): string | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m || m[1] === 'unlimited') return undefined;
  // Log files, the password files, database and Redis connections, the crypt library: room for them.
  const spare = 64;
  const fds = Number(m[1]);
  if (fds >= maxConnections + spare) return undefined;
  return `max_connections is ${maxConnections} but the process may open only ${fds} descriptors; raise LimitNOFILE (or ulimit -n) to at least ${maxConnections + spare}`;
}
