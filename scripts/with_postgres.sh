#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server.
#
# Usage: scripts/with_postgres.sh CMD [ARGS...]
#
# Starts PostgreSQL (as the `postgres` user, trust auth, loopback only) in a fresh temporary
# directory, creates the database `autolearn`, exports
#   AUTOLEARN_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:PORT/autolearn
# runs CMD, then stops the server and deletes its directory, also when CMD fails or the
# script is interrupted. Exits with CMD's status. Port 55432 unless taken (then a free one).
# Installs the Debian `postgresql` package first if its binaries are missing (needs root).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

find_pgbin() {
  local bindir=""
  if command -v pg_config >/dev/null 2>&1; then
    bindir="$(pg_config --bindir)"
  fi
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  fi
  if [ -n "$bindir" ] && [ -x "$bindir/initdb" ]; then
    echo "$bindir"
  fi
}

PGBIN="$(find_pgbin)"
if [ -z "$PGBIN" ]; then
  echo "with_postgres: PostgreSQL not found; installing the 'postgresql' package" >&2
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  PGBIN="$(find_pgbin)"
  if [ -z "$PGBIN" ]; then
    echo "with_postgres: no initdb found after installing postgresql" >&2
    exit 1
  fi
fi

port_in_use() {
  python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket()
# PostgreSQL binds with SO_REUSEADDR too, so sockets in TIME_WAIT do not count as "in use".
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

PORT=55432
if port_in_use "$PORT"; then
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi

PGDIR="$(mktemp -d)"
chown postgres:postgres "$PGDIR"
STARTED=0

cleanup() {
  if [ "$STARTED" -eq 1 ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || {
      # pg_ctl failed: stop the postmaster we started, by the pid in its data directory.
      if [ -f "$PGDIR/data/postmaster.pid" ]; then
        kill -TERM "$(head -n 1 "$PGDIR/data/postmaster.pid")" 2>/dev/null || true
      fi
    }
  fi
  rm -rf "$PGDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 \
  >"$PGDIR/initdb.log" 2>&1 || { cat "$PGDIR/initdb.log" >&2; exit 1; }
STARTED=1
# Another process may take the port between the check above and the start: then retry on
# a port the kernel picks.
for attempt in 1 2 3; do
  if runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR" -w start >/dev/null; then
    break
  fi
  if [ "$attempt" -eq 3 ]; then cat "$PGDIR/log" >&2; exit 1; fi
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
done
"$PGBIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -qc "create database autolearn;" >/dev/null

export AUTOLEARN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/autolearn"
echo "with_postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') at $AUTOLEARN_TEST_POSTGRES_URL" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
