/** Postfix refuses socketmap replies over this many bytes; requests are held to it too. */
export const MAX_NETSTRING = 100_000;

export function netstring(text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(`${body.length}:`, 'latin1'), body, Buffer.from(',', 'latin1')]);
}

export type Take =
  | { readonly kind: 'more' }
  | { readonly kind: 'bad'; readonly why: string }
  | { readonly kind: 'one'; readonly body: Buffer; readonly rest: Buffer };

/** The first netstring of `buf`: needs more bytes, is malformed, or one body and what follows it. */
export function takeNetstring(buf: Buffer): Take {
  let i = 0;
  let len = 0;
  while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    len = len * 10 + (buf[i]! - 0x30);
    i++;
    if (i > 6 || len > MAX_NETSTRING) return { kind: 'bad', why: 'length over 100000' };
  }
  if (i === buf.length) return { kind: 'more' };
  if (i === 0 || buf[i] !== 0x3a) return { kind: 'bad', why: 'no length' };
  if (i > 1 && buf[0] === 0x30) return { kind: 'bad', why: 'leading zero' };
  const end = i + 1 + len;
  if (buf.length <= end) return { kind: 'more' };
  if (buf[end] !== 0x2c) return { kind: 'bad', why: 'no comma after the body' };
  return { kind: 'one', body: buf.subarray(i + 1, end), rest: buf.subarray(end + 1) };
}

/**
 * Netstrings from a byte stream that arrives in pieces. Each piece is copied
 * once into one growing buffer, so a stream of tiny writes costs no object
 * per write and a large backlog is never copied again on each arrival.
 */
export class NetstringReader {
  private store: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  /** Bytes received and not yet taken. */
  get buffered(): number {
    return this.end - this.start;
  }

  push(piece: Buffer): void {
    if (this.end + piece.length > this.store.length) this.makeRoom(piece.length);
    piece.copy(this.store, this.end);
    this.end += piece.length;
  }

  /** The next netstring, if whole; its body is a copy, free of the buffer that later pieces reuse. */
  take(): { readonly kind: 'more' } | { readonly kind: 'bad'; readonly why: string } | { readonly kind: 'one'; readonly body: Buffer } {
    const t = takeNetstring(this.store.subarray(this.start, this.end));
    if (t.kind !== 'one') return t;
    const body = Buffer.from(t.body);
    this.start = this.end - t.rest.length;
    if (this.start === this.end) this.start = this.end = 0;
    return { kind: 'one', body };
  }

  /** Lets go of the buffer once nothing waits in it: an idle connection holds none, however large a burst made it. */
  shrink(): void {
    if (this.buffered === 0) {
      this.store = Buffer.alloc(0);
      this.start = this.end = 0;
    }
  }

  private makeRoom(more: number): void {
    const live = this.buffered;
    const need = live + more;
    // Moving what is left to the front is enough while it is at most half the buffer; else grow by doubling.
    if (need <= this.store.length && live <= this.store.length / 2) {
      this.store.copy(this.store, 0, this.start, this.end);
    } else {
      const grown = Buffer.allocUnsafe(Math.max(need, this.store.length * 2, 1024));
      this.store.copy(grown, 0, this.start, this.end);
      this.store = grown;
    }
    this.start = 0;
    this.end = live;
  }
}
