#!/usr/bin/env bash
# authmux-checkpassword start-up: wall time per successful check, fork to
# exit, of each mode beside `node -e 0` and a C program that reads fd 3 and
# execs (the floor of any checkpassword), in one run. Writes
# bench/results-checkpassword.md. Needs root (the shadow row switches uid).
#
#   RUNS=200 ROUND=20 bash bench/checkpassword.sh
# The programs take turns, ROUND runs at a time, so drift in the machine's
# load falls on all of them alike.
RUNS=${RUNS:-200}
ROUND=${ROUND:-20}
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
  AUTHMUX_CONFIG=$conf "$W/cp-timer" "$label" "$ROUND" "$login" "$pw" "$@" >> "$RAW"
}
node_bin=$(command -v node)
for round in $(seq $((RUNS / ROUND))); do
  echo "round $round" >&2
  time_it c-read-fd3-exec /dev/null x y "$W/cp-exec" /bin/true
  time_it node-e-0 /dev/null x y "$node_bin" -e 0
  time_it direct-sasldb "$W/cp-sasldb.conf" alice@example.com alice-secret bin/authmux-checkpassword /bin/true
  time_it direct-shadow-md5 "$W/cp-shadow.conf" benchcp bench-pw bin/authmux-checkpassword /bin/true
  time_it daemon-sasldb "$W/cp-daemon.conf" alice@example.com alice-secret bin/authmux-checkpassword /bin/true
  # Under Dovecot's default address-space limit for auth processes the program starts without the JIT.
  time_it daemon-sasldb-as256M "$W/cp-daemon.conf" alice@example.com alice-secret "$(command -v prlimit)" --as=268435456 bin/authmux-checkpassword /bin/true
done

node - "$RAW" "$(node -v)" > bench/results-checkpassword.md <<'JS'
const [raw, nodeVersion] = process.argv.slice(2);
const runs = new Map();
const failed = new Map();
for (const line of require('fs').readFileSync(raw, 'utf8').split('\n')) {
  const [label, a, b] = line.split(' ');
  if (!label) continue;
  if (a === 'failed') failed.set(label, (failed.get(label) ?? 0) + Number(b));
  else runs.set(label, [...(runs.get(label) ?? []), Number(a)]);
}
const stat = (xs) => {
  const s = [...xs].sort((p, q) => p - q);
  return { n: s.length, p50: s[Math.floor(s.length / 2)], p99: s[Math.floor(s.length * 0.99)], mean: s.reduce((p, q) => p + q, 0) / s.length };
};
const base = stat(runs.get('node-e-0'));
const ms = (us) => (us / 1000).toFixed(1);
const out = [`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (${process.arch}, Node ${nodeVersion}); ${base.n} runs of each, taking turns in rounds, one run.`, '',
  '| program | p50 ms | p99 ms | mean ms | p50 / node -e 0 | failed |', '|---|---:|---:|---:|---:|---:|'];
for (const [label, xs] of runs) {
  const s = stat(xs);
  out.push(`| ${label} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.mean)} | ${(s.p50 / base.p50).toFixed(2)} | ${failed.get(label) ?? 0} |`);
}
console.log(out.join('\n'));
JS
cat bench/results-checkpassword.md
