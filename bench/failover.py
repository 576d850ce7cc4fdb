#!/usr/bin/env python3
"""Replication benchmarks: a 3-member isola group on loopback, against a single node and
PostgreSQL 15.

    bench/failover.py             50 kills, 10 s pgbench runs, median of 3     (~10-15 min)
    bench/failover.py --quick     5 kills, 3 s runs                            (~2 min)
    bench/failover.py --smoke     2 kills, 1 s runs                            (< 60 s; CI)
    bench/failover.py --kills 80  any mode, another number of kills

Four parts, each printing a markdown table (all written to bench/results/DATE-replication-MODE.md):

  failover     a steady writer (one connection, autocommit INSERTs, trying the members round
               robin with a 0.2 s connect timeout when its member fails or refuses with 25006);
               N times: find the leader, kill -9 it, time from the kill until a write is
               acknowledged by another member; restart the killed member and wait until its
               applied_token reaches the leader's. p50 / p99 / max of the failover times. At
               the end every acknowledged write must be on every member (lost writes: 0).
  apply lag    under pgbench's TPC-B-like load on the leader (8 clients), a probe updates one
               row on the leader and, once the commit is acknowledged, reads it on a follower at
               read_consistency = eventual until the new value shows: p50 / p99 of that time
               (it includes one read's round trip); also with no load.
  throughput   TPC-B-like and select-only (pgbench, 8 clients, -M prepared) against the group's
               leader, a single-node isola and PostgreSQL 15, interleaved in one run.
  reads        a point select's latency (p50, p99) at each read_consistency, on the leader and on
               a follower, and on a single node.

Python 3 standard library only: SQL goes through a minimal PostgreSQL wire client (simple
protocol, trust authentication) below, pgbench through suite.py's helpers. Every loop is bounded
in count and in time. Not run by suite.py unless named there (`--only replication`).
"""

import argparse
import os
import random
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suite  # noqa: E402  (pgbench, PostgreSQL and single-node helpers)

MODES = {
    "smoke": dict(kills=2, scale=1, seconds=1, repeats=1, lag_samples=100, read_samples=200),
    "quick": dict(kills=5, scale=1, seconds=3, repeats=1, lag_samples=300, read_samples=1000),
    "full": dict(kills=50, scale=10, seconds=10, repeats=3, lag_samples=1000, read_samples=3000),
}
LEVELS = ["linearizable", "causal", "eventual"]
FAILOVER_GIVE_UP = 30.0  # s without an acknowledged write after a kill: counted as a failure
CATCH_UP_GIVE_UP = 60.0  # s for a restarted member to reach the leader's applied token
ODD = []  # things seen that should not happen; printed at the end, exit status 1


class PgError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code} {message}")
        self.code = code


class Wire:
    """One PostgreSQL wire connection: startup with trust authentication, simple queries.
    Socket errors and timeouts raise OSError; server errors raise PgError with the SQLSTATE."""

    def __init__(self, port, connect_timeout=2.0, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        self.buf = b""
        params = b"user\0isola\0database\0isola\0\0"
        self.sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        self._until_ready()

    def query(self, sql):
        """The rows (lists of text or None) of the statement(s); raises on an error."""
        body = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!i", 4 + len(body)) + body)
        return self._until_ready()

    def value(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _message(self):
        while True:
            if len(self.buf) >= 5:
                length = struct.unpack("!i", self.buf[1:5])[0]
                if len(self.buf) >= 1 + length:
                    kind, body = self.buf[0:1], self.buf[5:1 + length]
                    self.buf = self.buf[1 + length:]
                    return kind, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("server closed the connection")
            self.buf += chunk

    def _until_ready(self):
        rows, error = [], None
        while True:
            kind, body = self._message()
            if kind == b"D":
                rows.append(data_row(body))
            elif kind == b"E":
                fields = dict((f[0:1], f[1:].decode(errors="replace")) for f in body.split(b"\0") if f)
                error = PgError(fields.get(b"C", "?"), fields.get(b"M", ""))
            elif kind == b"R" and struct.unpack("!i", body[:4])[0] != 0:
                raise OSError("the server asks for a password; run on loopback without one")
            elif kind == b"Z":
                if error:
                    raise error
                return rows


def data_row(body):
    count, at, row = struct.unpack("!h", body[:2])[0], 2, []
    for _ in range(count):
        n = struct.unpack("!i", body[at:at + 4])[0]
        at += 4
        row.append(None if n < 0 else body[at:at + n].decode())
        at += max(n, 0)
    return row


def parse_token(token):
    high, low = token.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


class Member(suite.Server):
    """One `isola serve` of the group: fixed ports (a replica prints the address it was given,
    so they are picked here), its output appended to DATA.log across restarts."""

    def __init__(self, binary, work, node_id, port, raft_port, peers):
        self.binary, self.id, self.port, self.raft_port, self.peers = binary, node_id, port, raft_port, peers
        self.name = f"group node {node_id}"
        self.data = os.path.join(work, f"n{node_id}")
        self.log = self.data + ".log"
        self.proc = None

    def launch(self):
        self.offset = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}",
             "--node-id", str(self.id), "--raft-listen", f"127.0.0.1:{self.raft_port}", "--peers", self.peers,
             "--max-connections", "2000"],
            stdout=open(self.log, "a"), stderr=subprocess.STDOUT)

    def wait_listening(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log) as f:
                f.seek(self.offset)
                if "isola listening on" in f.read():
                    return
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.proc.returncode}) before listening; see {self.log}")
            time.sleep(0.02)
        raise SystemExit(f"{self.name} did not listen within {timeout} s; see {self.log}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def stop(self):
        self.kill()

    def self_row(self, timeout=1.0):
        """(role, term, leader_id, applied_token) as this member says of itself."""
        c = Wire(self.port, connect_timeout=timeout, timeout=timeout)
        try:
            rows = c.query("SELECT role, term, leader_id, applied_token FROM isola_cluster WHERE is_self")
        finally:
            c.close()
        if not rows:
            raise OSError(f"{self.name}: no is_self row in isola_cluster yet")
        role, term, leader, token = rows[0]
        return role, int(term), leader and int(leader), parse_token(token)


class Group:
    def __init__(self, binary, work, n=3):
        ports = [suite.free_port() for _ in range(2 * n)]
        peers = ",".join(f"{k + 1}=127.0.0.1:{ports[n + k]}" for k in range(n))
        self.members = [Member(binary, work, k + 1, ports[k], ports[n + k], peers) for k in range(n)]
        try:
            for m in self.members:
                m.launch()
            for m in self.members:
                m.wait_listening()
        except BaseException:
            self.stop()
            raise

    def leader(self, timeout=20.0):
        """The leader a majority follows: a member that says it leads and another that names it
        leader in the same term, waiting up to `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = {}
            for m in self.members:
                if m.running():
                    try:
                        rows[m.id] = m.self_row()
                    except (OSError, PgError):
                        continue
            for m in self.members:
                role, term, _, _ = rows.get(m.id, (None, 0, None, 0))
                backers = [k for k, r in rows.items() if k != m.id and r[2] == m.id and r[1] == term]
                if role == "leader" and backers and self.primary(m):
                    return m
            time.sleep(0.05)
        raise SystemExit(f"no leader within {timeout} s")

    @staticmethod
    def primary(member):
        """Whether `member` takes writes (`transaction_read_only` off): a new leader does only once
        it has applied a blank entry of its term. DDL must wait for that: isola accepts CREATE
        TABLE on a member that does not take writes and does not replicate it (see
        docs/benchmarks.md, Replication)."""
        try:
            c = Wire(member.port, connect_timeout=1.0, timeout=1.0)
            try:
                return c.value("SHOW transaction_read_only") == "off"
            finally:
                c.close()
        except (OSError, PgError):
            return False

    def write(self, sql, timeout=20.0):
        """`sql` on the leader, retried while leadership settles (25006, a lost connection)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                c = Wire(self.leader().port)
                try:
                    return c.query(sql)
                finally:
                    c.close()
            except (OSError, PgError) as e:
                if time.monotonic() > deadline or (isinstance(e, PgError) and e.code != "25006"):
                    raise
                time.sleep(0.1)

    def followers(self, leader):
        return [m for m in self.members if m is not leader]

    def stop(self):
        for m in self.members:
            m.kill()


class Writer(threading.Thread):
    """Autocommit INSERTs of increasing ids, one at a time, on whichever member takes them:
    on an error or a refusal it moves to the next member (connect timeout 0.2 s, statement
    timeout 2 s). Every acknowledged id is kept with the time and the member that acknowledged
    it. An id is never reused, so an attempt of unknown outcome cannot be confused with one
    acknowledged. Bounded by `deadline`."""

    def __init__(self, members, deadline):
        super().__init__(daemon=True)
        self.members, self.deadline = members, deadline
        self.acks = []  # (monotonic time, node id, row id)
        self.errors = {}
        self.done = threading.Event()
        self.lock = threading.Lock()

    def run(self):
        conn, member, turn, next_id = None, None, 0, 1
        while not self.done.is_set() and time.monotonic() < self.deadline:
            if conn is None:
                member = self.members[turn % len(self.members)]
                turn += 1
                try:
                    conn = Wire(member.port, connect_timeout=0.2, timeout=2.0)
                except (OSError, PgError) as e:
                    self.count(type(e).__name__ if isinstance(e, OSError) else e.code)
                    time.sleep(0.002)
                    continue
            row, next_id = next_id, next_id + 1
            sent = time.monotonic()
            try:
                conn.query(f"INSERT INTO fo_writes VALUES ({row}, {member.id})")
                with self.lock:
                    self.acks.append((time.monotonic(), member.id, row))
            except (OSError, PgError) as e:
                self.count(type(e).__name__ if isinstance(e, OSError) else e.code, time.monotonic() - sent)
                conn.close()
                conn = None
                time.sleep(0.002)
        if conn:
            conn.close()

    def count(self, what, took=0.0):
        n, total, longest = self.errors.get(what, (0, 0.0, 0.0))
        self.errors[what] = (n + 1, total + took, max(longest, took))

    def error_summary(self):
        return ", ".join(f"{what} x{n} (mean {1000 * total / n:.0f} ms, max {1000 * longest:.0f} ms)"
                         for what, (n, total, longest) in sorted(self.errors.items()))

    def first_ack_after(self, moment, not_from):
        """(time, node) of the first write acknowledged after `moment` by a member other than
        `not_from`, or None."""
        with self.lock:
            later = []
            for t, node, _ in reversed(self.acks):
                if t <= moment:
                    break
                if node != not_from:
                    later.append((t, node))
        return min(later) if later else None


def new_leader_elected(group, old, old_term):
    """Whether a member other than `old` says it leads in a term after `old_term`."""
    for m in group.members:
        if m is not old and m.running():
            try:
                role, term, _, _ = m.self_row(timeout=0.2)
            except (OSError, PgError):
                continue
            if role == "leader" and term > old_term:
                return True
    return False


def status(group):
    """Each member's (role, term, leader, applied token) as it says, for failure messages."""
    seen = {}
    for m in group.members:
        try:
            role, term, leader, token = m.self_row()
            seen[m.id] = f"{role} term {term} leader {leader} applied {token >> 32:X}/{token & 0xFFFFFFFF:X}"
        except (OSError, PgError) as e:
            seen[m.id] = str(e)
    return seen


def caught_up(group, member, leader, timeout=CATCH_UP_GIVE_UP):
    """Waits until `member`'s applied token reaches the leader's (sampled first); seconds taken."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            target = leader.self_row()[3]
            if member.self_row()[3] >= target:
                return time.monotonic() - started
        except (OSError, PgError):
            pass
        time.sleep(0.02)
    return None


def failover(group, kills, out):
    group.write("CREATE TABLE fo_writes (id bigint PRIMARY KEY, node int NOT NULL)")
    writer = Writer(group.members, time.monotonic() + kills * 120 + 60)
    writer.start()
    times, catch_ups, failures, new_leaders, elections = [], [], 0, [], []
    for k in range(kills):
        leader = group.leader()
        time.sleep(0.3)  # the writer settles on the leader
        old_term = leader.self_row()[1]
        t_kill = time.monotonic()
        leader.kill()
        ack = elected = None
        while time.monotonic() - t_kill < FAILOVER_GIVE_UP:
            ack = writer.first_ack_after(t_kill, leader.id)
            if ack:
                break
            if elected is None and new_leader_elected(group, leader, old_term):
                elected = time.monotonic() - t_kill
            time.sleep(0.005)
        if ack:
            times.append(ack[0] - t_kill)
            new_leaders.append(ack[1])
            if elected is not None:
                elections.append(elected)
        else:
            failures += 1
            ODD.append(f"kill {k + 1}: no write acknowledged within {FAILOVER_GIVE_UP} s after killing node {leader.id}")
        leader.launch()
        leader.wait_listening()
        taken = caught_up(group, leader, group.leader())
        if taken is None:
            ODD.append(f"kill {k + 1}: node {leader.id} did not catch up within {CATCH_UP_GIVE_UP} s")
        else:
            catch_ups.append(taken)
        shown = f"{times[-1] * 1000:.0f} ms" if ack else "none"
        shown += f" (a new leader after {elected * 1000:.0f} ms)" if elected is not None else ""
        print(f"  kill {k + 1}/{kills}: node {leader.id} -> writes again after {shown}, "
              f"on node {ack[1] if ack else '-'}; restarted node caught up in "
              f"{taken if taken is None else f'{taken:.2f} s'}", flush=True)
    writer.done.set()
    writer.join(10)
    lost = check_acknowledged(group, writer.acks)
    lines = [f"### Failover: kill -9 of the leader, {kills} times, a steady writer", "",
             "| kills | p50 | p99 | max | mean | failed (> 30 s) | restarted member caught up, p50 / max | "
             "writes acknowledged | acknowledged writes lost |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    if times:
        lines.append(f"| {kills} | {percentile(times, 50) * 1000:.0f} ms | {percentile(times, 99) * 1000:.0f} ms | "
                     f"{max(times) * 1000:.0f} ms | {statistics.mean(times) * 1000:.0f} ms | {failures} | "
                     f"{percentile(catch_ups, 50):.2f} s / {max(catch_ups):.2f} s | {len(writer.acks):,} | {lost} |"
                     if catch_ups else f"| {kills} | ... | | | | {failures} | | {len(writer.acks):,} | {lost} |")
    else:
        lines.append(f"| {kills} | none | | | | {failures} | | {len(writer.acks):,} | {lost} |")
    lines += ["", "Failover time: from the kill -9 until the writer's first INSERT acknowledged by another member. "
              f"Writer errors by kind (SQLSTATE or socket error; the time each took): {writer.error_summary()}. "
              f"All times (ms): {', '.join(f'{t * 1000:.0f}' for t in times)}."]
    if elections:
        lines += ["", f"Of which until a survivor said it leads (isola_cluster, polled every 5 ms): p50 "
                  f"{percentile(elections, 50) * 1000:.0f} ms, p99 {percentile(elections, 99) * 1000:.0f} ms, "
                  f"max {max(elections) * 1000:.0f} ms ({len(elections)} kills); the rest is the new leader "
                  "becoming primary (a blank entry of its term applied) and the writer finding it."]
    out.append("\n".join(lines) + "\n")
    print(out[-1], flush=True)
    if lost:
        ODD.append(f"{lost} acknowledged writes missing on some member")


def check_acknowledged(group, acks):
    """How many acknowledged ids some member lacks, once all members agree (linearizable)."""
    ids = {row for _, _, row in acks}
    leader = group.leader()
    for m in group.members:
        if caught_up(group, m, leader) is None:
            ODD.append(f"node {m.id} did not converge before the lost-write check")
    missing = 0
    for m in group.members:
        c = Wire(m.port, timeout=60)
        have = {int(r[0]) for r in c.query("SELECT id FROM fo_writes")}
        c.close()
        lacking = ids - have
        if lacking:
            ODD.append(f"node {m.id} lacks {len(lacking)} acknowledged ids, e.g. {sorted(lacking)[:10]}")
        missing += len(lacking)
    return missing


def apply_lag(leader, followers, samples, load_seconds, script, out, loaded):
    """Lag samples from the leader's acknowledgement to a follower's eventual read."""
    c = Wire(leader.port)
    c.query("DROP TABLE IF EXISTS lag_probe")
    c.query("CREATE TABLE lag_probe (id int PRIMARY KEY, v bigint NOT NULL)")
    c.query("INSERT INTO lag_probe VALUES (1, 0)")
    readers = []
    for f in followers:
        r = Wire(f.port)
        r.query("SET isola.read_consistency = 'eventual'")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the table reaches the follower
            try:
                if r.query("SELECT v FROM lag_probe WHERE id = 1"):
                    break
            except PgError:
                pass
            time.sleep(0.01)
        readers.append(r)
    bench = None
    if loaded:
        bench = subprocess.Popen(
            [f"{suite.PGBIN}/pgbench", "-n", "-h", "127.0.0.1", "-p", str(leader.port), "-U", "isola", "-M",
             "prepared", "-f", script, "-c", "8", "-j", "2", "-T", str(load_seconds), "isola"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
    lags, first_read, timeouts = [], 0, 0
    stop_at = time.monotonic() + max(load_seconds - 2, 1)
    for k in range(1, samples + 1):
        if time.monotonic() > stop_at:
            break
        r = readers[k % len(readers)]
        c.query(f"UPDATE lag_probe SET v = {k} WHERE id = 1")
        acked, reads = time.monotonic(), 0
        while True:
            v = int(r.value("SELECT v FROM lag_probe WHERE id = 1"))
            reads += 1
            seen = time.monotonic()
            if v >= k:
                lags.append(seen - acked)
                first_read += reads == 1
                break
            if seen - acked > 5:
                timeouts += 1
                break
        time.sleep(0.003)
    tps = ""
    if bench:
        text = bench.communicate(timeout=load_seconds + 60)[0]
        m = [line for line in text.splitlines() if line.startswith("tps =")]
        tps = m[0].split()[2] if m else "?"
    for r in readers + [c]:
        r.close()
    load = f"pgbench TPC-B-like, 8 clients, -M prepared ({float(tps):,.0f} TPS meanwhile)" if tps and tps != "?" \
        else "none" if not loaded else "pgbench TPC-B-like (TPS not reported)"
    if not lags:
        ODD.append(f"apply lag ({load}): no sample")
        return
    out.append(f"| {load} | {len(lags)} | {percentile(lags, 50) * 1000:.2f} | {percentile(lags, 99) * 1000:.2f} | "
               f"{max(lags) * 1000:.2f} | {100 * first_read / len(lags):.0f}% | {timeouts} |")
    print(out[-1], flush=True)


def read_latency(port, level, samples, scale):
    c = Wire(port)
    if level:
        c.query(f"SET isola.read_consistency = '{level}'")
    times = []
    rows = 100000 * scale
    deadline = time.monotonic() + 60
    for _ in range(samples):
        aid = random.randint(1, rows)
        t = time.perf_counter()
        got = c.query(f"SELECT abalance FROM pgbench_accounts WHERE aid = {aid}")
        times.append(time.perf_counter() - t)
        if not got:
            ODD.append(f"read of aid {aid} on port {port} at {level}: no row")
            break
        if time.monotonic() > deadline:
            break
    c.close()
    return percentile(times, 50) * 1e6, percentile(times, 99) * 1e6


def load_group(group, scale, chunk=5000):
    """pgbench's tables on the group, filled on the leader by INSERT ... SELECT of `chunk` rows
    per commit. Not pgbench -i: its one COPY commit of 100,000 rows per scale unit takes the
    leader out of contact with its majority (see docs/benchmarks.md, Replication)."""
    group.write("CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));"
                "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));"
                "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));"
                "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))")
    c = Wire(group.leader().port, timeout=120)
    c.query(f"INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, {scale}) g")
    c.query(f"INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, {10 * scale}) g")
    for start in range(1, 100000 * scale + 1, chunk):
        c.query(f"INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, '' "
                f"FROM generate_series({start}, {start + chunk - 1}) g")
    c.close()


def wait_rows(member, table, count, timeout=120):
    """Until `member` (read at eventual) has `count` rows in `table`."""
    c = Wire(member.port, timeout=timeout)
    c.query("SET isola.read_consistency = 'eventual'")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if int(c.value(f"SELECT count(*) FROM {table}")) >= count:
                break
        except PgError:
            pass
        time.sleep(0.1)
    c.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--kills", type=int, help="how many times to kill the leader (default: the mode's)")
    parser.add_argument("--only", default="failover,lag,throughput,reads")
    parser.add_argument("--isola", default=os.path.join(suite.ROOT, "target/release/isola"))
    parser.add_argument("--out", default=os.path.join(suite.ROOT, "bench/results"))
    args = parser.parse_args()
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    cfg = dict(MODES[mode])
    if args.kills is not None:
        cfg["kills"] = args.kills
    only = args.only.split(",")
    if not os.path.exists(args.isola):
        sys.exit(f"no isola binary at {args.isola} (cargo build --release)")

    work = tempfile.mkdtemp(prefix="isola-failover-")
    group = single = pg = None
    started = time.monotonic()
    try:
        version = suite.run([f"{suite.PGBIN}/pgbench", "--version"]).stdout.strip()
        out = [f"# Replication: bench/failover.py --{mode}\n\n{date.today()}, {os.cpu_count()} cores, "
               f"{version}; a 3-member group on loopback (every member, the single node, PostgreSQL and "
               f"pgbench share the machine); parts {args.only}; kills {cfg['kills']}, scale {cfg['scale']}, {cfg['seconds']} s per "
               f"pgbench run, median of {cfg['repeats']}. All durable (fsync on, synchronous_commit on).\n"]
        print(out[0], flush=True)
        group = Group(args.isola, work)
        if "failover" in only:
            failover(group, cfg["kills"], out)
        if {"lag", "throughput", "reads"} & set(only):
            pg = suite.Postgres(work)
            single = suite.Isola(work, args.isola)
            leader = group.leader()
            for s in [pg, single]:
                suite.load_pgbench_tables(s, cfg["scale"])
            load_group(group, cfg["scale"])
            leader = group.leader()
            for f in group.followers(leader):
                wait_rows(f, "pgbench_accounts", 100000 * cfg["scale"])
                if caught_up(group, f, leader) is None:
                    ODD.append(f"after loading, node {f.id} did not reach the leader's applied token within "
                               f"{CATCH_UP_GIVE_UP} s: {status(group)}")
            script = suite.tpcb_script(work, cfg["scale"])
            select = suite.write(os.path.join(work, "select.sql"),
                                 f"\\set aid random(1, {100000 * cfg['scale']})\n"
                                 "SELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n")
        if "reads" in only:
            lines = ["### Read latency: one client, a point select by primary key (simple protocol), "
                     f"{cfg['read_samples']:,} reads each", "",
                     "| server | read_consistency | p50 µs | p99 µs |", "|---|---|---:|---:|"]
            p50, p99 = read_latency(single.port, None, cfg["read_samples"], cfg["scale"])
            lines.append(f"| single node | (none: one node) | {p50:.0f} | {p99:.0f} |")
            for who, m in [("group leader", leader), ("group follower", group.followers(leader)[0])]:
                for level in LEVELS:
                    try:
                        p50, p99 = read_latency(m.port, level, cfg["read_samples"], cfg["scale"])
                        lines.append(f"| {who} | {level} | {p50:.0f} | {p99:.0f} |")
                    except (OSError, PgError) as e:
                        ODD.append(f"reads on {who} (node {m.id}) at {level}: {e}; {status(group)}")
                        lines.append(f"| {who} | {level} | failed: {str(e)[:120]} | |")
                    print(lines[-1], flush=True)
            out.append("\n".join(lines) + "\n")
        if "lag" in only:
            lag_lines = ["### Apply lag: a commit acknowledged by the leader, until a follower shows it "
                         "(read_consistency = eventual)", "",
                         "| load on the leader | samples | p50 ms | p99 ms | max ms | visible at the first read | "
                         "not visible within 5 s |", "|---|---:|---:|---:|---:|---:|---:|"]
            followers = group.followers(leader)
            for samples, seconds, loaded in [(cfg["lag_samples"] // 3, 3 + cfg["seconds"], False),
                                             (cfg["lag_samples"], cfg["seconds"] + 5, True)]:
                try:
                    apply_lag(leader, followers, samples, seconds, script, lag_lines, loaded)
                except (OSError, PgError) as e:
                    ODD.append(f"apply lag ({'under load' if loaded else 'idle'}): {e}; {status(group)}")
                    lag_lines.append(f"| {'TPC-B-like' if loaded else 'none'} | failed: {str(e)[:160]} | | | | | |")
            lag_lines += ["", "Each sample: UPDATE one row on the leader; once acknowledged, read it on a follower "
                          "(alternating between the two) until the new value shows. The time includes one read's "
                          "round trip (about the p50 of a follower read at eventual)."]
            out.append("\n".join(lag_lines) + "\n")
        if "throughput" in only:
            out.append(throughput(pg, single, leader, script, select, cfg))
            if suite.FAILURES:
                ODD.append(f"pgbench failed: {suite.FAILURES}; {status(group)}")
        out.append(f"Run time {time.monotonic() - started:.0f} s.\n")
        if ODD:
            out.append("Odd: " + "; ".join(ODD) + "\n")
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, f"{date.today()}-replication-{mode}.md")
        suite.write(path, "\n".join(out))
        print(f"\nwritten: {path}", flush=True)
    except BaseException as e:
        ODD.append(f"stopped: {type(e).__name__}: {e}")
        raise
    finally:
        for s in [pg, single, group]:
            if s:
                s.stop()
        if ODD:
            print("ODD: " + "; ".join(ODD), file=sys.stderr)
            print(f"(work directory kept: {work})", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if ODD or suite.FAILURES:
        sys.exit(1)


def throughput(pg, single, leader, script, select, cfg):
    leader.name = "group leader"
    lines = ["### Throughput: 8 clients, -M prepared, against the group's leader, a single node, PostgreSQL 15",
             "", "| workload | PG TPS | single TPS | group TPS | group / single | single / PG | group / PG |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for label, path in [("TPC-B-like", script), ("select-only", select)]:
        tps = {s: [] for s in ["pg", "single", "group"]}
        for _ in range(cfg["repeats"]):
            for key, s in [("pg", pg), ("single", single), ("group", leader)]:
                # Bounded: a server that stops answering must not hold the run (timeout kills pgbench).
                bound = ("timeout", "-k", "5", str(cfg["seconds"] + 60))
                tps[key].append(suite.pgbench(s, path, 8, "prepared", cfg["seconds"], prefix=bound)["tps"])
        p, s, g = (statistics.median(tps[k]) for k in ["pg", "single", "group"])
        lines.append(f"| {label} | {p:,.0f} | {s:,.0f} | {g:,.0f} | {suite.ratio(g, s)} | {suite.ratio(s, p)} | "
                     f"{suite.ratio(g, p)} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
