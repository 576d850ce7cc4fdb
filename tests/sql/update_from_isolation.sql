# UPDATE ... FROM and DELETE ... USING keep a plain UPDATE's row locking: the target row is
# locked, and at Read Committed a row a concurrent transaction changed is re-checked, once that
# transaction commits, against the WHERE clause joined to the same FROM row (PostgreSQL's
# EvalPlanQual); at Repeatable Read the change is a serialization failure (40001).

CREATE TABLE acc (id int PRIMARY KEY, bal int)
> ok
INSERT INTO acc VALUES (1, 100), (2, 200)
> ok 2
CREATE TABLE pay (acc_id int, amt int)
> ok
INSERT INTO pay VALUES (1, 10), (2, 20)
> ok 2

# Read Committed: blocked, then the newest version (still matching) is updated
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE acc SET bal = 150 WHERE id = 1
> ok 1
t2: UPDATE acc SET bal = acc.bal + pay.amt FROM pay WHERE pay.acc_id = acc.id AND acc.bal >= 100 RETURNING acc.id, acc.bal, pay.amt
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 160, 10)
> (2, 220, 20)
t2: COMMIT
> ok
SELECT * FROM acc ORDER BY id
> (1, 160)
> (2, 220)

# Read Committed: blocked, then the newest version no longer matches and is left alone
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE acc SET bal = 50 WHERE id = 1
> ok 1
t2: UPDATE acc SET bal = acc.bal + pay.amt FROM pay WHERE pay.acc_id = acc.id AND acc.bal >= 100 RETURNING acc.id, acc.bal
> blocked
t1: COMMIT
> ok
> t2 resumed: (2, 240)
t2: COMMIT
> ok
SELECT * FROM acc ORDER BY id
> (1, 50)
> (2, 240)

# Read Committed: a DELETE ... USING waits for a concurrent delete of its row and skips it
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: DELETE FROM acc WHERE id = 2
> ok 1
t2: DELETE FROM acc USING pay WHERE pay.acc_id = acc.id RETURNING acc.id
> blocked
t1: COMMIT
> ok
> t2 resumed: (1)
t2: ROLLBACK
> ok
SELECT * FROM acc ORDER BY id
> (1, 50)

# Repeatable Read: a concurrent committed update of the target row is a serialization failure
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: SELECT count(*) FROM pay
> (2)
t1: UPDATE acc SET bal = 70 WHERE id = 1
> ok 1
t2: UPDATE acc SET bal = acc.bal + pay.amt FROM pay WHERE pay.acc_id = acc.id
> blocked
t1: COMMIT
> ok
> t2 resumed: error 40001 could not serialize access due to concurrent update
t2: ROLLBACK
> ok
SELECT * FROM acc ORDER BY id
> (1, 70)
