# Aggregates with FILTER (WHERE ...): only the rows where the condition is true are aggregated
# (Django's `Count("id", filter=Q(...))`). GROUP BY a table's primary key lets the select list
# name the table's other columns ungrouped, as PostgreSQL does (Django's `annotate` groups by
# the key). Checked against PostgreSQL 15.

CREATE TABLE cat (id int PRIMARY KEY, name text, note text)
> ok
CREATE TABLE item (id int PRIMARY KEY, cat int REFERENCES cat (id), price numeric(6,2), active bool)
> ok
INSERT INTO cat VALUES (1, 'tools', 'a'), (2, 'toys', 'b'), (3, 'empty', 'c')
> ok 3
INSERT INTO item VALUES (1, 1, 10.00, true), (2, 1, 5.50, false), (3, 2, 7.25, true), (4, 2, NULL, true), (5, 2, 1.00, false)
> ok 5
SELECT count(*), count(*) FILTER (WHERE active), count(id) FILTER (WHERE price > 5), sum(price) FILTER (WHERE active), max(price) FILTER (WHERE NOT active), avg(price) FILTER (WHERE id < 3) FROM item
> (5, 3, 3, 17.25, 5.50, 7.7500000000000000)
SELECT count(*) FILTER (WHERE price IS NULL), sum(price) FILTER (WHERE false), count(*) FILTER (WHERE NULL) FROM item
> (1, null, 0)
SELECT cat, count(*) FILTER (WHERE active), array_agg(id ORDER BY id DESC) FILTER (WHERE active), string_agg(id::text, ',') FILTER (WHERE price IS NOT NULL) FROM item GROUP BY cat ORDER BY cat
> (1, 1, {1}, 1,2)
> (2, 2, {4,3}, 3,5)
SELECT cat FROM item GROUP BY cat HAVING count(*) FILTER (WHERE active) > 1
> (2)
SELECT count(DISTINCT active) FILTER (WHERE id > 1) FROM item
> (2)
# the same aggregate with and without a filter are two aggregates
SELECT count(*), count(*) FILTER (WHERE active) FROM item
> (5, 3)
# PostgreSQL names the type without its modifier (numeric)
SELECT count(*) FILTER (WHERE price) FROM item
> error 42804 argument of FILTER must be type boolean, not type numeric(6,2)
SELECT count(*) FILTER (WHERE count(*) > 1) FROM item
> error 42803 aggregate functions are not allowed in FILTER
SELECT lower('A') FILTER (WHERE true)
> error 42809 FILTER specified, but lower is not an aggregate function

# grouped by the primary key, the other columns of its table may be named
SELECT c.name, c.note, count(i.id), count(i.id) FILTER (WHERE i.active) FROM cat c LEFT JOIN item i ON i.cat = c.id GROUP BY c.id ORDER BY c.name
> (empty, c, 0, 0)
> (tools, a, 2, 1)
> (toys, b, 3, 2)
SELECT c.id, c.name, sum(i.price) FROM item i JOIN cat c ON c.id = i.cat GROUP BY c.id ORDER BY 2
> (1, tools, 15.50)
> (2, toys, 8.25)
SELECT name FROM cat GROUP BY id ORDER BY name
> (empty)
> (tools)
> (toys)
# not for a column of another table, nor when grouping by something else
SELECT c.name, i.price FROM cat c JOIN item i ON i.cat = c.id GROUP BY c.id
> error 42803 column must appear in the GROUP BY clause or be used in an aggregate function
SELECT name, note FROM cat GROUP BY name
> error 42803 column must appear in the GROUP BY clause or be used in an aggregate function
