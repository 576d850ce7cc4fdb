# Through SQL and the wire: the steps of tests/scripts/pmp_write_predicate.txt, with the same outcomes
# except where noted.
# PMP with a write predicate (Hermitage "PMP write predicates"): T2 deletes the rows with
# value 20 while T1 adds 10 to every row. At Read Committed and below T2 waits for T1, then
# re-checks the predicate on the newest version (EvalPlanQual): 30 no longer matches, so it
# deletes nothing. At the snapshot levels PostgreSQL fails T2 with 40001; isola runs T2's first
# statement again with a new snapshot (see snapshot_restart.sql): it deletes (1, 20), as T2 run
# after T1 would.

# --- read uncommitted ---
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1
INSERT INTO test VALUES (2, 20)
> ok 1
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: UPDATE test SET value = value + 10 WHERE true RETURNING *
> (1, 20)
> (2, 30)
t2: DELETE FROM test WHERE value = 20 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 20)
t2: SELECT * FROM test ORDER BY id
> (2, 30)
t2: COMMIT
> ok

reset
> ok
# --- read committed ---
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1
INSERT INTO test VALUES (2, 20)
> ok 1
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE test SET value = value + 10 WHERE true RETURNING *
> (1, 20)
> (2, 30)
t2: DELETE FROM test WHERE value = 20 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: no rows
t2: SELECT * FROM test ORDER BY id
> (1, 20)
> (2, 30)
t2: COMMIT
> ok

reset
> ok
# --- repeatable read ---
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1
INSERT INTO test VALUES (2, 20)
> ok 1
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: UPDATE test SET value = value + 10 WHERE true RETURNING *
> (1, 20)
> (2, 30)
t2: DELETE FROM test WHERE value = 20 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 20)
t2: SELECT * FROM test ORDER BY id
> (2, 30)
t2: COMMIT
> ok

reset
> ok
# --- serializable ---
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1
INSERT INTO test VALUES (2, 20)
> ok 1
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: UPDATE test SET value = value + 10 WHERE true RETURNING *
> (1, 20)
> (2, 30)
t2: DELETE FROM test WHERE value = 20 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 20)
t2: SELECT * FROM test ORDER BY id
> (2, 30)
t2: COMMIT
> ok
