import { createRequire } from 'node:module';
import type { Logger } from '../../log.js';
import type { RelayChange, RelayPublisher } from '../tracker.js';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}

/**
 * One JSON object per grant and per revocation, as a Unix datagram to
 * `relay_datagram` (unix-dgram: Node has no datagram Unix sockets). A
 * listener that is not there loses the event; nothing waits for it.
 */
export class DatagramPublisher implements RelayPublisher {
  readonly name = 'datagram';
  private readonly sock: DgramSocket;

  constructor(private readonly path: string, private readonly log: Logger) {
    const require = createRequire(import.meta.url);
    const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
    this.sock = unix.createSocket('unix_dgram');
    this.sock.on('error', (err) => this.log.debug(`relay datagram ${path}: ${err.message}`));
  }

  changed(change: RelayChange): void {
    if (change.kind === 'refresh') return;
    const events = change.kind === 'grant'
      ? [{ event: 'grant', ip: change.ip, at: change.at, until: change.until }]
      : change.ips.map((ip) => ({ event: change.why === 'expired' ? 'expire' : 'delete', ip }));
    for (const e of events) {
      const buf = Buffer.from(JSON.stringify(e));
      try {
        this.sock.send(buf, 0, buf.length, this.path, (err) => err && this.log.debug(`relay datagram ${this.path}: ${err.message}`));
      } catch (err) {
        this.log.debug(`relay datagram ${this.path}: ${(err as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    this.sock.close();
  }
}
