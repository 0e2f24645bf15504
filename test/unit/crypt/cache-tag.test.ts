import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { CacheTagger } from '../../../src/crypt/cache-tag.js';

const openssl = (key: Buffer, text: string, bytes: Buffer) => createHmac('sha256', key).update(text, 'latin1').update('\0').update(bytes).digest();

test('the tag is HMAC-SHA256 as OpenSSL computes it, for every message length across several blocks and key lengths 0 to 64', () => {
  for (let keyLength = 0; keyLength <= 64; keyLength += 8) {
    const key = randomBytes(keyLength);
    const tagger = new CacheTagger(key);
    // Lengths around each padding boundary (55/56, 64, 119/120, 128) and long passwords.
    for (let length = 0; length <= 300; length++) {
      const text = randomBytes(length % 37).toString('latin1');
      const bytes = randomBytes(length);
      const want = openssl(key, text, bytes);
      assert.deepEqual(tagger.tag(text, bytes), want, `key ${keyLength} bytes, message ${text.length + 1 + length} bytes`);
      assert.equal(tagger.matches(want, text, bytes), true);
    }
  }
});

test('a tag does not match another password, another text, a flipped bit or a short tag', () => {
  const tagger = new CacheTagger(randomBytes(32));
  const tag = tagger.tag('\0alice\0\0imap', Buffer.from('secret'));
  assert.equal(tagger.matches(tag, '\0alice\0\0imap', Buffer.from('secret')), true);
  assert.equal(tagger.matches(tag, '\0alice\0\0imap', Buffer.from('secreT')), false);
  assert.equal(tagger.matches(tag, '\0alice\0\0smtp', Buffer.from('secret')), false);
  assert.equal(tagger.matches(tag, '\0alice\0\0imap', Buffer.from('secret\0')), false);
  for (let bit = 0; bit < 256; bit += 17) {
    const flipped = Buffer.from(tag);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(tagger.matches(flipped, '\0alice\0\0imap', Buffer.from('secret')), false);
  }
  assert.equal(tagger.matches(tag.subarray(0, 16), '\0alice\0\0imap', Buffer.from('secret')), false);
});

test('two taggers with different keys give different tags; a key over one block is refused', () => {
  const a = new CacheTagger(randomBytes(32));
  const b = new CacheTagger(randomBytes(32));
  assert.notDeepEqual(a.tag('x', Buffer.from('y')), b.tag('x', Buffer.from('y')));
  assert.throws(() => new CacheTagger(randomBytes(65)), RangeError);
});

test('nothing of the password or of a stored secret stays in the scratch after a tag, however long the message was', () => {
  const tagger = new CacheTagger(randomBytes(32));
  const scratch = () => Buffer.from((tagger as unknown as { buf: Uint8Array }).buf);
  tagger.tag('\0alice\0\0imap', Buffer.from('p'.repeat(500)));
  assert.equal(scratch().includes('ppp'), false);
  tagger.tag('\0alice\0\0imap', Buffer.from('short-pass'));
  assert.equal(scratch().includes('short-pass'), false);
  tagger.tag('fingerprint', '{PLAIN}sql-clear-password\0true\u000020430');
  assert.equal(scratch().includes('sql-clear-password'), false);
  assert.ok(scratch().every((b) => b === 0));
  // A string is read as latin1, as Buffer.from(..., 'latin1') would give it.
  const text = 'caf\u00e9\u00ff\u0100';
  assert.deepEqual(tagger.tag('x', text), tagger.tag('x', Buffer.from(text, 'latin1')));
});
