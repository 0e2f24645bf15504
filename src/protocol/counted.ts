/**
 * The counted strings of saslauthd's wire format, which the checkpassword
 * door reuses: a 2-byte big-endian length, then that many bytes.
 */

export function encodeCounted(fields: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of fields) {
    const b = typeof f === 'string' ? Buffer.from(f, 'latin1') : f;
    if (b.length > 0xffff) throw new RangeError('field longer than 65535 bytes');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b);
  }
  return Buffer.concat(parts);
}

export type CountedRead =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'fields'; readonly fields: Buffer[]; readonly end: number }
  | { readonly kind: 'too-long'; readonly field: number; readonly length: number };

/**
 * Reads up to `count` counted strings from the start of `buf`, each at most
 * `max` bytes. With `stopAt`, reading ends early once that many fields are
 * in and nothing follows them yet (saslauthd's optional fifth field).
 */
export function readCounted(buf: Buffer, count: number, max: number, stopAt = count): CountedRead {
  const fields: Buffer[] = [];
  let off = 0;
  while (fields.length < count) {
    if (fields.length >= stopAt && off === buf.length) break;
    if (buf.length < off + 2) return { kind: 'incomplete' };
    const len = buf.readUInt16BE(off);
    if (len > max) return { kind: 'too-long', field: fields.length + 1, length: len };
    if (buf.length < off + 2 + len) return { kind: 'incomplete' };
    fields.push(buf.subarray(off + 2, off + 2 + len));
    off += 2 + len;
  }
  return { kind: 'fields', fields, end: off };
}
