import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capabilitiesOf, encodeCommand, ImapEncodeError, ImapProtocolError, LineReader, parseResponse } from '../../../src/protocol/imap.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const texts = (pieces: Buffer[]) => pieces.map((p) => p.toString('latin1'));

test('printable ASCII is quoted, with " and \\ escaped', () => {
  assert.deepEqual(texts(encodeCommand('A3', 'LOGIN', [b('alice'), b('pa"ss\\word')])), ['A3 LOGIN "alice" "pa\\"ss\\\\word"\r\n']);
  assert.deepEqual(texts(encodeCommand('A3', 'LOGIN', [b('a b'), b('')])), ['A3 LOGIN "a b" ""\r\n']);
});

test('CR, LF, other control bytes and 8-bit bytes go as synchronizing literals, one piece per literal', () => {
  const utf8 = Buffer.from('pässwörd', 'utf8');
  assert.deepEqual(texts(encodeCommand('A3', 'LOGIN', [b('alice'), utf8])), ['A3 LOGIN "alice" {10}\r\n', `${utf8.toString('latin1')}\r\n`]);
  // A password that tries to end the command and start another stays inside its literal.
  const injection = b('x"\r\nA4 LOGIN "bob" "bob-pw"');
  assert.deepEqual(texts(encodeCommand('A3', 'LOGIN', [b('alice'), injection])), [`A3 LOGIN "alice" {${injection.length}}\r\n`, `${injection.toString('latin1')}\r\n`]);
  assert.deepEqual(texts(encodeCommand('A3', 'LOGIN', [b('t\tab'), b('\x7f')])), ['A3 LOGIN {4}\r\n', 't\tab {1}\r\n', '\x7f\r\n']);
});

test('a NUL byte can be sent in no form: refused, in the login as in the password', () => {
  assert.throws(() => encodeCommand('A3', 'LOGIN', [b('alice'), b('pass\0word')]), ImapEncodeError);
  assert.throws(() => encodeCommand('A3', 'LOGIN', [b('al\0ice'), b('pw')]), ImapEncodeError);
  assert.throws(() => encodeCommand('A 3', 'LOGIN', []), ImapEncodeError);
});

test('responses: greeting, untagged data, tagged status with a code, continuation', () => {
  const greeting = parseResponse(b('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.'));
  assert.equal(greeting.kind === 'untagged' && greeting.status, 'OK');
  assert.deepEqual([...capabilitiesOf(greeting)!], ['IMAP4REV1', 'STARTTLS', 'LOGINDISABLED']);
  const caps = parseResponse(b('* CAPABILITY IMAP4rev1 starttls  AUTH=PLAIN'));
  assert.deepEqual([...capabilitiesOf(caps)!], ['IMAP4REV1', 'STARTTLS', 'AUTH=PLAIN']);
  assert.deepEqual(parseResponse(b('A3 no [authenticationfailed] Authentication failed.')), {
    kind: 'tagged', tag: 'A3', status: 'NO', code: { name: 'AUTHENTICATIONFAILED', args: '' }, text: 'Authentication failed.',
  });
  assert.deepEqual(parseResponse(b('A3 OK')), { kind: 'tagged', tag: 'A3', status: 'OK', code: undefined, text: '' });
  assert.deepEqual(parseResponse(b('+ Ready for literal data')), { kind: 'continuation', text: 'Ready for literal data' });
  assert.deepEqual(parseResponse(b('+')), { kind: 'continuation', text: '' });
  const bye = parseResponse(b('* BYE [UNAVAILABLE] going down'));
  assert.equal(bye.kind === 'untagged' && bye.status, 'BYE');
  assert.equal(capabilitiesOf(bye), undefined);
  // A code that never closes is text, not a code.
  const open = parseResponse(b('A1 NO [ALERT no end'));
  assert.equal(open.kind === 'tagged' && open.code, undefined);
});

test('lines that are no response are protocol errors, never a status', () => {
  for (const line of ['', ' OK', 'A3', 'A3 MAYBE yes', 'A3 PREAUTH', 'A3 BYE', '\0\0\0']) {
    assert.throws(() => parseResponse(b(line)), ImapProtocolError, JSON.stringify(line));
  }
  // 8-bit and control bytes in a server's text are carried, not interpreted.
  const odd = parseResponse(Buffer.from([0x41, 0x33, 0x20, 0x4e, 0x4f, 0x20, 0xff, 0x1b, 0x5b]));
  assert.equal(odd.kind === 'tagged' && odd.status, 'NO');
});

test('the line reader finds lines however the stream is cut, LF or CRLF', () => {
  const stream = b('* OK hi\r\n* CAPABILITY IMAP4rev1\nA1 OK done\r\n');
  for (let cut = 1; cut <= stream.length; cut++) {
    const r = new LineReader(100);
    const got: string[] = [];
    for (let i = 0; i < stream.length; i += cut) {
      r.push(stream.subarray(i, i + cut));
      for (let line = r.next(); line; line = r.next()) got.push(line.toString('latin1'));
    }
    assert.deepEqual(got, ['* OK hi', '* CAPABILITY IMAP4rev1', 'A1 OK done'], `pieces of ${cut}`);
    assert.equal(r.buffered, 0);
  }
});

test('the line reader holds no more than its limit of a line that never ends', () => {
  const r = new LineReader(64);
  r.push(Buffer.alloc(64, 0x41));
  assert.throws(() => r.push(b('A')), ImapProtocolError);
  // An endless stream sent in large pieces is refused at the first piece past the limit.
  const big = new LineReader(8192);
  assert.throws(() => big.push(Buffer.alloc(65536, 0x2a)), /longer than 8192/);
  // A whole line that is too long is refused too, even when it arrived with its end.
  const whole = new LineReader(10);
  whole.push(b('* OK this is far too long\r\nA1 OK\r\n'));
  assert.throws(() => whole.next(), ImapProtocolError);
});

test('bytes after the last line end are counted as buffered (what STARTTLS must find empty)', () => {
  const r = new LineReader(100);
  r.push(b('A2 OK Begin TLS now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] forged\r\n'));
  assert.equal(r.next()!.toString(), 'A2 OK Begin TLS now');
  assert.ok(r.buffered > 0);
});
