/**
 * A read-only reader of Berkeley DB hash files (DB 4.x/5.x, hash version 8-10),
 * enough to answer "what is the value of this key" the way DB->get does:
 * meta page, bucket lookup with the file's own hash function, bucket page
 * chains, and overflow (big item) chains; both byte orders. Every offset is
 * checked: a corrupt or truncated file raises CorruptDb, never a crash.
 */

export class CorruptDb extends Error {
  override readonly name = 'CorruptDb';
}

const HASH_MAGIC = 0x061561;
const P_INVALID = 0;
const P_HASHMETA = 8;
const P_HASH_UNSORTED = 2;
const P_HASH = 13;
const P_OVERFLOW = 7;
const H_KEYDATA = 1;
const H_DUPLICATE = 2;
const H_OFFPAGE = 3;
const H_OFFDUP = 4;
const PAGE_HEADER = 26;
const META_SPARES = 96;
const NCACHED = 32;
const DBMETA_CHKSUM = 0x01;
const CHARKEY = Buffer.from('%$sniglet^&');

/** True when `head` (the file's first bytes) is a Berkeley DB hash database in either byte order. */
export function isBdbHash(head: Buffer): boolean {
  if (head.length < 26) return false;
  return head.readUInt32LE(12) === HASH_MAGIC || head.readUInt32BE(12) === HASH_MAGIC;
}

/** DB's default key hash (__ham_func5): FNV-1 from a zero basis, multiply by the prime, then xor the byte. */
export function hamFunc5(key: Buffer): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 16777619) ^ key[i]!) >>> 0;
  return h;
}

/**
 * The check value DB 5.3 stores in the meta page for its fixed string: the
 * same FNV prime in the other order (xor, then multiply). Verified against
 * files written by saslpasswd2 and db5.3_load; keys themselves hash with hamFunc5.
 */
export function charkeyCheck(key: Buffer): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = Math.imul((h ^ key[i]!) >>> 0, 16777619) >>> 0;
  return h;
}

function ceilLog2(n: number): number {
  let i = 0;
  while (2 ** i < n) i++;
  return i;
}

export interface BdbItem {
  readonly key: Buffer;
  readonly value: Buffer;
}

export class BdbHashFile {
  private readonly le: boolean;
  readonly pageSize: number;
  private readonly lastPgno: number;
  private readonly maxBucket: number;
  private readonly highMask: number;
  private readonly lowMask: number;
  private readonly spares: number[] = [];

  constructor(private readonly buf: Buffer) {
    if (buf.length < 512) throw new CorruptDb(`file too short for a Berkeley DB (${buf.length} bytes)`);
    if (buf.readUInt32LE(12) === HASH_MAGIC) this.le = true;
    else if (buf.readUInt32BE(12) === HASH_MAGIC) this.le = false;
    else throw new CorruptDb('not a Berkeley DB hash file (bad magic)');
    const version = this.u32(16);
    if (version < 8 || version > 10) throw new CorruptDb(`unsupported hash version ${version}`);
    this.pageSize = this.u32(20);
    if (this.pageSize < 512 || this.pageSize > 65536 || (this.pageSize & (this.pageSize - 1)) !== 0) throw new CorruptDb(`bad page size ${this.pageSize}`);
    if (buf[24] !== 0) throw new CorruptDb('encrypted databases are not supported');
    if (buf[25] !== P_HASHMETA) throw new CorruptDb(`page 0 is not a hash meta page (type ${buf[25]})`);
    if ((buf[26]! & DBMETA_CHKSUM) !== 0) throw new CorruptDb('databases with page checksums are not supported');
    this.lastPgno = this.u32(32);
    const pages = Math.floor(buf.length / this.pageSize);
    if (this.lastPgno >= pages) throw new CorruptDb(`truncated: last page ${this.lastPgno}, file holds ${pages}`);
    this.maxBucket = this.u32(72);
    this.highMask = this.u32(76);
    this.lowMask = this.u32(80);
    for (let i = 0; i < NCACHED; i++) this.spares.push(this.u32(META_SPARES + 4 * i));
    const charkey = this.u32(92);
    // DB stores the hash of a fixed string so a reader can tell it uses the same hash function.
    if (charkeyCheck(CHARKEY) !== charkey) throw new CorruptDb('unknown hash function (check value mismatch)');
    if (this.maxBucket > this.highMask || this.lowMask > this.highMask) throw new CorruptDb('inconsistent bucket masks');
  }

  private u32(off: number): number {
    if (off + 4 > this.buf.length) throw new CorruptDb(`read past end at ${off}`);
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }

  private u16(off: number): number {
    if (off + 2 > this.buf.length) throw new CorruptDb(`read past end at ${off}`);
    return this.le ? this.buf.readUInt16LE(off) : this.buf.readUInt16BE(off);
  }

  private pageStart(pgno: number): number {
    if (pgno < 1 || pgno > this.lastPgno) throw new CorruptDb(`page number ${pgno} out of range`);
    return pgno * this.pageSize;
  }

  private bucketPage(bucket: number): number {
    return bucket + this.spares[ceilLog2(bucket + 1)]!;
  }

  /** The items of one hash page as [offset, length] of their bytes (type byte included). */
  private items(start: number): Array<[number, number]> {
    const type = this.buf[start + 25];
    // A bucket that never held an item may be a page DB never wrote: all zeros.
    if (type === P_INVALID && this.u16(start + 20) === 0) return [];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) throw new CorruptDb(`page ${start / this.pageSize} is not a hash page (type ${type})`);
    const entries = this.u16(start + 20);
    if (PAGE_HEADER + 2 * entries > this.pageSize) throw new CorruptDb('too many entries on a page');
    const out: Array<[number, number]> = [];
    let prev = this.pageSize;
    for (let i = 0; i < entries; i++) {
      const off = this.u16(start + PAGE_HEADER + 2 * i);
      if (off < PAGE_HEADER + 2 * entries || off >= prev) throw new CorruptDb('item offsets out of order');
      out.push([start + off, prev - off]);
      prev = off;
    }
    return out;
  }

  /** The bytes of one key or data item, following overflow pages when the item is off-page. */
  private itemBytes(off: number, len: number): Buffer {
    const type = this.buf[off];
    if (type === H_KEYDATA) return this.buf.subarray(off + 1, off + len);
    if (type === H_OFFPAGE) {
      if (len < 12) throw new CorruptDb('short off-page item');
      return this.overflow(this.u32(off + 4), this.u32(off + 8));
    }
    if (type === H_DUPLICATE || type === H_OFFDUP) throw new CorruptDb('duplicate data items are not supported');
    throw new CorruptDb(`unknown item type ${type}`);
  }

  private overflow(first: number, total: number): Buffer {
    if (total > this.buf.length) throw new CorruptDb('overflow item longer than the file');
    const out = Buffer.alloc(total);
    let got = 0;
    let pgno = first;
    let hops = 0;
    while (got < total) {
      if (++hops > this.lastPgno + 1) throw new CorruptDb('overflow chain loops');
      const start = this.pageStart(pgno);
      if (this.buf[start + 25] !== P_OVERFLOW) throw new CorruptDb(`page ${pgno} is not an overflow page`);
      const len = this.u16(start + 22);
      if (len > this.pageSize - PAGE_HEADER || got + len > total) throw new CorruptDb('bad overflow length');
      this.buf.copy(out, got, start + PAGE_HEADER, start + PAGE_HEADER + len);
      got += len;
      pgno = this.u32(start + 16);
      if (got < total && pgno === 0) throw new CorruptDb('overflow chain ends early');
    }
    return out;
  }

  /** Runs `fn` over the key/data pairs of the pages chained from `pgno`. */
  private walkChain(pgno: number, fn: (keyOff: number, keyLen: number, dataOff: number, dataLen: number) => boolean): void {
    let hops = 0;
    while (pgno !== 0) {
      if (++hops > this.lastPgno + 1) throw new CorruptDb('bucket chain loops');
      const start = this.pageStart(pgno);
      const items = this.items(start);
      if (items.length % 2 !== 0) throw new CorruptDb('odd number of items on a hash page');
      for (let i = 0; i < items.length; i += 2) {
        const [ko, kl] = items[i]!;
        const [d, dl] = items[i + 1]!;
        if (fn(ko, kl, d, dl)) return;
      }
      pgno = this.u32(start + 16);
    }
  }

  private keyEquals(off: number, len: number, key: Buffer): boolean {
    const type = this.buf[off];
    if (type === H_KEYDATA) return len - 1 === key.length && this.buf.compare(key, 0, key.length, off + 1, off + len) === 0;
    if (type === H_OFFPAGE) return len >= 12 && this.u32(off + 8) === key.length && this.itemBytes(off, len).equals(key);
    return false;
  }

  get(key: Buffer): Buffer | undefined {
    let bucket = hamFunc5(key) & this.highMask;
    if (bucket > this.maxBucket) bucket &= this.lowMask;
    let found: Buffer | undefined;
    this.walkChain(this.bucketPage(bucket), (ko, kl, d, dl) => {
      if (!this.keyEquals(ko, kl, key)) return false;
      found = Buffer.from(this.itemBytes(d, dl));
      return true;
    });
    return found;
  }

  /** Every key/data pair, bucket by bucket (for listing and tests, not for lookups). */
  *entries(): Generator<BdbItem> {
    for (let b = 0; b <= this.maxBucket; b++) {
      const pairs: BdbItem[] = [];
      this.walkChain(this.bucketPage(b), (ko, kl, d, dl) => {
        pairs.push({ key: Buffer.from(this.itemBytes(ko, kl)), value: Buffer.from(this.itemBytes(d, dl)) });
        return false;
      });
      yield* pairs;
    }
  }
}
