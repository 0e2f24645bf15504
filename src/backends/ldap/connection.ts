import { connect as netConnect, isIP, Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client } from 'ldapts';
import type { LdapServer } from '../../config/ldap.js';

/** How every connection to the directory is made. */
export interface LinkSettings {
  /** CA, client certificate, ciphers, peer checking: for ldaps:// and StartTLS. */
  readonly tls: ConnectionOptions;
  readonly startTls: boolean;
  /** ldap_timeout: to connect, for the TLS handshake, and for each operation. */
  readonly timeoutMs: number;
}

/** One connection to one server, ready for operations (TLS done, not bound). */
export interface Link {
  readonly client: Client;
  readonly server: LdapServer;
  /** False once the socket closed: such a link is thrown away, never reopened. */
  readonly alive: boolean;
  close(): void;
}

/** The server could not be reached or would not speak TLS with us; `message` says which and why. */
export class Unreachable extends Error {
  override readonly name = 'Unreachable';
}

/** A socket that fails as soon as it is used: what ldapts gets if it tries to reconnect by itself. */
function refusedSocket(why: string): Socket {
  const s = new Socket();
  setImmediate(() => s.destroy(new Error(why)));
  return s;
}

function identity(server: LdapServer): ConnectionOptions {
  // SNI takes host names only; the certificate is checked against the host either way.
  return isIP(server.host) ? { host: server.host } : { host: server.host, servername: server.host };
}

function dial(server: LdapServer, s: LinkSettings): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock: Socket =
      server.scheme === 'ldapi'
        ? netConnect(server.socketPath!)
        : server.scheme === 'ldaps'
          ? tlsConnect({ ...s.tls, ...identity(server), port: server.port })
          : netConnect(server.port, server.host);
    const timer = setTimeout(() => sock.destroy(new Error(`no connection within ${s.timeoutMs / 1000} s`)), s.timeoutMs);
    const ready = () => {
      clearTimeout(timer);
      sock.removeListener('error', failed);
      // Until ldapts takes the socket (its first operation), an error on it must not go unheard.
      sock.on('error', () => undefined);
      sock.setKeepAlive(true, 60_000);
      resolve(sock);
    };
    const failed = (err: Error) => {
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    sock.once(server.scheme === 'ldaps' ? 'secureConnect' : 'connect', ready);
    sock.once('error', failed);
  });
}

async function withDeadline<T>(p: Promise<T>, ms: number, onLate: () => void, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(new Error(`${what}: no answer within ${ms / 1000} s`));
    }, ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens a connection: the socket (TCP, TLS for ldaps://, or the ldapi Unix
 * socket), then StartTLS when asked. ldapts gets the open socket and may
 * never open another: left to itself it would reconnect a dropped
 * connection without StartTLS and without the bind, so a user's password
 * could go out in clear text or a search run anonymously. A dropped link is
 * dead; the pool opens a new one the whole way.
 */
export async function openLink(server: LdapServer, s: LinkSettings): Promise<Link> {
  let sock: Socket;
  try {
    sock = await dial(server, s);
  } catch (err) {
    throw new Unreachable(`${server.uri}: ${describe(err)}`);
  }
  let handedOver = false;
  let upgraded = false;
  let current: Socket = sock;
  const client = new Client({
    url: 'ldap://localhost',
    timeout: s.timeoutMs,
    connectTimeout: s.timeoutMs,
    createConnection: (() => {
      if (handedOver) return refusedSocket('connection lost; not reopened');
      handedOver = true;
      return sock;
    }) as unknown as typeof netConnect,
    createSecureConnection: ((options: ConnectionOptions) => {
      if (upgraded || options?.socket === undefined) return refusedSocket('TLS connection lost; not reopened');
      upgraded = true;
      current = tlsConnect({ ...options, ...s.tls, ...identity(server) });
      return current;
    }) as unknown as typeof tlsConnect,
  });
  const close = () => {
    void client.unbind().catch(() => undefined);
    current.destroy();
    sock.destroy();
  };
  if (s.startTls) {
    try {
      await withDeadline(client.startTLS({}), s.timeoutMs, close, 'StartTLS');
    } catch (err) {
      close();
      throw new Unreachable(`${server.uri}: StartTLS failed: ${describe(err)}`);
    }
  }
  return {
    client,
    server,
    get alive() {
      return client.isConnected && !current.destroyed;
    },
    close,
  };
}

/** What went wrong with an operation, as far as the connection is concerned. */
export type Failure =
  | { readonly kind: 'result'; readonly code: number; readonly message: string }
  /** The connection went away under the operation: worth one retry on a fresh one. */
  | { readonly kind: 'lost'; readonly message: string }
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'other'; readonly message: string };

const LOST = /Connection closed before message response|Socket error|Socket connection not established|connection lost|ECONNRESET|EPIPE/;

/** RFC 4511's names for the result codes a log line may show. */
const RESULT_NAMES: Record<number, string> = {
  1: 'operationsError', 2: 'protocolError', 3: 'timeLimitExceeded', 4: 'sizeLimitExceeded', 7: 'authMethodNotSupported',
  8: 'strongerAuthRequired', 10: 'referral', 11: 'adminLimitExceeded', 13: 'confidentialityRequired', 16: 'noSuchAttribute',
  17: 'undefinedAttributeType', 19: 'constraintViolation', 32: 'noSuchObject', 34: 'invalidDNSyntax', 48: 'inappropriateAuthentication',
  49: 'invalidCredentials', 50: 'insufficientAccessRights', 51: 'busy', 52: 'unavailable', 53: 'unwillingToPerform', 54: 'loopDetect', 80: 'other',
};

/** The one reading of ldapts's errors: a result code from the server, or the state of the connection. */
export function classify(err: unknown): Failure {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'number') {
    // ldapts writes the server's diagnostic text, then " Code: 0x31".
    const said = String(e.message ?? '').replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    return { kind: 'result', code: e.code, message: `${RESULT_NAMES[e.code] ?? 'result'} (${e.code})${said ? `: ${said}` : ''}` };
  }
  const message = describe(err);
  if (/timed out/i.test(message)) return { kind: 'timeout', message };
  if (LOST.test(message) || e.code === 'ECONNRESET' || e.code === 'EPIPE') return { kind: 'lost', message };
  return { kind: 'other', message };
}

/** An error as one line: ldapts puts the socket's message on a second one. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const text = err.message.split('\n').filter(Boolean).join(': ');
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}
