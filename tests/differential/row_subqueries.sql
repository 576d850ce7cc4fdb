-- Rows against subqueries: `(a, b) [NOT] IN (SELECT x, y ...)`, `op ANY / ALL`, with
-- PostgreSQL's NULL answers (a row equals when every pair does, differs when one pair
-- differs, is NULL otherwise); a single value against an empty subquery; correlated and
-- uncorrelated subqueries, aggregates and set operations inside; subqueries with too few or
-- too many columns (42601) and items that cannot be compared; rows IS DISTINCT FROM rows.
CREATE TABLE pairs (a int, b text);
CREATE TABLE wanted (x int, y text);
CREATE TABLE nothing (x int, y text);
CREATE TABLE big (x bigint, y varchar(10));
INSERT INTO pairs VALUES (1, 'a'), (2, 'b'), (3, NULL), (NULL, 'd'), (NULL, NULL), (1, 'z');
INSERT INTO wanted VALUES (1, 'a'), (3, 'c'), (NULL, 'd');
INSERT INTO big VALUES (1, 'a'), (2, 'b'), (9000000000, 'huge');
SELECT a, b, (a, b) IN (SELECT x, y FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, b, (a, b) NOT IN (SELECT x, y FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, b, (a, b) = ANY (SELECT x, y FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, b, (a, b) <> ALL (SELECT x, y FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT * FROM pairs WHERE (a, b) IN (SELECT x, y FROM wanted) ORDER BY a;
SELECT * FROM pairs WHERE (a, b) NOT IN (SELECT x, y FROM wanted) ORDER BY a, b;
SELECT * FROM pairs WHERE (a, b) NOT IN (SELECT x, y FROM wanted WHERE x IS NOT NULL) ORDER BY a, b;
SELECT * FROM pairs WHERE NOT ((a, b) IN (SELECT x, y FROM wanted)) ORDER BY a, b;
SELECT * FROM pairs WHERE ((a, b) IN (SELECT x, y FROM wanted)) IS NULL ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, b, (a, b) IN (SELECT x, y FROM nothing), (a, b) NOT IN (SELECT x, y FROM nothing) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, a IN (SELECT x FROM nothing), a NOT IN (SELECT x FROM nothing) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT NULL::int IN (SELECT 1 WHERE false), NULL::int NOT IN (SELECT 1 WHERE false), NULL::int IN (SELECT 1), NULL::int NOT IN (SELECT 2);
SELECT (1, 'a') IN (SELECT 1, 'a'), (1, 'a') IN (SELECT 1, 'b'), (1, NULL::text) IN (SELECT 1, 'b'), (2, NULL::text) IN (SELECT 1, 'b');
SELECT (NULL::int, 1) IN (SELECT 2, 1), (NULL::int, 1) IN (SELECT 2, 2), (NULL::int, 1) NOT IN (SELECT 2, 1), (NULL::int, 1) NOT IN (SELECT 2, 2);
SELECT (NULL::int, 1) IN (SELECT 1, 1 WHERE false), (NULL::int, NULL::int) NOT IN (SELECT 1, 1 WHERE false);
SELECT (1, 2, 3) IN (SELECT 1, 2, 3), (1, 2, 3) IN (SELECT 1, 2, 4 UNION ALL SELECT 1, 2, NULL), (1, 2, 3) NOT IN (SELECT 1, 2, 4 UNION ALL SELECT 1, 2, NULL);
SELECT ROW(1, 2) IN (SELECT 1, 2), ROW(1, 2) NOT IN (SELECT 1, 3);
SELECT ROW(1, 2) = ROW(1, 2), ROW(1, NULL) = ROW(1, 2), ROW(1, 3) > (1, 2);
-- subqueries that compute: aggregates, DISTINCT, LIMIT, set operations, VALUES
SELECT (2, 'b') IN (SELECT max(a), max(b) FROM pairs WHERE a < 3);
SELECT * FROM pairs WHERE (a, b) IN (SELECT DISTINCT x, y FROM wanted UNION SELECT 2, 'b') ORDER BY a;
SELECT * FROM pairs WHERE (a, b) IN (SELECT x, y FROM wanted ORDER BY x LIMIT 1);
SELECT * FROM pairs WHERE (a, b) IN (VALUES (1, 'z'), (2, 'b')) ORDER BY a, b;
SELECT * FROM pairs WHERE (a, b) IN (SELECT * FROM wanted) ORDER BY a;
SELECT * FROM pairs WHERE (a, b) IN (SELECT x, y FROM big) ORDER BY a, b;
SELECT * FROM big WHERE (x, y) IN (SELECT a, b FROM pairs) ORDER BY x;
SELECT * FROM big WHERE (x, y) NOT IN (SELECT a, b FROM pairs WHERE a IS NOT NULL AND b IS NOT NULL) ORDER BY x;
SELECT * FROM pairs WHERE (a + 1, upper(b)) IN (SELECT x + 1, upper(y) FROM wanted) ORDER BY a;
-- correlated: the subquery reads the outer row
SELECT a, b, (a, b) IN (SELECT x, y FROM wanted w WHERE w.x = p.a) FROM pairs p ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a, b, (b, a) NOT IN (SELECT y, p.a FROM wanted) FROM pairs p ORDER BY a NULLS LAST, b NULLS LAST;
-- in HAVING and the select list of a grouped query
SELECT a, count(*) FROM pairs GROUP BY a HAVING (a, count(*)) IN (SELECT 1, 2) ORDER BY a;
SELECT a, (a, count(*)) IN (SELECT 1, 2::bigint) FROM pairs GROUP BY a ORDER BY a NULLS LAST;
-- in UPDATE and DELETE
CREATE TABLE copy (a int, b text);
INSERT INTO copy SELECT * FROM pairs;
UPDATE copy SET b = b || '!' WHERE (a, b) IN (SELECT x, y FROM wanted);
SELECT * FROM copy ORDER BY a NULLS LAST, b NULLS LAST;
DELETE FROM copy WHERE (a, b) NOT IN (SELECT x, y FROM wanted WHERE x IS NOT NULL);
SELECT * FROM copy ORDER BY a NULLS LAST, b NULLS LAST;
-- errors: column counts, types
SELECT (1, 2) IN (SELECT 1);
SELECT (1, 2) IN (SELECT 1, 2, 3);
SELECT (1, 2) NOT IN (SELECT x FROM wanted);
SELECT 1 IN (SELECT 1, 2);
SELECT 1 NOT IN (SELECT x, y FROM wanted);
SELECT (1, 2) = ANY (SELECT 1);
SELECT (1, 2) <> ALL (SELECT 1, 2, 3);
SELECT (1) IN (SELECT 1, 2);
SELECT (1, 'a') IN (SELECT 1, 2);
SELECT (1, 'a'::text) IN (SELECT 1, 2);
SELECT (a, b) IN (SELECT y, x FROM wanted) FROM pairs;
SELECT (a, b) IN (SELECT x, nope FROM wanted) FROM pairs;
-- a row against a scalar subquery: the one row it returns (none: NULL; more: 21000)
SELECT (1, 2) = (SELECT 1, 2), (1, 2) = (SELECT 1, 3), (1, 2) <> (SELECT 1, 3), (1, 2) <> (SELECT 1, 2);
SELECT (1, NULL::int) = (SELECT 2, 2), (1, NULL::int) = (SELECT 1, 2), (1, NULL::int) <> (SELECT 2, 2), (1, NULL::int) <> (SELECT 1, 2);
SELECT (1, NULL::int) < (SELECT 2, 0), (1, NULL::int) < (SELECT 1, 0), (NULL::int, 1) > (SELECT 0, 0), (1, 2) <= (SELECT 1, 2), (1, 2) < (SELECT 1, 2), (1, 2) >= (SELECT 1, 2), (1, 3) > (SELECT 1, 2);
SELECT (1, 2, 3) < (SELECT 1, 2, 4), (1, 2, 3) > (SELECT 1, 2, 4), (2, 0, 0) >= (SELECT 1, 9, 9);
SELECT ((1, 2) = (SELECT 1, 2 WHERE false)) IS NULL, ((1, 2) < (SELECT x, 3 FROM nothing)) IS NULL;
SELECT (1, 2) = (SELECT 1, 2 UNION ALL SELECT 1, 2);
SELECT a, b, (a, b) = (SELECT x, y FROM wanted w WHERE w.x = p.a) FROM pairs p ORDER BY a NULLS LAST, b NULLS LAST;
SELECT * FROM pairs WHERE (a, b) = (SELECT max(x), min(y) FROM wanted) ORDER BY a;
SELECT * FROM pairs WHERE (a, b) > (SELECT 1, 'b') ORDER BY a, b;
SELECT * FROM pairs p WHERE (b, a) <> (SELECT y, x FROM wanted WHERE x = 3) ORDER BY a, b;
SELECT a, count(*) FROM pairs GROUP BY a HAVING (a, count(*)) = (SELECT 1, 2) ORDER BY a;
SELECT (1, 2) = (SELECT 1);
SELECT (1, 2) = (SELECT 1, 2, 3);
SELECT (1, 2) + (SELECT 1, 2);
SELECT (SELECT 1, 2) = (1, 2);
SELECT (1, 'a') = (SELECT 1, 2);
-- op ANY / SOME / ALL (SELECT ...) for every comparison, values and rows
SELECT a, a > ANY (SELECT x FROM wanted), a >= ALL (SELECT x FROM wanted WHERE x IS NOT NULL), a <= ALL (SELECT x FROM wanted), a <> ANY (SELECT x FROM wanted), a < SOME (SELECT x FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT 5 > ANY (SELECT x FROM wanted), 5 > ALL (SELECT x FROM wanted), 1 < ANY (SELECT NULL::int), 2 >= ALL (SELECT 1 WHERE false), 2 < ANY (SELECT 1 WHERE false);
SELECT NULL::int > ALL (SELECT 1 WHERE false), NULL::int > ALL (SELECT 1), NULL::int < ANY (SELECT x FROM nothing), NULL::int = ANY (SELECT x FROM nothing);
SELECT b, b < ANY (SELECT y FROM wanted), b >= ALL (SELECT y FROM wanted WHERE y IS NOT NULL) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT a FROM pairs WHERE a > ALL (SELECT x FROM wanted WHERE x < 3) ORDER BY a;
SELECT a FROM pairs p WHERE a >= ANY (SELECT x FROM wanted w WHERE w.y = p.b) ORDER BY a;
SELECT x FROM big WHERE x > ANY (SELECT a FROM pairs) ORDER BY x;
SELECT (1, 2) < ANY (SELECT 1, 3), (1, 2) > ALL (SELECT 0, 9 UNION ALL SELECT 1, 1), (1, 2) >= ALL (SELECT 1, NULL::int), (1, 2) = ALL (SELECT 1, 2);
SELECT a, b, (a, b) < ANY (SELECT x, y FROM wanted), (a, b) >= ALL (SELECT x, y FROM wanted) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT 1 > ANY (SELECT 1, 2);
SELECT (1, 2) > ANY (SELECT 1);
SELECT 'a'::text > ANY (SELECT 1);
-- rows IS [NOT] DISTINCT FROM rows: distinct when a pair is, never NULL
SELECT (1, 2) IS DISTINCT FROM (1, 2), (1, 2) IS DISTINCT FROM (1, 3), (1, NULL::int) IS DISTINCT FROM (1, NULL::int), (1, NULL::int) IS DISTINCT FROM (1, 2);
SELECT (1, 2) IS NOT DISTINCT FROM (1, 2), (NULL::int, 'a') IS NOT DISTINCT FROM (NULL::int, 'a'), (NULL::int, 'a') IS NOT DISTINCT FROM (1, 'a'), ROW(1, 2) IS NOT DISTINCT FROM ROW(1, 2);
SELECT a, b FROM pairs WHERE (a, b) IS NOT DISTINCT FROM (NULL::int, 'd') ORDER BY a, b;
SELECT a, b, (a, b) IS DISTINCT FROM (3, NULL::text) FROM pairs ORDER BY a NULLS LAST, b NULLS LAST;
SELECT (1, 2) IS DISTINCT FROM (1, 2, 3);
