import { encodeCounted, readCounted } from './counted.js';
import { MAX_FIELD } from './saslauthd.js';

/**
 * The exchange between the checkpassword program and the daemon, on a socket
 * of its own (`checkpassword_socket`) so that the saslauthd mux socket stays
 * byte for byte what its clients know. Same framing as saslauthd: counted
 * strings.
 *
 * Request: login, password, service, realm, client address, timestamp.
 * Reply: verdict (`OK`, `NO <reason>`, `TEMP <reason>`), then for OK the
 * account: user, domain, `system` or `virtual`, uid, gid (decimal; empty =
 * none), home, shell, may relay (`1`/`0`), and the next program's extra
 * variables as `NAME=value` lines.
 */
export interface DoorRequest {
  readonly login: Buffer;
  readonly password: Buffer;
  readonly service: Buffer;
  readonly realm: Buffer;
  readonly clientAddr: Buffer;
  readonly timestamp: Buffer;
}

export interface DoorAccount {
  readonly user: string;
  readonly domain: string;
  readonly system: boolean;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly home: string;
  readonly shell: string;
  readonly mayRelay: boolean;
  readonly env: Readonly<Record<string, string>>;
}

export type DoorReply =
  | { readonly kind: 'ok'; readonly account: DoorAccount }
  | { readonly kind: 'no'; readonly reason: string }
  | { readonly kind: 'temp'; readonly reason: string };

const REQUEST_FIELDS = 6;
const ACCOUNT_FIELDS = 10;
const MAX_REPLY_FIELD = 4096;
export const MAX_DOOR_REQUEST = REQUEST_FIELDS * (MAX_FIELD + 2);
const MALFORMED = () => encodeDoorReply({ kind: 'no', reason: 'malformed request' });

export function encodeDoorRequest(r: DoorRequest): Buffer {
  return encodeCounted([r.login, r.password, r.service, r.realm, r.clientAddr, r.timestamp]);
}

export function decodeDoorRequest(buf: Buffer): { kind: 'incomplete' } | { kind: 'request'; request: DoorRequest } | { kind: 'reject'; reply: Buffer; why: string } {
  const r = readCounted(buf, REQUEST_FIELDS, MAX_FIELD);
  if (r.kind === 'incomplete') return r;
  if (r.kind === 'too-long') return { kind: 'reject', reply: MALFORMED(), why: `field ${r.field} is ${r.length} bytes, over ${MAX_FIELD}` };
  const [login, password, service, realm, clientAddr, timestamp] = r.fields as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  if (login.length === 0 || login.includes(0) || password.includes(0) || service.includes(0) || realm.includes(0)) {
    return { kind: 'reject', reply: MALFORMED(), why: 'empty login or NUL inside a field' };
  }
  return { kind: 'request', request: { login, password, service, realm, clientAddr, timestamp } };
}

export function encodeDoorReply(r: DoorReply): Buffer {
  if (r.kind === 'no') return encodeCounted([`NO ${r.reason}`]);
  if (r.kind === 'temp') return encodeCounted([`TEMP ${r.reason}`]);
  const a = r.account;
  const num = (n: number | undefined) => (n === undefined ? '' : String(n));
  const env = Object.entries(a.env).map(([k, v]) => `${k}=${v}`).join('\n');
  return encodeCounted(['OK', a.user, a.domain, a.system ? 'system' : 'virtual', num(a.uid), num(a.gid), a.home, a.shell, a.mayRelay ? '1' : '0', env]);
}

/** Decodes the daemon's reply; 'invalid' for anything this client cannot trust. */
export function decodeDoorReply(buf: Buffer): DoorReply | 'incomplete' | 'invalid' {
  const first = readCounted(buf, 1, MAX_REPLY_FIELD);
  if (first.kind === 'incomplete') return 'incomplete';
  if (first.kind === 'too-long') return 'invalid';
  const verdict = first.fields[0]!.toString('latin1');
  if (verdict.startsWith('NO ')) return { kind: 'no', reason: verdict.slice(3) };
  if (verdict.startsWith('TEMP ')) return { kind: 'temp', reason: verdict.slice(5) };
  if (verdict !== 'OK') return 'invalid';
  const f = readCounted(buf, ACCOUNT_FIELDS, MAX_REPLY_FIELD);
  if (f.kind === 'incomplete') return 'incomplete';
  if (f.kind === 'too-long') return 'invalid';
  const [, user, domain, kind, uidText, gidText, home, shell, relay, envText] = f.fields.map((b) => b.toString('latin1')) as string[];
  const num = (s: string) => (s === '' ? undefined : /^\d{1,10}$/.test(s) ? Number(s) : NaN);
  const [uid, gid] = [num(uidText!), num(gidText!)];
  if (Number.isNaN(uid) || Number.isNaN(gid) || !['system', 'virtual'].includes(kind!) || !['0', '1'].includes(relay!)) return 'invalid';
  const env: Record<string, string> = {};
  for (const line of envText === '' ? [] : envText!.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) return 'invalid';
    env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { kind: 'ok', account: { user: user!, domain: domain!, system: kind === 'system', uid, gid, home: home!, shell: shell!, mayRelay: relay === '1', env } };
}

export const DOOR_CODEC = {
  decode: decodeDoorRequest,
  maxRequestBytes: MAX_DOOR_REQUEST,
  oversized: encodeDoorReply({ kind: 'no', reason: 'request too long' }),
  failure: encodeDoorReply({ kind: 'temp', reason: 'internal error' }),
};
