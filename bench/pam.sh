#!/usr/bin/env bash
# -a pam beside the real saslauthd -a pam in one run: the same service file
# (pam_unix alone, as Debian's common-auth comes down to), the same users
# ($y$ and $6$, made by chpasswd), both -n 5, uncached and with -c.
# Writes bench/results-pam.md. Needs root.
#
#   DUR=10 WARM=2 CONCS="1 8 32" bash bench/pam.sh
source "$(dirname "$0")/common.sh"
NUSERS=${NUSERS:-200}
RAW=$W/raw-pam.txt
: > "$RAW"
SERVICE=authmux-bench
printf 'auth required pam_unix.so\naccount required pam_unix.so\n' > /etc/pam.d/$SERVICE
trap 'cleanup; rm -f /etc/pam.d/$SERVICE' EXIT

: > "$W/pam-users-sha512.txt"; : > "$W/pam-users-yescrypt.txt"
pw=()
for i in $(seq 0 $((NUSERS - 1))); do
  for kind in s y; do
    u=$(printf 'amp%s%03d' "$kind" "$i")
    id "$u" >/dev/null 2>&1 || useradd -M -N -s /usr/sbin/nologin "$u"
    p="pam-$kind-$i-$(printf '%05d' $((i * 7919 % 100000)))"
    if [ "$kind" = s ]; then echo "$u:$p" >> "$W/pam-users-sha512.txt"; else echo "$u:$p" >> "$W/pam-users-yescrypt.txt"; fi
  done
done
chpasswd -c SHA512 < "$W/pam-users-sha512.txt"
chpasswd -c YESCRYPT < "$W/pam-users-yescrypt.txt"

MECH=pam
start_saslauthd pam-sasl
start_saslauthd pam-sasl-cache "-c -t 3600"
start_authmux pam-authmux
start_authmux pam-authmux-cache "-c -t 3600"

bench() { # label, socket, users, conc
  "$W/saslbench" -q -S "$SERVICE" -s "$2" -u "$3" -c "$4" -d "$DUR" -W "$WARM" -L "$1" | tee -a "$RAW"
}
for d in sasl-cache authmux-cache; do
  "$W/saslbench" -q -S "$SERVICE" -s "$W/run-pam-$d/mux" -u "$W/pam-users-sha512.txt" -c 4 -n $((NUSERS * 4)) -L prime > /dev/null
done

for c in $CONCS; do
  for d in sasl authmux; do bench "pam-sha512/$d/c$c" "$W/run-pam-$d/mux" "$W/pam-users-sha512.txt" "$c"; done
  for d in sasl authmux; do bench "pam-yescrypt/$d/c$c" "$W/run-pam-$d/mux" "$W/pam-users-yescrypt.txt" "$c"; done
  for d in sasl-cache authmux-cache; do bench "pam-cached/${d%-cache}/c$c" "$W/run-pam-$d/mux" "$W/pam-users-sha512.txt" "$c"; done
done

# Memory of each uncached daemon with its workers (Authmux's PAM workers, saslauthd's forked children).
tree_rss() { ps -o rss= -p "$1" --ppid "$1" | awk '{ s += $1 } END { print s }'; }
echo "PAMRSS saslauthd_kb=$(tree_rss "${pids[0]}") authmux_kb=$(tree_rss "${pids[2]}")" | tee -a "$RAW"

node bench/summarize.mjs "$RAW" > bench/results-pam.md
cat bench/results-pam.md
