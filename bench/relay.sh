#!/usr/bin/env bash
# Relay tracking: grants per second into each store (file, Redis, vpopmail's
# table on MariaDB) and socketmap lookups per second against the daemon with
# 100,000 live grants in the file store, concurrency 1 and 16, one run.
# Writes bench/results-relay.md.
#
#   DUR=8 N=3000 bash bench/relay.sh
DUR=${DUR:-8}
N=${N:-3000}
CONCS=${CONCS:-"1 16"}
source "$(dirname "$0")/common.sh"
RAW=$W/raw-relay.txt
: > "$RAW"
gcc -O2 -pthread -o "$W/smbench" bench/c/smbench.c

mariadb -uroot -e "DROP DATABASE IF EXISTS authmux_relay_bench; CREATE DATABASE authmux_relay_bench;
  CREATE TABLE authmux_relay_bench.relay (ip_addr VARCHAR(39) NOT NULL DEFAULT '', timestamp VARCHAR(12), PRIMARY KEY (ip_addr)) DEFAULT CHARSET=latin1;"
node bench/relay-grants.mjs "$W" "$N" "$CONCS" | tee -a "$RAW"
mariadb -uroot -e "DROP DATABASE authmux_relay_bench"

# 100,000 live grants, then the lookups: 90 % of the keys hold a grant.
now=$(date +%s)
node -e '
const [n, now, dir] = process.argv.slice(1);
const fs = require("fs");
const live = [], keys = [];
for (let i = 0; i < Number(n); i++) { const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`; live.push(`${ip} ${now}\n`); keys.push(ip); }
for (let i = 0; i < Number(n) / 9; i++) keys.push(`172.16.${(i >> 8) & 255}.${i & 255}`);
fs.writeFileSync(`${dir}/sm-relayers`, live.join(""));
fs.writeFileSync(`${dir}/sm-keys`, keys.join("\n") + "\n");
' 100000 "$now" "$W"
rm -rf "$W/sm-run"
printf 'mech: shadow\nrelay_file: %s\nrelay_socketmap: %s\n' "$W/sm-relayers" "$W/sm.socketmap" > "$W/sm.conf"
bin/authmux saslauthd -f -m "$W/sm-run" -O "$W/sm.conf" 2> "$W/sm.log" &
pids+=("$!")
for _ in $(seq 100); do [ -S "$W/sm.socketmap" ] && break; sleep 0.1; done
for c in $CONCS; do
  "$W/smbench" "$W/sm.socketmap" "$W/sm-keys" "$c" "$DUR" socketmap-file-100k | tee -a "$RAW"
done

node - "$RAW" "$(node -v)" > bench/results-relay.md <<'JS'
const [raw, nodeVersion] = process.argv.slice(2);
const rows = require('fs').readFileSync(raw, 'utf8').split('\n').filter((l) => l.startsWith('RESULT')).map((l) =>
  Object.fromEntries(l.split(' ').slice(1).map((kv) => kv.split('='))));
const out = [`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (${process.arch}, Node ${nodeVersion}), one run.`, '',
  '| what | conc | per second | p50 µs | p99 µs |', '|---|---:|---:|---:|---:|'];
for (const r of rows) out.push(`| ${r.label} | ${r.conc} | ${r.rps} | ${r.p50_us} | ${r.p99_us} |`);
console.log(out.join('\n'));
JS
cat bench/results-relay.md
