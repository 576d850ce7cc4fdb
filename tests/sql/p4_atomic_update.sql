# Through SQL and the wire: the steps of tests/scripts/p4_atomic_update.txt, with the same outcomes
# except where noted.
# P4 with a single-statement read-modify-write (UPDATE ... SET value = value + 1): never a lost
# update. At Read Committed and below T2 waits, then applies +1 to T1's committed 11 (12); at the
# snapshot levels PostgreSQL fails it with 40001; isola, since the conflict comes in the statement
# that took T2's snapshot before T2 showed or wrote anything, runs that statement again with a new
# snapshot (see snapshot_restart.sql): 12, as if T2 had begun after T1 committed.

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
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
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
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
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
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test WHERE id = 1
> (1, 12)
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
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test WHERE id = 1
> (1, 12)
t3: COMMIT
> ok
