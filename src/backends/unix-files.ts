/** Parsers for /etc/passwd and /etc/shadow. Text is taken byte for byte (latin1), as libc does. */

export interface PasswdEntry {
  readonly name: string;
  readonly passwd: string;
  readonly uid: number;
  readonly gid: number;
  readonly gecos: string;
  readonly home: string;
  readonly shell: string;
}

export interface ShadowEntry {
  readonly name: string;
  readonly hash: string;
  /** Days since the epoch, or -1 where the field is empty, as getspnam reports it. */
  readonly lastChange: number;
  readonly maxDays: number;
  readonly expire: number;
}

function lines(content: Buffer): string[] {
  return content.toString('latin1').split('\n');
}

/** Skips NIS compat lines (+/-) and anything malformed, as glibc's files backend does. */
export function parsePasswd(content: Buffer): Map<string, PasswdEntry> {
  const map = new Map<string, PasswdEntry>();
  for (const line of lines(content)) {
    if (line === '' || line[0] === '+' || line[0] === '-' || line[0] === '#') continue;
    const f = line.split(':');
    if (f.length < 7 || f[0] === '') continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) continue;
    // getpwnam returns the first match
    if (map.has(f[0]!)) continue;
    map.set(f[0]!, { name: f[0]!, passwd: f[1]!, uid, gid, gecos: f[4]!, home: f[5]!, shell: f.slice(6).join(':') });
  }
  return map;
}

function day(field: string | undefined): number {
  if (field === undefined || field === '' || !/^-?\d+$/.test(field)) return -1;
  return Number(field);
}

export function parseShadow(content: Buffer): Map<string, ShadowEntry> {
  const map = new Map<string, ShadowEntry>();
  for (const line of lines(content)) {
    if (line === '' || line[0] === '+' || line[0] === '-' || line[0] === '#') continue;
    const f = line.split(':');
    if (f.length < 2 || f[0] === '') continue;
    if (map.has(f[0]!)) continue;
    map.set(f[0]!, { name: f[0]!, hash: f[1]!, lastChange: day(f[2]), maxDays: day(f[4]), expire: day(f[7]) });
  }
  return map;
}

/**
 * saslauthd's ageing rules, checked only after the password matched: the
 * account expires the day after sp_expire; the password when
 * sp_lstchg + sp_max is before today. Unset fields (-1) never expire.
 */
export function shadowPolicy(sp: ShadowEntry, today: number): 'account_expired' | 'password_expired' | undefined {
  if (sp.expire !== -1 && today > sp.expire) return 'account_expired';
  if (sp.lastChange !== -1 && sp.maxDays !== -1 && sp.lastChange + sp.maxDays < today) return 'password_expired';
  return undefined;
}
