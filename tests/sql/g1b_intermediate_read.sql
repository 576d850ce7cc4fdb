# Through SQL and the wire: the steps of tests/scripts/g1b_intermediate_read.txt, with the same outcomes.
# G1b intermediate read (Hermitage "G1b"): T2 reads a value T1 later overwrote itself.
# Allowed at Read Uncommitted (T2 sees the intermediate 101); prevented above: T2 sees 10,
# then (Read Committed, a new snapshot) the final 11, or (snapshot levels) 10 again.

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
t1: UPDATE test SET value = 101 WHERE id = 1 RETURNING *
> (1, 101)
t2: SELECT * FROM test ORDER BY id
> (1, 101)
> (2, 20)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: COMMIT
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 20)
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
t1: UPDATE test SET value = 101 WHERE id = 1 RETURNING *
> (1, 101)
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: COMMIT
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 20)
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
t1: UPDATE test SET value = 101 WHERE id = 1 RETURNING *
> (1, 101)
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: COMMIT
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
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
t1: UPDATE test SET value = 101 WHERE id = 1 RETURNING *
> (1, 101)
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: COMMIT
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
t2: COMMIT
> ok
