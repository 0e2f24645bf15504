#!/usr/bin/env bash
# The cached path with the per-address penalty and the metrics endpoint on,
# beside the same daemon with both off, in one run: on the saslauthd socket
# (saslbench, which sends no client address: the penalty's part is its check
# for one) and on the Dovecot socket with a rip from 250 addresses (the
# penalty looks each up in its table). Every request is counted in the
# metrics. Each cell is the median of REPS runs, off and on alternating, so
# a drift of the machine falls on both. Writes bench/results-operations.md.
# Needs root.
#
#   DUR=5 WARM=1 REPS=3 CONCS="1 8 32" bash bench/operations.sh
DUR=${DUR:-5}
WARM=${WARM:-1}
REPS=${REPS:-3}
source "$(dirname "$0")/common.sh"
NUSERS=${NUSERS:-200}
RAW=$W/raw-operations.txt
: > "$RAW"
: > "$W/ops-users.txt"
for i in $(seq 0 $((NUSERS - 1))); do
  u=$(printf 'amo%03d' "$i")
  id "$u" >/dev/null 2>&1 || useradd -M -N -s /usr/sbin/nologin "$u"
  echo "$u:ops-$i-$((i * 7919 % 100000))" >> "$W/ops-users.txt"
done
chpasswd -c SHA512 < "$W/ops-users.txt"
gcc -O2 -pthread -o "$W/dovecot-auth-bench" bench/c/dovecot-auth-bench.c

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
printf 'penalty: no\ndovecot_socket: %s\n' "$W/run-ops-off/auth" > "$W/ops-off.conf"
printf 'penalty: yes\nmetrics_listen: 127.0.0.1:%s\ndovecot_socket: %s\n' "$port" "$W/run-ops-on/auth" > "$W/ops-on.conf"
declare -A daemon
for name in off on; do
  dir=$W/run-ops-$name; rm -rf "$dir"
  AUTHMUX_CONFIG= bin/authmux saslauthd -f -a shadow -c -t 3600 -n 5 -m "$dir" -O "$W/ops-$name.conf" 2> "$W/ops-$name.log" &
  pids+=("$!"); daemon[$name]=$!
  for _ in $(seq 100); do [ -S "$dir/mux" ] && [ -S "$dir/auth" ] && break; sleep 0.1; done
  "$W/saslbench" -q -s "$dir/mux" -u "$W/ops-users.txt" -c 4 -n $((NUSERS * 4)) -L prime > /dev/null
done

# CPU ticks (user + system) of a process: what each request costs the
# daemon, steadier than the rate on a machine whose two cores the client shares.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
measure() { # door, daemon, conc, rep
  local label="ops/$1/$2/c$3/r$4" t0 out
  t0=$(ticks "${daemon[$2]}")
  if [ "$1" = saslauthd ]; then
    out=$("$W/saslbench" -q -s "$W/run-ops-$2/mux" -u "$W/ops-users.txt" -c "$3" -d "$DUR" -W "$WARM" -L "$label")
  else
    out=$("$W/dovecot-auth-bench" -a -s "$W/run-ops-$2/auth" -u "$W/ops-users.txt" -c "$3" -d "$DUR" -W "$WARM" -L "$label")
  fi
  # Warm-up included on both sides: the ticks cover the client's whole run, so per request over (ok + no) * (DUR + WARM) / DUR.
  local n; n=$(echo "$out" | tr ' ' '\n' | awk -F= '$1 == "ok" || $1 == "no" { s += $2 } END { print s }')
  echo "$out cpu_us=$(awk -v t=$(( $(ticks "${daemon[$2]}") - t0 )) -v hz="$(getconf CLK_TCK)" -v n="$n" -v d="$DUR" -v w="$WARM" 'BEGIN { printf "%.1f", t / hz * 1e6 / (n * (d + w) / d) }')"
}
for door in saslauthd dovecot; do
  for c in $CONCS; do
    for rep in $(seq "$REPS"); do
      if [ $((rep % 2)) = 1 ]; then order="off on"; else order="on off"; fi
      for name in $order; do measure "$door" "$name" "$c" "$rep" | tee -a "$RAW"; done
    done
  done
done
metric_lines=$(curl -sf "http://127.0.0.1:$port/metrics" | grep -c '^authmux_' || true)

med() { # door, daemon, conc, key: the median over the reps
  grep "label=ops/$1/$2/c$3/" "$RAW" | tr ' ' '\n' | awk -F= -v k="$4" '$1 == k { print $2 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on this machine; Authmux -a shadow -c -n 5, the same daemon with penalty and metrics off and on, same clients and users, one run; median of $REPS runs of ${DUR} s each, off and on alternating. The metrics endpoint served $metric_lines authmux_ lines at the end."
  echo
  echo '| socket | conc | off req/s | on req/s | ratio | off p99 µs | on p99 µs | off CPU µs/req | on CPU µs/req |'
  echo '|---|---:|---:|---:|---:|---:|---:|---:|---:|'
  for door in saslauthd dovecot; do
    for c in $CONCS; do
      ro=$(med "$door" off "$c" rps); rn=$(med "$door" on "$c" rps)
      echo "| $door$([ "$door" = dovecot ] && echo ' (rip)') | $c | ${ro%.*} | ${rn%.*} | $(awk -v a="$rn" -v b="$ro" 'BEGIN { printf "%.2f", a / b }') | $(med "$door" off "$c" p99_us) | $(med "$door" on "$c" p99_us) | $(med "$door" off "$c" cpu_us) | $(med "$door" on "$c" cpu_us) |"
    done
  done
} > bench/results-operations.md
cat bench/results-operations.md
