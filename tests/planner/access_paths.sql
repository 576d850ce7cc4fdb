# Planner goldens: how the WHERE clause picks an access path. `query: SQL` lines show the plan
# (`EXPLAIN SQL`, as `plan:` lines) and then the rows; other lines run as they are.
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, branch int NOT NULL, balance int NOT NULL)
> ok
CREATE INDEX accounts_owner ON accounts (owner)
> ok
CREATE INDEX accounts_branch_balance ON accounts (branch, balance)
> ok
INSERT INTO accounts VALUES (1, 'ann', 10, 100), (2, 'bob', 10, 50), (3, 'cy', 20, 75), (4, 'dee', 20, 300), (5, 'ann', 30, 20), (6, 'eve', 30, 0)
> ok 6
CREATE TABLE events (day int, seq int, kind text NOT NULL, PRIMARY KEY (day, seq))
> ok
INSERT INTO events VALUES (1, 1, 'open'), (1, 2, 'deposit'), (2, 1, 'withdraw'), (2, 2, 'deposit'), (2, 3, 'close'), (3, 1, 'open')
> ok 6

# Primary key: a point lookup, a range, a prefix of a composite key, a key that is not there.
query: SELECT * FROM accounts WHERE id = 3
> plan: Index Scan using accounts_pkey on accounts (primary key lookup)
> plan:   Filter: WHERE clause
> (3, cy, 20, 75)
query: SELECT id, owner FROM accounts WHERE id BETWEEN 2 AND 4
> plan: Index Scan using accounts_pkey on accounts (primary key range)
> plan:   Filter: WHERE clause
> (2, bob)
> (3, cy)
> (4, dee)
query: SELECT id FROM accounts WHERE id > 4
> plan: Index Scan using accounts_pkey on accounts (primary key range)
> plan:   Filter: WHERE clause
> (5)
> (6)
query: SELECT * FROM events WHERE day = 2
> plan: Index Scan using events_pkey on events (primary key range)
> plan:   Filter: WHERE clause
> (2, 1, withdraw)
> (2, 2, deposit)
> (2, 3, close)
query: SELECT * FROM events WHERE day = 2 AND seq = 3
> plan: Index Scan using events_pkey on events (primary key lookup)
> plan:   Filter: WHERE clause
> (2, 3, close)
query: SELECT * FROM accounts WHERE id = 42
> plan: Index Scan using accounts_pkey on accounts (primary key lookup)
> plan:   Filter: WHERE clause
> no rows

# Secondary indexes: a lookup, an equality on the first column and a range on the second, an
# equality on the first column of two.
query: SELECT id, owner FROM accounts WHERE owner = 'ann'
> plan: Index Scan using accounts_owner on accounts (lookup)
> plan:   Filter: WHERE clause
> (1, ann)
> (5, ann)
query: SELECT id, balance FROM accounts WHERE branch = 20 AND balance > 100
> plan: Index Scan using accounts_branch_balance on accounts (range)
> plan:   Filter: WHERE clause
> (4, 300)
query: SELECT id FROM accounts WHERE branch = 30
> plan: Index Scan using accounts_branch_balance on accounts (lookup)
> plan:   Filter: WHERE clause
> (6)
> (5)

# No usable index: a full scan with a filter.
query: SELECT id, balance FROM accounts WHERE balance >= 75
> plan: Seq Scan on accounts
> plan:   Filter: WHERE clause
> (1, 100)
> (3, 75)
> (4, 300)
query: SELECT id FROM accounts WHERE owner = 'ann' OR balance = 0
> plan: Seq Scan on accounts
> plan:   Filter: WHERE clause
> (1)
> (5)
> (6)
query: SELECT * FROM events WHERE kind = 'deposit'
> plan: Seq Scan on events
> plan:   Filter: WHERE clause
> (1, 2, deposit)
> (2, 2, deposit)
