-- GROUP BY ROLLUP, CUBE and GROUPING SETS: subtotal rows with NULL keys, plain keys beside
-- them, HAVING and ORDER BY over them, empty input (the empty set still answers one row).
CREATE TABLE sold (region text, product text, qty int);
INSERT INTO sold VALUES ('east', 'a', 1), ('east', 'b', 2), ('west', 'a', 3), ('west', 'a', 4), ('north', NULL, 5);
CREATE TABLE none_sold (region text, qty int);

SELECT region, product, sum(qty) FROM sold GROUP BY ROLLUP (region, product) ORDER BY region NULLS LAST, product NULLS LAST;
SELECT region, product, count(*) FROM sold GROUP BY CUBE (region, product) ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3;
SELECT region, product, sum(qty) FROM sold GROUP BY GROUPING SETS ((region), (product), ()) ORDER BY 1 NULLS LAST, 2 NULLS LAST, 3;
SELECT region, sum(qty) FROM sold GROUP BY GROUPING SETS ((region), ()) ORDER BY 1 NULLS LAST;
SELECT region, product, sum(qty) FROM sold GROUP BY region, ROLLUP (product) ORDER BY 1, 2 NULLS LAST;
SELECT region, sum(qty) FROM sold GROUP BY ROLLUP (region) HAVING sum(qty) > 4 ORDER BY 2;
SELECT sum(qty) FROM sold GROUP BY ROLLUP (region) ORDER BY 1;
SELECT region, count(*) FROM none_sold GROUP BY ROLLUP (region);
SELECT count(*) FROM none_sold GROUP BY GROUPING SETS ((), ());
SELECT region, sum(qty) FROM sold GROUP BY ROLLUP (1) ORDER BY 1 NULLS FIRST;
SELECT region, product, max(qty) FROM sold GROUP BY ROLLUP ((region, product)) ORDER BY 1 NULLS LAST, 2 NULLS LAST;
