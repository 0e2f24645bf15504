import { canonicalIp } from '../../net/address.js';

/** vchkpw's port map: the service a connection's local port stands for. */
const PORT_SERVICES: Record<string, string> = {
  '25': 'smtp', '465': 'smtp', '587': 'smtp',
  '110': 'pop3', '995': 'pop3',
  '143': 'imap', '993': 'imap',
};

/** SERVICE (Dovecot), else TCPLOCALPORT (tcpserver), else the configured default. */
export function serviceFrom(env: NodeJS.ProcessEnv, fallback: string): string {
  const s = env['SERVICE'];
  if (s) return s.toLowerCase();
  const port = env['TCPLOCALPORT'];
  return (port && PORT_SERVICES[port]) || fallback;
}

/**
 * TCPREMOTEIP (tcpserver, Dovecot), else REMOTE_IP, in its one canonical
 * spelling; only a well-formed address counts (an IPv6 zone suffix is
 * allowed and dropped). Checked with the relay
 * tracker's parser, not node:net's isIP, whose IPv6 expression costs every
 * login's start-up milliseconds to compile.
 */
export function clientIpFrom(env: NodeJS.ProcessEnv): string | undefined {
  const ip = env['TCPREMOTEIP'] ?? env['REMOTE_IP'];
  return ip ? canonicalIp(ip.split('%')[0]!) : undefined;
}

/**
 * Dovecot's checkpassword passdb, told apart by what only its contract
 * provides: ORIG_UID naming this very uid (Dovecot sets it, and its reply
 * program refuses to run when the uid changed), fd 4 inherited as the reply
 * pipe, and Dovecot's checkpassword-reply as the next program. Each can be
 * set by accident elsewhere (SERVICE is, by tcpserver chains), so only all
 * three together skip the uid switch; anything less is a qmail-style chain
 * and the next program runs as the account.
 */
export function underDovecot(env: NodeJS.ProcessEnv, nextProgram: string, inherited: ReadonlyMap<number, string>, uid: number): boolean {
  const base = nextProgram.slice(nextProgram.lastIndexOf('/') + 1);
  return env['ORIG_UID'] === String(uid) && base === 'checkpassword-reply' && (inherited.get(4) ?? '').startsWith('pipe:');
}
