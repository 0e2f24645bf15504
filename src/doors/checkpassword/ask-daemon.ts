import { connect } from 'node:net';
import type { PeerUid } from '../../os/peer-credentials.js';
import { decodeDoorReply, encodeDoorRequest, type DoorReply, type DoorRequest } from '../../protocol/checkpassword-door.js';

/** A listen queue filled by someone else is waited out, briefly, rather than failing the login at once. */
const RETRY_MS = 25;

/**
 * One request to the daemon's checkpassword socket; any transport problem
 * is a temporary failure. The answer decides who the next program runs as,
 * so it is taken only from a daemon running as root or as this very user:
 * another user who got hold of the socket's name could answer anything.
 */
export function askDaemon(path: string, req: DoorRequest, timeoutMs: number, peerUid: PeerUid): Promise<DoorReply> {
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
    s.on('connect', () => {
      const uid = peerUid(s);
      const me = process.geteuid?.() ?? 0;
      if (uid !== 0 && uid !== me) {
        finish({ kind: 'temp', reason: `${path} is served by uid ${uid ?? 'unknown'}, not by root: not asking it` });
        return;
      }
      s.write(encodeDoorRequest(req));
    });
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
