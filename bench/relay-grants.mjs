// Grants per second into each relay store, through the same tracker the
// daemon uses: N grants of distinct addresses, CONC of them in flight.
//   node bench/relay-grants.mjs WORKDIR N "1 16"
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSaslauthdArgs } from '../dist/src/config/config.js';
import { createRelayTracker } from '../dist/src/relay/index.js';

const [work, nText, concText] = process.argv.slice(2);
const N = Number(nText);
const quiet = { debug() {}, info() {}, warn() {}, error: (m) => console.error(m), close() {} };
const stores = {
  file: [`relay_file: ${join(work, 'bench-relayers')}`],
  redis: ['relay_store: redis', 'relay_redis_prefix: authmux-bench:'],
  'vpopmail-mysql': ['mech: vpopmail', 'vpopmail_sql: mysql://root@localhost/authmux_relay_bench?socket=/run/mysqld/mysqld.sock', 'relay_store: vpopmail'],
};

for (const conc of concText.split(' ').map(Number)) {
  for (const [name, lines] of Object.entries(stores)) {
    const conf = join(work, `relay-${name}.conf`);
    writeFileSync(conf, [...(lines[0].startsWith('mech') ? [] : ['mech: shadow']), ...lines].join('\n') + '\n');
    const inv = parseSaslauthdArgs(['-O', conf, '-m', join(work, 'relay-run')], process.env);
    const tracker = await createRelayTracker(inv.config, quiet);
    await tracker.expire(0);
    const lat = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: conc }, async () => {
      while (next < N) {
        const i = next++;
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const a = performance.now();
        await tracker.grant(ip, Math.floor(Date.now() / 1000));
        lat.push((performance.now() - a) * 1000);
      }
    }));
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    console.log(`RESULT label=grants-${name} conc=${conc} rps=${Math.round(N / secs)} p50_us=${Math.round(lat[lat.length >> 1])} p99_us=${Math.round(lat[Math.floor(lat.length * 0.99)])} n=${N}`);
    await tracker.expire(0);
    await tracker.close();
  }
}
process.exit(0);
