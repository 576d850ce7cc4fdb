# Through SQL and the wire: the steps of tests/scripts/g1a_aborted_read.txt, with the same outcomes.
# G1a aborted read (Hermitage "G1a"): T2 reads a value T1 wrote and later rolled back.
# Read Uncommitted is real in isola: T2 sees 101 (a dirty read, then an aborted read).
# Prevented at Read Committed and above: T2 never sees 101.

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
t1: ROLLBACK
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 10)
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
t1: ROLLBACK
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 10)
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
t1: ROLLBACK
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
t1: ROLLBACK
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 10)
> (2, 20)
t2: COMMIT
> ok
