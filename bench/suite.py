#!/usr/bin/env python3
"""isola vs PostgreSQL 15, side by side: one command, one table.

Starts a throwaway PostgreSQL 15 cluster (default durability: fsync on, synchronous_commit on;
max_connections raised to 1100 for the connection-scaling row) and isola (a fresh data directory,
synchronous_commit on) on loopback, loads the same data into both through the wire protocol, and
runs the same pgbench scripts against each, interleaved PG, isola, PG, isola... so machine drift
hits both. Prints one markdown table per workload with TPS, average latency and the
isola / PostgreSQL ratio (median of the repeats), and writes it to bench/results/.

    bench/suite.py            quick: scale 10, 3 s per run, 1 repeat   (~10 min)
    bench/suite.py --full     scale 10, 10 s per run, 3 repeats        (~40 min), + chart PNG
    bench/suite.py --smoke    scale 1, 1 s per run, few rows           (CI: it must not rot)
    bench/suite.py --only tpcb,select   some workloads

Workloads: tpcb (pgbench's TPC-B-like transaction as a custom script), select (point select by
primary key), transfer-ordered / transfer-random (two updates on a 10-row table, in id order or
random order: deadlocks), lost-update (8 clients; read-modify-write, atomic UPDATE and SELECT
FOR UPDATE at RC, RR and SER, retrying 40001/40P01), bulk (COPY and 1,000-row INSERT batches),
connections (1,000 idle connections held while 32 clients run select), cpu (where the CPU goes
per transaction at 8 clients -M prepared: the server's user and kernel time, pgbench's own, and
the highest TPS both cores could give if the server's own code cost nothing).

Diagnostic, only when named (`--only preemption`): select-only and TPC-B-like at 8 clients with
pgbench at its normal scheduling policy and at SCHED_BATCH, to show what the client's wakeups
preempting the server cost each one when they share the cores.

Replication, only when named (`--only replication`): bench/failover.py (a 3-member group: kill -9
of the leader, apply lag, throughput against a single node, read latency per read level) in the
suite's mode (--smoke: under a minute; quick: a few kills; --full: 50 kills). It starts servers
of its own.

Data at scale, only when named (`--only scale`): for each scale of `--scale-factors` (default 20;
1 with --smoke), a fresh PostgreSQL and a fresh isola each get `pgbench -i -s S` (pgbench's own
split of the time: generate, vacuum, primary keys), then the server's memory (PSS) and data size
(`pg_database_size`; isola's data directory on disk), a kill -9 of every server process and a
restart timed to the first answer to `SELECT count(*) FROM pgbench_accounts`, the memory again,
and short TPC-B-like and select-only runs (8 clients, prepared) at that scale; the peak memory is
sampled every 0.2 s throughout. `--isola-memory-limit SIZE` starts isola with `--memory-limit SIZE`
(the larger-than-memory run: `--only scale --scale-factors 200 --isola-memory-limit 1GB`).
"""

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from datetime import date

PGBIN = "/usr/lib/postgresql/15/bin"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODES = {
    "smoke": dict(scale=1, seconds=1, repeats=1, clients=[1, 8], protocols=["prepared"],
                  bulk_rows=20_000, idle=100),
    "quick": dict(scale=10, seconds=3, repeats=1, clients=[1, 8, 32], protocols=["simple", "prepared"],
                  bulk_rows=1_000_000, idle=1000),
    "full": dict(scale=10, seconds=10, repeats=3, clients=[1, 8, 32], protocols=["simple", "prepared"],
                 bulk_rows=1_000_000, idle=1000),
}
FAILURES = []  # runs that did nothing: the suite exits 1 (so the CI smoke run catches rot)
WORKLOADS = ["tpcb", "select", "transfer-ordered", "transfer-random", "lost-update", "bulk", "connections",
             "cpu"]
DIAGNOSTICS = ["preemption", "replication", "scale"]  # run only when named in --only


def free_port():
    """A port free now, for PostgreSQL (which cannot take one the kernel picks and report it);
    another process could take it before PostgreSQL binds it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def alive(pid):
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


def as_postgres(command):
    if os.geteuid() == 0:
        return run(["su", "postgres", "-c", command])
    return run(["bash", "-c", command])


class Server:
    name = ""

    def psql(self, sql, db="isola"):
        out = run([f"{PGBIN}/psql", "-qtAX", "-h", "127.0.0.1", "-p", str(self.port), "-U", "isola",
                   "-d", db, "-v", "ON_ERROR_STOP=1", "-c", sql])
        return out.stdout.strip()

    def psql_file(self, path):
        run([f"{PGBIN}/psql", "-qX", "-h", "127.0.0.1", "-p", str(self.port), "-U", "isola", "-d",
             "isola", "-v", "ON_ERROR_STOP=1", "-f", path])


class Postgres(Server):
    name = "PostgreSQL 15"

    def __init__(self, work):
        self.dir = os.path.join(work, "pg")
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(work, "postgres")
            os.chmod(work, 0o755)
        as_postgres(f"{PGBIN}/initdb -D {self.dir} -U isola --auth=trust >/dev/null")
        as_postgres(f"{PGBIN}/pg_ctl -D {self.dir} -l {work}/pg.log -w -o '-p {self.port} -k {work} "
                    f"-c listen_addresses=127.0.0.1 -c max_connections=1100' start >/dev/null")
        self.psql("CREATE DATABASE isola", db="postgres")

    def pids(self):
        with open(os.path.join(self.dir, "postmaster.pid")) as f:
            master = int(f.readline())
        children = run(["pgrep", "-P", str(master)], check=False).stdout.split()
        return [master] + [int(c) for c in children]

    def stop(self):
        as_postgres(f"{PGBIN}/pg_ctl -D {self.dir} -m immediate stop >/dev/null 2>&1 || true")

    def crash(self):
        """kill -9 of the postmaster and every backend, as a power cut leaves it."""
        pids = self.pids()
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        while any(alive(pid) for pid in pids):  # a restart refuses shared memory still attached
            time.sleep(0.01)
        # The lock file goes, as a reboot would take it: here the orphaned postmaster may stay
        # a zombie (PID 1 of a container need not reap), which PostgreSQL would take for alive.
        os.remove(os.path.join(self.dir, "postmaster.pid"))
        os.remove(os.path.join(os.path.dirname(self.dir), f".s.PGSQL.{self.port}.lock"))

    def restart(self):
        """Starts the crashed cluster again without waiting: the caller times the first answer."""
        work = os.path.dirname(self.dir)
        command = (f"{PGBIN}/pg_ctl -D {self.dir} -l {work}/pg.log -W -o '-p {self.port} -k {work} "
                   f"-c listen_addresses=127.0.0.1 -c max_connections=1100' start")
        if os.geteuid() == 0:
            command = f"su postgres -c \"{command}\""
        subprocess.Popen(["bash", "-c", command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def data_mb(self):
        return int(self.psql("SELECT pg_database_size('isola')")) / 2**20


class Isola(Server):
    name = "isola"

    def __init__(self, work, binary):
        # A port the kernel picks (no race with other processes), read from the line isola
        # prints once it listens: "isola listening on 127.0.0.1:PORT, data directory DIR".
        self.work, self.binary, self.data = work, binary, os.path.join(work, "isola-data")
        log = os.path.join(work, "isola.log")
        self.proc = self.spawn("127.0.0.1:0", log)
        for _ in range(300):
            with open(log) as f:
                m = re.search(r"^isola listening on [^,\s]*:(\d+),", f.read(), re.M)
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise SystemExit(f"isola exited ({self.proc.returncode}) before listening; see {log}")
            time.sleep(0.1)
        raise SystemExit("isola did not start")

    def spawn(self, listen, log):
        return subprocess.Popen([self.binary, "serve", "--listen", listen, "--data", self.data,
                                 "--max-connections", "2000", *ISOLA_EXTRA_ARGS],
                                stdout=open(log, "a"), stderr=subprocess.STDOUT)

    def crash(self):
        self.stop()  # SIGKILL

    def restart(self):
        """Starts again on the same port and data directory, without waiting."""
        self.proc = self.spawn(f"127.0.0.1:{self.port}", os.path.join(self.work, "isola.log"))

    def data_mb(self):
        total = 0
        for root, _, files in os.walk(self.data):
            for f in files:
                try:
                    total += os.path.getsize(os.path.join(root, f))
                except OSError:
                    pass
        return total / 2**20

    def pids(self):
        return [self.proc.pid]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


# Extra `isola serve` flags (`--isola-memory-limit`).
ISOLA_EXTRA_ARGS = []


class PeakMemory:
    """Samples a server's memory (as `memory_mb` measures it) every 0.2 s in a thread, for the
    highest figure seen while it runs."""

    def __init__(self, server):
        import threading
        self.server, self.peak, self.done = server, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self):
        while not self.done.wait(0.2):
            try:
                self.peak = max(self.peak, memory_mb(self.server))
            except OSError:
                pass  # the server is between a kill and its restart

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


def memory_mb(server):
    """Proportional set size of the server's processes (RSS for one process), in MB."""
    total = 0
    for pid in server.pids():
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(server):
    """User and kernel CPU seconds the server has used so far: every live process, plus (for
    PostgreSQL) what its exited backends left in the postmaster's children totals."""
    tick = os.sysconf("SC_CLK_TCK")
    user = kernel = 0
    for n, pid in enumerate(server.pids()):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[11], [12]: utime, stime; [13], [14]: cutime, cstime (reaped children).
        user += int(fields[11]) + (int(fields[13]) if n == 0 else 0)
        kernel += int(fields[12]) + (int(fields[14]) if n == 0 else 0)
    return user / tick, kernel / tick


def pgbench(server, script, clients, protocol, seconds, tries=1000, prefix=()):
    cmd = [*prefix, f"{PGBIN}/pgbench", "-n", "-h", "127.0.0.1", "-p", str(server.port), "-U", "isola",
           "-M", protocol, "-f", script, "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(seconds), f"--max-tries={tries}", "isola"]
    out = run(cmd, check=False)
    text = out.stdout + out.stderr

    def grab(pattern, default=0.0):
        m = re.search(pattern, text)
        return float(m.group(1)) if m else default

    result = dict(
        tps=grab(r"tps = ([0-9.]+)"),
        latency=grab(r"latency average = ([0-9.]+) ms"),
        processed=int(grab(r"number of transactions actually processed: (\d+)")),
        failed=int(grab(r"number of failed transactions: (\d+)")),
        retried=int(grab(r"number of transactions retried: (\d+)")),
        retries=int(grab(r"total number of retries: (\d+)")),
    )
    if result["processed"] == 0:
        print(f"  ! {server.name}: pgbench failed: {text.strip()[-400:]}", file=sys.stderr)
        FAILURES.append(f"{server.name} {os.path.basename(script)} {clients} clients {protocol}")
    return result


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def tpcb_script(work, scale):
    return write(os.path.join(work, "tpcb.sql"), f"""\\set aid random(1, {100000 * scale})
\\set bid random(1, {scale})
\\set tid random(1, {10 * scale})
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
""")


def load_pgbench_tables(server, scale):
    """pgbench's tables with their primary keys declared up front, filled by pgbench itself
    (client-side COPY); PostgreSQL also gets pgbench's VACUUM ANALYZE, as pgbench -i does."""
    server.psql("DROP TABLE IF EXISTS pgbench_accounts; DROP TABLE IF EXISTS pgbench_branches;"
                "DROP TABLE IF EXISTS pgbench_tellers; DROP TABLE IF EXISTS pgbench_history;")
    server.psql("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));"
                "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));"
                "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));"
                "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));")
    steps = "gv" if isinstance(server, Postgres) else "g"
    run([f"{PGBIN}/pgbench", "-i", "-q", "-I", steps, "-s", str(scale), "-h", "127.0.0.1", "-p",
         str(server.port), "-U", "isola", "isola"])


def median(values):
    return statistics.median(values) if values else 0.0


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def pgbench_rows(servers, rows, cfg, title, note=""):
    """rows: [(label, script, clients, protocol)] -> markdown table, results."""
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["| run | PG TPS | isola TPS | isola / PG | PG latency ms | isola latency ms | PG retried | isola retried |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    results = {}
    for label, script, clients, protocol in rows:
        samples = {s.name: [] for s in servers}
        for _ in range(cfg["repeats"]):
            for s in servers:
                samples[s.name].append(pgbench(s, script, clients, protocol, cfg["seconds"]))
        pg, iso = (samples[s.name] for s in servers)
        m = {name: dict(tps=median([r["tps"] for r in rs]), latency=median([r["latency"] for r in rs]),
                        retried=median([r["retried"] for r in rs]))
             for name, rs in samples.items()}
        p, i = m[servers[0].name], m[servers[1].name]
        results[label] = (p, i)
        lines.append(f"| {label} | {p['tps']:,.0f} | {i['tps']:,.0f} | {ratio(i['tps'], p['tps'])} | "
                     f"{p['latency']:.2f} | {i['latency']:.2f} | {p['retried']:.0f} | {i['retried']:.0f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n", results


def client_preemption(servers, cfg, rows):
    """pgbench as it comes against pgbench at SCHED_BATCH (`chrt -b 0`: its wakeups then do not
    preempt the running thread), both servers, 8 clients. On a machine where pgbench shares the
    server's cores, each reply wakes a pgbench thread that usually preempts the sender at once:
    a PostgreSQL backend serves one connection, an isola runtime worker many. A diagnostic of
    what that costs each server, not a way to run the other workloads. The policy that goes
    first alternates between repeats (an even number of them)."""
    repeats = cfg["repeats"] + cfg["repeats"] % 2
    lines = ["### Client preemption: pgbench at its normal policy and at SCHED_BATCH, 8 clients", "",
             f"Median of {repeats}; each repeat runs PG, isola under each policy, the policy that goes first "
             "alternating between repeats.", "",
             "| workload | pgbench policy | PG TPS | isola TPS | isola / PG |",
             "|---|---|---:|---:|---:|"]
    policies = {"normal": (), "SCHED_BATCH (chrt -b 0)": ("chrt", "-b", "0")}
    for label, script, protocol in rows:
        tps = {(policy, s.name): [] for policy in policies for s in servers}
        for repeat in range(repeats):
            order = list(policies) if repeat % 2 == 0 else list(policies)[::-1]
            for policy in order:
                for s in servers:
                    r = pgbench(s, script, 8, protocol, cfg["seconds"], prefix=policies[policy])
                    tps[(policy, s.name)].append(r["tps"])
        for policy in policies:
            p, i = (median(tps[(policy, s.name)]) for s in servers)
            lines.append(f"| {label} | {policy} | {p:,.0f} | {i:,.0f} | {ratio(i, p)} |")
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def lost_update(servers, cfg, work):
    lines = ["### Lost update: 8 clients increment one counter (retrying 40001 / 40P01)", "",
             "| level | form | PG commits/s | isola commits/s | isola / PG | PG lost | isola lost | PG retries | isola retries |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    forms = {
        "read-modify-write": "SELECT n FROM lu_counter WHERE id = 1 \\gset\nUPDATE lu_counter SET n = :n + 1 WHERE id = 1;",
        "atomic UPDATE": "UPDATE lu_counter SET n = n + 1 WHERE id = 1;",
        "SELECT FOR UPDATE": "SELECT n FROM lu_counter WHERE id = 1 FOR UPDATE \\gset\nUPDATE lu_counter SET n = :n + 1 WHERE id = 1;",
    }
    for s in servers:
        s.psql("DROP TABLE IF EXISTS lu_counter; CREATE TABLE lu_counter (id int PRIMARY KEY, n bigint NOT NULL);"
               "INSERT INTO lu_counter VALUES (1, 0)")
    for level in ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"]:
        for form, body in forms.items():
            script = write(os.path.join(work, "lu.sql"), f"BEGIN ISOLATION LEVEL {level};\n{body}\nEND;\n")
            got = {s.name: [] for s in servers}
            for _ in range(cfg["repeats"]):
                for s in servers:
                    s.psql("UPDATE lu_counter SET n = 0 WHERE id = 1")
                    r = pgbench(s, script, 8, "prepared", cfg["seconds"])
                    n = int(s.psql("SELECT n FROM lu_counter WHERE id = 1"))
                    got[s.name].append((r["tps"], r["processed"] - n, r["retries"]))
            p = [median([g[k] for g in got[servers[0].name]]) for k in range(3)]
            i = [median([g[k] for g in got[servers[1].name]]) for k in range(3)]
            lines.append(f"| {level.lower()} | {form} | {p[0]:,.0f} | {i[0]:,.0f} | {ratio(i[0], p[0])} | "
                         f"{p[1]:.0f} | {i[1]:.0f} | {p[2]:.0f} | {i[2]:.0f} |")
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def bulk(servers, cfg, work):
    rows = cfg["bulk_rows"]
    data = os.path.join(work, "bulk.tsv")
    with open(data, "w") as f:
        for i in range(1, rows + 1):
            f.write(f"{i}\t{i % 1000}\tpayload-{i:09d}\n")
    inserts = os.path.join(work, "bulk.sql")
    with open(inserts, "w") as f:
        for start in range(1, rows + 1, 1000):
            values = ",".join(f"({i},{i % 1000},'payload-{i:09d}')" for i in range(start, min(start + 1000, rows + 1)))
            f.write(f"INSERT INTO bulk_load VALUES {values};\n")
    lines = [f"### Bulk load: {rows:,} rows (id bigint primary key, n int, payload text)", "",
             "| method | PG s | isola s | PG rows/s | isola rows/s | isola / PG |", "|---|---:|---:|---:|---:|---:|"]
    for method in ["COPY FROM STDIN", "INSERT, 1,000 rows per statement"]:
        times = {s.name: [] for s in servers}
        for _ in range(cfg["repeats"]):
            for s in servers:
                s.psql("DROP TABLE IF EXISTS bulk_load; CREATE TABLE bulk_load (id bigint PRIMARY KEY, n int, payload text)")
                started = time.perf_counter()
                if method.startswith("COPY"):
                    run([f"{PGBIN}/psql", "-qX", "-h", "127.0.0.1", "-p", str(s.port), "-U", "isola", "-d", "isola",
                         "-v", "ON_ERROR_STOP=1", "-c", f"\\copy bulk_load FROM '{data}'"])
                else:
                    s.psql_file(inserts)
                times[s.name].append(time.perf_counter() - started)
                count = int(s.psql("SELECT count(*) FROM bulk_load"))
                assert count == rows, f"{s.name} loaded {count} rows"
        p, i = (median(times[s.name]) for s in servers)
        lines.append(f"| {method} | {p:.2f} | {i:.2f} | {rows / p:,.0f} | {rows / i:,.0f} | {ratio(p, i)} |")
        print(lines[-1], flush=True)
    for s in servers:
        s.psql("DROP TABLE IF EXISTS bulk_load")
    return "\n".join(lines) + "\n"


def open_idle(port, n):
    """n connections that complete the startup handshake and then sit idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 256)), hard))
    conns = []
    params = b"user\0isola\0database\0isola\0application_name\0idle\0\0"
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit(f"connection closed during startup after {len(conns)} connections")
            buf += chunk
            ready = False
            while len(buf) >= 5:
                kind, length = buf[0:1], struct.unpack("!i", buf[1:5])[0]
                if len(buf) < 1 + length:
                    break
                if kind == b"E":
                    raise SystemExit(f"startup refused after {len(conns)} connections: {buf[5:1 + length]!r}")
                if kind == b"Z":
                    ready = True
                buf = buf[1 + length:]
            if ready:
                break
        conns.append(s)
    return conns


def connections(servers, cfg, work, select_script):
    n = cfg["idle"]
    lines = [f"### Connection scaling: select with 32 busy clients, without and with {n:,} idle connections", "",
             "| server | TPS alone | TPS with idle | change | memory alone MB | memory with idle MB |",
             "|---|---:|---:|---:|---:|---:|"]
    for s in servers:
        alone = median([pgbench(s, select_script, 32, "prepared", cfg["seconds"])["tps"] for _ in range(cfg["repeats"])])
        mem_alone = memory_mb(s)
        idle = open_idle(s.port, n)
        time.sleep(0.5)
        mem_idle = memory_mb(s)
        busy = median([pgbench(s, select_script, 32, "prepared", cfg["seconds"])["tps"] for _ in range(cfg["repeats"])])
        for c in idle:
            c.close()
        lines.append(f"| {s.name} | {alone:,.0f} | {busy:,.0f} | {100 * (busy - alone) / max(alone, 1):+.0f}% | "
                     f"{mem_alone:.0f} | {mem_idle:.0f} |")
        print(lines[-1], flush=True)
        time.sleep(1)
    lines += ["", "Memory: proportional set size (PSS) summed over the server's processes "
              "(PostgreSQL: postmaster and every backend; isola: its one process)."]
    return "\n".join(lines) + "\n"


def cpu_budget(servers, cfg, work, scripts):
    """Per transaction at 8 clients -M prepared: the server's user and kernel CPU, pgbench's
    CPU, and the ceiling: the TPS at which pgbench plus the server's kernel time alone would
    fill every core (the most any server could give here, its own code costing nothing).
    scripts: [(label, script, target factor over PostgreSQL)]; the isola row shows the target."""
    cores = os.cpu_count()
    lines = ["### Where the CPU goes: 8 clients, -M prepared, per transaction", "",
             f"CPU microseconds per transaction (server processes from /proc, pgbench from its rusage); "
             f"ceiling = {cores} cores / (pgbench + server kernel) per transaction.", "",
             "| workload | server | TPS | server user µs | server kernel µs | pgbench µs | cores busy | ceiling TPS | target TPS |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, script, factor in scripts:
        samples = {s.name: [] for s in servers}
        for _ in range(cfg["repeats"]):
            for s in servers:
                before = cpu_seconds(s), resource.getrusage(resource.RUSAGE_CHILDREN)
                r = pgbench(s, script, 8, "prepared", cfg["seconds"])
                time.sleep(0.5)  # PostgreSQL's backends exit and are reaped
                (u0, k0), c0 = before
                (u1, k1), c1 = cpu_seconds(s), resource.getrusage(resource.RUSAGE_CHILDREN)
                n = max(r["processed"], 1)
                client = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
                samples[s.name].append(dict(tps=r["tps"], user=(u1 - u0) * 1e6 / n, kernel=(k1 - k0) * 1e6 / n,
                                            client=client * 1e6 / n))
        for s in servers:
            m = {k: median([x[k] for x in samples[s.name]]) for k in ["tps", "user", "kernel", "client"]}
            busy = m["tps"] * (m["user"] + m["kernel"] + m["client"]) / 1e6 / cores
            ceiling = cores * 1e6 / (m["client"] + m["kernel"]) if m["client"] + m["kernel"] else 0
            pg_tps = median([x["tps"] for x in samples[servers[0].name]])
            target = f"{factor * pg_tps:,.0f} ({factor:g}× PG)" if s is servers[1] else ""
            lines.append(f"| {label} | {s.name} | {m['tps']:,.0f} | {m['user']:.0f} | {m['kernel']:.0f} | "
                         f"{m['client']:.0f} | {busy:.0%} | {ceiling:,.0f} | {target} |")
            print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def replication(mode, binary, work):
    """bench/failover.py in this mode, its tables as a section (a failed run counts as one)."""
    flag = {"smoke": ["--smoke"], "quick": ["--quick"], "full": []}[mode]
    out_dir = os.path.join(work, "replication")
    done = subprocess.run([sys.executable, os.path.join(ROOT, "bench/failover.py"), *flag, "--isola", binary,
                           "--out", out_dir], capture_output=True, text=True)
    print(done.stdout, flush=True)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        FAILURES.append("replication (bench/failover.py)")
    written = [os.path.join(out_dir, f) for f in os.listdir(out_dir)] if os.path.isdir(out_dir) else []
    if not written:
        return "### Replication\n\nbench/failover.py wrote nothing.\n"
    with open(written[0]) as f:
        return f.read().replace("# Replication", "## Replication", 1)


def first_answer(server, sql, timeout=600):
    """Seconds until `sql` first succeeds (psql retried every 20 ms), and its answer."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        out = run([f"{PGBIN}/psql", "-qtAX", "-h", "127.0.0.1", "-p", str(server.port), "-U", "isola",
                   "-d", "isola", "-c", sql], check=False)
        if out.returncode == 0:
            return time.perf_counter() - started, out.stdout.strip()
        time.sleep(0.02)
    raise SystemExit(f"{server.name} gave no answer to {sql!r} within {timeout} s")


def pgbench_init(server, scale):
    """`pgbench -i -s scale` (pgbench's default steps: drop, create tables, client-side
    generate, vacuum, primary keys): wall seconds and pgbench's own split by step."""
    started = time.perf_counter()
    out = run([f"{PGBIN}/pgbench", "-i", "-q", "-s", str(scale), "-h", "127.0.0.1", "-p", str(server.port),
               "-U", "isola", "isola"], check=False)
    took = time.perf_counter() - started
    text = out.stdout + out.stderr
    if out.returncode != 0:
        print(f"  ! {server.name}: pgbench -i failed: {text.strip()[-400:]}", file=sys.stderr)
        FAILURES.append(f"{server.name} pgbench -i -s {scale}")
    steps = {name: float(sec) for name, sec in
             re.findall(r"(drop tables|create tables|client-side generate|server-side generate|vacuum|"
                        r"primary keys|foreign keys) ([0-9.]+) s", text)}
    return took, steps


def scale_run(server, scale, cfg, work):
    """One server through the scale section: load, sizes, crash and restart, TPS."""
    r = dict(load=0.0, steps={}, mem_load=0.0, data=0.0, restart=0.0, mem_restart=0.0, tpcb=0.0, select=0.0,
             peak=0.0)
    peak = PeakMemory(server)
    r["load"], r["steps"] = pgbench_init(server, scale)
    time.sleep(1)  # the background work a load leaves (isola's GC, PostgreSQL's writer) settles
    r["mem_load"], r["data"] = memory_mb(server), server.data_mb()
    server.crash()
    started = time.perf_counter()
    server.restart()
    _, count = first_answer(server, "SELECT count(*) FROM pgbench_accounts")
    r["restart"] = time.perf_counter() - started
    if count != str(100000 * scale):
        FAILURES.append(f"{server.name} scale {scale}: {count} accounts after restart")
    r["mem_restart"] = memory_mb(server)
    select = write(os.path.join(work, "scale-select.sql"),
                   f"\\set aid random(1, {100000 * scale})\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n")
    r["tpcb"] = pgbench(server, tpcb_script(work, scale), 8, "prepared", cfg["seconds"])["tps"]
    r["select"] = pgbench(server, select, 8, "prepared", cfg["seconds"])["tps"]
    r["peak"] = max(peak.stop(), r["mem_load"], r["mem_restart"])
    return r


def data_at_scale(cfg, work, binary, scales):
    """The `scale` section: per scale, a fresh PostgreSQL and a fresh isola side by side."""
    lines = ["### Data at scale: pgbench -i, footprint, kill -9 to first answer, TPS", "",
             "Per scale a fresh PostgreSQL and a fresh isola, one after the other. Memory: PSS summed over the "
             "server's processes, after the load and after the restart's first answer (PostgreSQL's restart "
             "reads no table until asked, so its figure is small). Data: `pg_database_size`; isola's data "
             "directory on disk (log and checkpoint). Restart: from kill -9 of every server process to the "
             f"first answer to `SELECT count(*) FROM pgbench_accounts`. TPS: 8 clients, -M prepared, "
             f"{cfg['seconds']} s each.", "",
             "| scale | server | pgbench -i s | generate s | vacuum s | primary keys s | memory after load MB | "
             "data MB | kill -9 to answer s | memory after restart MB | TPC-B-like TPS | select-only TPS | peak memory MB |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    ratios = []
    for scale in scales:
        results = []
        for kind in (Postgres, Isola):
            sub = os.path.join(work, f"scale-{scale}-{kind.__name__.lower()}")
            os.makedirs(sub)
            if os.geteuid() == 0:
                shutil.chown(sub, "postgres")
            server = kind(sub) if kind is Postgres else kind(sub, binary)
            try:
                r = scale_run(server, scale, cfg, sub)
            finally:
                server.stop()
            results.append((server.name, r))
            gen = r["steps"].get("client-side generate", 0.0)
            lines.append(f"| {scale} | {server.name} | {r['load']:.2f} | {gen:.2f} | {r['steps'].get('vacuum', 0.0):.2f} | "
                         f"{r['steps'].get('primary keys', 0.0):.2f} | {r['mem_load']:,.0f} | {r['data']:,.0f} | "
                         f"{r['restart']:.2f} | {r['mem_restart']:,.0f} | {r['tpcb']:,.0f} | {r['select']:,.0f} | "
                         f"{r['peak']:,.0f} |")
            print(lines[-1], flush=True)
        (_, p), (_, i) = results
        ratios.append(f"| {scale} | {ratio(i['load'], p['load'])} | "
                      f"{ratio(i['steps'].get('client-side generate', 0), p['steps'].get('client-side generate', 0))} | "
                      f"{ratio(i['steps'].get('primary keys', 0), p['steps'].get('primary keys', 0))} | "
                      f"{ratio(i['mem_load'], p['data'])} | {ratio(i['mem_restart'], p['data'])} | "
                      f"{ratio(i['restart'], p['restart'])} | {ratio(i['tpcb'], p['tpcb'])} | {ratio(i['select'], p['select'])} |")
    lines += ["", "isola / PostgreSQL (memory: isola's PSS over `pg_database_size`):", "",
              "| scale | pgbench -i | generate | primary keys | memory after load / PG data | "
              "memory after restart / PG data | kill -9 to answer | TPC-B-like TPS | select-only TPS |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|", *ratios]
    return "\n".join(lines) + "\n"


def chart(results, cfg, path):
    """TPS against clients for both databases (tpcb and select, -M prepared), as a PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: chart skipped; pip install matplotlib)", file=sys.stderr)
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, workload in zip(axes, ["tpcb", "select"]):
        for idx, name, style in [(0, "PostgreSQL 15", "o-"), (1, "isola", "s-")]:
            xs, ys = [], []
            for c in cfg["clients"]:
                key = f"{c} clients, prepared"
                if key in results.get(workload, {}):
                    xs.append(c)
                    ys.append(results[workload][key][idx]["tps"])
            ax.plot(xs, ys, style, label=name)
        ax.set_title(f"{workload} (-M prepared)")
        ax.set_xlabel("clients")
        ax.set_ylabel("TPS")
        ax.set_xscale("log", base=2)
        ax.set_xticks(cfg["clients"])
        ax.set_xticklabels([str(c) for c in cfg["clients"]])
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--isola", default=os.path.join(ROOT, "target/release/isola"),
                        help="the isola binary (default: target/release/isola, built if missing)")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    parser.add_argument("--isola-memory-limit", default=None,
                        help="`isola serve --memory-limit` for every isola the suite starts (the scale "
                             "section's larger-than-memory run: --scale-factors 200 --isola-memory-limit 1GB)")
    parser.add_argument("--scale-factors", default=None,
                        help="scales of the `scale` section, comma-separated (default 20; 1 with --smoke)")
    args = parser.parse_args()
    if args.isola_memory_limit:
        ISOLA_EXTRA_ARGS.extend(["--memory-limit", args.isola_memory_limit])
    mode = "full" if args.full else "smoke" if args.smoke else "quick"
    cfg = MODES[mode]
    only = args.only.split(",")
    unknown = set(only) - set(WORKLOADS) - set(DIAGNOSTICS)
    if unknown:
        sys.exit(f"unknown workloads: {', '.join(sorted(unknown))}")
    if args.isola == os.path.join(ROOT, "target/release/isola"):
        run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)

    scales = args.scale_factors or ("1" if mode == "smoke" else "20")
    work = tempfile.mkdtemp(prefix="isola-bench-")
    servers = []
    try:
        servers = [Postgres(work), Isola(work, args.isola)]
        version = run([f"{PGBIN}/pgbench", "--version"]).stdout.strip()
        header = (f"# isola vs PostgreSQL 15: bench/suite.py --{mode}\n\n"
                  f"{date.today()}, {os.cpu_count()} cores, {version}; scale "
                  f"{scales if only == ['scale'] else cfg['scale']}, "
                  f"{cfg['seconds']} s per run, median of {cfg['repeats']}, runs interleaved PG / isola. "
                  f"Both durable (fsync on, synchronous_commit on).\n")
        print(header, flush=True)
        sections, results = [header], {}
        clients_protocols = [(c, p) for c in cfg["clients"] for p in cfg["protocols"]]
        if {"tpcb", "select", "connections", "cpu", "preemption"} & set(only):
            for s in servers:
                load_pgbench_tables(s, cfg["scale"])
        select_script = write(os.path.join(work, "select.sql"),
                              f"\\set aid random(1, {100000 * cfg['scale']})\n"
                              "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n")
        if "tpcb" in only:
            script = tpcb_script(work, cfg["scale"])
            text, results["tpcb"] = pgbench_rows(
                servers, [(f"{c} clients, {p}", script, c, p) for c, p in clients_protocols], cfg,
                "TPC-B-like (pgbench's tpcb-like transaction as a custom script)")
            sections.append(text)
        if "select" in only:
            text, results["select"] = pgbench_rows(
                servers, [(f"{c} clients, {p}", select_script, c, p) for c, p in clients_protocols], cfg,
                "Select-only (point select by primary key)")
            sections.append(text)
        if {"transfer-ordered", "transfer-random", "cpu"} & set(only):
            for s in servers:
                s.psql("DROP TABLE IF EXISTS bench_accounts; CREATE TABLE bench_accounts (id int PRIMARY KEY, balance bigint NOT NULL);"
                       "INSERT INTO bench_accounts SELECT g, 1000 FROM generate_series(1, 10) g")
            for kind in ["ordered", "random"]:
                order = ("\\set first least(:x, :y)\n\\set second greatest(:x, :y)\n" if kind == "ordered"
                         else "\\set first :x\n\\set second :y\n")
                script = write(os.path.join(work, f"transfer-{kind}.sql"),
                               "\\set x random(1, 10)\n\\set y random(1, 10)\n" + order + "BEGIN;\n"
                               "UPDATE bench_accounts SET balance = balance - 1 WHERE id = :first;\n"
                               "UPDATE bench_accounts SET balance = balance + 1 WHERE id = :second;\nEND;\n")
                if f"transfer-{kind}" not in only:
                    continue
                note = ("Two updates on a 10-row table in id order: pure lock contention." if kind == "ordered" else
                        "Two updates in random order: deadlocks. \"retried\" = transactions that hit a deadlock "
                        "(or 40001) and were retried by pgbench; PostgreSQL looks for a deadlock only after "
                        "deadlock_timeout (1 s), isola at the moment the wait forms.")
                text, results[f"transfer-{kind}"] = pgbench_rows(
                    servers, [(f"{c} clients, {p}", script, c, p) for c, p in clients_protocols if c > 1], cfg,
                    f"Contended transfer, {'id' if kind == 'ordered' else 'random'} order", note)
                sections.append(text)
        if "cpu" in only:
            sections.append(cpu_budget(servers, cfg, work, [
                ("TPC-B-like", tpcb_script(work, cfg["scale"]), 3), ("select-only", select_script, 1.5),
                ("transfer, id order", os.path.join(work, "transfer-ordered.sql"), 3)]))
        if "preemption" in only:
            sections.append(client_preemption(servers, cfg, [
                ("select-only prepared", select_script, "prepared"),
                ("select-only simple", select_script, "simple"),
                ("TPC-B-like prepared", tpcb_script(work, cfg["scale"]), "prepared")]))
        if "lost-update" in only:
            sections.append(lost_update(servers, cfg, work))
        if "bulk" in only:
            sections.append(bulk(servers, cfg, work))
        if "connections" in only:
            sections.append(connections(servers, cfg, work, select_script))
        if "replication" in only:
            sections.append(replication(mode, args.isola, work))
        if "scale" in only:
            sections.append(data_at_scale(cfg, work, args.isola, [int(x) for x in scales.split(",")]))
        os.makedirs(args.out, exist_ok=True)
        chosen = "" if set(only) == set(WORKLOADS) else "-" + "-".join(only)
        stem = os.path.join(args.out, f"{date.today()}-{mode}{chosen}")
        if mode == "full" and "tpcb" in only and "select" in only:
            png = chart(results, cfg, stem + ".png")
            if png:
                sections.append(f"![TPS against clients]({os.path.basename(png)})\n")
        write(stem + ".md", "\n".join(sections))
        print(f"\nwritten: {stem}.md", flush=True)
        if FAILURES:
            print("runs that failed: " + "; ".join(FAILURES), file=sys.stderr)
            sys.exit(1)
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
