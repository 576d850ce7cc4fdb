# json and jsonb: input must be JSON (22P02 otherwise); json keeps the text as written,
# jsonb prints PostgreSQL's canonical form (keys shorter first then bytewise, the last of a
# repeated key, ", " and ": ", numbers as numerics print). Checked against PostgreSQL 15.

CREATE TABLE docs (id int PRIMARY KEY, j json, b jsonb)
> ok
INSERT INTO docs VALUES (1, '  {"b":1, "a" : 2}  ', '{"color":"red","n":4,"tags":["a","b"],"n":5}')
> ok 1
INSERT INTO docs VALUES (2, '[1.50, 1e2]', '[1.50, 1e2, -0.5E1, 1.50e1, 1.5e-3, 0.0, -0, 1E+2, true, null, "\u00e9\n"]')
> ok 1
SELECT id, j, b FROM docs ORDER BY id
> (1,   {"b":1, "a" : 2}  , {"n": 5, "tags": ["a", "b"], "color": "red"})
> (2, [1.50, 1e2], [1.50, 100, -5, 15.0, 0.0015, 0.0, 0, 100, true, null, "é\n"])
SELECT '{"x": {"yy": [], "z": {}}}'::jsonb, '"a\"b\\c\t"'::jsonb, 'null'::jsonb, '12'::json
> ({"x": {"z": {}, "yy": []}}, "a\"b\\c\t", null, 12)
INSERT INTO docs VALUES (3, '{', NULL)
> error 22P02 invalid input syntax for type json
INSERT INTO docs VALUES (3, NULL, '{"a" 1}')
> error 22P02 invalid input syntax for type json
SELECT '[1,]'::jsonb
> error 22P02 invalid input syntax for type json
SELECT '01'::jsonb
> error 22P02 invalid input syntax for type json
SELECT '"\u0000"'::jsonb
> error 22P05 unsupported Unicode escape sequence

# The operators: -> and ->> (a member, or an element: negative counts from the end), #> and
# #>> (a path), ? ?| ?& (keys), @> and <@ (containment); jsonb compares as PostgreSQL orders
# it (numbers numerically). What Django's JSONField lookups send.
CREATE TABLE d (id int PRIMARY KEY, b jsonb)
> ok
INSERT INTO d VALUES (1, '{"color": "red", "n": 4, "tags": ["a", "b"], "sub": {"x": [1, {"y": true}]}}'), (2, '{"color": "blue", "n": 10, "tags": []}'), (3, '[1, "two", null]'), (4, NULL)
> ok 4
SELECT id, b -> 'color', b ->> 'color', b -> 'n', b ->> 'missing', b -> 1, b ->> 1, b -> -1 FROM d ORDER BY id
> (1, "red", red, 4, null, null, null, null)
> (2, "blue", blue, 10, null, null, null, null)
> (3, null, null, null, null, "two", two, null)
> (4, null, null, null, null, null, null, null)
SELECT id, b #> '{sub,x,1}', b #>> '{sub,x,1,y}', b #> '{tags,0}', b #>> '{}' FROM d ORDER BY id
> (1, {"y": true}, true, "a", {"n": 4, "sub": {"x": [1, {"y": true}]}, "tags": ["a", "b"], "color": "red"})
> (2, null, null, null, {"n": 10, "tags": [], "color": "blue"})
> (3, null, null, null, [1, "two", null])
> (4, null, null, null, null)
SELECT id FROM d WHERE (b -> 'color') = '"red"'
> (1)
SELECT id FROM d WHERE (b -> 'n') > '5' ORDER BY id
> (2)
SELECT id, b ? 'color', b ? 'two', b ?| ARRAY['x', 'tags'], b ?& ARRAY['n', 'tags'] FROM d ORDER BY id
> (1, t, f, t, t)
> (2, t, f, t, t)
> (3, f, t, f, f)
> (4, null, null, null, null)
SELECT id FROM d WHERE b @> '{"tags": ["a"]}' ORDER BY id
> (1)
SELECT id FROM d WHERE '{"n": 10}' <@ b ORDER BY id
> (2)
SELECT '[1, [2, 3]]'::jsonb @> '[[3]]', '["a"]'::jsonb @> '"a"', '1.0'::jsonb = '1', '{"a": 1}'::jsonb < '{"a": 1, "b": 2}'
> (t, t, t, t)
SELECT 'x'::text -> 'a'
> error 42883 operator does not exist: text -> text
SELECT b -> 1.5 FROM d
> error 42883 operator does not exist: jsonb -> numeric
SELECT b ? 1 FROM d
> error 42883 operator does not exist: jsonb ? integer
