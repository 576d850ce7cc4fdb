-- now() is the transaction's start, statement_timestamp() the statement's, clock_timestamp()
-- the moment it is read.
SELECT now() = transaction_timestamp(), now() = CURRENT_TIMESTAMP, now() = current_timestamp;
SELECT now() <= statement_timestamp(), statement_timestamp() <= clock_timestamp();
SELECT CURRENT_DATE = now()::date, LOCALTIMESTAMP = now()::timestamp;
SELECT pg_typeof(now()), pg_typeof(statement_timestamp()), pg_typeof(clock_timestamp()), pg_typeof(CURRENT_DATE), pg_typeof(LOCALTIMESTAMP);
CREATE TABLE marks (name text PRIMARY KEY, t timestamptz, s timestamptz);
BEGIN;
INSERT INTO marks VALUES ('first', now(), statement_timestamp());
SELECT pg_sleep(0.02);
INSERT INTO marks VALUES ('second', now(), statement_timestamp());
SELECT now() = transaction_timestamp(), statement_timestamp() > now();
SELECT count(DISTINCT t), count(DISTINCT s) FROM marks;
SELECT (SELECT t FROM marks WHERE name = 'first') = now();
COMMIT;
SELECT count(DISTINCT t), count(DISTINCT s) FROM marks;
SELECT max(t) < now() FROM marks;
INSERT INTO marks VALUES ('third', now(), statement_timestamp());
SELECT t = s FROM marks WHERE name = 'third';
SELECT clock_timestamp() >= now(), clock_timestamp() - now() >= interval '0';
SELECT now() - interval '1 day' < now(), now() + interval '1 hour' > now();
SELECT date_trunc('day', now()) <= now(), EXTRACT(YEAR FROM now()) >= 2024;
BEGIN;
SELECT pg_sleep(0.02);
SELECT clock_timestamp() - now() >= interval '0.02 seconds';
ROLLBACK;
