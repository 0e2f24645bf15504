#!/usr/bin/env bash
# -a ldap beside the real saslauthd -a ldap in one run: one private slapd
# (mdb, loopback), the same users ({SSHA} passwords), the same keys (bind
# method: search as a service account, then bind as the user), both -n 5,
# uncached and with -c -t 3600. Cached, saslauthd answers from memory alone;
# so does Authmux with ldap_cache_ttl: 3600 (ldap-bind-cached), while with
# its default (0) it still reads each entry's change stamp (ldap-bind-stamped,
# beside the same saslauthd). Writes bench/results-ldap.md. Needs root
# (slapd's tools), slapd and ldap-utils.
#
#   DUR=10 WARM=2 CONCS="1 8 32" NUSERS=1000 bash bench/ldap.sh
source "$(dirname "$0")/common.sh"
command -v slapd >/dev/null || { echo "install slapd and ldap-utils" >&2; exit 1; }
NUSERS=${NUSERS:-1000}
RAW=$W/raw-ldap.txt
: > "$RAW"
LD=$W/slapd
rm -rf "$LD" && mkdir -p "$LD/db"
SUFFIX=dc=bench,dc=example
PORT=${LDAP_PORT:-38389}

cat > "$LD/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $LD/slapd.pid
database mdb
suffix "$SUFFIX"
rootdn "cn=admin,$SUFFIX"
rootpw admin-secret
directory $LD/db
maxsize 268435456
index uid eq
access to attrs=userPassword by anonymous auth by * none
access to * by * read
EOF

# Users with {SSHA} passwords (what slappasswd writes by default), made in one go.
node - "$NUSERS" "$SUFFIX" "$LD/users.ldif" "$W/ldap-users.txt" <<'EOF'
const { createHash, randomBytes } = require('node:crypto');
const { writeFileSync } = require('node:fs');
const [n, suffix, ldif, users] = [Number(process.argv[2]), process.argv[3], process.argv[4], process.argv[5]];
const out = [`dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: bench\n`,
  `dn: ou=people,${suffix}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: cn=reader,${suffix}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: reader-secret\n`];
const lines = [];
for (let i = 0; i < n; i++) {
  const uid = `lb${String(i).padStart(5, '0')}`;
  const pw = `ldap-${i}-${(i * 7919) % 100000}`;
  const salt = randomBytes(8);
  const ssha = Buffer.concat([createHash('sha1').update(pw).update(salt).digest(), salt]).toString('base64');
  out.push(`dn: uid=${uid},ou=people,${suffix}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: Bench\nuserPassword: {SSHA}${ssha}\n`);
  lines.push(`${uid}:${pw}`);
}
writeFileSync(ldif, out.join('\n'));
writeFileSync(users, lines.join('\n') + '\n');
EOF
slapadd -q -f "$LD/slapd.conf" -l "$LD/users.ldif"
slapd -f "$LD/slapd.conf" -h "ldap://127.0.0.1:$PORT/"
for _ in $(seq 100); do [ -s "$LD/slapd.pid" ] && ldapsearch -x -H "ldap://127.0.0.1:$PORT/" -b "$SUFFIX" -s base '(objectClass=*)' 1.1 >/dev/null 2>&1 && break; sleep 0.1; done
trap 'cleanup; [ -s "$LD/slapd.pid" ] && kill "$(cat "$LD/slapd.pid")"' EXIT

# The same keys for both: saslauthd reads them from the file its -O names, Authmux too.
CONF=$W/ldap-saslauthd.conf
cat > "$CONF" <<EOF
ldap_servers: ldap://127.0.0.1:$PORT/
ldap_search_base: ou=people,$SUFFIX
ldap_filter: (uid=%u)
ldap_bind_dn: cn=reader,$SUFFIX
ldap_password: reader-secret
EOF

# Authmux's cache that answers alone, as saslauthd's does (saslauthd does not read this key).
ALONE=$W/ldap-authmux-alone.conf
{ cat "$CONF"; echo 'ldap_cache_ttl: 3600'; } > "$ALONE"

start_saslauthd() { # name, extra flags
  local dir=$W/run-ldap-$1; rm -rf "$dir"; mkdir -p "$dir"
  saslauthd -a ldap -O "$CONF" -n 5 -m "$dir" ${2:-}
  for _ in $(seq 50); do [ -S "$dir/mux" ] && [ -s "$dir/saslauthd.pid" ] && break; sleep 0.1; done
  pids+=("$(cat "$dir/saslauthd.pid")")
}
start_authmux() { # name, extra flags, config
  local dir=$W/run-ldap-$1; rm -rf "$dir"
  bin/authmux saslauthd -f -a ldap -O "${3:-$CONF}" -n 5 -m "$dir" ${2:-} 2> "$W/ldap-$1.log" &
  pids+=("$!")
  for _ in $(seq 100); do [ -S "$dir/mux" ] && break; sleep 0.1; done
}
start_saslauthd sasl
start_saslauthd sasl-cache "-c -t 3600"
start_authmux authmux
start_authmux authmux-cache "-c -t 3600" "$ALONE"
start_authmux authmux-stamped "-c -t 3600"

bench() { # label, socket, conc
  "$W/saslbench" -q -s "$2" -u "$W/ldap-users.txt" -w 0.1 -c "$3" -d "$DUR" -W "$WARM" -L "$1" | tee -a "$RAW"
}
# The cached daemons see every user once before they are measured.
for d in sasl-cache authmux-cache authmux-stamped; do
  "$W/saslbench" -q -s "$W/run-ldap-$d/mux" -u "$W/ldap-users.txt" -o -c 4 -n "$NUSERS" -L prime > /dev/null
done

for c in $CONCS; do
  for d in sasl authmux; do bench "ldap-bind/$d/c$c" "$W/run-ldap-$d/mux" "$c"; done
  for d in sasl-cache authmux-cache; do bench "ldap-bind-cached/${d%-cache}/c$c" "$W/run-ldap-$d/mux" "$c"; done
  bench "ldap-bind-stamped/sasl/c$c" "$W/run-ldap-sasl-cache/mux" "$c"
  bench "ldap-bind-stamped/authmux/c$c" "$W/run-ldap-authmux-stamped/mux" "$c"
done

node bench/summarize.mjs "$RAW" > bench/results-ldap.md
cat bench/results-ldap.md
