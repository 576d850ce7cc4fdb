# LOCK TABLE in the modes that conflict with DDL only (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE:
# pg_dump locks every table it dumps IN ACCESS SHARE MODE) takes the table's shared lock to
# the transaction's end, as any statement reading the table does: DDL on it waits, readers and
# writers do not. Outside a block it is refused (25P01), as in PostgreSQL; the stronger modes
# are refused (0A000: isola's table locks are shared or exclusive, and it does not grant a
# weaker lock than asked), as are NOWAIT and LOCK without a mode (ACCESS EXCLUSIVE).

CREATE TABLE t (id int PRIMARY KEY, v int)
> ok
INSERT INTO t VALUES (1, 10)
> ok 1
LOCK TABLE t IN ACCESS SHARE MODE
> error 25P01 LOCK TABLE can only be used in transaction blocks
t1: BEGIN
> ok
t1: LOCK TABLE t IN ACCESS SHARE MODE
> ok
t1: LOCK TABLE public.t, t IN ROW EXCLUSIVE MODE
> ok
t2: UPDATE t SET v = 11 WHERE id = 1
> ok 1
t3: ALTER TABLE t ADD COLUMN w int
> blocked
t1: COMMIT
> ok
> t3 resumed: ok
t1: BEGIN
> ok
t1: LOCK TABLE t IN ROW SHARE MODE
> ok
t1: LOCK TABLE nothing IN ACCESS SHARE MODE
> error 42P01 relation "nothing" does not exist
t1: ROLLBACK
> ok
t1: BEGIN
> ok
t1: LOCK TABLE t IN SHARE MODE
> error 0A000 LOCK TABLE IN SHARE MODE is not supported
t1: ROLLBACK
> ok
t1: BEGIN
> ok
t1: LOCK TABLE t
> error 0A000 LOCK TABLE IN ACCESS EXCLUSIVE MODE is not supported
t1: ROLLBACK
> ok
t1: BEGIN
> ok
t1: LOCK TABLE t IN ACCESS SHARE MODE NOWAIT
> error 0A000 LOCK TABLE ... NOWAIT is not supported
t1: ROLLBACK
> ok
SELECT * FROM t
> (1, 11, null)
