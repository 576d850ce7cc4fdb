# Arrays: one-dimensional arrays of every scalar type, as columns, literals ('{...}',
# ARRAY[...]), casts, subscripts, = ANY / <> ALL, the array functions, array_agg and unnest
# in FROM (one array or several, as Django's bulk_create sends). NULL elements and empty
# arrays are values; a multidimensional array is refused (0A000). Checked against PostgreSQL 15.

CREATE TABLE items (id int PRIMARY KEY, tags text[], nums integer[], names varchar(3)[], prices numeric(5,2)[])
> ok
INSERT INTO items VALUES (1, '{red,"dark blue",NULL}', ARRAY[3,1,2], '{ab,c}', '{1.5,2}')
> ok 1
INSERT INTO items VALUES (2, ARRAY['x'], '{}', NULL, ARRAY[0.125])
> ok 1
INSERT INTO items VALUES (3, '{"",NULL,"null","a,b","q\"uote","back\\slash"}', '{7}', '{}', '{}')
> ok 1
SELECT * FROM items ORDER BY id
> (1, {red,"dark blue",NULL}, {3,1,2}, {ab,c}, {1.50,2.00})
> (2, {x}, {}, null, {0.13})
> (3, {"",NULL,"null","a,b","q\"uote","back\\slash"}, {7}, {}, {})
INSERT INTO items (id, names) VALUES (4, '{abcd}')
> error 22001 value too long for type character varying(3)
INSERT INTO items (id, nums) VALUES (4, '{1,x}')
> error 22P02 invalid input syntax for type integer: "x"
INSERT INTO items (id, nums) VALUES (4, '1,2')
> error 22P02 malformed array literal: "1,2"
# PostgreSQL accepts this (isola's one difference in this file, with ARRAY[ARRAY[...]] below).
SELECT '{{1,2},{3,4}}'::int[]
> error 0A000 multidimensional arrays are not supported

# Subscripts (out of range is NULL), lengths, cardinality, array_to_string.
SELECT id, tags[1], tags[3], nums[0], nums[4], array_length(nums, 1), cardinality(nums), array_upper(tags, 1), array_lower(nums, 1) FROM items ORDER BY id
> (1, red, null, null, null, 3, 3, 3, 1)
> (2, x, null, null, null, null, 0, 1, null)
> (3, , null, null, null, 1, 1, 6, 1)
SELECT array_to_string(tags, '|'), array_to_string(tags, '|', '*') FROM items WHERE id = 1
> (red|dark blue, red|dark blue|*)

# = ANY / <> ALL over a column, a literal and ARRAY[...]; NULL elements make "unknown".
SELECT id FROM items WHERE 2 = ANY(nums) ORDER BY id
> (1)
SELECT id FROM items WHERE 'x' = ANY(tags) OR 7 = ANY(nums) ORDER BY id
> (2)
> (3)
SELECT id FROM items WHERE id = ANY('{1,3,5}') ORDER BY id
> (1)
> (3)
SELECT id FROM items WHERE id <> ALL(ARRAY[1,3]) ORDER BY id
> (2)
SELECT 1 = ANY('{}'::int[]), 1 <> ALL('{}'::int[]), 1 = ANY('{NULL,2}'::int[]), 2 = ANY('{NULL,2}'::int[]), 5 > ALL(ARRAY[1,2]), 5 < ANY(ARRAY[1,2]), NULL::int = ANY(ARRAY[1])
> (f, t, null, t, t, f, null)

# Literals, ARRAY[...] and casts.
SELECT ARRAY[1,2,NULL], ARRAY['a', 'b c'], '{1,2}'::bigint[], ARRAY[1.5, 2], '{t,f}'::boolean[], '{a,b}'::text[]::varchar(1)[]
> ({1,2,NULL}, {a,"b c"}, {1,2}, {1.5,2}, {t,f}, {a,b})
SELECT ARRAY[1,2] = ARRAY[1,2], ARRAY[1,2] < ARRAY[1,3], '{1,2}'::int[] = '{1,2,3}'::int[]
> (t, t, f)
SELECT (ARRAY[10,20,30])[2], ('{a,b}'::text[])[1]
> (20, a)
SELECT '{1,2}'::int[]::text, ARRAY['x']::text
> ({1,2}, {x})
SELECT ARRAY[]
> error 42P18 cannot determine type of empty array
SELECT ARRAY[]::integer[], cardinality(ARRAY[]::text[])
> ({}, 0)
SELECT ARRAY[ARRAY[1,2],ARRAY[3,4]]
> error 0A000 multidimensional arrays are not supported

# Array operators and functions: || (arrays, an element appended or prepended), @>, <@, &&.
SELECT ARRAY[1,2] || ARRAY[3], ARRAY[1] || 2, 0 || ARRAY[1], '{a}'::text[] || 'b'::text, 'x' || 'y', ARRAY[1] || '{5,6}'
> ({1,2,3}, {1,2}, {0,1}, {a,b}, xy, {1,5,6})
SELECT array_cat(ARRAY[1], ARRAY[2,3]), array_append(ARRAY['a'], 'b'), array_prepend(0, ARRAY[1]), array_append(NULL::int[], 1)
> ({1,2,3}, {a,b}, {0,1}, {1})
SELECT ARRAY[1,2,3] @> ARRAY[2], ARRAY[1,2] @> ARRAY[3], ARRAY[2] <@ ARRAY[1,2], ARRAY[1,2] && ARRAY[2,5], ARRAY[1] && ARRAY[3], ARRAY[1,NULL] @> ARRAY[NULL]::int[], '{a,b}'::text[] @> '{a}'
> (t, f, t, t, f, f, t)
SELECT id FROM items WHERE tags && '{x,red}' ORDER BY id
> (1)
> (2)
SELECT array_position(ARRAY['a','b','c'], 'b'), array_position(ARRAY[1,NULL,3], NULL), array_position(ARRAY[1], 5)
> (2, 2, null)
SELECT string_to_array('a,b,,c', ','), string_to_array('abc', NULL), string_to_array('', ','), string_to_array('a,NA,b', ',', 'NA'), string_to_array('abc', '')
> ({a,b,"",c}, {a,b,c}, {}, {a,NULL,b}, {abc})
SELECT ARRAY[1,2] || ARRAY['a']
> error 42883 operator does not exist: integer[] || text[]
SELECT 1 @> 2
> error 42883 operator does not exist: integer @> integer

# array_agg keeps NULLs; unnest in FROM, one array or several (padded with NULLs).
SELECT array_agg(id) FROM items
> ({1,2,3})
SELECT array_agg(names[1]) FROM items
> ({ab,NULL,NULL})
SELECT * FROM unnest(ARRAY[1,2,3])
> (1)
> (2)
> (3)
SELECT x * 10 FROM unnest('{4,5}'::int[]) AS x ORDER BY x DESC
> (50)
> (40)
SELECT * FROM unnest(ARRAY[1,2], ARRAY['a','b','c']) AS u(n, s)
> (1, a)
> (2, b)
> (null, c)
SELECT t FROM items, unnest(tags) AS t WHERE id = 1
> (red)
> (dark blue)
> (null)
SELECT id, n FROM items JOIN unnest(nums) AS n ON n > 1 ORDER BY id, n
> (1, 2)
> (1, 3)
> (3, 7)
SELECT i.id, count(*) FROM items i, unnest(i.tags, i.nums) GROUP BY i.id ORDER BY i.id
> (1, 3)
> (2, 1)
> (3, 6)
SELECT ARRAY(SELECT id FROM items ORDER BY id DESC), ARRAY(SELECT id FROM items WHERE false)
> ({3,2,1}, {})
SELECT b.id, ARRAY(SELECT n FROM unnest(b.nums) AS n ORDER BY n) FROM items b ORDER BY b.id
> (1, {1,2,3})
> (2, {})
> (3, {7})
CREATE TABLE bulk (id serial PRIMARY KEY, name varchar(20), n integer)
> ok
INSERT INTO bulk (name, n) SELECT * FROM UNNEST(('{ann,bob,NULL}')::varchar[], ('{1,NULL,3}')::integer[]) RETURNING bulk.id
> (1)
> (2)
> (3)
SELECT * FROM bulk ORDER BY id
> (1, ann, 1)
> (2, bob, null)
> (3, null, 3)

# Updates of array columns, and arrays in the WHERE clause of a write.
UPDATE items SET nums = ARRAY[9, 8] WHERE id = 2 RETURNING nums
> ({9,8})
DELETE FROM items WHERE 9 = ANY(nums) RETURNING id
> (2)
