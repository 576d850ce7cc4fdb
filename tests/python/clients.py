"""Python drivers against isola: psycopg 3, psycopg2, asyncpg and SQLAlchemy 2, unchanged.

Run by tests/python_clients.rs with the server's URL as argv[1]; exits non-zero on the first
failed expectation. Each check says what a Python developer relies on.
"""
import asyncio
import decimal
import sys

import asyncpg
import psycopg
import psycopg2
import psycopg2.errors
from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table, create_engine, inspect, select

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


psycopg3()
psycopg2_checks()
asyncio.run(asyncpg_checks())
sqlalchemy_checks()
print("ALL OK")
