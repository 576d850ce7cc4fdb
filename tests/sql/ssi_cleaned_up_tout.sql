# Through SQL and the wire: the steps of tests/scripts/ssi_cleaned_up_tout.txt, with the same outcomes.
# Regression found by tests/serializability.rs: the dangerous structure t6 -rw-> t4 -rw-> t2
# where t2's SSI record was already cleaned up (it committed before every running snapshot)
# when the last edge appears. t4 must remember its conflict out to t2 (a summary, as
# PostgreSQL's conflict-out summary), or t6 commits a non-serializable history: t6 saw t2's
# write, t4 did not, and t6 did not see t4's.

CREATE TABLE t (k int, v int, PRIMARY KEY (k))
> ok
INSERT INTO t VALUES (0, 0)
> ok 1
INSERT INTO t VALUES (1, 0)
> ok 1
INSERT INTO t VALUES (2, 0)
> ok 1
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t4: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t6: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: UPDATE t SET v = 10 WHERE k = 1 RETURNING *
> (1, 10)
t4: UPDATE t SET v = 30 WHERE k = 2 RETURNING *
> (2, 30)
t4: SELECT * FROM t WHERE k = 1
> (1, 0)
t2: COMMIT
> ok
t6: SELECT * FROM t WHERE k = 1
> (1, 10)
t4: COMMIT
> ok
t6: SELECT * FROM t WHERE k = 2
> error 40001 could not serialize access due to read/write dependencies among transactions
t6: ROLLBACK
> ok
