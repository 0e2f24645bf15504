import { setTimeout as sleep } from 'node:timers/promises';
import { TempFail } from '../../errors.js';
import type { Backend, LookupRequest, PasswordRecord, Verdict, VerifyOptions } from '../types.js';
import { parsePasswd } from '../unix-files.js';
import { WatchedFile } from '../watched-file.js';
import { loadLibPam } from './libpam.js';
import { verdictOf } from './outcome.js';
import { PamPool } from './pool.js';
import { isPamServiceName, PAM_DIRS, pamServiceFile, readPamStack, stampOf, type PamStack } from './stack.js';

export interface PamBackendOptions {
  /** The accounts the checkpassword program and Dovecot's userdb are given (uid, home): system accounts only. */
  readonly passwdFile: string;
  /** saslauthd's -n: transactions at once. */
  readonly workers: number;
  readonly timeoutMs: number;
  /** How long a cached success may answer under a stack whose modules give no change signal. */
  readonly cacheTtlMs: number;
  /** Where service files are looked for, in order (Linux-PAM's own). */
  readonly pamDirs?: readonly string[];
  readonly onWorkerLost?: (why: string) => void;
}

/** A module's failure delay is honoured up to this: a stack asking more would only hold connections open. */
const MAX_DELAY_MS = 10_000;

/**
 * `-a pam`: the request's service names the PAM service (/etc/pam.d/smtp,
 * else other), and PAM decides, in worker processes. Refusals are held back
 * as long as the stack's modules asked (pam_unix: about 2 s) without
 * holding a worker.
 */
export function createPamBackend(o: PamBackendOptions): Backend {
  const dirs = o.pamDirs ?? PAM_DIRS;
  const pool = new PamPool({ size: o.workers, timeoutMs: o.timeoutMs, onWorkerLost: o.onWorkerLost });
  const passwd = new WatchedFile(o.passwdFile, parsePasswd);
  // Keyed by service file, not by the client's service name: at most one entry a file in /etc/pam.d.
  const stacks = new Map<string, { stack: PamStack; stamp: string }>();

  const stackOf = (service: string): { stack: PamStack; stamp: string } => {
    const file = pamServiceFile(dirs, service);
    const known = stacks.get(file ?? '');
    if (known && stampOf(known.stack.files) === known.stamp) return known;
    const stack = readPamStack(dirs, file);
    const fresh = { stack, stamp: stampOf(stack.files) };
    stacks.set(file ?? '', fresh);
    return fresh;
  };

  return {
    mech: 'pam',
    async verify(req: LookupRequest, password: Buffer, opts: VerifyOptions): Promise<Verdict> {
      if (!isPamServiceName(req.service)) return { kind: 'fail', code: 'service_disabled', reason: 'service name is not a PAM service file name' };
      // Read anew whenever a file of the stack changed, so an edit counts at the next request.
      if (stackOf(req.service).stack.trustsRoot) return { kind: 'fail', code: 'service_disabled', reason: 'the PAM stack of this service lets root in without a password (pam_rootok)' };
      // PAM takes C strings: a NUL would cut the password short and let a prefix match.
      if (password.includes(0)) return { kind: 'fail', code: 'bad_password', reason: 'NUL byte in the password' };
      const user = Buffer.from(req.login, 'latin1');
      if (user.includes(0)) return { kind: 'fail', code: 'no_such_user', reason: 'NUL byte in the login' };
      const outcome = await pool.ask({ service: Buffer.from(req.service, 'latin1'), user, password, rhost: req.clientIp }, opts.signal, opts.trusted === true);
      const verdict = verdictOf(outcome);
      if (verdict.kind === 'tempfail') throw new TempFail(verdict.reason);
      if (verdict.kind === 'fail' && outcome.delayUs > 0 && !opts.signal?.aborted) {
        await sleep(Math.min(outcome.delayUs / 1000, MAX_DELAY_MS), undefined, { signal: opts.signal }).catch(() => undefined);
      }
      return verdict;
    },
    lookup(req: LookupRequest): PasswordRecord | undefined {
      const pw = passwd.get().get(req.login);
      if (!pw) return undefined;
      // No secret: PAM checks the password; the record only carries the account.
      return { user: pw.name, secret: '*', secretIsPlaintext: false, system: true, mayRelay: true, uid: pw.uid, gid: pw.gid, home: pw.home, shell: pw.shell };
    },
    generationIsLocal: true,
    generation(req: LookupRequest): string | undefined {
      if (!isPamServiceName(req.service)) return undefined;
      // The address is part of the entry: a stack may judge it (pam_access, pam_succeed_if rhost, pam_faillock).
      return `${stackOf(req.service).stamp}|${req.clientIp ?? ''}`;
    },
    cacheLifetimeMs(req: LookupRequest): number | undefined {
      // Asked right after generation() for the same request: the stack it read then is current enough.
      const known = isPamServiceName(req.service) ? stacks.get(pamServiceFile(dirs, req.service) ?? '') : undefined;
      return known?.stack.fileBacked ? undefined : o.cacheTtlMs;
    },
    check(): string {
      try {
        loadLibPam();
      } catch (err) {
        throw new TempFail(`libpam cannot be loaded: ${(err as Error).message}`);
      }
      return `pam: services in ${dirs.join(', ')}, ${o.workers} transactions at once, ${o.timeoutMs / 1000} s timeout`;
    },
    close(): void {
      pool.close();
    },
  };
}
