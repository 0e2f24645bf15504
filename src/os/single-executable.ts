import { getAsset, isSea } from 'node:sea';

/**
 * Whether this process is the packaged executable (dist/saslauthd, `npm run
 * package`) rather than node running dist/: there, process.execPath is the
 * daemon itself, Node takes no flags of its own on the command line, and only
 * built-in modules load without an explicit path.
 */
export function singleExecutable(): boolean {
  return isSea();
}

/** A script packed into the executable beside its entry, for code that must run from source text (a worker thread). */
export function embeddedScript(name: string): string {
  return getAsset(name, 'utf8');
}
