# SQL cursors (DECLARE / FETCH / MOVE / CLOSE), as PostgreSQL 15 answers them. A cursor's rows
# are those of its snapshot at DECLARE; a cursor without HOLD ends with its transaction block;
# WITH HOLD survives the commit (Django's .iterator() and psycopg's server-side cursors).

CREATE TABLE items (id int PRIMARY KEY, name text)
> ok
INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')
> ok 5

# Outside a block, only a HOLD cursor may be declared.
t1: DECLARE c CURSOR FOR SELECT id FROM items ORDER BY id
> error 25P01 DECLARE CURSOR can only be used in transaction blocks

t1: BEGIN
> ok
t1: DECLARE c SCROLL CURSOR FOR SELECT id, name FROM items ORDER BY id
> ok
t1: FETCH 2 FROM c
> (1, a)
> (2, b)
t1: FETCH NEXT FROM c
> (3, c)
t1: FETCH PRIOR FROM c
> (2, b)
t1: MOVE FORWARD ALL IN c
> ok 3
t1: FETCH NEXT FROM c
> no rows
t1: FETCH BACKWARD 2 FROM c
> (5, e)
> (4, d)
t1: FETCH ABSOLUTE -1 FROM c
> (5, e)
t1: FETCH RELATIVE -2 FROM c
> (3, c)
t1: FETCH FIRST FROM c
> (1, a)
t1: FETCH FORWARD 0 FROM c
> (1, a)
t1: MOVE LAST IN c
> ok 1
t1: FETCH ALL FROM c
> no rows
# The cursor shows its snapshot: a row another session commits now is not in it.
t2: INSERT INTO items VALUES (6, 'f')
> ok 1
t1: FETCH ABSOLUTE 6 FROM c
> no rows
t1: CLOSE c
> ok
t1: FETCH NEXT FROM c
> error 34000 cursor "c" does not exist
t1: ROLLBACK
> ok

# A name taken by an open cursor cannot be declared again.
t1: BEGIN
> ok
t1: DECLARE d CURSOR FOR SELECT 1
> ok
t1: DECLARE d CURSOR FOR SELECT 2
> error 42P03 cursor "d" already exists
t1: ROLLBACK
> ok

# Django's server-side cursor: NO SCROLL, WITH HOLD, fetched in chunks after the commit.
t1: BEGIN
> ok
t1: DECLARE "_django_curs_1" NO SCROLL CURSOR WITH HOLD FOR SELECT id FROM items ORDER BY id
> ok
t1: DECLARE plain CURSOR FOR SELECT id FROM items
> ok
t1: COMMIT
> ok
t1: FETCH FORWARD 2 FROM plain
> error 34000 cursor "plain" does not exist
t1: FETCH FORWARD 4 FROM "_django_curs_1"
> (1)
> (2)
> (3)
> (4)
t1: FETCH BACKWARD 1 FROM "_django_curs_1"
> error 55000 cursor can only scan forward
t1: FETCH FORWARD 4 FROM "_django_curs_1"
> error 55000 portal "_django_curs_1" cannot be run
t1: FETCH FORWARD 4 FROM "_django_curs_1"
> error 55000 portal "_django_curs_1" cannot be run
t1: CLOSE "_django_curs_1"
> ok
t1: CLOSE "_django_curs_1"
> error 34000 cursor "_django_curs_1" does not exist

# A HOLD cursor declared in a transaction that rolls back is gone with it.
t1: BEGIN
> ok
t1: DECLARE h CURSOR WITH HOLD FOR SELECT id FROM items
> ok
t1: ROLLBACK
> ok
t1: FETCH NEXT FROM h
> error 34000 cursor "h" does not exist

# Outside a block a HOLD cursor runs its query at once; CLOSE ALL closes every cursor.
t1: DECLARE h1 CURSOR WITH HOLD FOR SELECT name FROM items WHERE id > 4 ORDER BY id
> ok
t1: DECLARE h2 CURSOR WITH HOLD FOR SELECT count(*) FROM items
> ok
t1: FETCH ALL FROM h1
> (e)
> (f)
t1: CLOSE ALL
> ok
t1: FETCH ALL FROM h2
> error 34000 cursor "h2" does not exist
t1: DECLARE bad CURSOR WITH HOLD FOR INSERT INTO items VALUES (9, 'x')
> error 42601 syntax error at or near "INSERT"

# ROLLBACK TO SAVEPOINT closes the cursors declared after the savepoint, keeps the others.
t1: BEGIN
> ok
t1: DECLARE c1 CURSOR FOR SELECT 1
> ok
t1: SAVEPOINT s
> ok
t1: DECLARE c2 CURSOR FOR SELECT 2
> ok
t1: ROLLBACK TO s
> ok
t1: FETCH NEXT FROM c1
> (1)
t1: FETCH NEXT FROM c2
> error 34000 cursor "c2" does not exist
t1: ROLLBACK
> ok

# pg_cursors lists the session's own open cursors.
t1: BEGIN
> ok
t1: DECLARE v1 SCROLL CURSOR WITH HOLD FOR SELECT 1
> ok
t1: DECLARE v2 CURSOR FOR SELECT 2
> ok
t1: SELECT name, statement, is_holdable, is_binary, is_scrollable FROM pg_cursors ORDER BY name
> (v1, DECLARE v1 SCROLL CURSOR WITH HOLD FOR SELECT 1, t, f, t)
> (v2, DECLARE v2 CURSOR FOR SELECT 2, f, f, f)
t2: SELECT count(*) FROM pg_cursors
> (0)
t1: COMMIT
> ok
t1: SELECT name, is_holdable FROM pg_cursors
> (v1, t)
t1: CLOSE ALL
> ok
t1: SELECT count(*) FROM pg_cursors
> (0)
