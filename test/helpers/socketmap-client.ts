import { connect, type Socket } from 'node:net';

/** One connection to a socketmap server, kept open for many lookups as Postfix keeps it. */
export class SocketmapClient {
  private buf = Buffer.alloc(0);
  private waiting: Array<(reply: string) => void> = [];
  closed = false;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      for (;;) {
        const colon = this.buf.indexOf(':');
        if (colon < 0) return;
        const len = Number(this.buf.subarray(0, colon).toString());
        if (this.buf.length < colon + len + 2) return;
        const reply = this.buf.subarray(colon + 1, colon + 1 + len).toString('latin1');
        this.buf = this.buf.subarray(colon + len + 2);
        this.waiting.shift()?.(reply);
      }
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.splice(0)) w('<closed>');
    });
    sock.on('error', () => undefined);
  }

  static open(path: string): Promise<SocketmapClient> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new SocketmapClient(s)));
      s.once('error', reject);
    });
  }

  lookup(key: string, map = 'relay'): Promise<string> {
    return this.raw(Buffer.from(`${Buffer.byteLength(`${map} ${key}`, 'latin1')}:${map} ${key},`, 'latin1'));
  }

  raw(bytes: Buffer): Promise<string> {
    return new Promise((resolve) => {
      if (this.closed) return resolve('<closed>');
      this.waiting.push(resolve);
      this.sock.write(bytes);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}
