// The SQL driver's own ceiling for vpopmail's lookup: the same query Authmux
// sends (SELECT ... WHERE pw_name = ? AND pw_domain = ?), through the same
// driver and pool size, CONC at a time in a loop, for DUR seconds, over the
// users in USERS (saslbench's user:password:domain lines). Prints one RESULT line in
// saslbench's form, so bench/summarize.mjs reads it beside the rest.
//
//   node bench/sql-loop.mjs mysql|pgsql URL USERS CONC DUR WARM LABEL
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../package.json', import.meta.url));
const [driver, url, usersFile, concArg, durArg, warmArg, label] = process.argv.slice(2);
const conc = Number(concArg);
// saslbench's users file: user:password:realm, the realm being the vpopmail domain.
const users = readFileSync(usersFile, 'latin1').split('\n').filter(Boolean).map((l) => {
  const [user, , domain] = l.split(':');
  return [user, domain];
});
const columns = 'pw_name, pw_domain, pw_passwd, pw_gid, pw_dir, pw_shell';
let query;
let close;
if (driver === 'mysql') {
  const mysql = require('mysql2/promise');
  const u = new URL(url);
  const pool = mysql.createPool({
    socketPath: u.searchParams.get('socket') ?? undefined,
    user: decodeURIComponent(u.username),
    database: u.pathname.slice(1),
    connectionLimit: 5,
    charset: 'LATIN1_SWEDISH_CI',
  });
  const sql = `SELECT ${columns} FROM \`vpopmail\` WHERE pw_name = ? AND pw_domain = ?`;
  query = async (user, domain) => (await pool.execute(sql, [user, domain]))[0];
  close = () => pool.end();
} else {
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: url, max: 5 });
  const text = `SELECT ${columns} FROM "vpopmail" WHERE pw_name = $1 AND pw_domain = $2`;
  query = async (user, domain) => (await pool.query({ name: 'vpopmail-lookup', text, values: [user, domain] })).rows;
  close = () => pool.end();
}

let measuring = false;
let stop = false;
const latencies = [];
let found = 0;
let missing = 0;
async function worker(seed) {
  for (let i = seed; !stop; i += 7919) {
    const [user, domain] = users[i % users.length];
    const t0 = process.hrtime.bigint();
    const rows = await query(user, domain);
    if (measuring) {
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (rows.length === 1) found++;
      else missing++;
    }
  }
}
const workers = Array.from({ length: conc }, (_, i) => worker(i * 104729));
await new Promise((r) => setTimeout(r, Number(warmArg) * 1000));
measuring = true;
const started = performance.now();
await new Promise((r) => setTimeout(r, Number(durArg) * 1000));
measuring = false;
const secs = (performance.now() - started) / 1000;
stop = true;
await Promise.all(workers);
await close();
latencies.sort((a, b) => a - b);
const q = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0);
console.log(`RESULT label=${label} rps=${(latencies.length / secs).toFixed(1)} p50_us=${q(0.5)} p90_us=${q(0.9)} p99_us=${q(0.99)} max_us=${q(1)} ok=${found} no=${missing} err=0 mismatch=0 conc=${conc} secs=${secs.toFixed(3)}`);
