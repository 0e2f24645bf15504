import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_NETSTRING, NetstringReader } from '../../../src/protocol/netstring.js';
import { netstring, takeNetstring } from '../../../src/protocol/netstring.js';

function takeAll(r: NetstringReader): string[] {
  const out: string[] = [];
  for (;;) {
    const t = r.take();
    if (t.kind !== 'one') return out;
    out.push(t.body.toString('latin1'));
  }
}

test('the reader finds netstrings however the stream is cut', () => {
  const stream = Buffer.from('11:relay 1.2.3,0:,3:abc,5:hello,');
  for (let cut = 1; cut <= stream.length; cut++) {
    const r = new NetstringReader();
    const got: string[] = [];
    for (let i = 0; i < stream.length; i += cut) {
      r.push(stream.subarray(i, i + cut));
      got.push(...takeAll(r));
    }
    assert.deepEqual(got, ['relay 1.2.3', '', 'abc', 'hello'], `pieces of ${cut}`);
    assert.equal(r.buffered, 0);
  }
});

test('a body taken stays intact while later pieces reuse the buffer', () => {
  const r = new NetstringReader();
  r.push(Buffer.from('3:abc,'));
  const first = r.take();
  assert.equal(first.kind, 'one');
  for (let i = 0; i < 100; i++) r.push(Buffer.from('3:xyz,'));
  assert.equal(first.kind === 'one' && first.body.toString(), 'abc');
  assert.equal(takeAll(r).length, 100);
});

test('the reader says how much waits, and reports a malformed stream as the parser does', () => {
  const r = new NetstringReader();
  r.push(Buffer.from('11:relay'));
  assert.equal(r.take().kind, 'more');
  assert.equal(r.buffered, 8);
  const bad = new NetstringReader();
  bad.push(Buffer.from('3:abcd'));
  assert.deepEqual(bad.take(), { kind: 'bad', why: 'no comma after the body' });
  const long = new NetstringReader();
  long.push(Buffer.from(`${MAX_NETSTRING + 1}:`));
  assert.equal(long.take().kind, 'bad');
});

test('a long stream of one-byte pieces is read whole, and what waits is never more than part of a request', () => {
  const one = Buffer.from('13:relay 1.2.3.4,');
  const r = new NetstringReader();
  let n = 0;
  for (let k = 0; k < 2000; k++) {
    for (const byte of one) r.push(Buffer.from([byte]));
    n += takeAll(r).length;
    // What is left between requests is never more than a part of one.
    assert.ok(r.buffered < one.length);
  }
  assert.equal(n, 2000);
  r.shrink();
  assert.equal(r.buffered, 0);
});

test('netstrings: complete, partial and malformed', () => {
  assert.deepEqual(netstring('OK OK'), Buffer.from('5:OK OK,'));
  const t = takeNetstring(Buffer.from('11:relay 1.2.3,3:abc,'));
  assert.equal(t.kind, 'one');
  if (t.kind === 'one') {
    assert.equal(t.body.toString(), 'relay 1.2.3');
    assert.equal(t.rest.toString(), '3:abc,');
  }
  for (const partial of ['', '1', '11', '11:', '11:relay', '11:relay 1.2.3']) assert.equal(takeNetstring(Buffer.from(partial)).kind, 'more', partial);
  for (const bad of ['x', ':a,', '3:abcd', '1000001:', '01:a,', '3:abc;']) assert.equal(takeNetstring(Buffer.from(bad)).kind, 'bad', bad);
});
