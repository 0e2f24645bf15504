// Writes the vpopmail benchmark's data: N accounts in one domain, half DES and
// half MD5-crypt hashes made by libxcrypt, as tab-separated rows for the
// databases, the sasldb2 input for db5.3_load (saslauthd keeps plaintext), and
// a 300-user sample of each hash kind for saslbench.
//   node bench/make-vpopmail-users.mjs OUT_DIR [N]
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLibXCrypt } from '../dist/src/crypt/libxcrypt.js';

const [out, nRaw] = process.argv.slice(2);
const n = Number(nRaw ?? 100_000);
const lib = loadLibXCrypt();
const B64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const salt = (len) => Array.from(randomBytes(len), (b) => B64[b & 63]).join('');
const DOMAIN = 'bench.test';

const rows = [];
const sasldb = [];
const samples = { des: [], md5: [] };
for (let i = 0; i < n; i++) {
  const kind = i % 2 === 0 ? 'des' : 'md5';
  const password = `pw${i}`.slice(0, 8);
  const setting = kind === 'des' ? salt(2) : `$1$${salt(8)}`;
  const hash = lib.cryptSync(Buffer.from(password), setting);
  rows.push([`v${i}`, DOMAIN, hash, 89, 0, `v${i}`, `/home/vpopmail/domains/${DOMAIN}/v${i}`, 'NOQUOTA', ''].join('\t'));
  sasldb.push(`v${i}\\00${DOMAIN}\\00userPassword`, password);
  if (samples[kind].length < 300 && i % 331 < 2) samples[kind].push(`v${i}:${password}:${DOMAIN}`);
}
writeFileSync(join(out, 'vpopmail-rows.tsv'), rows.join('\n') + '\n');
writeFileSync(join(out, 'vpopmail-sasldb.txt'), sasldb.join('\n') + '\n');
for (const k of ['des', 'md5']) writeFileSync(join(out, `vpopmail-users-${k}.txt`), samples[k].join('\n') + '\n');
console.log(`${n} accounts; samples: des ${samples.des.length}, md5 ${samples.md5.length}`);
