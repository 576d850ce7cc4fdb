# Through SQL and the wire: the steps of tests/scripts/g2_empty_range_inserts.txt, with the same outcomes.
# Predicate write skew through an index range: two bookings check that a room has no booking
# in slots 10..12 (an index range scan that finds nothing) and both insert one. The range
# SIREAD lock on the index catches the inserts: at Serializable one fails.

# --- read uncommitted ---
CREATE TABLE bookings (id int, slot int, PRIMARY KEY (id))
> ok
CREATE INDEX bookings_slot ON bookings (slot)
> ok
t1: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ UNCOMMITTED
> ok
t1: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t2: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t1: INSERT INTO bookings VALUES (1, 10)
> ok 1
t2: INSERT INTO bookings VALUES (2, 11)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok

reset
> ok
# --- read committed ---
CREATE TABLE bookings (id int, slot int, PRIMARY KEY (id))
> ok
CREATE INDEX bookings_slot ON bookings (slot)
> ok
t1: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t2: BEGIN ISOLATION LEVEL READ COMMITTED
> ok
t1: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t2: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t1: INSERT INTO bookings VALUES (1, 10)
> ok 1
t2: INSERT INTO bookings VALUES (2, 11)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok

reset
> ok
# --- repeatable read ---
CREATE TABLE bookings (id int, slot int, PRIMARY KEY (id))
> ok
CREATE INDEX bookings_slot ON bookings (slot)
> ok
t1: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t2: BEGIN ISOLATION LEVEL REPEATABLE READ
> ok
t1: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t2: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t1: INSERT INTO bookings VALUES (1, 10)
> ok 1
t2: INSERT INTO bookings VALUES (2, 11)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> ok

reset
> ok
# --- serializable ---
CREATE TABLE bookings (id int, slot int, PRIMARY KEY (id))
> ok
CREATE INDEX bookings_slot ON bookings (slot)
> ok
t1: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t2: BEGIN ISOLATION LEVEL SERIALIZABLE
> ok
t1: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t2: SELECT * FROM bookings WHERE slot >= 10 AND slot <= 12 ORDER BY id
> no rows
t1: INSERT INTO bookings VALUES (1, 10)
> ok 1
t2: INSERT INTO bookings VALUES (2, 11)
> ok 1
t1: COMMIT
> ok
t2: COMMIT
> error 40001 could not serialize access due to read/write dependencies among transactions
