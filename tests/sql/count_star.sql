# SELECT count(*) FROM t counts the rows it sees without copying them out of the core
# (ExecCtx::count_star_only), 4,096 rows per call: what it counts must be exactly what a
# scan of the same snapshot sees, at every level, across parts, and at Serializable it is a
# read of the whole table like any scan (a write skew through two counts fails with 40001).

CREATE TABLE t (id int PRIMARY KEY, v int)
> ok
INSERT INTO t SELECT g, g FROM generate_series(1, 10000) g
> ok 10000
SELECT count(*), count(*) FROM t
> (10000, 10000)
SELECT count(*) FROM t HAVING count(*) > 10000
> no rows
SELECT count(*) + 1 AS more FROM t
> (10001)

# Repeatable Read: the count keeps its snapshot while another transaction inserts and deletes
# rows in the first, the middle and the last part.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT count(*) FROM t
> (10000)
t2: DELETE FROM t WHERE id IN (1, 5000, 10000)
> ok 3
t2: INSERT INTO t VALUES (0, 0), (4097, 1), (20000, 2), (20001, 3), (20002, 4)
> error 23505 duplicate key value violates unique constraint "t_pkey"
t2: INSERT INTO t VALUES (0, 0), (20000, 2), (20001, 3), (20002, 4)
> ok 4
t1: SELECT count(*) FROM t
> (10000)
t1: SELECT count(*) = (SELECT count(v) FROM t) FROM t
> (t)
t1: COMMIT
> ok
SELECT count(*) FROM t
> (10001)

# Read Committed: a new snapshot per statement; its own uncommitted deletes and inserts count.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: DELETE FROM t WHERE id BETWEEN 100 AND 199
> ok 100
t1: INSERT INTO t VALUES (30000, 0)
> ok 1
t1: SELECT count(*) FROM t
> (9902)
t2: SELECT count(*) FROM t
> (10001)
t2: INSERT INTO t VALUES (30001, 0)
> ok 1
t1: SELECT count(*) FROM t
> (9903)
t1: ROLLBACK
> ok
SELECT count(*) FROM t
> (10002)

# Read Uncommitted counts another transaction's uncommitted rows.
t2: BEGIN
> ok
t2: INSERT INTO t VALUES (40000, 0)
> ok 1
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: SELECT count(*) FROM t
> (10003)
t1: COMMIT
> ok
t2: ROLLBACK
> ok

# Serializable: two transactions count, then each inserts a row the other's count would have
# seen: one of them fails (the counts are reads of the whole table).
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT count(*) FROM t
> (10002)
t2: SELECT count(*) FROM t
> (10002)
t1: INSERT INTO t VALUES (50001, 1)
> ok 1
t2: INSERT INTO t VALUES (50002, 2)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
SELECT count(*) FROM t
> (10003)
