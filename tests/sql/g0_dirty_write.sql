# Through SQL and the wire: the steps of tests/scripts/g0_dirty_write.txt, with the same outcomes
# except where noted.
# G0 dirty write (Hermitage "G0"): two writers overwrite each other's uncommitted rows.
# Prevented at every level: the second writer of a row waits for the first to finish.
# At Read Committed and below it then applies its update to the committed version; at
# Repeatable Read and Serializable PostgreSQL fails it (first updater wins); isola, the conflict
# being in T2's first statement before T2 showed or wrote anything, runs the statement again with a
# new snapshot (see snapshot_restart.sql).

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
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: UPDATE test SET value = 22 WHERE id = 2 RETURNING *
> (2, 22)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 12)
> (2, 22)
t3: COMMIT
> ok

reset
> ok
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
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: UPDATE test SET value = 22 WHERE id = 2 RETURNING *
> (2, 22)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 12)
> (2, 22)
t3: COMMIT
> ok

reset
> ok
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
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: ROLLBACK
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 21)
t3: COMMIT
> ok

reset
> ok
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
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> blocked
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
> t2 resumed: (1, 12)
t2: ROLLBACK
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 21)
t3: COMMIT
> ok
