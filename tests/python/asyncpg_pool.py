"""Serializable transfers through an asyncpg pool of 50 connections (run by tests/asyncpg_pool.rs
against isola and PostgreSQL 15).

Usage: asyncpg_pool.py URL TRANSFERS SECONDS. A few accounts; 50 workers take transfers off a
shared count until TRANSFERS have committed or SECONDS have passed. Each transfer is one
SERIALIZABLE transaction (two balance updates and one ledger row), retried on 40001 / 40P01 (at
most 1,000 attempts each). Then: the sum of balances is unchanged, and each balance is its
initial balance plus what the ledger says it received minus what it sent. Every acquisition
ends with asyncpg's release, which sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN
*; RESET ALL;`; a pool of one connection shows that reset at work (a setting, an advisory lock
and a LISTEN do not outlive their acquisition). Prints a JSON summary; exits 1 on a failure."""

import asyncio
import json
import random
import sys
import time

import asyncpg

URL, TRANSFERS, SECONDS = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ACCOUNTS = 6
INITIAL = 10_000
MAX_ATTEMPTS = 1_000
RETRYABLE = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)


async def setup():
    conn = await asyncpg.connect(URL)
    await conn.execute("DROP TABLE IF EXISTS ledger")
    await conn.execute("DROP TABLE IF EXISTS account")
    await conn.execute("CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL)")
    await conn.execute(
        "CREATE TABLE ledger (id bigserial PRIMARY KEY, "
        "from_id int NOT NULL REFERENCES account (id), "
        "to_id int NOT NULL REFERENCES account (id), amount bigint NOT NULL CHECK (amount > 0))"
    )
    await conn.executemany(
        "INSERT INTO account VALUES ($1, $2)", [(i, INITIAL) for i in range(1, ACCOUNTS + 1)]
    )
    await conn.close()


async def transfers(pool, summary):
    deadline = time.monotonic() + SECONDS
    claimed = 0

    async def one(rng):
        src, dst = rng.sample(range(1, ACCOUNTS + 1), 2)
        amount = rng.randint(1, 100)
        for attempt in range(MAX_ATTEMPTS):
            if time.monotonic() > deadline:
                summary["abandoned"] += 1
                return
            try:
                async with pool.acquire() as conn:
                    async with conn.transaction(isolation="serializable"):
                        await conn.execute(
                            "UPDATE account SET balance = balance - $1 WHERE id = $2", amount, src
                        )
                        await conn.execute(
                            "UPDATE account SET balance = balance + $1 WHERE id = $2", amount, dst
                        )
                        await conn.execute(
                            "INSERT INTO ledger (from_id, to_id, amount) VALUES ($1, $2, $3)",
                            src, dst, amount,
                        )
                summary["committed"] += 1
                return
            except RETRYABLE as e:
                summary["retries"][e.sqlstate] = summary["retries"].get(e.sqlstate, 0) + 1
                await asyncio.sleep(rng.random() * 0.002 * min(attempt + 1, 20))
        summary["gave_up"] += 1

    async def worker(n):
        nonlocal claimed
        rng = random.Random(n)
        while claimed < TRANSFERS and time.monotonic() <= deadline:
            claimed += 1
            await one(rng)

    await asyncio.gather(*(worker(n) for n in range(50)))


async def check(pool, failures):
    async with pool.acquire() as conn:
        total = await conn.fetchval("SELECT sum(balance) FROM account")
        if total != ACCOUNTS * INITIAL:
            failures.append(f"sum of balances {total}, not {ACCOUNTS * INITIAL}")
        rows = await conn.fetch(
            "SELECT a.id, a.balance, "
            "coalesce((SELECT sum(amount) FROM ledger WHERE to_id = a.id), 0) "
            "- coalesce((SELECT sum(amount) FROM ledger WHERE from_id = a.id), 0) AS net "
            "FROM account a ORDER BY a.id"
        )
        for r in rows:
            if r["balance"] != INITIAL + r["net"]:
                failures.append(f"account {r['id']}: balance {r['balance']}, ledger says "
                                f"{INITIAL + r['net']}")
        return await conn.fetchval("SELECT count(*) FROM ledger")


async def reset_on_release(failures):
    """A pool of one connection: what an acquisition set is gone at the next one."""
    pool = await asyncpg.create_pool(URL, min_size=1, max_size=1)
    other = await asyncpg.connect(URL)
    async with pool.acquire() as conn:
        await conn.execute("SET statement_timeout = '7s'")
        await conn.execute("SELECT pg_advisory_lock(4242)")
        await conn.execute("LISTEN pool_reset_channel")
        pid = conn.get_server_pid()
    async with pool.acquire() as conn:
        if conn.get_server_pid() != pid:
            failures.append("the pool of one opened another connection")
        timeout = await conn.fetchval("SHOW statement_timeout")
        if timeout != "0":
            failures.append(f"statement_timeout after release: {timeout}")
    if not await other.fetchval("SELECT pg_try_advisory_lock(4242)"):
        failures.append("the advisory lock outlived its acquisition")
    await other.close()
    await pool.close()


async def main():
    failures = []
    summary = {"committed": 0, "abandoned": 0, "gave_up": 0, "retries": {}}
    await setup()
    pool = await asyncpg.create_pool(URL, min_size=50, max_size=50)
    await transfers(pool, summary)
    summary["ledger_rows"] = await check(pool, failures)
    if summary["ledger_rows"] != summary["committed"]:
        failures.append(f"{summary['ledger_rows']} ledger rows for {summary['committed']} "
                        "committed transfers")
    if summary["gave_up"]:
        failures.append(f"{summary['gave_up']} transfers failed {MAX_ATTEMPTS} times")
    if summary["committed"] == 0:
        failures.append("no transfer committed")
    await pool.close()
    await reset_on_release(failures)
    summary["failures"] = failures
    print(json.dumps(summary))
    sys.exit(1 if failures else 0)


asyncio.run(main())
