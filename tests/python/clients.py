"""Python drivers against isola: psycopg 3, psycopg2, asyncpg and SQLAlchemy 2, unchanged.

Run by tests/python_clients.rs with the server's URL as argv[1]; exits non-zero on the first
failed expectation. Each check says what a Python developer relies on.
"""
import asyncio
import datetime
import decimal
import random
import sys
import threading

import asyncpg
import psycopg
import psycopg2
import psycopg2.errors
import sqlalchemy.exc
from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table, create_engine, inspect, select, text

URL = sys.argv[1]


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def psycopg3():
    with psycopg.connect(URL, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_accounts")
        c.execute("CREATE TABLE py_accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric)")
        c.execute("INSERT INTO py_accounts VALUES (%s, %s, %s), (%s, %s, %s)",
                  (1, "ann", decimal.Decimal("100.50"), 2, "bob", decimal.Decimal("50")))
        rows = c.execute("SELECT id, owner, balance FROM py_accounts ORDER BY id").fetchall()
        check(rows == [(1, "ann", decimal.Decimal("100.50")), (2, "bob", decimal.Decimal("50"))],
              "psycopg 3: parameters and typed results")
        try:
            c.execute("INSERT INTO py_accounts VALUES (1, 'dup', 0)")
            check(False, "psycopg 3: duplicate key raises")
        except psycopg.errors.UniqueViolation as e:
            check(e.sqlstate == "23505", "psycopg 3: UniqueViolation with SQLSTATE 23505")
        check(c.execute("SELECT 1").fetchone() == (1,), "psycopg 3: connection usable after an error")
        # `time` columns (Django's TimeField): datetime.time in and out, text and binary
        c.execute("DROP TABLE IF EXISTS py_shifts")
        c.execute("CREATE TABLE py_shifts (id int PRIMARY KEY, starts time, ends time(0))")
        c.execute("INSERT INTO py_shifts VALUES (%s, %s, %s)",
                  (1, datetime.time(10, 30, 15, 250000), datetime.time(18, 0, 0, 700000)))
        c.execute("INSERT INTO py_shifts VALUES (%b, %b, %b)", (2, datetime.time(8, 0), None))
        rows = c.execute("SELECT id, starts, ends FROM py_shifts ORDER BY starts").fetchall()
        check(rows == [(2, datetime.time(8, 0), None),
                       (1, datetime.time(10, 30, 15, 250000), datetime.time(18, 0, 1))],
              "psycopg 3: time parameters and results, time(0) rounds")
        cur = c.cursor(binary=True)
        rows = cur.execute("SELECT ends - starts FROM py_shifts WHERE starts > %s",
                           (datetime.time(9, 0),)).fetchall()
        check(rows == [(datetime.timedelta(hours=7, minutes=29, seconds=45, microseconds=750000),)],
              "psycopg 3: time comparison and time - time, binary")
    # Lost update refused at Repeatable Read: the second writer gets SerializationFailure.
    a = psycopg.connect(URL)
    b = psycopg.connect(URL)
    a.isolation_level = b.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    balance_a = a.execute("SELECT balance FROM py_accounts WHERE id = 1").fetchone()[0]
    balance_b = b.execute("SELECT balance FROM py_accounts WHERE id = 1").fetchone()[0]
    a.execute("UPDATE py_accounts SET balance = %s WHERE id = 1", (balance_a - 10,))
    a.commit()
    try:
        b.execute("UPDATE py_accounts SET balance = %s WHERE id = 1", (balance_b - 20,))
        check(False, "psycopg 3: the lost update is refused")
    except psycopg.errors.SerializationFailure as e:
        check(e.sqlstate == "40001", "psycopg 3: SerializationFailure (40001) on a lost update at RR")
        b.rollback()
    check(b.execute("SELECT balance FROM py_accounts WHERE id = 1").fetchone()[0] == decimal.Decimal("90.50"),
          "psycopg 3: the first update stands")
    a.close()
    b.close()


def psycopg2_checks():
    c = psycopg2.connect(URL)
    c.set_session(isolation_level="SERIALIZABLE")
    cur = c.cursor()
    cur.execute("SELECT owner FROM py_accounts WHERE id = %s", (2,))
    check(cur.fetchall() == [("bob",)], "psycopg2: parameters")
    cur.execute("SHOW transaction_isolation")
    check(cur.fetchone()[0] == "serializable", "psycopg2: set_session(isolation_level=...)")
    c.rollback()
    try:
        cur.execute("SELECT * FROM no_such_table")
    except psycopg2.errors.UndefinedTable as e:
        check(e.pgcode == "42P01", "psycopg2: UndefinedTable with pgcode 42P01")
    c.rollback()
    c.close()


async def asyncpg_checks():
    c = await asyncpg.connect(URL)
    rows = await c.fetch("SELECT id, owner FROM py_accounts WHERE id = $1", 2)
    check([tuple(r) for r in rows] == [(2, "bob")], "asyncpg: parameters, binary results")
    async with c.transaction(isolation="serializable"):
        await c.execute("UPDATE py_accounts SET owner = $1 WHERE id = $2", "robert", 2)
    check(await c.fetchval("SELECT owner FROM py_accounts WHERE id = 2") == "robert",
          "asyncpg: transaction(isolation='serializable') commits")
    starts = await c.fetch("SELECT starts FROM py_shifts WHERE starts < $1 ORDER BY id",
                           datetime.time(12, 0))
    check([r[0] for r in starts] == [datetime.time(10, 30, 15, 250000), datetime.time(8, 0)],
          "asyncpg: time parameters and binary results")
    stmt = await c.prepare("SELECT balance FROM py_accounts WHERE id = $1")
    check(await stmt.fetchval(2) == decimal.Decimal("50"), "asyncpg: prepared statement, numeric")
    try:
        await c.execute("INSERT INTO py_accounts VALUES (2, 'dup', 0)")
    except asyncpg.exceptions.UniqueViolationError as e:
        check(e.sqlstate == "23505", "asyncpg: UniqueViolationError (23505)")
    await c.close()


def sqlalchemy_checks():
    for driver in ["psycopg", "psycopg2"]:
        engine = create_engine(URL.replace("postgresql://", f"postgresql+{driver}://"))
        md = MetaData()
        users = Table("sa_users", md, Column("id", Integer, primary_key=True), Column("name", String(50)),
                      Column("balance", Numeric(10, 2)))
        md.drop_all(engine)
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(users.insert(), [{"name": "a", "balance": 1}, {"name": "b", "balance": 2}])
        with engine.connect() as conn:
            rows = conn.execute(select(users.c.id, users.c.name).order_by(users.c.id)).fetchall()
        check([tuple(r) for r in rows] == [(1, "a"), (2, "b")],
              f"SQLAlchemy + {driver}: create_all, insert (serial ids), select")
        insp = inspect(engine)
        check("sa_users" in insp.get_table_names() and insp.has_table("sa_users"),
              f"SQLAlchemy + {driver}: inspector lists the table")
        md.drop_all(engine)
        check(not inspect(engine).has_table("sa_users"), f"SQLAlchemy + {driver}: drop_all")
        engine.dispose()


# --- The transfer workload, once per driver: 4 concurrent clients x 25 transfers at
# SERIALIZABLE between 5 accounts, updates in random order (so deadlocks happen too), each
# transfer retried on 40001 / 40P01 until it commits. Afterwards the balances must be exactly
# what the ledger of committed transfers says, and the total unchanged.
ACCOUNTS, START, CLIENTS, TRANSFERS, MAX_TRIES = 5, 1000, 4, 25, 200
RETRYABLE = {"40001", "40P01"}


def reset_bank():
    with psycopg.connect(URL, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_bank")
        c.execute("DROP TABLE IF EXISTS py_ledger")
        c.execute("CREATE TABLE py_bank (id int PRIMARY KEY, balance int NOT NULL)")
        c.execute("CREATE TABLE py_ledger (id serial PRIMARY KEY, src int, dst int, amount int)")
        for i in range(1, ACCOUNTS + 1):
            c.execute("INSERT INTO py_bank VALUES (%s, %s)", (i, START))


def plan(seed):
    rng = random.Random(seed)
    out = []
    for _ in range(TRANSFERS):
        src, dst = rng.sample(range(1, ACCOUNTS + 1), 2)
        out.append((src, dst, rng.randint(1, 50), rng.random() < 0.5))
    return out


def audit(driver, retries):
    with psycopg.connect(URL, autocommit=True) as c:
        balances = dict(c.execute("SELECT id, balance FROM py_bank").fetchall())
        expected = {i: START for i in range(1, ACCOUNTS + 1)}
        ledger = c.execute("SELECT src, dst, amount FROM py_ledger").fetchall()
        for src, dst, amount in ledger:
            expected[src] -= amount
            expected[dst] += amount
    check(len(ledger) == CLIENTS * TRANSFERS, f"{driver}: every transfer committed once ({len(ledger)})")
    check(balances == expected and sum(balances.values()) == ACCOUNTS * START,
          f"{driver}: balances match the ledger, total unchanged ({retries} retries on 40001/40P01)")


def run_threads(work):
    errors, retries = [], [0]
    lock = threading.Lock()

    def body(n):
        try:
            r = work(n)
            with lock:
                retries[0] += r
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=body, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"FAILED: {errors[0]}")
    return retries[0]


def transfer_sql(src, dst, amount, reverse):
    """The statements of one transfer; `reverse` credits before it debits (lock order varies)."""
    legs = [(src, -amount), (dst, amount)]
    if reverse:
        legs.reverse()
    return [("UPDATE py_bank SET balance = balance + %s WHERE id = %s", (delta, account))
            for account, delta in legs] + [
        ("INSERT INTO py_ledger (src, dst, amount) VALUES (%s, %s, %s)", (src, dst, amount))]


def psycopg3_transfers():
    reset_bank()

    def work(n):
        retries = 0
        with psycopg.connect(URL) as c:
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
            for src, dst, amount, reverse in plan(n):
                for _ in range(MAX_TRIES):
                    try:
                        with c.transaction():
                            c.execute("SELECT balance FROM py_bank WHERE id = %s", (src,)).fetchone()
                            for sql, args in transfer_sql(src, dst, amount, reverse):
                                c.execute(sql, args)
                        break
                    except psycopg.Error as e:
                        if e.sqlstate not in RETRYABLE:
                            raise
                        retries += 1
                else:
                    raise RuntimeError("psycopg 3: transfer never committed")
        return retries

    audit("psycopg 3 transfers", run_threads(work))


def psycopg2_transfers():
    reset_bank()

    def work(n):
        retries = 0
        c = psycopg2.connect(URL)
        c.set_session(isolation_level="SERIALIZABLE")
        for src, dst, amount, reverse in plan(100 + n):
            for _ in range(MAX_TRIES):
                cur = c.cursor()
                try:
                    cur.execute("SELECT balance FROM py_bank WHERE id = %s", (src,))
                    for sql, args in transfer_sql(src, dst, amount, reverse):
                        cur.execute(sql, args)
                    c.commit()
                    break
                except psycopg2.Error as e:
                    c.rollback()
                    if e.pgcode not in RETRYABLE:
                        raise
                    retries += 1
            else:
                raise RuntimeError("psycopg2: transfer never committed")
        c.close()
        return retries

    audit("psycopg2 transfers", run_threads(work))


async def asyncpg_transfers():
    reset_bank()

    async def work(n):
        retries = 0
        c = await asyncpg.connect(URL)
        for src, dst, amount, reverse in plan(200 + n):
            for _ in range(MAX_TRIES):
                try:
                    async with c.transaction(isolation="serializable"):
                        await c.fetchval("SELECT balance FROM py_bank WHERE id = $1", src)
                        for sql, args in transfer_sql(src, dst, amount, reverse):
                            q = sql.replace("%s", "${}")
                            q = q.format(*range(1, q.count("${}") + 1))
                            await c.execute(q, *args)
                    break
                except asyncpg.exceptions.PostgresError as e:
                    if e.sqlstate not in RETRYABLE:
                        raise
                    retries += 1
            else:
                raise RuntimeError("asyncpg: transfer never committed")
        await c.close()
        return retries

    retries = sum(await asyncio.gather(*(work(n) for n in range(CLIENTS))))
    audit("asyncpg transfers", retries)


def sqlalchemy_transfers():
    reset_bank()
    engine = create_engine(URL.replace("postgresql://", "postgresql+psycopg://"),
                           isolation_level="SERIALIZABLE", pool_size=CLIENTS)

    def work(n):
        retries = 0
        for src, dst, amount, reverse in plan(300 + n):
            for _ in range(MAX_TRIES):
                try:
                    with engine.begin() as conn:
                        conn.execute(text("SELECT balance FROM py_bank WHERE id = :id"), {"id": src})
                        for sql, args in transfer_sql(src, dst, amount, reverse):
                            names = [f"p{i}" for i in range(len(args))]
                            q = sql
                            for name in names:
                                q = q.replace("%s", f":{name}", 1)
                            conn.execute(text(q), dict(zip(names, args)))
                    break
                except sqlalchemy.exc.DBAPIError as e:
                    if getattr(e.orig, "sqlstate", None) not in RETRYABLE:
                        raise
                    retries += 1
            else:
                raise RuntimeError("SQLAlchemy: transfer never committed")
        return retries

    audit("SQLAlchemy + psycopg transfers", run_threads(work))
    engine.dispose()


psycopg3()
psycopg2_checks()
asyncio.run(asyncpg_checks())
sqlalchemy_checks()
psycopg3_transfers()
psycopg2_transfers()
asyncio.run(asyncpg_transfers())
sqlalchemy_transfers()
print("ALL OK")
