import type { Logger } from '../../log.js';
import { openDatagramSender, type DatagramSender } from '../../os/unix-dgram.js';
import type { RelayChange, RelayPublisher } from '../tracker.js';

/**
 * One JSON object per grant and per revocation, as a Unix datagram to
 * `relay_datagram`. A listener that is not there loses the event; nothing
 * waits for it.
 */
export class DatagramPublisher implements RelayPublisher {
  readonly name = 'datagram';
  private readonly sock: DatagramSender;

  constructor(private readonly path: string, private readonly log: Logger) {
    this.sock = openDatagramSender((err) => this.log.debug(`relay datagram ${path}: ${err.message}`));
  }

  changed(change: RelayChange): void {
    if (change.kind === 'refresh') return;
    const events = change.kind === 'grant'
      ? [{ event: 'grant', ip: change.ip, at: change.at, until: change.until }]
      : change.ips.map((ip) => ({ event: change.why === 'expired' ? 'expire' : 'delete', ip }));
    for (const e of events) {
      this.sock.send(Buffer.from(JSON.stringify(e)), this.path, (err) => err && this.log.debug(`relay datagram ${this.path}: ${err.message}`));
    }
  }

  async close(): Promise<void> {
    this.sock.close();
  }
}
