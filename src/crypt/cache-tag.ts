/**
 * HMAC-SHA256 (RFC 2104, FIPS 180-4) under one fixed key, for the
 * credential cache's tags. The same function as node:crypto's createHmac,
 * checked against it byte for byte in the tests; it exists because the
 * cache computes one tag per cache hit, and there the key's two padded
 * blocks are hashed once at start instead of each time, nothing is
 * allocated, and no call crosses into OpenSSL. Measured in the daemon
 * serving cache hits: several microseconds a request less than createHmac.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const INITIAL = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
export const TAG_BYTES = 32;

/** One SHA-256 compression of the 64 bytes of `block` at `at` into `state`; `w` is scratch of 64 words. */
function compress(state: Int32Array, block: Uint8Array, at: number, w: Int32Array): void {
  for (let t = 0; t < 16; t++) {
    const i = at + t * 4;
    w[t] = (block[i]! << 24) | (block[i + 1]! << 16) | (block[i + 2]! << 8) | block[i + 3]!;
  }
  for (let t = 16; t < 64; t++) {
    const x = w[t - 15]!;
    const y = w[t - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** `state` from a whole padded key block: HMAC's inner or outer starting point. */
function keyed(key: Uint8Array, pad: number, w: Int32Array): Int32Array {
  const block = new Uint8Array(BLOCK).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = key[i]! ^ pad;
  const state = INITIAL.slice();
  compress(state, block, 0, w);
  return state;
}

export class CacheTagger {
  private readonly inner: Int32Array;
  private readonly outer: Int32Array;
  private readonly state = new Int32Array(8);
  private readonly w = new Int32Array(64);
  /** The message and its padding; grows for long ones, never shrinks. */
  private buf = new Uint8Array(4 * BLOCK);
  private readonly last = new Uint8Array(BLOCK);
  private readonly out = new Uint8Array(TAG_BYTES);

  /** `key`: at most 64 bytes (HMAC hashes a longer one first; the cache's is 32). */
  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('a cache key longer than 64 bytes');
    this.inner = keyed(key, 0x36, this.w);
    this.outer = keyed(key, 0x5c, this.w);
  }

  /** HMAC-SHA256(key, latin1(text) || NUL || bytes), as a new Buffer; `bytes` may be a string, taken as latin1. */
  tag(text: string, bytes: Uint8Array | string): Buffer {
    this.compute(text, bytes);
    return Buffer.from(this.out);
  }

  /** Whether `tag` is HMAC-SHA256(key, latin1(text) || NUL || bytes); compares without an early exit. */
  matches(tag: Uint8Array, text: string, bytes: Uint8Array): boolean {
    if (tag.length !== TAG_BYTES) return false;
    this.compute(text, bytes);
    let diff = 0;
    for (let i = 0; i < TAG_BYTES; i++) diff |= tag[i]! ^ this.out[i]!;
    return diff === 0;
  }

  private compute(text: string, bytes: Uint8Array | string): void {
    const length = text.length + 1 + bytes.length;
    // Message, 0x80, zeros, and the 64-bit length in bits of key block and message.
    const padded = Math.ceil((length + 9) / BLOCK) * BLOCK;
    if (padded > this.buf.length) {
      this.buf.fill(0);
      this.buf = new Uint8Array(padded * 2);
    }
    const m = this.buf;
    for (let i = 0; i < text.length; i++) m[i] = text.charCodeAt(i) & 0xff;
    m[text.length] = 0;
    if (typeof bytes === 'string') for (let i = 0; i < bytes.length; i++) m[text.length + 1 + i] = bytes.charCodeAt(i) & 0xff;
    else m.set(bytes, text.length + 1);
    m[length] = 0x80;
    m.fill(0, length + 1, padded - 4);
    writeBitLength(m, padded - 4, BLOCK + length);
    const st = this.state;
    st.set(this.inner);
    for (let at = 0; at < padded; at += BLOCK) compress(st, m, at, this.w);
    // The outer hash: the inner digest, padded, after the outer key block.
    const o = this.last;
    for (let i = 0; i < 8; i++) writeWord(o, i * 4, st[i]!);
    o[TAG_BYTES] = 0x80;
    o.fill(0, TAG_BYTES + 1, BLOCK - 4);
    writeBitLength(o, BLOCK - 4, BLOCK + TAG_BYTES);
    st.set(this.outer);
    compress(st, o, 0, this.w);
    for (let i = 0; i < 8; i++) writeWord(this.out, i * 4, st[i]!);
    // The scratch held the password (or a stored secret): nothing of it stays for a core dump to show.
    m.fill(0, 0, padded);
    o.fill(0);
    this.w.fill(0);
  }
}

function writeWord(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** The low 32 bits of SHA-256's 64-bit length field (the high ones are zero for any message here). */
function writeBitLength(b: Uint8Array, at: number, bytes: number): void {
  writeWord(b, at, bytes * 8);
}
