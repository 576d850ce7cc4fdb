# EXPLAIN ANALYZE runs the statement and reports, beyond the plan, what it did in the
# transactional core: the rows it read, the newer versions it skipped as invisible and whose
# they were, the rows it wrote, the row locks it took and waited for (held by whom), and at
# Serializable the SIREAD locks and rw-dependencies it recorded. TIMING OFF and SUMMARY OFF
# keep the answers free of durations.

CREATE TABLE accounts (id int PRIMARY KEY, balance int)
> ok
INSERT INTO accounts VALUES (1, 100), (2, 200), (3, 300)
> ok 3

# Repeatable Read: a row updated and committed after the snapshot is skipped, and the report
# names the writer and says it committed after the snapshot.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT sum(balance) FROM accounts
> (600)
t2: UPDATE accounts SET balance = 150 WHERE id = 1
> ok 1
t1: EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT * FROM accounts WHERE balance >= 100
> (Seq Scan on accounts  (actual rows=3 loops=1))
> (  Filter: WHERE clause)
> (Isolation: T# at REPEATABLE READ, snapshot at commit 2)
> (  Rows read: accounts 3)
> (  Rows written: 0)
> (  Versions skipped as invisible: T# updated 1 row (committed after the snapshot))
> (  Row locks taken: none)
> (  Lock waits: none)
t1: COMMIT
> ok

# Read Committed: an uncommitted update is skipped too; the report says its writer has not
# committed.
t2: BEGIN
> ok
t2: UPDATE accounts SET balance = 0 WHERE id = 2
> ok 1
t1: EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT * FROM accounts
> (Seq Scan on accounts  (actual rows=3 loops=1))
> (Isolation: T# at READ COMMITTED, snapshot at commit 3)
> (  Rows read: accounts 3)
> (  Rows written: 0)
> (  Versions skipped as invisible: T# updated 1 row (not committed))
> (  Row locks taken: none)
> (  Lock waits: none)

# An UPDATE that waits for the row: the report names the lock, who held it, and that it was
# granted once the holder committed; the row re-checked at Read Committed is the new one.
t1: BEGIN
> ok
t1: EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) UPDATE accounts SET balance = balance + 1 WHERE id = 2
> blocked
t2: COMMIT
> ok
> t1 resumed: (Update on accounts  (actual rows=1 loops=1))
> (  Index Scan using accounts_pkey on accounts (primary key lookup))
> (Isolation: T# at READ COMMITTED, snapshot at commit 3)
> (  Rows read: accounts 2)
> (  Rows written: 1)
> (  Versions skipped as invisible: T# updated 1 row (not committed))
> (  Row locks taken: 1: FOR NO KEY UPDATE on accounts(id=2))
> (  Lock waits: FOR NO KEY UPDATE on accounts(id=2) held by T#: granted)
t1: SELECT balance FROM accounts WHERE id = 2
> (1)
t1: COMMIT
> ok

# Serializable: the SIREAD locks a read adds, and the rw-dependency a write records against
# a concurrent reader (write skew's first edge).
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) SELECT balance FROM accounts WHERE id = 3
> (Index Scan using accounts_pkey on accounts (primary key lookup)  (actual rows=1 loops=1))
> (  Filter: WHERE clause)
> (Isolation: T# at SERIALIZABLE, snapshot at commit 5)
> (  Rows read: accounts 1)
> (  Rows written: 0)
> (  Versions skipped as invisible: none)
> (  Row locks taken: none)
> (  Lock waits: none)
> (  SIREAD locks added: 1: accounts(id=3))
> (  rw-dependencies recorded: none)
t2: EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) UPDATE accounts SET balance = 0 WHERE id = 3
> (Update on accounts  (actual rows=1 loops=1))
> (  Index Scan using accounts_pkey on accounts (primary key lookup))
> (Isolation: T# at SERIALIZABLE, snapshot at commit 5)
> (  Rows read: accounts 2)
> (  Rows written: 1)
> (  Versions skipped as invisible: none)
> (  Row locks taken: 1: FOR NO KEY UPDATE on accounts(id=3))
> (  Lock waits: none)
> (  SIREAD locks added: 1: accounts(id=3))
> (  rw-dependencies recorded: T# -rw-> T# (T# read accounts(id=3), which T# updated))
t1: ROLLBACK
> ok
t2: ROLLBACK
> ok
