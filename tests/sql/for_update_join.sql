# FOR UPDATE over a join of tables (Django's `select_for_update(of=("self",))` with a filter
# across a foreign key): the joined rows lock the row of each table named (every table
# without OF); at Read Committed a row changed meanwhile is re-read and the join conditions
# and WHERE re-checked, as PostgreSQL does. The nullable side of an outer join cannot be
# locked (0A000). Outcomes as PostgreSQL 15's (checked with psycopg against it).

CREATE TABLE cat (id int PRIMARY KEY, name text)
> ok
CREATE TABLE item (id int PRIMARY KEY, cat int REFERENCES cat (id), qty int)
> ok
INSERT INTO cat VALUES (1, 'tools'), (2, 'toys')
> ok 2
INSERT INTO item VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30)
> ok 3

# OF item locks the items only: another session may still lock the category
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT i.id, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE c.name = 'tools' ORDER BY i.id FOR UPDATE OF i
> (1, tools)
> (2, tools)
t2: SELECT id FROM cat WHERE id = 1 FOR UPDATE NOWAIT
> (1)
t2: SELECT id FROM item WHERE id = 1 FOR UPDATE NOWAIT
> error 55P03 could not obtain lock on row in relation "item"
t2: SELECT id FROM item WHERE id = 3 FOR UPDATE NOWAIT
> (3)
t1: COMMIT
> ok

# without OF every table's row is locked; a waiter re-checks the join after the commit: item 2
# moved to another category, so it no longer joins 'tools'
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: UPDATE item SET cat = 2 WHERE id = 2
> ok 1
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: SELECT i.id, i.cat, c.name FROM item i JOIN cat c ON c.id = i.cat WHERE c.name = 'tools' ORDER BY i.id FOR UPDATE
> blocked
t1: COMMIT
> ok
> t2 resumed: (1, 1, tools)
t2: SELECT id FROM cat WHERE id = 1 FOR UPDATE SKIP LOCKED
> (1)
t3: SELECT id FROM cat WHERE id = 1 FOR UPDATE SKIP LOCKED
> no rows
t2: COMMIT
> ok

# SKIP LOCKED and LIMIT count the joined rows locked
t1: BEGIN
> ok
t1: SELECT id FROM item WHERE id = 1 FOR UPDATE
> (1)
t2: BEGIN
> ok
t2: SELECT i.id FROM item i JOIN cat c ON c.id = i.cat ORDER BY i.id LIMIT 1 FOR UPDATE OF i SKIP LOCKED
> (2)
t2: ROLLBACK
> ok
t1: ROLLBACK
> ok

# refused: the nullable side of an outer join, and a name not in FROM
t1: SELECT c.id FROM cat c LEFT JOIN item i ON i.cat = c.id FOR UPDATE OF i
> error 0A000 FOR UPDATE cannot be applied to the nullable side of an outer join
t1: SELECT c.id FROM cat c LEFT JOIN item i ON i.cat = c.id ORDER BY c.id, i.id FOR UPDATE OF c
> (1)
> (2)
> (2)
t1: SELECT c.id FROM cat c JOIN item i ON i.cat = c.id FOR UPDATE OF x
> error 42P01 relation "x" in FOR UPDATE clause not found in FROM clause
