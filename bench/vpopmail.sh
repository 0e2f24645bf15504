#!/usr/bin/env bash
# -a vpopmail: 100,000 accounts (DES and MD5-crypt) in vpopmail's table on the
# machine's MariaDB and PostgreSQL, served by Authmux with and without the
# cache, each cell measured right after the same users in a sasldb2 served by
# the real saslauthd (the ratio's reference), one run, same client. Writes
# bench/results-vpopmail.md, with the SQL driver alone running the same
# lookup at the same concurrency (bench/sql-loop.mjs) beside the uncached rows.
# Needs root (unshare + bind mount for saslauthd).
#
#   DUR=6 WARM=1 CONCS="1 16" bash bench/vpopmail.sh
DUR=${DUR:-6}
WARM=${WARM:-1}
CONCS=${CONCS:-"1 16"}
source "$(dirname "$0")/common.sh"
RAW=$W/raw-vpopmail.txt
: > "$RAW"
N=${N:-100000}
DB=authmux_bench

node bench/make-vpopmail-users.mjs "$W" "$N"
cols="pw_name VARCHAR(64) NOT NULL, pw_domain VARCHAR(96) NOT NULL, pw_passwd VARCHAR(128), pw_uid INT, pw_gid INT, pw_gecos VARCHAR(64), pw_dir VARCHAR(160), pw_shell VARCHAR(20), pw_clear_passwd VARCHAR(128), PRIMARY KEY (pw_name, pw_domain)"
mariadb -uroot -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB; USE $DB; CREATE TABLE vpopmail ($cols) DEFAULT CHARSET=latin1;
  LOAD DATA LOCAL INFILE '$W/vpopmail-rows.tsv' INTO TABLE vpopmail;" --local-infile=1
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql -q -h 127.0.0.1 -U postgres -d $DB -c "CREATE TABLE vpopmail ($cols)" -c "\\copy vpopmail FROM '$W/vpopmail-rows.tsv'" -c "ANALYZE vpopmail"
rm -f "$W/sasldb-vpop"; db5.3_load -T -t hash "$W/sasldb-vpop" < "$W/vpopmail-sasldb.txt"

dir=$W/run-sasl-vpop; rm -rf "$dir"; mkdir -p "$dir"
unshare -m --propagation private sh -c "mount --bind $W/sasldb-vpop /etc/sasldb2 && exec saslauthd -a sasldb -n 5 -m $dir"
for _ in $(seq 50); do [ -s "$dir/saslauthd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$dir/saslauthd.pid")")

start_authmux() { # name url cache [more config]
  local adir=$W/run-authmux-$1
  rm -rf "$adir"
  printf 'mech: vpopmail\nvpopmail_sql: %s\ncache: %s\n%s\n' "$2" "$3" "${4:-}" > "$W/$1.conf"
  bin/authmux saslauthd -f -n 5 -m "$adir" -O "$W/$1.conf" 2> "$W/authmux-$1.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$adir/mux" ] && break; sleep 0.1; done
}
start_authmux mysql "mysql://root@localhost/$DB?socket=/run/mysqld/mysqld.sock" no
start_authmux mysql-cached "mysql://root@localhost/$DB?socket=/run/mysqld/mysqld.sock" yes
start_authmux pgsql "postgres://postgres@127.0.0.1:5432/$DB" no
start_authmux pgsql-cached "postgres://postgres@127.0.0.1:5432/$DB" yes
# Uncached, with serve_processes: 2 (rows marked "2 processes").
start_authmux mysql2 "mysql://root@localhost/$DB?socket=/run/mysqld/mysqld.sock" no "serve_processes: 2"
start_authmux pgsql2 "postgres://postgres@127.0.0.1:5432/$DB" no "serve_processes: 2"

for c in $CONCS; do
  # The driver alone, the same lookup, same concurrency: what the SQL path costs without Authmux.
  node bench/sql-loop.mjs mysql "mysql://root@localhost/$DB?socket=/run/mysqld/mysqld.sock" "$W/vpopmail-users-des.txt" "$c" "$DUR" "$WARM" "vpopmail-mysql-des/bare/c$c" | tee -a "$RAW"
  node bench/sql-loop.mjs pgsql "postgres://postgres@127.0.0.1:5432/$DB" "$W/vpopmail-users-des.txt" "$c" "$DUR" "$WARM" "vpopmail-pgsql-des/bare/c$c" | tee -a "$RAW"
  for hash in des md5; do
    for d in mysql mysql-cached pgsql pgsql-cached; do
      label="vpopmail-$d-$hash"
      "$W/saslbench" -q -s "$W/run-sasl-vpop/mux" -u "$W/vpopmail-users-$hash.txt" -c "$c" -d "$DUR" -W "$WARM" -w 0.1 -L "$label/sasl/c$c" | tee -a "$RAW"
      "$W/saslbench" -q -s "$W/run-authmux-$d/mux" -u "$W/vpopmail-users-$hash.txt" -c "$c" -d "$DUR" -W "$WARM" -w 0.1 -L "$label/authmux/c$c" | tee -a "$RAW"
      if [ "$hash" = des ] && [ -d "$W/run-authmux-${d}2" ]; then
        "$W/saslbench" -q -s "$W/run-authmux-${d}2/mux" -u "$W/vpopmail-users-$hash.txt" -c "$c" -d "$DUR" -W "$WARM" -w 0.1 -L "$label/authmux2/c$c" | tee -a "$RAW"
      fi
    done
  done
done
node bench/summarize.mjs "$RAW" | sed 's/saslauthd req\/s/saslauthd-sasldb req\/s/; s/saslauthd p99/saslauthd-sasldb p99/' > bench/results-vpopmail.md
cat bench/results-vpopmail.md
mariadb -uroot -e "DROP DATABASE $DB"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE $DB WITH (FORCE)"
