import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, mkpasswd, tempDir, today } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';

// Passwords set by the real chpasswd (and mkpasswd for bcrypt), checked by the real testsaslauthd.
const USERS: ReadonlyArray<readonly [string, string, string]> = [
  ['yes', 'YESCRYPT', 'yes-pässwörd'],
  ['sha512', 'SHA512', 'sha512-pass'],
  ['sha256', 'SHA256', 'sha256-pass'],
  ['md5', 'MD5', 'md5-pass'],
  ['des', 'DES', 'despass1'],
];

describe('saslauthd -a shadow, driven by the real testsaslauthd', () => {
  let etc: EtcTree;
  let d: RunningDaemon;

  before(async () => {
    etc = new EtcTree(tempDir());
    let uid = 2000;
    for (const [name] of USERS) etc.addUser({ name, uid: uid++ });
    for (const n of ['bcrypt', 'expired', 'pwexpired', 'locked', 'empty', 'alice@example.com']) etc.addUser({ name: n, uid: uid++ });
    for (const [name, method, pass] of USERS) etc.chpasswd(method, [[name, pass]]);
    etc.setHash('bcrypt', mkpasswd('bcrypt', 'bcrypt-pass'));
    etc.chpasswd('YESCRYPT', [['expired', 'expired-pass'], ['pwexpired', 'pwexpired-pass'], ['locked', 'locked-pass'], ['alice@example.com', 'realm-pass']]);
    const day = today();
    etc.setAging('expired', `${day - 10}:0:99999:7::${day - 1}:`);
    etc.setAging('pwexpired', `${day - 100}:0:90:7:::`);
    etc.setHash('locked', '!' + etc.hashOf('locked'));
    etc.setRawHash('empty', '');
    d = await startDaemon({ args: ['-a', 'shadow'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n` });
  });
  after(async () => {
    assert.equal(await d.stop(), 0);
  });

  for (const [name, method, pass] of USERS) {
    test(`${method} hash made by chpasswd: right password OK, wrong password NO`, async () => {
      const ok = await testsaslauthd(d.socket, name, pass);
      assert.equal(ok.stdout, '0: OK "Success."\n');
      assert.equal(ok.code, 0);
      const no = await testsaslauthd(d.socket, name, pass.slice(0, -1) + 'X');
      assert.equal(no.stdout, '0: NO "authentication failed"\n');
      assert.equal(no.code, 255);
    });
  }

  test('bcrypt $2b$ made by mkpasswd', async () => {
    assert.equal((await testsaslauthd(d.socket, 'bcrypt', 'bcrypt-pass')).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'bcrypt', 'bcrypt-pasS')).code, 255);
  });

  const reply = async (fields: string[]) => {
    const r = await rawExchange(d.socket, encodeRequest(fields));
    assert.equal(r.kind, 'reply');
    return r.kind === 'reply' ? replyString(r.bytes) : '';
  };

  test('reply texts are saslauthd\'s, byte for byte', async () => {
    assert.equal(await reply(['sha512', 'sha512-pass', 'imap', '']), 'OK');
    assert.equal(await reply(['sha512', 'nope', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(['nosuchuser', 'x', 'imap', '']), 'NO Invalid username');
    assert.equal(await reply(['expired', 'expired-pass', 'imap', '']), 'NO Account expired');
    assert.equal(await reply(['pwexpired', 'pwexpired-pass', 'imap', '']), 'NO Password expired');
    // a wrong password on an expired account reveals nothing more than a wrong password
    assert.equal(await reply(['expired', 'wrong', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(['locked', 'locked-pass', 'imap', '']), 'NO Incorrect password');
    assert.equal(await reply(['empty', 'anything', 'imap', '']), 'NO Incorrect password');
  });

  test('realm is ignored without -r', async () => {
    assert.equal((await testsaslauthd(d.socket, 'sha512', 'sha512-pass', ['-r', 'example.com', '-s', 'smtp'])).code, 0);
    assert.equal((await testsaslauthd(d.socket, 'alice', 'realm-pass', ['-r', 'example.com'])).code, 255);
  });

  test('failures are logged in saslauthd\'s form, with the client address when sent, never the password', async () => {
    await reply(['sha512', 'Wr0ngPassw0rd', 'smtp', 'ex.org', '198.51.100.9;50123']);
    await d.waitForLog(/auth failure: \[user=sha512\] \[service=smtp\] \[realm=ex\.org\] \[mech=shadow\] \[reason=password mismatch\] \[client=198\.51\.100\.9\]/);
    assert.ok(!d.logs().includes('Wr0ngPassw0rd'));
    assert.ok(!d.logs().includes('sha512-pass'));
  });
});

describe('saslauthd -a shadow -r (realm combining)', () => {
  test('login@realm is looked up when the client sends a realm', async () => {
    const etc = new EtcTree(tempDir());
    etc.addUser({ name: 'alice@example.com', uid: 3000 });
    etc.addUser({ name: 'alice', uid: 3001 });
    etc.chpasswd('SHA512', [['alice@example.com', 'realm-pass'], ['alice', 'bare-pass']]);
    const d = await startDaemon({ args: ['-a', 'shadow', '-r'], config: `passwd_file: ${etc.passwd}\nshadow_file: ${etc.shadow}\n` });
    try {
      assert.equal((await testsaslauthd(d.socket, 'alice', 'realm-pass', ['-r', 'example.com'])).code, 0);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'bare-pass', ['-r', 'example.com'])).code, 255);
      assert.equal((await testsaslauthd(d.socket, 'alice', 'bare-pass')).code, 0);
    } finally {
      await d.stop();
    }
  });
});

describe('saslauthd -a getpwent', () => {
  test('checks the passwd field itself', async () => {
    const etc = new EtcTree(tempDir());
    etc.addUser({ name: 'shadowed', uid: 3100 });
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(etc.passwd, readFileSync(etc.passwd, 'utf8') + `legacy:${mkpasswd('md5crypt', 'legacy-pass')}:3101:3101::/:/bin/sh\n`);
    const d = await startDaemon({ args: ['-a', 'getpwent'], config: `passwd_file: ${etc.passwd}\n` });
    try {
      assert.equal((await testsaslauthd(d.socket, 'legacy', 'legacy-pass')).code, 0);
      assert.equal((await testsaslauthd(d.socket, 'legacy', 'legacy-pasz')).code, 255);
      assert.equal((await testsaslauthd(d.socket, 'shadowed', 'x')).code, 255);
    } finally {
      await d.stop();
    }
  });
});
