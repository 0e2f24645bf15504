import { logLine } from '../log-line.js';
import type { Logger } from '../log.js';
import type { AuthRequest, Result } from './types.js';

/**
 * One log line per decision, in saslauthd's bracketed form so existing
 * fail2ban filters match, plus the client address when it is known.
 */
export function auditLine(event: string, req: AuthRequest, mech: string, reason?: string): string {
  let line = `${event}: ` + logLine`[user=${req.login}] [service=${req.service}] [realm=${req.realm}] [mech=${mech}]`;
  if (reason !== undefined) line += logLine` [reason=${reason}]`;
  if (req.clientIp) line += logLine` [client=${req.clientIp}]`;
  return line;
}

export function logResult(log: Logger, verbose: boolean, req: AuthRequest, mech: string, result: Result): void {
  // Most successes are not logged: nothing is built for them.
  if (result.kind === 'ok' && !verbose) return;
  const fields = { user: req.login, service: req.service, realm: req.realm, mech, client: req.clientIp };
  switch (result.kind) {
    case 'ok':
      log.info(auditLine('auth success', req, mech, result.stale ? 'cached, source unavailable' : result.cached ? 'cached' : undefined), { ...fields, result: 'ok', cached: result.cached });
      return;
    case 'fail':
      log.info(auditLine('auth failure', req, mech, result.reason), { ...fields, result: 'fail', code: result.code });
      return;
    case 'tempfail':
      log.warn(auditLine('auth temporary failure', req, mech, result.reason), { ...fields, result: 'tempfail' });
      return;
  }
}
