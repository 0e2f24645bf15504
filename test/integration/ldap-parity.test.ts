import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { startRealSaslauthd, type RealSaslauthd } from '../helpers/real-saslauthd.js';
import { PEOPLE, PrivateSlapd, PWREADER_DN, PWREADER_PW, READER_DN, READER_PW, slappasswd, SUFFIX } from '../helpers/slapd.js';

async function reply(socket: string, user: string, password: string, realm = ''): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, 'imap', realm]), { timeoutMs: 20_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

/** The real saslauthd -a ldap with the same keys (its -O names the file). */
function realSaslauthd(config: string, extra: string[] = [], workers = 2): Promise<RealSaslauthd> {
  const file = join(tempDir('authmux-real-ldap-conf-'), 'saslauthd.conf');
  writeFileSync(file, `${config}\n`);
  return startRealSaslauthd('ldap', ['-O', file, ...extra], workers);
}

describe('replies beside the real saslauthd -a ldap, on the same slapd', () => {
  const slapd = new PrivateSlapd([
    { uid: 'alice', userPassword: slappasswd('{SSHA}', 'alice-pw') },
    { uid: 'bob', userPassword: 'bob-pw' },
    { uid: 'frank', userPassword: slappasswd('{CRYPT}', 'frank-pw') },
    { uid: 'hugo', userPassword: slappasswd('{SSHA}', 'hügo-pässwörd') },
    { uid: 'dave', ou: 'example.org', userPassword: 'dave-org' },
    { uid: 'dave', ou: 'example.net', userPassword: 'dave-net' },
    { uid: 'fb', userPassword: 'fb-old' },
  ], { ldif: `dn: cn=mail,${SUFFIX}\nobjectClass: groupOfUniqueNames\ncn: mail\nuniqueMember: uid=alice,${PEOPLE}\n` });
  const stops: Array<() => Promise<unknown>> = [];
  before(() => slapd.start());
  after(async () => {
    for (const s of stops) await s();
    await slapd.stop();
  });

  /** Both daemons on the same keys and flags, and the replies each gives to the same requests. */
  async function both(config: string, cases: ReadonlyArray<readonly [string, string, string?]>, flags: string[] = []): Promise<{ ours: string[]; theirs: string[]; authmux: RunningDaemon }> {
    const real = await realSaslauthd(config, flags);
    stops.push(real.stop);
    const authmux = await startDaemon({ args: ['-a', 'ldap', ...flags], config });
    stops.push(() => authmux.stop());
    const ours: string[] = [];
    const theirs: string[] = [];
    for (const [u, p, realm] of cases) {
      ours.push(await reply(authmux.socket, u, p, realm));
      theirs.push(await reply(real.socket, u, p, realm));
    }
    return { ours, theirs, authmux };
  }

  test('bind: success, wrong password, unknown user, filter syntax in the login, UTF-8: byte for byte', async () => {
    const config = [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`, `ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`].join('\n');
    const cases = [['alice', 'alice-pw'], ['alice', 'alice-pX'], ['bob', 'bob-pw'], ['nobody', 'x'], ['*', 'alice-pw'], ['al*', 'alice-pw'], ['*)(uid=*', 'bob-pw'], ['hugo', 'hügo-pässwörd'], ['hugo', 'hugo-passwort']] as const;
    const { ours, theirs } = await both(config, cases);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours, ['OK', 'NO', 'OK', 'NO', 'NO', 'NO', 'NO', 'OK', 'NO']);
  });

  test('custom: {SSHA}, {CRYPT} and clear text values read as ldap_bind_dn', async () => {
    const config = [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`, 'ldap_auth_method: custom', `ldap_bind_dn: ${PWREADER_DN}`, `ldap_password: ${PWREADER_PW}`].join('\n');
    const { ours, theirs } = await both(config, [['alice', 'alice-pw'], ['alice', 'alice-pX'], ['frank', 'frank-pw'], ['frank', 'frank-pX'], ['bob', 'bob-pw'], ['bob', 'bob-p'], ['nobody', 'x']]);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours, ['OK', 'NO', 'OK', 'NO', 'OK', 'NO', 'NO']);
  });

  test('-r with %U and %d, and a group check', async () => {
    const config = [`ldap_servers: ${slapd.uri}`, 'ldap_search_base: ou=%d,dc=example,dc=com', 'ldap_filter: (uid=%U)'].join('\n');
    const { ours, theirs } = await both(config, [['dave', 'dave-org', 'example.org'], ['dave', 'dave-net', 'example.net'], ['dave', 'dave-org', 'example.net'], ['dave@example.org', 'dave-org', '']], ['-r']);
    assert.deepEqual(ours, theirs);
    assert.deepEqual(ours, ['OK', 'OK', 'NO', 'OK']);
    const group = [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`, `ldap_group_dn: cn=mail,${SUFFIX}`].join('\n');
    const g = await both(group, [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['bob', 'bob-pX']]);
    assert.deepEqual(g.ours, g.theirs);
    assert.deepEqual(g.ours, ['OK', 'NO', 'NO']);
  });

  test('where Authmux differs on purpose: cyrus-sasl #550 (fastbind) and a directory that is down', async () => {
    const config = [`ldap_servers: ${slapd.uri}`, 'ldap_auth_method: fastbind', `ldap_filter: uid=%u,${PEOPLE}`].join('\n');
    // One worker, so that the second request meets the connection the first one bound.
    const real = await realSaslauthd(config, [], 1);
    stops.push(real.stop);
    const authmux = await startDaemon({ args: ['-a', 'ldap'], config });
    stops.push(() => authmux.stop());
    assert.equal(await reply(real.socket, 'fb', 'fb-old'), 'OK');
    assert.equal(await reply(authmux.socket, 'fb', 'fb-old'), 'OK');
    slapd.setPassword(slapd.dnOf('fb'), 'fb-new');
    // saslauthd's connection is still bound as fb with the old password, and it believes it (observed).
    assert.equal(await reply(real.socket, 'fb', 'fb-old'), 'OK', 'the real saslauthd still takes the old password');
    assert.equal(await reply(authmux.socket, 'fb', 'fb-old'), 'NO', 'Authmux asks the directory every time');
    assert.equal(await reply(authmux.socket, 'fb', 'fb-new'), 'OK');
    await slapd.stop();
    try {
      assert.equal(await reply(real.socket, 'fb', 'fb-new'), 'NO', 'saslauthd: a plain refusal');
      assert.equal(await reply(authmux.socket, 'fb', 'fb-new'), 'NO Temporary failure, try again later');
    } finally {
      await slapd.start();
    }
  });
});
