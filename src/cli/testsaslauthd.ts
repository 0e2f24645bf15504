import { connect } from 'node:net';
import { DEFAULT_RUN_DIR } from '../config/config.js';
import { ConfigError } from '../config/errors.js';
import { getopt } from '../config/getopt.js';
import { decodeReply, encodeRequest } from '../protocol/saslauthd.js';

const USAGE = `authmux testsaslauthd: usage: authmux testsaslauthd -u username -p password
              [-r realm] [-s servicename]
              [-f socket path] [-R repeatnum]
`;

/** One request as Cyrus's testsaslauthd sends it; resolves to the reply text or an error. */
export function askSaslauthd(path: string, fields: readonly (string | Buffer)[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = Buffer.alloc(0);
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      reject(new Error('timed out waiting for a reply'));
    });
    s.on('connect', () => s.write(encodeRequest(fields)));
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const r = decodeReply(buf);
      if (r.kind === 'incomplete') return;
      s.destroy();
      if (r.kind === 'invalid') reject(new Error('bad response from saslauthd'));
      else resolve(r.text);
    });
    s.on('end', () => reject(new Error('size read failed')));
    s.on('error', (err) => reject(new Error(`connect() : ${err.message}`)));
  });
}

/** Same options, output and exit status as Cyrus's testsaslauthd (0 on OK, 255 otherwise). */
export async function testsaslauthdMain(argv: readonly string[]): Promise<number> {
  let o;
  try {
    o = getopt(argv, 'p:u:r:s:f:R:');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(USAGE);
    return 1;
  }
  const v = (f: string) => {
    const x = o.last.get(f);
    return typeof x === 'string' ? x : undefined;
  };
  const user = v('u');
  const password = v('p');
  if (user === undefined || password === undefined) {
    process.stderr.write(USAGE);
    return 1;
  }
  const path = v('f') ?? `${DEFAULT_RUN_DIR}/mux`;
  const repeat = Math.max(1, Number.parseInt(v('R') ?? '1', 10) || 1);
  let status = 255;
  for (let i = 0; i < repeat; i++) {
    process.stdout.write(`${i}: `);
    try {
      const text = await askSaslauthd(path, [user, password, v('s') ?? 'imap', v('r') ?? '']);
      if (text.startsWith('OK')) {
        process.stdout.write('OK "Success."\n');
        status = 0;
      } else {
        process.stdout.write('NO "authentication failed"\n');
        status = 255;
      }
    } catch (err) {
      process.stderr.write(`${(err as Error).message}\n`);
      status = 255;
    }
  }
  return status;
}
