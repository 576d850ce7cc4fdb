# The housekeeping connection pools send between two uses of a connection: asyncpg's
# `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`, and DISCARD ALL.
# RESET ALL puts every setting back to its default; DISCARD ALL also drops prepared
# statements and cursors, unlistens and releases advisory locks, and is refused in a block.

t1: SET lock_timeout = '5s'
> ok
t1: SET statement_timeout = 1000
> ok
t1: SET default_transaction_isolation = 'serializable'
> ok
t1: SELECT pg_advisory_lock(7)
> ()
t1: SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;
> ()
> ok
> ok
> ok
t1: SHOW lock_timeout
> (0)
t1: SHOW statement_timeout
> (0)
t1: SHOW default_transaction_isolation
> (read committed)
t1: SELECT count(*) FROM isola_locks
> (0)
t1: SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ
> ok
t1: RESET ALL
> ok
t1: SHOW transaction_isolation
> (read committed)

t1: PREPARE one AS SELECT 1
> ok
t1: DECLARE c CURSOR WITH HOLD FOR SELECT 1
> ok
t1: LISTEN somewhere
> ok
t1: SELECT pg_advisory_lock(8)
> ()
t1: SELECT pg_advisory_xact_lock(9)
> ()
t1: BEGIN
> ok
t1: DISCARD ALL
> error 25001 DISCARD ALL cannot run inside a transaction block
t1: ROLLBACK
> ok
t1: DISCARD ALL
> ok
t1: EXECUTE one
> error 26000 prepared statement "one" does not exist
t1: FETCH NEXT FROM c
> error 34000 cursor "c" does not exist
t1: SELECT count(*) FROM isola_locks
> (0)
t1: DISCARD PLANS
> ok
t1: DISCARD SEQUENCES
> ok
t1: DISCARD TEMP
> ok
