# Planner goldens: joins (nested loops: inner, left, cross), derived tables and subqueries.
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, city text)
> ok
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total int NOT NULL)
> ok
CREATE INDEX orders_customer ON orders (customer_id)
> ok
INSERT INTO customers VALUES (1, 'ann', 'oslo'), (2, 'bob', 'rome'), (3, 'cy', NULL)
> ok 3
INSERT INTO orders VALUES (10, 1, 30), (11, 1, 70), (12, 2, 5), (13, 2, 45), (14, 1, 10)
> ok 5

query: SELECT c.name, o.id, o.total FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id
> plan: Sort
> plan:   Nested Loop
> plan:     Seq Scan on customers
> plan:     Seq Scan on orders
> (ann, 10, 30)
> (ann, 11, 70)
> (bob, 12, 5)
> (bob, 13, 45)
> (ann, 14, 10)
query: SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 2 ORDER BY o.total
> plan: Sort
> plan:   Nested Loop
> plan:     Index Scan using customers_pkey on customers (primary key lookup)
> plan:     Seq Scan on orders
> plan:     Filter: WHERE clause
> (bob, 5)
> (bob, 45)
query: SELECT c.name, o.id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id ORDER BY c.id, o.id
> plan: Sort
> plan:   Nested Loop Left Join
> plan:     Seq Scan on customers
> plan:     Seq Scan on orders
> (ann, 10)
> (ann, 11)
> (ann, 14)
> (bob, 12)
> (bob, 13)
> (cy, null)
query: SELECT c.name, o.id FROM customers c CROSS JOIN orders o WHERE o.id = 12 ORDER BY c.name
> plan: Sort
> plan:   Nested Loop
> plan:     Seq Scan on customers
> plan:     Seq Scan on orders
> plan:     Filter: WHERE clause
> (ann, 12)
> (bob, 12)
> (cy, 12)
query: SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE total > 40) ORDER BY name
> plan: Sort
> plan:   Seq Scan on customers
> plan:     Filter: WHERE clause
> (ann)
> (bob)
query: SELECT name FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)
> plan: Seq Scan on customers
> plan:   Filter: WHERE clause
> (cy)
query: SELECT name, (SELECT count(*) FROM orders o WHERE o.customer_id = c.id) FROM customers c ORDER BY id
> plan: Sort
> plan:   Seq Scan on customers
> (ann, 3)
> (bob, 2)
> (cy, 0)
query: SELECT big.id, big.total FROM (SELECT id, total FROM orders WHERE total >= 30) big ORDER BY big.total DESC
> plan: Sort
> plan:   Subquery Scan
> plan:     Seq Scan on orders
> (11, 70)
> (13, 45)
> (10, 30)
