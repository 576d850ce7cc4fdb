# Through SQL and the wire: the steps of tests/scripts/insert_over_concurrent_delete.txt, with the same outcomes.
# Inserting a key whose row a concurrent transaction deleted (and committed) after our
# snapshot: at the snapshot levels that is a write-write conflict on the row, 40001. (t1 still
# sees the row; letting the insert through would put t1 after the delete in the row's version
# order while t1 reads from before it: G-single. Found by tests/serializability.rs.) Read
# Committed inserts.

CREATE TABLE t (k int, v int, PRIMARY KEY (k))
> ok
INSERT INTO t VALUES (3, 0)
> ok 1
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM t WHERE k = 3
> (3, 0)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: DELETE FROM t WHERE k = 3 RETURNING *
> (3, 0)
t2: COMMIT
> ok
t1: INSERT INTO t VALUES (3, 5)
> error 40001 could not serialize access due to concurrent delete
t1: ROLLBACK
> ok

reset
> ok
CREATE TABLE t (k int, v int, PRIMARY KEY (k))
> ok
INSERT INTO t VALUES (3, 0)
> ok 1
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM t WHERE k = 3
> (3, 0)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: DELETE FROM t WHERE k = 3 RETURNING *
> (3, 0)
t2: COMMIT
> ok
t1: INSERT INTO t VALUES (3, 5)
> ok 1
t1: COMMIT
> ok
