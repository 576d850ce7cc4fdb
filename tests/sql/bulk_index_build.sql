# CREATE INDEX and ADD PRIMARY KEY on a filled table build the index from one sorted run of its
# entries (pgbench -i's path: COPY into keyless tables, then ADD PRIMARY KEY). The build keeps
# DDL's semantics: a duplicate refuses the key (23505, naming the smallest duplicated key), a
# NULL refuses a primary key (23502), ROLLBACK undoes the build, and the index then answers
# lookups, ranges, later inserts and deletes like one built entry by entry.

CREATE TABLE items (id int, grp int, note text)
> ok
INSERT INTO items SELECT g, g % 3, 'n' || g FROM generate_series(1, 30) g
> ok 30
UPDATE items SET note = 'changed' WHERE id <= 5
> ok 5
DELETE FROM items WHERE id = 30
> ok 1

# Rolled back: the key is gone, a duplicate id goes in, and out again.
t1: BEGIN
> ok
t1: ALTER TABLE items ADD PRIMARY KEY (id)
> ok
t1: SELECT note FROM items WHERE id = 3
> (changed)
t1: ROLLBACK
> ok
INSERT INTO items VALUES (1, 0, 'twin')
> ok 1
ALTER TABLE items ADD PRIMARY KEY (id)
> error 23505 could not create unique index "items_pkey"
DELETE FROM items WHERE note = 'twin'
> ok 1

# Duplicates: the smallest is named.
INSERT INTO items VALUES (7, 0, 'twin'), (4, 0, 'twin')
> ok 2
CREATE UNIQUE INDEX items_id_unique ON items (id)
> error 23505 could not create unique index "items_id_unique"
DELETE FROM items WHERE note = 'twin'
> ok 2

# A NULL refuses a primary key; a unique index takes any number of NULLs.
INSERT INTO items VALUES (NULL, 1, 'null id'), (NULL, 2, 'null id')
> ok 2
ALTER TABLE items ADD PRIMARY KEY (id)
> error 23502 column "id" of relation "items" contains null values
CREATE UNIQUE INDEX items_id_unique ON items (id)
> ok
DROP INDEX items_id_unique
> ok
DELETE FROM items WHERE id IS NULL
> ok 2

# A duplicate the transaction itself wrote refuses the key too.
t1: BEGIN
> ok
t1: INSERT INTO items VALUES (9, 0, 'own twin')
> ok 1
t1: ALTER TABLE items ADD PRIMARY KEY (id)
> error 23505 could not create unique index "items_pkey"
t1: ROLLBACK
> ok

# Built: point and range lookups, a non-unique index with many rows per key, later writes.
ALTER TABLE items ADD PRIMARY KEY (id)
> ok
CREATE INDEX items_grp ON items (grp)
> ok
SELECT id, note FROM items WHERE id = 5
> (5, changed)
SELECT id FROM items WHERE id BETWEEN 27 AND 40 ORDER BY id
> (27)
> (28)
> (29)
SELECT count(*) FROM items WHERE grp = 1
> (10)
INSERT INTO items VALUES (30, 0, 'back')
> ok 1
INSERT INTO items VALUES (30, 0, 'again')
> error 23505 duplicate key value violates unique constraint "items_pkey"
DELETE FROM items WHERE grp = 2
> ok 10
SELECT count(*) FROM items WHERE grp = 2
> (0)
SELECT count(*) FROM items WHERE grp = 0
> (10)
