import { connect } from 'node:net';
import { decodeDoorReply, encodeDoorRequest, type DoorReply, type DoorRequest } from '../../protocol/checkpassword-door.js';

/** One request to the daemon's checkpassword socket; any transport problem is a temporary failure. */
export function askDaemon(path: string, req: DoorRequest, timeoutMs: number): Promise<DoorReply> {
  return new Promise((resolve) => {
    const s = connect(path);
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r: DoorReply) => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => finish({ kind: 'temp', reason: `no answer from ${path} within ${timeoutMs} ms` }));
    s.on('connect', () => s.write(encodeDoorRequest(req)));
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const r = decodeDoorReply(buf);
      if (r === 'incomplete') return;
      finish(r === 'invalid' ? { kind: 'temp', reason: 'unintelligible answer from the daemon' } : r);
    });
    s.on('end', () => finish({ kind: 'temp', reason: 'the daemon closed the connection without an answer' }));
    s.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'temp', reason: `cannot reach the daemon at ${path}: ${err.code ?? err.message}` }));
  });
}
