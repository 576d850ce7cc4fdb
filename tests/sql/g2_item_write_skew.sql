# Through SQL and the wire: the steps of tests/scripts/g2_item_write_skew.txt, with the same outcomes.
# G2-item write skew (Hermitage "G2-item"): both read both rows, each updates a different one.
# Allowed below Serializable. At Serializable T1 commits first and T2 is doomed: its commit
# fails with 40001, and the detail names the rw-cycle.

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
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
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
t1: SELECT * FROM test WHERE id = 1
> (1, 10)
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: SELECT * FROM test WHERE id = 1
> (1, 10)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
