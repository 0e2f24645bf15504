// Kept apart from log.ts so that the checkpassword program, which lives for one login, escapes its lines without loading pino.

/**
 * Makes a value safe inside a one-line log: control characters are escaped,
 * so no client can forge a line, and so are the brackets that delimit
 * saslauthd's `[field=value]` parts, so no client can forge a field either
 * (a fail2ban filter on `[client=...]` must only ever see the real address).
 */
export function logSafe(value: string): string {
  return value.replace(/[\x00-\x1f\x7f\\[\]]/g, (c) => (c === '\\' ? '\\\\' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

/** A template tag for log lines: every interpolated value goes through logSafe, the literal text stays as written. */
export function logLine(text: TemplateStringsArray, ...values: unknown[]): string {
  let out = text[0]!;
  values.forEach((v, i) => (out += logSafe(String(v)) + text[i + 1]!));
  return out;
}
