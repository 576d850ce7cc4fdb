# Regular expressions: ~, ~*, !~, !~* (also as psql writes them, OPERATOR(pg_catalog.~) with a
# COLLATE clause), regexp_replace, regexp_match, substring(s FROM pattern) and SIMILAR TO.
# An invalid pattern is 2201B. Checked against PostgreSQL 15.

CREATE TABLE words (id int PRIMARY KEY, w text)
> ok
INSERT INTO words VALUES (1, 'apple'), (2, 'Banana'), (3, 'cherry pie'), (4, NULL), (5, E'line one\nline two')
> ok 5
SELECT id FROM words WHERE w ~ '^[ab]' ORDER BY id
> (1)
SELECT id FROM words WHERE w ~* '^[ab]' ORDER BY id
> (1)
> (2)
SELECT id FROM words WHERE w !~ 'an' ORDER BY id
> (1)
> (3)
> (5)
SELECT id FROM words WHERE w !~* 'A' ORDER BY id
> (3)
> (5)
SELECT id FROM words WHERE w OPERATOR(pg_catalog.~) '^(apple|cherry pie)$' COLLATE pg_catalog.default ORDER BY id
> (1)
> (3)
SELECT id FROM words WHERE w::text ~ 'one.line' ORDER BY id
> (5)
SELECT 'the cat' ~ '\mcat\M', 'concat' ~ '\mcat', 'a{b' ~ 'a{b', 'x.y' ~ '***=.', 'ABC' ~ '(?i)abc', NULL::text ~ 'a'
> (t, f, t, t, t, null)
SELECT 'abc' ~ '('
> error 2201B invalid regular expression: parentheses () not balanced
SELECT 'abc' ~ '[a'
> error 2201B invalid regular expression: brackets [] not balanced
SELECT 'abc' ~ '*a'
> error 2201B invalid regular expression: quantifier operand invalid
# PostgreSQL supports back-references; the regex crate has none (isola's one difference here).
SELECT 'aa' ~ '(a)\1'
> error 0A000 back-references in regular expressions are not supported

# regexp_replace: first match, or every one with 'g'; \1 and \& in the replacement.
SELECT regexp_replace('foobarbaz', 'b(..)', 'X\1Y'), regexp_replace('foobarbaz', 'b(..)', 'X\1Y', 'g'), regexp_replace('Hello', 'l', '[\&]', 'g'), regexp_replace('ABC', 'b', '-', 'i')
> (fooXarYbaz, fooXarYXazY, He[l][l]o, A-C)
SELECT regexp_replace('abc', 'b', 'x', 'z')
> error 22023 invalid regular expression option: "z"
SELECT regexp_match('foobarbequebaz', '(bar)(beque)'), regexp_match('foobar', 'o+'), regexp_match('abc', 'x'), regexp_match('ab', '(a)(x)?')
> ({bar,beque}, {oo}, null, {a,NULL})
SELECT (regexp_match('key=value', '(\w+)=(\w+)'))[2]
> (value)

# substring(s FROM pattern): the first group, or the whole match.
SELECT substring('Thomas' FROM '...$'), substring('foobar' FROM 'o(.)b'), substring('abc' FROM 'x'), substring('hello' FROM 2 FOR 3)
> (mas, o, null, ell)

# SIMILAR TO: the whole string, % and _ as in LIKE, alternation and groups.
SELECT 'abc' SIMILAR TO 'abc', 'abc' SIMILAR TO 'a', 'abc' SIMILAR TO '%(b|d)%', 'abc' NOT SIMILAR TO '(b|c)%', 'a.c' SIMILAR TO 'a_c', 'abc' SIMILAR TO 'a.c'
> (t, f, t, t, t, f)
SELECT id FROM words WHERE w SIMILAR TO '%(an|pp)%' ORDER BY id
> (1)
> (2)
