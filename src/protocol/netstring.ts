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
