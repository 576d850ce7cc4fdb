# Through SQL and the wire: the steps of tests/scripts/g2_item_doctors_on_call.txt, with the same outcomes.
# Write skew, the two doctors: each checks that another doctor is on call, then goes off call.
# Both succeed below Serializable (nobody is left on call); at Serializable the second to commit
# fails with 40001.

# --- read uncommitted ---
CREATE TABLE doctors (id int, on_call boolean, PRIMARY KEY (id))
> ok
INSERT INTO doctors VALUES (1, true)
> ok 1
INSERT INTO doctors VALUES (2, true)
> ok 1
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t2: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t1: UPDATE doctors SET on_call = false WHERE id = 1 RETURNING *
> (1, f)
t2: UPDATE doctors SET on_call = false WHERE id = 2 RETURNING *
> (2, f)
t1: COMMIT
> ok
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT count(*) FROM doctors WHERE on_call = true
> (0)
t3: COMMIT
> ok

reset
> ok
# --- read committed ---
CREATE TABLE doctors (id int, on_call boolean, PRIMARY KEY (id))
> ok
INSERT INTO doctors VALUES (1, true)
> ok 1
INSERT INTO doctors VALUES (2, true)
> ok 1
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t2: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t1: UPDATE doctors SET on_call = false WHERE id = 1 RETURNING *
> (1, f)
t2: UPDATE doctors SET on_call = false WHERE id = 2 RETURNING *
> (2, f)
t1: COMMIT
> ok
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT count(*) FROM doctors WHERE on_call = true
> (0)
t3: COMMIT
> ok

reset
> ok
# --- repeatable read ---
CREATE TABLE doctors (id int, on_call boolean, PRIMARY KEY (id))
> ok
INSERT INTO doctors VALUES (1, true)
> ok 1
INSERT INTO doctors VALUES (2, true)
> ok 1
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t2: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t1: UPDATE doctors SET on_call = false WHERE id = 1 RETURNING *
> (1, f)
t2: UPDATE doctors SET on_call = false WHERE id = 2 RETURNING *
> (2, f)
t1: COMMIT
> ok
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT count(*) FROM doctors WHERE on_call = true
> (0)
t3: COMMIT
> ok

reset
> ok
# --- serializable ---
CREATE TABLE doctors (id int, on_call boolean, PRIMARY KEY (id))
> ok
INSERT INTO doctors VALUES (1, true)
> ok 1
INSERT INTO doctors VALUES (2, true)
> ok 1
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t2: SELECT count(*) FROM doctors WHERE on_call = true
> (2)
t1: UPDATE doctors SET on_call = false WHERE id = 1 RETURNING *
> (1, f)
t2: UPDATE doctors SET on_call = false WHERE id = 2 RETURNING *
> (2, f)
t1: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT count(*) FROM doctors WHERE on_call = true
> (1)
t3: COMMIT
> ok
