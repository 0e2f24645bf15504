#!/usr/bin/env bash
# -a sasldb: Authmux beside the real saslauthd on the same sasldb2 files, one
# run, same client. A 10-user and a 100,000-user file show that lookup cost
# does not grow with the file. Writes bench/results-sasldb.md. Needs root
# (unshare + bind mount: saslauthd 2.1.28 only reads /etc/sasldb2).
#
#   DUR=8 WARM=2 CONCS="1 8 32" bash bench/sasldb.sh
DUR=${DUR:-8}
source "$(dirname "$0")/common.sh"
RAW=$W/raw-sasldb.txt
: > "$RAW"

# Files: 10 users by saslpasswd2; 100,000 by db5.3_load (the same key and value
# layout saslpasswd2 writes, built in seconds instead of minutes).
make_small() {
  rm -f "$W/sasldb-10"; : > "$W/users-10.txt"
  for i in $(seq 0 9); do
    printf 'pw-small-%s' "$i" | saslpasswd2 -p -f "$W/sasldb-10" -c -u bench.test "s$i"
    echo "s$i:pw-small-$i:bench.test" >> "$W/users-10.txt"
  done
}
make_big() {
  rm -f "$W/sasldb-100k"
  awk 'BEGIN { for (i = 0; i < 100000; i++) { printf "b%d\\00bench.test\\00userPassword\npw-big-%d\n", i, i } }' |
    db5.3_load -T -t hash "$W/sasldb-100k"
  awk 'BEGIN { srand(7); for (i = 0; i < 300; i++) { n = int(rand() * 100000); printf "b%d:pw-big-%d:bench.test\n", n, n } }' > "$W/users-100k.txt"
}
make_small
make_big

for f in 10 100k; do
  dir=$W/run-sasl-sasldb-$f; rm -rf "$dir"; mkdir -p "$dir"
  unshare -m --propagation private sh -c "mount --bind $W/sasldb-$f /etc/sasldb2 && exec saslauthd -a sasldb -n 5 -m $dir"
  for _ in $(seq 50); do [ -s "$dir/saslauthd.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$dir/saslauthd.pid")")
  adir=$W/run-authmux-sasldb-$f; rm -rf "$adir"
  printf 'sasldb_path: %s\n' "$W/sasldb-$f" > "$W/sasldb-$f.conf"
  bin/authmux saslauthd -f -a sasldb -n 5 -m "$adir" -O "$W/sasldb-$f.conf" 2> "$W/authmux-sasldb-$f.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$adir/mux" ] && break; sleep 0.1; done
  # serve_processes: 2 on the same file.
  adir2=$W/run-authmux2-sasldb-$f; rm -rf "$adir2"
  printf 'sasldb_path: %s\nserve_processes: 2\n' "$W/sasldb-$f" > "$W/sasldb2p-$f.conf"
  bin/authmux saslauthd -f -a sasldb -n 5 -m "$adir2" -O "$W/sasldb2p-$f.conf" 2> "$W/authmux2-sasldb-$f.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$adir2/mux" ] && break; sleep 0.1; done
done

for c in $CONCS; do
  for f in 10 100k; do
    for d in sasl authmux authmux2; do
      "$W/saslbench" -q -s "$W/run-$d-sasldb-$f/mux" -u "$W/users-$f.txt" -c "$c" -d "$DUR" -W "$WARM" -w 0.1 -L "sasldb-$f-users/$d/c$c" | tee -a "$RAW"
    done
  done
done
node bench/summarize.mjs "$RAW" > bench/results-sasldb.md
cat bench/results-sasldb.md
