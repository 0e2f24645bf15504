#!/usr/bin/env bash
# Measures Authmux beside the real saslauthd in one run, with the same client
# (saslbench from shared/bench), the same users and the same concurrency, and
# writes bench/results.md. Needs root (it creates bench users in /etc/shadow,
# which is where saslauthd -a shadow looks), gcc and sasl2-bin.
#
#   DUR=10 WARM=2 CONCS="1 8 32" bash bench/run.sh
source "$(dirname "$0")/common.sh"
NUSERS=${NUSERS:-200}
RSS_REQUESTS=${RSS_REQUESTS:-1000000}
RAW=$W/raw.txt
: > "$RAW"

# Bench users in the system files, $6$ and $y$ made by chpasswd, as an admin would.
: > "$W/users-sha512.txt"; : > "$W/users-yescrypt.txt"
pw_sha=(); pw_yes=()
for i in $(seq 0 $((NUSERS - 1))); do
  for kind in s y; do
    u=$(printf 'amb%s%03d' "$kind" "$i")
    id "$u" >/dev/null 2>&1 || useradd -M -N -s /usr/sbin/nologin "$u"
    p="pw-$kind-$i-$(printf '%05d' $((i * 7919 % 100000)))"
    if [ "$kind" = s ]; then echo "$u:$p" >> "$W/users-sha512.txt"; pw_sha+=("$u:$p"); else echo "$u:$p" >> "$W/users-yescrypt.txt"; pw_yes+=("$u:$p"); fi
  done
done
printf '%s\n' "${pw_sha[@]}" | chpasswd -c SHA512
printf '%s\n' "${pw_yes[@]}" | chpasswd -c YESCRYPT

MECH=shadow
start_saslauthd sasl
start_saslauthd sasl-cache "-c -t 3600"
start_authmux authmux
start_authmux authmux-cache "-c -t 3600"
# The same with serve_processes: 2 (two processes accepting on the socket, -n 5 each).
printf 'serve_processes: 2\n' > "$W/serve2.conf"
start_authmux authmux2 "-O $W/serve2.conf"
start_authmux authmux2-cache "-c -t 3600 -O $W/serve2.conf"

# The platform's ceiling: a bare Node server answering OK, in one process and in two.
node bench/ceiling.mjs "$W/ceiling1.sock" 1 & pids+=("$!")
node bench/ceiling.mjs "$W/ceiling2.sock" 2 & pids+=("$!")
for _ in $(seq 50); do [ -S "$W/ceiling1.sock" ] && [ -S "$W/ceiling2.sock" ] && break; sleep 0.1; done

bench() { # label, socket, users, conc
  "$W/saslbench" -q -s "$2" -u "$3" -c "$4" -d "$DUR" -W "$WARM" -L "$1" | tee -a "$RAW"
}
prime() { # socket, users
  "$W/saslbench" -q -s "$1" -u "$2" -c 4 -n $((NUSERS * 4)) -L prime > /dev/null
}
prime "$W/run-sasl-cache/mux" "$W/users-sha512.txt"
prime "$W/run-authmux-cache/mux" "$W/users-sha512.txt"
# Each process fills its own cache: primed twice over, so both have seen every user.
prime "$W/run-authmux2-cache/mux" "$W/users-sha512.txt"; prime "$W/run-authmux2-cache/mux" "$W/users-sha512.txt"

for c in $CONCS; do
  for d in sasl authmux authmux2; do bench "shadow-sha512/$d/c$c" "$W/run-$d/mux" "$W/users-sha512.txt" "$c"; done
  for d in sasl authmux authmux2; do bench "shadow-yescrypt/$d/c$c" "$W/run-$d/mux" "$W/users-yescrypt.txt" "$c"; done
  for d in sasl-cache authmux-cache authmux2-cache; do bench "cache-hits/${d%-cache}/c$c" "$W/run-$d/mux" "$W/users-sha512.txt" "$c"; done
  for n in 1 2; do bench "cache-hits/node$n/c$c" "$W/ceiling$n.sock" "$W/users-sha512.txt" "$c"; done
done

# Start-up: from the command to the first answered request, five times, the median.
startup=()
for i in 1 2 3 4 5; do
  dir=$W/run-startup; rm -rf "$dir"
  t0=$(date +%s%N)
  AUTHMUX_CONFIG= bin/authmux saslauthd -f -a shadow -m "$dir" 2> /dev/null & sp=$!
  until "$W/saslbench" -q -s "$dir/mux" -u "$W/users-sha512.txt" -c 1 -n 1 -T 1 -L startup 2> /dev/null | grep -q ' ok=1 '; do sleep 0.005; done
  startup+=($(( ($(date +%s%N) - t0) / 1000000 )))
  kill "$sp"; wait "$sp" 2> /dev/null || true
done
echo "STARTUP ms=$(printf '%s\n' "${startup[@]}" | sort -n | sed -n 3p) all=${startup[*]}" | tee -a "$RAW"

# Memory after many requests: cache hits are the cheapest, so the most requests per second.
"$W/saslbench" -q -s "$W/run-authmux-cache/mux" -u "$W/users-sha512.txt" -c 8 -n "$RSS_REQUESTS" -L rss | tee -a "$RAW"
am_pid=${pids[3]}
# Measured into a variable first, so that a failure stops the script (set -e) instead of leaving the line empty.
mem=$(node bench/resident.mjs "$am_pid")
echo "RSS requests=$RSS_REQUESTS $mem hwm_kb=$(awk '/VmHWM/ {print $2}' /proc/$am_pid/status)" | tee -a "$RAW"
# serve_processes: 2: the first and its serving process together.
"$W/saslbench" -q -s "$W/run-authmux2-cache/mux" -u "$W/users-sha512.txt" -c 8 -n "$RSS_REQUESTS" -L rss2 | tee -a "$RAW"
am2=${pids[5]}
# Summed RSS counts node's own code (~44 MB a process) once per process; the union counts each page once.
mem=$(node bench/resident.mjs "$am2" $(pgrep -P "$am2"))
echo "RSS2 requests=$RSS_REQUESTS $mem" | tee -a "$RAW"

node bench/summarize.mjs "$RAW" > bench/results.md
cat bench/results.md
