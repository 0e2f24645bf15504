import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { loadLibPam } from './libpam.js';
import { decodeQuestion, encodeOutcome } from './wire.js';

/** The worker's end of its socket to the daemon: not stdin/stdout, which a module may write to. */
export const WORKER_FD = 3;

/**
 * A PAM worker process: questions in, outcomes out, one at a time. PAM
 * blocks and its modules may sleep, hang or crash; in a process of its
 * own that costs the daemon one worker, which it can kill and replace,
 * never its event loop.
 */
export function runPamWorker(): void {
  const pam = loadLibPam();
  const channel = new Socket({ fd: WORKER_FD, readable: true, writable: true });
  const lines = createInterface({ input: channel, crlfDelay: Infinity });
  lines.on('line', (line) => {
    const { id, question } = decodeQuestion(line);
    try {
      channel.write(encodeOutcome(id, pam.converse(question)));
    } finally {
      question.password.fill(0);
    }
  });
  // The daemon gone (its end closed): nothing is left to answer.
  lines.on('close', () => process.exit(0));
}
