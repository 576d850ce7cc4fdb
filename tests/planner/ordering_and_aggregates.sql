# Planner goldens: ORDER BY, LIMIT/OFFSET, DISTINCT, GROUP BY with aggregates and HAVING.
CREATE TABLE sales (id int PRIMARY KEY, region text NOT NULL, product text NOT NULL, amount int NOT NULL)
> ok
CREATE INDEX sales_region ON sales (region)
> ok
INSERT INTO sales VALUES (1, 'north', 'tea', 10), (2, 'south', 'tea', 25), (3, 'north', 'coffee', 40), (4, 'east', 'tea', 5), (5, 'south', 'coffee', 15), (6, 'north', 'tea', 30), (7, 'east', 'cocoa', 50)
> ok 7

query: SELECT id, amount FROM sales ORDER BY amount DESC
> plan: Sort
> plan:   Seq Scan on sales
> (7, 50)
> (3, 40)
> (6, 30)
> (2, 25)
> (5, 15)
> (1, 10)
> (4, 5)
query: SELECT id FROM sales ORDER BY id LIMIT 3
> plan: Limit
> plan:   Sort
> plan:     Seq Scan on sales
> (1)
> (2)
> (3)
query: SELECT id, amount FROM sales ORDER BY amount LIMIT 2 OFFSET 2
> plan: Limit
> plan:   Sort
> plan:     Seq Scan on sales
> (5, 15)
> (2, 25)
query: SELECT id FROM sales WHERE region = 'north' ORDER BY amount DESC LIMIT 1
> plan: Limit
> plan:   Sort
> plan:     Index Scan using sales_region on sales (lookup)
> plan:       Filter: WHERE clause
> (3)
query: SELECT DISTINCT product FROM sales ORDER BY product
> plan: Sort
> plan:   Seq Scan on sales
> (cocoa)
> (coffee)
> (tea)
query: SELECT region, count(*), sum(amount), min(amount), max(amount) FROM sales GROUP BY region ORDER BY region
> plan: Sort
> plan:   HashAggregate
> plan:     Seq Scan on sales
> (east, 2, 55, 5, 50)
> (north, 3, 80, 10, 40)
> (south, 2, 40, 15, 25)
query: SELECT product, avg(amount) FROM sales WHERE region <> 'east' GROUP BY product HAVING count(*) > 1 ORDER BY product
> plan: Sort
> plan:   HashAggregate
> plan:     Seq Scan on sales
> plan:       Filter: WHERE clause
> (coffee, 27.5000000000000000)
> (tea, 21.6666666666666667)
query: SELECT count(*), sum(amount) FROM sales
> plan: HashAggregate
> plan:   Seq Scan on sales
> (7, 175)
query: SELECT region, string_agg(product, ',') FROM sales WHERE region = 'north' GROUP BY region
> plan: HashAggregate
> plan:   Index Scan using sales_region on sales (lookup)
> plan:     Filter: WHERE clause
> (north, tea,coffee,tea)
