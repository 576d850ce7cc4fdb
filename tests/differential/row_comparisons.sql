-- Row constructors compared: equality and inequality (NULLs as PostgreSQL's row comparison
-- answers them), ordering comparisons left to right (keyset pagination), IN lists of rows,
-- row comparisons in WHERE over a table, errors for rows of different lengths.
SELECT (1, 2) = (1, 2), (1, 2) = (1, 3), (1, 2) <> (1, 3), (1, 2) <> (1, 2);
SELECT (1, NULL) = (1, 2), (1, NULL) = (2, 2), (1, NULL) <> (2, 2), (1, NULL) <> (1, 2), (NULL, 1) = (NULL, 1);
SELECT (1, 2) < (1, 3), (1, 2) < (2, 0), (2, 0) < (1, 9), (1, 2) <= (1, 2), (1, 2) > (1, 2), (1, 2) >= (1, 2), (1, 3) > (1, 2);
SELECT (1, NULL) < (2, 0), (1, NULL) < (1, 0), (NULL, 1) < (2, 0), (1, 2, 3) < (1, 2, 4), (1, 2, 3) > (1, 2, 4);
SELECT ('a', 1) < ('b', 0), ('b', 1) >= ('b', 1), (1.5, 'x') = (1.50, 'x');
SELECT (1, 2) = (1, 2, 3);
SELECT (1, 2) + (1, 2);
CREATE TABLE post (created date, id int, title text, PRIMARY KEY (created, id));
INSERT INTO post VALUES ('2024-01-01', 1, 'a'), ('2024-01-01', 2, 'b'), ('2024-01-02', 1, 'c'), ('2024-01-02', 5, 'd'), ('2024-01-03', 3, 'e');
SELECT * FROM post WHERE (created, id) > ('2024-01-01', 2) ORDER BY created, id LIMIT 2;
SELECT * FROM post WHERE (created, id) < ('2024-01-02', 5) ORDER BY created DESC, id DESC;
SELECT * FROM post WHERE (created, id) >= ('2024-01-02', 1) AND (created, id) <= ('2024-01-02', 9) ORDER BY id;
SELECT title FROM post WHERE (created, id) = ('2024-01-02', 5);
SELECT title FROM post WHERE (created, id) IN (('2024-01-01', 2), ('2024-01-03', 3), ('2024-01-09', 1)) ORDER BY title;
SELECT title FROM post WHERE (created, id) NOT IN (('2024-01-01', 2), ('2024-01-03', 3)) ORDER BY title;
SELECT title FROM post WHERE (id, title) IN ((1, 'a'), (1, NULL)) ORDER BY title;
SELECT title FROM post WHERE (id, title) NOT IN ((1, 'a'), (1, NULL)) ORDER BY title;
SELECT title, (id, title) > (2, 'a') FROM post ORDER BY created, id;
SELECT title FROM post WHERE (id, 1) IN ((1, 1), (2, 1), (3, 2)) ORDER BY title;
SELECT title FROM post WHERE (id, title) IN ((1, 'a', 'x'));
