import { ConfigError } from './errors.js';

/** vpopmail's pw_gid bits (vpopmail.h). */
export const VPOPMAIL_FLAGS = {
  NO_PASSWD_CHNG: 0x01,
  NO_POP: 0x02,
  NO_WEBMAIL: 0x04,
  NO_IMAP: 0x08,
  BOUNCE_MAIL: 0x10,
  NO_RELAY: 0x20,
  NO_DIALUP: 0x40,
  NO_SMTP: 0x800,
  V_OVERRIDE: 0x2000,
} as const;
export type VpopmailFlagName = keyof typeof VPOPMAIL_FLAGS;

/** Service name (as the front door reports it) to the flag that refuses it, as vchkpw maps ports. */
export type ServiceFlags = ReadonlyMap<string, number>;

export const DEFAULT_SERVICE_FLAGS = 'pop=NO_POP pop3=NO_POP pop3s=NO_POP imap=NO_IMAP imaps=NO_IMAP smtp=NO_SMTP smtps=NO_SMTP submission=NO_SMTP webmail=NO_WEBMAIL';

/** `service=FLAG` pairs separated by spaces or commas; a service not listed is refused by no flag. */
export function parseServiceFlags(text: string, where: string): ServiceFlags {
  const map = new Map<string, number>();
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const service = pair.slice(0, eq).toLowerCase();
    const flag = pair.slice(eq + 1).toUpperCase();
    if (eq <= 0 || !(flag in VPOPMAIL_FLAGS)) {
      throw new ConfigError(`${where}: ${JSON.stringify(pair)} is not service=FLAG (flags: ${Object.keys(VPOPMAIL_FLAGS).join(', ')})`);
    }
    map.set(service, VPOPMAIL_FLAGS[flag as VpopmailFlagName]);
  }
  return map;
}
