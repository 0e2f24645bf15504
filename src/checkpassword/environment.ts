import { canonicalIp } from '../relay/address.js';

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
 * TCPREMOTEIP (tcpserver, Dovecot), else REMOTE_IP; only a well-formed
 * address counts (an IPv6 zone suffix allowed). Checked with the relay
 * tracker's parser, not node:net's isIP, whose IPv6 expression costs every
 * login's start-up milliseconds to compile.
 */
export function clientIpFrom(env: NodeJS.ProcessEnv): string | undefined {
  const ip = env['TCPREMOTEIP'] ?? env['REMOTE_IP'];
  return ip && canonicalIp(ip.split('%')[0]!) !== undefined ? ip : undefined;
}

/** Dovecot runs checkpassword with SERVICE set and wants ids back, not a changed uid. */
export function underDovecot(env: NodeJS.ProcessEnv): boolean {
  return env['SERVICE'] !== undefined && env['SERVICE'] !== '';
}
