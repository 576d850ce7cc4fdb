-- JOIN ... USING and NATURAL JOIN: `*` lists each USING column once, first (the left's for
-- INNER and LEFT, the right's for RIGHT, COALESCE of both for FULL, in the common type);
-- a bare USING name is not ambiguous; `t.*` and `t.col` still reach each side's own column;
-- chains of USING joins, NATURAL over the common names (none: a cross join), NULL keys,
-- empty sides, int against bigint, and PostgreSQL's errors.
CREATE TABLE a (x int, y text, z int);
CREATE TABLE b (x bigint, w text, y text);
CREATE TABLE c (x int, y text, v int);
CREATE TABLE e (x int, y text);
CREATE TABLE t_text (x text);
CREATE TABLE k (q int, r int);
INSERT INTO a VALUES (1, 'a', 10), (2, 'b', 20), (NULL, 'n', 30), (4, NULL, 40);
INSERT INTO b VALUES (1, 'p', 'a'), (3, 'q', 'c'), (NULL, 'r', 'n'), (4, 's', NULL);
INSERT INTO c VALUES (1, 'a', 100), (3, 'c', 300), (4, NULL, 400);
INSERT INTO k VALUES (1, 2), (3, 4);
SELECT * FROM a JOIN b USING (x) ORDER BY x;
SELECT * FROM a INNER JOIN b USING (x) ORDER BY 1;
SELECT * FROM a LEFT JOIN b USING (x) ORDER BY x NULLS LAST, z;
SELECT * FROM a RIGHT JOIN b USING (x) ORDER BY x NULLS LAST, w;
SELECT * FROM a FULL JOIN b USING (x) ORDER BY x NULLS LAST, z NULLS LAST, w;
SELECT * FROM a LEFT OUTER JOIN b USING (x, y) ORDER BY z;
SELECT * FROM a FULL OUTER JOIN b USING (y, x) ORDER BY 1 NULLS LAST, 2 NULLS LAST, z NULLS LAST;
SELECT x FROM a JOIN b USING (x) ORDER BY x;
SELECT x, a.x, b.x FROM a FULL JOIN b USING (x) ORDER BY 1 NULLS LAST, 2, 3;
SELECT pg_typeof(x), x FROM a RIGHT JOIN b USING (x) ORDER BY 2 NULLS LAST;
SELECT pg_typeof(x), x FROM a LEFT JOIN b USING (x) ORDER BY 2 NULLS LAST;
SELECT pg_typeof(x), x FROM a FULL JOIN b USING (x) ORDER BY 2 NULLS LAST;
SELECT a.* FROM a JOIN b USING (x) ORDER BY z;
SELECT b.*, a.x FROM a JOIN b USING (x) ORDER BY w;
SELECT a.*, b.* FROM a FULL JOIN b USING (x) ORDER BY z NULLS LAST, w;
SELECT *, x + 1 FROM a JOIN b USING (x) ORDER BY x;
SELECT a.y, b.y FROM a JOIN b USING (x) ORDER BY a.y;
SELECT y FROM a JOIN b USING (x);
SELECT * FROM a JOIN b USING (x) WHERE x > 1 ORDER BY x;
SELECT * FROM a FULL JOIN b USING (x) WHERE x IS NULL ORDER BY z NULLS LAST, w;
SELECT x, count(*) FROM a FULL JOIN b USING (x) GROUP BY x ORDER BY x NULLS FIRST;
SELECT count(*), sum(x) FROM a FULL JOIN b USING (x);
SELECT x FROM a JOIN b USING (x) ORDER BY x DESC;
SELECT DISTINCT x FROM a FULL JOIN b USING (x) ORDER BY x;
-- chains of three tables
SELECT * FROM a JOIN b USING (x) JOIN c USING (x) ORDER BY x;
SELECT x FROM a JOIN b USING (x) JOIN c USING (x);
SELECT * FROM a FULL JOIN b USING (x) FULL JOIN c USING (x) ORDER BY x NULLS LAST, z NULLS LAST, w NULLS LAST;
SELECT * FROM a LEFT JOIN b USING (x) RIGHT JOIN c USING (x) ORDER BY x;
SELECT * FROM a RIGHT JOIN b USING (x) LEFT JOIN c USING (x) ORDER BY x NULLS LAST, w;
SELECT * FROM a JOIN e USING (x, y) JOIN c USING (y) ORDER BY x;
SELECT * FROM a JOIN k ON k.q = a.x JOIN c USING (x) ORDER BY x;
SELECT * FROM k JOIN a ON k.q = a.x JOIN c USING (x) ORDER BY x;
SELECT * FROM a JOIN (c JOIN e USING (y)) USING (z);
SELECT * FROM k JOIN (a JOIN c USING (x)) ON k.q = x ORDER BY q;
SELECT * FROM (a JOIN c USING (x)) JOIN k ON k.q = x ORDER BY q;
SELECT * FROM (SELECT 1 AS i, 'l' AS s) l JOIN ((SELECT 1 AS j, 'm' AS s) m JOIN (SELECT 1 AS j, 2 AS i) n USING (j)) USING (i);
SELECT * FROM (SELECT 1 AS i, 'l' AS s) l FULL JOIN ((SELECT 1 AS j, 'm' AS t) m FULL JOIN (SELECT 2 AS j, 1 AS i) n USING (j)) USING (i) ORDER BY j;
SELECT * FROM a JOIN b USING (x), k ORDER BY x, q;
SELECT * FROM k, a JOIN b USING (x) ORDER BY q, x;
SELECT * FROM k CROSS JOIN a JOIN b USING (x) ORDER BY q, x;
-- the merged column in subqueries and derived tables
SELECT * FROM (SELECT * FROM a JOIN b USING (x)) s ORDER BY x;
SELECT count(*) FROM (SELECT * FROM a FULL JOIN b USING (x)) s;
SELECT (SELECT count(*) FROM a JOIN b USING (x) WHERE x = k.q) FROM k ORDER BY q;
SELECT x FROM a JOIN b USING (x) WHERE EXISTS (SELECT 1 FROM c WHERE c.x = x) ORDER BY x;
SELECT * FROM k WHERE q IN (SELECT x FROM a JOIN b USING (x)) ORDER BY q;
SELECT * FROM a JOIN b USING (x) JOIN LATERAL (SELECT x * 10 AS ten) l ON true ORDER BY x;
-- empty sides
CREATE TABLE a_empty (x int, y text);
SELECT * FROM a_empty JOIN b USING (x);
SELECT * FROM a_empty LEFT JOIN b USING (x);
SELECT * FROM a_empty FULL JOIN b USING (x) ORDER BY x NULLS LAST, w;
SELECT * FROM b RIGHT JOIN a_empty USING (x);
SELECT * FROM a NATURAL FULL JOIN a_empty ORDER BY z;
SELECT * FROM a_empty NATURAL JOIN a_empty a2;
-- NATURAL JOIN
SELECT * FROM a NATURAL JOIN c ORDER BY x;
SELECT * FROM a NATURAL INNER JOIN c ORDER BY x;
SELECT * FROM a NATURAL LEFT JOIN c ORDER BY z;
SELECT * FROM a NATURAL LEFT OUTER JOIN c ORDER BY z;
SELECT * FROM a NATURAL RIGHT JOIN c ORDER BY v;
SELECT * FROM a NATURAL RIGHT OUTER JOIN c ORDER BY v;
SELECT * FROM a NATURAL FULL JOIN b ORDER BY x NULLS LAST, y NULLS LAST, z NULLS LAST;
SELECT * FROM a NATURAL FULL OUTER JOIN c ORDER BY x NULLS LAST, y NULLS LAST;
SELECT * FROM a NATURAL JOIN a a2 ORDER BY z;
SELECT * FROM a NATURAL JOIN k ORDER BY z, q;
SELECT * FROM a NATURAL LEFT JOIN k ORDER BY z, q;
SELECT * FROM k NATURAL FULL JOIN a_empty ORDER BY q;
SELECT * FROM a NATURAL JOIN (SELECT 1 AS q) s ORDER BY z;
SELECT * FROM a NATURAL JOIN c NATURAL JOIN e ORDER BY x;
SELECT * FROM a NATURAL JOIN b NATURAL JOIN c ORDER BY x;
SELECT x, y FROM a NATURAL JOIN c;
SELECT a.x, c.x, a.y, c.y FROM a NATURAL JOIN c;
SELECT c.* FROM a NATURAL JOIN c;
SELECT * FROM (VALUES (1, 'one'), (2, 'two')) l(n, s) NATURAL JOIN (VALUES (2, 'two'), (2, 'deux')) r(n, s);
SELECT * FROM (VALUES (1, 'one'), (2, 'two')) l(n, s) NATURAL FULL JOIN (VALUES (2, 'deux'), (3, 'trois')) r(n, t) ORDER BY n;
-- duplicate names: each side must offer a USING column once
SELECT * FROM a JOIN b USING (x) JOIN c USING (y);
SELECT * FROM a JOIN (b JOIN c USING (y)) USING (x);
SELECT * FROM (a CROSS JOIN c) JOIN b USING (x);
SELECT * FROM a JOIN b ON true JOIN c USING (x);
SELECT * FROM a JOIN b USING (y) JOIN c USING (x);
SELECT * FROM a, c NATURAL JOIN b;
SELECT * FROM (a CROSS JOIN c) NATURAL JOIN b;
SELECT * FROM a JOIN b USING (x, x);
SELECT x FROM a, b;
SELECT x FROM a JOIN b ON a.x = b.x;
-- errors
SELECT * FROM a JOIN b USING (w);
SELECT * FROM a JOIN b USING (z);
SELECT * FROM a JOIN b USING (nope);
SELECT * FROM a JOIN t_text USING (x);
SELECT * FROM a JOIN b USING (x) WHERE a.nope = 1;
SELECT q.x FROM a JOIN b USING (x);
-- int against bigint, numeric, text against varchar
CREATE TABLE n (x numeric, y varchar(5));
INSERT INTO n VALUES (1.0, 'a'), (2.5, 'b'), (NULL, NULL);
SELECT *, pg_typeof(x), pg_typeof(y) FROM a JOIN n USING (x, y) ORDER BY x;
SELECT * FROM a FULL JOIN n USING (x) ORDER BY x NULLS LAST, z;
SELECT * FROM b JOIN n USING (y) ORDER BY y;
SELECT *, pg_typeof(x) FROM n JOIN a USING (x) ORDER BY x;
SELECT *, pg_typeof(x) FROM a LEFT JOIN n USING (x) ORDER BY x NULLS LAST, z;
SELECT *, pg_typeof(x) FROM a RIGHT JOIN n USING (x) ORDER BY x NULLS LAST;
SELECT *, pg_typeof(x) FROM a FULL JOIN n USING (x) FULL JOIN c USING (x) ORDER BY x NULLS LAST, z;
SELECT *, pg_typeof(x) FROM a JOIN b USING (x) JOIN n USING (x) ORDER BY x;
-- grouped by the merged column: the left's key for INNER and LEFT (its other columns
-- follow from it), not for FULL or RIGHT
CREATE TABLE pk (x int PRIMARY KEY, label text);
INSERT INTO pk VALUES (1, 'one'), (3, 'three'), (4, 'four'), (7, 'seven');
SELECT x, pk.label, count(*) FROM pk JOIN c USING (x) GROUP BY x ORDER BY 1;
SELECT x, pk.label, count(c.v) FROM pk LEFT JOIN c USING (x) GROUP BY x ORDER BY 1;
SELECT x, count(*) FROM pk JOIN c USING (x) GROUP BY pk.x ORDER BY 1;
SELECT x, pk.label FROM pk FULL JOIN c USING (x) GROUP BY x;
SELECT x, pk.label FROM pk RIGHT JOIN c USING (x) GROUP BY x;
-- varchar against varchar merges as varchar; pg_typeof shows no length or precision
CREATE TABLE vv (x varchar(5), n int);
CREATE TABLE ww (x varchar(10), m int);
CREATE TABLE v2 (x varchar(5), k int);
INSERT INTO vv VALUES ('a', 1), ('b ', 2);
INSERT INTO ww VALUES ('a', 3), ('c', 4);
INSERT INTO v2 VALUES ('a', 5);
SELECT pg_typeof(x), * FROM vv FULL JOIN ww USING (x) ORDER BY n, m;
SELECT pg_typeof(x), * FROM vv JOIN ww USING (x);
SELECT pg_typeof(x), * FROM vv JOIN v2 USING (x);
SELECT pg_typeof(x), * FROM vv NATURAL FULL JOIN ww NATURAL FULL JOIN v2 ORDER BY 2;
SELECT pg_typeof('a'::varchar(3)), pg_typeof('a'::char(2)), pg_typeof(1.5::numeric(4, 1)), pg_typeof('10:00'::time(2)), pg_typeof(ARRAY['a'::varchar(3)]), pg_typeof(ARRAY[1.5::numeric(4, 1)]), pg_typeof(ARRAY[1]);
-- character(n) against text matches without the padding, as = does
CREATE TABLE tt (x text, n int);
CREATE TABLE cc (x char(3), k int);
INSERT INTO tt VALUES ('a', 1), ('b ', 2), (NULL, 3);
INSERT INTO cc VALUES ('a', 3), ('b', 4), (NULL, 5);
SELECT x || '|', k, n FROM cc JOIN tt USING (x) ORDER BY k;
SELECT x || '|', k, n FROM tt LEFT JOIN cc USING (x) ORDER BY n;
SELECT count(*) FROM cc NATURAL JOIN tt;
SELECT count(*) FROM cc FULL JOIN tt USING (x);
SELECT x || '|', cc.k FROM cc JOIN cc c2 USING (x) ORDER BY 1;
-- USING in UPDATE ... FROM and DELETE ... USING
CREATE TABLE target (x int, note text);
INSERT INTO target VALUES (1, 'one'), (3, 'three'), (5, 'five');
UPDATE target SET note = note || '!' FROM b JOIN c USING (x) WHERE target.x = x;
SELECT * FROM target ORDER BY x;
UPDATE target SET note = w FROM b JOIN c USING (x) WHERE target.x = x RETURNING *;
DELETE FROM target USING b JOIN c USING (x) WHERE target.x = x AND x > 2;
SELECT * FROM target ORDER BY x;
-- a join with an alias is one FROM item: its columns as `*` lists them, the tables inside
-- out of reach
SELECT j.x, j.z, j.v FROM (a JOIN c USING (x)) j ORDER BY 1;
SELECT j.* FROM (a JOIN c USING (x)) j ORDER BY 1;
SELECT * FROM (a FULL JOIN c USING (x)) AS j ORDER BY 1 NULLS LAST, 3;
SELECT * FROM (a JOIN c USING (x)) AS j(p, q, r) ORDER BY 1;
SELECT j.q FROM (a JOIN c USING (x)) AS j(p, q) ORDER BY 1;
SELECT * FROM (a JOIN c USING (x)) AS j(p, q, r, s, t, u);
SELECT * FROM (a JOIN c USING (x)) j JOIN b USING (x) ORDER BY 1;
SELECT * FROM ((a JOIN c USING (x)) j JOIN b USING (x)) k ORDER BY 1;
SELECT * FROM (a CROSS JOIN c) j ORDER BY 1, 4, 5;
SELECT j.x FROM (a NATURAL JOIN c) j ORDER BY 1;
SELECT * FROM (a FULL JOIN c USING (x)) j WHERE j.x > 1 ORDER BY 1;
SELECT (SELECT count(*) FROM (a JOIN c USING (x)) j WHERE j.x = k.x) FROM a k ORDER BY 1;
SELECT a.x FROM (a JOIN b USING (x)) j;
SELECT j.y FROM (a JOIN c USING (x)) j;
SELECT j.x FROM (a JOIN c ON a.x = c.x) j;
-- views over USING joins keep PostgreSQL's columns
CREATE VIEW ab AS SELECT * FROM a JOIN b USING (x);
SELECT * FROM ab ORDER BY x;
CREATE VIEW anc AS SELECT * FROM a NATURAL JOIN c;
SELECT * FROM anc ORDER BY x;
