# json and jsonb input: a value must be JSON (22P02 otherwise); json keeps the text as written,
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
