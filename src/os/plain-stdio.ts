import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';

function syncWriter(fd: number): Writable {
  const w = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
      } catch {
        // Closed or full: a line lost, never the login.
      }
      done();
    },
  });
  return Object.assign(w, { fd });
}

/**
 * Node's process.stdout/stderr streams set O_NONBLOCK on a pipe or socket,
 * and that flag lives in the open file description, which a one-shot program
 * shares with its siblings: under tcpserver every login's stderr is the one
 * pipe to multilog. A module that merely reads process.stderr (Node's assert
 * asks isTTY when it loads, and the Redis client loads assert) would leave the
 * other logins' programs writing to a non-blocking log pipe and losing lines to
 * EAGAIN. From here on both names give a blocking writer that never touches the
 * descriptor's flags.
 */
export function keepStdioPlain(): void {
  for (const [name, fd] of [['stdout', 1], ['stderr', 2]] as const) {
    let stream: Writable | undefined;
    Object.defineProperty(process, name, { configurable: true, enumerable: true, get: () => (stream ??= syncWriter(fd)) });
  }
}
