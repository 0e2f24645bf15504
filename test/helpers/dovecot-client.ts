import { connect, type Socket } from 'node:net';

/**
 * A raw client of Dovecot's auth protocol for byte-level tests: sends what
 * it is told, however malformed, and hands back the server's lines one by one.
 */
export class DovecotRawClient {
  private buf = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  closed = false;

  private constructor(readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf += c.toString('latin1');
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
      }
      this.wake();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(path: string): Promise<DovecotRawClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new DovecotRawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  send(text: string | Buffer): void {
    this.sock.write(text);
  }

  /** The next line from the server; throws when the server closes or says nothing in time. */
  async line(timeoutMs = 5000): Promise<string> {
    const end = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('connection closed');
      const left = end - Date.now();
      if (left <= 0) throw new Error('no line in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.lines.shift()!;
  }

  /** The handshake's lines, up to and including DONE. */
  async handshake(): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l === 'DONE') return out;
    }
  }

  /** Resolves true when the server closes within `ms`, false otherwise; lines sent before closing are kept. */
  async closedWithin(ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  /** Lines received and not yet taken. */
  get unread(): readonly string[] {
    return this.lines;
  }

  close(): void {
    this.sock.destroy();
  }
}

export const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
