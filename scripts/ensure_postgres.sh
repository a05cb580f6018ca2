#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 (the concurrency tests need it): install it from
# Debian if absent, start the cluster if it is down, wait until it accepts connections.
set -euo pipefail
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
ready() { pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; }
if command -v pg_isready >/dev/null 2>&1 && ready; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "[postgres] installing postgresql from Debian"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
echo "[postgres] starting cluster $version/main"
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 60); do
  if ready; then
    # Trust auth for local test connections as root, as on the project's machines.
    if ! psql -h "$PGHOST" -p "$PGPORT" -U root -d postgres -c 'select 1' >/dev/null 2>&1; then
      $SUDO -u postgres psql -q -c "DO \$\$ BEGIN CREATE ROLE root SUPERUSER LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;" || true
    fi
    exit 0
  fi
  sleep 1
done
echo "[postgres] PostgreSQL did not come up on $PGHOST:$PGPORT" >&2
exit 1
