# INSERT's forms against PostgreSQL 15's answers: without a column list, fewer values fill
# the first columns and the rest take their defaults (from VALUES, several rows, or a query);
# DEFAULT VALUES; the errors for too many or too few values, and for VALUES lists of
# different lengths (42601 each).

CREATE TABLE g (id int PRIMARY KEY, v text DEFAULT 'd', w int)
> ok
INSERT INTO g VALUES (1)
> ok 1
INSERT INTO g VALUES (2, 'x')
> ok 1
INSERT INTO g SELECT 3
> ok 1
INSERT INTO g VALUES (4, DEFAULT, 40)
> ok 1
SELECT * FROM g ORDER BY id
> (1, d, null)
> (2, x, null)
> (3, d, null)
> (4, d, 40)
INSERT INTO g VALUES (5), (6, 'y')
> error 42601 VALUES lists must all be the same length
INSERT INTO g VALUES (5, 'a', 1, 2)
> error 42601 INSERT has more expressions than target columns
INSERT INTO g (id, v) VALUES (5)
> error 42601 INSERT has more target columns than expressions
INSERT INTO g (id) SELECT 5, 'a'
> error 42601 INSERT has more expressions than target columns
INSERT INTO g (id, v) SELECT 5
> error 42601 INSERT has more target columns than expressions
CREATE TABLE h (id serial PRIMARY KEY, v text DEFAULT 'h')
> ok
INSERT INTO h DEFAULT VALUES
> ok 1
INSERT INTO h VALUES (DEFAULT)
> ok 1
SELECT * FROM h ORDER BY id
> (1, h)
> (2, h)
