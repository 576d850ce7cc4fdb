# Sourced by the bench scripts: a throwaway PostgreSQL 15 cluster and an isola server with a
# fresh data directory, both on free loopback ports, removed on exit.
#
#   start_servers "PG_EXTRA_OPTIONS"   sets WORK, PG_PORT, ISOLA_PORT, ISOLA_PID
PGBIN=/usr/lib/postgresql/15/bin

# A port free now, for PostgreSQL (which cannot take one the kernel picks and report it).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
as_pg() { if [[ $(id -u) == 0 ]]; then su postgres -c "$*"; else bash -c "$*"; fi; }

stop_servers() {
  [[ -n "${ISOLA_PID:-}" ]] && kill "$ISOLA_PID" 2>/dev/null || true
  if [[ -f "$WORK/pg/postmaster.pid" ]]; then
    as_pg "$PGBIN/pg_ctl -D $WORK/pg -m immediate stop" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}

start_servers() {
  local pg_options=$1
  WORK=$(mktemp -d)
  PG_PORT=$(free_port)
  trap stop_servers EXIT
  # PostgreSQL 15 at initdb defaults (runs as postgres when we are root).
  if [[ $(id -u) == 0 ]]; then chown postgres "$WORK"; chmod 755 "$WORK"; fi
  as_pg "$PGBIN/initdb -D $WORK/pg -U isola --auth=trust >/dev/null"
  as_pg "$PGBIN/pg_ctl -D $WORK/pg -l $WORK/pg.log -w -o '-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 $pg_options' start >/dev/null"
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U isola -d postgres -c "CREATE DATABASE isola" >/dev/null
  # isola: a fresh data directory, default durability, on a port the kernel picks, read from
  # the line it prints once it listens ("isola listening on 127.0.0.1:PORT, data directory ...").
  ./target/release/isola serve --listen "127.0.0.1:0" --data "$WORK/isola-data" >"$WORK/isola.log" 2>&1 &
  ISOLA_PID=$!
  ISOLA_PORT=
  for _ in $(seq 100); do
    ISOLA_PORT=$(sed -n 's/^isola listening on [^,]*:\([0-9]*\),.*/\1/p' "$WORK/isola.log")
    [[ -n "$ISOLA_PORT" ]] && break
    kill -0 "$ISOLA_PID" 2>/dev/null || { cat "$WORK/isola.log" >&2; echo "isola exited before listening" >&2; return 1; }
    sleep 0.1
  done
  [[ -n "$ISOLA_PORT" ]] || { echo "isola did not start" >&2; return 1; }
}
