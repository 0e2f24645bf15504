import type { PamOutcome, PamQuestion } from './libpam.js';

/**
 * The pipe between the daemon and a PAM worker: one JSON object a line,
 * bytes in base64 so a login or password of any bytes crosses unchanged.
 */
export function encodeQuestion(id: number, q: PamQuestion): string {
  return `${JSON.stringify({ id, service: q.service.toString('base64'), user: q.user.toString('base64'), password: q.password.toString('base64'), rhost: q.rhost })}\n`;
}

export function decodeQuestion(line: string): { id: number; question: PamQuestion } {
  const o = JSON.parse(line) as { id: unknown; service: unknown; user: unknown; password: unknown; rhost: unknown };
  if (typeof o.id !== 'number' || typeof o.service !== 'string' || typeof o.user !== 'string' || typeof o.password !== 'string') throw new Error('malformed PAM question');
  const rhost = typeof o.rhost === 'string' ? o.rhost : undefined;
  return { id: o.id, question: { service: Buffer.from(o.service, 'base64'), user: Buffer.from(o.user, 'base64'), password: Buffer.from(o.password, 'base64'), rhost } };
}

export function encodeOutcome(id: number, o: PamOutcome): string {
  return `${JSON.stringify({ id, ...o })}\n`;
}

const STAGES = new Set(['start', 'authenticate', 'acct_mgmt', 'done']);

export function decodeOutcome(line: string): { id: number; outcome: PamOutcome } {
  const o = JSON.parse(line) as Record<string, unknown>;
  if (typeof o['id'] !== 'number' || !STAGES.has(o['stage'] as string) || typeof o['rc'] !== 'number' || typeof o['text'] !== 'string' || typeof o['delayUs'] !== 'number') {
    throw new Error('malformed PAM outcome');
  }
  return { id: o['id'], outcome: { stage: o['stage'] as PamOutcome['stage'], rc: o['rc'], text: o['text'], delayUs: o['delayUs'] } };
}
