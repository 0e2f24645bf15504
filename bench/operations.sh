#!/usr/bin/env bash
# The cached path with the per-address penalty and the metrics endpoint on,
# beside the same daemon with both off, in one run. saslbench sends four
# fields, no client address, so the penalty's part measured is its check
# for one; every request is counted in the metrics. Writes
# bench/results-operations.md. Needs root.
#
#   DUR=10 WARM=2 CONCS="1 8 32" bash bench/operations.sh
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

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
printf 'penalty: no\n' > "$W/ops-off.conf"
printf 'penalty: yes\nmetrics_listen: 127.0.0.1:%s\n' "$port" > "$W/ops-on.conf"
for name in off on; do
  dir=$W/run-ops-$name; rm -rf "$dir"
  AUTHMUX_CONFIG= bin/authmux saslauthd -f -a shadow -c -t 3600 -n 5 -m "$dir" -O "$W/ops-$name.conf" 2> "$W/ops-$name.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$dir/mux" ] && break; sleep 0.1; done
  "$W/saslbench" -q -s "$dir/mux" -u "$W/ops-users.txt" -c 4 -n $((NUSERS * 4)) -L prime > /dev/null
done
for c in $CONCS; do
  for name in off on; do
    "$W/saslbench" -q -s "$W/run-ops-$name/mux" -u "$W/ops-users.txt" -c "$c" -d "$DUR" -W "$WARM" -L "ops/$name/c$c" | tee -a "$RAW"
  done
done
curl -sf "http://127.0.0.1:$port/metrics" | grep -c '^authmux_' > "$W/ops-metric-lines.txt" || true

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M') UTC on this machine; Authmux -a shadow -c -n 5, the same daemon with penalty and metrics off and on, same saslbench client and users, one run."
  echo
  echo '| conc | off req/s | on req/s | ratio | off p99 µs | on p99 µs |'
  echo '|---:|---:|---:|---:|---:|---:|'
  for c in $CONCS; do
    off=$(grep "label=ops/off/c$c " "$RAW"); on=$(grep "label=ops/on/c$c " "$RAW")
    v() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
    ro=$(v "$off" rps); rn=$(v "$on" rps)
    echo "| $c | ${ro%.*} | ${rn%.*} | $(awk -v a="$rn" -v b="$ro" 'BEGIN { printf "%.2f", a / b }') | $(v "$off" p99_us) | $(v "$on" p99_us) |"
  done
} > bench/results-operations.md
cat bench/results-operations.md
