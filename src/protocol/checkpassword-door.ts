import { MAX_FIELD } from './saslauthd.js';

/**
 * The exchange between the checkpassword program and the daemon, on a socket
 * of its own (`checkpassword_socket`) so that the saslauthd mux socket stays
 * byte for byte what its clients know. Same framing as saslauthd: counted
 * strings (2-byte big-endian length, then bytes).
 *
 * Request: login, password, service, realm, client address, timestamp.
 * Reply: verdict (`OK`, `NO <reason>`, `TEMP <reason>`), then for OK the
 * account: user, domain, uid, gid, home, shell, flags (decimal; empty = unknown).
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
  readonly uid: number | undefined;
  readonly gid: number | undefined;
  readonly home: string;
  readonly shell: string;
  readonly flags: number | undefined;
}

export type DoorReply =
  | { readonly kind: 'ok'; readonly account: DoorAccount }
  | { readonly kind: 'no'; readonly reason: string }
  | { readonly kind: 'temp'; readonly reason: string };

const REQUEST_FIELDS = 6;
const MAX_REPLY_FIELD = 4096;
export const MAX_DOOR_REQUEST = REQUEST_FIELDS * (MAX_FIELD + 2);

function counted(fields: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const b = typeof f === 'string' ? Buffer.from(f, 'latin1') : f;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

/** Reads `count` counted strings; undefined while incomplete; an error text when a field is too long. */
function readCounted(buf: Buffer, count: number, max: number): Buffer[] | undefined | string {
  const out: Buffer[] = [];
  let off = 0;
  while (out.length < count) {
    if (buf.length < off + 2) return undefined;
    const len = buf.readUInt16BE(off);
    if (len > max) return `field ${out.length + 1} is ${len} bytes, over ${max}`;
    if (buf.length < off + 2 + len) return undefined;
    out.push(buf.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return out;
}

export function encodeDoorRequest(r: DoorRequest): Buffer {
  return counted([r.login, r.password, r.service, r.realm, r.clientAddr, r.timestamp]);
}

export function decodeDoorRequest(buf: Buffer): { kind: 'incomplete' } | { kind: 'request'; request: DoorRequest } | { kind: 'reject'; reply: Buffer; why: string } {
  const f = readCounted(buf, REQUEST_FIELDS, MAX_FIELD);
  if (f === undefined) return { kind: 'incomplete' };
  if (typeof f === 'string') return { kind: 'reject', reply: encodeDoorReply({ kind: 'no', reason: 'malformed request' }), why: f };
  const [login, password, service, realm, clientAddr, timestamp] = f as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  if (login.length === 0 || login.includes(0) || password.includes(0) || service.includes(0) || realm.includes(0)) {
    return { kind: 'reject', reply: encodeDoorReply({ kind: 'no', reason: 'malformed request' }), why: 'empty login or NUL inside a field' };
  }
  return { kind: 'request', request: { login, password, service, realm, clientAddr, timestamp } };
}

export function encodeDoorReply(r: DoorReply): Buffer {
  if (r.kind === 'no') return counted([`NO ${r.reason}`]);
  if (r.kind === 'temp') return counted([`TEMP ${r.reason}`]);
  const a = r.account;
  const num = (n: number | undefined) => (n === undefined ? '' : String(n));
  return counted(['OK', a.user, a.domain, num(a.uid), num(a.gid), a.home, a.shell, num(a.flags)]);
}

/** Decodes the daemon's reply; 'invalid' for anything this client cannot trust. */
export function decodeDoorReply(buf: Buffer): DoorReply | 'incomplete' | 'invalid' {
  const first = readCounted(buf, 1, MAX_REPLY_FIELD);
  if (first === undefined) return 'incomplete';
  if (typeof first === 'string') return 'invalid';
  const verdict = first[0]!.toString('latin1');
  if (verdict.startsWith('NO ')) return { kind: 'no', reason: verdict.slice(3) };
  if (verdict.startsWith('TEMP ')) return { kind: 'temp', reason: verdict.slice(5) };
  if (verdict !== 'OK') return 'invalid';
  const f = readCounted(buf, 8, MAX_REPLY_FIELD);
  if (f === undefined) return 'incomplete';
  if (typeof f === 'string') return 'invalid';
  const text = f.map((b) => b.toString('latin1'));
  const num = (s: string) => (s === '' ? undefined : /^\d+$/.test(s) ? Number(s) : NaN);
  const [uid, gid, flags] = [num(text[3]!), num(text[4]!), num(text[7]!)];
  if ([uid, gid, flags].some((n) => Number.isNaN(n))) return 'invalid';
  return { kind: 'ok', account: { user: text[1]!, domain: text[2]!, uid, gid, home: text[5]!, shell: text[6]!, flags } };
}

export const DOOR_CODEC = {
  decode: decodeDoorRequest,
  maxRequestBytes: MAX_DOOR_REQUEST,
  oversized: encodeDoorReply({ kind: 'no', reason: 'request too long' }),
  failure: encodeDoorReply({ kind: 'temp', reason: 'internal error' }),
};
