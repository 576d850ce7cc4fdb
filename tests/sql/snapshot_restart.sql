# Snapshot restarts: at Repeatable Read and Serializable a transaction must not change a row
# committed after its snapshot (first updater wins: 40001). isola makes one exception that
# PostgreSQL does not: when the conflict comes in the statement that took the snapshot, before
# the transaction has written anything, shown anything read with that snapshot or made a
# savepoint, nothing depends on the snapshot yet. The statement then runs again from the start
# with a new snapshot (keeping the row locks it was granted), exactly as if the transaction had
# begun after the conflicting commit: no anomaly becomes possible, one retry is saved.
# Every other case fails as in PostgreSQL; each is shown below.

# --- repeatable read: a blocked first statement runs again and sees T1's commit ---
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10), (2, 20)
> ok 2
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE
> blocked
t1: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t1: COMMIT
> ok
> t2 resumed: (1, 11)
# The new snapshot is T2's for the rest of the transaction: it includes all of T1.
t2: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 21)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 12)
t2: COMMIT
> ok

# --- repeatable read: a read came first, so the snapshot was shown: 40001 ---
reset
> ok
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10), (2, 20)
> ok 2
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: ROLLBACK
> ok

# --- serializable: a write came first (to another row): 40001 ---
reset
> ok
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10), (2, 20)
> ok 2
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: UPDATE test SET value = value + 1 WHERE id = 2 RETURNING *
> (2, 21)
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: ROLLBACK
> ok

# --- serializable: the first statement after a savepoint: 40001 ---
reset
> ok
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10), (2, 20)
> ok 2
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> (1, 11)
t2: SAVEPOINT s
> ok
t2: UPDATE test SET value = value + 1 WHERE id = 1 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: ROLLBACK
> ok

# --- serializable: after the restart SSI still sees everything the new snapshot reads ---
# Write skew: T2's first statement restarts once T1 commits; it then reads T1's row with
# the new snapshot, T3 (running) writes what T2 read, and T2 writes what T3 read: one of
# them must fail, as without the restart.
reset
> ok
CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10), (2, 20), (3, 30)
> ok 3
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t3: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: UPDATE test SET value = 11 WHERE id = 1 RETURNING *
> (1, 11)
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 11)
t3: SELECT * FROM test WHERE id = 3
> (3, 30)
t2: SELECT * FROM test WHERE id = 2
> (2, 20)
t3: UPDATE test SET value = 21 WHERE id = 2 RETURNING *
> (2, 21)
t2: UPDATE test SET value = 31 WHERE id = 3 RETURNING *
> (3, 31)
t3: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
t4: SELECT * FROM test ORDER BY id
> (1, 11)
> (2, 21)
> (3, 30)
