-- generate_series in a select list (integers, timestamps from dates, cast, reading the
-- row's columns), unnest beside it, and correlated subqueries as WHERE key values (each
-- evaluated for its row, never as a constant).
SELECT generate_series(1, 3);
SELECT generate_series(1, 10, 4) AS n;
SELECT generate_series(5, 1, -2);
SELECT generate_series(3, 1);
SELECT generate_series('2024-01-30'::date, '2024-02-02'::date, interval '1 day')::date AS day;
SELECT generate_series('2024-01-01'::timestamp, '2024-01-01 02:00'::timestamp, '1 hour');
SELECT x, generate_series(1, x) FROM (VALUES (1), (2), (0)) v(x) ORDER BY 1, 2;
SELECT generate_series(1, 2), 'k';
CREATE TABLE stock (id int PRIMARY KEY, grp int, qty int);
INSERT INTO stock VALUES (1, 1, 5), (2, 1, 7), (3, 2, 1), (4, 2, 9), (5, 3, 4);
SELECT id, generate_series(1, qty % 3) FROM stock ORDER BY 1, 2;
SELECT * FROM stock WHERE id = (SELECT max(s.id) FROM stock s WHERE s.grp = stock.grp) ORDER BY id;
SELECT * FROM stock WHERE id > (SELECT min(s.id) FROM stock s WHERE s.grp = stock.grp) ORDER BY id;
SELECT * FROM stock WHERE id IN (SELECT s.id FROM stock s WHERE s.grp = stock.grp AND s.qty > 4) ORDER BY id;
SELECT x, u FROM (VALUES (1), (3)) v(x), unnest(ARRAY(SELECT g FROM generate_series(1, x) g)) u ORDER BY 1, 2;
