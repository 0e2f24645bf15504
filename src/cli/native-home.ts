import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where a system-wide install keeps the packages with compiled parts. */
export const SYSTEM_HOME = '/usr/lib/authmux';

const holdsKoffi = (dir: string) => existsSync(join(dir, 'node_modules', 'koffi', 'package.json'));

/**
 * The directory whose node_modules the single executable loads koffi and
 * unix-dgram from (a .node file cannot be packed into it): AUTHMUX_HOME when
 * set, else the checkout it was packaged in while that still holds them (the
 * copy over /usr/sbin/saslauthd works at once on the machine that built it),
 * else /usr/lib/authmux.
 */
export function nativeHome(env: NodeJS.ProcessEnv, packagedIn: string | undefined, hasNative: (dir: string) => boolean = holdsKoffi): string {
  const chosen = env['AUTHMUX_HOME'];
  if (chosen) return chosen;
  if (packagedIn && hasNative(packagedIn)) return packagedIn;
  return SYSTEM_HOME;
}
