import type { AuthRequest } from '../auth/types.js';
import type { DoorReply } from '../protocol/checkpassword-door.js';
import { EXIT, type Fd3Input } from '../protocol/checkpassword.js';
import { clientIpFrom, serviceFrom } from './checkpassword/environment.js';

/**
 * qmail's checkpassword interface: fd 3 and the environment (tcpserver's,
 * Dovecot's) become the AuthRequest. The login is passed on whole; a source
 * keyed by realm (sasldb) finds it after the last "@".
 */
export function toAuthRequest(input: Extract<Fd3Input, { kind: 'input' }>, env: NodeJS.ProcessEnv, defaultService: string): AuthRequest {
  const clientIp = clientIpFrom(env);
  const base: AuthRequest = {
    login: input.login.toString('latin1'),
    password: input.password,
    service: serviceFrom(env, defaultService),
    realm: '',
    realmInLogin: true,
    challenge: input.timestamp,
  };
  return clientIp ? { ...base, clientIp } : base;
}

/** The interface's exit code for a refusal or a temporary failure; success is the next program. */
export function exitFor(reply: Exclude<DoorReply, { kind: 'ok' }>): number {
  return reply.kind === 'no' ? EXIT.refused : EXIT.temporary;
}
