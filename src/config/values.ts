import { ConfigError } from './errors.js';

// Parsers for configuration values: each names where a bad value came from.

export function parseBool(value: string, where: string): boolean {
  const v = value.toLowerCase();
  if (['yes', 'true', 'on', '1'].includes(v)) return true;
  if (['no', 'false', 'off', '0'].includes(v)) return false;
  throw new ConfigError(`${where}: expected yes or no, got ${JSON.stringify(value)}`);
}

export function parseInteger(value: string, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`${where}: expected a whole number, got ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(`${where}: ${n} is out of range ${min}..${max}`);
  return n;
}

/** Seconds, decimals allowed; returns milliseconds. */
export function parseSeconds(value: string, where: string, minMs: number): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new ConfigError(`${where}: expected seconds, got ${JSON.stringify(value)}`);
  const ms = Math.round(Number(value) * 1000);
  if (ms < minMs) throw new ConfigError(`${where}: must be at least ${minMs / 1000} s`);
  return ms;
}

/** A list of words separated by spaces or commas. */
export function parseWords(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

export function parseChoice<T extends string>(value: string, where: string, choices: readonly T[]): T {
  const v = value.toLowerCase() as T;
  if (!choices.includes(v)) throw new ConfigError(`${where}: expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return v;
}

/** A file mode in octal, as chmod takes it (`660` or `0660`). */
export function parseMode(value: string, where: string): number {
  if (!/^0?[0-7]{3}$/.test(value)) throw new ConfigError(`${where}: expected an octal mode such as 0660, got ${JSON.stringify(value)}`);
  return parseInt(value, 8);
}
