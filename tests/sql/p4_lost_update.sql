# Through SQL and the wire: the steps of tests/scripts/p4_lost_update.txt, with the same outcomes.
# P4 lost update (Hermitage "P4"): both read a row, then write a value computed from it.
# At Read Committed and below the read-modify-write in two statements loses T1's update
# (PostgreSQL does the same); at the snapshot levels T2 fails with 40001.

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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 11)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 11)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: COMMIT
> ok (ROLLBACK: the block had failed)
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: COMMIT
> ok (ROLLBACK: the block had failed)
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test WHERE id = 1
> (1, 11)
t3: COMMIT
> ok
