-- round and trunc at a number of decimals (negative: left of the point), over numeric and
-- double precision, NULLs.
SELECT trunc(2.567, 1), trunc(-2.567, 2), trunc(2.567), trunc(1234.5, -2), trunc(-1234.5, -2), trunc(0.0009, 3);
SELECT round(2.567, 1), round(-2.565, 2), round(2.5), round(1250.5, -2), round(1249.5, -2), round(-1250, -2);
SELECT trunc(-2.5::float8), round(2.5::float8), trunc(NULL::numeric, 1), trunc(2.5, NULL), round(7, 1), trunc(7, -1);
SELECT trunc(2.567::float8, 1);
SELECT round(2.567::float8, 2);
SELECT round('x'::text, 2);
SELECT trunc(12.3456, 2) * 2, round(7.0 / 3, 4);
