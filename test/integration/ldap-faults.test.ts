import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { PEOPLE, PrivateSlapd, READER_DN, READER_PW, SUFFIX } from '../helpers/slapd.js';

const TEMP = 'NO Temporary failure, try again later';

async function reply(socket: string, user: string, password: string): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, 'imap', '']), { timeoutMs: 20_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = process.hrtime.bigint();
  const value = await f();
  return { value, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

/** A server that takes connections and never says a word: a hung slapd, or one behind a firewall that drops replies. */
async function mute(): Promise<{ port: number; close(): Promise<void> }> {
  const held: Socket[] = [];
  const server: Server = createServer((s) => {
    held.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of held) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('-a ldap when the directory fails', () => {
  const slapd = new PrivateSlapd(
    [
      { uid: 'alice', userPassword: 'alice-pw' },
      { uid: 'twin', userPassword: 'twin-pw' },
      { uid: 'twin', ou: 'more', userPassword: 'twin-pw' },
      { uid: 'rita', ou: 'remote', userPassword: 'rita-pw' },
    ],
    // A server-side size limit of one for the reader: the search comes back with one entry and sizeLimitExceeded.
    { acl: `limits dn.exact="${READER_DN}" size=1` },
  );
  const daemons: RunningDaemon[] = [];
  const start = async (args: string[], lines: string[]) => {
    const d = await startDaemon({ args: ['-a', 'ldap', ...args], config: lines.join('\n') });
    daemons.push(d);
    return d;
  };
  before(() => slapd.start());
  after(async () => {
    for (const d of daemons) await d.stop();
    await slapd.stop();
  });

  test('slapd stopped: a temporary failure, at once, a cached success included (ldap_cache_ttl 0); restarted: served again without restarting Authmux', async () => {
    const keys = [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`, `ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`];
    const d = await start(['-c'], keys);
    // With ldap_cache_ttl, a recent success answers without the directory, down or not: the trade-off it makes.
    const windowed = await start(['-c'], [...keys, 'ldap_cache_ttl: 60']);
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
    assert.equal(await reply(windowed.socket, 'alice', 'alice-pw'), 'OK');
    await slapd.stop();
    assert.equal(await reply(windowed.socket, 'alice', 'alice-pw'), 'OK');
    assert.equal(await reply(windowed.socket, 'alice', 'alice-pX'), TEMP);
    const down = await timed(() => Promise.all(Array.from({ length: 20 }, (_, i) => reply(d.socket, 'alice', i % 2 ? 'alice-pw' : 'wrong'))));
    assert.deepEqual(down.value, Array(20).fill(TEMP), 'never "wrong password", never a cached OK while the directory cannot say');
    assert.ok(down.ms < 2000, `20 requests took ${down.ms} ms`);
    await d.waitForLog(/ldap: ldap:\/\/127\.0\.0\.1:\d+\/ unreachable: .*ECONNREFUSED/);
    await d.waitForLog(/auth temporary failure: \[user=alice\] .*\[reason=no LDAP server reachable/);
    await slapd.start();
    let answer = '';
    const end = Date.now() + 5000;
    while (Date.now() < end && (answer = await reply(d.socket, 'alice', 'alice-pw')) !== 'OK') await new Promise((r) => setTimeout(r, 100));
    assert.equal(answer, 'OK');
    assert.equal(await reply(d.socket, 'alice', 'wrong'), 'NO');
    await d.waitForLog(/ldap: ldap:\/\/127\.0\.0\.1:\d+\/ reachable again/);
    assert.equal(d.proc.exitCode, null);
  });

  test('a server that takes the connection and never answers: one request waits ldap_timeout, the next ones go to the next server at once', async () => {
    const hung = await mute();
    try {
      const d = await start([], [`ldap_servers: ldap://127.0.0.1:${hung.port}/ ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`, 'ldap_timeout: 1']);
      const first = await timed(() => reply(d.socket, 'alice', 'alice-pw'));
      assert.equal(first.value, TEMP);
      assert.ok(first.ms >= 900 && first.ms < 3000, `${first.ms} ms`);
      await d.waitForLog(/auth temporary failure: .*\[reason=LDAP search timed out/);
      const next = await timed(() => Promise.all(Array.from({ length: 10 }, () => reply(d.socket, 'alice', 'alice-pw'))));
      assert.deepEqual(next.value, Array(10).fill('OK'));
      assert.ok(next.ms < 900, `${next.ms} ms`);
      // The only server hung: after the first timeout, the others are told to try again without waiting.
      const alone = await start([], [`ldap_servers: ldap://127.0.0.1:${hung.port}/`, `ldap_search_base: ${PEOPLE}`, 'ldap_timeout: 1', 'ldap_start_tls: yes']);
      const probe = await timed(() => reply(alone.socket, 'alice', 'alice-pw'));
      assert.equal(probe.value, TEMP);
      assert.ok(probe.ms >= 900, `${probe.ms} ms`);
      await alone.waitForLog(/unreachable: StartTLS failed: StartTLS: no answer within 1 s/);
      const fast = await timed(() => Promise.all(Array.from({ length: 10 }, () => reply(alone.socket, 'alice', 'alice-pw'))));
      assert.deepEqual(fast.value, Array(10).fill(TEMP));
      assert.ok(fast.ms < 500, `${fast.ms} ms`);
      // With ldap_bind_dn the hang shows at the service bind: that server is skipped as well, and the next one answers.
      const bound = await start([], [`ldap_servers: ldap://127.0.0.1:${hung.port}/ ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`, 'ldap_timeout: 1', `ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`]);
      assert.equal((await reply(bound.socket, 'alice', 'alice-pw')), 'OK', 'the next server answered the same request');
      const after = await timed(() => Promise.all(Array.from({ length: 10 }, () => reply(bound.socket, 'alice', 'alice-pw'))));
      assert.deepEqual(after.value, Array(10).fill('OK'));
      assert.ok(after.ms < 900, `${after.ms} ms`);
    } finally {
      await hung.close();
    }
  });

  test('TLS failures are temporary failures, never wrong passwords: a certificate from another CA, over ldaps:// and StartTLS', async () => {
    const ldaps = await start([], [`ldap_servers: ${slapd.ldapsUri}`, `ldap_search_base: ${PEOPLE}`, `ldap_tls_cacert_file: ${slapd.pki.otherCaCert}`]);
    assert.equal(await reply(ldaps.socket, 'alice', 'alice-pw'), TEMP);
    await ldaps.waitForLog(/unreachable: .*(certificate|UNABLE_TO_VERIFY)/i);
    const starttls = await start([], [`ldap_servers: ldap://localhost:${slapd.port}/`, 'ldap_start_tls: yes', `ldap_search_base: ${PEOPLE}`, `ldap_tls_cacert_file: ${slapd.pki.otherCaCert}`]);
    assert.equal(await reply(starttls.socket, 'alice', 'alice-pw'), TEMP);
    await starttls.waitForLog(/unreachable: StartTLS failed: .*(certificate|UNABLE_TO_VERIFY)/i);
    // With checking off (and a warning at start), the same servers are used.
    const unchecked = await start([], [`ldap_servers: ${slapd.ldapsUri}`, `ldap_search_base: ${PEOPLE}`, `ldap_tls_cacert_file: ${slapd.pki.otherCaCert}`, 'ldap_tls_check_peer: no']);
    assert.equal(await reply(unchecked.socket, 'alice', 'alice-pw'), 'OK');
    await unchecked.waitForLog(/ldap_tls_check_peer: no: the LDAP servers' certificates are not checked/);
  });

  test('a server that asks for a client certificate: refused without ldap_tls_cert, served with it', async () => {
    const strict = new PrivateSlapd([{ uid: 'alice', userPassword: 'alice-pw' }], { global: 'TLSVerifyClient demand' });
    await strict.start();
    try {
      const keys = [`ldap_servers: ldaps://localhost:${strict.tlsPort}/`, `ldap_search_base: ${PEOPLE}`, `ldap_tls_cacert_file: ${strict.pki.caCert}`];
      const without = await start([], keys);
      assert.equal(await reply(without.socket, 'alice', 'alice-pw'), TEMP);
      const withCert = await start([], [...keys, `ldap_tls_cert: ${strict.pki.clientCert}`, `ldap_tls_key: ${strict.pki.clientKey}`, 'ldap_tls_ciphers: ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384']);
      assert.equal(await reply(withCert.socket, 'alice', 'alice-pw'), 'OK');
      assert.equal(await reply(withCert.socket, 'alice', 'alice-pX'), 'NO');
    } finally {
      await strict.stop();
    }
  });

  test('ldap_bind_dn refused by the directory: a temporary failure for everyone, never a wrong password', async () => {
    const d = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`, `ldap_bind_dn: ${READER_DN}`, 'ldap_password: not-the-password']);
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), TEMP);
    assert.equal(await reply(d.socket, 'alice', 'wrong'), TEMP);
    await d.waitForLog(/the directory refused ldap_bind_dn cn=reader,dc=example,dc=com: invalidCredentials \(49\)/);
  });

  test('a filter that matches two entries is refused (try again, logged), never bound to the first', async () => {
    const d = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`]);
    assert.equal(await reply(d.socket, 'twin', 'twin-pw'), TEMP);
    // Also when the server's own size limit hides the second entry: its sizeLimitExceeded is no success.
    const limited = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`, `ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`]);
    assert.equal(await reply(limited.socket, 'twin', 'twin-pw'), TEMP);
    assert.equal(await reply(limited.socket, 'alice', 'alice-pw'), 'OK', 'one entry under the limit is served');
    await d.waitForLog(/\[reason=\(uid=twin\) matches several entries under "dc=example,dc=com"; refused until only one does\]/);
  });

  test('search references: ignored by default; followed with ldap_referrals: yes; a loop is a temporary failure', async () => {
    // Under ou=people: a reference to ou=remote (where rita is), and under ou=loop one back to ou=loop itself.
    slapd.add(
      [
        `dn: ou=elsewhere,${PEOPLE}\nobjectClass: referral\nobjectClass: extensibleObject\nou: elsewhere\nref: ldap://127.0.0.1:${slapd.port}/ou=remote,${SUFFIX}\n`,
        `dn: ou=loop,${SUFFIX}\nobjectClass: organizationalUnit\nou: loop\n`,
        `dn: ou=again,ou=loop,${SUFFIX}\nobjectClass: referral\nobjectClass: extensibleObject\nou: again\nref: ldap://127.0.0.1:${slapd.port}/ou=loop,${SUFFIX}\n`,
      ].join('\n'),
      true,
    );
    const off = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`]);
    assert.equal(await reply(off.socket, 'alice', 'alice-pw'), 'OK');
    assert.equal(await reply(off.socket, 'rita', 'rita-pw'), 'NO');
    const on = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${PEOPLE}`, 'ldap_referrals: yes']);
    assert.equal(await reply(on.socket, 'rita', 'rita-pw'), 'OK');
    assert.equal(await reply(on.socket, 'rita', 'rita-pX'), 'NO');
    assert.equal(await reply(on.socket, 'alice', 'alice-pw'), 'OK');
    const loop = await start([], [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ou=loop,${SUFFIX}`, 'ldap_referrals: yes']);
    assert.equal(await reply(loop.socket, 'alice', 'alice-pw'), TEMP);
    await loop.waitForLog(/\[reason=LDAP referral loop at ldap:\/\/127\.0\.0\.1:\d+\/ou=loop,dc=example,dc=com/);
  });
});
