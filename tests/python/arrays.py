"""Arrays and regular expressions from Python drivers: psycopg 3 (text and binary formats),
psycopg2 and asyncpg pass lists as parameters and read array columns back as lists, and a
Django-style bulk insert (`INSERT ... SELECT * FROM UNNEST(%s::varchar[], %s::integer[])`)
works; Django's `__regex` / `__iregex` lookups (`"col"::text ~ %s`) too.

Run by tests/python_arrays.rs with the server's URL as argv[1]; exits non-zero on the first
failed expectation. The same script passes against PostgreSQL 15.
"""
import asyncio
import decimal
import sys

import asyncpg
import psycopg
import psycopg2

URL = sys.argv[1]


def check(cond, what):
    if not cond:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def setup():
    with psycopg.connect(URL, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS py_arrays")
        c.execute("DROP TABLE IF EXISTS py_bulk")
        c.execute(
            "CREATE TABLE py_arrays (id int PRIMARY KEY, tags text[], nums integer[], "
            "big bigint[], prices numeric[], flags boolean[], names varchar(10)[], ratios float8[])"
        )
        c.execute("CREATE TABLE py_bulk (id serial PRIMARY KEY, name varchar(20), n integer)")


def psycopg3():
    with psycopg.connect(URL, autocommit=True) as c:
        for binary in (False, True):
            c.execute("DELETE FROM py_arrays")
            row = (1, ["a", "b c", None, "", 'q"uote'], [1, 2, None], [2**40, -1], [decimal.Decimal("1.50")],
                   [True, False], ["x", "y"], [0.5, -2.25])
            c.execute("INSERT INTO py_arrays VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", row, binary=binary)
            c.execute("INSERT INTO py_arrays (id, tags, nums) VALUES (%s, %s, %s)", (2, [], []), binary=binary)
            got = c.execute("SELECT * FROM py_arrays WHERE id = 1", binary=binary).fetchone()
            check(got == row, f"psycopg 3 (binary={binary}): list parameters in, lists out, NULLs kept")
            got = c.execute("SELECT tags, nums, big FROM py_arrays WHERE id = 2", binary=binary).fetchone()
            check(got == ([], [], None), f"psycopg 3 (binary={binary}): empty arrays and a NULL array")
            ids = c.execute("SELECT id FROM py_arrays WHERE id = ANY(%s) ORDER BY id", ([1, 2, 3],),
                            binary=binary).fetchall()
            check(ids == [(1,), (2,)], f"psycopg 3 (binary={binary}): id = ANY(list)")
            got = c.execute("SELECT nums[2], array_length(nums, 1), cardinality(tags) FROM py_arrays WHERE id = 1",
                            binary=binary).fetchone()
            check(got == (2, 3, 5), f"psycopg 3 (binary={binary}): subscript, array_length, cardinality")
            got = c.execute("SELECT count(*) FROM py_arrays WHERE %s = ANY(tags)", ("b c",), binary=binary).fetchone()
            check(got == (1,), f"psycopg 3 (binary={binary}): parameter = ANY(column)")
        try:
            got = c.execute("SELECT '{{1,2},{3,4}}'::int[]").fetchone()
            check(got == ([[1, 2], [3, 4]],), "PostgreSQL: a multidimensional array")
        except psycopg.errors.FeatureNotSupported:
            check(True, "isola: a multidimensional array is refused (0A000)")
        check(c.execute("SELECT 1").fetchone() == (1,), "psycopg 3: connection usable after an error")


def django_bulk_create():
    with psycopg.connect(URL, autocommit=True) as c:
        names = ["ann", "bob", None, "dave"]
        ns = [1, None, 3, 4]
        ids = c.execute(
            'INSERT INTO "py_bulk" ("name", "n") SELECT * FROM UNNEST((%s)::varchar[], (%s)::integer[]) '
            'RETURNING "py_bulk"."id"', (names, ns)).fetchall()
        check(len(ids) == 4, "Django bulk_create: INSERT ... SELECT * FROM UNNEST(...) RETURNING id")
        rows = c.execute('SELECT "name", "n" FROM "py_bulk" ORDER BY "id"').fetchall()
        check(rows == list(zip(names, ns)), "Django bulk_create: the rows as sent, NULLs included")
        got = c.execute('SELECT "name" FROM "py_bulk" WHERE "name"::text ~ %s ORDER BY "id"', ("^[ab]",)).fetchall()
        check(got == [("ann",), ("bob",)], "Django __regex: \"col\"::text ~ %s")
        got = c.execute('SELECT "name" FROM "py_bulk" WHERE "name"::text ~* %s ORDER BY "id"', ("^D",)).fetchall()
        check(got == [("dave",)], "Django __iregex: \"col\"::text ~* %s")
        try:
            c.execute('SELECT 1 WHERE %s ~ %s', ("a", "("))
            check(False, "an invalid regular expression is refused")
        except psycopg.errors.InvalidRegularExpression:
            check(True, "an invalid regular expression is refused with 2201B")
        check(c.execute("SELECT 1").fetchone() == (1,), "the connection is usable after the error")


def psycopg2_arrays():
    conn = psycopg2.connect(URL)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("DELETE FROM py_arrays")
    cur.execute("INSERT INTO py_arrays (id, tags, nums) VALUES (%s, %s, %s)", (7, ["x", None, "y z"], [3, 4]))
    cur.execute("SELECT tags, nums FROM py_arrays WHERE id = ANY(%s)", ([7, 8],))
    check(cur.fetchone() == (["x", None, "y z"], [3, 4]), "psycopg2: ARRAY[...] parameters, arrays read back")
    conn.close()


async def asyncpg_arrays():
    c = await asyncpg.connect(URL)
    await c.execute("DELETE FROM py_arrays")
    await c.execute("INSERT INTO py_arrays (id, tags, nums, big, prices, flags) VALUES ($1, $2, $3, $4, $5, $6)",
                    3, ["p", None, "q r"], [5, None, 6], [1, 2**40], [decimal.Decimal("2.5")], [False])
    row = await c.fetchrow("SELECT tags, nums, big, prices, flags FROM py_arrays WHERE id = $1", 3)
    check(list(row["tags"]) == ["p", None, "q r"] and list(row["nums"]) == [5, None, 6],
          "asyncpg: list parameters in, lists out (binary), NULLs kept")
    check(list(row["big"]) == [1, 2**40] and list(row["prices"]) == [decimal.Decimal("2.5")]
          and list(row["flags"]) == [False], "asyncpg: bigint[], numeric[], boolean[]")
    n = await c.fetchval("SELECT count(*) FROM py_arrays WHERE id = ANY($1::int[])", [1, 3])
    check(n == 1, "asyncpg: id = ANY($1::int[])")
    n = await c.fetchval("SELECT count(*) FROM py_arrays WHERE id <> ALL($1)", [3])
    check(n == 0, "asyncpg: id <> ALL($1)")
    empty = await c.fetchval("SELECT '{}'::text[]")
    check(list(empty) == [], "asyncpg: an empty array")
    rows = await c.fetch("SELECT * FROM unnest($1::text[], $2::int[]) AS u(s, n)", ["a", "b"], [1])
    check([tuple(r) for r in rows] == [("a", 1), ("b", None)], "asyncpg: unnest of two parameters")
    await c.close()


setup()
psycopg3()
django_bulk_create()
psycopg2_arrays()
asyncio.run(asyncpg_arrays())
print("ALL OK")
