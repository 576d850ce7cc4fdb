-- Views: CREATE [OR REPLACE] VIEW with column lists, views over joins, aggregates and other
-- views, views in joins and subqueries, transactional DDL (ROLLBACK forgets a view), DROP
-- VIEW [IF EXISTS | CASCADE], dependencies (2BP01), the catalogs, PostgreSQL's errors.
CREATE TABLE city (id int PRIMARY KEY, name text, country text, pop int);
INSERT INTO city VALUES (1, 'oslo', 'no', 700), (2, 'bergen', 'no', 280), (3, 'lyon', 'fr', 520), (4, 'paris', 'fr', 2100), (5, 'nice', 'fr', NULL);
CREATE TABLE country (code text PRIMARY KEY, cname text);
INSERT INTO country VALUES ('no', 'norway'), ('fr', 'france'), ('se', 'sweden');

CREATE VIEW big AS SELECT id, name, pop FROM city WHERE pop > 500;
SELECT * FROM big ORDER BY id;
SELECT name FROM big WHERE pop < 1000 ORDER BY name;
CREATE VIEW totals (country, people, cities) AS SELECT country, sum(pop), count(*) FROM city GROUP BY country;
SELECT * FROM totals ORDER BY country;
SELECT t.country, c.cname, t.people FROM totals t JOIN country c ON c.code = t.country ORDER BY t.country;
SELECT c.cname, t.cities FROM country c LEFT JOIN totals t ON t.country = c.code ORDER BY c.cname;
CREATE VIEW big_names AS SELECT name FROM big;
SELECT * FROM big_names ORDER BY name;
SELECT count(*) FROM big b1, big b2 WHERE b1.id < b2.id;
SELECT name FROM city WHERE id IN (SELECT id FROM big) ORDER BY name;
SELECT (SELECT count(*) FROM big) AS n;
SELECT b.name, r.rk FROM big b, LATERAL (SELECT count(*) AS rk FROM big b2 WHERE b2.pop >= b.pop) r ORDER BY r.rk;
WITH x AS (SELECT * FROM big) SELECT count(*) FROM x;
SELECT x.i, x.n FROM big AS x(i, n) ORDER BY x.i;
CREATE VIEW ranked AS SELECT name, country, rank() OVER (PARTITION BY country ORDER BY pop DESC NULLS LAST) AS r FROM city;
SELECT * FROM ranked WHERE r = 1 ORDER BY country;
CREATE VIEW joined AS SELECT c.name, k.cname FROM city c JOIN country k ON k.code = c.country;
SELECT * FROM joined ORDER BY name;
CREATE VIEW constant AS SELECT 1 AS one, 'x' AS letter;
SELECT * FROM constant;
INSERT INTO city VALUES (6, 'lille', 'fr', 900);
SELECT * FROM big ORDER BY id;
SELECT * FROM totals ORDER BY country;
-- OR REPLACE
CREATE OR REPLACE VIEW big AS SELECT id, name, pop, country FROM city WHERE pop > 800;
SELECT * FROM big ORDER BY id;
CREATE OR REPLACE VIEW big AS SELECT id, name FROM city;
CREATE OR REPLACE VIEW big AS SELECT id, country AS name, pop, country FROM city;
CREATE OR REPLACE VIEW big AS SELECT id, name, pop::bigint AS pop, country FROM city;
CREATE VIEW big AS SELECT 1;
CREATE VIEW city AS SELECT 1;
CREATE OR REPLACE VIEW city AS SELECT 1;
-- transactional
BEGIN;
CREATE VIEW temp_v AS SELECT id FROM city;
SELECT count(*) FROM temp_v;
ROLLBACK;
SELECT * FROM temp_v;
BEGIN;
DROP VIEW constant;
SELECT * FROM constant;
ROLLBACK;
SELECT * FROM constant;
BEGIN;
CREATE VIEW kept AS SELECT name FROM city WHERE id = 1;
COMMIT;
SELECT * FROM kept;
-- catalogs
SELECT relname, relkind FROM pg_class WHERE relkind = 'v' AND relnamespace = 'public'::regnamespace ORDER BY relname;
SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY viewname;
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name;
SELECT attname FROM pg_attribute WHERE attrelid = 'totals'::regclass AND attnum > 0 ORDER BY attnum;
-- dependencies and DROP
DROP TABLE country;
DROP VIEW big;
DROP VIEW totals, joined;
DROP VIEW nosuch;
DROP VIEW IF EXISTS nosuch;
DROP VIEW city;
DROP TABLE constant;
DROP VIEW big CASCADE;
SELECT * FROM big_names;
SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY viewname;
DROP TABLE country CASCADE;
SELECT viewname FROM pg_views WHERE schemaname = 'public' ORDER BY viewname;
-- errors
CREATE VIEW bad AS SELECT nosuch FROM city;
CREATE VIEW bad AS SELECT * FROM nosuch;
CREATE VIEW bad (a, b, c) AS SELECT id, name FROM city;
CREATE VIEW bad AS SELECT id, id FROM city;
