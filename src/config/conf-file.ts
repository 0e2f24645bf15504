import { ConfigError } from './errors.js';

export interface ConfEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/**
 * saslauthd.conf syntax: `key: value` a line, `#` comments and blank lines
 * skipped, the key lowercased, the colon straight after the key. A line that
 * breaks these rules is fatal, as it is for saslauthd.
 */
export function parseConfFile(text: string, file: string): ConfEntry[] {
  const entries: ConfEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_-]+)(:?)(.*)$/.exec(line);
    if (!m || m[2] !== ':') throw new ConfigError(`${file}:${n + 1}: expected "key: value", got ${JSON.stringify(raw)}`);
    const value = m[3]!.trim();
    if (value === '') throw new ConfigError(`${file}:${n + 1}: key ${m[1]} has no value`);
    entries.push({ key: m[1]!.toLowerCase(), value, line: n + 1 });
  }
  return entries;
}
