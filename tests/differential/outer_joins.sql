-- RIGHT and FULL [OUTER] JOIN: unmatched rows of either side padded with NULLs, ON and
-- USING, chains mixing join kinds, WHERE over the nullable side (IS NULL finds the
-- unmatched), aggregates and ORDER BY over the result, empty sides.
CREATE TABLE dept (id int PRIMARY KEY, name text);
CREATE TABLE emp (id int PRIMARY KEY, name text, dept_id int, salary int);
CREATE TABLE nothing (id int, note text);
INSERT INTO dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty');
INSERT INTO emp VALUES (10, 'ann', 1, 100), (11, 'bob', 1, 90), (12, 'cy', 2, 80), (13, 'di', NULL, 70), (14, 'ed', 9, 60);
SELECT e.name, d.name FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id ORDER BY d.name, e.name;
SELECT e.name, d.name FROM emp e RIGHT OUTER JOIN dept d ON d.id = e.dept_id ORDER BY 2, 1;
SELECT e.name, d.name FROM emp e FULL JOIN dept d ON d.id = e.dept_id ORDER BY e.name NULLS LAST, d.name;
SELECT e.name, d.name FROM emp e FULL OUTER JOIN dept d ON d.id = e.dept_id;
SELECT d.name FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id WHERE e.id IS NULL;
SELECT e.name, d.name FROM emp e FULL JOIN dept d ON d.id = e.dept_id WHERE e.id IS NULL OR d.id IS NULL ORDER BY 1, 2;
SELECT d.name, count(e.id), coalesce(sum(e.salary), 0) FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id GROUP BY d.name ORDER BY d.name;
SELECT * FROM emp e FULL JOIN dept d ON false ORDER BY e.id, d.id;
SELECT * FROM nothing n RIGHT JOIN dept d ON d.id = n.id ORDER BY d.id;
SELECT * FROM dept d FULL JOIN nothing n ON d.id = n.id ORDER BY d.id;
SELECT * FROM nothing a FULL JOIN nothing b ON a.id = b.id;
SELECT d.id, e.name FROM dept d RIGHT JOIN emp e ON e.dept_id = d.id AND e.salary > 85 ORDER BY e.name;
SELECT e.name, d.name, d2.name FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id LEFT JOIN dept d2 ON d2.id = d.id + 1 ORDER BY d.name, e.name;
SELECT e.name, d.name, x.name FROM emp e LEFT JOIN dept d ON d.id = e.dept_id FULL JOIN emp x ON x.id = e.id + 100 ORDER BY e.name NULLS LAST, x.name;
SELECT l.v, r.k, r.w FROM (SELECT 1 AS k, 'a' AS v) l RIGHT JOIN (SELECT 2 AS k, 'b' AS w) r USING (k);
SELECT * FROM (VALUES (1, 'a'), (2, 'b')) l(k, v) FULL JOIN (VALUES (2, 'x'), (3, 'y')) r(k, w) ON l.k = r.k ORDER BY coalesce(l.k, r.k);
SELECT d.name FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id WHERE e.salary > 85 ORDER BY d.name;
SELECT d.name, e.name FROM emp e RIGHT JOIN dept d ON d.id = e.dept_id WHERE d.id = 3;
SELECT count(*) FROM emp e FULL JOIN dept d ON d.id = e.dept_id;
