# DDL is transactional, as in PostgreSQL: CREATE / ALTER / DROP inside a block take effect for
# everyone at COMMIT and leave nothing behind at ROLLBACK (or ROLLBACK TO SAVEPOINT); a DDL
# statement that fails aborts its block like any other error.

CREATE TABLE accounts (id int PRIMARY KEY, balance int)
> ok
INSERT INTO accounts VALUES (1, 100), (2, 200)
> ok 2

# Rolled back: a table created, a column added, a table dropped, an index created.
t1: BEGIN
> ok
t1: CREATE TABLE scratch (id int PRIMARY KEY, note text)
> ok
t1: INSERT INTO scratch VALUES (1, 'draft')
> ok 1
t1: SELECT * FROM scratch
> (1, draft)
t1: ALTER TABLE accounts ADD COLUMN owner text DEFAULT 'nobody'
> ok
t1: SELECT * FROM accounts ORDER BY id
> (1, 100, nobody)
> (2, 200, nobody)
t1: CREATE INDEX accounts_balance ON accounts (balance)
> ok
t1: DROP TABLE accounts
> ok
t1: SELECT * FROM accounts
> error 42P01 relation "accounts" does not exist
t1: ROLLBACK
> ok
SELECT * FROM scratch
> error 42P01 relation "scratch" does not exist
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)
SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position
> (id)
> (balance)
# The index went with the rollback: its name is free again.
CREATE INDEX accounts_balance ON accounts (balance)
> ok
DROP INDEX accounts_balance
> ok

# Committed: the same statements stay.
t1: BEGIN
> ok
t1: CREATE TABLE scratch (id int PRIMARY KEY, note text)
> ok
t1: INSERT INTO scratch VALUES (1, 'kept')
> ok 1
t1: ALTER TABLE accounts ADD COLUMN owner text DEFAULT 'nobody'
> ok
t1: CREATE INDEX accounts_balance ON accounts (balance)
> ok
t1: COMMIT
> ok
SELECT * FROM scratch
> (1, kept)
SELECT * FROM accounts ORDER BY id
> (1, 100, nobody)
> (2, 200, nobody)
CREATE INDEX accounts_balance ON accounts (balance)
> error 42P07 relation "accounts_balance" already exists
t1: BEGIN
> ok
t1: DROP TABLE scratch
> ok
t1: ALTER TABLE accounts DROP COLUMN owner
> ok
t1: COMMIT
> ok
SELECT * FROM scratch
> error 42P01 relation "scratch" does not exist
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)

# A savepoint: what follows it is taken back by ROLLBACK TO SAVEPOINT, what precedes it stays.
t1: BEGIN
> ok
t1: CREATE TABLE before_sp (id int PRIMARY KEY)
> ok
t1: SAVEPOINT s
> ok
t1: CREATE TABLE after_sp (id int PRIMARY KEY)
> ok
t1: ALTER TABLE accounts ADD COLUMN flag boolean
> ok
t1: DROP TABLE before_sp
> ok
t1: SELECT * FROM after_sp
> no rows
t1: SELECT * FROM accounts ORDER BY id
> (1, 100, null)
> (2, 200, null)
t1: ROLLBACK TO SAVEPOINT s
> ok
t1: SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)
t1: INSERT INTO before_sp VALUES (7)
> ok 1
# An error after a savepoint: ROLLBACK TO recovers the block, DDL before the error is undone.
t1: SAVEPOINT s2
> ok
t1: CREATE TABLE after_s2 (id int)
> ok
t1: SELECT * FROM after_sp
> error 42P01 relation "after_sp" does not exist
t1: ROLLBACK TO SAVEPOINT s2
> ok
t1: SELECT * FROM after_s2
> error 42P01 relation "after_s2" does not exist
t1: ROLLBACK TO SAVEPOINT s2
> ok
t1: COMMIT
> ok
SELECT * FROM before_sp
> (7)
SELECT * FROM after_sp
> error 42P01 relation "after_sp" does not exist
SELECT * FROM after_s2
> error 42P01 relation "after_s2" does not exist
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)

# A DDL statement that fails on an existing row aborts the block; ROLLBACK undoes the rest.
t1: BEGIN
> ok
t1: ALTER TABLE accounts ADD COLUMN note text
> ok
t1: ALTER TABLE accounts ADD CONSTRAINT small_balance CHECK (balance < 150)
> error 23514 check constraint "small_balance" of relation "accounts" is violated by some row
t1: SELECT * FROM accounts
> error 25P02 current transaction is aborted, commands ignored until end of transaction block
t1: ROLLBACK
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)
INSERT INTO accounts VALUES (3, 1000)
> ok 1
# The same failure ended by COMMIT: the server answers ROLLBACK.
t1: BEGIN
> ok
t1: CREATE TABLE doomed (id int)
> ok
t1: ALTER TABLE accounts ALTER COLUMN balance SET NOT NULL
> ok
t1: INSERT INTO accounts VALUES (4, null)
> error 23502 null value in column "balance" of relation "accounts" violates not-null constraint
t1: ALTER TABLE accounts ADD CONSTRAINT unique_balance UNIQUE (balance)
> error 25P02 current transaction is aborted, commands ignored until end of transaction block
t1: COMMIT
> ok (ROLLBACK: the block had failed)
SELECT * FROM doomed
> error 42P01 relation "doomed" does not exist
INSERT INTO accounts VALUES (4, null)
> ok 1
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)
> (3, 1000)
> (4, null)
DELETE FROM accounts WHERE id >= 3
> ok 2

# DROP TABLE then CREATE TABLE of the same name in one transaction: the new table replaces the
# old at COMMIT; at ROLLBACK the old one is back with its rows.
t1: BEGIN
> ok
t1: DROP TABLE accounts
> ok
t1: CREATE TABLE accounts (id int PRIMARY KEY, holder text)
> ok
t1: INSERT INTO accounts VALUES (9, 'new')
> ok 1
t1: SELECT * FROM accounts
> (9, new)
t1: ROLLBACK
> ok
SELECT * FROM accounts ORDER BY id
> (1, 100)
> (2, 200)
t1: BEGIN
> ok
t1: DROP TABLE accounts
> ok
t1: CREATE TABLE accounts (id int PRIMARY KEY, holder text)
> ok
t1: INSERT INTO accounts VALUES (9, 'new')
> ok 1
t1: COMMIT
> ok
SELECT * FROM accounts ORDER BY id
> (9, new)
SELECT column_name FROM information_schema.columns WHERE table_name = 'accounts' ORDER BY ordinal_position
> (id)
> (holder)

# ALTER TABLE variants inside a block, then rolled back: everything as it was.
INSERT INTO accounts VALUES (10, 'ten'), (11, 'eleven')
> ok 2
t1: BEGIN
> ok
t1: ALTER TABLE accounts RENAME COLUMN holder TO owner_name
> ok
t1: ALTER TABLE accounts RENAME TO ledger
> ok
t1: ALTER TABLE ledger ALTER COLUMN id TYPE bigint
> ok
t1: ALTER TABLE ledger ADD COLUMN amount int NOT NULL DEFAULT 0
> ok
t1: SELECT * FROM ledger ORDER BY id
> (9, new, 0)
> (10, ten, 0)
> (11, eleven, 0)
t1: SELECT * FROM accounts
> error 42P01 relation "accounts" does not exist
t1: ROLLBACK
> ok
SELECT * FROM ledger
> error 42P01 relation "ledger" does not exist
SELECT * FROM accounts ORDER BY id
> (9, new)
> (10, ten)
> (11, eleven)
