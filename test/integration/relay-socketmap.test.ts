import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { askSaslauthd } from '../../src/cli/testsaslauthd.js';
import { parseGrantLines } from '../../src/relay/grant-lines.js';
import { fd3Input, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { PrivatePostfix, relayAttempt } from '../helpers/postfix.js';
import { SocketmapClient } from '../helpers/socketmap-client.js';
import { login, makeSite, postmapQuery, relayCli, until } from '../helpers/relay-site.js';

const PROBE = writeProbe();

describe('POP-before-SMTP with the real Postfix over the socketmap', () => {
  const site = makeSite();
  const socketmap = join(site.dir, 'relay.socketmap');
  const cpSocket = join(site.dir, 'checkpassword.sock');
  let d: RunningDaemon;
  let postfix: PrivatePostfix;

  before(async () => {
    d = await startDaemon({
      config: [...site.base, `checkpassword_socket: ${cpSocket}`, `relay_socketmap: ${socketmap}`, `relay_file: ${site.dir}/relayers`,
        'relay_ignore: ::1', 'relay_ttl: 3', 'relay_expire_interval: 1'].join('\n'),
    });
    postfix = PrivatePostfix.start(`socketmap:unix:${socketmap}:relay`);
    await until('Postfix to listen', () => {
      try {
        relayAttempt(postfix.port, '127.0.0.5');
        return true;
      } catch {
        return false;
      }
    });
  });
  after(async () => {
    postfix?.stop();
    await d?.stop();
  });

  test('relay denied, a checkpassword POP login from that address, relay permitted, denied again after expiry', async () => {
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '554', postfix.log());
    assert.equal(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`).code, 1);

    const r = await runCheckpassword(fd3Input('carol', 'carol-pw'), [PROBE], { AUTHMUX_CONFIG: d.configFile, TCPREMOTEIP: '127.0.0.5', TCPLOCALPORT: '110' });
    assert.equal(r.code, 7, r.stderr);
    // The grant is in the store before checkpassword execs the POP session.
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '250', postfix.log());
    assert.deepEqual(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`), { code: 0, out: 'OK' });
    // Another address is still refused.
    assert.equal(relayAttempt(postfix.port, '127.0.0.6'), '554');

    await sleep(4500);
    assert.equal(relayAttempt(postfix.port, '127.0.0.5'), '554');
    assert.equal(postmapQuery('127.0.0.5', `socketmap:unix:${socketmap}:relay`).code, 1);
    // The daemon's expiry timer has taken it out of the store too.
    assert.equal(parseGrantLines(readFileSync(join(site.dir, 'relayers'), 'latin1')).has('127.0.0.5'), false);
  });

  test("Postfix's socketmap client finds an IPv6 grant in any spelling", async () => {
    assert.equal(postmapQuery('2001:db8::5', `socketmap:unix:${socketmap}:relay`).code, 1);
    assert.equal(await login(d, 'imap', '2001:DB8:0:0::5;143'), 'OK');
    await until('the IPv6 grant', () => postmapQuery('2001:db8::5', `socketmap:unix:${socketmap}:relay`).code === 0);
    assert.deepEqual(postmapQuery('2001:0db8:0000:0000:0000:0000:0000:0005', `socketmap:unix:${socketmap}:relay`), { code: 0, out: 'OK' });
  });

  test('an SMTP AUTH login opens no relay; a wrong password opens none', async () => {
    assert.equal(await login(d, 'smtp', '127.0.0.7;2000'), 'OK');
    assert.match(await askSaslauthd(d.socket, ['carol', 'wrong', 'pop3', '', '127.0.0.8;2000']), /^NO/);
    assert.equal(relayAttempt(postfix.port, '127.0.0.7'), '554');
    assert.equal(relayAttempt(postfix.port, '127.0.0.8'), '554');
  });
});

describe('relay policy and the socketmap protocol', () => {
  const site = makeSite();
  const socketmap = join(site.dir, 'relay.socketmap');
  const file = join(site.dir, 'relayers');
  let d: RunningDaemon;
  let config: string;

  before(async () => {
    d = await startDaemon({ config: [...site.base, `relay_socketmap: ${socketmap}`, `relay_file: ${file}`].join('\n') });
    config = d.configFile;
  });
  after(async () => {
    await d?.stop();
  });

  test('POP and IMAP logins with a client address are granted; SMTP, loopback and malformed addresses are not', async () => {
    const c = await SocketmapClient.open(socketmap);
    assert.equal(await login(d, 'imap', '192.0.2.30;143'), 'OK');
    assert.equal(await login(d, 'pop3', '2001:DB8:0:0::7;110'), 'OK');
    assert.equal(await login(d, 'smtp', '192.0.2.31;25'), 'OK');
    assert.equal(await login(d, 'imap', '127.0.0.9;143'), 'OK');
    assert.equal(await login(d, 'imap', 'not-an-ip;143'), 'OK');
    assert.equal(await login(d, 'imap', '192.0.2.300;143'), 'OK');
    await until('the grants', async () => (await c.lookup('192.0.2.30')) === 'OK OK');
    assert.equal(await c.lookup('2001:db8::7'), 'OK OK', 'IPv6 in any spelling');
    assert.equal(await c.lookup('2001:0db8:0000::0007'), 'OK OK');
    assert.equal(await c.lookup('192.0.2.31'), 'NOTFOUND ');
    assert.equal(await c.lookup('127.0.0.9'), 'NOTFOUND ');
    assert.equal(await c.lookup('not-an-ip'), 'NOTFOUND ');
    assert.deepEqual([...parseGrantLines(readFileSync(file, 'latin1')).keys()].sort(), ['192.0.2.30', '2001:db8::7']);
    c.close();
  });

  test('many lookups on one connection, pipelined; malformed netstrings close the connection and nothing else', async () => {
    const c = await SocketmapClient.open(socketmap);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.lookup(i % 2 ? '192.0.2.30' : `198.51.100.${i}`)));
    replies.forEach((r, i) => assert.equal(r, i % 2 ? 'OK OK' : 'NOTFOUND '));
    assert.equal(await c.raw(Buffer.from('5:relay,')), 'PERM request is not "<map> <key>"');
    c.close();
    for (const bad of ['abc,', '9999999:relay x,', '3:abcd', '01:x,', ':relay,']) {
      const b = await SocketmapClient.open(socketmap);
      assert.equal(await b.raw(Buffer.from(bad)), '<closed>', bad);
    }
    const after = await SocketmapClient.open(socketmap);
    assert.equal(await after.lookup('192.0.2.30'), 'OK OK');
    after.close();
  });

  test('authmux relay: add, list, delete, expire, dump on the daemon\'s store, seen by the daemon at once', async () => {
    const c = await SocketmapClient.open(socketmap);
    assert.equal((await relayCli(config, 'add', '203.0.113.9')).code, 0);
    assert.equal(await c.lookup('203.0.113.9'), 'OK OK');
    const old = Math.floor(Date.now() / 1000) - 7200;
    assert.equal((await relayCli(config, 'add', '203.0.113.10', String(old))).code, 0);
    assert.equal(await c.lookup('203.0.113.10'), 'NOTFOUND ', 'a grant older than relay_ttl is not live');
    const list = await relayCli(config, 'list');
    assert.match(list.stdout, /^203\.0\.113\.9 \d+$/m);
    assert.doesNotMatch(list.stdout, /203\.0\.113\.10/);
    assert.match((await relayCli(config, 'dump')).stdout, new RegExp(`^203\\.0\\.113\\.10 ${old}$`, 'm'));
    assert.match((await relayCli(config, 'list', '200')).stdout, /203\.0\.113\.10/);
    assert.equal((await relayCli(config, 'expire')).code, 0);
    assert.doesNotMatch((await relayCli(config, 'dump')).stdout, /203\.0\.113\.10/);
    assert.equal((await relayCli(config, 'delete', '203.0.113.9')).code, 0);
    assert.equal(await c.lookup('203.0.113.9'), 'NOTFOUND ');
    c.close();
  });

  test('a malformed address on the command line is refused and stored nowhere', async () => {
    const before = readFileSync(file, 'latin1');
    for (const bad of ['999.1.1.1', '1.2.3', 'fe80::1%eth0', '192.0.2.1/24', 'x', '', '1.2.3.4 5.6.7.8']) {
      const r = await relayCli(config, 'add', bad);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /not an IPv4 or IPv6 address/);
    }
    assert.equal((await relayCli(config, 'add', '192.0.2.1', 'soon')).code, 2);
    assert.equal(readFileSync(file, 'latin1'), before);
  });
});
