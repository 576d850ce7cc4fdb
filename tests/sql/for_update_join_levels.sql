# FOR UPDATE [OF t] over a join at the levels above and below Read Committed
# (tests/sql/for_update_join.sql has Read Committed). At Repeatable Read and Serializable a
# row to lock that changed after the snapshot fails the statement with 40001 (first updater
# wins), as PostgreSQL does; a row of a table not named in OF is only read, so its change
# does not matter to the lock. At Read Uncommitted the locking read waits for the row's
# writer and re-checks the join, as at Read Committed. Outcomes as PostgreSQL 15's.

CREATE TABLE cat (id int PRIMARY KEY, name text)
> ok
CREATE TABLE item (id int PRIMARY KEY, cat int REFERENCES cat (id), qty int)
> ok
INSERT INTO cat VALUES (1, 'tools'), (2, 'toys')
> ok 2
INSERT INTO item VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30)
> ok 3

# Repeatable Read: an item changed after the snapshot cannot be locked.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT count(*) FROM item
> (3)
t2: UPDATE item SET qty = 11 WHERE id = 1
> ok 1
t1: SELECT i.id, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE c.name = 'tools' ORDER BY i.id FOR UPDATE OF i
> error 40001 could not serialize access due to concurrent update
t1: ROLLBACK
> ok

# Repeatable Read: the changed category is not locked (OF i): the items lock, and the join
# shows the snapshot's category.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT count(*) FROM item
> (3)
t2: UPDATE cat SET name = 'hardware' WHERE id = 1
> ok 1
t1: SELECT i.id, i.qty, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE c.name = 'tools' ORDER BY i.id FOR UPDATE OF i
> (1, 11, tools)
> (2, 20, tools)
t2: SELECT id FROM item WHERE id = 2 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "item"
t2: SELECT id FROM cat WHERE id = 1 FOR UPDATE NOWAIT
> (1)
t1: COMMIT
> ok
t2: UPDATE cat SET name = 'tools' WHERE id = 1
> ok 1

# Serializable: the same first-updater rule, and without OF the category's row is locked too.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT i.id, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE i.id = 3 FOR UPDATE
> (3, toys)
t2: SELECT id FROM cat WHERE id = 2 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "cat"
t1: COMMIT
> ok
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT count(*) FROM cat
> (2)
t2: UPDATE cat SET name = 'games' WHERE id = 2
> ok 1
t1: SELECT i.id, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE i.id = 3 FOR UPDATE
> error 40001 could not serialize access due to concurrent update
t1: ROLLBACK
> ok

# Read Uncommitted: the locking read waits for the item's writer, then re-checks the join.
t2: BEGIN
> ok
t2: UPDATE item SET cat = 2 WHERE id = 2
> ok 1
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: SELECT i.id, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE c.name = 'tools' ORDER BY i.id FOR UPDATE OF i
> (1, tools)
t2: COMMIT
> ok
t1: COMMIT
> ok
