# Planner goldens: how UPDATE and DELETE find their rows, INSERT, and locking reads. Writes
# run in a block that is rolled back (each sees the ones before it), so the file ends with the
# rows it started with.
CREATE TABLE jobs (id int PRIMARY KEY, queue text NOT NULL, state text NOT NULL, tries int NOT NULL)
> ok
CREATE INDEX jobs_queue ON jobs (queue)
> ok
INSERT INTO jobs VALUES (1, 'mail', 'ready', 0), (2, 'mail', 'done', 1), (3, 'print', 'ready', 0), (4, 'mail', 'ready', 2), (5, 'print', 'failed', 3)
> ok 5

BEGIN
> ok
query: UPDATE jobs SET tries = tries + 1 WHERE id = 3 RETURNING id, tries
> plan: Update on jobs
> plan:   Index Scan using jobs_pkey on jobs (primary key lookup)
> (3, 1)
query: UPDATE jobs SET state = 'ready' WHERE queue = 'print' RETURNING id, state
> plan: Update on jobs
> plan:   Index Scan using jobs_queue on jobs (lookup)
> (3, ready)
> (5, ready)
query: UPDATE jobs SET tries = 0 WHERE tries > 1
> plan: Update on jobs
> plan:   Seq Scan on jobs
> ok 2
query: DELETE FROM jobs WHERE id >= 4 RETURNING id
> plan: Delete on jobs
> plan:   Index Scan using jobs_pkey on jobs (primary key range)
> (4)
> (5)
query: DELETE FROM jobs WHERE state = 'done'
> plan: Delete on jobs
> plan:   Seq Scan on jobs
> ok 1
query: INSERT INTO jobs VALUES (6, 'mail', 'ready', 0)
> plan: Insert on jobs
> ok 1
ROLLBACK
> ok

# Locking reads: FOR UPDATE by key, FOR SHARE by index, a job queue's SKIP LOCKED LIMIT 1,
# NOWAIT (the block's own locks do not stop it).
BEGIN
> ok
query: SELECT id, state FROM jobs WHERE id = 1 FOR UPDATE
> plan: LockRows (Update, Wait)
> plan:   Index Scan using jobs_pkey on jobs (primary key lookup)
> plan:     Filter: WHERE clause
> (1, ready)
query: SELECT id FROM jobs WHERE queue = 'print' FOR SHARE
> plan: LockRows (Share, Wait)
> plan:   Index Scan using jobs_queue on jobs (lookup)
> plan:     Filter: WHERE clause
> (3)
> (5)
query: SELECT id FROM jobs WHERE state = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
> plan: Limit
> plan:   LockRows (Update, SkipLocked)
> plan:     Sort
> plan:       Seq Scan on jobs
> plan:         Filter: WHERE clause
> (1)
query: SELECT id FROM jobs WHERE queue = 'mail' FOR NO KEY UPDATE NOWAIT
> plan: LockRows (NoKeyUpdate, NoWait)
> plan:   Index Scan using jobs_queue on jobs (lookup)
> plan:     Filter: WHERE clause
> (1)
> (2)
> (4)
ROLLBACK
> ok
query: SELECT * FROM jobs ORDER BY id
> plan: Sort
> plan:   Seq Scan on jobs
> (1, mail, ready, 0)
> (2, mail, done, 1)
> (3, print, ready, 0)
> (4, mail, ready, 2)
> (5, print, failed, 3)
