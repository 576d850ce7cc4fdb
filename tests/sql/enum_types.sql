# Enum types are transactional DDL: a type made, changed or dropped in a transaction is seen
# by others only once it commits, and not at all after a ROLLBACK (or ROLLBACK TO SAVEPOINT).
# ALTER TYPE changes the definition of every table with a column of the type, so it locks
# those tables as ALTER TABLE does: writers and readers of them wait for its transaction.
# (PostgreSQL locks only the type here, and refuses to use a value added in the same
# transaction; isola's added value is usable at once, in that transaction only.)

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')
> ok
CREATE TABLE person (id int PRIMARY KEY, m mood)
> ok
INSERT INTO person VALUES (1, 'happy'), (2, 'sad')
> ok 2

# A new type is invisible to others until its transaction commits; a second CREATE of the
# same name waits for the first and then fails.
t1: BEGIN
> ok
t1: CREATE TYPE size AS ENUM ('s', 'm', 'l')
> ok
t1: SELECT enum_range(NULL::size)
> ({s,m,l})
t2: SELECT 'm'::size
> error 42704 type "size" does not exist
t2: BEGIN
> ok
t2: SELECT 1
> (1)
t2: CREATE TYPE size AS ENUM ('x')
> blocked
t1: COMMIT
> ok
> t2 resumed: error 42710 type "size" already exists
t2: ROLLBACK
> ok
t2: SELECT 'm'::size < 'l'::size
> (t)

# ALTER TYPE ... ADD VALUE: the new label is used at once in its transaction; a writer of a
# table with the type waits, then sees the new label; ROLLBACK takes the label back.
t1: BEGIN
> ok
t1: ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'
> ok
t1: INSERT INTO person VALUES (3, 'meh')
> ok 1
t1: SELECT id, m FROM person ORDER BY m
> (2, sad)
> (3, meh)
> (1, happy)
t2: INSERT INTO person VALUES (4, 'ok')
> blocked
t1: ROLLBACK
> ok
> t2 resumed: ok 1
t2: SELECT 'meh'::mood
> error 22P02 invalid input value for enum mood: "meh"
t2: SELECT enum_range(NULL::mood)
> ({sad,ok,happy})

t1: BEGIN
> ok
t1: ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok'
> ok
t2: SELECT count(*) FROM person WHERE m < 'ok'
> blocked
t1: COMMIT
> ok
> t2 resumed: (1)
t2: INSERT INTO person VALUES (5, 'meh')
> ok 1
t2: SELECT id, m FROM person ORDER BY m, id
> (2, sad)
> (5, meh)
> (4, ok)
> (1, happy)

# RENAME VALUE changes no row: the rows show the new label, and ROLLBACK TO SAVEPOINT takes
# the rename back.
t1: BEGIN
> ok
t1: SAVEPOINT s
> ok
t1: ALTER TYPE mood RENAME VALUE 'happy' TO 'glad'
> ok
t1: SELECT m FROM person WHERE id = 1
> (glad)
t1: ROLLBACK TO SAVEPOINT s
> ok
t1: SELECT m FROM person WHERE id = 1
> (happy)
t1: COMMIT
> ok

# DROP TYPE: refused while a column has the type; with CASCADE the column goes too, and a
# ROLLBACK brings type, column and values back.
DROP TYPE mood
> error 2BP01 cannot drop type mood because other objects depend on it
t1: BEGIN
> ok
t1: DROP TYPE mood CASCADE
> ok
t1: SELECT * FROM person ORDER BY id
> (1)
> (2)
> (4)
> (5)
t1: ROLLBACK
> ok
SELECT id, m FROM person ORDER BY m DESC, id
> (1, happy)
> (4, ok)
> (5, meh)
> (2, sad)
