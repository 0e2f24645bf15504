import { lstatSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { assertPrivateDir } from '../../os/safe-files.js';
import { decodeDoorReply, encodeDoorRequest, type DoorReply, type DoorRequest } from '../../protocol/checkpassword-door.js';

/** A listen queue filled by someone else is waited out, briefly, rather than failing the login at once. */
const RETRY_MS = 25;

/**
 * Whether `path` can only have been made by root or this user: a socket of
 * theirs in a directory no one else can write. Only such a daemon is asked,
 * for its answer decides who the next program runs as, and another user who
 * got hold of the socket's name could answer anything. (A file check, not
 * SO_PEERCRED: it needs no FFI before the request goes out, so the program
 * loads that while the daemon works.)
 */
function ownSocket(path: string): string | undefined {
  try {
    assertPrivateDir(dirname(path), 'checkpassword_socket');
    const st = lstatSync(path);
    const me = process.geteuid?.() ?? 0;
    if (!st.isSocket()) return `${path} is not a socket`;
    if (st.uid !== 0 && st.uid !== me) return `${path} belongs to uid ${st.uid}, not to root: not asking it`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** One request to the daemon's checkpassword socket; any transport problem is a temporary failure. */
export function askDaemon(path: string, req: DoorRequest, timeoutMs: number): Promise<DoorReply> {
  const refused = ownSocket(path);
  if (refused) return Promise.resolve({ kind: 'temp', reason: refused });
  const deadline = Date.now() + timeoutMs;
  const attempt = (): Promise<DoorReply | 'again'> => new Promise((resolve) => {
    const s = connect(path);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: DoorReply | 'again') => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(r);
    };
    s.setTimeout(Math.max(1, deadline - Date.now()), () => finish({ kind: 'temp', reason: `no answer from ${path} within ${timeoutMs} ms` }));
    s.on('connect', () => s.write(encodeDoorRequest(req)));
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const r = decodeDoorReply(buf);
      if (r === 'incomplete') return;
      finish(r === 'invalid' ? { kind: 'temp', reason: 'unintelligible answer from the daemon' } : r);
    });
    s.on('end', () => finish({ kind: 'temp', reason: 'the daemon closed the connection without an answer' }));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EAGAIN' && Date.now() + RETRY_MS < deadline) finish('again');
      else finish({ kind: 'temp', reason: `cannot reach the daemon at ${path}: ${err.code ?? err.message}` });
    });
  });
  const run = async (): Promise<DoorReply> => {
    for (;;) {
      const r = await attempt();
      if (r !== 'again') return r;
      await new Promise((res) => setTimeout(res, RETRY_MS));
    }
  };
  return run();
}
