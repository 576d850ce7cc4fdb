-- character(n) compared as PostgreSQL compares it: against character(m) or varchar as
-- character (trailing spaces of neither side count), against text as text (the padding
-- dropped, the text's trailing spaces counting); in WHERE, ON and USING; in an IN list in
-- the list's common type (a varchar subject's trailing spaces count).
CREATE TABLE ch (c3 char(3), c5 char(5), v varchar(5), t text);
INSERT INTO ch VALUES ('b', 'b', 'b ', 'b '), ('a', 'a  ', 'a', 'a'), (NULL, 'x', 'x', NULL), ('zz', 'z', ' zz', 'zz ');
SELECT 'b '::varchar = 'b'::char(3), 'b'::char(3) = 'b '::varchar, 'b '::varchar < 'b'::char(3), 'a'::varchar(3) < 'a '::char(3), 'b '::varchar <> 'b'::char(3), 'b  x'::varchar > 'b'::char(3), ' b'::varchar = 'b'::char(3);
SELECT 'b '::text = 'b'::char(3), 'b '::varchar = 'b'::varchar, 'b '::char(3) = 'b'::char(5), 'b'::char(3) < 'b '::char(5), 'a'::char(2) < 'b'::char(7);
SELECT c3 = c5, c3 = v, c5 = v, c3 = t, v = t, c3 < v, c5 > v, c3 <> v, c5 >= c3 FROM ch ORDER BY t NULLS LAST, v;
SELECT count(*) FROM ch a JOIN ch b ON a.c3 = b.v;
SELECT count(*) FROM ch a JOIN ch b ON a.c5 = b.c3;
SELECT count(*) FROM ch a JOIN ch b ON a.c3 = b.t;
SELECT count(*) FROM ch a JOIN ch b USING (c3);
SELECT a.v, b.c5 FROM ch a JOIN (SELECT c5 AS v, c5 FROM ch) b USING (v) ORDER BY 1, 2;
SELECT * FROM ch WHERE c3 = 'b ' ORDER BY v;
SELECT * FROM ch WHERE v = 'b'::char(3) ORDER BY v;
SELECT * FROM ch WHERE c5 = c3 ORDER BY v;
SELECT * FROM ch WHERE t = c3 ORDER BY v;
SELECT c3 IN ('b'::varchar, 'a'::varchar), c3 NOT IN ('b '::varchar), v IN ('b'::char(3), 'zz'::char(2)), c3 IN ('b  '::text), c3 IN ('b'::text, 'a') FROM ch ORDER BY v;
SELECT 'b '::varchar IN ('b'::char(3)), 'b'::char(3) IN ('b '::varchar, 'c'), 'b'::char(3) IN ('b'::char(5)), 'b '::text IN ('b'::char(3));
SELECT v, v IN (c3, c5), v IN ('b'::char(3)), v IN ('b'::char(3), 'a'::char(1)) FROM ch ORDER BY v;
-- against a subquery's column: IN, ANY / ALL, rows, a row against a scalar subquery
SELECT * FROM ch WHERE c5 IN (SELECT c3 FROM ch) ORDER BY v;
SELECT v, v IN (SELECT c3 FROM ch), c3 IN (SELECT v FROM ch WHERE v IS NOT NULL), t IN (SELECT c3 FROM ch WHERE c3 IS NOT NULL) FROM ch ORDER BY v;
SELECT v, c3 = ANY (SELECT v FROM ch), c5 >= ALL (SELECT c3 FROM ch WHERE c3 IS NOT NULL), v <> ALL (SELECT c5 FROM ch) FROM ch ORDER BY v;
SELECT v, (c5, v) IN (SELECT c3, c3 FROM ch), (c3, t) = (SELECT c5, t FROM ch WHERE v = 'a') FROM ch ORDER BY v;
SELECT v, c3 IN (SELECT v FROM ch UNION SELECT 'q') FROM ch ORDER BY v;
