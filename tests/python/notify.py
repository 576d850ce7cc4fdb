"""LISTEN / NOTIFY and connection-pool housekeeping through real drivers (run by tests/notify.rs).

Usage: notify.py DSN. Prints ALL OK at the end; any failure raises.

- psycopg 3: a listener receives (conn.notifies()) what another session NOTIFYs or
  pg_notify()s, only once that transaction commits, nothing of one rolled back, duplicates
  within a transaction folded into one; a notification sent while the listener is idle
  arrives without it sending anything.
- psycopg 3 and psycopg2 server-side (named) cursors: DECLARE ... [WITH | WITHOUT] HOLD and
  FETCH FORWARD in chunks, as Django's .iterator() runs them.
- psycopg: a cancel request ends a wait for an advisory lock (57014).
- asyncpg: add_listener gets notifications while the connection idles.
- asyncpg's pool (create_pool(min_size=5, max_size=50)): 200 concurrent small transactions
  acquire and release connections (asyncpg sends `SELECT pg_advisory_unlock_all(); CLOSE ALL;
  UNLISTEN *; RESET ALL;` on each release); some SET settings, and no acquisition sees a
  setting another left behind.
"""

import asyncio
import sys
import threading
import time

import asyncpg
import psycopg
import psycopg2

DSN = sys.argv[1]
with psycopg.connect(DSN) as _probe:
    IS_ISOLA = "isola" in _probe.execute("SELECT version()").fetchone()[0]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def psycopg_listen_notify():
    listener = psycopg.connect(DSN, autocommit=True)
    sender = psycopg.connect(DSN, autocommit=True)
    listener.execute("LISTEN jobs")
    sender_pid = sender.execute("SELECT pg_backend_pid()").fetchone()[0]

    # Nothing before the commit; the commit delivers, in order, duplicates folded.
    with sender.transaction():
        sender.execute("NOTIFY jobs, 'a'")
        sender.execute("NOTIFY jobs, 'a'")
        sender.execute("SELECT pg_notify('jobs', 'b')")
        sender.execute("NOTIFY other, 'not listened to'")
        early = list(listener.notifies(timeout=0.3))
        check(early == [], f"delivered before commit: {early}")
    got = list(listener.notifies(timeout=5, stop_after=2))
    check([(n.channel, n.payload, n.pid) for n in got] == [("jobs", "a", sender_pid), ("jobs", "b", sender_pid)],
          f"after commit: {got}")

    # A rolled-back transaction's notifications are dropped.
    try:
        with sender.transaction():
            sender.execute("NOTIFY jobs, 'lost'")
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    sender.execute("NOTIFY jobs, 'after rollback'")
    got = list(listener.notifies(timeout=5, stop_after=1))
    check([n.payload for n in got] == ["after rollback"], f"after rollback: {got}")

    # A LISTEN in a block that rolls back never takes effect; a notification queued after a
    # savepoint that is rolled back to is dropped, the one before it kept.
    with listener.transaction(force_rollback=True):
        listener.execute("LISTEN never")
    sender.execute("NOTIFY never, 'unheard'")
    with sender.transaction():
        sender.execute("NOTIFY jobs, 'before savepoint'")
        try:
            with sender.transaction():
                sender.execute("NOTIFY jobs, 'rolled back to'")
                raise RuntimeError("roll back to the savepoint")
        except RuntimeError:
            pass
    got = list(listener.notifies(timeout=5, stop_after=1))
    got += list(listener.notifies(timeout=0.3))
    check([(n.channel, n.payload) for n in got] == [("jobs", "before savepoint")], f"savepoints: {got}")

    # UNLISTEN stops delivery.
    listener.execute("UNLISTEN jobs")
    sender.execute("NOTIFY jobs, 'unheard'")
    got = list(listener.notifies(timeout=0.3))
    check(got == [], f"after UNLISTEN: {got}")
    listener.close()
    sender.close()
    print("psycopg LISTEN/NOTIFY ok")


def psycopg_server_side_cursor():
    with psycopg.connect(DSN) as conn:
        conn.execute("DROP TABLE IF EXISTS ssc")
        conn.execute("CREATE TABLE ssc (id int PRIMARY KEY, name text)")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO ssc VALUES (%s, %s)", [(i, f"n{i}") for i in range(1, 51)])
        conn.commit()
        with conn.cursor(name="chunked") as cur:
            cur.itersize = 7
            cur.execute("SELECT id, name FROM ssc WHERE id > %s ORDER BY id", (10,))
            rows = list(cur)
        check(len(rows) == 40 and rows[0] == (11, "n11") and rows[-1] == (50, "n50"), f"rows: {rows[:3]}")
        conn.commit()
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("SELECT id FROM ssc ORDER BY id")
            conn.commit()
            first = cur.fetchmany(5)
            rest = cur.fetchall()
        check([r[0] for r in first] == [1, 2, 3, 4, 5] and len(rest) == 45, f"held: {first} {len(rest)}")
    conn2 = psycopg2.connect(DSN)
    cur2 = conn2.cursor()
    for withhold in (False, True):
        named = conn2.cursor(name=f"p2_{withhold}", withhold=withhold)
        named.itersize = 9
        named.execute("SELECT id FROM ssc WHERE id <= %s ORDER BY id", (30,))
        if withhold:
            conn2.commit()
        ids = [r[0] for r in named]
        check(ids == list(range(1, 31)), f"psycopg2 named cursor (withhold={withhold}): {ids[:5]}")
        named.close()
        conn2.commit()
    cur2.execute("DROP TABLE ssc")
    conn2.commit()
    conn2.close()
    print("psycopg and psycopg2 server-side cursors ok")


def psycopg_cancel_advisory_wait():
    holder = psycopg.connect(DSN, autocommit=True)
    waiter = psycopg.connect(DSN, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(4242)")
    outcome = []

    def wait():
        try:
            waiter.execute("SELECT pg_advisory_lock(4242)")
            outcome.append("granted")
        except psycopg.errors.QueryCanceled:
            outcome.append("canceled")

    t = threading.Thread(target=wait)
    t.start()
    # Cancel once the waiter shows as waiting (bounded).
    for _ in range(200):
        if holder.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            if not IS_ISOLA else "SELECT count(*) FROM isola_locks WHERE NOT granted"
        ).fetchone()[0]:
            break
        time.sleep(0.05)
    waiter.cancel()
    t.join(timeout=10)
    check(outcome == ["canceled"], f"cancel of an advisory wait: {outcome}")
    check(waiter.execute("SELECT pg_try_advisory_lock(4243)").fetchone()[0], "waiter usable")
    holder.close()
    waiter.close()
    print("psycopg cancel of an advisory wait ok")


async def asyncpg_listener():
    listener = await asyncpg.connect(DSN)
    sender = await asyncpg.connect(DSN)
    received = []
    arrived = asyncio.Event()

    def on_notify(connection, pid, channel, payload):
        received.append((channel, payload))
        if len(received) == 2:
            arrived.set()

    await listener.add_listener("events", on_notify)
    async with sender.transaction():
        await sender.execute("SELECT pg_notify('events', 'one')")
        await sender.execute("NOTIFY events, 'two'")
        await asyncio.sleep(0.2)
        check(received == [], f"asyncpg: delivered before commit: {received}")
    await asyncio.wait_for(arrived.wait(), timeout=10)
    check(received == [("events", "one"), ("events", "two")], f"asyncpg: {received}")
    await listener.remove_listener("events", on_notify)
    await listener.close()
    await sender.close()
    print("asyncpg add_listener ok")


async def asyncpg_pool():
    pool = await asyncpg.create_pool(DSN, min_size=5, max_size=50)
    async with pool.acquire() as conn:
        await conn.execute("DROP TABLE IF EXISTS counters")
        await conn.execute("CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)")
        await conn.execute("INSERT INTO counters SELECT 1, 0")
    leaks = []

    async def one(i):
        async with pool.acquire() as conn:
            seen = await conn.fetchval("SHOW lock_timeout")
            app = await conn.fetchval("SHOW application_name")
            if seen != "0" or app.startswith("leak"):
                leaks.append((i, seen, app))
            async with conn.transaction():
                if i % 3 == 0:
                    await conn.execute("SET lock_timeout = '1234ms'")
                    await conn.execute(f"SET application_name = 'leak{i}'")
                if i % 5 == 0:
                    await conn.execute("SELECT pg_advisory_lock($1)", i)
                await conn.execute("UPDATE counters SET n = n + 1 WHERE id = 1")
            if i % 7 == 0:
                await conn.execute("LISTEN pool_channel")

    results = await asyncio.gather(*(one(i) for i in range(200)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    check(failures == [], f"pool failures: {failures[:3]}")
    check(leaks == [], f"settings leaked between acquisitions: {leaks[:5]}")
    async with pool.acquire() as conn:
        n = await conn.fetchval("SELECT n FROM counters WHERE id = 1")
        check(n == 200, f"counter {n}")
        is_isola = "isola" in await conn.fetchval("SELECT version()")
        locks = "isola_locks" if is_isola else "pg_locks WHERE locktype = 'advisory'"
        held = await conn.fetchval(f"SELECT count(*) FROM {locks}")
        check(held == 0, f"advisory locks left after release: {held}")
        await conn.execute("DROP TABLE counters")
    await pool.close()
    print("asyncpg pool ok")


psycopg_listen_notify()
psycopg_server_side_cursor()
psycopg_cancel_advisory_wait()
asyncio.run(asyncpg_listener())
asyncio.run(asyncpg_pool())
print("ALL OK")
