import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { b64, DovecotRawClient } from '../helpers/dovecot-client.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { saslpasswd2 } from '../helpers/sasldb.js';
import { VpopmailDb } from '../helpers/vpopmail-db.js';
import { mkpasswd } from '../helpers/fixtures.js';

const auth = (id: number, mech: string, service = 'smtp', more = '') => `AUTH\t${id}\t${mech}\tservice=${service}\tlip=127.0.0.1\trip=192.0.2.1${more}\n`;
const digest = (password: string, challenge: Buffer) => createHmac('md5', Buffer.from(password, 'latin1')).update(challenge).digest('hex');
/** A password that is itself 32 hex digits: were a digest ever tried as a password, sending it as the digest would pass. */
const HEX_PW = '0123456789abcdef0123456789abcdef';

/** AUTH CRAM-MD5, the challenge decoded; the caller answers it. */
async function challenged(c: DovecotRawClient, id: number, service = 'smtp'): Promise<Buffer> {
  c.send(auth(id, 'CRAM-MD5', service));
  const m = new RegExp(`^CONT\\t${id}\\t(\\S+)$`).exec(await c.line());
  assert.ok(m, 'a CONT with the challenge');
  return Buffer.from(m[1]!, 'base64');
}

async function respond(c: DovecotRawClient, id: number, response: string): Promise<string> {
  c.send(`CONT\t${id}\t${b64(response)}\n`);
  return c.line();
}

describe('CRAM-MD5 on the Dovecot socket, sasldb users', () => {
  const base = tempDir('authmux-cram-');
  const db = join(base, 'sasldb2');
  const socket = join(base, 'run', 'auth');
  let d: RunningDaemon;

  before(async () => {
    saslpasswd2(db, [
      { user: 'dave', realm: 'example.org', password: Buffer.from('dave-pw') },
      { user: 'hex', realm: 'example.org', password: Buffer.from(HEX_PW) },
    ]);
    d = await startDaemon({ args: ['-m', join(base, 'run'), '-a', 'sasldb'], config: `sasldb_path: ${db}\ndovecot_socket: ${socket}\n` });
  });
  after(async () => {
    await d?.stop();
  });

  test('offered after PLAIN and LOGIN, flagged dictionary and active, not plaintext', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      const h = await c.handshake();
      assert.deepEqual(h.filter((l) => l.startsWith('MECH\t')), ['MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext', 'MECH\tCRAM-MD5\tdictionary\tactive']);
    } finally {
      c.close();
    }
    assert.match(d.logs(), /Dovecot auth requests on .* \(PLAIN LOGIN CRAM-MD5\)/);
  });

  test('the challenge is <random.time@host>, new each time; the right digest is OK, a wrong one or an unknown user FAIL', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      const ch1 = await challenged(c, 1);
      const host = hostname().replace(/[.]/g, '\\.');
      assert.match(ch1.toString('latin1'), new RegExp(`^<\\d+\\.\\d+@${host}>$`));
      assert.equal(await respond(c, 1, `dave@example.org ${digest('dave-pw', ch1)}`), 'OK\t1\tuser=dave@example.org');
      const ch2 = await challenged(c, 2);
      assert.notDeepEqual(ch2, ch1);
      // The digest of the last challenge, replayed: refused.
      assert.equal(await respond(c, 2, `dave@example.org ${digest('dave-pw', ch1)}`), 'FAIL\t2\tuser=dave@example.org');
      const ch3 = await challenged(c, 3);
      assert.equal(await respond(c, 3, `dave@example.org ${digest('wrong', ch3)}`), 'FAIL\t3\tuser=dave@example.org');
      // Upper-case hex is the same digest.
      const ch4 = await challenged(c, 4);
      assert.equal(await respond(c, 4, `dave@example.org ${digest('dave-pw', ch4).toUpperCase()}`), 'OK\t4\tuser=dave@example.org');
      const ch5 = await challenged(c, 5);
      assert.equal(await respond(c, 5, `nosuch@example.org ${digest('dave-pw', ch5)}`), 'FAIL\t5\tuser=nosuch@example.org');
      // Not tied to the smtp service: the mechanism says what the response is.
      const ch6 = await challenged(c, 6, 'imap');
      assert.equal(await respond(c, 6, `dave@example.org ${digest('dave-pw', ch6)}`), 'OK\t6\tuser=dave@example.org');
    } finally {
      c.close();
    }
    await d.waitForLog(/auth failure: \[user=dave@example\.org\] \[service=smtp\] .*\[mech=sasldb\/dovecot\] \[reason=challenge response mismatch\]/);
  });

  test('a digest that does not match is never tried as the password, nor the APOP form accepted', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      await challenged(c, 1);
      assert.equal(await respond(c, 1, `hex@example.org ${HEX_PW}`), 'FAIL\t1\tuser=hex@example.org');
      await challenged(c, 2, 'imap');
      assert.equal(await respond(c, 2, `hex@example.org ${HEX_PW}`), 'FAIL\t2\tuser=hex@example.org');
      const ch3 = await challenged(c, 3);
      const apop = createHash('md5').update(ch3).update('dave-pw').digest('hex');
      assert.equal(await respond(c, 3, `dave@example.org ${apop}`), 'FAIL\t3\tuser=dave@example.org');
      // The same account's password over PLAIN still works: the refusals above were the digests'.
      c.send(auth(4, 'PLAIN', 'smtp', `\tresp=${b64(`\0hex@example.org\0${HEX_PW}`)}`));
      assert.equal(await c.line(), 'OK\t4\tuser=hex@example.org');
      const ch5 = await challenged(c, 5);
      assert.equal(await respond(c, 5, `hex@example.org ${digest(HEX_PW, ch5)}`), 'OK\t5\tuser=hex@example.org');
    } finally {
      c.close();
    }
  });

  test('malformed: an initial response, no space, a digest not 32 hex digits, an empty user; the connection goes on', async () => {
    const c = await DovecotRawClient.open(socket);
    try {
      await c.handshake();
      c.send(auth(1, 'CRAM-MD5', 'smtp', `\tresp=${b64('dave@example.org 0123')}`));
      assert.equal(await c.line(), 'FAIL\t1');
      await challenged(c, 2);
      assert.equal(await respond(c, 2, 'dave@example.org'), 'FAIL\t2');
      const ch3 = await challenged(c, 3);
      assert.equal(await respond(c, 3, `dave@example.org ${digest('dave-pw', ch3).slice(1)}`), 'FAIL\t3\tuser=dave@example.org');
      const ch4 = await challenged(c, 4);
      assert.equal(await respond(c, 4, ` ${digest('dave-pw', ch4)}`), 'FAIL\t4');
      const ch5 = await challenged(c, 5);
      assert.equal(await respond(c, 5, `dave@example.org ${digest('dave-pw', ch5)}`), 'OK\t5\tuser=dave@example.org');
    } finally {
      c.close();
    }
  });
});

describe('CRAM-MD5 on the Dovecot socket, vpopmail users (MariaDB)', () => {
  test('with vpopmail_clear_passwords: offered, pw_clear_passwd answers; an account with only a hash cannot pass', async () => {
    const db = await VpopmailDb.create('mysql', 'many-domains', ['example.com']);
    let d: RunningDaemon | undefined;
    try {
      await db.addUsers([
        { name: 'clear', domain: 'example.com', hash: '', clear: 'clear-pw' },
        { name: 'hashed', domain: 'example.com', hash: mkpasswd('sha512crypt', 'hashed-pw') },
      ]);
      const base = tempDir('authmux-cram-vpop-');
      const socket = join(base, 'run', 'auth');
      const conf = ['mech: vpopmail', `vpopmail_sql: ${db.url}`, 'vpopmail_default_domain: example.com', `dovecot_socket: ${socket}`];
      d = await startDaemon({ args: ['-m', join(base, 'run')], config: [...conf, 'vpopmail_clear_passwords: yes'].join('\n') });
      const c = await DovecotRawClient.open(socket);
      try {
        assert.ok((await c.handshake()).includes('MECH\tCRAM-MD5\tdictionary\tactive'));
        const ch1 = await challenged(c, 1);
        assert.equal(await respond(c, 1, `clear@example.com ${digest('clear-pw', ch1)}`), 'OK\t1\tuser=clear@example.com');
        const ch2 = await challenged(c, 2);
        assert.equal(await respond(c, 2, `clear@example.com ${digest('other', ch2)}`), 'FAIL\t2\tuser=clear@example.com');
        const ch3 = await challenged(c, 3);
        assert.equal(await respond(c, 3, `hashed@example.com ${digest('hashed-pw', ch3)}`), 'FAIL\t3\tuser=hashed@example.com');
        c.send(auth(4, 'PLAIN', 'smtp', `\tresp=${b64('\0hashed@example.com\0hashed-pw')}`));
        assert.equal(await c.line(), 'OK\t4\tuser=hashed@example.com');
      } finally {
        c.close();
      }
      await d.stop();
      d = undefined;
      // Without the key the clear column is not read: CRAM-MD5 is not announced.
      d = await startDaemon({ args: ['-m', join(base, 'run')], config: conf.join('\n') });
      const c2 = await DovecotRawClient.open(socket);
      try {
        assert.deepEqual((await c2.handshake()).filter((l) => l.startsWith('MECH\t')), ['MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext']);
      } finally {
        c2.close();
      }
    } finally {
      await d?.stop();
      await db.drop();
    }
  });
});

describe('CRAM-MD5 not offered where the source keeps only hashes', () => {
  test('shadow: no MECH CRAM-MD5, and AUTH CRAM-MD5 is refused without a challenge', async () => {
    const base = tempDir('authmux-cram-shadow-');
    const etc = new EtcTree(join(base, 'root'));
    etc.addUser({ name: 'carol', uid: 4242, home: '/tmp' });
    etc.chpasswd('SHA512', [['carol', 'carol-pw']]);
    const socket = join(base, 'run', 'auth');
    const d = await startDaemon({ args: ['-m', join(base, 'run'), '-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\ndovecot_socket: ${socket}\n` });
    try {
      const c = await DovecotRawClient.open(socket);
      try {
        const h = await c.handshake();
        assert.deepEqual(h.filter((l) => l.startsWith('MECH\t')), ['MECH\tPLAIN\tplaintext', 'MECH\tLOGIN\tplaintext']);
        c.send(auth(1, 'CRAM-MD5'));
        assert.equal(await c.line(), 'FAIL\t1');
      } finally {
        c.close();
      }
      await d.waitForLog(/reason=mechanism CRAM-MD5 not offered/);
    } finally {
      await d.stop();
    }
  });
});
