#!/usr/bin/env bash
# authmux-checkpassword start-up: wall time per successful check, fork to
# exit, of each mode beside `node -e 0` and a C program that reads fd 3 and
# execs (the floor of any checkpassword), in one run. Writes
# bench/results-checkpassword.md. Needs root (the shadow row switches uid).
#
#   RUNS=200 bash bench/checkpassword.sh
RUNS=${RUNS:-200}
source "$(dirname "$0")/common.sh"
RAW=$W/raw-checkpassword.txt
: > "$RAW"
gcc -O2 -o "$W/cp-timer" bench/c/cp-timer.c
gcc -O2 -o "$W/cp-exec" bench/c/cp-exec.c

# A private shadow user (MD5-crypt: the start-up, not the hash, is measured).
etc=$W/cp-etc/etc
mkdir -p "$etc"
printf 'benchcp:x:4711:4711::/tmp:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n' > "$etc/passwd"
printf 'benchcp:!:19000:0:99999:7:::\n' > "$etc/shadow"
echo 'benchcp:bench-pw' | chpasswd -R "$W/cp-etc" -c MD5
common="passwd_file: $etc/passwd
shadow_file: $etc/shadow"
printf 'mech: shadow\n%s\n' "$common" > "$W/cp-shadow.conf"
printf 'mech: sasldb\nsasldb_path: %s\nvirtual_user: nobody\nvirtual_home: /tmp\n%s\n' "$REPO/example/sasldb" "$common" > "$W/cp-sasldb.conf"
sock=$W/cp-run/checkpassword
rm -rf "$W/cp-run"
printf 'mech: sasldb\nsasldb_path: %s\nvirtual_user: nobody\nvirtual_home: /tmp\ncheckpassword_socket: %s\n%s\n' "$REPO/example/sasldb" "$sock" "$common" > "$W/cp-daemon.conf"
bin/authmux saslauthd -f -m "$W/cp-run" -O "$W/cp-daemon.conf" 2> "$W/cp-daemon.log" &
pids+=("$!")
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done

time_it() { # label config login password cmd...
  local label=$1 conf=$2 login=$3 pw=$4
  shift 4
  AUTHMUX_CONFIG=$conf "$W/cp-timer" "$label" "$RUNS" "$login" "$pw" "$@" | tee -a "$RAW"
}
node_bin=$(command -v node)
time_it c-read-fd3-exec /dev/null x y "$W/cp-exec" /bin/true
time_it node-e-0 /dev/null x y "$node_bin" -e 0
time_it direct-sasldb "$W/cp-sasldb.conf" alice@example.com alice-secret bin/authmux-checkpassword /bin/true
time_it direct-shadow-md5 "$W/cp-shadow.conf" benchcp bench-pw bin/authmux-checkpassword /bin/true
time_it daemon-sasldb "$W/cp-daemon.conf" alice@example.com alice-secret bin/authmux-checkpassword /bin/true

node - "$RAW" "$(node -v)" > bench/results-checkpassword.md <<'JS'
const [raw, nodeVersion] = process.argv.slice(2);
const rows = require('fs').readFileSync(raw, 'utf8').split('\n').filter((l) => l.startsWith('RESULT')).map((l) =>
  Object.fromEntries(l.split(' ').slice(1).map((kv) => kv.split('='))));
const base = rows.find((r) => r.label === 'node-e-0');
const out = [`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (${process.arch}, Node ${nodeVersion}); ${rows[0].runs} runs each, one after another, in one run.`, '',
  '| program | p50 ms | p99 ms | mean ms | p50 / node -e 0 | failed |', '|---|---:|---:|---:|---:|---:|'];
for (const r of rows) out.push(`| ${r.label} | ${(r.p50_us / 1000).toFixed(1)} | ${(r.p99_us / 1000).toFixed(1)} | ${(r.mean_us / 1000).toFixed(1)} | ${(r.p50_us / base.p50_us).toFixed(2)} | ${r.failed} |`);
console.log(out.join('\n'));
JS
cat bench/results-checkpassword.md
