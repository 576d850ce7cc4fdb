# Through SQL and the wire: the steps of tests/scripts/otv_observed_transaction_vanishes.txt, with the same outcomes
# except where noted.
# OTV observed transaction vanishes (Hermitage "OTV"): T3 must not see part of T2's writes
# and then lose them again. At Read Committed T3 sees T1 and then, once T2 commits, all of T2.
# At the snapshot levels T3 keeps its snapshot; T2's first statement, blocked by T1, runs again with
# a new snapshot once T1 commits (PostgreSQL fails it with 40001; see snapshot_restart.sql).
# At Read Uncommitted T3 sees T2's writes before T2 commits (dirty reads), but never loses
# them again.

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
t3: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 19 WHERE id = 2 RETURNING *
> (2, 19)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t3: SELECT * FROM test WHERE id = 1
> (1, 12)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t3: SELECT * FROM test WHERE id = 2
> (2, 18)
t2: COMMIT
> ok
t3: SELECT * FROM test WHERE id = 2
> (2, 18)
t3: SELECT * FROM test WHERE id = 1
> (1, 12)
t3: COMMIT
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
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 19 WHERE id = 2 RETURNING *
> (2, 19)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t3: SELECT * FROM test WHERE id = 2
> (2, 19)
t2: COMMIT
> ok
t3: SELECT * FROM test WHERE id = 2
> (2, 18)
t3: SELECT * FROM test WHERE id = 1
> (1, 12)
t3: COMMIT
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
t3: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 19 WHERE id = 2 RETURNING *
> (2, 19)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t3: SELECT * FROM test WHERE id = 2
> (2, 19)
t2: COMMIT
> ok
t3: SELECT * FROM test WHERE id = 2
> (2, 19)
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t3: COMMIT
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
t3: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 19 WHERE id = 2 RETURNING *
> (2, 19)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t3: SELECT * FROM test WHERE id = 2
> (2, 19)
t2: COMMIT
> ok
t3: SELECT * FROM test WHERE id = 2
> (2, 19)
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t3: COMMIT
> ok
