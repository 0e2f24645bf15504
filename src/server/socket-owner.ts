import { readFileSync } from 'node:fs';
import { parsePasswd } from '../backends/unix-files.js';
import { ConfigError } from '../config/errors.js';

/** Group names to gids, first entry of a name winning as getgrnam's does. */
export function parseGroup(content: Buffer): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of content.toString('latin1').split('\n')) {
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || line[0] === '+' || line[0] === '-' || !/^\d+$/.test(f[2]!)) continue;
    if (!map.has(f[0]!)) map.set(f[0]!, Number(f[2]));
  }
  return map;
}

/**
 * The uid and gid a socket is given, from names (or numbers) in the
 * configuration keys `<keyPrefix>_user` and `<keyPrefix>_group`; -1 keeps
 * what the daemon made it with. Looked up once, at
 * start: a name this system lacks is an error then, not a socket nobody can
 * reach later.
 */
export function resolveSocketOwner(
  user: string | undefined,
  group: string | undefined,
  keyPrefix: string,
  files: { readonly passwd?: () => Buffer; readonly group?: () => Buffer } = {},
): { uid: number; gid: number } {
  const id = (name: string | undefined, kind: string, table: () => Map<string, number>): number => {
    if (name === undefined) return -1;
    if (/^\d+$/.test(name)) return Number(name);
    const n = table().get(name);
    if (n === undefined) throw new ConfigError(`${keyPrefix}_${kind}: no ${kind} named ${JSON.stringify(name)} on this system`);
    return n;
  };
  const users = () => new Map([...parsePasswd((files.passwd ?? (() => readFileSync('/etc/passwd')))())].map(([name, e]) => [name, e.uid]));
  const groups = () => parseGroup((files.group ?? (() => readFileSync('/etc/group')))());
  return { uid: id(user, 'user', users), gid: id(group, 'group', groups) };
}
