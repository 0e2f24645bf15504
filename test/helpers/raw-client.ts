import { connect } from 'node:net';

export type RawOutcome = { kind: 'reply'; bytes: Buffer } | { kind: 'closed'; bytes: Buffer } | { kind: 'error'; message: string };

/**
 * Writes raw bytes to a saslauthd socket and collects everything until the
 * server closes (or `timeoutMs` passes), for byte-level checks.
 */
export function rawExchange(path: string, payload: Buffer, opts: { timeoutMs?: number; halfClose?: boolean } = {}): Promise<RawOutcome & { timedOut: boolean }> {
  return new Promise((resolve) => {
    const s = connect(path);
    const chunks: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, opts.timeoutMs ?? 5000);
    s.on('connect', () => {
      s.write(payload);
      if (opts.halfClose) s.end();
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (err) => {
      clearTimeout(timer);
      resolve({ kind: 'error', message: err.message, timedOut });
    });
    s.on('close', () => {
      clearTimeout(timer);
      const bytes = Buffer.concat(chunks);
      resolve(bytes.length > 0 ? { kind: 'reply', bytes, timedOut } : { kind: 'closed', bytes, timedOut });
    });
  });
}

/** Decodes the one counted string of a reply. */
export function replyString(bytes: Buffer): string {
  const len = bytes.readUInt16BE(0);
  return bytes.toString('latin1', 2, 2 + len);
}
