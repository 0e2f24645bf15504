import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Replaces `path` whole: temp file, fsync, rename, fsync of the directory. Readers see the old file or the new one. */
export function replaceFile(path: string, body: Buffer, mode = 0o644): void {
  const tmp = `${path}.tmp.${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    for (let off = 0; off < body.length; ) off += writeSync(fd, body, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
