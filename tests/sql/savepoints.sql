# Through SQL and the wire: the steps of tests/scripts/savepoints.txt, with the same outcomes.
# Savepoints: ROLLBACK TO undoes the writes and releases the locks taken after the savepoint
# (an upgraded lock falls back to its earlier mode); RELEASE keeps the work; a failed
# statement can be recovered with ROLLBACK TO; an SSI failure cannot.

CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1
INSERT INTO test VALUES (2, 20)
> ok 1

t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: SAVEPOINT a
> ok
t1: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t1: INSERT INTO test VALUES (3, 30)
> ok 1
t1: SAVEPOINT b
> ok
t1: DELETE FROM test WHERE id = 2 RETURNING *
> (2, 20)
t1: SELECT * FROM test ORDER BY id
> (1, 12)
> (3, 30)
t1: ROLLBACK TO SAVEPOINT b
> ok
t1: SELECT * FROM test ORDER BY id
> (1, 12)
> (2, 20)
> (3, 30)
t1: ROLLBACK TO SAVEPOINT a
> ok
t1: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 20)
t1: UPDATE test SET value = value + 5 WHERE id = 1 RETURNING *
> (1, 16)
t1: RELEASE SAVEPOINT a
> ok
t1: COMMIT
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test ORDER BY id
> (1, 16)
> (2, 20)
t2: COMMIT
> ok

# A released savepoint is gone: rolling back to it is an error (3B001) that fails the
# transaction, so its COMMIT rolls back.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SAVEPOINT a
> ok
t1: UPDATE test SET value = 0 WHERE id = 1 RETURNING *
> (1, 0)
t1: RELEASE SAVEPOINT a
> ok
t1: ROLLBACK TO SAVEPOINT a
> error 3B001 savepoint "a" does not exist
t1: COMMIT
> ok (ROLLBACK: the block had failed)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1
> (1, 16)
t2: COMMIT
> ok

# Locks taken after the savepoint are released: t2 stops waiting.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR KEY SHARE
> (1, 16)
t1: SAVEPOINT s
> ok
t1: UPDATE test SET value = 99 WHERE id = 1 RETURNING *
> (1, 99)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR SHARE
> blocked
t1: ROLLBACK TO SAVEPOINT s
> ok
> t2 resumed: (1, 16)
t2: COMMIT
> ok
t1: COMMIT
> ok

# After an error every statement fails (25P02) until ROLLBACK TO SAVEPOINT.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SAVEPOINT s
> ok
t1: INSERT INTO test VALUES (1, 0)
> error 23505 duplicate key value violates unique constraint "test_pkey"
t1: SELECT * FROM test WHERE id = 1
> error 25P02 current transaction is aborted, commands ignored until end of transaction block
t1: ROLLBACK TO SAVEPOINT s
> ok
t1: SELECT * FROM test WHERE id = 1
> (1, 16)
t1: COMMIT
> ok

# An SSI failure dooms the whole transaction: ROLLBACK TO does not make it committable.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM test WHERE id = 1
> (1, 16)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t2: SAVEPOINT s
> ok
t2: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t1: COMMIT
> ok
t2: ROLLBACK TO SAVEPOINT s
> ok
t2: SELECT * FROM test WHERE id = 1
> error 40001 could not serialize access due to read/write dependencies among transactions
t2: COMMIT
> ok (ROLLBACK: the block had failed)

# The same when the failure is raised in the statement itself (t1 is the pivot of the
# read-only anomaly): after ROLLBACK TO, every statement still fails with 40001.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM test ORDER BY id
> (1, 16)
> (2, 21)
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: UPDATE test SET value = value + 1 WHERE id = 2 RETURNING *
> (2, 22)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 16)
> (2, 22)
t3: COMMIT
> ok
t1: SAVEPOINT s
> ok
t1: UPDATE test SET value = 0 WHERE id = 1 RETURNING *
> error 40001 could not serialize access due to read/write dependencies among transactions
t1: ROLLBACK TO SAVEPOINT s
> ok
t1: SELECT * FROM test WHERE id = 1
> error 40001 could not serialize access due to read/write dependencies among transactions
t1: ROLLBACK
> ok
