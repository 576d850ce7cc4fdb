#!/usr/bin/env bash
# How much the client sharing the cores costs each server: pgbench at its normal scheduling
# policy against pgbench at SCHED_BATCH (`chrt -b 0`: its wakeups then do not preempt the
# running thread), against PostgreSQL 15 and isola side by side.
#
# On a 2-core machine pgbench runs on the same cores as the server. Each reply the server sends
# wakes a pgbench thread, and the scheduler usually lets it preempt the sender at once. A
# PostgreSQL backend serves one connection, so a preempted backend holds up only its own; an
# isola runtime worker serves many connections, so a preempted worker holds up all of those
# it had ready. SCHED_BATCH for the client shows what that costs each server. It is a
# diagnostic, not a way to run the suite: the suite's figures use pgbench as it comes.
#
#   bench/client_preemption.sh            quick: 5 s per run, 1 repeat
#   bench/client_preemption.sh --full     8 s per run, 4 repeats
#   bench/client_preemption.sh --smoke    1 s per run, scale 1 (CI, with ISOLA_BIN=target/debug/isola)
# Prints TPS per server and policy (median of the repeats) and the isola / PostgreSQL ratio.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=5; REPEATS=1
if [[ "${1:-}" == "--full" ]]; then SECONDS_PER_RUN=8; REPEATS=4; fi
SCALE=${SCALE:-10}
if [[ "${1:-}" == "--smoke" ]]; then SECONDS_PER_RUN=1; REPEATS=1; SCALE=1; fi
export PGPASSWORD=unused

[[ -n "${ISOLA_BIN:-}" ]] || cargo build --release --quiet
source bench/servers.sh
start_servers ""
export PATH="$PGBIN:$PATH"

for port in "$PG_PORT" "$ISOLA_PORT"; do
  psql -q -h 127.0.0.1 -p "$port" -U isola isola -c "
    CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
    CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
    CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
    CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));" >/dev/null
  pgbench -i -q -I g -s "$SCALE" -h 127.0.0.1 -p "$port" -U isola isola >/dev/null 2>&1
done
psql -q -h 127.0.0.1 -p "$PG_PORT" -U isola isola -c "VACUUM ANALYZE" >/dev/null

cat > "$WORK/select.sql" <<SQL
\set aid random(1, $((SCALE * 100000)))
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
SQL
cat > "$WORK/tpcb.sql" <<SQL
\set aid random(1, $((SCALE * 100000)))
\set bid random(1, $SCALE)
\set tid random(1, $((SCALE * 10)))
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
SQL

tps() { # port script protocol policy-prefix...
  local port=$1 script=$2 protocol=$3; shift 3
  "$@" pgbench -n -h 127.0.0.1 -p "$port" -U isola -f "$script" -c 8 -j 2 \
    -T "$SECONDS_PER_RUN" -M "$protocol" isola 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}'
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "8 clients, -j 2, $SECONDS_PER_RUN s per run, median of $REPEATS; each repeat runs PG, isola,"
echo "PG, isola with the two policies, the policy that goes first alternating between repeats"
echo
echo "| workload | pgbench policy | PG TPS | isola TPS | isola / PG |"
echo "|---|---|---:|---:|---:|"
for work in "select-only prepared:select.sql:prepared" "select-only simple:select.sql:simple" \
            "TPC-B-like prepared:tpcb.sql:prepared"; do
  IFS=: read -r name script protocol <<<"$work"
  declare -A runs=([PG normal]="" [isola normal]="" [PG batch]="" [isola batch]="")
  for repeat in $(seq "$REPEATS"); do
    order=(normal batch); (( repeat % 2 == 0 )) && order=(batch normal)
    for policy in "${order[@]}"; do
      prefix=(); [[ $policy == batch ]] && prefix=(chrt -b 0)
      runs[PG $policy]+=" $(tps "$PG_PORT" "$WORK/$script" "$protocol" "${prefix[@]}")"
      runs[isola $policy]+=" $(tps "$ISOLA_PORT" "$WORK/$script" "$protocol" "${prefix[@]}")"
    done
  done
  for policy in normal batch; do
    pg=$(echo "${runs[PG $policy]}" | median); iso=$(echo "${runs[isola $policy]}" | median)
    if [[ -z "$pg" || -z "$iso" || "$pg" == 0 || "$iso" == 0 ]]; then
      echo "client_preemption.sh: a $name run failed (PG '$pg', isola '$iso')" >&2; exit 1
    fi
    ratio=$(awk -v a="$iso" -v b="$pg" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    label=$([[ $policy == batch ]] && echo "SCHED_BATCH (chrt -b 0)" || echo "normal")
    echo "| $name | $label | $pg | $iso | $ratio |"
  done
done
