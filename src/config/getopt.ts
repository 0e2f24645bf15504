import { ConfigError } from './errors.js';

export interface ParsedOptions {
  /** Each option in order; repeated options keep their last value in `last`. */
  readonly seen: ReadonlyArray<{ readonly flag: string; readonly value?: string }>;
  readonly last: ReadonlyMap<string, string | true>;
  readonly operands: readonly string[];
}

/**
 * POSIX getopt over an option string such as "a:cd": clustered flags (-cd),
 * attached or separate values (-ashadow, -a shadow), "--" ends options, and
 * the first operand ends them too, as in the C programs being replaced.
 */
export function getopt(argv: readonly string[], spec: string): ParsedOptions {
  const takesValue = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i]!;
    if (ch === ':') continue;
    takesValue.set(ch, spec[i + 1] === ':');
  }
  const seen: Array<{ flag: string; value?: string }> = [];
  const last = new Map<string, string | true>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    for (let j = 1; j < arg.length; j++) {
      const flag = arg[j]!;
      const needs = takesValue.get(flag);
      if (needs === undefined) throw new ConfigError(`unknown option -${flag}`);
      if (!needs) {
        seen.push({ flag });
        last.set(flag, true);
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= argv.length) throw new ConfigError(`option -${flag} requires a value`);
        value = argv[++i]!;
      }
      seen.push({ flag, value });
      last.set(flag, value);
      break;
    }
  }
  return { seen, last, operands: argv.slice(i) };
}
