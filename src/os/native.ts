import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The packages with a compiled part (a .node file), which no bundle can hold. */
export type NativePackage = 'koffi' | 'unix-dgram';

// Node's lookup from this file finds the checkout's node_modules; the single
// executable has no node_modules beside it, so its entry names a directory.
let lookupFrom: string | undefined = import.meta.url;
let chosenDir: string | undefined;

/** Makes requireNative look in `dir`/node_modules (the single executable's install directory). */
export function loadNativeFrom(dir: string): void {
  chosenDir = dir;
  lookupFrom = join(dir, 'package.json');
}

/** Loads koffi or unix-dgram, with an error that says where it was looked for. */
export function requireNative(name: NativePackage): unknown {
  try {
    if (!lookupFrom) throw new Error('no install directory was chosen');
    return createRequire(lookupFrom)(name);
  } catch (err) {
    const where = chosenDir === undefined ? '' : ` from ${join(chosenDir, 'node_modules')} (AUTHMUX_HOME can name a directory that holds it)`;
    throw new Error(`cannot load ${name}${where}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
  }
}
