# Through SQL and the wire: the steps of tests/scripts/g_single_read_skew.txt, with the same outcomes.
# G-single read skew (Hermitage "G-single"): T1 reads x, T2 changes x and y and commits, T1
# reads y. Allowed at Read Committed and below (T1 sees 10 and 18, which never coexisted);
# prevented at the snapshot levels (T1 sees 20).

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
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE id = 2
> (2, 18)
t1: COMMIT
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
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE id = 2
> (2, 18)
t1: COMMIT
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
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t1: COMMIT
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
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t2: UPDATE test SET value = 18 WHERE id = 2 RETURNING *
> (2, 18)
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE id = 2
> (2, 20)
t1: COMMIT
> ok
