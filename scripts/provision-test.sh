#!/usr/bin/env bash
# What `npm test` drives for real: Debian's clients and tools, and running
# MariaDB, PostgreSQL and Redis. Installs and starts whatever is missing (as
# root), does nothing when all is there, and otherwise names what is missing
# in one line. Run by `npm test` before the suite; never skips anything.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=(
  sasl2-bin     # testsaslauthd, saslauthd (the peer the tests and benchmark compare with), saslpasswd2
  whois         # mkpasswd: hashes made by libxcrypt
  passwd        # chpasswd: shadow files as admins make them
  db5.3-util    # db5.3_dump: the oracle for the Berkeley DB reader
  util-linux    # unshare, flock
  libcrypt1     # libxcrypt, loaded at run time
  ucspi-tcp     # tcpserver, tcprules: the checkpassword chain and the relay cdb
  dovecot-core  # Dovecot 2.3: checkpassword as its passdb
  dovecot-imapd # Dovecot's IMAP server: the server -a rimap asks (plain, STARTTLS, IMAPS)
  postfix       # a private instance asks the relay socketmap; postmap reads the text map
  swaks         # the SMTP client that tries to relay
  redis-server  # the shared relay store (tests use their own key prefixes)
  redis-tools   # redis-cli
  libldap-2.5-0 # libraries of the unpacked makemap (see below)
  libdb5.3
  libidn12 libspf2-2 # libraries of the unpacked Exim (see below) that postfix does not bring
  mariadb-server  # the vpopmail backend's MySQL side (tests create their own databases)
  postgresql      # the vpopmail backend's PostgreSQL side
  fail2ban        # its stock filters and fail2ban-regex read the auth log in the log-injection test
  slapd           # OpenLDAP's server: the tests start their own (-a ldap) with their own slapd.conf on private ports
  ldap-utils      # ldappasswd, ldapmodify, ldapwhoami: the directory changed as an admin changes it
  openssl         # the test CA for ldaps:// and StartTLS
  prometheus      # promtool check metrics validates the daemon's scrape; the server itself is not used
)
MAKEMAP_DIR=/var/tmp/authmux-sendmail-bin
EXIM_DIR=/var/tmp/authmux-exim
root=$([ "$(id -u)" = 0 ] && echo yes || echo no)

need() {
  echo "npm test: $1; run it as root once to install and start it (or do so by hand)" >&2
  exit 1
}

# slapd's package would make a directory of its own and start a server on
# port 389 with it; the tests need neither (they start theirs, with their own
# slapd.conf, on private ports), so it is installed unconfigured and starts none.
if [ "$root" = yes ] && ! dpkg-query -W -f='${db:Status-Status}' slapd 2>/dev/null | grep -qx installed; then
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
fi

missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$root" = yes ] || need "Debian packages missing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Sendmail's makemap, to show the relay text map is what it accepts. sendmail-bin
# cannot be installed beside postfix (both are the mail transport agent), so
# its package is unpacked into a directory of its own instead.
if [ ! -x /usr/sbin/makemap ] && [ ! -x "$MAKEMAP_DIR/usr/libexec/sendmail/makemap" ]; then
  [ "$root" = yes ] || need "Sendmail's makemap missing ($MAKEMAP_DIR)"
  rm -rf "$MAKEMAP_DIR.dl" && mkdir -p "$MAKEMAP_DIR.dl"
  (cd "$MAKEMAP_DIR.dl" && { apt-get download sendmail-bin >/dev/null 2>&1 || { apt-get update -qq && apt-get download sendmail-bin >/dev/null; }; })
  dpkg-deb -x "$MAKEMAP_DIR".dl/sendmail-bin_*.deb "$MAKEMAP_DIR"
  rm -rf "$MAKEMAP_DIR.dl"
fi

# Exim (exim4-daemon-heavy, for its dovecot authenticator) conflicts with
# postfix the same way: unpacked into its own directory, run with -C. Debian's
# build runs as Debian-exim, an account exim4-base would have made.
if [ ! -x "$EXIM_DIR/usr/sbin/exim4" ] || ! id Debian-exim >/dev/null 2>&1; then
  [ "$root" = yes ] || need "Exim missing ($EXIM_DIR) or no account Debian-exim"
  if [ ! -x "$EXIM_DIR/usr/sbin/exim4" ]; then
    rm -rf "$EXIM_DIR.dl" && mkdir -p "$EXIM_DIR.dl"
    (cd "$EXIM_DIR.dl" && { apt-get download exim4-daemon-heavy >/dev/null 2>&1 || { apt-get update -qq && apt-get download exim4-daemon-heavy >/dev/null; }; })
    dpkg-deb -x "$EXIM_DIR".dl/exim4-daemon-heavy_*.deb "$EXIM_DIR"
    # The tests run it as root; a set-uid root copy outside the package system would be one nobody updates.
    chmod u-s "$EXIM_DIR/usr/sbin/exim4"
    rm -rf "$EXIM_DIR.dl"
  fi
  id Debian-exim >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /var/spool/exim4 --shell /usr/sbin/nologin Debian-exim
fi

mariadb_up() { mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

# The servers the tests use: started when they are not running; one that cannot be started fails the run.
if ! mariadb_up || ! postgres_up || ! redis_up; then
  down=()
  mariadb_up || down+=(MariaDB)
  postgres_up || down+=(PostgreSQL)
  redis_up || down+=(Redis)
  [ "$root" = yes ] || need "not running: ${down[*]}"
  if ! mariadb_up; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  fi
  postgres_up || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  if ! redis_up; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/authmux-test.log
  fi
  for _ in $(seq 60); do
    mariadb_up && postgres_up && redis_up && break
    sleep 0.5
  done
  mariadb_up || { echo "npm test: MariaDB is not running and could not be started" >&2; exit 1; }
  postgres_up || { echo "npm test: PostgreSQL is not running and could not be started" >&2; exit 1; }
  redis_up || { echo "npm test: Redis is not running and could not be started" >&2; exit 1; }
fi

# The tests reach PostgreSQL as its superuser over 127.0.0.1 without a password. Debian's own
# pg_hba.conf asks for one there; a line of trust for that user on loopback, and only that, is added.
if ! psql -h 127.0.0.1 -U postgres -w -Atc 'select 1' postgres >/dev/null 2>&1; then
  [ "$root" = yes ] || need "PostgreSQL does not let postgres in over 127.0.0.1 without a password"
  hba=$(runuser -u postgres -- psql -Atc 'show hba_file')
  sed -i '1i host all postgres 127.0.0.1/32 trust  # added by authmux scripts/provision-test.sh for npm test' "$hba"
  runuser -u postgres -- psql -qc 'select pg_reload_conf()' >/dev/null
  psql -h 127.0.0.1 -U postgres -w -Atc 'select 1' postgres >/dev/null || { echo "npm test: PostgreSQL still refuses postgres over 127.0.0.1" >&2; exit 1; }
fi
