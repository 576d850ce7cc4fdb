-- The double precision math functions: sqrt, exp, ln, log / log10, power / pow and the ^
-- operator (unary minus binding tighter, left-associative), pi, degrees, radians, sign,
-- and mod (a % b in each type): integers and untyped literals read as double precision,
-- PostgreSQL's errors (2201F, 2201E, 22003, 22012), infinities and NaN, NULLs.
CREATE TABLE m (i int, b bigint, d float8, r real);
INSERT INTO m VALUES (4, 100, 2.25, 0.5), (0, 1, 0, 0), (NULL, NULL, NULL, NULL), (9, 1000000, 1e10, 1e6);
SELECT sqrt(4), sqrt(2::float8), sqrt(2), sqrt('9'), sqrt(0), sqrt(2::real), pg_typeof(sqrt(2::real)), pg_typeof(sqrt(4));
SELECT exp(0), exp(1), exp(1::float8), ln(1), ln(10), log(100), log(2), log10(1000), log(0.5::float8), pg_typeof(exp(1)), pg_typeof(log(10));
SELECT power(2, 10), power(2, 0.5::float8), pow(-8, 3), power(2::float8, -2), 2 ^ 10, 2 ^ 3 ^ 2, -2 ^ 2, -2 ^ 3 ^ 2, -(2 ^ 2), 2 ^ -1, pg_typeof(2 ^ 2);
SELECT pi(), degrees(1), radians(180), degrees(pi()), sign(-5), sign(0), sign(3::bigint), sign(-0.5::float8), pg_typeof(sign(5));
SELECT mod(7, 3), mod(-7, 3), mod(7::bigint, 2), mod(7.5, 2), mod(10::smallint, 3::smallint), pg_typeof(mod(7, 3)), pg_typeof(mod(7.5, 2)), pg_typeof(mod(7::bigint, 2));
SELECT i, sqrt(i), exp(i), ln(b), log(b), power(i, 2), i ^ 0.5::float8, sign(i - 4), mod(b, 7) FROM m ORDER BY i NULLS LAST;
SELECT d, sqrt(d), ln(d + 1), power(d, 2), -d ^ 2, degrees(d), radians(d) FROM m ORDER BY d NULLS LAST;
SELECT r, sqrt(r), exp(r), r ^ 2 FROM m ORDER BY r NULLS LAST;
SELECT sqrt(x), exp(x), ln(x + 1), x ^ 2, power(x, x), -x ^ 2 FROM generate_series(0, 5) x ORDER BY x;
SELECT sqrt(NULL::int), power(2, NULL::int), NULL::float8 ^ 2, pi() * 2, round(sqrt(2), 4) FROM m LIMIT 1;
SELECT exp('Infinity'::float8), exp('-Infinity'::float8), sqrt('Infinity'::float8), power('NaN'::float8, 0), power(1, 'NaN'::float8), sign('NaN'::float8), ln('Infinity'::float8);
SELECT sum(sqrt(i)), max(power(i, 2)) FROM m;
SELECT sqrt(-1);
SELECT ln(0);
SELECT ln(-1);
SELECT log(0);
SELECT log10(-5);
SELECT exp(1000);
SELECT exp(-1000);
SELECT power(0, -1);
SELECT power(-8, 0.5::float8);
SELECT power(10, 400);
SELECT 0 ^ -1;
SELECT mod(1, 0);
SELECT sqrt('x');
SELECT sqrt(true);
SELECT sqrt();
SELECT power(2);
SELECT pi(1);
SELECT sqrt(i) FROM m WHERE i IS NOT NULL ORDER BY sqrt(i) DESC;
-- gcd and lcm of integers (in the wider's type), div (the integral quotient, a numeric)
SELECT gcd(12, 18), gcd(-12, 18), gcd(0, 0), gcd(0, 5), gcd(12::bigint, 8), pg_typeof(gcd(12, 18)), pg_typeof(gcd(12::bigint, 18)), pg_typeof(gcd(1::smallint, 2));
SELECT lcm(4, 6), lcm(-4, 6), lcm(0, 5), lcm(4::bigint, 6), pg_typeof(lcm(4, 6));
SELECT div(7, 2), div(-7, 2), div(7.5, 2), div(9, 3), pg_typeof(div(7, 2)), div(10::bigint, 3), div(-3, 4);
SELECT x, gcd(x, 6), lcm(x, 6), div(x, 4) FROM generate_series(-5, 5) x ORDER BY x;
SELECT gcd(NULL, 6), div(NULL, 1), lcm(i, b) FROM m ORDER BY i NULLS LAST;
SELECT gcd(1::smallint, 2::smallint);
SELECT gcd(-2147483648, 0);
SELECT gcd(-9223372036854775808::bigint, 0);
SELECT lcm(2147483647, 2147483646);
SELECT div(1, 0);
SELECT gcd(1::float8, 2);
SELECT div(1::float8, 2);
SELECT gcd(1);
