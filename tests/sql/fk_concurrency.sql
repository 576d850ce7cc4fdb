# Foreign keys under concurrency, at every level: a child row locks its parent FOR KEY SHARE,
# so a child insert and a delete (or key change) of its parent in flight wait for each other,
# and no interleaving leaves an orphan. At Read Committed the loser sees the winner's commit
# (23503); at Repeatable Read and Serializable a child insert naming a parent deleted or
# re-keyed since the snapshot is a serialization failure (40001), as PostgreSQL reports. A
# non-key update of a referenced parent does not wait for the child. Every expected line here
# is PostgreSQL 15's answer.

CREATE TABLE parent (id int PRIMARY KEY, name text)
> ok
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent (id))
> ok

# READ COMMITTED.
INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five'), (6, 'six'), (7, 'seven')
> ok 7

# The delete first, uncommitted: the insert waits; it fails once the delete commits.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 1
> ok 1
t2: INSERT INTO child VALUES (10, 1)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 insert or update on table "child" violates foreign key constraint "child_parent_id_fkey"
t2: ROLLBACK
> ok
# ... or goes on once the delete rolls back.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 2
> ok 1
t2: INSERT INTO child VALUES (11, 2)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# The insert first, uncommitted: the delete waits; it fails once the insert commits.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (1)
t1: INSERT INTO child VALUES (12, 3)
> ok 1
t2: DELETE FROM parent WHERE id = 3
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 update or delete on table "parent" violates foreign key constraint "child_parent_id_fkey" on table "child"
t2: ROLLBACK
> ok
# The insert first, uncommitted: the delete waits, and goes on once the insert rolls back.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (2)
t1: INSERT INTO child VALUES (13, 4)
> ok 1
t2: DELETE FROM parent WHERE id = 4
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# A key update of the parent, uncommitted, then a child insert naming the old key: it waits,
# then fails.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (2)
t1: UPDATE parent SET id = 50 WHERE id = 5
> ok 1
t2: INSERT INTO child VALUES (14, 5)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 insert or update on table "child" violates foreign key constraint "child_parent_id_fkey"
t2: ROLLBACK
> ok
# A child insert first: a non-key update of its parent goes on at once.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO child VALUES (15, 6)
> ok 1
t2: UPDATE parent SET name = 'SIX' WHERE id = 6
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok
# A child insert first: a key update of its parent waits, and fails once the insert commits.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT count(*) FROM child
> (3)
t1: INSERT INTO child VALUES (16, 7)
> ok 1
t2: UPDATE parent SET id = 70 WHERE id = 7
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 update or delete on table "parent" violates foreign key constraint "child_parent_id_fkey" on table "child"
t2: ROLLBACK
> ok

# No orphan.
SELECT c.id, c.parent_id, p.name FROM child c LEFT JOIN parent p ON p.id = c.parent_id ORDER BY c.id
> (11, 2, two)
> (12, 3, three)
> (15, 6, SIX)
> (16, 7, seven)
SELECT count(*) FROM child c WHERE NOT EXISTS (SELECT 1 FROM parent p WHERE p.id = c.parent_id)
> (0)
DELETE FROM child
> ok 4
DELETE FROM parent
> ok 5

# REPEATABLE READ.
INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five'), (6, 'six'), (7, 'seven')
> ok 7

# The delete first, uncommitted: the insert waits; it fails once the delete commits.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 1
> ok 1
t2: INSERT INTO child VALUES (10, 1)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent delete
t2: ROLLBACK
> ok
# ... or goes on once the delete rolls back.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 2
> ok 1
t2: INSERT INTO child VALUES (11, 2)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok
# The insert first, uncommitted: the delete waits, and goes on once the insert rolls back.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM child
> (1)
t1: INSERT INTO child VALUES (13, 4)
> ok 1
t2: DELETE FROM parent WHERE id = 4
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# A key update of the parent, uncommitted, then a child insert naming the old key: it waits,
# then fails.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM child
> (1)
t1: UPDATE parent SET id = 50 WHERE id = 5
> ok 1
t2: INSERT INTO child VALUES (14, 5)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent delete
t2: ROLLBACK
> ok
# A child insert first: a non-key update of its parent goes on at once.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: INSERT INTO child VALUES (15, 6)
> ok 1
t2: UPDATE parent SET name = 'SIX' WHERE id = 6
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok
# A child insert first: a delete of its parent waits, and once the insert commits fails
# with 23503 naming the child (the check reads the latest data), not 40001.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM child
> (2)
t1: INSERT INTO child VALUES (16, 7)
> ok 1
t2: DELETE FROM parent WHERE id = 7
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 update or delete on table "parent" violates foreign key constraint "child_parent_id_fkey" on table "child"
t2: ROLLBACK
> ok
DELETE FROM child WHERE id = 16
> ok 1

# No orphan.
SELECT c.id, c.parent_id, p.name FROM child c LEFT JOIN parent p ON p.id = c.parent_id ORDER BY c.id
> (11, 2, two)
> (15, 6, SIX)
SELECT count(*) FROM child c WHERE NOT EXISTS (SELECT 1 FROM parent p WHERE p.id = c.parent_id)
> (0)
DELETE FROM child
> ok 2
DELETE FROM parent
> ok 5

# SERIALIZABLE.
INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five'), (6, 'six'), (7, 'seven')
> ok 7

# The delete first, uncommitted: the insert waits; it fails once the delete commits.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 1
> ok 1
t2: INSERT INTO child VALUES (10, 1)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent delete
t2: ROLLBACK
> ok
# ... or goes on once the delete rolls back.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: SELECT count(*) FROM child
> (0)
t1: DELETE FROM parent WHERE id = 2
> ok 1
t2: INSERT INTO child VALUES (11, 2)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok
# The insert first, uncommitted: the delete waits, and goes on once the insert rolls back.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: SELECT count(*) FROM child
> (1)
t1: INSERT INTO child VALUES (13, 4)
> ok 1
t2: DELETE FROM parent WHERE id = 4
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# A key update of the parent, uncommitted, then a child insert naming the old key: it waits,
# then fails.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: SELECT count(*) FROM child
> (1)
t1: UPDATE parent SET id = 50 WHERE id = 5
> ok 1
t2: INSERT INTO child VALUES (14, 5)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent delete
t2: ROLLBACK
> ok
# A child insert first: a non-key update of its parent goes on at once.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: INSERT INTO child VALUES (15, 6)
> ok 1
t2: UPDATE parent SET name = 'SIX' WHERE id = 6
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok
# A child insert first: a key update of its parent waits, and fails once the insert commits.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: SELECT count(*) FROM child
> (2)
t1: INSERT INTO child VALUES (16, 7)
> ok 1
t2: UPDATE parent SET id = 70 WHERE id = 7
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to read/write dependencies among transactions
t2: ROLLBACK
> ok

# No orphan.
SELECT c.id, c.parent_id, p.name FROM child c LEFT JOIN parent p ON p.id = c.parent_id ORDER BY c.id
> (11, 2, two)
> (15, 6, SIX)
> (16, 7, seven)
SELECT count(*) FROM child c WHERE NOT EXISTS (SELECT 1 FROM parent p WHERE p.id = c.parent_id)
> (0)
DELETE FROM child
> ok 3
DELETE FROM parent
> ok 5

# READ UNCOMMITTED.
INSERT INTO parent VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four'), (5, 'five'), (6, 'six'), (7, 'seven')
> ok 7
# The delete first, uncommitted: the insert waits for it as at Read Committed (its check
# does not read the uncommitted delete), fails once it commits ...
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: DELETE FROM parent WHERE id = 1
> ok 1
t2: INSERT INTO child VALUES (10, 1)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 insert or update on table "child" violates foreign key constraint "child_parent_id_fkey"
t2: ROLLBACK
> ok
# ... or goes on once it rolls back.
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: DELETE FROM parent WHERE id = 2
> ok 1
t2: INSERT INTO child VALUES (11, 2)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: ROLLBACK
> ok
# The insert first, uncommitted: the delete waits, and goes on once the insert rolls back.
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: SELECT count(*) FROM child
> (0)
t1: INSERT INTO child VALUES (13, 4)
> ok 1
t2: DELETE FROM parent WHERE id = 4
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok
# A child insert first: a non-key update of its parent goes on at once.
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: INSERT INTO child VALUES (15, 6)
> ok 1
t2: UPDATE parent SET name = 'SIX' WHERE id = 6
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok
# A child insert first: a key update of its parent waits, and fails once the insert commits.
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: SELECT count(*) FROM child
> (1)
t1: INSERT INTO child VALUES (16, 7)
> ok 1
t2: UPDATE parent SET id = 70 WHERE id = 7
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23503 update or delete on table "parent" violates foreign key constraint "child_parent_id_fkey" on table "child"
t2: ROLLBACK
> ok

# No orphan.
SELECT c.id, c.parent_id, p.name FROM child c LEFT JOIN parent p ON p.id = c.parent_id ORDER BY c.id
> (15, 6, SIX)
> (16, 7, seven)
SELECT count(*) FROM child c WHERE NOT EXISTS (SELECT 1 FROM parent p WHERE p.id = c.parent_id)
> (0)
DELETE FROM child
> ok 2
DELETE FROM parent
> ok 5
