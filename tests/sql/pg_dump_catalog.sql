# What pg_dump 15 reads besides the catalogs psql does (tests/tools_pg_dump.rs runs pg_dump
# itself): a `name` column subscripted byte by byte (from 0), array_remove, quote_literal,
# pg_options_to_table, text::regnamespace, a sequence read as a relation, the empty catalogs
# (foreign data, operators, casts, text search, ...), a recursive query whose non-recursive
# term reads an always-empty catalog (pg_dump's materialized-view dependencies); names under
# an empty search_path (pg_dump's): current_schemas, defaults and foreign keys qualified as
# regclass prints them; CHECK constraints named as PostgreSQL names them, IN lists printed as it
# prints them; ALTER TABLE on a sequence (OWNER TO only); the settings a dump script sets.
# Checked against PostgreSQL 15.

CREATE TABLE p (id serial PRIMARY KEY, a int, b int, CHECK (a > 0), CHECK (a < b), CHECK (b > 0), CHECK (a <> 5))
> ok
CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p(id))
> ok
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'p'::regclass AND contype = 'c' ORDER BY conname
> (p_a_check, CHECK ((a > 0)))
> (p_a_check1, CHECK ((a <> 5)))
> (p_b_check, CHECK ((b > 0)))
> (p_check, CHECK ((a < b)))
CREATE TABLE p2 (a int, b int CHECK (b > a), c int CHECK (c > 0) CHECK (c < 10))
> ok
SELECT conname FROM pg_constraint WHERE conrelid = 'p2'::regclass ORDER BY 1
> (p2_c_check)
> (p2_c_check1)
> (p2_check)
ALTER TABLE p ADD CHECK (b < 100)
> ok
ALTER TABLE p ADD CHECK (a < 100)
> ok
SELECT conname FROM pg_constraint WHERE conrelid = 'p'::regclass AND contype = 'c' ORDER BY conname
> (p_a_check)
> (p_a_check1)
> (p_a_check2)
> (p_b_check)
> (p_b_check1)
> (p_check)
# IN lists as PostgreSQL stores them: = ANY / <> ALL over an array (a varchar compared as text,
# integers meeting a bigint as bigints), one item as =
CREATE TABLE il (a text CHECK (a IN ('x', 'y')), b varchar(5) CHECK (b NOT IN ('p', 'q')), c int CHECK (c IN (1, 2, 3)), d int CHECK (d IN (4)), e bigint CHECK (e NOT IN (5, 6)))
> ok
SELECT conname, pg_get_constraintdef(oid), pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conrelid = 'il'::regclass ORDER BY conname
> (il_a_check, CHECK ((a = ANY (ARRAY['x'::text, 'y'::text]))), CHECK (a = ANY (ARRAY['x'::text, 'y'::text])))
> (il_b_check, CHECK (((b)::text <> ALL ((ARRAY['p'::character varying, 'q'::character varying])::text[]))), CHECK (b::text <> ALL (ARRAY['p'::character varying, 'q'::character varying]::text[])))
> (il_c_check, CHECK ((c = ANY (ARRAY[1, 2, 3]))), CHECK (c = ANY (ARRAY[1, 2, 3])))
> (il_d_check, CHECK ((d = 4)), CHECK (d = 4))
> (il_e_check, CHECK ((e <> ALL (ARRAY[(5)::bigint, (6)::bigint]))), CHECK (e <> ALL (ARRAY[5::bigint, 6::bigint])))
# ... and as a restore writes them back: PostgreSQL's printed text prints again the same (a
# difference: PostgreSQL, given this text, folds the casts into each element and prints
# ARRAY[('a'::character varying)::text, ...])
CREATE TABLE il2 (k varchar(5) CONSTRAINT k_in CHECK (((k)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))))
> ok
SELECT pg_get_constraintdef(oid), pg_get_constraintdef(oid, true) FROM pg_constraint WHERE conname = 'k_in'
> (CHECK (((k)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))), CHECK (k::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])))
# an index column's declared order is kept in the catalog (the index is stored ascending
# whatever it says, and read so)
CREATE TABLE ix (a int, b text, c int, d int)
> ok
CREATE INDEX ix_1 ON ix (a DESC, b)
> ok
CREATE INDEX ix_2 ON ix (a ASC NULLS FIRST, b DESC NULLS LAST, c DESC NULLS FIRST, d NULLS LAST)
> ok
SELECT c.relname, i.indoption, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 0, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'ix'::regclass ORDER BY 1
> (ix_1, 3 0, CREATE INDEX ix_1 ON public.ix USING btree (a DESC, b), CREATE INDEX ix_1 ON ix USING btree (a DESC, b))
> (ix_2, 2 1 3 0, CREATE INDEX ix_2 ON public.ix USING btree (a NULLS FIRST, b DESC NULLS LAST, c DESC, d), CREATE INDEX ix_2 ON ix USING btree (a NULLS FIRST, b DESC NULLS LAST, c DESC, d))
INSERT INTO ix VALUES (1, 'x', 1, 1), (2, 'y', NULL, 2), (NULL, 'z', 3, 3)
> ok 3
SELECT a FROM ix ORDER BY a DESC
> (null)
> (2)
> (1)
SELECT typname, typname[0], typname[1], typname[63], typname[64] FROM pg_type WHERE typname IN ('int4', '_int4') ORDER BY 1
> (_int4, _, i, , null)
> (int4, i, n, , null)
SELECT typname FROM pg_type WHERE typname[0] = '_' AND typelem = 23
> (_int4)
SELECT array_remove(ARRAY[1, 2, 1, NULL], 1), array_remove(ARRAY['a', NULL, 'b'], NULL), array_remove(NULL::int[], 1)
> ({2,NULL}, {a,b}, null)
SELECT quote_literal('it''s'), quote_literal(E'back\\slash'), quote_literal(NULL), quote_literal(42)
> ('it''s', E'back\\slash', null, '42')
SELECT * FROM pg_options_to_table(ARRAY['fillfactor=70', 'autovacuum_enabled=false'])
> (fillfactor, 70)
> (autovacuum_enabled, false)
SELECT option_name, option_value FROM pg_options_to_table(NULL)
> no rows
SELECT 'pg_catalog'::regnamespace::oid, 'public'::regnamespace::oid
> (11, 2200)
SELECT 'nowhere'::regnamespace
> error 3F000 schema "nowhere" does not exist
SELECT last_value, log_cnt, is_called FROM p_id_seq
> (1, 0, f)
INSERT INTO p (a, b) VALUES (1, 2), (3, 4)
> ok 2
SELECT last_value, is_called FROM public.p_id_seq
> (2, t)
SELECT setval('p_id_seq', 10, false)
> (10)
SELECT last_value, is_called FROM p_id_seq
> (10, f)
SELECT count(*) FROM pg_foreign_table
> (0)
SELECT count(*) FROM pg_operator WHERE oid >= 16384
> (0)
SELECT count(*) FROM pg_cast WHERE oid >= 16384
> (0)
SELECT count(*) FROM pg_ts_config WHERE oid >= 16384
> (0)
SELECT count(*) FROM pg_event_trigger
> (0)
SELECT count(*) FROM pg_init_privs WHERE objoid >= 16384
> (0)
SELECT count(*) FROM pg_subscription
> (0)
SELECT count(*) FROM pg_foreign_data_wrapper
> (0)
SELECT relfrozenxid IS NOT NULL, relminmxid IS NOT NULL FROM pg_class WHERE relname = 'p'
> (t, t)
WITH RECURSIVE w AS (SELECT d1.objid, d2.refobjid, c2.relkind AS refrelkind FROM pg_depend d1 JOIN pg_class c1 ON c1.oid = d1.objid AND c1.relkind = 'm' JOIN pg_rewrite r1 ON r1.ev_class = d1.objid JOIN pg_depend d2 ON d2.classid = 'pg_rewrite'::regclass AND d2.objid = r1.oid AND d2.refobjid <> d1.objid JOIN pg_class c2 ON c2.oid = d2.refobjid AND c2.relkind IN ('m','v') WHERE d1.classid = 'pg_class'::regclass UNION SELECT w.objid, d3.refobjid, c3.relkind FROM w JOIN pg_rewrite r3 ON r3.ev_class = w.refobjid JOIN pg_depend d3 ON d3.classid = 'pg_rewrite'::regclass AND d3.objid = r3.oid AND d3.refobjid <> w.refobjid JOIN pg_class c3 ON c3.oid = d3.refobjid AND c3.relkind IN ('m','v')) SELECT 'pg_class'::regclass::oid AS classid, objid, refobjid FROM w WHERE refrelkind = 'm'
> no rows
# a recursive query isola cannot show empty runs like any WITH RECURSIVE
WITH RECURSIVE n AS (SELECT 1 AS k UNION SELECT k + 1 FROM n WHERE k < 3) SELECT k FROM n
> (1)
> (2)
> (3)
SELECT current_schemas(false), current_schemas(true)
> ({public}, {pg_catalog,public})
SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'p'::regclass
> (nextval('p_id_seq'::regclass))
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'c_p_id_fkey'
> (FOREIGN KEY (p_id) REFERENCES p(id))
SELECT pg_catalog.set_config('search_path', '', false)
> ()
SELECT current_schemas(false), current_schemas(true)
> ({}, {pg_catalog})
SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = 'public.p'::regclass
> (nextval('public.p_id_seq'::regclass))
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'c_p_id_fkey'
> (FOREIGN KEY (p_id) REFERENCES public.p(id))
SELECT pg_catalog.set_config('search_path', '"$user", public', false)
> ("$user", public)
ALTER TABLE p_id_seq OWNER TO isola
> ok
ALTER TABLE p_id_seq ADD COLUMN x int
> error 42809 "p_id_seq" is not a table
SET check_function_bodies = false
> ok
SET xmloption = content
> ok
SET default_tablespace = ''
> ok
SET default_table_access_method = heap
> ok
