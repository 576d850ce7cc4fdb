-- WITH queries: plain CTEs (read once or several times), alias lists, CTEs reading earlier
-- CTEs, WITH in subqueries and INSERT ... SELECT; WITH RECURSIVE with UNION and UNION ALL
-- (series, tree walks, depth limits, cycles stopped by UNION), and PostgreSQL's errors.
CREATE TABLE emp (id int PRIMARY KEY, name text, boss int, salary int);
INSERT INTO emp VALUES (1, 'ann', NULL, 100), (2, 'bob', 1, 80), (3, 'cid', 1, 85), (4, 'dan', 2, 60), (5, 'eve', 4, 50), (6, 'fay', NULL, 90), (7, 'gus', 6, 40);
CREATE TABLE empty_t (a int, b text);
CREATE TABLE edges (src int, dst int);
INSERT INTO edges VALUES (1, 2), (2, 3), (3, 1), (3, 4), (4, 5);

WITH x AS (SELECT id, name FROM emp WHERE salary > 70) SELECT * FROM x ORDER BY id;
WITH x(i, n) AS (SELECT id, name FROM emp) SELECT i, n FROM x WHERE i < 3 ORDER BY i;
WITH x(i) AS (SELECT id, name FROM emp) SELECT i, name FROM x ORDER BY i;
WITH x AS (SELECT id FROM emp), y AS (SELECT id * 2 AS d FROM x) SELECT d FROM y ORDER BY d;
WITH x AS (SELECT id, salary FROM emp) SELECT a.id, b.id FROM x a JOIN x b ON a.salary = b.salary + 5 ORDER BY 1, 2;
WITH x AS (SELECT id FROM emp) SELECT count(*) FROM x x1, x x2 WHERE x1.id < x2.id;
WITH x AS (SELECT * FROM empty_t) SELECT count(*), max(a) FROM x;
WITH x AS (SELECT * FROM empty_t) SELECT * FROM x;
WITH x AS (SELECT 1 AS one) SELECT * FROM emp, x WHERE emp.id = x.one;
WITH x AS (SELECT boss, count(*) AS n FROM emp GROUP BY boss) SELECT * FROM x ORDER BY boss NULLS FIRST;
WITH x AS (SELECT id FROM emp ORDER BY id DESC LIMIT 2) SELECT * FROM x ORDER BY id;
WITH x AS (SELECT id, name FROM emp) SELECT name FROM x WHERE id IN (SELECT boss FROM emp) ORDER BY name;
SELECT name FROM emp WHERE id IN (WITH b AS (SELECT boss FROM emp WHERE boss IS NOT NULL) SELECT boss FROM b) ORDER BY name;
SELECT (WITH m AS (SELECT max(salary) AS s FROM emp) SELECT s FROM m);
WITH emp AS (SELECT 42 AS id) SELECT * FROM emp;
WITH x AS (SELECT 1 AS v) SELECT * FROM (WITH x AS (SELECT 2 AS v) SELECT v FROM x) s;
WITH x AS (SELECT 1 AS v), y AS (SELECT v + 1 AS v FROM x), z AS (SELECT v + 1 AS v FROM y) SELECT * FROM x UNION ALL SELECT * FROM y UNION ALL SELECT * FROM z ORDER BY 1;
WITH unused AS (SELECT 1) SELECT 2;
WITH x AS (SELECT NULL::int AS n UNION ALL SELECT 1) SELECT count(*), count(n) FROM x;
INSERT INTO empty_t WITH s AS (SELECT id, name FROM emp WHERE id <= 3) SELECT id, name FROM s;
SELECT * FROM empty_t ORDER BY a;
WITH x AS (SELECT 1), x AS (SELECT 2) SELECT * FROM x;
WITH x(a, b) AS (SELECT 1) SELECT * FROM x;
WITH x AS (SELECT nosuch FROM emp) SELECT 1;
WITH x AS (SELECT 1 AS v) SELECT * FROM y;
WITH x AS (SELECT 1 AS v) SELECT w FROM x;

-- recursive: series
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 10) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) SELECT count(*), sum(n), min(n), max(n) FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) SELECT count(*) FROM s;
WITH RECURSIVE s(n) AS (VALUES (1) UNION ALL SELECT n * 2 FROM s WHERE n < 1000) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n) AS (SELECT 1 UNION SELECT n % 3 + 1 FROM s) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE false) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 WHERE false UNION ALL SELECT n + 1 FROM s) SELECT * FROM s;
WITH RECURSIVE s(a, b) AS (SELECT 1, 1 UNION ALL SELECT b, a + b FROM s WHERE b < 100) SELECT a FROM s ORDER BY a;
WITH RECURSIVE fib(i, a, b) AS (SELECT 1, 0::numeric, 1::numeric UNION ALL SELECT i + 1, b, a + b FROM fib WHERE i < 90) SELECT i, a FROM fib WHERE i IN (1, 2, 50, 90) ORDER BY i;
WITH RECURSIVE s(n, t) AS (SELECT 1, 'a' UNION ALL SELECT n + 1, t || 'b' FROM s WHERE n < 4) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n, t) AS (SELECT 1, 'a'::text UNION ALL SELECT n + 1, t || 'b' FROM s WHERE n < 4) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3), t AS (SELECT n * 10 AS m FROM s) SELECT * FROM t ORDER BY m;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3) SELECT a.n, b.n FROM s a, s b WHERE a.n <= b.n ORDER BY 1, 2;
WITH RECURSIVE s AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM s WHERE n < 3) SELECT sum(n) FROM s;

-- recursive: tree walks
WITH RECURSIVE tree AS (SELECT id, name, boss, 0 AS depth FROM emp WHERE boss IS NULL UNION ALL SELECT e.id, e.name, e.boss, t.depth + 1 FROM emp e JOIN tree t ON e.boss = t.id) SELECT * FROM tree ORDER BY id;
WITH RECURSIVE tree AS (SELECT id, name, boss, 0 AS depth FROM emp WHERE boss IS NULL UNION ALL SELECT e.id, e.name, e.boss, t.depth + 1 FROM emp e JOIN tree t ON e.boss = t.id WHERE t.depth < 1) SELECT * FROM tree ORDER BY id;
WITH RECURSIVE chain(id, path) AS (SELECT id, name FROM emp WHERE id = 5 UNION ALL SELECT e.boss, c.path || '<' || b.name FROM chain c JOIN emp e ON e.id = c.id JOIN emp b ON b.id = e.boss) SELECT * FROM chain ORDER BY length(path);
WITH RECURSIVE sub(id) AS (SELECT 1 UNION ALL SELECT e.id FROM emp e, sub WHERE e.boss = sub.id) SELECT sum(salary) FROM emp WHERE id IN (SELECT id FROM sub);
WITH RECURSIVE tree AS (SELECT id, boss, 0 AS depth FROM emp WHERE boss IS NULL UNION ALL SELECT e.id, e.boss, t.depth + 1 FROM tree t JOIN emp e ON e.boss = t.id) SELECT depth, count(*) FROM tree GROUP BY depth ORDER BY depth;

-- recursive: graph with a cycle, stopped by UNION or a depth limit
WITH RECURSIVE reach(n) AS (SELECT 1 UNION SELECT e.dst FROM edges e JOIN reach r ON e.src = r.n) SELECT * FROM reach ORDER BY n;
WITH RECURSIVE walk(n, d) AS (SELECT 1, 0 UNION ALL SELECT e.dst, w.d + 1 FROM edges e JOIN walk w ON e.src = w.n WHERE w.d < 6) SELECT n, d FROM walk ORDER BY d, n;
WITH RECURSIVE walk(n, d) AS (SELECT 1, 0 UNION ALL SELECT e.dst, w.d + 1 FROM edges e JOIN walk w ON e.src = w.n WHERE w.d < 6) SELECT count(*) FROM walk;
WITH RECURSIVE reach(n) AS (SELECT 1 UNION SELECT e.dst FROM reach r LEFT JOIN edges e ON e.src = r.n WHERE e.dst IS NOT NULL) SELECT count(*) FROM reach;

-- recursive: errors as PostgreSQL has them
WITH RECURSIVE s(n) AS (SELECT n FROM s UNION ALL SELECT 1) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n::bigint + 1 FROM s WHERE n < 3) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT (SELECT n FROM s)) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT s.n + 1 FROM s, s s2 WHERE s.n < 3) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5 ORDER BY 1) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT count(*) FROM s) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3) SELECT * FROM s WHERE n > (SELECT 1);
WITH RECURSIVE s AS (SELECT 1 AS n) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT 2) SELECT * FROM s ORDER BY n;
WITH RECURSIVE s(n, m) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT e.id FROM emp e LEFT JOIN s ON s.n = e.boss WHERE e.id < 3) SELECT * FROM s;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT e.id FROM s LEFT JOIN emp e ON s.n = e.boss WHERE s.n < 3) SELECT * FROM s ORDER BY n;
