import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';

/**
 * Modules whose every answer comes from files this module can stat: a
 * cached success under them is stale exactly when one of those files
 * changed. Any other module (pam_ldap, pam_sss, pam_exec...) may change its
 * mind with no file here changing, so a cached success under it also ages out.
 */
const FILE_BACKED = new Set(['pam_unix', 'pam_userdb', 'pam_deny', 'pam_permit', 'pam_succeed_if', 'pam_faildelay', 'pam_warn', 'pam_debug', 'pam_nologin', 'pam_shells']);

/** Files the file-backed modules read besides their own arguments. */
const READS: Record<string, readonly string[]> = {
  pam_unix: ['/etc/passwd', '/etc/shadow'],
  pam_succeed_if: ['/etc/passwd', '/etc/group'],
  pam_nologin: ['/etc/nologin'],
  pam_shells: ['/etc/shells', '/etc/passwd'],
};

export interface PamStack {
  /** The service file, every file it includes, and the data files its modules read. */
  readonly files: readonly string[];
  /** Every auth and account module is file-backed. */
  readonly fileBacked: boolean;
}

/** Linux-PAM's own reading of a service name: the last path part, lower-cased. */
export function pamServiceFile(dir: string, service: string): string {
  const name = basename(service).toLowerCase();
  const own = join(dir, name);
  return name !== '' && existsSync(own) ? own : join(dir, 'other');
}

/** Splits a line into words, a bracketed control ([success=1 default=ignore]) staying one word. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /\[[^\]]*\]|\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[0]);
  return out;
}

/**
 * Reads the auth and account stack of a service file, following
 * `@include`, `include` and `substack`, for what may invalidate a cached
 * login. An unreadable or looping file makes the stack not file-backed,
 * never an error: the cache then only gets shorter-lived.
 */
export function readPamStack(dir: string, serviceFile: string): PamStack {
  const files = new Set<string>();
  let fileBacked = true;
  const visit = (file: string, depth: number) => {
    if (files.has(file) || depth > 8) return;
    files.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'latin1');
    } catch {
      fileBacked = false;
      return;
    }
    for (const raw of text.split('\n')) {
      const w = words(raw.replace(/#.*/, ''));
      if (w.length === 0) continue;
      if (w[0] === '@include') {
        if (w[1]) visit(isAbsolute(w[1]) ? w[1] : join(dir, w[1]), depth + 1);
        continue;
      }
      const type = w[0]!.replace(/^-/, '');
      if (type !== 'auth' && type !== 'account') continue;
      if ((w[1] === 'include' || w[1] === 'substack') && w[2]) {
        visit(isAbsolute(w[2]) ? w[2] : join(dir, w[2]), depth + 1);
        continue;
      }
      const module = basename(w[2] ?? '').replace(/\.so$/, '');
      if (!FILE_BACKED.has(module)) fileBacked = false;
      for (const f of READS[module] ?? []) files.add(f);
      for (const arg of w.slice(3)) {
        // pam_userdb keeps its users in db=<path>, opened as <path>.db.
        if (module === 'pam_userdb' && arg.startsWith('db=')) files.add(`${arg.slice(3)}.db`);
      }
    }
  };
  visit(serviceFile, 0);
  return { files: [...files], fileBacked };
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
