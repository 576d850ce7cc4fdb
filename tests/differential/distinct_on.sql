-- SELECT DISTINCT ON (exprs): the first row of each distinct value in ORDER BY order, with
-- NULLs as one value, expressions, output names and positions; 42P10 when ORDER BY does not
-- begin with the DISTINCT ON expressions.
CREATE TABLE readings (id int PRIMARY KEY, sensor text, at int, val int);
INSERT INTO readings VALUES (1, 's1', 10, 5), (2, 's1', 20, 7), (3, 's2', 10, 1), (4, 's2', 30, NULL), (5, NULL, 5, 9), (6, NULL, 6, 8), (7, 's3', 1, 1), (8, 's1', 20, 3);
CREATE TABLE none_here (a int, b int);

SELECT DISTINCT ON (sensor) sensor, at, val FROM readings ORDER BY sensor, at DESC, id;
SELECT DISTINCT ON (sensor) sensor, at, val FROM readings ORDER BY sensor, at;
SELECT DISTINCT ON (sensor) sensor, id FROM readings ORDER BY sensor NULLS FIRST, id DESC;
SELECT DISTINCT ON (sensor) id, sensor FROM readings ORDER BY sensor DESC, val DESC NULLS LAST;
SELECT DISTINCT ON (sensor, at) sensor, at, id FROM readings ORDER BY sensor, at, id;
SELECT DISTINCT ON (at, sensor) sensor, at, id FROM readings ORDER BY sensor, at, id DESC;
SELECT DISTINCT ON (val IS NULL) val IS NULL AS missing, id FROM readings ORDER BY val IS NULL, id;
SELECT DISTINCT ON (at / 10) at / 10 AS bucket, id FROM readings ORDER BY at / 10, id;
SELECT DISTINCT ON (1) sensor, id FROM readings ORDER BY 1, 2;
SELECT DISTINCT ON (s) sensor AS s, id FROM readings ORDER BY s, id DESC;
SELECT DISTINCT ON (sensor) sensor, id FROM readings ORDER BY sensor, id LIMIT 2;
SELECT DISTINCT ON (sensor) sensor, id FROM readings ORDER BY sensor, id OFFSET 1;
SELECT count(*) FROM (SELECT DISTINCT ON (sensor) sensor FROM readings) t;
SELECT DISTINCT ON (sensor) sensor FROM readings ORDER BY sensor;
SELECT DISTINCT ON (a) a, b FROM none_here ORDER BY a, b;
SELECT DISTINCT ON (sensor) sensor, count(*) FROM readings GROUP BY sensor, at ORDER BY sensor, count(*) DESC;
SELECT DISTINCT ON (sensor) sensor, max(val) FROM readings GROUP BY sensor ORDER BY sensor;
SELECT DISTINCT ON (r.sensor) r.sensor, r2.id FROM readings r JOIN readings r2 ON r2.sensor = r.sensor AND r2.id > r.id ORDER BY r.sensor, r2.id;
SELECT DISTINCT ON (sensor) sensor, id, row_number() OVER (ORDER BY id) FROM readings ORDER BY sensor, id;
-- errors
SELECT DISTINCT ON (sensor) sensor, id FROM readings ORDER BY id;
SELECT DISTINCT ON (sensor, at) sensor, at FROM readings ORDER BY sensor, val;
SELECT DISTINCT ON (nosuch) id FROM readings;
SELECT DISTINCT ON (3) sensor, id FROM readings ORDER BY 1;
