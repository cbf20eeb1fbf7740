#!/usr/bin/env bash
# PostgreSQL for the sink-rules check, from Debian's packages: a throwaway
# cluster in $SRCI_RUN/postgres on 127.0.0.1:${SRCI_PG_PORT:-15432}, user
# sragent, no password (trust on loopback). Stopped by its postmaster's PID.
#
#   bash .ci/postgres/postgres.sh start|stop|dsn
set -euo pipefail
dir=${SRCI_RUN:?}/postgres
port=${SRCI_PG_PORT:-15432}
say() { echo "postgres: $*" >&2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$d" ]; then
    say "installing postgresql from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null; }
    d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$d"
}

# The server refuses to run as root: run it as the postgres user the
# package creates (or as ourselves when not root).
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case ${1:-} in
start)
  bin=$(bindir)
  rm -rf "$dir" && mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chmod o+x "$SRCI_RUN" # mktemp -d is 0700: the server's user must reach its folder
    chown postgres "$dir"
  fi
  t0=$SECONDS
  as_owner "$bin/initdb" -D "$dir/data" -U sragent --auth=trust >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  say "ready at 127.0.0.1:$port in $((SECONDS - t0)) s (pid $(head -n 1 "$dir/data/postmaster.pid"))"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -n 1 "$dir/data/postmaster.pid")
    as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null && grep -q postgres "/proc/$pid/comm" 2>/dev/null; then kill -KILL "$pid"; fi
  fi
  ;;
dsn)
  echo "host=127.0.0.1 port=$port user=sragent dbname=postgres"
  ;;
*)
  echo "usage: $0 start|stop|dsn" >&2
  exit 2
  ;;
esac
