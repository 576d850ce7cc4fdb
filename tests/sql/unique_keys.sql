# Through SQL and the wire: the steps of tests/scripts/unique_keys.txt, with the same outcomes.
# Primary and unique keys under concurrency: the second inserter of a key waits for the first,
# then fails (23505) if it committed or goes on if it rolled back. At Serializable a duplicate
# that the snapshot could not see is a race, reported as 40001 (retry will see it).

CREATE TABLE users (id int, email text, PRIMARY KEY (id))
> ok
CREATE UNIQUE INDEX users_email ON users (email)
> ok
INSERT INTO users VALUES (1, 'a@x')
> ok 1

# Same primary key: wait, then 23505.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO users VALUES (2, 'b@x')
> ok 1
t2: INSERT INTO users VALUES (2, 'c@x')
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23505 duplicate key value violates unique constraint "users_pkey"
t2: ROLLBACK
> ok

# Same primary key: wait, then proceed after the first rolls back.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO users VALUES (3, 'c@x')
> ok 1
t2: INSERT INTO users VALUES (3, 'd@x')
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# Same unique email, different ids.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: INSERT INTO users VALUES (4, 'e@x')
> ok 1
t2: INSERT INTO users VALUES (5, 'e@x')
> blocked
t1: COMMIT
> ok
> t2 resumed: error 23505 duplicate key value violates unique constraint "users_email"
t2: ROLLBACK
> ok

# A committed duplicate fails at once; freeing the email in the same transaction allows reuse.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO users VALUES (6, 'a@x')
> error 23505 duplicate key value violates unique constraint "users_email"
t1: ROLLBACK
> ok
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE users SET email = 'z@x' WHERE id = 1 RETURNING *
> (1, z@x)
t1: INSERT INTO users VALUES (6, 'a@x')
> ok 1
t1: COMMIT
> ok

# A concurrent delete of the holder: wait, then succeed.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: DELETE FROM users WHERE id = 6 RETURNING *
> (6, a@x)
t2: INSERT INTO users VALUES (7, 'a@x')
> blocked
t1: COMMIT
> ok
> t2 resumed: ok 1
t2: COMMIT
> ok

# Serializable: the key was inserted after our snapshot: 40001, not 23505.
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM users WHERE id = 8
> no rows
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: INSERT INTO users VALUES (8, 'q@x')
> ok 1
t2: COMMIT
> ok
t1: INSERT INTO users VALUES (8, 'r@x')
> error 40001 could not serialize access due to concurrent insert
t1: ROLLBACK
> ok

# Repeatable Read keeps 23505 there, as PostgreSQL does.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM users WHERE id = 9
> no rows
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: INSERT INTO users VALUES (9, 's@x')
> ok 1
t2: COMMIT
> ok
t1: INSERT INTO users VALUES (9, 't@x')
> error 23505 duplicate key value violates unique constraint "users_pkey"
t1: ROLLBACK
> ok

# A NULL in a unique column never conflicts.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: INSERT INTO users VALUES (10, null)
> ok 1
t1: INSERT INTO users VALUES (11, null)
> ok 1
t1: COMMIT
> ok
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM users ORDER BY id
> (1, z@x)
> (2, b@x)
> (3, d@x)
> (4, e@x)
> (7, a@x)
> (8, q@x)
> (9, s@x)
> (10, null)
> (11, null)
t1: COMMIT
> ok
