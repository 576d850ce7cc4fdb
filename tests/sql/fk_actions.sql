# Foreign key actions and checks, one session at a time: CASCADE (several levels), SET NULL,
# SET DEFAULT, RESTRICT against NO ACTION, ON UPDATE CASCADE, a self-reference, deferred
# constraints (checked at COMMIT, or at SET CONSTRAINTS ... IMMEDIATE), MATCH SIMPLE with
# NULLs, ALTER TABLE ADD FOREIGN KEY over existing rows, and DROP TABLE of a referenced table.
# Every expected line here is PostgreSQL 15's answer.

CREATE TABLE customers (id int PRIMARY KEY, name text)
> ok
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers (id) ON DELETE CASCADE ON UPDATE CASCADE)
> ok
CREATE TABLE order_lines (id int PRIMARY KEY, order_id int REFERENCES orders (id) ON DELETE CASCADE, item text)
> ok
INSERT INTO customers VALUES (1, 'ann'), (2, 'bob')
> ok 2
INSERT INTO orders VALUES (10, 1), (11, 1), (20, 2)
> ok 3
INSERT INTO order_lines VALUES (100, 10, 'pen'), (101, 10, 'ink'), (110, 11, 'pad'), (200, 20, 'cup')
> ok 4

# ON DELETE CASCADE over two levels.
DELETE FROM customers WHERE id = 1
> ok 1
SELECT * FROM orders ORDER BY id
> (20, 2)
SELECT * FROM order_lines ORDER BY id
> (200, 20, cup)
# ON UPDATE CASCADE: the children follow the key.
UPDATE customers SET id = 3 WHERE id = 2
> ok 1
SELECT * FROM orders ORDER BY id
> (20, 3)
# A child naming no parent.
INSERT INTO orders VALUES (30, 9)
> error 23503 insert or update on table "orders" violates foreign key constraint "orders_customer_id_fkey"
INSERT INTO order_lines VALUES (300, 99, 'x')
> error 23503 insert or update on table "order_lines" violates foreign key constraint "order_lines_order_id_fkey"
# Inside a block, a cascade rolls back with it.
BEGIN
> ok
DELETE FROM customers WHERE id = 3
> ok 1
SELECT count(*) FROM order_lines
> (0)
ROLLBACK
> ok
SELECT count(*) FROM order_lines
> (1)

# ON DELETE SET NULL and ON DELETE SET DEFAULT.
CREATE TABLE teams (id int PRIMARY KEY)
> ok
INSERT INTO teams VALUES (0), (1), (2)
> ok 3
CREATE TABLE players (id int PRIMARY KEY, team_id int REFERENCES teams ON DELETE SET NULL, backup_team int DEFAULT 0 REFERENCES teams ON DELETE SET DEFAULT)
> ok
INSERT INTO players VALUES (1, 1, 2), (2, 2, 1)
> ok 2
DELETE FROM teams WHERE id = 1
> ok 1
SELECT * FROM players ORDER BY id
> (1, null, 2)
> (2, 2, 0)
DELETE FROM teams WHERE id = 2
> ok 1
SELECT * FROM players ORDER BY id
> (1, null, 0)
> (2, null, 0)
# SET DEFAULT to a default no parent has: the delete fails.
DELETE FROM teams WHERE id = 0
> error 23503 insert or update on table "players" violates foreign key constraint "players_backup_team_fkey"

# RESTRICT refuses a delete of a referenced row at once, even in a block that would put it back;
# NO ACTION deferred allows a delete and a reinsert within the transaction.
CREATE TABLE kinds (id int PRIMARY KEY, label text)
> ok
INSERT INTO kinds VALUES (1, 'a'), (2, 'b')
> ok 2
CREATE TABLE strict_refs (id int PRIMARY KEY, kind_id int REFERENCES kinds ON DELETE RESTRICT)
> ok
CREATE TABLE lazy_refs (id int PRIMARY KEY, kind_id int REFERENCES kinds DEFERRABLE INITIALLY DEFERRED)
> ok
INSERT INTO strict_refs VALUES (1, 1)
> ok 1
INSERT INTO lazy_refs VALUES (1, 2)
> ok 1
DELETE FROM kinds WHERE id = 1
> error 23503 update or delete on table "kinds" violates foreign key constraint "strict_refs_kind_id_fkey" on table "strict_refs"
DELETE FROM kinds WHERE id = 2
> error 23503 update or delete on table "kinds" violates foreign key constraint "lazy_refs_kind_id_fkey" on table "lazy_refs"
BEGIN
> ok
DELETE FROM kinds WHERE id = 2
> ok 1
INSERT INTO kinds VALUES (2, 'b again')
> ok 1
COMMIT
> ok
SELECT * FROM kinds ORDER BY id
> (1, a)
> (2, b again)
# Deferred, not put back: the COMMIT fails with 23503 and the transaction is rolled back.
BEGIN
> ok
DELETE FROM kinds WHERE id = 2
> ok 1
SELECT * FROM kinds ORDER BY id
> (1, a)
COMMIT
> error 23503 update or delete on table "kinds" violates foreign key constraint "lazy_refs_kind_id_fkey" on table "lazy_refs"
SELECT * FROM kinds ORDER BY id
> (1, a)
> (2, b again)
# A deferred violation by an insert, reported at COMMIT.
BEGIN
> ok
INSERT INTO lazy_refs VALUES (2, 42)
> ok 1
INSERT INTO lazy_refs VALUES (3, 43)
> ok 1
COMMIT
> error 23503 insert or update on table "lazy_refs" violates foreign key constraint "lazy_refs_kind_id_fkey"
SELECT * FROM lazy_refs ORDER BY id
> (1, 2)
# ... and made good before COMMIT.
BEGIN
> ok
INSERT INTO lazy_refs VALUES (2, 42)
> ok 1
INSERT INTO kinds VALUES (42, 'late')
> ok 1
COMMIT
> ok
SELECT * FROM lazy_refs ORDER BY id
> (1, 2)
> (2, 42)
# SET CONSTRAINTS ALL IMMEDIATE checks what is pending at once.
BEGIN
> ok
INSERT INTO lazy_refs VALUES (3, 43)
> ok 1
SET CONSTRAINTS ALL IMMEDIATE
> error 23503 insert or update on table "lazy_refs" violates foreign key constraint "lazy_refs_kind_id_fkey"
ROLLBACK
> ok
BEGIN
> ok
INSERT INTO lazy_refs VALUES (3, 43)
> ok 1
INSERT INTO kinds VALUES (43, 'in time')
> ok 1
SET CONSTRAINTS ALL IMMEDIATE
> ok
INSERT INTO lazy_refs VALUES (4, 44)
> error 23503 insert or update on table "lazy_refs" violates foreign key constraint "lazy_refs_kind_id_fkey"
ROLLBACK
> ok
# SET CONSTRAINTS ALL DEFERRED defers a DEFERRABLE INITIALLY IMMEDIATE constraint; a
# NOT DEFERRABLE one is checked at once regardless.
CREATE TABLE soon_refs (id int PRIMARY KEY, kind_id int REFERENCES kinds DEFERRABLE)
> ok
BEGIN
> ok
SET CONSTRAINTS ALL DEFERRED
> ok
INSERT INTO soon_refs VALUES (1, 77)
> ok 1
INSERT INTO strict_refs VALUES (2, 77)
> error 23503 insert or update on table "strict_refs" violates foreign key constraint "strict_refs_kind_id_fkey"
ROLLBACK
> ok
BEGIN
> ok
INSERT INTO soon_refs VALUES (1, 77)
> error 23503 insert or update on table "soon_refs" violates foreign key constraint "soon_refs_kind_id_fkey"
ROLLBACK
> ok

# A self-reference: a row may name itself, or a row inserted in the same statement.
CREATE TABLE staff (id int PRIMARY KEY, boss_id int REFERENCES staff (id) ON DELETE CASCADE)
> ok
INSERT INTO staff VALUES (1, 1)
> ok 1
INSERT INTO staff VALUES (3, 2), (2, 1)
> ok 2
INSERT INTO staff VALUES (4, 5)
> error 23503 insert or update on table "staff" violates foreign key constraint "staff_boss_id_fkey"
DELETE FROM staff WHERE id = 2
> ok 1
SELECT * FROM staff ORDER BY id
> (1, 1)

# MATCH SIMPLE (the default) with a composite key: a NULL in any column exempts the row.
CREATE TABLE slots (day int, hour int, PRIMARY KEY (day, hour))
> ok
INSERT INTO slots VALUES (1, 9)
> ok 1
CREATE TABLE bookings (id int PRIMARY KEY, day int, hour int, FOREIGN KEY (day, hour) REFERENCES slots (day, hour))
> ok
INSERT INTO bookings VALUES (1, 1, 9)
> ok 1
INSERT INTO bookings VALUES (2, 1, null)
> ok 1
INSERT INTO bookings VALUES (3, null, 10)
> ok 1
INSERT INTO bookings VALUES (4, 2, 9)
> error 23503 insert or update on table "bookings" violates foreign key constraint "bookings_day_hour_fkey"
DELETE FROM slots
> error 23503 update or delete on table "slots" violates foreign key constraint "bookings_day_hour_fkey" on table "bookings"
SELECT * FROM bookings ORDER BY id
> (1, 1, 9)
> (2, 1, null)
> (3, null, 10)

# ALTER TABLE ADD FOREIGN KEY checks the rows already there.
CREATE TABLE cities (id int PRIMARY KEY)
> ok
INSERT INTO cities VALUES (1)
> ok 1
CREATE TABLE people (id int PRIMARY KEY, city_id int)
> ok
INSERT INTO people VALUES (1, 1), (2, 5), (3, null)
> ok 3
ALTER TABLE people ADD CONSTRAINT people_city FOREIGN KEY (city_id) REFERENCES cities (id)
> error 23503 insert or update on table "people" violates foreign key constraint "people_city"
DELETE FROM people WHERE id = 2
> ok 1
ALTER TABLE people ADD CONSTRAINT people_city FOREIGN KEY (city_id) REFERENCES cities (id)
> ok
INSERT INTO people VALUES (4, 6)
> error 23503 insert or update on table "people" violates foreign key constraint "people_city"
ALTER TABLE people DROP CONSTRAINT people_city
> ok
INSERT INTO people VALUES (4, 6)
> ok 1

# DROP TABLE of a referenced table: refused (2BP01), or with CASCADE the constraint goes (and
# the referencing table stays, with its rows).
DELETE FROM people WHERE id = 4
> ok 1
ALTER TABLE people ADD CONSTRAINT people_city FOREIGN KEY (city_id) REFERENCES cities (id)
> ok
DROP TABLE cities
> error 2BP01 cannot drop table cities because other objects depend on it
BEGIN
> ok
DROP TABLE cities CASCADE
> ok
INSERT INTO people VALUES (2, 99)
> ok 1
ROLLBACK
> ok
INSERT INTO people VALUES (2, 99)
> error 23503 insert or update on table "people" violates foreign key constraint "people_city"
DROP TABLE cities CASCADE
> ok
INSERT INTO people VALUES (2, 99)
> ok 1
SELECT * FROM people ORDER BY id
> (1, 1)
> (2, 99)
> (3, null)

# Clean up: children first.
DROP TABLE people
> ok
DROP TABLE bookings
> ok
DROP TABLE slots
> ok
DROP TABLE staff
> ok
DROP TABLE soon_refs
> ok
DROP TABLE lazy_refs
> ok
DROP TABLE strict_refs
> ok
DROP TABLE kinds
> ok
DROP TABLE players
> ok
DROP TABLE teams
> ok
DROP TABLE order_lines
> ok
DROP TABLE orders
> ok
DROP TABLE customers
> ok

# A deferred check follows the row that queued it: a child row deleted, or moved to NULL,
# before COMMIT needs no parent; one re-keyed to another missing parent fails on that key.
CREATE TABLE p2 (id int PRIMARY KEY)
> ok
CREATE TABLE c2 (id int PRIMARY KEY, pid int REFERENCES p2 DEFERRABLE INITIALLY DEFERRED)
> ok
BEGIN
> ok
INSERT INTO c2 VALUES (1, 99)
> ok 1
DELETE FROM c2 WHERE id = 1
> ok 1
COMMIT
> ok
BEGIN
> ok
INSERT INTO c2 VALUES (2, 99)
> ok 1
UPDATE c2 SET pid = NULL WHERE id = 2
> ok 1
COMMIT
> ok
BEGIN
> ok
INSERT INTO p2 VALUES (5)
> ok 1
INSERT INTO c2 VALUES (4, 5)
> ok 1
UPDATE c2 SET pid = 6 WHERE id = 4
> ok 1
COMMIT
> error 23503 insert or update on table "c2" violates foreign key constraint "c2_pid_fkey"
BEGIN
> ok
INSERT INTO c2 VALUES (5, 98)
> ok 1
UPDATE c2 SET id = 6 WHERE id = 5
> ok 1
COMMIT
> error 23503 insert or update on table "c2" violates foreign key constraint "c2_pid_fkey"
SELECT * FROM c2
> (2, null)
