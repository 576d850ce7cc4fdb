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
-- GROUPING(): which keys a row's set leaves out (a bit per argument, the first the highest),
-- telling a subtotal's NULL from a NULL key
SELECT region, product, grouping(region, product), sum(qty) FROM sold GROUP BY ROLLUP (region, product) ORDER BY 3, 1 NULLS LAST, 2 NULLS LAST;
SELECT region, product, grouping(product), grouping(region), grouping(product, region) FROM sold GROUP BY CUBE (region, product) ORDER BY 5, 1 NULLS LAST, 2 NULLS LAST;
SELECT CASE WHEN grouping(product) = 1 THEN 'all products' ELSE coalesce(product, '(none)') END AS p, sum(qty) FROM sold GROUP BY ROLLUP (product) ORDER BY 1;
SELECT region, sum(qty) FROM sold GROUP BY ROLLUP (region) HAVING grouping(region) = 0 ORDER BY 1;
SELECT region, grouping(region) FROM sold GROUP BY region ORDER BY 1;
SELECT region, sum(qty) FROM sold GROUP BY ROLLUP (region) ORDER BY grouping(region), 1;
SELECT grouping(qty) FROM sold GROUP BY region;
SELECT grouping(region) FROM sold;
SELECT region, grouping(region) FROM sold GROUP BY GROUPING SETS ((region), ()) ORDER BY 2, 1;
SELECT count(*), grouping(region) FROM none_sold GROUP BY ROLLUP (region);
