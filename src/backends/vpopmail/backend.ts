import type { Backend, LookupRequest, PasswordRecord } from '../types.js';
import { TempFail } from '../../errors.js';
import type { SqlConnection } from '../../config/sql-connection.js';
import type { VpopmailConfig } from '../../config/vpopmail.js';
import { logLine } from '../../log-line.js';
import type { Logger } from '../../log.js';
import { createSqlAdapter } from '../../sql/adapter.js';
import type { Row } from '../../sql/client.js';
import { ResilientSql } from '../../sql/resilient.js';
import { VPOPMAIL_FLAGS } from '../../config/vpopmail.js';
import { serviceRefused } from './flags.js';
import { parseVpopmailLogin, type VpopmailAddress } from './login.js';
import { exactRow, selectUser, upsertLastauth } from './queries.js';


/** lastauth writes waiting for the database beyond this are dropped (and logged), never queued without bound. */
const MAX_PENDING_WRITES = 64;
const RETRY_AFTER_MS = 1000;
/** vchkpw records this when the client address is unknown. */
const UNKNOWN_IP = '0.0.0.0';

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('latin1') : String(v);
}

function toRecord(row: Row, addr: VpopmailAddress, service: string, s: VpopmailConfig): PasswordRecord {
  const hash = text(row['pw_passwd']);
  const clear = s.clearPasswords ? text(row['pw_clear_passwd']) : '';
  const flags = Number(row['pw_gid'] ?? 0) | 0;
  // The hash decides when there is one; a clear password is used only where the hash is empty, and only when allowed.
  const usePlain = hash === '' && clear !== '';
  const base: PasswordRecord = {
    user: addr.user,
    domain: addr.domain,
    secret: usePlain ? clear : hash === '' ? '!' : hash,
    secretIsPlaintext: usePlain,
    system: false,
    home: text(row['pw_dir']),
    // vchkpw's environment for the next program; pw_shell holds the quota, not a shell.
    shell: 'NOLOGIN',
    env: { VPOPUSER: `${addr.user}@${addr.domain}` },
    mayRelay: (flags & VPOPMAIL_FLAGS.NO_RELAY) === 0,
    policy: () => (serviceRefused(flags, service, s.serviceFlags) ? 'service_disabled' : undefined),
  };
  return clear !== '' ? { ...base, plaintext: clear } : base;
}

/**
 * `-a vpopmail`: vpopmail's SQL tables, decided as vchkpw decides. Every
 * request asks the database (a changed password or flag counts at once); the
 * credential cache only spares the hash computation, and answers from memory
 * while the database is unreachable.
 */
export function createVpopmailBackend(s: VpopmailConfig, log: Logger): Backend {
  const onStateChange = (up: boolean, why: string) => (up ? log.info(`vpopmail: ${why}`) : log.error(`vpopmail: database unreachable: ${why}`));
  const reader = new ResilientSql({
    adapter: createSqlAdapter(s.read, s.poolSize, s.queryTimeoutMs, log, 'vpopmail'),
    connection: s.read,
    queryTimeoutMs: s.queryTimeoutMs,
    retryAfterMs: RETRY_AFTER_MS,
    onStateChange,
  });
  let writer: ResilientSql | undefined;
  let pendingWrites = 0;

  const writeLastauth = (addr: VpopmailAddress, ip: string) => {
    if (pendingWrites >= MAX_PENDING_WRITES) {
      log.warn(logLine`vpopmail: lastauth for ${addr.user}@${addr.domain} dropped: ${pendingWrites} writes already waiting`);
      return;
    }
    writer ??= new ResilientSql({
      adapter: createSqlAdapter(s.write, 2, s.queryTimeoutMs, log, 'vpopmail'),
      connection: s.write,
      queryTimeoutMs: s.queryTimeoutMs,
      retryAfterMs: RETRY_AFTER_MS,
      onStateChange: (up, why) => log.warn(`vpopmail: lastauth ${up ? 'writes resumed' : `writes failing: ${why}`}`),
    });
    const st = upsertLastauth(reader.dialect, addr, ip, Math.floor(Date.now() / 1000));
    pendingWrites++;
    writer
      .query(st.sql, st.params)
      .then((out) => {
        if ('noTable' in out) log.warn('vpopmail: lastauth is enabled but the lastauth table does not exist');
      })
      .catch((err: Error) => log.warn(logLine`vpopmail: lastauth not recorded for ${addr.user}@${addr.domain}: ${err.message}`))
      .finally(() => pendingWrites--);
  };

  return {
    mech: 'vpopmail',
    async lookup(req: LookupRequest) {
      const addr = parseVpopmailLogin(req.login, req.realm, s.defaultDomain);
      if (!addr) return undefined;
      const st = selectUser(reader.dialect, s.layout, addr, s.clearPasswords);
      if (!st) return undefined;
      const out = await reader.query(st.sql, st.params);
      if ('noTable' in out) {
        // many-domains: the one table is missing, a broken install, not an unknown user.
        if (s.layout === 'many-domains') throw new TempFail('the vpopmail table does not exist');
        return undefined;
      }
      const row = exactRow(out.rows, s.layout, addr);
      return row ? toRecord(row, addr, req.service, s) : undefined;
    },
    recordLogin(req: LookupRequest) {
      if (!s.lastauth) return;
      const addr = parseVpopmailLogin(req.login, req.realm, s.defaultDomain);
      if (addr) writeLastauth(addr, req.clientIp ?? UNKNOWN_IP);
    },
    check() {
      const where = (c: SqlConnection) => `${c.driver}://${c.user}@${c.socketPath ?? `${c.host}:${c.port ?? 'default'}`}/${c.database}`;
      return `vpopmail: ${where(s.read)}, layout ${s.layout}, default domain ${s.defaultDomain || '(none)'}`;
    },
    async close() {
      await reader.close();
      await writer?.close();
    },
  };
}
