-- LATERAL subqueries in FROM (comma and JOIN forms, LEFT JOIN LATERAL ... ON true, top-N
-- per group, aggregates per outer row), and correlated subqueries in the select list, WHERE
-- and ORDER BY on real rows.
CREATE TABLE dept (id int PRIMARY KEY, name text);
CREATE TABLE staff (id int PRIMARY KEY, dept_id int, name text, pay int);
INSERT INTO dept VALUES (1, 'eng'), (2, 'ops'), (3, 'empty');
INSERT INTO staff VALUES (1, 1, 'a', 100), (2, 1, 'b', 120), (3, 1, 'c', 90), (4, 2, 'd', 80), (5, 2, 'e', 80), (6, NULL, 'f', 50);

SELECT d.name, s.name, s.pay FROM dept d, LATERAL (SELECT name, pay FROM staff WHERE dept_id = d.id ORDER BY pay DESC, name LIMIT 2) s ORDER BY d.name, s.pay DESC, s.name;
SELECT d.name, s.name FROM dept d LEFT JOIN LATERAL (SELECT name FROM staff WHERE dept_id = d.id ORDER BY pay DESC, name LIMIT 1) s ON true ORDER BY d.name;
SELECT d.name, s.name FROM dept d JOIN LATERAL (SELECT name FROM staff WHERE dept_id = d.id) s ON s.name <> 'a' ORDER BY 1, 2;
SELECT d.name, c.n, c.total FROM dept d, LATERAL (SELECT count(*) AS n, sum(pay) AS total FROM staff WHERE dept_id = d.id) c ORDER BY d.name;
SELECT d.name, c.n FROM dept d CROSS JOIN LATERAL (SELECT count(*) AS n FROM staff WHERE dept_id = d.id) c ORDER BY d.name;
SELECT s.name, x.doubled FROM staff s, LATERAL (SELECT s.pay * 2 AS doubled) x ORDER BY s.id;
SELECT s.name, x.* FROM staff s, LATERAL (SELECT s.pay + 1 AS p1, s.pay - 1 AS m1) x WHERE x.p1 > 90 ORDER BY s.id;
SELECT s.name, r.rank_in_dept FROM staff s, LATERAL (SELECT count(*) + 1 AS rank_in_dept FROM staff o WHERE o.dept_id = s.dept_id AND o.pay > s.pay) r ORDER BY s.id;
SELECT d.name, t.name FROM dept d, LATERAL (SELECT s.name FROM staff s WHERE s.dept_id = d.id AND s.pay = (SELECT max(pay) FROM staff s2 WHERE s2.dept_id = d.id)) t ORDER BY 1, 2;
SELECT d.id, x.v FROM dept d, LATERAL (VALUES (d.id), (d.id * 10)) x(v) ORDER BY 1, 2;
SELECT * FROM (SELECT 1 AS k) a, LATERAL (SELECT a.k + 1 AS k2) b, LATERAL (SELECT b.k2 + 1 AS k3) c;
SELECT d.name, s.cnt FROM dept d LEFT JOIN LATERAL (SELECT count(*) AS cnt FROM staff WHERE dept_id = d.id HAVING count(*) > 2) s ON true ORDER BY d.name;
SELECT count(*) FROM dept d, LATERAL (SELECT * FROM staff WHERE dept_id = d.id) s;
SELECT * FROM LATERAL (SELECT 1 AS one) x;
-- correlated subqueries on real rows
SELECT id, (SELECT count(*) FROM staff t2 WHERE t2.id <= t.id) FROM staff t ORDER BY id;
SELECT id, (SELECT max(pay) FROM staff t2 WHERE t2.dept_id = t.dept_id) FROM staff t ORDER BY id;
SELECT name FROM staff t WHERE pay > (SELECT avg(pay) FROM staff t2 WHERE t2.dept_id = t.dept_id) ORDER BY name;
SELECT name FROM staff t WHERE EXISTS (SELECT 1 FROM staff t2 WHERE t2.dept_id = t.dept_id AND t2.id <> t.id) ORDER BY name;
SELECT name FROM dept d WHERE NOT EXISTS (SELECT 1 FROM staff s WHERE s.dept_id = d.id) ORDER BY name;
SELECT name FROM staff t ORDER BY (SELECT count(*) FROM staff t2 WHERE t2.pay > t.pay), name;
SELECT d.name, (SELECT string_agg(s.name, ',' ORDER BY s.name) FROM staff s WHERE s.dept_id = d.id) FROM dept d ORDER BY d.id;
SELECT id, (SELECT name FROM dept WHERE dept.id = staff.dept_id) FROM staff ORDER BY id;
-- errors
SELECT * FROM dept d, (SELECT * FROM staff WHERE dept_id = d.id) s;
SELECT * FROM dept d, LATERAL (SELECT * FROM staff WHERE dept_id = nosuch.id) s;
SELECT id, (SELECT id FROM staff) FROM dept;
