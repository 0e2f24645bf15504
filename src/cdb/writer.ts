/**
 * A constant database (cdb) laid out exactly as djb's cdb_make does, so the
 * bytes match what tcprules writes for the same records in the same order:
 * records from byte 2048, then 256 hash tables of (hash, position) slot
 * pairs, each twice as long as its record count, filled by linear probing
 * from (hash >>> 8) % length; the header holds each table's position and
 * length. All numbers little-endian uint32.
 */
export function cdbHash(key: Buffer): number {
  let h = 5381;
  for (const c of key) h = (((h << 5) + h) >>> 0) ^ c;
  return h >>> 0;
}

export function buildCdb(records: ReadonlyArray<readonly [Buffer, Buffer]>): Buffer {
  const HEADER = 2048;
  let size = HEADER;
  for (const [k, d] of records) size += 8 + k.length + d.length;
  const tablesStart = size;
  size += records.length * 2 * 8;
  if (size > 0xffffffff) throw new Error('cdb over 4 GB');
  const out = Buffer.alloc(size);
  const buckets: Array<Array<[number, number]>> = Array.from({ length: 256 }, () => []);
  let pos = HEADER;
  for (const [k, d] of records) {
    out.writeUInt32LE(k.length, pos);
    out.writeUInt32LE(d.length, pos + 4);
    k.copy(out, pos + 8);
    d.copy(out, pos + 8 + k.length);
    const h = cdbHash(k);
    buckets[h & 255]!.push([h, pos]);
    pos += 8 + k.length + d.length;
  }
  pos = tablesStart;
  for (let i = 0; i < 256; i++) {
    const entries = buckets[i]!;
    const len = entries.length * 2;
    out.writeUInt32LE(pos, i * 8);
    out.writeUInt32LE(len, i * 8 + 4);
    const slots: Array<[number, number] | undefined> = new Array(len);
    for (const e of entries) {
      let where = (e[0] >>> 8) % len;
      while (slots[where]) where = where + 1 === len ? 0 : where + 1;
      slots[where] = e;
    }
    for (let s = 0; s < len; s++) {
      const e = slots[s];
      out.writeUInt32LE(e ? e[0] : 0, pos);
      out.writeUInt32LE(e ? e[1] : 0, pos + 4);
      pos += 8;
    }
  }
  return out;
}

/** The first record under `key`, as tcpserver's lookup finds it. */
export function cdbGet(db: Buffer, key: Buffer): Buffer | undefined {
  const h = cdbHash(key);
  const tpos = db.readUInt32LE((h & 255) * 8);
  const tlen = db.readUInt32LE((h & 255) * 8 + 4);
  if (tlen === 0) return undefined;
  let slot = (h >>> 8) % tlen;
  for (let n = 0; n < tlen; n++) {
    const sh = db.readUInt32LE(tpos + slot * 8);
    const rp = db.readUInt32LE(tpos + slot * 8 + 4);
    if (rp === 0) return undefined;
    if (sh === h) {
      const kl = db.readUInt32LE(rp);
      const dl = db.readUInt32LE(rp + 4);
      if (db.subarray(rp + 8, rp + 8 + kl).equals(key)) return db.subarray(rp + 8 + kl, rp + 8 + kl + dl);
    }
    slot = slot + 1 === tlen ? 0 : slot + 1;
  }
  return undefined;
}
