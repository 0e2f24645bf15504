import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { verifyInJs } from '../../../../src/crypt/js/compute.js';
import { loadLibXCrypt } from '../../../../src/crypt/libxcrypt.js';
import { CRYPT_ALPHABET } from '../../../../src/crypt/js/b64.js';

const lib = loadLibXCrypt();

function randomUtf8(maxChars: number): Buffer {
  // Mix ASCII, Latin-1, CJK and astral code points so every UTF-8 length occurs.
  const ranges = [[0x21, 0x7e], [0xa0, 0xff], [0x100, 0x17f], [0x3040, 0x30ff], [0x4e00, 0x9fff], [0x1f300, 0x1f64f]] as const;
  const n = 1 + Math.floor(Math.random() * maxChars);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = ranges[Math.floor(Math.random() * ranges.length)]!;
    s += String.fromCodePoint(lo + Math.floor(Math.random() * (hi - lo + 1)));
  }
  return Buffer.from(s, 'utf8');
}

function salt(n: number): string {
  return Array.from(randomBytes(n), (b) => CRYPT_ALPHABET[b & 63]).join('');
}

/** libxcrypt settings for the families the JS path implements, with random salts and cheap costs. */
function settings(): string[] {
  return [
    `$6$${salt(16)}`,
    `$6$rounds=1234$${salt(8)}`,
    `$5$${salt(16)}`,
    `$5$rounds=2000$${salt(3)}`,
    `$1$${salt(8)}`,
    `$1$${salt(2)}`,
    `$2b$04$${salt(22).replace(/[^.A-Za-z0-9]/g, '.').slice(0, 21)}.`,
    salt(2),
  ];
}

test('JS verifiers agree with libxcrypt on random UTF-8 passwords (right and wrong)', () => {
  let checked = 0;
  for (let round = 0; round < 40; round++) {
    for (const setting of settings()) {
      const password = randomUtf8(round % 5 === 0 ? 80 : 12);
      const hash = lib.cryptSync(password, setting);
      assert.ok(hash, `libxcrypt refused setting ${setting}`);
      const wrong = Buffer.concat([password, randomUtf8(2)]);
      const expectWrong = lib.cryptSync(wrong, hash!) === hash;
      assert.equal(verifyInJs(password, hash!), true, `right password, ${hash} pw=${password.toString('hex')}`);
      assert.equal(verifyInJs(wrong, hash!), expectWrong, `wrong password, ${hash} pw=${wrong.toString('hex')}`);
      checked++;
    }
  }
  assert.equal(checked, 320);
});
