#!/usr/bin/env bash
# Make sure what the tests talk to is there: PostgreSQL on 127.0.0.1:5432 (user
# postgres, trust), MariaDB on 127.0.0.1:3306 (root, empty password) and Debian's
# headless Chromium. Each is started if installed but stopped, and installed from
# Debian's packages first where missing (only when running as root).
set -uo pipefail

log() { echo "services: $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if ! is_root; then log "cannot install $* (not root): install it, or run as root"; return 1; fi
  if [ $apt_updated = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() {  # wait_for NAME CMD...: up to 60 s
  local name=$1; shift
  for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$name did not come up"; return 1
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_start() {
  local v; v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$v" ] && pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 || true
}
if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  log "installing PostgreSQL"
  if apt_install postgresql postgresql-client; then
    v=$(ls /etc/postgresql | sort -V | tail -1)
    # A fresh cluster asks for passwords on TCP; the test setup is trust on loopback.
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "/etc/postgresql/$v/main/pg_hba.conf"
    pg_start
  fi
fi
if ! pg_up; then log "starting PostgreSQL"; pg_start; fi
wait_for PostgreSQL pg_up && log "PostgreSQL is up"

my_up() { mysqladmin -h 127.0.0.1 -P 3306 -u root --password= ping >/dev/null 2>&1; }
my_start() {
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >/dev/null 2>&1 || true
}
fresh_mariadb=0
if [ ! -x /usr/sbin/mariadbd ]; then
  log "installing MariaDB"
  apt_install mariadb-server mariadb-client && fresh_mariadb=1
fi
if ! my_up; then log "starting MariaDB"; my_start; fi
if [ $fresh_mariadb = 1 ]; then
  wait_for "MariaDB socket" mariadb -u root -e "select 1"
  # Debian's root logs in by unix socket only; the tests use TCP with an empty password.
  mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
fi
wait_for MariaDB my_up && log "MariaDB is up"

if ! command -v chromium >/dev/null 2>&1; then
  log "installing Chromium (Debian package)"
  apt_install chromium || log "Chromium missing: browser tests will fail in CI"
fi
exit 0
