# Through SQL and the wire: the steps of tests/scripts/g2_predicate_write_skew.txt, with the same outcomes.
# G2 predicate write skew (Hermitage "G2"): both check that no row matches a predicate and
# both insert a matching row. Allowed below Serializable; at Serializable one fails.

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
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t2: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t1: INSERT INTO test VALUES (3, 30)
> ok 1
t2: INSERT INTO test VALUES (4, 42)
> ok 1
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
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t2: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t1: INSERT INTO test VALUES (3, 30)
> ok 1
t2: INSERT INTO test VALUES (4, 42)
> ok 1
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
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t2: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t1: INSERT INTO test VALUES (3, 30)
> ok 1
t2: INSERT INTO test VALUES (4, 42)
> ok 1
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
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t2: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t1: INSERT INTO test VALUES (3, 30)
> ok 1
t2: INSERT INTO test VALUES (4, 42)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
