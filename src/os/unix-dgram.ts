import { requireNative } from './native.js';

/** A Unix datagram socket that only sends: Node has none of its own, unix-dgram provides it. */
export interface DatagramSender {
  /** Sends one datagram to `path`; `done` hears of a failure (no listener there, a full queue). */
  send(message: Buffer, path: string, done: (err?: Error) => void): void;
  close(): void;
}

/** Loaded when first needed: most commands never send a datagram. */
export function openDatagramSender(onError: (err: Error) => void): DatagramSender {
  const unix = requireNative('unix-dgram') as {
    createSocket(type: 'unix_dgram'): {
      on(ev: 'error', cb: (err: Error) => void): void;
      send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
      close(): void;
    };
  };
  const sock = unix.createSocket('unix_dgram');
  sock.on('error', onError);
  return {
    send(message, path, done) {
      try {
        sock.send(message, 0, message.length, path, (err) => done(err ?? undefined));
      } catch (err) {
        done(err as Error);
      }
    },
    close() {
      try {
        sock.close();
      } catch {
        // Already closed.
      }
    },
  };
}
