import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLdapBackend } from '../../src/backends/ldap/backend.js';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { encodeRequest } from '../../src/protocol/saslauthd.js';
import { confFile } from '../helpers/config-files.js';
import { fd3Input, probeFacts, runCheckpassword, writeProbe } from '../helpers/checkpassword.js';
import { startDaemon, testsaslauthd, type RunningDaemon } from '../helpers/daemon.js';
import { EtcTree, tempDir } from '../helpers/fixtures.js';
import { rawExchange, replyString } from '../helpers/raw-client.js';
import { saslpasswd2 } from '../helpers/sasldb.js';
import { PEOPLE, PrivateSlapd, PWREADER_DN, PWREADER_PW, READER_DN, READER_PW, slappasswd, SUFFIX } from '../helpers/slapd.js';

async function reply(socket: string, user: string, password: string, realm = '', service = 'imap'): Promise<string> {
  const r = await rawExchange(socket, encodeRequest([user, password, service, realm]), { timeoutMs: 20_000 });
  return r.kind === 'reply' ? replyString(r.bytes) : `(${r.kind})`;
}

const GROUPS = `ou=groups,${SUFFIX}`;

/**
 * The directory every test here asks: one slapd, users with every password
 * form slapd and slappasswd make, users of two realms, groups, an OU whose
 * change stamps nobody may read, and entries for the injection attempts.
 */
function directory(): PrivateSlapd {
  const users = [
    { uid: 'alice', userPassword: slappasswd('{SSHA}', 'alice-pw') },
    { uid: 'bob', userPassword: 'bob-pw' },
    { uid: 'carol', userPassword: slappasswd('{SHA}', 'carol-pw') },
    { uid: 'dora', userPassword: slappasswd('{SMD5}', 'dora-pw') },
    { uid: 'erin', userPassword: slappasswd('{MD5}', 'erin-pw') },
    { uid: 'frank', userPassword: slappasswd('{CRYPT}', 'frank-pw') },
    { uid: 'gina', userPassword: slappasswd('{SSHA512}', 'gina-pw') },
    { uid: 'hugo', userPassword: slappasswd('{SSHA}', 'hügo-pässwörd') },
    { uid: 'o,k', userPassword: 'comma-pw' },
    { uid: 'zoë', userPassword: 'zoë-pw' },
    { uid: 'dave', ou: 'example.org', userPassword: 'dave-org' },
    { uid: 'dave', ou: 'example.net', userPassword: 'dave-net' },
    { uid: 'hank', ou: 'hidden', userPassword: 'hank-pw' },
  ];
  const extra = `dn: ou=staff,${PEOPLE}
objectClass: organizationalUnit
ou: staff

dn: uid=svc,ou=staff,${PEOPLE}
objectClass: inetOrgPerson
uid: svc
cn: svc
sn: Service
userPassword: svc-pw

dn: ${GROUPS}
objectClass: organizationalUnit
ou: groups

dn: cn=mail,${GROUPS}
objectClass: groupOfUniqueNames
cn: mail
uniqueMember: uid=alice,${PEOPLE}
uniqueMember: uid=carol,${PEOPLE}

dn: cn=imap,${GROUPS}
objectClass: groupOfNames
cn: imap
member: uid=bob,${PEOPLE}
`;
  // ou=hidden: the directory shows no change stamps there, as some ACLs do.
  return new PrivateSlapd(users, { ldif: extra, acl: `access to dn.subtree="ou=hidden,${SUFFIX}" attrs=entryCSN,modifyTimestamp by * none` });
}

describe('-a ldap against a real slapd', () => {
  const slapd = directory();
  const conf = (...lines: string[]) => [`ldap_servers: ${slapd.uri}`, `ldap_search_base: ${SUFFIX}`, ...lines].join('\n');
  const daemons: RunningDaemon[] = [];
  const start = async (args: string[], config: string) => {
    const d = await startDaemon({ args: ['-a', 'ldap', ...args], config });
    daemons.push(d);
    return d;
  };
  before(() => slapd.start());
  after(async () => {
    for (const d of daemons) await d.stop();
    await slapd.stop();
  });

  describe('bind: search as ldap_bind_dn, then bind as the user', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await start([], conf(`ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`));
    });

    test('right and wrong passwords, unknown users, through Cyrus\'s testsaslauthd; replies are saslauthd\'s (OK, bare NO)', async () => {
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pw')).stdout, '0: OK "Success."\n');
      assert.equal((await testsaslauthd(d.socket, 'alice', 'alice-pX')).stdout, '0: NO "authentication failed"\n');
      assert.equal(await reply(d.socket, 'bob', 'bob-pw'), 'OK');
      assert.equal(await reply(d.socket, 'hugo', 'hügo-pässwörd'), 'OK', 'UTF-8 passwords go to the bind as they are');
      assert.equal(await reply(d.socket, 'zoë', 'zoë-pw'), 'OK', 'and UTF-8 logins into the filter');
      assert.equal(await reply(d.socket, 'zoe', 'zoë-pw'), 'NO');
      // Latin-1 bytes are no LDAP string: no entry is looked for with them.
      const latin1 = await rawExchange(d.socket, encodeRequest([Buffer.from('zoë', 'latin1'), 'zoë-pw', 'imap', '']));
      assert.equal(latin1.kind === 'reply' && replyString(latin1.bytes), 'NO');
      assert.equal(await reply(d.socket, 'bob', 'bob-pX'), 'NO');
      assert.equal(await reply(d.socket, 'nobody', 'x'), 'NO');
      await d.waitForLog(/auth failure: \[user=nobody\] \[service=imap\] \[realm=\] \[mech=ldap\] \[reason=no entry matches \(uid=nobody\)/);
      await d.waitForLog(/\[user=bob\] .*\[reason=bind as uid=bob,ou=people,dc=example,dc=com refused: invalidCredentials \(49\)/);
    });

    test('filter injection: logins made of filter syntax match nothing, whatever password goes with them', async () => {
      for (const login of ['*', '*)(uid=*', 'al*', '*)(|(uid=*', 'alice)(uid=*', 'alice)(|(objectClass=*)', '\\2a', 'alice\\29']) {
        for (const password of ['alice-pw', 'bob-pw']) assert.equal(await reply(d.socket, login, password), 'NO', `${login} / ${password}`);
      }
      // The values travelled escaped, as values: the search asked for a uid of that very text.
      await d.waitForLog(/reason=no entry matches \(uid=\\\\2a\\\\29\\\\28uid=\\\\2a\)/);
      // And a login that is only a value of an entry still finds it.
      assert.equal(await reply(d.socket, 'o,k', 'comma-pw'), 'OK');
    });

    test('a password changed with ldappasswd: the old one is refused at once, the new one works', async () => {
      assert.equal(await reply(d.socket, 'bob', 'bob-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('bob'), 'bob-new');
      assert.equal(await reply(d.socket, 'bob', 'bob-pw'), 'NO');
      assert.equal(await reply(d.socket, 'bob', 'bob-new'), 'OK');
      slapd.setPassword(slapd.dnOf('bob'), 'bob-pw');
      assert.equal(await reply(d.socket, 'bob', 'bob-new'), 'NO');
    });

    test('the same user and password many times at once: each is asked of the directory', async () => {
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => reply(d.socket, i % 2 ? 'alice' : 'bob', i % 4 < 2 ? (i % 2 ? 'alice-pw' : 'bob-pw') : 'wrong')));
      assert.deepEqual(all, Array.from({ length: 40 }, (_, i) => (i % 4 < 2 ? 'OK' : 'NO')));
    });
  });

  test('the empty password is refused before any bind, though this slapd takes a DN with no password as anonymous', async () => {
    // The attack is real on this server: ldapwhoami binds "as" alice with no password.
    const who = execFileSync('ldapwhoami', ['-x', '-H', slapd.uri, '-D', slapd.dnOf('alice'), '-w', '']).toString().trim();
    assert.equal(who, 'anonymous');
    // Every front door refuses an empty password first; the backend refuses it again, for whatever calls it next.
    for (const method of ['bind', 'fastbind'] as const) {
      const config = loadConfig({ file: confFile(`mech: ldap\n${conf(`ldap_auth_method: ${method}`, `ldap_filter: ${method === 'bind' ? '(uid=%u)' : `uid=%u,${PEOPLE}`}`)}\n`), env: {} });
      const backend = createLdapBackend({ config: config.ldap!, workers: 1, log: createLogger({ target: { kind: 'stderr' }, format: 'text', verbose: false, ident: 'test' }) });
      const req = { login: 'alice', realm: '', service: 'imap' };
      assert.deepEqual(await backend.verify!(req, Buffer.alloc(0), {}), { kind: 'fail', code: 'bad_password', reason: 'empty password' }, method);
      assert.deepEqual(await backend.verify!({ ...req }, Buffer.from('alice-pw'), {}), { kind: 'ok' }, method);
      // What userdb lookups and the checkpassword program are told: the account exists, and no secret.
      const found = await backend.lookup({ ...req });
      assert.equal(found?.secret, '*', method);
      assert.equal(found?.user, 'alice');
      assert.equal(await backend.lookup({ ...req, login: 'nobody' }), undefined, method);
      await backend.close?.();
    }
    const base = tempDir('authmux-ldap-cp-');
    chmodSync(base, 0o755);
    const etc = new EtcTree(join(base, 'root'));
    const home = join(base, 'vmail');
    mkdirSync(home);
    chownSync(home, 4300, 4300);
    etc.addUser({ name: 'vmail', uid: 4300, home });
    const config = join(base, 'cp.conf');
    writeFileSync(config, `mech: ldap\n${conf()}\npasswd_file: ${etc.passwd}\nvirtual_user: vmail\nvirtual_home: ${base}/mail/%d/%u\n`);
    mkdirSync(join(base, 'mail/example.com/alice'), { recursive: true });
    chownSync(join(base, 'mail/example.com/alice'), 4300, 4300);
    const probe = writeProbe();
    const env = { AUTHMUX_CONFIG: config };
    const empty = await runCheckpassword(fd3Input('alice@example.com', ''), [probe], env);
    assert.equal(empty.code, 1, empty.stderr);
    assert.equal(empty.stdout, '', 'the next program never ran');
    const fastbind = join(base, 'fb.conf');
    writeFileSync(fastbind, `mech: ldap\nldap_servers: ${slapd.uri}\nldap_auth_method: fastbind\nldap_filter: uid=%U,${PEOPLE}\npasswd_file: ${etc.passwd}\nvirtual_user: vmail\nvirtual_home: ${base}/mail/%d/%u\n`);
    assert.equal((await runCheckpassword(fd3Input('alice@example.com', ''), [probe], { AUTHMUX_CONFIG: fastbind })).code, 1);
    // The right password does run the next program, as the virtual owner.
    const ok = await runCheckpassword(fd3Input('alice@example.com', 'alice-pw'), [probe], { AUTHMUX_CONFIG: fastbind });
    assert.equal(ok.code, 7, ok.stderr);
    assert.equal(probeFacts(ok.stdout).get('uid'), '4300 gid 4300 groups 4300');
  });

  describe('the credential cache (-c)', () => {
    const keys = [`ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`, 'ldap_group_dn: cn=mail,ou=groups,dc=example,dc=com'];
    let d: RunningDaemon;
    let windowed: RunningDaemon;
    before(async () => {
      slapd.modify(`dn: cn=mail,${GROUPS}\nchangetype: modify\nadd: uniqueMember\nuniqueMember: uid=hank,ou=hidden,${SUFFIX}\nuniqueMember: uid=gina,${PEOPLE}\n`);
      d = await start(['-c'], conf(...keys));
      windowed = await start(['-c'], conf(...keys, 'ldap_cache_ttl: 2'));
    });

    test('a cached success stands only while the entry is unchanged: ldappasswd makes the old password fail at once', async () => {
      assert.equal(await reply(d.socket, 'carol', 'carol-pw'), 'OK');
      assert.equal(await reply(d.socket, 'carol', 'carol-pw'), 'OK');
      await d.waitForLog(/auth success: \[user=carol\].*cached/);
      slapd.setPassword(slapd.dnOf('carol'), 'carol-new');
      assert.equal(await reply(d.socket, 'carol', 'carol-pw'), 'NO');
      assert.equal(await reply(d.socket, 'carol', 'carol-new'), 'OK');
      slapd.setPassword(slapd.dnOf('carol'), 'carol-pw');
      assert.equal(await reply(d.socket, 'carol', 'carol-new'), 'NO');
    });

    test('a user taken out of the group is refused at once, cached success or not', async () => {
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
      slapd.modify(`dn: cn=mail,${GROUPS}\nchangetype: modify\ndelete: uniqueMember\nuniqueMember: uid=alice,${PEOPLE}\n`);
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'NO');
      slapd.modify(`dn: cn=mail,${GROUPS}\nchangetype: modify\nadd: uniqueMember\nuniqueMember: uid=alice,${PEOPLE}\n`);
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
    });

    test('where the directory shows no change stamp, nothing is cached by default', async () => {
      assert.equal(await reply(d.socket, 'hank', 'hank-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('hank', 'hidden'), 'hank-new');
      assert.equal(await reply(d.socket, 'hank', 'hank-pw'), 'NO');
      assert.equal(await reply(d.socket, 'hank', 'hank-new'), 'OK');
      slapd.setPassword(slapd.dnOf('hank', 'hidden'), 'hank-pw');
    });

    test('ldap_cache_ttl: 2: a success answers alone for 2 s (an old password too: the trade-off), then only while the stamp holds', async () => {
      assert.equal(await reply(windowed.socket, 'gina', 'gina-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('gina'), 'gina-new');
      assert.equal(await reply(windowed.socket, 'gina', 'gina-pw'), 'OK', 'within the window the directory is not asked');
      await sleep(2100);
      assert.equal(await reply(windowed.socket, 'gina', 'gina-pw'), 'NO', 'after it, the changed stamp drops the entry');
      assert.equal(await reply(windowed.socket, 'gina', 'gina-new'), 'OK');
      // A mismatch is never answered from the cache: the new password works at once, inside the window too.
      assert.equal(await reply(windowed.socket, 'hank', 'hank-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('hank', 'hidden'), 'hank-new');
      assert.equal(await reply(windowed.socket, 'hank', 'hank-new'), 'OK');
      // No stamp to check for hank: his entry ends with the window.
      slapd.setPassword(slapd.dnOf('hank', 'hidden'), 'hank-3rd');
      await sleep(2100);
      assert.equal(await reply(windowed.socket, 'hank', 'hank-new'), 'NO');
      slapd.setPassword(slapd.dnOf('gina'), 'gina-pw');
      slapd.setPassword(slapd.dnOf('hank', 'hidden'), 'hank-pw');
    });
  });

  describe('fastbind: a bind to the DN the filter makes, no search', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await start(['-c'], [`ldap_servers: ${slapd.uri}`, 'ldap_auth_method: fastbind', `ldap_filter: uid=%u,${PEOPLE}`].join('\n'));
    });

    test('right, wrong and unknown', async () => {
      assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
      assert.equal(await reply(d.socket, 'alice', 'alice-pX'), 'NO');
      assert.equal(await reply(d.socket, 'nobody', 'x'), 'NO');
    });

    test('DN injection: a login with DN syntax stays one value of the RDN', async () => {
      // Unescaped, "svc,ou=staff" would make uid=svc,ou=staff,ou=people,... and bind as that account.
      assert.equal(await reply(d.socket, 'svc,ou=staff', 'svc-pw'), 'NO');
      assert.equal(await reply(d.socket, 'svc+cn=x,ou=staff', 'svc-pw'), 'NO');
      await d.waitForLog(/bind as uid=svc\\\\,ou\\\\=staff,ou=people,dc=example,dc=com refused/);
      // Escaped, a uid that holds a comma is still found.
      assert.equal(await reply(d.socket, 'o,k', 'comma-pw'), 'OK');
    });

    test('cyrus-sasl #550: after ldappasswd the old password is refused at once, the cache on', async () => {
      assert.equal(await reply(d.socket, 'dora', 'dora-pw'), 'OK');
      assert.equal(await reply(d.socket, 'dora', 'dora-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('dora'), 'dora-new');
      assert.equal(await reply(d.socket, 'dora', 'dora-pw'), 'NO');
      assert.equal(await reply(d.socket, 'dora', 'dora-new'), 'OK');
    });
  });

  describe('custom: the password attribute read as ldap_bind_dn and compared here', () => {
    let d: RunningDaemon;
    before(async () => {
      d = await start(['-c'], conf('ldap_auth_method: custom', `ldap_bind_dn: ${PWREADER_DN}`, `ldap_password: ${PWREADER_PW}`));
    });

    test('{SSHA} {SHA} {SMD5} {MD5} {CRYPT} {SSHA512} and clear text, each as slappasswd writes it', async () => {
      const users: Array<[string, string]> = [['alice', 'alice-pw'], ['bob', 'bob-pw'], ['carol', 'carol-pw'], ['dora', 'dora-new'], ['erin', 'erin-pw'], ['frank', 'frank-pw'], ['gina', 'gina-pw'], ['hugo', 'hügo-pässwörd']];
      slapd.setPassword(slapd.dnOf('dora'), 'dora-new');
      for (const [u, p] of users) {
        assert.equal(await reply(d.socket, u, p), 'OK', u);
        assert.equal(await reply(d.socket, u, `${p}x`), 'NO', u);
        assert.equal(await reply(d.socket, u, p.slice(0, -1)), 'NO', u);
      }
      assert.equal(await reply(d.socket, 'nobody', 'x'), 'NO');
    });

    test('a changed password counts at the next request, the cache on', async () => {
      assert.equal(await reply(d.socket, 'erin', 'erin-pw'), 'OK');
      assert.equal(await reply(d.socket, 'erin', 'erin-pw'), 'OK');
      slapd.setPassword(slapd.dnOf('erin'), 'erin-new');
      assert.equal(await reply(d.socket, 'erin', 'erin-pw'), 'NO');
      assert.equal(await reply(d.socket, 'erin', 'erin-new'), 'OK');
    });

    test('read anonymously, where the ACL hides userPassword: nobody gets in', async () => {
      const anon = await start([], conf('ldap_auth_method: custom'));
      assert.equal(await reply(anon.socket, 'bob', 'bob-pw'), 'NO');
      assert.equal(await reply(anon.socket, 'bob', ''), 'NO NULL password received');
    });
  });

  describe('realms and filter tokens (-r)', () => {
    test('%U and %d: the same name in two realms, each with its own password', async () => {
      const d = await start(['-r'], [`ldap_servers: ${slapd.uri}`, 'ldap_search_base: ou=%d,dc=example,dc=com', 'ldap_filter: (uid=%U)'].join('\n'));
      assert.equal(await reply(d.socket, 'dave', 'dave-org', 'example.org'), 'OK');
      assert.equal(await reply(d.socket, 'dave', 'dave-net', 'example.net'), 'OK');
      assert.equal(await reply(d.socket, 'dave', 'dave-org', 'example.net'), 'NO');
      assert.equal(await reply(d.socket, 'dave', 'dave-org'), 'NO', 'no realm: %d is empty, no such OU');
      // A realm cannot climb out of its RDN either.
      assert.equal(await reply(d.socket, 'svc', 'svc-pw', 'x,ou=staff,ou=people'), 'NO');
      await d.waitForLog(/auth success: \[user=dave@example.org\] \[service=imap\] \[realm=example.org\]/);
    });

    test('%1 and %2, ldap_default_realm for a request without one, and %s', async () => {
      const d = await start([], [`ldap_servers: ${slapd.uri}`, 'ldap_search_base: ou=%2.%1,dc=example,dc=com', 'ldap_filter: (&(uid=%U)(!(description=%s)))', 'ldap_default_realm: example.net'].join('\n'));
      assert.equal(await reply(d.socket, 'dave', 'dave-net'), 'OK');
      assert.equal(await reply(d.socket, 'dave', 'dave-org', 'example.org'), 'OK');
      assert.equal(await reply(d.socket, 'dave@example.org', 'dave-org'), 'OK', 'the login\'s own domain before the realm');
      slapd.modify(`dn: uid=dave,ou=example.net,${SUFFIX}\nchangetype: modify\nadd: description\ndescription: pop3\n`);
      assert.equal(await reply(d.socket, 'dave', 'dave-net', '', 'pop3'), 'NO', '%s: the filter refuses pop3 for him');
      assert.equal(await reply(d.socket, 'dave', 'dave-net', '', 'imap'), 'OK');
    });
  });

  describe('group checks', () => {
    test('attr: ldap_group_dn\'s uniqueMember must hold the user\'s DN', async () => {
      const d = await start([], conf('ldap_group_dn: cn=mail,ou=groups,dc=example,dc=com', 'ldap_group_attr: uniqueMember'));
      assert.equal(await reply(d.socket, 'carol', 'carol-pw'), 'OK');
      assert.equal(await reply(d.socket, 'bob', 'bob-pw'), 'NO');
      assert.equal(await reply(d.socket, 'bob', 'bob-pX'), 'NO');
      await d.waitForLog(/\[user=bob\] .*\[reason=not a member of cn=mail,ou=groups,dc=example,dc=com\]/);
    });

    test('filter: a search with %D finds a group the user is in', async () => {
      const d = await start([], conf('ldap_group_match_method: filter', 'ldap_group_filter: (&(cn=%s)(member=%D))', `ldap_group_search_base: ${GROUPS}`, 'ldap_group_scope: one'));
      assert.equal(await reply(d.socket, 'bob', 'bob-pw', '', 'imap'), 'OK');
      assert.equal(await reply(d.socket, 'bob', 'bob-pw', '', 'pop3'), 'NO', 'no pop3 group holds him');
      assert.equal(await reply(d.socket, 'carol', 'carol-pw', '', 'imap'), 'NO');
    });
  });

  describe('TLS and the ldapi socket', () => {
    test('ldaps:// with ldap_tls_cacert_file; StartTLS with ldap_tls_cacert_dir; ldapi://', async () => {
      const ldaps = await start([], [`ldap_servers: ${slapd.ldapsUri}`, `ldap_search_base: ${SUFFIX}`, `ldap_tls_cacert_file: ${slapd.pki.caCert}`].join('\n'));
      assert.equal(await reply(ldaps.socket, 'alice', 'alice-pw'), 'OK');
      assert.equal(await reply(ldaps.socket, 'alice', 'alice-pX'), 'NO');
      const starttls = await start([], [`ldap_servers: ldap://localhost:${slapd.port}/`, `ldap_search_base: ${SUFFIX}`, 'ldap_start_tls: yes', `ldap_tls_cacert_dir: ${slapd.pki.caDir}`, `ldap_bind_dn: ${READER_DN}`, `ldap_password: ${READER_PW}`].join('\n'));
      assert.equal(await reply(starttls.socket, 'alice', 'alice-pw'), 'OK');
      assert.equal(await reply(starttls.socket, 'alice', 'alice-pX'), 'NO');
      const ldapi = await start([], [`ldap_servers: ${slapd.ldapiUri}`, `ldap_search_base: ${SUFFIX}`].join('\n'));
      assert.equal(await reply(ldapi.socket, 'alice', 'alice-pw'), 'OK');
    });
  });

  test('-a ldap,sasldb: a user the directory does not know goes to the sasldb; one it knows is decided there', async () => {
    const dir = tempDir('authmux-ldap-chain-');
    const sasldb = join(dir, 'sasldb2');
    saslpasswd2(sasldb, [
      { user: 'zed', realm: 'example.com', password: Buffer.from('zed-sasldb') },
      { user: 'alice', realm: 'example.com', password: Buffer.from('alice-sasldb') },
    ]);
    const d = await startDaemon({ args: ['-a', 'ldap,sasldb'], config: conf(`sasldb_path: ${sasldb}`, 'sasldb_default_realm: example.com') });
    daemons.push(d);
    assert.equal(await reply(d.socket, 'zed', 'zed-sasldb'), 'OK');
    assert.equal(await reply(d.socket, 'alice', 'alice-pw'), 'OK');
    assert.equal(await reply(d.socket, 'alice', 'alice-sasldb'), 'NO', 'the directory knows alice: its refusal is final');
    await d.waitForLog(/auth success: \[user=zed\] \[service=imap\] \[realm=\] \[mech=sasldb\]/);
  });
});
