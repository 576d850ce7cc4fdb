-- round, trunc, floor, ceil of one argument resolved as PostgreSQL does: numeric stays
-- numeric, integers, real and untyped literals become double precision (so a big bigint
-- comes back in exponential notation); double precision and real written as PostgreSQL
-- writes them: shortest exact digits, exponential below 1e-4 and from 1e15 (1e6 for real).
CREATE TABLE nums (i int, s smallint, b bigint, r real, d float8, n numeric, t text);
INSERT INTO nums VALUES (7, 7, 7, 2.5, 2.5, 2.5, '2.5'), (-7, -7, -7, -2.5, -2.5, -2.5, 'x'), (NULL, NULL, NULL, NULL, NULL, NULL, NULL), (2147483647, 32767, 12345678901234567, 3.5, 1e16, 12345.678, '');
SELECT pg_typeof(round(i)), pg_typeof(round(s)), pg_typeof(round(b)), pg_typeof(round(r)), pg_typeof(round(d)), pg_typeof(round(n)) FROM nums LIMIT 1;
SELECT pg_typeof(trunc(i)), pg_typeof(trunc(s)), pg_typeof(trunc(b)), pg_typeof(trunc(r)), pg_typeof(trunc(d)), pg_typeof(trunc(n)) FROM nums LIMIT 1;
SELECT pg_typeof(floor(i)), pg_typeof(floor(b)), pg_typeof(floor(r)), pg_typeof(floor(n)), pg_typeof(ceil(i)), pg_typeof(ceil(r)), pg_typeof(ceiling(b)), pg_typeof(ceiling(n)) FROM nums LIMIT 1;
SELECT pg_typeof(round(5)), pg_typeof(trunc(5)), pg_typeof(floor(5)), pg_typeof(ceil(5)), pg_typeof(round(5.5)), pg_typeof(round('5')), pg_typeof(round(NULL));
SELECT round(i), trunc(i), floor(i), ceil(i), ceiling(i) FROM nums ORDER BY i NULLS LAST;
SELECT round(b), trunc(b), floor(b), ceil(b) FROM nums ORDER BY b NULLS LAST;
SELECT round(r), trunc(r), floor(r), ceil(r) FROM nums ORDER BY r NULLS LAST;
SELECT round(d), trunc(d), floor(d), ceil(d) FROM nums ORDER BY d NULLS LAST;
SELECT round(n), trunc(n), floor(n), ceil(n) FROM nums ORDER BY n NULLS LAST;
SELECT round(s), trunc(s), round(s) / 2, round(i) / 2, round(7) / 2, round(7.0) / 2;
SELECT round(2.5::real), round(3.5::real), round(-2.5::real), round(0.5), round(1.5), round('2.5'), floor('2.5'), ceil('-2.5');
SELECT round(2.567::numeric(10, 3)), trunc(2.567::numeric(10, 3)), floor(2.5::numeric(4, 1)), ceil(2.5::numeric(4, 1));
SELECT round(12345678901234567::bigint), trunc(12345678901234567::bigint), floor(12345678901234567::bigint), ceil(-12345678901234567::bigint);
SELECT sum(round(i)), avg(round(i)), max(trunc(b)) FROM nums;
SELECT round(t) FROM nums;
SELECT round(true);
SELECT floor('x'::text);
SELECT round();
SELECT trunc('2.9');
-- floats written as PostgreSQL writes them
SELECT 1e15::float8, 1e16::float8, -1e16::float8, 123456789012345::float8, 1234567890123456::float8, 99999999999999.99::float8;
SELECT 0.0001::float8, 0.00001::float8, 1.5e-5::float8, 0.000123456::float8, -0.0::float8, 0::float8, 123.456::float8;
SELECT 12345678901234567::bigint::float8, 100000000000000000000::float8, 123456789012345678::float8;
SELECT 1e6::real, 123456::real, 1234567::real, 999999.9::real, 12345678::real, 0.0001::real, 0.00001::real, 1e16::real;
SELECT 1e20::float8::text, 1e6::real::text, 0.00001::float8::text, (1e16::float8)::numeric;
SELECT d, r FROM nums ORDER BY d NULLS LAST;
SELECT d * 1000, d / 1e10, r * 1000000 FROM nums ORDER BY d NULLS LAST;
SELECT x::float8 * 1e14 FROM generate_series(1, 12) x ORDER BY x;
SELECT ARRAY[1e16::float8, 1.5, 1e-5];
