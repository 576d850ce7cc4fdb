# Through SQL and the wire: the steps of tests/scripts/read_committed_recheck.txt, with the same outcomes.
# Read Committed re-checks the newest version (EvalPlanQual). A waiting UPDATE re-evaluates its
# condition on the committed row: a row that no longer matches is left alone, a row deleted
# meanwhile is skipped, and new rows that begin to match after the statement's snapshot are
# not seen (that is the level's phantom).

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
t2: UPDATE test SET value = value + 100 WHERE id = 1 AND value = 10 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: no rows
t2: COMMIT
> ok

t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: DELETE FROM test WHERE id = 2 RETURNING *
> (2, 20)
t2: UPDATE test SET value = value + 1 WHERE id = 2 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: no rows
t2: COMMIT
> ok

t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO test VALUES (3, 11)
> ok 1
t1: UPDATE test SET value = 12 WHERE id = 1 RETURNING *
> (1, 12)
t2: UPDATE test SET value = 0 WHERE value >= 11 RETURNING *
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 0)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM test ORDER BY id
> (1, 0)
> (3, 11)
t3: COMMIT
> ok

# Writes in a READ ONLY transaction are refused with 25006.
t1: BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY
> ok
t1: INSERT INTO test VALUES (9, 9)
> error 25006 cannot execute a write in a read-only transaction
t1: ROLLBACK
> ok
