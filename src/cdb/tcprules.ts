/**
 * tcpserver's rules, compiled as tcprules compiles them: `address:allow` or
 * `address:deny`, then `,VAR=<d>value<d>` with any delimiter <d>. Data is
 * `D\0` for deny and `+VAR=value\0` per variable; `a-b` in one number of
 * the address expands to one record per value. Lines starting with # or
 * without a colon are skipped; trailing blanks and tabs are dropped. A line
 * tcprules would refuse is refused here too, with its number.
 */
export class RulesError extends Error {
  override readonly name = 'RulesError';
}

function expand(address: string): string[] {
  const dash = address.indexOf('-');
  if (dash < 0) return [address];
  let s = dash;
  while (s > 0 && /\d/.test(address[s - 1]!)) s--;
  let e = dash + 1;
  while (e < address.length && /\d/.test(address[e]!)) e++;
  const lo = address.slice(s, dash);
  const hi = address.slice(dash + 1, e);
  if (lo === '' || hi === '') throw new RulesError(`cannot read the range in ${JSON.stringify(address)}`);
  const out: string[] = [];
  for (let i = Number(lo); i <= Number(hi); i++) out.push(`${address.slice(0, s)}${i}${address.slice(e)}`);
  return out;
}

function instructions(text: string): string {
  let i: number;
  let data = '';
  if (text.startsWith('allow') && (text.length === 5 || text[5] === ',')) i = 5;
  else if (text.startsWith('deny') && (text.length === 4 || text[4] === ',')) {
    i = 4;
    data = 'D\0';
  } else throw new RulesError('instructions must start with allow or deny');
  while (i < text.length) {
    // text[i] is the comma before the next variable.
    const eq = text.indexOf('=', i + 1);
    if (eq < 0) throw new RulesError('a variable without =');
    const name = text.slice(i + 1, eq);
    const delim = text[eq + 1];
    if (delim === undefined) throw new RulesError(`${name}: no value`);
    const close = text.indexOf(delim, eq + 2);
    if (close < 0) throw new RulesError(`${name}: value not closed by ${delim}`);
    data += `+${name}=${text.slice(eq + 2, close)}\0`;
    i = close + 1;
    if (i < text.length && (text[i] !== ',' || i + 1 === text.length)) throw new RulesError(`${name}: junk after the value`);
  }
  return data;
}

export function compileRules(text: string): Array<[Buffer, Buffer]> {
  const records: Array<[Buffer, Buffer]> = [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, n) => {
    const line = raw.replace(/[ \t]+$/, '');
    if (line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon < 0) return;
    try {
      const data = Buffer.from(instructions(line.slice(colon + 1)), 'latin1');
      for (const key of expand(line.slice(0, colon))) records.push([Buffer.from(key, 'latin1'), data]);
    } catch (err) {
      throw new RulesError(`line ${n + 1}: ${(err as Error).message}: ${JSON.stringify(raw)}`);
    }
  });
  return records;
}

/** qmail's relay rule for one address, as vpopmail's open-smtp writes it. */
export function relayRule(ip: string): string {
  return `${ip}:allow,RELAYCLIENT="",RBLSMTPD=""`;
}
