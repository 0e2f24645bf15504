import type { Backend, LookupRequest, PasswordRecord } from './types.js';
import { parsePasswd, parseShadow, shadowPolicy } from './unix-files.js';
import { WatchedFile } from './watched-file.js';

/** `-a shadow`: getpwnam over passwd_file, then getspnam over shadow_file. */
export function createShadowBackend(passwdFile: string, shadowFile: string): Backend {
  const passwd = new WatchedFile(passwdFile, parsePasswd);
  const shadow = new WatchedFile(shadowFile, parseShadow);
  return {
    mech: 'shadow',
    lookup(req: LookupRequest): PasswordRecord | undefined {
      const pw = passwd.get().get(req.login);
      if (!pw) return undefined;
      const sp = shadow.get().get(pw.name);
      if (!sp) return undefined;
      return {
        user: pw.name,
        secret: sp.hash,
        secretIsPlaintext: false,
        system: true,
        mayRelay: true,
        uid: pw.uid,
        gid: pw.gid,
        home: pw.home,
        shell: pw.shell,
        policy: (today) => shadowPolicy(sp, today),
      };
    },
    generation: () => `${passwd.generation()}|${shadow.generation()}`,
    generationIsLocal: true,
  };
}

/** `-a getpwent`: the password field of passwd_file itself (an "x" there never matches). */
export function createGetpwentBackend(passwdFile: string): Backend {
  const passwd = new WatchedFile(passwdFile, parsePasswd);
  return {
    mech: 'getpwent',
    lookup(req: LookupRequest): PasswordRecord | undefined {
      const pw = passwd.get().get(req.login);
      if (!pw) return undefined;
      return { user: pw.name, secret: pw.passwd, secretIsPlaintext: false, system: true, mayRelay: true, uid: pw.uid, gid: pw.gid, home: pw.home, shell: pw.shell };
    },
    generation: () => passwd.generation(),
    generationIsLocal: true,
  };
}
