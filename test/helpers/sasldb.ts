import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

export interface SasldbUser {
  readonly user: string;
  readonly realm: string;
  readonly password: Buffer;
}

/** Adds users with the real saslpasswd2 (-p: password on stdin, -c: create), one run each. */
export function saslpasswd2(file: string, users: readonly SasldbUser[]): void {
  for (const u of users) {
    const r = spawnSync('saslpasswd2', ['-p', '-f', file, '-c', '-u', u.realm, u.user], { input: u.password });
    if (r.status !== 0) throw new Error(`saslpasswd2 failed for ${u.user}: ${r.stderr.toString()}`);
  }
}

/** Many simple users in one shell loop (saslpasswd2 per user, without a Node spawn each). */
export function saslpasswd2Bulk(file: string, users: readonly SasldbUser[]): void {
  const list = join(tempDir(), 'users.txt');
  writeFileSync(list, users.map((u) => `${u.user} ${u.realm} ${u.password.toString('latin1')}`).join('\n') + '\n');
  execFileSync('bash', ['-c', 'while read -r u r p; do printf %s "$p" | saslpasswd2 -p -f "$1" -c -u "$r" "$u" || exit 1; done < "$2"', 'bulk', file, list]);
}

/**
 * Puts users into a sasldb2 with the real db5.3_load, key for key what
 * saslpasswd2 puts ("user\0realm\0userPassword" -> the password, into a
 * Berkeley DB hash), in one process instead of one a user: the same pages
 * and splits, built in a second where 20,000 saslpasswd2 runs took minutes.
 */
export function dbLoadSasldb(file: string, users: readonly SasldbUser[]): void {
  // db_load's text form: printable bytes as they are, any other (and the backslash) as \xx.
  const text = (b: Buffer) => [...b].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\${c.toString(16).padStart(2, '0')}`)).join('');
  const lines = users.flatMap((u) => [text(Buffer.from(`${u.user}\0${u.realm}\0userPassword`, 'latin1')), text(u.password)]);
  execFileSync('db5.3_load', ['-T', '-t', 'hash', file], { input: lines.join('\n') + '\n' });
}

export function saslpasswd2Delete(file: string, user: string, realm: string): void {
  execFileSync('saslpasswd2', ['-f', file, '-d', '-u', realm, user]);
}

/** The pairs the file holds, per db5.3_dump -p (the oracle), keyed by the key's hex. */
export function dumpPairs(file: string): Map<string, Buffer> {
  const out = execFileSync('db5.3_dump', ['-p', file]).toString('latin1');
  const lines = out.split('\n');
  const start = lines.indexOf('HEADER=END') + 1;
  const map = new Map<string, Buffer>();
  const decode = (line: string): Buffer => {
    const bytes: number[] = [];
    for (let i = 1; i < line.length; i++) {
      if (line[i] === '\\') {
        if (line[i + 1] === '\\') {
          bytes.push(0x5c);
          i++;
        } else {
          bytes.push(parseInt(line.slice(i + 1, i + 3), 16));
          i += 2;
        }
      } else bytes.push(line.charCodeAt(i));
    }
    return Buffer.from(bytes);
  };
  for (let i = start; i < lines.length && lines[i] !== 'DATA=END'; i += 2) map.set(decode(lines[i]!).toString('hex'), decode(lines[i + 1]!));
  return map;
}

export function sasldbKey(user: string, realm: string): Buffer {
  return Buffer.from(`${user}\0${realm}\0userPassword`, 'utf8');
}

/**
 * The same database in the other byte order, as a big-endian machine would
 * have written it: every integer field of the meta page, the page headers,
 * the item index and off-page references is swapped.
 */
export function swapByteOrder(file: Buffer): Buffer {
  const b = Buffer.from(file);
  const le = b.readUInt32LE(12) === 0x061561;
  const r32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const r16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const s32 = (o: number) => (le ? b.writeUInt32BE(b.readUInt32LE(o), o) : b.writeUInt32LE(b.readUInt32BE(o), o));
  const s16 = (o: number) => (le ? b.writeUInt16BE(b.readUInt16LE(o), o) : b.writeUInt16LE(b.readUInt16BE(o), o));
  const pageSize = r32(20);
  // meta page: lsn, pgno, magic, version, pagesize, (4 single bytes), free, last_pgno, nparts, key_count, record_count, flags
  for (const o of [0, 4, 8, 12, 16, 20, 28, 32, 36, 40, 44, 48]) s32(o);
  for (let o = 72; o < 96 + 32 * 4; o += 4) s32(o);
  for (let p = pageSize; p + pageSize <= b.length; p += pageSize) {
    const type = b[p + 25];
    const entries = r16(p + 20);
    if (type === 2 || type === 13) {
      for (let i = 0; i < entries; i++) {
        const off = r16(p + 26 + 2 * i);
        if (b[p + off] === 3) {
          s32(p + off + 4);
          s32(p + off + 8);
        }
      }
      for (let i = 0; i < entries; i++) s16(p + 26 + 2 * i);
    }
    for (const o of [0, 4, 8, 12, 16]) s32(p + o);
    s16(p + 20);
    s16(p + 22);
  }
  return b;
}
