import { parentPort } from 'node:worker_threads';
import { UnsupportedHash, verifyInJs } from './compute.js';

export interface VerifyJob {
  readonly id: number;
  readonly password: Uint8Array;
  readonly hash: string;
}
export type VerifyAnswer =
  | { readonly id: number; readonly ok: boolean }
  | { readonly id: number; readonly unsupported: string }
  | { readonly id: number; readonly error: string };

parentPort?.on('message', (job: VerifyJob) => {
  const password = Buffer.from(job.password.buffer, job.password.byteOffset, job.password.byteLength);
  let answer: VerifyAnswer;
  try {
    answer = { id: job.id, ok: verifyInJs(password, job.hash) };
  } catch (err) {
    answer = err instanceof UnsupportedHash ? { id: job.id, unsupported: err.message } : { id: job.id, error: String(err) };
  } finally {
    password.fill(0);
  }
  parentPort!.postMessage(answer);
});
