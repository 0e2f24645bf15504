import type { RimapConfig } from '../../config/rimap.js';
import { TempFail } from '../../errors.js';
import { VerifyQueue } from '../../work-queue.js';
import type { Backend, LookupRequest, PasswordRecord, Verdict, VerifyOptions } from '../types.js';
import { parsePasswd } from '../unix-files.js';
import { WatchedFile } from '../watched-file.js';
import { DEFAULT_LIMITS, imapLogin, type ConversationLimits, type ImapTarget } from './conversation.js';
import { trustFrom } from './trust.js';

export interface RimapBackendOptions {
  readonly server: RimapConfig;
  /** The accounts the checkpassword program and Dovecot's userdb are given (uid, home): system accounts only. */
  readonly passwdFile: string;
  /** saslauthd's -n: checks at once, as its -n processes bound its own connections to the server. */
  readonly concurrency: number;
  /** Tests make these smaller. */
  readonly limits?: Omit<ConversationLimits, 'timeoutMs'>;
  /** Where the system's CAs are looked for (tests point elsewhere). */
  readonly systemBundles?: readonly string[];
}

/**
 * `-a rimap`: the IMAP server decides, one LOGIN on a connection of its own
 * per check, as saslauthd's rimap does. It says yes or no and nothing else:
 * no account data, no change signal, and no difference between an unknown
 * user and a wrong password.
 */
export function createRimapBackend(o: RimapBackendOptions): Backend {
  const s = o.server;
  const trust = s.tls === 'none' ? undefined : trustFrom(s.caFile, o.systemBundles);
  const target: ImapTarget = { host: s.host, port: s.port, tls: s.tls, ca: () => trust?.ca() };
  const limits: ConversationLimits = { ...(o.limits ?? DEFAULT_LIMITS), timeoutMs: s.timeoutMs };
  const queue = new VerifyQueue(o.concurrency);
  // Other local users' checks never hold the last place: a server that answers slowly, or a wrong
  // password the server holds back for seconds (Dovecot's auth_failure_delay), must not keep the MTA waiting.
  const untrusted = new VerifyQueue(Math.max(1, o.concurrency - 1));
  const passwd = new WatchedFile(o.passwdFile, parsePasswd);
  const serverName = `${s.host}/${s.port}`;

  return {
    mech: 'rimap',
    async verify(req: LookupRequest, password: Buffer, opts: VerifyOptions): Promise<Verdict> {
      // IMAP has no way to carry a NUL byte; a LOGIN with an empty password some servers would take.
      if (password.length === 0) return { kind: 'fail', code: 'bad_password', reason: 'empty password (never sent)' };
      if (password.includes(0)) return { kind: 'fail', code: 'bad_password', reason: 'NUL byte in the password (IMAP cannot carry it)' };
      const login = Buffer.from(req.login, 'latin1');
      if (login.includes(0)) return { kind: 'fail', code: 'no_such_user', reason: 'NUL byte in the login (IMAP cannot carry it)' };
      const check = () => imapLogin(target, login, password, limits, opts.signal);
      const outcome = opts.trusted === true ? await queue.run(check, opts.signal, true) : await untrusted.run(() => queue.run(check, opts.signal, false), opts.signal);
      if (outcome.kind === 'tempfail') throw new TempFail(outcome.reason);
      return outcome;
    },
    lookup(req: LookupRequest): PasswordRecord | undefined {
      const pw = passwd.get().get(req.login);
      if (!pw) return undefined;
      // No secret: the IMAP server checks the password; the record only carries the system account.
      return { user: pw.name, secret: '*', secretIsPlaintext: false, system: true, mayRelay: true, uid: pw.uid, gid: pw.gid, home: pw.home, shell: pw.shell };
    },
    generationIsLocal: true,
    generation(): string {
      // Entries made against another server (or without TLS) do not count against this one.
      return `${serverName}/${s.tls}`;
    },
    cacheLifetimeMs(): number {
      return s.cacheTtlMs;
    },
    check(): string {
      // A CA file that cannot be read stops the start; the server itself is not asked (nor its name
      // looked up): Authmux starts while DNS or the server is down, and each check then fails for now.
      trust?.ca();
      const tls = s.tls === 'none' ? 'no TLS' : `${s.tls}, CAs from ${trust?.file ?? "Node's own list"}`;
      return `rimap: IMAP server ${serverName} (${tls}), ${s.timeoutMs / 1000} s timeout, ${o.concurrency} checks at once`;
    },
  };
}
