#!/usr/bin/env python3
"""Read your own write on a follower, with psycopg 3.

Start a 3-member group on loopback (docs/replication.md), then:

    python3 examples/replication_psycopg.py [PORT1 PORT2 PORT3]     # or ISOLA_PORTS=6101,6102,6103

1. find the leader (isola_cluster: each member says its own role); a write on a follower is
   refused with SQLSTATE 25006, which is shown too;
2. write a row on the leader and read the session's token (SHOW isola.session_token);
3. on a follower, SET isola.read_after = that token: the follower waits until it has applied the
   write, so the read finds it (read your writes, across members);
4. with read_consistency = 'eventual' the follower waits for nothing: a read right after a write
   may or may not see it.
"""

import os
import sys
import time

import psycopg

PORTS = [int(p) for p in (sys.argv[1:] or os.environ.get("ISOLA_PORTS", "6101,6102,6103").split(","))]


def connect(port):
    # Any user and database name is accepted on loopback; autocommit: each statement commits.
    return psycopg.connect(host="127.0.0.1", port=port, user="isola", dbname="isola",
                           autocommit=True, connect_timeout=3)


def find_leader():
    """(leader port, follower ports), waiting up to 20 s for an election. A new leader takes
    writes once it has applied an entry of its own term: SHOW transaction_read_only says so."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for port in PORTS:
            try:
                with connect(port) as conn:
                    role = conn.execute("SELECT role FROM isola_cluster WHERE is_self").fetchone()[0]
                    writable = conn.execute("SHOW transaction_read_only").fetchone()[0] == "off"
            except psycopg.Error:
                continue  # that member is down or starting
            if role == "leader" and writable:
                return port, [p for p in PORTS if p != port]
        time.sleep(0.2)
    sys.exit("no leader within 20 s")


leader, followers = find_leader()
print(f"leader: port {leader}; followers: ports {followers}")

with connect(leader) as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS example_notes (id bigint PRIMARY KEY, body text NOT NULL)")
    created = conn.execute("SHOW isola.session_token").fetchone()[0]

# A follower refuses writes: 25006 (psycopg's ReadOnlySqlTransaction), naming the leader. (The
# token makes the follower wait until it has the table, so the refusal is about the write.)
with connect(followers[0]) as conn:
    conn.execute(f"SET isola.read_after = '{created}'")
    try:
        conn.execute("INSERT INTO example_notes VALUES (-1, 'refused')")
    except psycopg.errors.ReadOnlySqlTransaction as e:
        print(f"follower port {followers[0]} refused the write: {e.sqlstate} {e}")

# Write on the leader; its session token covers that commit.
note_id = time.time_ns()
with connect(leader) as conn:
    conn.execute("INSERT INTO example_notes VALUES (%s, %s)", (note_id, "written on the leader"))
    token = conn.execute("SHOW isola.session_token").fetchone()[0]
print(f"wrote note {note_id} on the leader; session token {token}")

# On a follower, carry the token: the read waits until the follower has applied it.
with connect(followers[0]) as conn:
    conn.execute("SET isola.read_consistency = 'causal'")
    conn.execute(f"SET isola.read_after = '{token}'")
    row = conn.execute("SELECT body FROM example_notes WHERE id = %s", (note_id,)).fetchone()
if row is None:
    sys.exit(f"read-your-write FAILED: follower port {followers[0]} does not show note {note_id}")
print(f"read-your-write OK: follower port {followers[0]} shows note {note_id} ({row[0]!r}) "
      f"after read_after = {token}")

# Without the token, at 'eventual', a follower shows whatever it has applied so far.
other = followers[-1]
with connect(leader) as writer, connect(other) as reader:
    reader.execute("SET isola.read_consistency = 'eventual'")
    note_id = time.time_ns()
    writer.execute("INSERT INTO example_notes VALUES (%s, 'maybe not there yet')", (note_id,))
    row = reader.execute("SELECT body FROM example_notes WHERE id = %s", (note_id,)).fetchone()
seen = "already shows it" if row else "does not show it yet (eventual: no wait)"
print(f"eventual: right after the write, follower port {other} {seen}")
