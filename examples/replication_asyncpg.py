#!/usr/bin/env python3
"""Read your own write on a follower, with asyncpg.

Start a 3-member group on loopback (docs/replication.md), then:

    python3 examples/replication_asyncpg.py [PORT1 PORT2 PORT3]     # or ISOLA_PORTS=6101,6102,6103

1. find the leader: the member that says transaction_read_only = off; a write on a follower is
   refused with SQLSTATE 25006 (asyncpg's ReadOnlySQLTransactionError), which is shown too;
2. write a row on the leader and read the session's token (SHOW isola.session_token);
3. on a follower, SET isola.read_after = that token: the follower waits until it has applied the
   write, so the read finds it (read your writes, across members);
4. with read_consistency = 'eventual' the follower waits for nothing: a read right after a write
   may or may not see it.
"""

import asyncio
import os
import sys
import time

import asyncpg

PORTS = [int(p) for p in (sys.argv[1:] or os.environ.get("ISOLA_PORTS", "6101,6102,6103").split(","))]


async def connect(port):
    # Any user and database name is accepted on loopback.
    return await asyncpg.connect(host="127.0.0.1", port=port, user="isola", database="isola", timeout=3)


async def find_leader():
    """(leader port, follower ports), waiting up to 20 s for an election. Only the leader takes
    writes (a new one once it has applied an entry of its own term): the member that says
    transaction_read_only = off."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for port in PORTS:
            try:
                conn = await connect(port)
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError):
                continue  # that member is down or starting
            try:
                if await conn.fetchval("SHOW transaction_read_only") == "off":
                    return port, [p for p in PORTS if p != port]
            finally:
                await conn.close()
        await asyncio.sleep(0.2)
    sys.exit("no leader within 20 s")


async def main():
    leader, followers = await find_leader()
    print(f"leader: port {leader}; followers: ports {followers}")
    conn = await connect(leader)
    await conn.execute("CREATE TABLE IF NOT EXISTS example_notes (id bigint PRIMARY KEY, body text NOT NULL)")
    created = await conn.fetchval("SHOW isola.session_token")
    await conn.close()

    # A follower refuses writes with 25006 (asyncpg's ReadOnlySQLTransactionError), naming the
    # leader. (The token makes the follower wait until it has the table, so the refusal is about
    # the write.)
    conn = await connect(followers[0])
    await conn.execute(f"SET isola.read_after = '{created}'")
    try:
        await conn.execute("INSERT INTO example_notes VALUES (-1, 'refused')")
    except asyncpg.ReadOnlySQLTransactionError as e:
        print(f"follower port {followers[0]} refused the write: {e.sqlstate} {e}")
    await conn.close()

    # Write on the leader; its session token covers that commit.
    note_id = time.time_ns()
    conn = await connect(leader)
    await conn.execute("INSERT INTO example_notes VALUES ($1, $2)", note_id, "written on the leader")
    token = await conn.fetchval("SHOW isola.session_token")
    await conn.close()
    print(f"wrote note {note_id} on the leader; session token {token}")

    # On a follower, carry the token: the read waits until the follower has applied it.
    conn = await connect(followers[0])
    await conn.execute("SET isola.read_consistency = 'causal'")
    await conn.execute(f"SET isola.read_after = '{token}'")
    body = await conn.fetchval("SELECT body FROM example_notes WHERE id = $1", note_id)
    await conn.close()
    if body is None:
        sys.exit(f"read-your-write FAILED: follower port {followers[0]} does not show note {note_id}")
    print(f"read-your-write OK: follower port {followers[0]} shows note {note_id} ({body!r}) "
          f"after read_after = {token}")

    # Without the token, at 'eventual', a follower shows whatever it has applied so far.
    other = followers[-1]
    writer, reader = await connect(leader), await connect(other)
    await reader.execute("SET isola.read_consistency = 'eventual'")
    note_id = time.time_ns()
    await writer.execute("INSERT INTO example_notes VALUES ($1, 'maybe not there yet')", note_id)
    body = await reader.fetchval("SELECT body FROM example_notes WHERE id = $1", note_id)
    await writer.close()
    await reader.close()
    seen = "already shows it" if body else "does not show it yet (eventual: no wait)"
    print(f"eventual: right after the write, follower port {other} {seen}")


asyncio.run(main())
