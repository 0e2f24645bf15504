import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { imapLogin, DEFAULT_LIMITS, type ConversationLimits, type ImapTarget } from '../../../../src/backends/rimap/conversation.js';
import type { RimapTls } from '../../../../src/config/rimap.js';
import { TempFail } from '../../../../src/errors.js';
import { Abandoned } from '../../../../src/work-queue.js';

/**
 * Servers that misbehave in ways Dovecot cannot be made to (the real server
 * is in test/integration/rimap.test.ts): each test's server is a script
 * over the lines the client sends.
 */
interface Fake {
  readonly port: number;
  /** Everything every client sent, as latin1. */
  received(): string;
}

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

async function fake(greeting: string | undefined, answer: (line: string, s: Socket) => void = () => undefined): Promise<Fake> {
  let received = '';
  const server = createServer((s) => {
    s.on('error', () => undefined);
    let pending = '';
    s.on('data', (c: Buffer) => {
      received += c.toString('latin1');
      pending += c.toString('latin1');
      for (let i = pending.indexOf('\r\n'); i >= 0; i = pending.indexOf('\r\n')) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 2);
        answer(line, s);
      }
    });
    if (greeting !== undefined) s.write(greeting);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { port, received: () => received };
}

const LIMITS: ConversationLimits = { ...DEFAULT_LIMITS, timeoutMs: 1500 };
const PASSWORD = 'the-secret-pw';

function login(port: number, tls: RimapTls = 'none', opts: { password?: string; limits?: ConversationLimits; signal?: AbortSignal } = {}) {
  const target: ImapTarget = { host: '127.0.0.1', port, tls, ca: () => undefined };
  return imapLogin(target, Buffer.from('alice'), Buffer.from(opts.password ?? PASSWORD, 'utf8'), opts.limits ?? LIMITS, opts.signal);
}

/** A well-behaved server: capabilities in the greeting, LOGIN answered by `verdict`. */
function answersLogin(verdict: string) {
  return (line: string, s: Socket) => {
    const [tag, cmd] = line.split(' ');
    if (cmd === 'LOGIN') s.write(`${tag} ${verdict}\r\n`);
    else if (cmd === 'LOGOUT') s.end(`* BYE bye\r\n${tag} OK done\r\n`);
  };
}

describe('the conversation with a server that behaves', () => {
  test('OK is success, NO a refusal; LOGOUT follows either', async () => {
    const ok = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', answersLogin('OK Logged in'));
    assert.deepEqual(await login(ok.port), { kind: 'ok' });
    const no = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', answersLogin('NO [AUTHENTICATIONFAILED] Authentication failed.'));
    const refused = await login(no.port);
    assert.equal(refused.kind, 'fail');
    for (const f of [ok, no]) {
      await waitFor(() => f.received().includes('A4 LOGOUT\r\n'));
      assert.match(f.received(), /^A3 LOGIN "alice" "the-secret-pw"\r\nA4 LOGOUT\r\n$/);
    }
  });

  test('a greeting without capabilities: CAPABILITY is asked before LOGIN', async () => {
    const f = await fake('* OK ready\r\n', (line, s) => {
      if (line === 'A1 CAPABILITY') s.write('* CAPABILITY IMAP4rev1 LITERAL+\r\nA1 OK done\r\n');
      else answersLogin('OK')(line, s);
    });
    assert.deepEqual(await login(f.port), { kind: 'ok' });
    assert.match(f.received(), /^A1 CAPABILITY\r\nA3 LOGIN /);
  });

  test('a literal waits for the server\'s "+" before its bytes go', async () => {
    let announced = '';
    let announcedAlone = false;
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', (line, s) => {
      if (line.endsWith('{10}')) {
        announced = line;
        setTimeout(() => {
          announcedAlone = f.received() === `${line}\r\n`;
          s.write('+ go ahead\r\n');
        }, 50);
      } else if (line.startsWith('p')) s.write('A3 OK yes\r\n');
    });
    assert.deepEqual(await login(f.port, 'none', { password: 'pässwörd' }), { kind: 'ok' });
    assert.equal(announced, 'A3 LOGIN "alice" {10}');
    assert.ok(announcedAlone, 'nothing of the password went before the go-ahead');
    assert.ok(Buffer.from(f.received(), 'latin1').includes(Buffer.from('pässwörd\r\n', 'utf8')));
  });
});

describe('servers that misbehave: a temporary failure, bounded in time and memory', () => {
  test('one that never says a word: given up after the timeout', async () => {
    const f = await fake(undefined);
    const t0 = Date.now();
    await assert.rejects(login(f.port, 'none', { limits: { ...LIMITS, timeoutMs: 300 } }), (e: Error) => e instanceof TempFail && /no answer within 0.3 s/.test(e.message));
    assert.ok(Date.now() - t0 < 1500);
  });

  test('one that answers LOGIN never: the timeout covers the whole conversation', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n');
    await assert.rejects(login(f.port, 'none', { limits: { ...LIMITS, timeoutMs: 300 } }), /no answer within 0.3 s/);
  });

  test('one that sends an endless line: cut off past the line limit, not read to the end', async () => {
    let sent = 0;
    const server = createServer((s) => {
      s.on('error', () => undefined);
      const chunk = Buffer.alloc(65536, 0x41);
      const pump = () => {
        while (!s.destroyed && s.write(chunk)) sent += chunk.length;
        if (!s.destroyed) s.once('drain', pump);
      };
      s.write('* OK ');
      pump();
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await assert.rejects(login((server.address() as { port: number }).port), /a line longer than 8192 bytes/);
    assert.ok(sent < 16 * 1024 * 1024, `the server got rid of ${sent} bytes before the client left`);
  });

  test('one that sends untagged lines without end: cut off after 64', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', (line, s) => {
      if (line.startsWith('A3 LOGIN')) for (let i = 0; i < 1000; i++) s.write(`* OK still thinking ${i}\r\n`);
    });
    await assert.rejects(login(f.port), /more than 64 untagged responses/);
  });

  test('one that sends long lines until the total is too much: cut off at 256 KiB', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', (line, s) => {
      if (line.startsWith('A3 LOGIN')) for (let i = 0; i < 50; i++) s.write(`* OK ${'x'.repeat(8000)}\r\n`);
    });
    await assert.rejects(login(f.port), /more than 262144 bytes/);
  });

  test('one that hangs up halfway, or is not there: temporary failures', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', (line, s) => {
      if (line.startsWith('A3')) s.destroy();
    });
    await assert.rejects(login(f.port), /the server closed the connection/);
    const gone = await fake(undefined);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(login(gone.port), (e: Error) => e instanceof TempFail && /ECONNREFUSED/.test(e.message));
  });

  test('answers that break the protocol: a stray "+", a foreign tag, garbage, a greeting that is no greeting', async () => {
    const cases: Array<[string, (line: string, s: Socket) => void, RegExp]> = [
      ['* OK [CAPABILITY IMAP4rev1] hi\r\n', (l, s) => l.startsWith('A3') && s.write('+ more?\r\n'), /continuation request after the whole LOGIN/],
      ['* OK [CAPABILITY IMAP4rev1] hi\r\n', (l, s) => l.startsWith('A3') && s.write('A9 OK sure\r\n'), /answer tagged "A9" to a command tagged A3/],
      ['* OK [CAPABILITY IMAP4rev1] hi\r\n', (l, s) => l.startsWith('A3') && s.write('A3 MAYBE\r\n'), /not OK, NO or BAD/],
      ['A3 OK [CAPABILITY IMAP4rev1] hi\r\n', () => undefined, /greeting that is not \* OK/],
      ['* BYE [UNAVAILABLE] too busy\r\n', () => undefined, /turned the connection away: too busy/],
    ];
    for (const [greeting, answer, why] of cases) {
      const f = await fake(greeting, answer);
      const r = await login(f.port).then(
        (outcome) => outcome,
        (err: Error) => err,
      );
      assert.ok(r instanceof TempFail && why.test(r.message), `${greeting.trim()}: ${String(r)}`);
    }
  });

  test('BAD to LOGIN says nothing about the password', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] hi\r\n', answersLogin('BAD what?'));
    assert.equal((await login(f.port)).kind, 'tempfail');
  });

  test('a client that went away takes its check with it', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n');
    const gone = new AbortController();
    const pending = login(f.port, 'none', { signal: gone.signal });
    setTimeout(() => gone.abort(), 100);
    await assert.rejects(pending, Abandoned);
  });
});

describe('the password goes only where it may', () => {
  test('a server that greets with PREAUTH would take any password: a temporary failure, nothing sent', async () => {
    const f = await fake('* PREAUTH [CAPABILITY IMAP4rev1] logged in already\r\n', answersLogin('OK'));
    await assert.rejects(login(f.port), /PREAUTH/);
    assert.ok(!f.received().includes(PASSWORD));
  });

  test('LOGINDISABLED: the password is not sent in the clear', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n', answersLogin('OK'));
    await assert.rejects(login(f.port), /LOGINDISABLED.*set rimap_tls: starttls or imaps; the password was not sent/);
    assert.equal(f.received(), '');
  });

  test('rimap_tls starttls, and STARTTLS is missing (stripped by a man in the middle): no fallback to the clear', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n', answersLogin('OK'));
    await assert.rejects(login(f.port, 'starttls'), /does not offer STARTTLS/);
    assert.equal(f.received(), '');
    const refused = await fake('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n', (l, s) => l === 'A2 STARTTLS' && s.write('A2 NO not today\r\n'));
    await assert.rejects(login(refused.port, 'starttls'), /STARTTLS answered NO/);
    assert.equal(refused.received(), 'A2 STARTTLS\r\n');
  });

  test('STARTTLS response injection: lines sent in the clear after "OK, begin TLS" are refused, not read as if they came over TLS', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n', (l, s) => {
      if (l === 'A2 STARTTLS') s.write('A2 OK Begin TLS negotiation now\r\nA3 OK [CAPABILITY IMAP4rev1] injected yes\r\n');
    });
    await assert.rejects(login(f.port, 'starttls'), /sent more in the clear after its STARTTLS answer/);
    assert.equal(f.received(), 'A2 STARTTLS\r\n');
  });

  test('an OK to LOGIN before the password was sent is no success', async () => {
    const f = await fake('* OK [CAPABILITY IMAP4rev1] ready\r\n', (l, s) => l.startsWith('A3 LOGIN') && s.write('A3 OK welcome\r\n'));
    await assert.rejects(login(f.port, 'none', { password: 'pässwörd' }), /LOGIN answered OK before the password was sent/);
    assert.ok(!f.received().includes('w\xc3\xb6rd'));
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
}
