import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { BdbHashFile, charkeyCheck, CorruptDb } from '../../../../src/backends/sasldb/bdb-hash.js';
import { tempDir } from '../../../helpers/fixtures.js';
import { dumpPairs, saslpasswd2, saslpasswd2Delete, sasldbKey, swapByteOrder, type SasldbUser } from '../../../helpers/sasldb.js';

function variedUsers(n: number): SasldbUser[] {
  const realms = ['example.com', 'mail.example.org', 'x.test'];
  const users: SasldbUser[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + (i % 256);
    let pw = Buffer.from(`pässwörd-€-${i}-`.repeat(20), 'utf8').subarray(0, len);
    // keep the UTF-8 valid where the cut landed mid-character: saslpasswd2 stores bytes either way
    if (i % 7 === 0) pw = Buffer.from(`日本語-${i}`, 'utf8');
    users.push({ user: `user${i}`, realm: realms[i % realms.length]!, password: pw });
  }
  return users;
}

function assertMatchesOracle(file: string, db: BdbHashFile): number {
  const oracle = dumpPairs(file);
  const seen = new Map<string, Buffer>();
  for (const e of db.entries()) seen.set(e.key.toString('hex'), e.value);
  assert.equal(seen.size, oracle.size, 'same number of pairs as db5.3_dump');
  for (const [k, v] of oracle) {
    assert.deepEqual(seen.get(k), v, `entry ${Buffer.from(k, 'hex').toString('latin1')}`);
    assert.deepEqual(db.get(Buffer.from(k, 'hex')), v, `get ${Buffer.from(k, 'hex').toString('latin1')}`);
  }
  return oracle.size;
}

describe('Berkeley DB hash reader against files made by saslpasswd2', () => {
  let dir: string;
  let one: string;
  let many: string;
  let users: SasldbUser[];
  before(() => {
    dir = tempDir();
    one = join(dir, 'one.db');
    saslpasswd2(one, [{ user: 'alice', realm: 'example.com', password: Buffer.from('secret1') }]);
    many = join(dir, 'many.db');
    users = variedUsers(1000);
    // values of several kilobytes land on overflow pages
    users.push({ user: 'big1', realm: 'example.com', password: Buffer.from('B'.repeat(1500)) });
    users.push({ user: 'big2', realm: 'example.com', password: randomBytes(1000).toString('hex').slice(0, 2048).padEnd(2048, 'z') as unknown as Buffer });
    users[users.length - 1] = { ...users[users.length - 1]!, password: Buffer.from(String(users[users.length - 1]!.password)) };
    saslpasswd2(many, users);
    for (let i = 0; i < 1000; i += 10) saslpasswd2Delete(many, `user${i}`, users[i]!.realm);
  });

  test('one user', () => {
    const db = new BdbHashFile(readFileSync(one));
    assert.equal(assertMatchesOracle(one, db), 1);
    assert.equal(db.get(sasldbKey('alice', 'example.com'))?.toString(), 'secret1');
    assert.equal(db.get(sasldbKey('alice', 'example.org')), undefined);
    assert.equal(db.get(sasldbKey('alic', 'example.com')), undefined);
  });

  test('1,000 users, 3 realms, 1-256 byte and UTF-8 passwords, overflow values, 100 deleted: exactly what db5.3_dump sees', () => {
    const db = new BdbHashFile(readFileSync(many));
    assert.equal(assertMatchesOracle(many, db), 1000 - 100 + 2);
    for (let i = 0; i < 1000; i++) {
      const got = db.get(sasldbKey(`user${i}`, users[i]!.realm));
      if (i % 10 === 0) assert.equal(got, undefined, `user${i} was deleted`);
      else assert.deepEqual(got, users[i]!.password);
    }
    assert.equal(db.get(sasldbKey('big1', 'example.com'))?.length, 1500);
  });

  test('the other byte order reads the same', () => {
    const swapped = swapByteOrder(readFileSync(many));
    assert.notDeepEqual(swapped.subarray(0, 32), readFileSync(many).subarray(0, 32));
    const be = new BdbHashFile(swapped);
    const le = new BdbHashFile(readFileSync(many));
    const a = [...le.entries()].map((e) => e.key.toString('hex') + e.value.toString('hex')).sort();
    const b = [...be.entries()].map((e) => e.key.toString('hex') + e.value.toString('hex')).sort();
    assert.deepEqual(b, a);
    assert.deepEqual(be.get(sasldbKey('user1', users[1]!.realm)), users[1]!.password);
  });

  test('hash function matches the check value DB stores', () => {
    assert.equal(charkeyCheck(Buffer.from('%$sniglet^&')), readFileSync(one).readUInt32LE(92));
  });

  test('fuzz: truncations, bit flips and random bytes only ever answer or raise CorruptDb', () => {
    const real = readFileSync(many);
    let answered = 0;
    let refused = 0;
    const probe = (buf: Buffer) => {
      try {
        const db = new BdbHashFile(buf);
        for (let i = 1; i < 60; i++) db.get(sasldbKey(`user${i}`, users[i]!.realm));
        for (const _ of db.entries()) void _;
        answered++;
      } catch (err) {
        if (!(err instanceof CorruptDb)) throw err;
        refused++;
      }
    };
    for (let i = 0; i < 200; i++) probe(real.subarray(0, Math.floor(Math.random() * real.length)));
    for (let i = 0; i < 1500; i++) {
      const b = Buffer.from(real);
      for (let f = 0; f < 1 + (i % 8); f++) {
        const at = Math.floor(Math.random() * b.length);
        b[at]! ^= 1 << Math.floor(Math.random() * 8);
      }
      probe(b);
    }
    for (let i = 0; i < 300; i++) {
      const b = randomBytes(512 + Math.floor(Math.random() * 9000));
      if (i % 2) b.writeUInt32LE(0x061561, 12);
      probe(b);
    }
    assert.equal(answered + refused, 2000);
    assert.ok(refused > 0 && answered > 0);
  });
});
