import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import {
  decodeBase64,
  encodeCont,
  encodeFail,
  encodeHandshake,
  encodeOk,
  LineReader,
  MAX_LINE_BYTES,
  parseClientLine,
  tabEscape,
  tabUnescape,
} from '../../../src/protocol/dovecot-auth.js';

const parse = (text: string) => parseClientLine(Buffer.from(text, 'latin1'));

test('lines end at LF (a CR before it is dropped), whatever the chunks they arrive in', () => {
  const r = new LineReader();
  r.push(Buffer.from('VERSION\t1\t2\r\nCP'));
  assert.deepEqual(r.take(), { kind: 'line', line: Buffer.from('VERSION\t1\t2') });
  assert.deepEqual(r.take(), { kind: 'more' });
  r.push(Buffer.from('ID\t42'));
  assert.deepEqual(r.take(), { kind: 'more' });
  r.push(Buffer.from('\n\nAUTH'));
  assert.deepEqual(r.take(), { kind: 'line', line: Buffer.from('CPID\t42') });
  assert.deepEqual(r.take(), { kind: 'line', line: Buffer.alloc(0) });
  assert.deepEqual(r.take(), { kind: 'more' });
  assert.equal(r.buffered, 4);
});

test('a line of 16 KiB is read; one byte more is refused, with or without its LF yet', () => {
  const r = new LineReader();
  r.push(Buffer.alloc(MAX_LINE_BYTES, 0x41));
  assert.equal(r.take().kind, 'more');
  r.push(Buffer.from('\n'));
  assert.equal(r.take().kind, 'line');
  const long = new LineReader();
  long.push(Buffer.alloc(MAX_LINE_BYTES + 1, 0x41));
  assert.equal(long.take().kind, 'too-long');
  const ended = new LineReader();
  ended.push(Buffer.concat([Buffer.alloc(MAX_LINE_BYTES + 1, 0x41), Buffer.from('\n')]));
  assert.equal(ended.take().kind, 'too-long');
  // Arriving a byte at a time changes nothing.
  const slow = new LineReader();
  let last = 'more';
  for (let i = 0; i <= MAX_LINE_BYTES && last === 'more'; i++) {
    slow.push(Buffer.from('x'));
    last = slow.take().kind;
  }
  assert.equal(last, 'too-long');
});

test('v1.3 escaping: every escape undone, undefined ones and a trailing \\001 refused, and escaping round-trips', () => {
  assert.equal(tabUnescape('a\x010b\x011c\x01td\x01re\x01lf\x01ng'), 'a\0b\x01c\td\re\nf\ng');
  assert.equal(tabUnescape('plain'), 'plain');
  assert.equal(tabUnescape('a\x01x'), undefined);
  assert.equal(tabUnescape('a\x01'), undefined);
  for (let i = 0; i < 2000; i++) {
    const s = randomBytes(Math.floor(Math.random() * 20)).toString('latin1');
    const e = tabEscape(s);
    assert.doesNotMatch(e, /[\0\t\r\n]/);
    assert.equal(tabUnescape(e), s);
  }
});

test('base64 is strict: padding, alphabet and length all checked', () => {
  assert.deepEqual(decodeBase64('AGFsaWNlAHB3'), Buffer.from('\0alice\0pw'));
  assert.deepEqual(decodeBase64(''), Buffer.alloc(0));
  assert.deepEqual(decodeBase64('YQ=='), Buffer.from('a'));
  for (const bad of ['YQ', 'YQ=', 'Y===', 'YWJj!', 'YW Jj', 'YWJ\n', '====', 'YQ==YQ==', '-_8=']) assert.equal(decodeBase64(bad), undefined, bad);
});

test('VERSION, CPID, AUTH and CONT as Postfix and doveadm send them', () => {
  assert.deepEqual(parse('VERSION\t1\t2'), { kind: 'version', major: 1, minor: 2 });
  assert.deepEqual(parse('CPID\t4242'), { kind: 'cpid', pid: 4242 });
  const a = parse('AUTH\t7\tplain\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.9\tsecured\tresp=AGFsaWNlAHB3');
  assert.equal(a.kind, 'auth');
  if (a.kind !== 'auth') return;
  assert.equal(a.auth.id, '7');
  assert.equal(a.auth.mech, 'PLAIN');
  assert.equal(a.auth.service, 'smtp');
  assert.equal(a.auth.rip, '192.0.2.9');
  assert.equal(a.auth.resp, 'AGFsaWNlAHB3');
  assert.equal(a.auth.params.get('nologin'), '');
  assert.equal(a.auth.params.get('secured'), '');
  const noResp = parse('AUTH\t8\tLOGIN\tservice=imap');
  assert.ok(noResp.kind === 'auth' && noResp.auth.resp === undefined && noResp.auth.rip === undefined);
  const emptyResp = parse('AUTH\t9\tLOGIN\tservice=imap\tresp=');
  assert.ok(emptyResp.kind === 'auth' && emptyResp.auth.resp === '');
  // An escaped value is undone before it is read: the TAB stays inside the service.
  const escaped = parse('AUTH\t10\tPLAIN\tservice=sm\x01ttp');
  assert.ok(escaped.kind === 'auth' && escaped.auth.service === 'sm\ttp');
  // The last of a repeated parameter wins, as in Dovecot.
  const twice = parse('AUTH\t11\tPLAIN\tservice=smtp\trip=192.0.2.1\trip=192.0.2.2');
  assert.ok(twice.kind === 'auth' && twice.auth.rip === '192.0.2.2');
  assert.deepEqual(parse('CONT\t7\tYWxpY2U='), { kind: 'cont', id: '7', data: 'YWxpY2U=' });
  assert.deepEqual(parse('CONT\t7'), { kind: 'cont', id: '7', data: '' });
  assert.deepEqual(parse('CONT\t4294967295\t'), { kind: 'cont', id: '4294967295', data: '' });
});

test('malformed lines are "bad" with a reason, never a request', () => {
  const bad = [
    '',
    'HELLO',
    'auth\t1\tPLAIN',
    'VERSION',
    'VERSION\t1',
    'VERSION\tx\t2',
    'CPID',
    'CPID\t-1',
    'AUTH',
    'AUTH\t1',
    'AUTH\t\tPLAIN\tservice=smtp',
    'AUTH\tx\tPLAIN\tservice=smtp',
    'AUTH\t01\tPLAIN\tservice=smtp',
    'AUTH\t-1\tPLAIN\tservice=smtp',
    'AUTH\t4294967296\tPLAIN\tservice=smtp',
    'AUTH\t1\t\tservice=smtp',
    'AUTH\t1\tPLAIN\t=smtp',
    'AUTH\t1\tPLAIN\tservice=a\x01z',
    'CONT',
    'CONT\t\tAAAA',
    'CONT\t1x\tAAAA',
  ];
  for (const line of bad) {
    const d = parse(line);
    assert.equal(d.kind, 'bad', JSON.stringify(line));
    assert.ok(d.kind === 'bad' && d.why.length > 0);
  }
  // The command name in the reason is cut short, so a hostile line cannot fill the log.
  const long = parse('X'.repeat(5000));
  assert.ok(long.kind === 'bad' && long.why.length < 100);
});

test('random bytes only ever parse to a known kind, never throw', () => {
  const words = ['AUTH', 'CONT', 'VERSION', 'CPID', '1', 'PLAIN', 'service=smtp', 'resp=', '\x01', '\x01t', ''];
  for (let i = 0; i < 20000; i++) {
    const line = i % 2
      ? randomBytes(Math.floor(Math.random() * 40))
      : Buffer.from(Array.from({ length: 1 + Math.floor(Math.random() * 6) }, () => words[Math.floor(Math.random() * words.length)]).join('\t'), 'latin1');
    const d = parseClientLine(line);
    assert.ok(['version', 'cpid', 'auth', 'cont', 'bad'].includes(d.kind));
    if (d.kind === 'auth') assert.match(d.auth.id, /^\d+$/);
  }
});

test('the handshake is whole: version 1.2, a MECH line each, SPID, CUID, a 32-hex COOKIE, DONE', () => {
  const h = encodeHandshake({ mechanisms: ['PLAIN', 'LOGIN'], serverPid: 123, connectionId: 7, cookie: 'ab'.repeat(16) }).toString('latin1');
  assert.equal(h, `VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t123\nCUID\t7\nCOOKIE\t${'ab'.repeat(16)}\nDONE\n`);
});

test('replies: OK with user=, CONT in base64, FAIL with user=, reason and temp; a login cannot add a field or a line', () => {
  assert.equal(encodeOk('3', 'alice').toString(), 'OK\t3\tuser=alice\n');
  assert.equal(encodeCont('4', Buffer.from('Username:')).toString(), 'CONT\t4\tVXNlcm5hbWU6\n');
  assert.equal(encodeCont('4', Buffer.alloc(0)).toString(), 'CONT\t4\t\n');
  assert.equal(encodeFail('5').toString(), 'FAIL\t5\n');
  assert.equal(encodeFail('5', { user: 'bob', reason: 'Account expired' }).toString(), 'FAIL\t5\tuser=bob\treason=Account expired\n');
  assert.equal(encodeFail('5', { user: 'bob', temp: true }).toString(), 'FAIL\t5\tuser=bob\ttemp\tcode=temp_fail\n');
  const forged = encodeOk('6', 'eve\tuser=root\nOK\t7\tuser=root').toString('latin1');
  assert.equal(forged.split('\n').length, 2);
  assert.equal(forged.split('\t').length, 3);
  assert.equal(tabUnescape(forged.slice('OK\t6\tuser='.length, -1)), 'eve\tuser=root\nOK\t7\tuser=root');
});
