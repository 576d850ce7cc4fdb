# Through SQL and the wire: the steps of tests/scripts/fekete_read_only_anomaly.txt, with the same outcomes.
# The read-only anomaly (Fekete, O'Neil, O'Neil 2004). checking x and savings y start at 0.
# t1 (a withdrawal) reads x and y; t2 deposits 20 into y and commits; t3, a report, reads both
# (x=0, y=20) and commits; t1 then withdraws 10 from x with an overdraft fee, since it saw
# x+y=0: x=-11. No serial order explains what t3 saw. Snapshot isolation lets it through; at
# Serializable t1 must fail: t3 -rw-> t1 -rw-> t2 with t2 committed before t3's snapshot.

# --- repeatable read: the anomaly happens ---
CREATE TABLE accounts (name text, balance int, PRIMARY KEY (name))
> ok
INSERT INTO accounts VALUES ('checking', 0)
> ok 1
INSERT INTO accounts VALUES ('savings', 0)
> ok 1
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 0)
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: UPDATE accounts SET balance = balance + 20 WHERE name = 'savings' RETURNING *
> (savings, 20)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t3: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 20)
t3: COMMIT
> ok
t1: UPDATE accounts SET balance = balance - 11 WHERE name = 'checking' RETURNING *
> (checking, -11)
t1: COMMIT
> ok

# --- serializable, the report not declared read-only ---
reset
> ok
CREATE TABLE accounts (name text, balance int, PRIMARY KEY (name))
> ok
INSERT INTO accounts VALUES ('checking', 0)
> ok 1
INSERT INTO accounts VALUES ('savings', 0)
> ok 1
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 0)
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: UPDATE accounts SET balance = balance + 20 WHERE name = 'savings' RETURNING *
> (savings, 20)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t3: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 20)
t3: COMMIT
> ok
t1: UPDATE accounts SET balance = balance - 11 WHERE name = 'checking' RETURNING *
> error 40001 could not serialize access due to read/write dependencies among transactions
t1: COMMIT
> ok (ROLLBACK: the block had failed)

# --- serializable, the report declared READ ONLY ---
reset
> ok
CREATE TABLE accounts (name text, balance int, PRIMARY KEY (name))
> ok
INSERT INTO accounts VALUES ('checking', 0)
> ok 1
INSERT INTO accounts VALUES ('savings', 0)
> ok 1
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 0)
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: UPDATE accounts SET balance = balance + 20 WHERE name = 'savings' RETURNING *
> (savings, 20)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY
> ok
t3: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 20)
t3: COMMIT
> ok
t1: UPDATE accounts SET balance = balance - 11 WHERE name = 'checking' RETURNING *
> error 40001 could not serialize access due to read/write dependencies among transactions
t1: COMMIT
> ok (ROLLBACK: the block had failed)

# --- serializable, the report READ ONLY DEFERRABLE: it waits for a safe snapshot ---
# t3 cannot start while t1 (which conflicts out to the committed t2) runs. When t1 commits,
# t3's first snapshot proves unsafe; it takes a new one, which is safe, and sees x=-11, y=20.
reset
> ok
CREATE TABLE accounts (name text, balance int, PRIMARY KEY (name))
> ok
INSERT INTO accounts VALUES ('checking', 0)
> ok 1
INSERT INTO accounts VALUES ('savings', 0)
> ok 1
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM accounts ORDER BY name
> (checking, 0)
> (savings, 0)
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: UPDATE accounts SET balance = balance + 20 WHERE name = 'savings' RETURNING *
> (savings, 20)
t2: COMMIT
> ok
t3: BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE
> ok
t3: SELECT * FROM accounts ORDER BY name
> blocked
t1: UPDATE accounts SET balance = balance - 11 WHERE name = 'checking' RETURNING *
> (checking, -11)
t1: COMMIT
> ok
> t3 resumed: (checking, -11)
> (savings, 20)
t3: COMMIT
> ok
