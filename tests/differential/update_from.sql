-- UPDATE ... FROM and DELETE ... USING: joins to tables, subqueries and VALUES, several FROM
-- items, a target row matched by several source rows (changed once), RETURNING over the
-- target and the FROM items, self-joins, empty sources, NULL join keys.
CREATE TABLE stock (sku int PRIMARY KEY, qty int, note text);
INSERT INTO stock VALUES (1, 10, NULL), (2, 20, NULL), (3, 30, NULL), (4, 40, NULL), (5, NULL, NULL);
CREATE TABLE moves (sku int, delta int);
INSERT INTO moves VALUES (1, 5), (2, -3), (9, 100), (NULL, 7);
CREATE TABLE labels (sku int, label text);
INSERT INTO labels VALUES (1, 'one'), (3, 'three');
CREATE TABLE empty_src (sku int);

UPDATE stock SET qty = stock.qty + moves.delta FROM moves WHERE moves.sku = stock.sku;
SELECT * FROM stock ORDER BY sku;
UPDATE stock s SET qty = s.qty * 2 FROM moves m WHERE m.sku = s.sku RETURNING s.sku, s.qty, m.delta;
UPDATE stock SET note = labels.label FROM labels WHERE labels.sku = stock.sku RETURNING *;
UPDATE stock SET note = l.label || ':' || m.delta FROM labels l, moves m WHERE l.sku = stock.sku AND m.sku = stock.sku RETURNING stock.sku, note;
UPDATE stock SET note = l.label FROM labels l JOIN moves m ON m.sku = l.sku WHERE l.sku = stock.sku RETURNING stock.sku, note;
UPDATE stock SET qty = v.q FROM (VALUES (2, 200), (4, 400)) AS v(k, q) WHERE v.k = stock.sku RETURNING stock.*;
UPDATE stock SET qty = t.total FROM (SELECT sku, sum(delta) AS total FROM moves GROUP BY sku) t WHERE t.sku = stock.sku RETURNING stock.sku, stock.qty;
UPDATE stock SET qty = 0 FROM empty_src e WHERE e.sku = stock.sku;
UPDATE stock SET qty = 0 FROM empty_src;
UPDATE stock SET qty = -1 FROM moves WHERE moves.sku = stock.sku AND moves.sku IS NULL;
SELECT * FROM stock ORDER BY sku;
CREATE TABLE dup (sku int, v int);
INSERT INTO dup VALUES (3, 1), (3, 1), (3, 1);
UPDATE stock SET qty = stock.qty + dup.v FROM dup WHERE dup.sku = stock.sku;
SELECT * FROM stock WHERE sku = 3;
UPDATE stock SET qty = 7 FROM moves WHERE stock.sku = 5 RETURNING stock.sku, stock.qty;
UPDATE stock SET qty = other.qty FROM stock other WHERE other.sku = stock.sku + 1 RETURNING stock.sku, stock.qty;
SELECT * FROM stock ORDER BY sku;
UPDATE stock SET qty = qty + 1 FROM moves WHERE moves.sku = stock.sku AND stock.sku IN (SELECT sku FROM labels);
SELECT * FROM stock ORDER BY sku;
DELETE FROM stock USING labels WHERE labels.sku = stock.sku RETURNING stock.sku, labels.label;
SELECT * FROM stock ORDER BY sku;
DELETE FROM stock s USING moves m WHERE m.sku = s.sku AND m.delta < 0 RETURNING *;
DELETE FROM stock USING empty_src WHERE empty_src.sku = stock.sku;
DELETE FROM stock USING (SELECT max(sku) AS m FROM stock) t WHERE stock.sku = t.m RETURNING stock.sku;
SELECT * FROM stock ORDER BY sku;
DELETE FROM stock a USING stock b WHERE a.sku < b.sku RETURNING a.sku;
SELECT * FROM stock ORDER BY sku;
-- errors
UPDATE stock SET qty = nosuch.x FROM moves;
UPDATE stock SET qty = moves.delta FROM moves WHERE sku = 1;
UPDATE stock SET nosuch = 1 FROM moves;
DELETE FROM stock USING nosuch WHERE true;
UPDATE stock SET qty = 'abc' FROM moves WHERE moves.sku = stock.sku;
