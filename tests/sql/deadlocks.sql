# Through SQL and the wire: the steps of tests/scripts/deadlocks.txt, with the same outcomes.
# Deadlocks are detected the moment a wait would close a cycle, with no timeout. The waiter
# that closed it is the victim (40P01, with the whole cycle in the detail); the others go on.

CREATE TABLE accounts (id int, balance int, PRIMARY KEY (id))
> ok
INSERT INTO accounts VALUES (1, 100)
> ok 1
INSERT INTO accounts VALUES (2, 100)
> ok 1
INSERT INTO accounts VALUES (3, 100)
> ok 1

# Two transactions, transfers in opposite order.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE accounts SET balance = balance - 10 WHERE id = 1 RETURNING *
> (1, 90)
t2: UPDATE accounts SET balance = balance - 10 WHERE id = 2 RETURNING *
> (2, 90)
t1: UPDATE accounts SET balance = balance + 10 WHERE id = 2 RETURNING *
> blocked
t2: UPDATE accounts SET balance = balance + 10 WHERE id = 1 RETURNING *
> error 40P01 deadlock detected
> t1 resumed: (2, 110)
t2: ROLLBACK
> ok
t1: COMMIT
> ok

# Three transactions in a ring of row locks.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t3: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM accounts WHERE id = 1 FOR UPDATE
> (1, 90)
t2: SELECT * FROM accounts WHERE id = 2 FOR UPDATE
> (2, 110)
t3: SELECT * FROM accounts WHERE id = 3 FOR UPDATE
> (3, 100)
t1: SELECT * FROM accounts WHERE id = 2 FOR UPDATE
> blocked
t2: SELECT * FROM accounts WHERE id = 3 FOR UPDATE
> blocked
t3: SELECT * FROM accounts WHERE id = 1 FOR SHARE
> error 40P01 deadlock detected
> t2 resumed: (3, 100)
t3: ROLLBACK
> ok
t2: COMMIT
> ok
> t1 resumed: (2, 110)
t1: COMMIT
> ok

# A deadlock through a lock upgrade: both hold FOR SHARE and both want to update.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM accounts WHERE id = 1 FOR SHARE
> (1, 90)
t2: SELECT * FROM accounts WHERE id = 1 FOR SHARE
> (1, 90)
t1: UPDATE accounts SET balance = 0 WHERE id = 1 RETURNING *
> blocked
t2: UPDATE accounts SET balance = 1 WHERE id = 1 RETURNING *
> error 40P01 deadlock detected
> t1 resumed: (1, 0)
t2: ROLLBACK
> ok
t1: COMMIT
> ok

# The victim recovers with ROLLBACK TO SAVEPOINT, which releases the locks taken after it.
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE accounts SET balance = 50 WHERE id = 1 RETURNING *
> (1, 50)
t2: SAVEPOINT s
> ok
t2: UPDATE accounts SET balance = 50 WHERE id = 2 RETURNING *
> (2, 50)
t1: UPDATE accounts SET balance = 51 WHERE id = 2 RETURNING *
> blocked
t2: UPDATE accounts SET balance = 51 WHERE id = 1 RETURNING *
> error 40P01 deadlock detected
t2: ROLLBACK TO SAVEPOINT s
> ok
> t1 resumed: (2, 51)
t2: UPDATE accounts SET balance = 52 WHERE id = 3 RETURNING *
> (3, 52)
t2: COMMIT
> ok
t1: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t3: SELECT * FROM accounts ORDER BY id
> (1, 50)
> (2, 51)
> (3, 52)
t3: COMMIT
> ok
