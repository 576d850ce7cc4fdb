# DDL takes an exclusive lock on the tables it changes (ACCESS EXCLUSIVE, as PostgreSQL's
# ALTER TABLE / DROP TABLE do) and every statement takes a shared one (ACCESS SHARE) on the
# tables it uses, held until its transaction ends. So a reader or writer waits for an
# uncommitted ALTER and then sees the new definition; an ALTER waits for every transaction
# that used the table; the waits join deadlock detection and lock_timeout.
#
# A session whose DDL is to wait runs a statement first in its block (`SELECT 1`): the runner
# tells a blocked statement by isola_stat_activity.waiting, which a wait in the first
# statement of a transaction, when that is DDL, does not show yet.

CREATE TABLE accounts (id int PRIMARY KEY, balance int)
> ok
INSERT INTO accounts VALUES (1, 100), (2, 200)
> ok 2
CREATE TABLE audit (id int PRIMARY KEY, note text)
> ok

# A SELECT and an INSERT wait behind an uncommitted ALTER TABLE and go on after its COMMIT,
# with the new column.
t1: BEGIN
> ok
t1: ALTER TABLE accounts ADD COLUMN owner text DEFAULT 'bank'
> ok
SELECT "row", mode, granted FROM isola_locks ORDER BY "row"
> (table accounts, ACCESS EXCLUSIVE, t)
t2: SELECT id, balance FROM accounts WHERE balance <= 200 ORDER BY id
> blocked
t3: INSERT INTO accounts (id, balance) VALUES (3, 300) RETURNING id, balance
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 100)
> (2, 200)
> t3 resumed: (3, 300)
t3: SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 200, bank)
> (3, 300, bank)

# Behind an ALTER that rolls back, they go on with the old definition.
t1: BEGIN
> ok
t1: ALTER TABLE accounts DROP COLUMN owner
> ok
t2: SELECT id, balance FROM accounts WHERE balance = 100
> blocked
t3: UPDATE accounts SET owner = 'me' WHERE balance = 300
> blocked
t1: ROLLBACK
> ok
> t2 resumed: (1, 100)
> t3 resumed: ok 1
t2: SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 200, bank)
> (3, 300, me)

# An ALTER waits for a transaction that read the table (its ACCESS SHARE lasts until its end).
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT count(*) FROM accounts
> (3)
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: ALTER TABLE accounts ADD COLUMN opened int DEFAULT 2024
> blocked
t1: SELECT count(*) FROM accounts
> (3)
t1: COMMIT
> ok
> t2 resumed: ok
t2: COMMIT
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100, bank, 2024)
> (2, 200, bank, 2024)
> (3, 300, me, 2024)

# The same at Repeatable Read, and with a writer: the ALTER waits for the end of each.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: UPDATE accounts SET balance = balance + 1 WHERE id = 1
> ok 1
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: ALTER TABLE accounts DROP COLUMN opened
> blocked
t1: SELECT * FROM accounts WHERE id = 1
> (1, 101, bank, 2024)
t1: ROLLBACK
> ok
> t2 resumed: ok
t2: COMMIT
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 200, bank)
> (3, 300, me)

# A transaction that read another table does not hold the ALTER up.
t1: BEGIN
> ok
t1: SELECT * FROM audit
> no rows
t2: ALTER TABLE accounts ADD COLUMN closed boolean
> ok
t1: COMMIT
> ok

# A Repeatable Read transaction sees a definition committed after its snapshot (the catalog is
# read as it stands now, as in PostgreSQL), with its rows as of its snapshot.
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM audit
> no rows
t2: UPDATE accounts SET balance = 0 WHERE id = 3
> ok 1
t2: ALTER TABLE accounts ADD COLUMN tier int DEFAULT 1
> ok
t1: SELECT * FROM accounts ORDER BY id
> (1, 100, bank, null, 1)
> (2, 200, bank, null, 1)
> (3, 300, me, null, 1)
t1: COMMIT
> ok
ALTER TABLE accounts DROP COLUMN tier
> ok
UPDATE accounts SET balance = 300 WHERE id = 3
> ok 1

# A deadlock between a DDL transaction and a row-lock holder: t1 holds row 1 and waits for
# row 2; t2 holds row 2 and waits, in ALTER TABLE, for t1's lock on the table. The wait that
# closes the cycle fails with 40P01; the other goes on.
t1: BEGIN
> ok
t2: BEGIN
> ok
t1: UPDATE accounts SET balance = 101 WHERE id = 1
> ok 1
t2: UPDATE accounts SET balance = 202 WHERE id = 2
> ok 1
t2: ALTER TABLE accounts DROP COLUMN closed
> blocked
t1: UPDATE accounts SET balance = 201 WHERE id = 2
> error 40P01 deadlock detected
> t2 resumed: ok
t1: ROLLBACK
> ok
t2: COMMIT
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 202, bank)
> (3, 300, me)

# The same cycle closed by the DDL: t1 reads audit then waits for t2's ALTER of accounts; t2
# has read nothing but altered accounts, then wants to alter audit, which t1 holds.
t1: BEGIN
> ok
t2: BEGIN
> ok
t1: SELECT * FROM audit
> no rows
t2: ALTER TABLE accounts ADD COLUMN region text
> ok
t1: SELECT id, balance FROM accounts ORDER BY id
> blocked
t2: ALTER TABLE audit ADD COLUMN region text
> error 40P01 deadlock detected
> t1 resumed: (1, 100)
> (2, 202)
> (3, 300)
t2: ROLLBACK
> ok
t1: COMMIT
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 202, bank)
> (3, 300, me)

# lock_timeout bounds a DDL wait (55P03), and a wait behind DDL.
t1: BEGIN
> ok
t1: SELECT * FROM accounts WHERE id = 1
> (1, 100, bank)
t2: SET lock_timeout = '1s'
> ok
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: ALTER TABLE accounts ADD COLUMN late int
> blocked
await t2
> error 55P03 canceling statement due to lock timeout
t2: ROLLBACK
> ok
t1: COMMIT
> ok
t1: BEGIN
> ok
t1: ALTER TABLE accounts ADD COLUMN late int
> ok
t2: SELECT id, balance FROM accounts
> blocked
await t2
> error 55P03 canceling statement due to lock timeout
t2: BEGIN
> ok
t2: SAVEPOINT s
> ok
t2: INSERT INTO accounts (id, balance) VALUES (4, 400)
> blocked
await t2
> error 55P03 canceling statement due to lock timeout
t2: ROLLBACK TO SAVEPOINT s
> ok
t2: SELECT * FROM audit
> no rows
t2: COMMIT
> ok
t1: ROLLBACK
> ok
t2: RESET lock_timeout
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100, bank)
> (2, 202, bank)
> (3, 300, me)

# Two sessions create the same table name: the second waits for the first; after the first
# commits it fails (the name is taken). (PostgreSQL 15 also waits, then fails with 23505 on
# its catalog's unique index pg_type_typname_nsp_index; isola answers 42P07, the error the same
# statement gets when the name was taken earlier.)
t1: BEGIN
> ok
t1: CREATE TABLE fresh (id int PRIMARY KEY)
> ok
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: CREATE TABLE fresh (id int PRIMARY KEY, other text)
> blocked
t1: COMMIT
> ok
> t2 resumed: error 42P07 relation "fresh" already exists
t2: ROLLBACK
> ok
t2: SELECT * FROM fresh
> no rows
# The first rolls back (with rows it wrote): the second, waiting, creates the name.
t1: BEGIN
> ok
t1: CREATE TABLE again (id int PRIMARY KEY)
> ok
t1: INSERT INTO again VALUES (1), (2)
> ok 2
t2: CREATE TABLE again (id int PRIMARY KEY, other text)
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok
t2: INSERT INTO again VALUES (1, 'one')
> ok 1
t1: SELECT * FROM again
> (1, one)
DROP TABLE again
> ok
# A statement naming a column an uncommitted ALTER TABLE adds waits for the ALTER (as
# PostgreSQL's parse analysis waits for the table's lock), then reads it.
CREATE TABLE ac (id int PRIMARY KEY)
> ok
INSERT INTO ac VALUES (1)
> ok 1
t1: BEGIN
> ok
t1: ALTER TABLE ac ADD COLUMN note text DEFAULT 'n'
> ok
t2: SELECT note FROM ac WHERE id = 1
> blocked
t1: COMMIT
> ok
> t2 resumed: (n)
t2: SELECT nothing FROM ac
> error 42703 column "nothing" does not exist
DROP TABLE ac
> ok
# The same with a savepoint: ROLLBACK TO takes the name back before the waiter goes on.
t1: BEGIN
> ok
t1: SAVEPOINT s
> ok
t1: CREATE TABLE again (id int PRIMARY KEY)
> ok
t1: INSERT INTO again VALUES (1)
> ok 1
t2: CREATE TABLE again (id int PRIMARY KEY, other text)
> blocked
t1: ROLLBACK TO SAVEPOINT s
> ok
> t2 resumed: ok
t1: COMMIT
> ok
t1: SELECT * FROM again
> no rows
DROP TABLE again
> ok
# DROP TABLE waits for a reader too; the reader's next statement afterwards finds no table.
t1: BEGIN
> ok
t1: SELECT * FROM fresh
> no rows
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: DROP TABLE fresh
> blocked
t1: COMMIT
> ok
> t2 resumed: ok
t2: COMMIT
> ok
t1: SELECT * FROM fresh
> error 42P01 relation "fresh" does not exist
