# Functions in FROM and the catalog's vectors: unnest / generate_subscripts /
# pg_partition_ancestors WITH ORDINALITY; int2vector printed `1 2` but subscripted (from 0,
# as PostgreSQL's vectors count), unnested and compared with = ANY as an array;
# pg_size_pretty, quote_ident. Checked against PostgreSQL 15.

CREATE TABLE pair (a int, b text, c int, PRIMARY KEY (c, a))
> ok
SELECT * FROM unnest(ARRAY[10, 20]) WITH ORDINALITY AS u(v, n)
> (10, 1)
> (20, 2)
SELECT * FROM pg_catalog.unnest(ARRAY['x', 'y', 'z']) WITH ORDINALITY
> (x, 1)
> (y, 2)
> (z, 3)
SELECT * FROM generate_subscripts(ARRAY[7, 8, 9], 1)
> (1)
> (2)
> (3)
SELECT s FROM generate_subscripts(ARRAY[7, 8], 1) AS s
> (1)
> (2)
SELECT relid FROM pg_partition_ancestors('pair'::regclass)
> no rows
SELECT i.indkey, i.indkey::text, i.indkey[0], i.indkey[1], 3 = ANY(i.indkey), 2 = ANY(i.indkey) FROM pg_index i WHERE i.indrelid = 'pair'::regclass
> (3 1, 3 1, 3, 1, t, f)
SELECT s FROM pg_index i, generate_subscripts(i.indkey, 1) AS s WHERE i.indrelid = 'pair'::regclass
> (0)
> (1)
SELECT k, n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS u(k, n) WHERE i.indrelid = 'pair'::regclass
> (3, 1)
> (1, 2)
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'pair'::regclass ORDER BY a.attnum
> (a)
> (c)
SELECT i.indexrelid = 'pair_pkey'::regclass, unnest(i.indkey) AS k, generate_subscripts(i.indkey, 1) AS o FROM pg_index i WHERE i.indrelid = 'pair'::regclass ORDER BY o
> (t, 3, 0)
> (t, 1, 1)
SELECT unnest(ARRAY[1, 2, 3]), unnest(ARRAY['a', 'b'])
> (1, a)
> (2, b)
> (3, null)
SELECT array_agg(x ORDER BY y DESC), string_agg(x::text, ',' ORDER BY y), array_agg(x ORDER BY y) FROM (VALUES (1, 2), (2, 1), (3, NULL)) AS v(x, y)
> ({3,1,2}, 2,1,3, {2,1,3})
SELECT a.attname FROM (SELECT unnest(indkey) AS k FROM pg_index WHERE indrelid = 'pair'::regclass) AS i JOIN pg_attribute a ON a.attnum = i.k AND a.attrelid = 'pair'::regclass ORDER BY 1
> (a)
> (c)
SELECT current_setting('default_table_access_method')
> (heap)
SELECT pg_size_pretty(10239::bigint), pg_size_pretty(10240::bigint), pg_size_pretty(123456789::bigint)
> (10239 bytes, 10 kB, 118 MB)
SELECT quote_ident('plain'), quote_ident('Mixed'), quote_ident('a b')
> (plain, "Mixed", "a b")
