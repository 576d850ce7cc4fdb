# Bitwise operators on integers: & | # (exclusive or) << >>, in the operands' integer type (a
# shift in its left operand's). Django's inspectdb reads index column options with
# `option & 1`. Anything but integers is 42883. Checked against PostgreSQL 15.

SELECT 12 & 10, 12 | 10, 12 # 10, 1 << 4, 256 >> 4, -16 >> 2
> (8, 14, 6, 16, 16, -4)
SELECT 5::smallint & 3::smallint, 5::smallint | 3, 5 # 3::bigint, 4611686018427387904 | 1
> (1, 7, 6, 4611686018427387905)
SELECT 1 << 31, 1::bigint << 40, (1::smallint << 15), 1 << 33
> (-2147483648, 1099511627776, -32768, 2)
SELECT NULL::int & 1, 3 | NULL
> (null, null)
SELECT x, x & 1, CASE (x & 1) WHEN 1 THEN 'DESC' ELSE 'ASC' END FROM (VALUES (0), (1), (3)) v(x) ORDER BY x
> (0, 0, ASC)
> (1, 1, DESC)
> (3, 1, DESC)
SELECT 1.5 & 1
> error 42883 operator does not exist: numeric & integer
SELECT 'a'::text | 1
> error 42883 operator does not exist: text | integer
SELECT true & false
> error 42883 operator does not exist: boolean & boolean
