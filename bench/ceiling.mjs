// The platform's ceiling for the saslauthd socket: a bare Node server that
// reads the four counted strings of a request and answers OK, nothing else
// (no check, no cache, no limits). With WORKERS > 1, that many processes
// accept on the one listening socket, each on its own core.
//
//   node bench/ceiling.mjs SOCKET [WORKERS]
import cluster from 'node:cluster';
import { unlinkSync } from 'node:fs';
import { createServer } from 'node:net';

const [socket, workersArg] = process.argv.slice(2);
const workers = Number(workersArg ?? 1);
const OK = Buffer.from([0, 2, 0x4f, 0x4b]);

/** True once `buf` holds four length-prefixed strings. */
function complete(buf) {
  let at = 0;
  for (let i = 0; i < 4; i++) {
    if (buf.length < at + 2) return false;
    at += 2 + buf.readUInt16BE(at);
  }
  return buf.length >= at;
}

function serve() {
  const server = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => s.destroy());
    s.on('data', (chunk) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (complete(buf)) s.write(OK, () => s.destroy());
    });
  });
  server.listen(socket);
}

if (workers > 1 && cluster.isPrimary) {
  // Every worker accepts on the shared socket itself, as saslauthd's processes do.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  try {
    unlinkSync(socket);
  } catch {}
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  if (workers === 1) {
    try {
      unlinkSync(socket);
    } catch {}
  }
  serve();
}
