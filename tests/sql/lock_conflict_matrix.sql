# Through SQL and the wire: the steps of tests/scripts/lock_conflict_matrix.txt, with the same outcomes.
# The row-lock conflict matrix (PostgreSQL README.tuplock), every cell: t1 holds a mode on a
# row, t2 asks for a mode with NOWAIT. A conflict fails at once with 55P03; no conflict grants.
#
#   held \ asked   KEY SHARE  SHARE  NO KEY UPDATE  UPDATE
#   KEY SHARE          -         -         -           x
#   SHARE              -         -         x           x
#   NO KEY UPDATE      -         x         x           x
#   UPDATE             x         x         x           x

CREATE TABLE test (id int, value int, PRIMARY KEY (id))
> ok
INSERT INTO test VALUES (1, 10)
> ok 1

# held key share, asked key share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR KEY SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR KEY SHARE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held key share, asked share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR KEY SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR SHARE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held key share, asked no key update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR KEY SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held key share, asked update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR KEY SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held share, asked key share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR KEY SHARE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held share, asked share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR SHARE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held share, asked no key update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held share, asked update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR SHARE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held no key update, asked key share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR KEY SHARE NOWAIT
> (1, 10)
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held no key update, asked share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR SHARE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held no key update, asked no key update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held no key update, asked update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held update, asked key share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR KEY SHARE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held update, asked share
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR SHARE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held update, asked no key update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR NO KEY UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok

# held update, asked update
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM test WHERE id = 1 FOR UPDATE
> (1, 10)
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT * FROM test WHERE id = 1 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "test"
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok
