# Through SQL and the wire: the steps of tests/scripts/lock_wait_policies.txt, with the same outcomes.
# Wait policies. Default: wait in FIFO order. NOWAIT: fail at once with 55P03. SKIP LOCKED:
# leave the row out. lock_timeout: give up after waiting that long, with 55P03.

CREATE TABLE jobs (id int, state text, PRIMARY KEY (id))
> ok
INSERT INTO jobs VALUES (1, 'new')
> ok 1
INSERT INTO jobs VALUES (2, 'new')
> ok 1
INSERT INTO jobs VALUES (3, 'new')
> ok 1

# A job queue: three workers each take the first free new job with SKIP LOCKED; each gets a
# different one, and a fourth finds nothing left.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
> (1, new)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
> (2, new)
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
> (3, new)
t4: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t4: SELECT * FROM jobs WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
> no rows
t1: UPDATE jobs SET state = 'done' WHERE id = 1 RETURNING *
> (1, done)
t1: COMMIT
> ok
t2: ROLLBACK
> ok
t3: ROLLBACK
> ok
t4: ROLLBACK
> ok

# NOWAIT fails at once; the transaction is then failed until rollback.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM jobs WHERE id = 2 FOR UPDATE
> (2, new)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM jobs WHERE id = 2 FOR SHARE NOWAIT
> error 55P03 could not obtain lock on row in relation "jobs"
t2: SELECT * FROM jobs WHERE id = 2
> error 25P02 current transaction is aborted, commands ignored until end of transaction block
t2: ROLLBACK
> ok
t1: ROLLBACK
> ok

# FIFO: a writer waiting behind a share lock is not overtaken by later share lockers.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM jobs WHERE id = 2 FOR SHARE
> (2, new)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: UPDATE jobs SET state = 'taken' WHERE id = 2 RETURNING *
> blocked
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM jobs WHERE id = 2 FOR SHARE
> blocked
t1: COMMIT
> ok
> t2 resumed: (2, taken)
t2: COMMIT
> ok
> t3 resumed: (2, taken)
t3: COMMIT
> ok

# lock_timeout: t2 gives up after 20 ms with 55P03 and can roll back to a savepoint.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM jobs WHERE id = 3 FOR UPDATE
> (3, new)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SAVEPOINT before_lock
> ok
t2: SET lock_timeout = '20ms'
> ok
t2: SELECT * FROM jobs WHERE id = 3 FOR UPDATE
> blocked
await t2
> error 55P03 canceling statement due to lock timeout
t2: SELECT * FROM jobs WHERE id = 3
> error 25P02 current transaction is aborted, commands ignored until end of transaction block
t2: ROLLBACK TO SAVEPOINT before_lock
> ok
t2: SELECT * FROM jobs WHERE id = 3
> (3, new)
t2: ROLLBACK
> ok
t1: ROLLBACK
> ok

# Locks taken by a read-only transaction are refused.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
> ok
t1: SELECT * FROM jobs WHERE id = 1 FOR SHARE
> error 25006 cannot execute a write in a read-only transaction
t1: ROLLBACK
> ok
