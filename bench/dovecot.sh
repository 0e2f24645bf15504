#!/usr/bin/env bash
# The Dovecot auth-client protocol: Authmux's dovecot_socket beside the real
# Dovecot 2.3 auth process, same users ($6$ hashes: Authmux reads them from a
# shadow file, Dovecot from a passwd-file), same client, one run. AUTH PLAIN
# over one connection per client thread kept open (as Postfix does) and over
# a new connection per login (as Exim does); uncached, and cached (Authmux
# -c, Dovecot auth_cache_size). Writes bench/results-dovecot.md. Needs root.
#
#   DUR=5 WARM=1 CONCS="1 8 32" bash bench/dovecot.sh
DUR=${DUR:-5}
WARM=${WARM:-1}
CONCS=${CONCS:-"1 8 32"}
source "$(dirname "$0")/common.sh"
NUSERS=${NUSERS:-200}
RAW=$W/raw-dovecot.txt
: > "$RAW"
D=$W/dv
rm -rf "$D"; mkdir -p "$D/etc"; chmod 755 "$D" "$D/etc"
gcc -O2 -pthread -o "$W/dovecot-auth-bench" bench/c/dovecot-auth-bench.c

# The same users and hashes for both.
: > "$D/etc/passwd"; : > "$D/etc/shadow"; : > "$D/users.passwd-file"; : > "$D/users.txt"
for i in $(seq 0 $((NUSERS - 1))); do
  u=$(printf 'dvb%03d' "$i"); p="pw-$i-$((i * 7919 % 100000))"
  h=$(printf '%s' "$p" | mkpasswd -m sha-512 --stdin)
  echo "$u:x:$((20000 + i)):$((20000 + i))::/tmp:/bin/sh" >> "$D/etc/passwd"
  echo "$u:$h:19000:0:99999:7:::" >> "$D/etc/shadow"
  echo "$u:{SHA512-CRYPT}$h" >> "$D/users.passwd-file"
  echo "$u:$p" >> "$D/users.txt"
done
chmod 644 "$D/users.passwd-file"

start_authmux() { # name, extra flags
  local dir=$D/run-$1; rm -rf "$dir"
  printf 'passwd_file: %s\nshadow_file: %s\ndovecot_socket: %s/auth\n' "$D/etc/passwd" "$D/etc/shadow" "$dir" > "$D/$1.conf"
  bin/authmux saslauthd -f -a shadow -n 5 -m "$dir" -O "$D/$1.conf" ${2:-} 2> "$D/$1.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$dir/auth" ] && break; sleep 0.1; done
}
start_dovecot() { # name, auth_cache_size
  local dir=$D/$1; mkdir -p "$dir/run" "$dir/state"
  cat > "$dir/dovecot.conf" <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain
auth_cache_size = $2
auth_cache_ttl = 1 hour
passdb {
  driver = passwd-file
  args = $D/users.passwd-file
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/tmp
}
service auth {
  unix_listener auth-bench {
    mode = 0666
  }
}
CONF
  dovecot -c "$dir/dovecot.conf"
  for _ in $(seq 100); do [ -S "$dir/run/auth-bench" ] && break; sleep 0.1; done
}
stop_dovecots() { for n in dovecot dovecot-cache; do doveadm -c "$D/$n/dovecot.conf" stop 2>/dev/null || true; done; }
trap 'cleanup; stop_dovecots' EXIT

start_authmux authmux
start_authmux authmux-cache "-c -t 3600"
start_dovecot dovecot 0
start_dovecot dovecot-cache 10M

bench() { # label socket conc mode
  "$W/dovecot-auth-bench" -s "$2" -u "$D/users.txt" -c "$3" -d "$DUR" -W "$WARM" -m "$4" -L "$1" | tee -a "$RAW"
}
# The cached rows start warm: every user logged in once on each.
for s in "$D/run-authmux-cache/auth" "$D/dovecot-cache/run/auth-bench"; do
  "$W/dovecot-auth-bench" -s "$s" -u "$D/users.txt" -c 4 -d 3 -W 0 -m persist -L prime > /dev/null
done
for c in $CONCS; do
  for m in persist perconn; do
    bench "plain-$m/dovecot/c$c" "$D/dovecot/run/auth-bench" "$c" "$m"
    bench "plain-$m/authmux/c$c" "$D/run-authmux/auth" "$c" "$m"
    bench "plain-$m-cached/dovecot/c$c" "$D/dovecot-cache/run/auth-bench" "$c" "$m"
    bench "plain-$m-cached/authmux/c$c" "$D/run-authmux-cache/auth" "$c" "$m"
  done
done

node - "$RAW" "$(dovecot --version)" > bench/results-dovecot.md <<'JS'
const [raw, dv] = process.argv.slice(2);
const rows = new Map();
for (const line of require('fs').readFileSync(raw, 'utf8').split('\n')) {
  const m = /^RESULT label=(\S+) (.*)$/.exec(line);
  if (!m || !m[1].includes('/')) continue;
  const [scenario, daemon, conc] = m[1].split('/');
  const kv = Object.fromEntries(m[2].split(' ').map((p) => p.split('=')));
  const key = `${scenario}|${conc}`;
  if (!rows.has(key)) rows.set(key, {});
  rows.get(key)[daemon] = kv;
}
const out = [`Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (${process.arch}, Node ${process.version}); Dovecot ${dv} auth process (passwd-file) and Authmux (-a shadow -n 5), same client, same users, one run.`, '',
  '| scenario | conc | Dovecot logins/s | Authmux logins/s | ratio | Dovecot p99 µs | Authmux p99 µs | p99 ratio | failed (Dovecot / Authmux) |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|'];
for (const [key, r] of rows) {
  const [scenario, conc] = key.split('|');
  const d = r.dovecot, a = r.authmux;
  if (!d || !a) continue;
  out.push(`| ${scenario} | ${conc.slice(1)} | ${Number(d.rps).toFixed(0)} | ${Number(a.rps).toFixed(0)} | ${(a.rps / d.rps).toFixed(2)} | ${d.p99_us} | ${a.p99_us} | ${(a.p99_us / d.p99_us).toFixed(2)} | ${Number(d.no) + Number(d.err)} / ${Number(a.no) + Number(a.err)} |`);
}
console.log(out.join('\n'));
JS
cat bench/results-dovecot.md
