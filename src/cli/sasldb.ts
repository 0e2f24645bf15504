import { readFileSync } from 'node:fs';
import { openSasldb } from '../backends/sasldb/backend.js';
import { deleteTextUser, setTextUser } from '../backends/sasldb/text-edit.js';
import { loadConfig } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import { getopt } from '../config/getopt.js';

const USAGE = `usage: authmux sasldb list [-O config] [file]
       authmux sasldb set [-O config] [-f file] [-e] user[@realm]    (password on stdin)
       authmux sasldb delete [-O config] [-f file] user[@realm]
The file defaults to the config's sasldb_path (/etc/sasldb2). set and delete edit
the text format only; a Berkeley DB sasldb2 is edited with saslpasswd2. With -e the
value read is stored as it is (a crypt hash or {SCHEME} value), not as plaintext.
`;

interface Target {
  file: string;
  defaultRealm: string;
}

/** The file and default realm, from the config every command finds the same way (-O, AUTHMUX_CONFIG, default). */
function target(opts: ReturnType<typeof getopt>, fileArg: string | undefined): Target {
  const o = opts.last.get('O');
  const config = loadConfig({ file: typeof o === 'string' ? o : undefined, env: process.env });
  return { file: fileArg ?? config.sasldbPath, defaultRealm: config.sasldbDefaultRealm };
}

function splitLogin(login: string, defaultRealm: string): [string, string] {
  const at = login.lastIndexOf('@');
  return at < 0 ? [login, defaultRealm] : [login.slice(0, at), login.slice(at + 1)];
}

function readValue(): string {
  const input = readFileSync(0).toString('latin1');
  return input.replace(/\r?\n$/, '');
}

export async function sasldbMain(argv: readonly string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'list') {
      const o = getopt(rest, 'O:');
      const t = target(o, o.operands[0]);
      const store = openSasldb(readFileSync(t.file), t.file);
      const out: string[] = [];
      if (store.kind === 'berkeley-db') {
        for (const { key } of store.db.entries()) {
          const [user, realm, prop] = key.toString('latin1').split('\0');
          out.push(`${user}@${realm}: ${prop}`);
        }
      } else {
        for (const e of store.entries.values()) out.push(`${e.user}@${e.realm}: userPassword`);
      }
      process.stdout.write(out.map((l) => `${l}\n`).join(''));
      return 0;
    }
    if (sub === 'set' || sub === 'delete') {
      const o = getopt(rest, sub === 'set' ? 'O:f:e' : 'O:f:');
      const f = o.last.get('f');
      const t = target(o, typeof f === 'string' ? f : undefined);
      if (o.operands.length !== 1) throw new ConfigError(`${sub} takes one user[@realm]`);
      let head: Buffer = Buffer.alloc(0);
      try {
        head = readFileSync(t.file);
      } catch {
        // a missing file becomes a new text sasldb
      }
      if (head.length > 0 && openSasldb(head, t.file).kind === 'berkeley-db') {
        process.stderr.write(`authmux sasldb: ${t.file} is a Berkeley DB sasldb2; edit it with saslpasswd2 (saslpasswd2 -f ${t.file} -c -u REALM USER, or -d to delete)\n`);
        return 1;
      }
      const [user, realm] = splitLogin(o.operands[0]!, t.defaultRealm);
      if (sub === 'set') {
        const value = readValue();
        const replaced = setTextUser(t.file, user, realm, value, o.last.get('e') === true);
        process.stdout.write(`${replaced ? 'changed' : 'added'} ${user}@${realm} in ${t.file}\n`);
        return 0;
      }
      if (!deleteTextUser(t.file, user, realm)) {
        process.stderr.write(`authmux sasldb: ${user}@${realm} is not in ${t.file}\n`);
        return 1;
      }
      process.stdout.write(`deleted ${user}@${realm} from ${t.file}\n`);
      return 0;
    }
    process.stderr.write(USAGE);
    return sub === undefined || sub === '-h' ? 0 : 2;
  } catch (err) {
    process.stderr.write(`authmux sasldb: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
