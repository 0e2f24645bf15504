// Turns saslbench RESULT lines (label scenario/daemon/cN) into the README's results table.
import { readFileSync } from 'node:fs';

const raw = readFileSync(process.argv[2], 'utf8').split('\n');
const rows = new Map();
let rss = '';
let rss2 = '';
let pamRss = '';
let startup = '';
for (const line of raw) {
  if (line.startsWith('RSS ')) rss = line;
  if (line.startsWith('RSS2 ')) rss2 = line;
  if (line.startsWith('PAMRSS ')) pamRss = line;
  if (line.startsWith('STARTUP ')) startup = line;
  const m = /^RESULT label=(\S+) (.*)$/.exec(line);
  if (!m || !m[1].includes('/')) continue;
  const [scenario, daemon, conc] = m[1].split('/');
  const kv = Object.fromEntries(m[2].split(' ').map((p) => p.split('=')));
  const key = `${scenario}|${conc}`;
  if (!rows.has(key)) rows.set(key, {});
  rows.get(key)[daemon] = kv;
}
const out = [];
out.push(`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (${process.arch}, Node ${process.version}); saslauthd 2.1.28 and Authmux both -n 5, same saslbench client, same users, one run.`);
out.push('');
out.push('| scenario | conc | saslauthd req/s | Authmux req/s | ratio | saslauthd p99 µs | Authmux p99 µs | p99 ratio | mismatches |');
out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
// `authmux2`: the same daemon with serve_processes: 2.
for (const [variant, suffix] of [['authmux', ''], ['authmux2', ', 2 processes']]) {
  for (const [key, r] of rows) {
    const [scenario, conc] = key.split('|');
    const s = r.sasl, a = r[variant];
    if (!s || !a) continue;
    const ratio = (Number(a.rps) / Number(s.rps)).toFixed(2);
    const p99 = (Number(a.p99_us) / Number(s.p99_us)).toFixed(2);
    out.push(`| ${scenario}${suffix} | ${conc.slice(1)} | ${Number(s.rps).toFixed(0)} | ${Number(a.rps).toFixed(0)} | ${ratio} | ${s.p99_us} | ${a.p99_us} | ${p99} | ${Number(s.mismatch) + Number(s.err)} / ${Number(a.mismatch) + Number(a.err)} |`);
  }
}
// Rows measured against a ceiling in the same run: `bare` (the SQL driver's own loop), `node1`/`node2` (a Node
// server that answers OK and does nothing else, in one process or two).
const ceilings = [...rows].filter(([, r]) => r.authmux && (r.bare || r.node1 || r.node2));
if (ceilings.length > 0) {
  out.push('', '| scenario | conc | Authmux processes | Authmux req/s | ceiling | ceiling req/s | Authmux / ceiling |', '|---|---:|---:|---:|---|---:|---:|');
  const names = { bare: 'the driver alone, same query', node1: 'bare Node, 1 process', node2: 'bare Node, 2 processes' };
  for (const [key, r] of ceilings) {
    const [scenario, conc] = key.split('|');
    for (const [variant, n] of [['authmux', 1], ['authmux2', 2]]) {
      const a = r[variant];
      if (!a) continue;
      for (const c of ['bare', 'node1', 'node2']) {
        if (!r[c] || (c.startsWith('node') && c !== `node${n}`)) continue;
        out.push(`| ${scenario} | ${conc.slice(1)} | ${n} | ${Number(a.rps).toFixed(0)} | ${names[c]} | ${Number(r[c].rps).toFixed(0)} | ${(Number(a.rps) / Number(r[c].rps)).toFixed(2)} |`);
      }
    }
  }
}
const mb = (kb) => `${(Number(kb) / 1024).toFixed(1)} MB`;
if (rss) {
  const m = /requests=(\d+) rss_kb=(\d+) pss_kb=(\d+) union_kb=(\d+) hwm_kb=(\d+)/.exec(rss);
  if (m) out.push('', `Authmux RSS after ${Number(m[1]).toLocaleString('en')} cached requests: ${mb(m[2])} (peak ${mb(m[5])}).`);
}
if (rss2) {
  const m = /requests=(\d+) rss_kb=(\d+) pss_kb=(\d+) union_kb=(\d+)/.exec(rss2);
  if (m) {
    out.push('', `With serve_processes: 2, both processes together after ${Number(m[1]).toLocaleString('en')} more cached requests: ${mb(m[4])} resident, each page counted once`);
    out.push(`(bench/resident.mjs); their RSS summed, counting node's shared code in each, ${mb(m[2])}; PSS summed ${mb(m[3])}.`);
  }
}
if (startup) {
  const m = /ms=(\d+) all=(.*)$/.exec(startup);
  if (m) out.push('', `Start-up, from the command to the first answered request: ${m[1]} ms (median of ${m[2].trim().split(' ').length}: ${m[2].trim().split(' ').join(', ')} ms).`);
}
if (pamRss) {
  const m = /saslauthd_kb=(\d+) authmux_kb=(\d+)/.exec(pamRss);
  if (m) out.push('', `Memory after the run, every process of the uncached daemons: saslauthd ${(Number(m[1]) / 1024).toFixed(1)} MB, Authmux with its PAM workers ${(Number(m[2]) / 1024).toFixed(1)} MB.`);
}
console.log(out.join('\n'));
