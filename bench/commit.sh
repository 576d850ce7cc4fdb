#!/usr/bin/env bash
# Commit throughput with synchronous_commit on: isola vs PostgreSQL 15, side by side.
#
# Both servers run on this machine with default durability (fsync on, synchronous_commit on);
# pgbench runs a one-row UPDATE per transaction (1,000 rows, so contention is not the limit) at
# 1, 8, 32 and 64 clients, -M prepared, interleaved PG, isola, PG, isola... so machine drift
# hits both. Prints TPS (median of the repeats), the isola / PostgreSQL ratio, and fsyncs per
# commit for both (isola_stat_wal.syncs; pg_stat_wal.wal_sync over pg_stat_database.xact_commit).
#
#   bench/commit.sh            quick: 3 s per run, 1 repeat
#   bench/commit.sh --full     10 s per run, 3 repeats
#   CLIENTS="1 8" bench/commit.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=3; REPEATS=1
if [[ "${1:-}" == "--full" ]]; then SECONDS_PER_RUN=10; REPEATS=3; fi
if [[ "${1:-}" == "--smoke" ]]; then SECONDS_PER_RUN=1; REPEATS=1; fi
CLIENTS=${CLIENTS:-"1 8 32 64"}
export PGPASSWORD=unused

cargo build --release --quiet
source bench/servers.sh
start_servers "-c max_connections=120"
export PATH="$PGBIN:$PATH"

SETUP="CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO counters SELECT g, 0 FROM generate_series(1, 1000) g;"
psql -q -h 127.0.0.1 -p "$PG_PORT" -U isola isola -c "$SETUP" >/dev/null
psql -q -h 127.0.0.1 -p "$ISOLA_PORT" -U isola isola -c "$SETUP" >/dev/null
cat > "$WORK/update.sql" <<'SQL'
\set id random(1, 1000)
UPDATE counters SET n = n + 1 WHERE id = :id;
SQL

q() { psql -qtA -h 127.0.0.1 -p "$1" -U isola isola -c "$2"; }
syncs_commits() {
  if [[ "$1" == "$PG_PORT" ]]; then
    q "$1" "SELECT (SELECT wal_sync FROM pg_stat_wal) || ' ' || (SELECT sum(xact_commit) FROM pg_stat_database)"
  else
    q "$1" "SELECT syncs || ' ' || records FROM isola_stat_wal"
  fi
}
run() { # port clients -> "tps fsyncs_per_commit"
  local port=$1 c=$2 j; j=$(( c < 2 ? c : 2 ))
  read -r s0 c0 <<<"$(syncs_commits "$port")"
  local out; out=$(pgbench -n -h 127.0.0.1 -p "$port" -U isola -M prepared -f "$WORK/update.sql" -c "$c" -j "$j" -T "$SECONDS_PER_RUN" isola 2>&1)
  read -r s1 c1 <<<"$(syncs_commits "$port")"
  local tps; tps=$(grep -oP 'tps = \K[0-9.]+' <<<"$out" | head -1)
  python3 -c "print(f'{$tps:.0f} {($s1-$s0)/max(1,$c1-$c0):.3f}')"
}
median() { python3 -c "import sys,statistics; print(statistics.median([float(x) for x in sys.argv[1:]]))" "$@"; }

echo "# commit throughput, synchronous_commit on, pgbench one-row UPDATE, -M prepared, ${SECONDS_PER_RUN}s x $REPEATS"
echo "# $(date -u +%F) $(nproc) cores; $(pgbench --version)"
echo
echo "| clients | PostgreSQL 15 TPS | isola TPS | isola / PG | PG fsyncs/commit | isola fsyncs/commit |"
echo "|---:|---:|---:|---:|---:|---:|"
for c in $CLIENTS; do
  pg_tps=(); is_tps=(); pg_f=(); is_f=()
  for _ in $(seq "$REPEATS"); do
    read -r t f <<<"$(run "$PG_PORT" "$c")"; pg_tps+=("$t"); pg_f+=("$f")
    read -r t f <<<"$(run "$ISOLA_PORT" "$c")"; is_tps+=("$t"); is_f+=("$f")
  done
  P=$(median "${pg_tps[@]}"); I=$(median "${is_tps[@]}")
  PF=$(median "${pg_f[@]}"); IF=$(median "${is_f[@]}")
  python3 -c "print(f'| $c | {$P:,.0f} | {$I:,.0f} | {$I/$P:.2f} | {$PF:.2f} | {$IF:.2f} |')"
done
