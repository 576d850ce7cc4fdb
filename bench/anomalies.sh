#!/usr/bin/env bash
# The anomaly x level table of docs/isolation.md: `isola check` (list-append, random
# transactions, high contention) against isola and PostgreSQL 15 at each isolation level, same
# workload and seed, PostgreSQL first then isola at each level. Prints a markdown table: how many
# of each anomaly class the checker found (marked * where the level forbids it), commits/s and
# the share of transactions aborted by serialization failures (40001).
#
#   bench/anomalies.sh              2,000 transactions per run
#   TXNS=20000 bench/anomalies.sh   longer
#   bench/anomalies.sh --smoke      200 transactions (CI-sized)
#
# PostgreSQL runs a throwaway cluster at its defaults except deadlock_timeout = 20ms: its default
# (1 s before it even looks for a deadlock) would stretch the run, not change what it shows.
set -euo pipefail
cd "$(dirname "$0")/.."

TXNS=${TXNS:-2000}; CLIENTS=${CLIENTS:-8}; KEYS=${KEYS:-4}
if [[ "${1:-}" == "--smoke" ]]; then TXNS=200; fi

cargo build --release --quiet
source bench/servers.sh
start_servers "-c deadlock_timeout=20ms"

for level in read-uncommitted read-committed repeatable-read serializable; do
  for server in postgres isola; do
    port=$PG_PORT; [[ $server == isola ]] && port=$ISOLA_PORT
    ./target/release/isola check --url "postgres://isola@127.0.0.1:$port/isola" --isolation "$level" \
      --clients "$CLIENTS" --txns "$TXNS" --keys "$KEYS" --seed 1 --time-limit 120 \
      | grep '^summary:' | sed "s/^summary:/summary: server=$server/" >>"$WORK/summaries" || true
  done
done

echo "# isola check, list-append, $TXNS transactions x $CLIENTS clients on $KEYS hot keys, seed 1"
echo "# $(date -u +%F), $(nproc) cores; $("$PGBIN/postgres" --version)"
python3 - "$WORK/summaries" <<'PY'
import sys
runs = {}
for line in open(sys.argv[1]):
    fields = dict(f.split("=", 1) for f in line.split()[1:])
    runs[(fields["server"], fields["level"])] = fields
levels = ["read-uncommitted", "read-committed", "repeatable-read", "serializable"]
short = {"read-uncommitted": "RU", "read-committed": "RC", "repeatable-read": "RR", "serializable": "SER"}
kinds = ["G0", "G1a", "G1b", "G1c", "G-single", "G2-item", "G2", "lost-update", "internal",
         "incompatible-order", "garbage-read", "lost-write"]
forbidden = {
    "read-uncommitted": {"G0", "internal", "incompatible-order", "garbage-read", "lost-write"},
}
forbidden["read-committed"] = forbidden["read-uncommitted"] | {"G1a", "G1b", "G1c"}
forbidden["repeatable-read"] = forbidden["read-committed"] | {"G-single", "lost-update"}
forbidden["serializable"] = forbidden["repeatable-read"] | {"G2-item", "G2"}
cols = [(s, l) for l in levels for s in ("postgres", "isola")]
print()
print("| anomaly | " + " | ".join(f"{'PG' if s == 'postgres' else 'isola'} {short[l]}" for s, l in cols) + " |")
print("|---|" + "---:|" * len(cols))
def counts(run):
    if run is None or run["anomalies"] == "none":
        return {}
    return {k: int(v) for k, v in (a.split(":") for a in run["anomalies"].split(","))}
for kind in kinds:
    cells = []
    for s, l in cols:
        run = runs.get((s, l))
        if run is None:
            cells.append("n/a"); continue
        n = counts(run).get(kind, 0)
        mark = "*" if kind in forbidden[l] else ""
        cells.append(f"{n}{mark}" if n else ("0" + mark if mark else "·"))
    print(f"| {kind} | " + " | ".join(cells) + " |")
def row(name, f):
    cells = []
    for s, l in cols:
        run = runs.get((s, l))
        cells.append("n/a" if run is None else f(run))
    print(f"| {name} | " + " | ".join(cells) + " |")
row("verdict", lambda r: r["verdict"])
row("committed / s", lambda r: f"{int(r['committed']) / max(float(r['seconds']), 1e-9):.0f}")
row("aborted by 40001", lambda r: f"{100 * int(r['serialization_failures']) / max(int(r['txns']) - 1, 1):.0f}%")
row("aborted by 40P01", lambda r: f"{100 * int(r['deadlocks']) / max(int(r['txns']) - 1, 1):.0f}%")
print()
print("`*` = the level forbids it (a non-zero starred cell is a bug); `·` = allowed, not seen.")
PY
