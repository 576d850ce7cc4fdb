# SQL-level prepared statements: PREPARE name [(types)] AS statement, EXECUTE name [(args)],
# DEALLOCATE [PREPARE] name | ALL, as PostgreSQL 15 answers them.

CREATE TABLE kv (k int PRIMARY KEY, v text)
> ok

t1: PREPARE put (int, text) AS INSERT INTO kv VALUES ($1, $2)
> ok
t1: PREPARE get AS SELECT k, v FROM kv WHERE k >= $1 ORDER BY k
> ok
t1: EXECUTE put(1, 'one')
> ok 1
t1: EXECUTE put(2, 'two')
> ok 1
# Arguments are coerced to the parameter types; a string that is no integer fails.
t1: EXECUTE put('3', 'three')
> ok 1
t1: EXECUTE put('x', 'nope')
> error 22P02 invalid input syntax for type integer: "x"
t1: EXECUTE get(2)
> (2, two)
> (3, three)
t1: EXECUTE get(1, 2)
> error 42601 wrong number of parameters for prepared statement "get"
t1: EXECUTE get
> error 42601 wrong number of parameters for prepared statement "get"
t1: PREPARE get AS SELECT 1
> error 42P05 prepared statement "get" already exists
t1: PREPARE oops AS BEGIN
> error 42601 syntax error at or near "BEGIN"
# Prepared statements belong to their session.
t2: EXECUTE get(1)
> error 26000 prepared statement "get" does not exist
# Inside a block, EXECUTE runs in the block's transaction.
t1: BEGIN
> ok
t1: EXECUTE put(4, 'four')
> ok 1
t1: ROLLBACK
> ok
t1: EXECUTE get(3)
> (3, three)
t1: DEALLOCATE get
> ok
t1: DEALLOCATE PREPARE get
> error 26000 prepared statement "get" does not exist
t1: EXECUTE get(1)
> error 26000 prepared statement "get" does not exist
t1: DEALLOCATE ALL
> ok
t1: EXECUTE put(5, 'five')
> error 26000 prepared statement "put" does not exist

# pg_prepared_statements lists the session's own.
t1: PREPARE q1 (int, text) AS SELECT $1, $2
> ok
t1: SELECT name, statement, parameter_types, from_sql FROM pg_prepared_statements
> (q1, PREPARE q1 (int, text) AS SELECT $1, $2, {integer,text}, t)
t2: SELECT count(*) FROM pg_prepared_statements
> (0)
t1: DEALLOCATE q1
> ok
t1: SELECT count(*) FROM pg_prepared_statements
> (0)
