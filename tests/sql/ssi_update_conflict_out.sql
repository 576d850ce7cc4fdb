# Through SQL and the wire: the steps of tests/scripts/ssi_update_conflict_out.txt, with the same outcomes.
# Regression for the Jepsen PostgreSQL 12.3 G2-item bug (PostgreSQL isolation spec
# update-conflict-out): a reader skips a row that one concurrent transaction inserted and
# another then updated (or deleted). The reader must get an edge to the inserter, not only to
# the updater: foo -rw-> bar (bar inserted what foo missed) and bar -rw-> foo (bar missed
# foo's insert) with foo committed first. bar must fail.

# --- trouble updates and stays uncommitted ---
CREATE TABLE txn0 (id int, val int, PRIMARY KEY (id))
> ok
CREATE TABLE txn1 (id int, val int, PRIMARY KEY (id))
> ok
foo: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
foo: SELECT * FROM txn0 WHERE id = 42
> no rows
bar: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
bar: INSERT INTO txn0 VALUES (42, 1)
> ok 1
foo: INSERT INTO txn1 VALUES (7, 1)
> ok 1
foo: COMMIT
> ok
trouble: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
trouble: UPDATE txn1 SET val = 2 WHERE id = 7 RETURNING *
> (7, 2)
bar: SELECT * FROM txn1 WHERE id = 7
> error 40001 could not serialize access due to read/write dependencies among transactions
bar: COMMIT
> ok (ROLLBACK: the block had failed)
trouble: COMMIT
> ok

# --- trouble deletes, then aborts ---
reset
> ok
CREATE TABLE txn0 (id int, val int, PRIMARY KEY (id))
> ok
CREATE TABLE txn1 (id int, val int, PRIMARY KEY (id))
> ok
foo: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
foo: SELECT * FROM txn0 WHERE id = 42
> no rows
bar: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
bar: INSERT INTO txn0 VALUES (42, 1)
> ok 1
foo: INSERT INTO txn1 VALUES (7, 1)
> ok 1
foo: COMMIT
> ok
trouble: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
trouble: DELETE FROM txn1 WHERE id = 7 RETURNING *
> (7, 1)
bar: SELECT * FROM txn1 WHERE id = 7
> error 40001 could not serialize access due to read/write dependencies among transactions
trouble: ROLLBACK
> ok
bar: COMMIT
> ok (ROLLBACK: the block had failed)

# --- trouble updates and commits before bar reads ---
reset
> ok
CREATE TABLE txn0 (id int, val int, PRIMARY KEY (id))
> ok
CREATE TABLE txn1 (id int, val int, PRIMARY KEY (id))
> ok
foo: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
foo: SELECT * FROM txn0 WHERE id = 42
> no rows
bar: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
bar: INSERT INTO txn0 VALUES (42, 1)
> ok 1
foo: INSERT INTO txn1 VALUES (7, 1)
> ok 1
foo: COMMIT
> ok
trouble: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
trouble: UPDATE txn1 SET val = 2 WHERE id = 7 RETURNING *
> (7, 2)
trouble: COMMIT
> ok
bar: SELECT * FROM txn1 WHERE id = 7
> error 40001 could not serialize access due to read/write dependencies among transactions
bar: COMMIT
> ok (ROLLBACK: the block had failed)
