import { setTimeout as sleep } from 'node:timers/promises';
import type { Backend, LookupRequest, PasswordRecord } from '../types.js';
import { TempFail } from '../../errors.js';
import { WatchedFile } from '../watched-file.js';
import { BdbHashFile, isBdbHash } from './bdb-hash.js';
import { entryKey, parseTextSasldb, type TextEntry } from './text-sasldb.js';

export type SasldbStore =
  | { readonly kind: 'berkeley-db'; readonly db: BdbHashFile }
  | { readonly kind: 'text'; readonly entries: Map<string, TextEntry> };

const BDB_BTREE_MAGIC = 0x053162;
const GDBM_MAGICS = [0x13579ace, 0x13579acd, 0x13579acf];

/** Decides the file's kind from its content, never from its name. */
export function openSasldb(content: Buffer, path: string): SasldbStore {
  if (isBdbHash(content)) return { kind: 'berkeley-db', db: new BdbHashFile(content) };
  if (content.length >= 16) {
    const m = [content.readUInt32LE(12), content.readUInt32BE(12)];
    if (m.includes(BDB_BTREE_MAGIC)) throw new Error('a Berkeley DB btree file; sasldb2 is a hash file');
    const g = [content.readUInt32LE(0), content.readUInt32BE(0)];
    if (g.some((x) => GDBM_MAGICS.includes(x))) throw new Error('a gdbm file; only Berkeley DB hash and text sasldb are read');
  }
  return { kind: 'text', entries: parseTextSasldb(content, path) };
}

/** saslpasswd2 rewrites the file in place: a file written this recently may still be half-written. */
const SETTLE_MS = 100;
const SETTLE_TRIES = 20;

/** Finds `user` under `realm` (already the default realm when the request had none). */
export function lookupInStore(store: SasldbStore, user: string, realm: string): PasswordRecord | undefined {
  const found = (secret: string, secretIsPlaintext: boolean): PasswordRecord => ({ user, domain: realm, secret, secretIsPlaintext, system: false, mayRelay: true });
  if (store.kind === 'berkeley-db') {
    const value = store.db.get(Buffer.from(`${user}\0${realm}\0userPassword`, 'latin1'));
    return value === undefined ? undefined : found(value.toString('latin1'), true);
  }
  const e = store.entries.get(entryKey(user, realm));
  return e === undefined ? undefined : found(e.value, e.isPlaintext);
}

/**
 * The user and realm a request names: its own realm when it has one, else
 * for a front door without realms (checkpassword) the part after the last
 * "@" of the login, as the sasldb key holds it.
 */
export function sasldbKey(req: LookupRequest): { user: string; realm: string } {
  const at = req.login.lastIndexOf('@');
  if (req.realm === '' && req.realmInLogin && at > 0) return { user: req.login.slice(0, at), realm: req.login.slice(at + 1) };
  return { user: req.login, realm: req.realm };
}

/**
 * `-a sasldb`: the key is login, realm (the default realm when empty),
 * "userPassword", as saslauthd builds it. Every failure is a bare NO on the
 * wire, as saslauthd answers; the log says which. A file being rewritten is
 * waited for, briefly, so that no answer comes from half a file.
 */
export function createSasldbBackend(path: string, defaultRealm: string): Backend {
  const file = new WatchedFile(path, (content) => openSasldb(content, path));
  const settled = async (): Promise<SasldbStore> => {
    for (let i = 0; i < SETTLE_TRIES; i++) {
      const store = file.get();
      const quiet = file.quietForMs();
      if (quiet >= SETTLE_MS) return store;
      file.forget();
      await sleep(SETTLE_MS - Math.max(0, quiet));
    }
    throw new TempFail(`${path} keeps being rewritten`);
  };
  const find = (store: SasldbStore, req: LookupRequest): PasswordRecord | undefined => {
    const { user, realm } = sasldbKey(req);
    // An empty realm means the host's own, as saslpasswd2 stores it for `-u ''`; the record names the realm used.
    return lookupInStore(store, user, realm === '' ? defaultRealm : realm);
  };
  return {
    mech: 'sasldb',
    async lookup(req: LookupRequest) {
      return find(await settled(), req);
    },
    lookupAtOnce(req: LookupRequest) {
      const store = file.get();
      if (file.quietForMs() >= SETTLE_MS) return { record: find(store, req) };
      // A file written a moment ago may be half-written: not kept, and lookup() waits for it (as settled() does).
      file.forget();
      return undefined;
    },
    generation: () => file.generation(),
    generationIsLocal: true,
    check() {
      const store = file.get();
      return `${path}: ${store.kind === 'berkeley-db' ? 'Berkeley DB hash' : 'text sasldb'}`;
    },
  };
}
