import { requireNative } from '../os/native.js';
import { equalCryptOutput } from './constant-time.js';

// sizeof(struct crypt_data) in libxcrypt; the output string sits at its start.
const CRYPT_DATA_SIZE = 32768;
const NUL = Buffer.alloc(1);
/**
 * Traditional DES crypt: 25 DES rounds, some 6 µs here, computed on the
 * calling thread. Through koffi's asynchronous call on libuv's pool it cost
 * the event loop about 25 µs a hash (bench/vpopmail.sh's DES rows); every
 * other scheme (MD5-crypt's 95 µs and up) still goes to the pool, so no
 * slow hash ever holds the loop.
 */
const TRADITIONAL_DES = /^[./0-9A-Za-z]{13}$/;

type CryptRn = {
  async(phrase: Buffer, setting: Buffer, data: Buffer, size: number, cb: (err: unknown, res: unknown) => void): void;
  (phrase: Buffer, setting: Buffer, data: Buffer, size: number): unknown;
};

export interface LibXCrypt {
  /** Runs crypt_rn on libuv's thread pool and compares the result in constant time. */
  verify(password: Buffer, hash: string): Promise<boolean>;
  /** Blocking variant, for command-line tools and tests only. */
  cryptSync(password: Buffer, setting: string): string | undefined;
}

let loaded: LibXCrypt | undefined;

/** Loads libcrypt.so.1 through koffi; throws when either is unavailable. */
export function loadLibXCrypt(): LibXCrypt {
  if (loaded) return loaded;
  const koffi = requireNative('koffi') as { load(name: string): { func(sig: string): CryptRn } };
  const lib = koffi.load('libcrypt.so.1');
  const cryptRn = lib.func('void *crypt_rn(const void *phrase, const void *setting, void *data, int size)');
  const pool: Buffer[] = [];
  const take = () => pool.pop() ?? Buffer.alloc(CRYPT_DATA_SIZE);
  const give = (b: Buffer) => {
    // The work area holds state derived from the password: wipe it before reuse.
    b.fill(0);
    if (pool.length < 64) pool.push(b);
  };
  loaded = {
    verify(password, hash) {
      const hashBytes = Buffer.from(hash, 'latin1');
      const phrase = Buffer.concat([password, NUL]);
      const setting = Buffer.concat([hashBytes, NUL]);
      const data = take();
      if (TRADITIONAL_DES.test(hash)) {
        // A few microseconds of work: handing it to the thread pool and back costs several times that.
        try {
          const res = cryptRn(phrase, setting, data, CRYPT_DATA_SIZE);
          return Promise.resolve(res !== null && res !== 0n && equalCryptOutput(data, hashBytes));
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        } finally {
          phrase.fill(0);
          give(data);
        }
      }
      return new Promise<boolean>((resolve, reject) => {
        cryptRn.async(phrase, setting, data, CRYPT_DATA_SIZE, (err, res) => {
          phrase.fill(0);
          try {
            if (err) reject(err instanceof Error ? err : new Error(String(err)));
            // NULL means libxcrypt rejected the setting: locked, empty or unknown hashes land here.
            else resolve(res !== null && res !== 0n && equalCryptOutput(data, hashBytes));
          } finally {
            give(data);
          }
        });
      });
    },
    cryptSync(password, setting) {
      const data = take();
      try {
        const res = cryptRn(Buffer.concat([password, NUL]), Buffer.concat([Buffer.from(setting, 'latin1'), NUL]), data, CRYPT_DATA_SIZE);
        if (res === null || res === 0n) return undefined;
        const end = data.indexOf(0);
        return data.toString('latin1', 0, end);
      } finally {
        give(data);
      }
    },
  };
  return loaded;
}
