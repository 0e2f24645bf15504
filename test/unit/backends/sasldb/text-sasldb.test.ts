import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { openSasldb, lookupInStore } from '../../../../src/backends/sasldb/backend.js';
import { formatTextLine, parseTextSasldb, TextSasldbError } from '../../../../src/backends/sasldb/text-sasldb.js';

describe('text sasldb', () => {
  test('format: user@realm:value, last @ splits, hashes by $ or {SCHEME}, comments', () => {
    const m = parseTextSasldb(Buffer.from('# c\nalice@example.com:secret\nbob@a@b.org:$6$x$y\ncarol:{PLAIN}$x\n\neve@x.org:pw:with:colons\r\nalice@example.com:newer\n'));
    assert.equal(m.get('alice\0example.com')!.value, 'newer');
    assert.equal(m.get('alice\0example.com')!.isPlaintext, true);
    assert.deepEqual([m.get('bob@a\0b.org')!.value, m.get('bob@a\0b.org')!.isPlaintext], ['$6$x$y', false]);
    assert.equal(m.get('carol\0')!.isPlaintext, false);
    assert.equal(m.get('eve\0x.org')!.value, 'pw:with:colons');
    assert.throws(() => parseTextSasldb(Buffer.from('ok@x:1\nnocolon\n'), 'f'), /f:2/);
    assert.throws(() => parseTextSasldb(Buffer.from('@x:1\n'), 'f'), TextSasldbError);
    assert.throws(() => parseTextSasldb(Buffer.from('a@x:\n'), 'f'), /empty password/);
    assert.throws(() => parseTextSasldb(Buffer.from('a@x:p\0q\n'), 'f'), /NUL/);
  });

  test('plaintext that looks like a hash is written with {PLAIN} and reads back as the same password', () => {
    const line = formatTextLine('dave', 'x.org', '$notahash', false);
    assert.equal(line, 'dave@x.org:{PLAIN}$notahash');
    assert.throws(() => formatTextLine('a:b', 'x', 'p', false), TextSasldbError);
    assert.throws(() => formatTextLine('a', 'x', 'p\nq', false), TextSasldbError);
  });

  test('file kind is told by content: text, Berkeley DB, and foreign binaries are refused', () => {
    assert.equal(openSasldb(Buffer.from('a@b:c\n'), 'f').kind, 'text');
    const gdbm = Buffer.alloc(64);
    gdbm.writeUInt32LE(0x13579acd, 0);
    assert.throws(() => openSasldb(gdbm, 'f'), /gdbm/);
    assert.throws(() => openSasldb(randomBytes(4096), 'f'));
    const rec = lookupInStore(openSasldb(Buffer.from('a@b:c\n'), 'f'), 'a', 'b');
    assert.deepEqual(rec, { user: 'a', domain: 'b', secret: 'c', secretIsPlaintext: true, system: false, mayRelay: true });
  });
});
