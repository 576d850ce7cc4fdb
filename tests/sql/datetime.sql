# EXTRACT(field FROM v) (a numeric), date_part (a float8), date_trunc and AT TIME ZONE: what
# Django's date lookups send (`EXTRACT(MONTH FROM c AT TIME ZONE 'UTC')`,
# `(c AT TIME ZONE 'UTC')::date`). isola's sessions run in UTC; AT TIME ZONE reads the tz
# database's zones. Checked against PostgreSQL 15 with its session TimeZone set to UTC.

CREATE TABLE ev (id int PRIMARY KEY, at timestamptz, local timestamp, day date)
> ok
INSERT INTO ev VALUES (1, '2024-02-29 13:45:30.25+00', '2024-02-29 13:45:30.25', '2024-02-29'), (2, '1999-12-31 23:59:59+00', '2000-01-01 00:00:00', '2000-01-01'), (3, NULL, NULL, NULL)
> ok 3
SELECT id, EXTRACT(YEAR FROM at), EXTRACT(MONTH FROM at), EXTRACT(DAY FROM at), EXTRACT(HOUR FROM at), EXTRACT(MINUTE FROM at), EXTRACT(SECOND FROM at) FROM ev ORDER BY id
> (1, 2024, 2, 29, 13, 45, 30.250000)
> (2, 1999, 12, 31, 23, 59, 59.000000)
> (3, null, null, null, null, null, null)
SELECT id, EXTRACT(DOW FROM local), EXTRACT(ISODOW FROM local), EXTRACT(DOY FROM local), EXTRACT(WEEK FROM local), EXTRACT(ISOYEAR FROM local), EXTRACT(QUARTER FROM local) FROM ev ORDER BY id
> (1, 4, 4, 60, 9, 2024, 1)
> (2, 6, 6, 1, 52, 1999, 1)
> (3, null, null, null, null, null, null)
SELECT id, EXTRACT(EPOCH FROM at), EXTRACT(MILLISECONDS FROM at), EXTRACT(MICROSECONDS FROM at), EXTRACT(CENTURY FROM local), EXTRACT(DECADE FROM local), EXTRACT(MILLENNIUM FROM local) FROM ev ORDER BY id
> (1, 1709214330.250000, 30250.000, 30250000, 21, 202, 3)
> (2, 946684799.000000, 59000.000, 59000000, 20, 200, 2)
> (3, null, null, null, null, null, null)
SELECT id, EXTRACT(YEAR FROM day), EXTRACT(DOY FROM day), EXTRACT(EPOCH FROM day) FROM ev ORDER BY id
> (1, 2024, 60, 1709164800)
> (2, 2000, 1, 946684800)
> (3, null, null, null)
SELECT date_part('month', at), date_part('second', local), date_part('epoch', day) FROM ev WHERE id = 1
> (2, 30.25, 1709164800)
SELECT date_trunc('day', at), date_trunc('week', local), date_trunc('month', at), date_trunc('quarter', local), date_trunc('year', at), date_trunc('hour', local), date_trunc('second', at) FROM ev WHERE id = 1
> (2024-02-29 00:00:00+00, 2024-02-26 00:00:00, 2024-02-01 00:00:00+00, 2024-01-01 00:00:00, 2024-01-01 00:00:00+00, 2024-02-29 13:00:00, 2024-02-29 13:45:30+00)
SELECT date_trunc('decade', local), date_trunc('century', local), date_trunc('millennium', local) FROM ev WHERE id = 2
> (2000-01-01 00:00:00, 1901-01-01 00:00:00, 1001-01-01 00:00:00)
SELECT at AT TIME ZONE 'UTC', local AT TIME ZONE 'UTC', (at AT TIME ZONE 'UTC')::date, EXTRACT(MONTH FROM at AT TIME ZONE 'UTC') FROM ev WHERE id = 1
> (2024-02-29 13:45:30.25, 2024-02-29 13:45:30.25+00, 2024-02-29, 2)
SELECT day AT TIME ZONE 'UTC', '2024-01-02 10:00' AT TIME ZONE 'UTC' FROM ev WHERE id = 1
> (2024-02-29 00:00:00, 2024-01-02 10:00:00)
SELECT count(*) FROM ev WHERE EXTRACT(MONTH FROM at AT TIME ZONE 'UTC') = 2 AND (at AT TIME ZONE 'UTC')::date = '2024-02-29'
> (1)
SELECT EXTRACT(HOUR FROM day) FROM ev WHERE id = 1
> error 0A000 unit "hour" not supported for type date
SELECT EXTRACT(FORTNIGHT FROM at) FROM ev WHERE id = 1
> error 22023 unit "fortnight" not recognized for type timestamp with time zone
SELECT date_trunc('fortnight', local) FROM ev WHERE id = 1
> error 22023 unit "fortnight" not recognized for type timestamp without time zone
SELECT EXTRACT(YEAR FROM id) FROM ev
> error 42883 function pg_catalog.extract(unknown, integer) does not exist
# the wall-clock time in the zone (CST in February)
SELECT at AT TIME ZONE 'America/Chicago' FROM ev WHERE id = 1
> (2024-02-29 07:45:30.25)
