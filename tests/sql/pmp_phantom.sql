# Through SQL and the wire: the steps of tests/scripts/pmp_phantom.txt, with the same outcomes.
# PMP predicate-many-preceders, the phantom (Hermitage "PMP"): T1 evaluates a predicate twice
# while T2 inserts a matching row. Allowed at Read Committed and below (the second read sees
# the new row); prevented at the snapshot levels.

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
t1: SELECT * FROM test WHERE value = 30 ORDER BY id
> no rows
t2: INSERT INTO test VALUES (3, 30)
> ok 1
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> (3, 30)
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
t1: SELECT * FROM test WHERE value = 30 ORDER BY id
> no rows
t2: INSERT INTO test VALUES (3, 30)
> ok 1
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> (3, 30)
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
t1: SELECT * FROM test WHERE value = 30 ORDER BY id
> no rows
t2: INSERT INTO test VALUES (3, 30)
> ok 1
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
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
t1: SELECT * FROM test WHERE value = 30 ORDER BY id
> no rows
t2: INSERT INTO test VALUES (3, 30)
> ok 1
t2: COMMIT
> ok
t1: SELECT * FROM test WHERE value >= 30 ORDER BY id
> no rows
t1: COMMIT
> ok
