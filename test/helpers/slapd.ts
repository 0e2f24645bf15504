import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, tempDir } from './fixtures.js';

export const SUFFIX = 'dc=example,dc=com';
export const PEOPLE = `ou=people,${SUFFIX}`;
export const ADMIN_DN = `cn=admin,${SUFFIX}`;
export const ADMIN_PW = 'admin-secret';
/** The account searches bind as (ldap_bind_dn): may read entries, never passwords. */
export const READER_DN = `cn=reader,${SUFFIX}`;
export const READER_PW = 'reader-secret';
/** An account that may read passwords, for the custom method. */
export const PWREADER_DN = `cn=pwreader,${SUFFIX}`;
export const PWREADER_PW = 'pwreader-secret';


/** A CA and a server certificate for localhost and 127.0.0.1, made by openssl. */
export interface TestPki {
  readonly caCert: string;
  readonly caDir: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A CA that signed nothing here: trusting it alone, the server's certificate is refused. */
  readonly otherCaCert: string;
  /** A client certificate the test CA signed, for servers that ask for one. */
  readonly clientCert: string;
  readonly clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'ignore' });
}

export function makePki(dir: string): TestPki {
  mkdirSync(dir, { recursive: true });
  const ca = (name: string) => openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=Authmux test ${name}`], dir);
  ca('ca');
  ca('other-ca');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext'], dir);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=authmux-client'], dir);
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', '-days', '2', '-extfile', 'client.ext'], dir);
  // A directory of CA certificates as c_rehash lays it out: a hash-named link to each.
  const caDir = join(dir, 'cadir');
  mkdirSync(caDir);
  execFileSync('cp', [join(dir, 'ca.crt'), join(caDir, 'test-ca.pem')]);
  execFileSync('openssl', ['rehash', caDir], { stdio: 'ignore' });
  return {
    caCert: join(dir, 'ca.crt'),
    caDir,
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    otherCaCert: join(dir, 'other-ca.crt'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  };
}

export interface SlapdOptions {
  /** More entries, as LDIF. */
  readonly ldif?: string;
  /** Access lines placed before the one that lets everyone read the rest. */
  readonly acl?: string;
  /** Global slapd.conf lines (TLSVerifyClient ...). */
  readonly global?: string;
}

export interface LdapUser {
  readonly uid: string;
  /** What slapadd stores in userPassword: clear text, or a {SCHEME} value from slappasswd. */
  readonly userPassword?: string;
  /** Under which OU (default people). */
  readonly ou?: string;
}

/** A value made by the real slappasswd (OpenLDAP's own hashing). */
export function slappasswd(scheme: string, password: string): string {
  const sha2 = /SHA(256|384|512)/.test(scheme) ? ['-o', 'module-path=/usr/lib/ldap', '-o', 'module-load=pw-sha2'] : [];
  // -c gives crypt(3) its salt format (SHA-512-crypt here) and implies {CRYPT}.
  const how = scheme === '{CRYPT}' ? ['-c', '$6$%.16s'] : ['-h', scheme];
  return execFileSync('slappasswd', [...sha2, ...how, '-s', password]).toString().trim();
}

/**
 * An OpenLDAP slapd of the test's own: a generated slapd.conf, an mdb
 * database loaded with slapadd, listening on a private port (ldap://),
 * another for ldaps://, and an ldapi socket in its directory, all with the
 * test CA's server certificate (StartTLS too). Started in the foreground so
 * the test can stop and restart it.
 */
export class PrivateSlapd {
  readonly dir = tempDir('authmux-slapd-');
  readonly pki: TestPki;
  readonly socket = join(this.dir, 'ldapi');
  private proc: ChildProcess | undefined;
  port = 0;
  tlsPort = 0;

  constructor(users: readonly LdapUser[], private readonly o: SlapdOptions = {}) {
    this.pki = makePki(join(this.dir, 'pki'));
    mkdirSync(join(this.dir, 'db'));
    writeFileSync(join(this.dir, 'slapd.conf'), this.conf());
    const ous = [...new Set(['people', ...users.map((u) => u.ou ?? 'people')])];
    const ldif = [
      `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n`,
      ...ous.map((ou) => `dn: ou=${ou},${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}\n`),
      `dn: ${READER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: ${READER_PW}\n`,
      `dn: ${PWREADER_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: pwreader\nuserPassword: ${PWREADER_PW}\n`,
      ...users.map((u) => this.userLdif(u)),
      o.ldif ?? '',
    ].join('\n');
    writeFileSync(join(this.dir, 'init.ldif'), ldif);
    execFileSync('slapadd', ['-f', join(this.dir, 'slapd.conf'), '-l', join(this.dir, 'init.ldif')], { stdio: 'pipe' });
  }

  dnOf(uid: string, ou = 'people'): string {
    return `uid=${uid.replace(/[\\,+="<>;]/g, (c) => `\\${c}`)},ou=${ou},${SUFFIX}`;
  }

  private userLdif(u: LdapUser): string {
    const lines = [`dn: ${this.dnOf(u.uid, u.ou)}`, 'objectClass: inetOrgPerson', `uid: ${u.uid}`, `cn: ${u.uid}`, 'sn: Test'];
    if (u.userPassword !== undefined) lines.push(`userPassword:: ${Buffer.from(u.userPassword, 'utf8').toString('base64')}`);
    return `${lines.join('\n')}\n`;
  }

  private conf(): string {
    return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload pw-sha2
pidfile ${join(this.dir, 'slapd.pid')}
TLSCACertificateFile ${this.pki.caCert}
TLSCertificateFile ${this.pki.serverCert}
TLSCertificateKeyFile ${this.pki.serverKey}
# A bind with a DN and an empty password would succeed as anonymous: the attack an LDAP client must not open.
allow bind_anon_dn
${this.o.global ?? ''}
database mdb
suffix "${SUFFIX}"
rootdn "${ADMIN_DN}"
rootpw ${ADMIN_PW}
directory ${join(this.dir, 'db')}
maxsize 67108864
access to attrs=userPassword
  by self write
  by dn.exact="${PWREADER_DN}" read
  by anonymous auth
  by * none
${this.o.acl ?? ''}
access to * by * read
`;
  }

  get uri(): string {
    return `ldap://127.0.0.1:${this.port}/`;
  }

  get ldapsUri(): string {
    return `ldaps://localhost:${this.tlsPort}/`;
  }

  get ldapiUri(): string {
    return `ldapi://${encodeURIComponent(this.socket)}/`;
  }

  /** Starts slapd (again, on the same ports and data after stop()) and waits until it answers. */
  async start(): Promise<void> {
    if (this.port === 0) [this.port, this.tlsPort] = [await freePort(), await freePort()];
    this.proc = spawn('slapd', ['-f', join(this.dir, 'slapd.conf'), '-h', `${this.uri} ldaps://127.0.0.1:${this.tlsPort}/ ${this.ldapiUri}`, '-d', '0'], { stdio: 'ignore' });
    const end = Date.now() + 20_000;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`slapd exited with ${this.proc.exitCode}`);
      if (await answers(this.port)) return;
      if (Date.now() > end) throw new Error('slapd: not answering after 20 s');
      await sleep(50);
    }
  }

  /** Stops slapd; resolves when it has exited. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  private tool(cmd: string, args: string[], input?: string): string {
    return execFileSync(cmd, ['-x', '-H', this.uri, '-D', ADMIN_DN, '-w', ADMIN_PW, ...args], { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  }

  /** The real ldappasswd (RFC 3062 password modify), as an admin changes a user's password. */
  setPassword(dn: string, password: string): void {
    this.tool('ldappasswd', ['-s', password, dn]);
  }

  modify(ldif: string): void {
    this.tool('ldapmodify', [], ldif);
  }

  /** `manage`: with ManageDsaIT, so a referral object is added as an entry, not followed. */
  add(ldif: string, manage = false): void {
    this.tool('ldapadd', manage ? ['-M'] : [], ldif);
  }
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
