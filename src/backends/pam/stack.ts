import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

/**
 * Modules whose every answer comes from files this module can stat: a
 * cached success under them is stale exactly when one of those files
 * changed. Any other module (pam_ldap, pam_sss, pam_exec, pam_nologin with
 * its file= ...) may change its mind with no file here changing, so a
 * cached success under it also ages out. The client address is part of
 * every entry (see the backend), so modules that judge it (pam_succeed_if
 * rhost) stay file-backed.
 */
const FILE_BACKED = new Set(['pam_unix', 'pam_userdb', 'pam_deny', 'pam_permit', 'pam_succeed_if', 'pam_faildelay', 'pam_warn', 'pam_debug', 'pam_shells']);

/** Files the file-backed modules read besides their own arguments. */
const READS: Record<string, readonly string[]> = {
  pam_unix: ['/etc/passwd', '/etc/shadow'],
  pam_succeed_if: ['/etc/passwd', '/etc/group'],
  pam_shells: ['/etc/shells', '/etc/passwd'],
};

/** Where Linux-PAM looks for service files: the admin's, then the distribution's (Debian's libpam reads both). */
export const PAM_DIRS = ['/etc/pam.d', '/usr/lib/pam.d'] as const;

export interface PamStack {
  /** The service file, every file it includes, and the data files its modules read. */
  readonly files: readonly string[];
  /** Every auth and account module is file-backed. */
  readonly fileBacked: boolean;
  /**
   * A module on the stack lets root in without a password (pam_rootok, as
   * in su's and chfn's stacks): the workers run as root, so any client
   * naming such a service would be let in.
   */
  readonly trustsRoot: boolean;
}

/**
 * A service name a client may send: a plain file name of the characters
 * service names are made of. Linux-PAM would read "../x" as "x", and a
 * name in another encoding would name one file here and another there.
 */
export function isPamServiceName(service: string): boolean {
  return /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,63}$/.test(service);
}

/** The file Linux-PAM reads for a name (lower-cased), in the first directory that has it. */
function findFile(dirs: readonly string[], name: string): string | undefined {
  for (const d of dirs) {
    const f = join(d, name);
    if (existsSync(f)) return f;
  }
  return undefined;
}

/** The service's own file, else "other"'s; undefined when neither exists (libpam then refuses). */
export function pamServiceFile(dirs: readonly string[], service: string): string | undefined {
  return findFile(dirs, service.toLowerCase()) ?? findFile(dirs, 'other');
}

/** Splits a line into words, a bracketed control ([success=1 default=ignore]) staying one word. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /\[[^\]]*\]|\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[0]);
  return out;
}

type StackType = 'auth' | 'account';
const TYPES: readonly StackType[] = ['auth', 'account'];

/**
 * Reads the auth and account stacks of a service, following `@include`,
 * `include` and `substack`, and taking a type the service file lacks from
 * "other" as libpam does, for what may invalidate a cached login. An
 * unreadable or looping file makes the stack not file-backed, never an
 * error: the cache then only gets shorter-lived.
 */
export function readPamStack(dirs: readonly string[], serviceFile: string | undefined): PamStack {
  const files = new Set<string>();
  let fileBacked = serviceFile !== undefined;
  let trustsRoot = false;
  const resolveInclude = (name: string) => (isAbsolute(name) ? name : (findFile(dirs, name) ?? join(dirs[0]!, name)));
  /** Returns the types that had at least one line. */
  const visit = (file: string, types: ReadonlySet<StackType>, depth: number, seen: Set<string>): Set<StackType> => {
    const found = new Set<StackType>();
    // The same file may be included once for auth and once for account (Red Hat's system-auth).
    const key = `${file}\0${[...types].join()}`;
    if (seen.has(key) || depth > 8) return found;
    seen.add(key);
    files.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      fileBacked = false;
      return found;
    }
    for (const raw of text.split('\n')) {
      const w = words(raw.replace(/#.*/, ''));
      if (w.length === 0) continue;
      if (w[0] === '@include') {
        if (w[1]) for (const t of visit(resolveInclude(w[1]), types, depth + 1, seen)) found.add(t);
        continue;
      }
      // Linux-PAM reads the type without regard to case, and "-auth" as auth whose module may be missing.
      const type = w[0]!.replace(/^-/, '').toLowerCase() as StackType;
      if (!types.has(type)) continue;
      found.add(type);
      const control = (w[1] ?? '').toLowerCase();
      if ((control === 'include' || control === 'substack') && w[2]) {
        visit(resolveInclude(w[2]), new Set([type]), depth + 1, seen);
        continue;
      }
      const module = (w[2] ?? '').split('/').pop()!.replace(/\.so$/, '');
      if (module === 'pam_rootok') trustsRoot = true;
      if (!FILE_BACKED.has(module)) fileBacked = false;
      for (const f of READS[module] ?? []) files.add(f);
      for (const arg of w.slice(3)) {
        // pam_userdb keeps its users in db=<path>, opened as <path>.db.
        if (module === 'pam_userdb' && arg.startsWith('db=')) files.add(`${arg.slice(3)}.db`);
      }
    }
    return found;
  };
  if (serviceFile) {
    const found = visit(serviceFile, new Set(TYPES), 0, new Set());
    const missing = TYPES.filter((t) => !found.has(t));
    const other = findFile(dirs, 'other');
    if (missing.length > 0 && other && other !== serviceFile) visit(other, new Set(missing), 0, new Set());
  }
  return { files: [...files], fileBacked, trustsRoot };
}

/** What the files look like now: any write, replacement or removal changes it. */
export function stampOf(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const s = statSync(f, { bigint: true });
        return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}
