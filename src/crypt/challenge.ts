import { createHash, createHmac } from 'node:crypto';
import { equalSecrets } from './constant-time.js';

export type ChallengeKind = 'apop' | 'cram-md5';

/** APOP for POP3 services, CRAM-MD5 for SMTP ones: the services whose clients answer such a challenge. */
export function challengeKindFor(service: string): ChallengeKind | undefined {
  const s = service.toLowerCase();
  if (s === 'pop' || s === 'pop3' || s === 'pop3s') return 'apop';
  if (s === 'smtp' || s === 'smtps' || s === 'submission') return 'cram-md5';
  return undefined;
}

/**
 * Whether `response` answers `challenge` for this clear password:
 * APOP `hex(md5(challenge + password))`, CRAM-MD5
 * `hex(hmac_md5(key = password, challenge))` (RFC 1939, RFC 2195).
 */
export function challengeMatches(kind: ChallengeKind, challenge: Buffer, plaintext: Buffer, response: Buffer): boolean {
  const expected = kind === 'apop'
    ? createHash('md5').update(challenge).update(plaintext).digest('hex')
    : createHmac('md5', plaintext).update(challenge).digest('hex');
  return equalSecrets(Buffer.from(response.toString('latin1').toLowerCase(), 'latin1'), Buffer.from(expected, 'latin1'));
}
