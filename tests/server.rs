//! End-to-end tests of `isola serve` over real sockets with real clients: tokio-postgres
//! (extended protocol, binary formats), psql and pgbench (PostgreSQL 15's own tools).
//!
//! Each test starts its own server on a free loopback port. "Blocked" is decided from the
//! server's own wait state (`isola_stat_activity.waiting`), never from a sleep.

mod common;

use common::{code, connect};

use std::process::Command;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, error::SqlState};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Waits until the session with this backend pid waits for a lock (bounded).
async fn until_waiting(observer: &Client, pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = observer
            .query_one("SELECT waiting FROM isola_stat_activity WHERE pid = $1", &[&pid])
            .await
            .unwrap();
        if row.get::<_, bool>(0) {
            return;
        }
        assert!(Instant::now() < deadline, "session {pid} never blocked");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn pid(c: &Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn extended_protocol_parameters_and_binary_results() {
    let port = common::start_server();
    let c = connect(port).await;
    c.batch_execute("CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price double precision, qty int, ok boolean)").await.unwrap();
    let insert = c.prepare("INSERT INTO items VALUES ($1, $2, $3, $4, $5)").await.unwrap();
    for i in 1..=20i64 {
        c.execute(
            &insert,
            &[&i, &format!("item {i}"), &(i as f64 * 1.5), &(i as i32), &(i % 2 == 0)],
        )
        .await
        .unwrap();
    }
    let row = c
        .query_one("SELECT name, price, qty, ok FROM items WHERE id = $1", &[&7i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "item 7");
    assert_eq!(row.get::<_, f64>(1), 10.5);
    assert_eq!(row.get::<_, i32>(2), 7);
    assert!(!row.get::<_, bool>(3));
    let rows = c
        .query(
            "SELECT id FROM items WHERE id > $1 AND id <= $2 ORDER BY id DESC",
            &[&15i64, &18i64],
        )
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>(), vec![18, 17, 16]);
    let agg =
        c.query_one("SELECT count(*), sum(qty), max(name) FROM items WHERE ok", &[]).await.unwrap();
    assert_eq!(agg.get::<_, i64>(0), 10);
    assert_eq!(agg.get::<_, i64>(1), 110);
    assert_eq!(agg.get::<_, String>(2), "item 8");
    // a portal read in batches (Execute with a row limit, PortalSuspended)
    let mut c = c;
    let tx = c.transaction().await.unwrap();
    let portal = tx.bind("SELECT id FROM items ORDER BY id", &[]).await.unwrap();
    let first = tx.query_portal(&portal, 6).await.unwrap();
    let second = tx.query_portal(&portal, 100).await.unwrap();
    assert_eq!(first.len(), 6);
    assert_eq!(second.len(), 14);
    assert_eq!(second[0].get::<_, i64>(0), 7);
    tx.commit().await.unwrap();
    // UPDATE ... RETURNING with an inferred parameter type
    let r = c
        .query_one("UPDATE items SET qty = qty + $1 WHERE id = $2 RETURNING qty", &[&5i32, &1i64])
        .await
        .unwrap();
    assert_eq!(r.get::<_, i32>(0), 6);
}

#[tokio::test]
async fn errors_carry_sqlstates_and_the_connection_survives() {
    let port = common::start_server();
    let c = connect(port).await;
    c.batch_execute("CREATE TABLE u (id int PRIMARY KEY, email text UNIQUE, n int CHECK (n >= 0))")
        .await
        .unwrap();
    c.batch_execute("INSERT INTO u VALUES (1, 'a@x', 1); CREATE TABLE short (s varchar(3))")
        .await
        .unwrap();
    let deep = format!("SELECT 1{}", " + 1".repeat(100_000));
    let deep_parens = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    let cases: [(&str, &str); 20] = [
        ("SELEC 1", "42601"),
        ("SELECT * FROM missing", "42P01"),
        ("SELECT nope FROM u", "42703"),
        ("INSERT INTO u VALUES (1, 'b@x', 1)", "23505"),
        ("INSERT INTO u VALUES (2, 'a@x', 1)", "23505"),
        ("INSERT INTO u VALUES (NULL, 'c@x', 1)", "23502"),
        ("INSERT INTO u VALUES (3, 'c@x', -1)", "23514"),
        ("SELECT 1/0", "22012"),
        ("SELECT 'abc'::int", "22P02"),
        ("SELECT 2147483647::int + 1", "22003"),
        ("PREPARE TRANSACTION 'gid'", "0A000"),
        // unknown statements, wrong types, oversize values, too-deep expressions
        ("FROBNICATE the table", "42601"),
        ("SELECT $1", "42P02"),
        ("INSERT INTO u VALUES ('seven', 'h@x', 1)", "22P02"),
        ("INSERT INTO u VALUES (7, 'h@x', 99999999999)", "22003"),
        ("INSERT INTO short VALUES ('abcd')", "22001"),
        ("SELECT 1 + true", "42883"),
        ("SELECT 1 WHERE 'x'", "22P02"),
        (&deep, "54001"),
        (&deep_parens, "42601"),
    ];
    for (sql, expected) in cases {
        let err = c.batch_execute(sql).await.expect_err(sql);
        assert_eq!(code(&err), expected, "{sql}: {err:?}");
    }
    // a failed block: 25P02 until ROLLBACK; COMMIT of it rolls back
    c.batch_execute("BEGIN").await.unwrap();
    c.batch_execute("INSERT INTO u VALUES (5, 'e@x', 1)").await.unwrap();
    assert_eq!(code(&c.batch_execute("SELECT 1/0").await.unwrap_err()), "22012");
    assert_eq!(code(&c.batch_execute("SELECT 1").await.unwrap_err()), "25P02");
    c.batch_execute("COMMIT").await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM u", &[]).await.unwrap().get(0);
    assert_eq!(n, 1, "the failed block's insert must not be committed");
    // savepoints recover a block
    c.batch_execute("BEGIN; INSERT INTO u VALUES (6, 'f@x', 1); SAVEPOINT s").await.unwrap();
    assert_eq!(
        code(&c.batch_execute("INSERT INTO u VALUES (6, 'g@x', 1)").await.unwrap_err()),
        "23505"
    );
    c.batch_execute("ROLLBACK TO SAVEPOINT s; COMMIT").await.unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM u", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
}

/// The bank-transfer story, step by step with two clients: read-modify-write loses an update at
/// Read Committed; Repeatable Read refuses it with 40001; SELECT ... FOR UPDATE and the atomic
/// UPDATE keep both.
#[tokio::test]
async fn lost_update_by_level_and_by_locking() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute("CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)")
        .await
        .unwrap();
    let a = connect(port).await;
    let b = connect(port).await;
    let observer = connect(port).await;
    let reset = || setup.batch_execute("DELETE FROM acct; INSERT INTO acct VALUES (1, 100)");
    let balance = || async {
        setup
            .query_one("SELECT balance FROM acct WHERE id = 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0)
    };

    // Read Committed, read-modify-write: the second write overwrites the first
    reset().await.unwrap();
    a.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await.unwrap();
    let ra: i32 = a.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    let rb: i32 = b.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    a.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(ra - 10)]).await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    b.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(rb - 20)]).await.unwrap();
    b.batch_execute("COMMIT").await.unwrap();
    assert_eq!(balance().await, 80, "Read Committed lets read-modify-write lose the first update");

    // Repeatable Read: the second writer gets 40001
    reset().await.unwrap();
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    let ra: i32 = a.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    let rb: i32 = b.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    a.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(ra - 10)]).await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let err =
        b.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(rb - 20)]).await.unwrap_err();
    assert_eq!(err.code(), Some(&SqlState::T_R_SERIALIZATION_FAILURE));
    b.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(balance().await, 90);

    // SELECT ... FOR UPDATE: the second reader blocks, then reads the committed balance
    reset().await.unwrap();
    a.batch_execute("BEGIN").await.unwrap();
    let ra: i32 =
        a.query_one("SELECT balance FROM acct WHERE id = 1 FOR UPDATE", &[]).await.unwrap().get(0);
    let b_pid = pid(&b).await;
    b.batch_execute("BEGIN").await.unwrap();
    let b_read = tokio::spawn(async move {
        let v: i32 = b
            .query_one("SELECT balance FROM acct WHERE id = 1 FOR UPDATE", &[])
            .await
            .unwrap()
            .get(0);
        b.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(v - 20)]).await.unwrap();
        b.batch_execute("COMMIT").await.unwrap();
        v
    });
    until_waiting(&observer, b_pid).await;
    a.execute("UPDATE acct SET balance = $1 WHERE id = 1", &[&(ra - 10)]).await.unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(b_read.await.unwrap(), 90, "the blocked FOR UPDATE reads the committed value");
    assert_eq!(balance().await, 70);
}

/// A point UPDATE through a unique index that is not the table's key (pgbench's tables get
/// theirs from ALTER TABLE ADD PRIMARY KEY) waits for the row's lock on the connection's task:
/// it must then see what the holder committed, at every level, and take part in deadlock
/// detection like any other wait.
#[tokio::test]
async fn point_updates_through_a_unique_index_wait_for_the_row() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute(
            "CREATE TABLE acct (aid int NOT NULL, bal int NOT NULL, note text);
             ALTER TABLE acct ADD PRIMARY KEY (aid)",
        )
        .await
        .unwrap();
    let reset = || {
        setup.batch_execute(
            "DELETE FROM acct; INSERT INTO acct VALUES (1, 100, 'a'), (2, 200, 'b'), (3, 300, 'c')",
        )
    };
    let bal = |aid: i32| {
        let setup = &setup;
        async move {
            let rows = setup.query("SELECT bal FROM acct WHERE aid = $1", &[&aid]).await.unwrap();
            rows.first().map(|r| r.get::<_, i32>(0))
        }
    };
    let a = connect(port).await;
    let b = std::sync::Arc::new(connect(port).await);
    let observer = connect(port).await;
    let b_pid = pid(&b).await;
    let add = "UPDATE acct SET bal = bal + $1 WHERE aid = $2";
    // b adds 10 to a row on a task of its own (it may wait for the row's lock).
    let add_on_b = |aid: i32| {
        let b = b.clone();
        tokio::spawn(async move { b.execute(add, &[&10i32, &aid]).await })
    };

    // Read Committed: the waiter adds to the committed balance
    reset().await.unwrap();
    a.batch_execute("BEGIN; UPDATE acct SET bal = bal + 1 WHERE aid = 1").await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await.unwrap();
    let waiter = add_on_b(1);
    until_waiting(&observer, b_pid).await;
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 1);
    b.batch_execute("COMMIT").await.unwrap();
    assert_eq!(bal(1).await, Some(111), "no update lost");

    // Read Committed: the holder moved the row to another key: the waiter matches nothing
    reset().await.unwrap();
    a.batch_execute("BEGIN; UPDATE acct SET aid = 9 WHERE aid = 1").await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED").await.unwrap();
    let waiter = add_on_b(1);
    until_waiting(&observer, b_pid).await;
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), 0);
    b.batch_execute("COMMIT").await.unwrap();
    assert_eq!((bal(1).await, bal(9).await), (None, Some(100)));

    // Repeatable Read: the waiter fails with a serialization failure and writes nothing
    reset().await.unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(b.query("SELECT * FROM acct", &[]).await.unwrap().len(), 3);
    a.batch_execute("BEGIN; UPDATE acct SET bal = bal + 1 WHERE aid = 2").await.unwrap();
    let waiter = add_on_b(2);
    until_waiting(&observer, b_pid).await;
    a.batch_execute("COMMIT").await.unwrap();
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(code(&err), "40001");
    b.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(bal(2).await, Some(201));

    // Two point updates in opposite orders: one of them is chosen as the deadlock's victim
    reset().await.unwrap();
    a.batch_execute("BEGIN; UPDATE acct SET bal = bal + 1 WHERE aid = 1").await.unwrap();
    b.batch_execute("BEGIN").await.unwrap();
    b.execute(add, &[&10i32, &3i32]).await.unwrap();
    let waiter = add_on_b(1);
    until_waiting(&observer, b_pid).await;
    let a_result = a.execute(add, &[&1i32, &3i32]).await;
    let b_result = waiter.await.unwrap();
    let failed = [&a_result, &b_result].iter().filter(|r| r.is_err()).count();
    assert_eq!(failed, 1, "exactly one victim: {a_result:?} {b_result:?}");
    let victim = a_result.as_ref().err().or(b_result.as_ref().err()).unwrap();
    assert_eq!(code(victim), "40P01");
    a.batch_execute("COMMIT").await.unwrap();
    b.batch_execute("COMMIT").await.unwrap();
    let (one, three) = (bal(1).await.unwrap(), bal(3).await.unwrap());
    assert!(
        (one, three) == (110, 310) && a_result.is_err()
            || (one, three) == (101, 301) && b_result.is_err(),
        "the survivor's writes, and only its (the victim's COMMIT rolls back): {one} {three}"
    );
}

#[tokio::test]
async fn concurrent_atomic_updates_keep_every_increment() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup.batch_execute("CREATE TABLE counter (id int PRIMARY KEY, n bigint); INSERT INTO counter VALUES (1, 0)").await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = connect(port).await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                c.execute("UPDATE counter SET n = n + 1 WHERE id = $1", &[&1i32]).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n: i64 = setup.query_one("SELECT n FROM counter WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(n, 400);
}

#[tokio::test]
async fn a_disconnected_client_releases_its_locks() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute("CREATE TABLE r (id int PRIMARY KEY, v int); INSERT INTO r VALUES (1, 0)")
        .await
        .unwrap();
    {
        let holder = connect(port).await;
        holder.batch_execute("BEGIN; UPDATE r SET v = 1 WHERE id = 1").await.unwrap();
        drop(holder);
    }
    // without the rollback on disconnect this would time out with 55P03
    setup.batch_execute("SET lock_timeout = '10s'").await.unwrap();
    setup.batch_execute("UPDATE r SET v = 2 WHERE id = 1").await.unwrap();
    let v: i32 = setup.query_one("SELECT v FROM r WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(v, 2);
    // NOWAIT on a held row: 55P03
    let other = connect(port).await;
    other.batch_execute("BEGIN; SELECT * FROM r WHERE id = 1 FOR UPDATE").await.unwrap();
    let err =
        setup.batch_execute("SELECT * FROM r WHERE id = 1 FOR UPDATE NOWAIT").await.unwrap_err();
    assert_eq!(code(&err), "55P03");
}

fn psql(port: u16, args: &[&str]) -> std::process::Output {
    Command::new(format!("{PG_BIN}/psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "isola",
            "-d",
            "isola",
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
        ])
        .args(args)
        .output()
        .expect("psql runs")
}

#[test]
fn psql_and_pgbench_work_unchanged() {
    let port = common::start_server();
    let out = psql(
        port,
        &[
            "-c",
            "CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84))",
            "-c",
            "CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))",
            "-c",
            "CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))",
            "-c",
            "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))",
            "-c",
            "INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, 1000) g",
            "-c",
            "INSERT INTO pgbench_tellers SELECT g, 1, 0, '' FROM generate_series(1, 10) g",
            "-c",
            "INSERT INTO pgbench_branches VALUES (1, 0, '')",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let script = std::env::temp_dir().join(format!("isola-tpcb-{port}.sql"));
    std::fs::write(&script, "\\set aid random(1, 1000)\n\\set tid random(1, 10)\n\\set delta random(-5000, 5000)\nBEGIN;\nUPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\nUPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;\nUPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = 1;\nINSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, 1, :aid, :delta, CURRENT_TIMESTAMP);\nEND;\n").unwrap();
    for mode in ["simple", "extended", "prepared"] {
        let out = Command::new(format!("{PG_BIN}/pgbench"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "-n", "-f"])
            .arg(&script)
            .args(["-M", mode, "-c", "4", "-t", "100", "isola"])
            .output()
            .expect("pgbench runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{mode}: {stdout} {}", String::from_utf8_lossy(&out.stderr));
        assert!(
            stdout.contains("number of transactions actually processed: 400/400"),
            "{mode}: {stdout}"
        );
    }
    std::fs::remove_file(&script).ok();
    // every delta is in the history and in the balances: nothing lost, nothing half-applied
    let out = psql(
        port,
        &[
            "-c",
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history) AND (SELECT bbalance FROM pgbench_branches) = (SELECT sum(delta) FROM pgbench_history), (SELECT count(*) FROM pgbench_history)",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "t|1200");
}

#[test]
fn pgbench_initialises_and_runs_its_builtin_script_unchanged() {
    let port = common::start_server();
    // pgbench -i: DROP ... , CREATE TABLE without keys, COPY, VACUUM, ALTER TABLE ADD PRIMARY KEY.
    let out = Command::new(format!("{PG_BIN}/pgbench"))
        .args(["-i", "-s", "1", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "isola"])
        .output()
        .expect("pgbench -i runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(format!("{PG_BIN}/pgbench"))
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "-c", "4", "-t", "50"])
        .args(["-M", "prepared", "isola"])
        .output()
        .expect("pgbench runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("actually processed: 200/200"), "{stdout}");
    let out = psql(
        port,
        &[
            "-c",
            "SELECT (SELECT sum(abalance) FROM pgbench_accounts) = (SELECT sum(delta) FROM pgbench_history), (SELECT count(*) FROM pgbench_accounts)",
            "-c",
            "EXPLAIN SELECT abalance FROM pgbench_accounts WHERE aid = 7",
            "-c",
            "ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("t|100000"), "{stdout}");
    assert!(stdout.contains("Index Scan using pgbench_accounts_pkey"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("multiple primary keys"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Introspection: who holds which row lock, who waits for it and on whom, and each
/// transaction's snapshot, from `isola_locks` and `isola_stat_activity`.
#[tokio::test]
async fn locks_and_waits_are_visible() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute("CREATE TABLE acct (id int PRIMARY KEY, balance int); INSERT INTO acct VALUES (1, 10), (2, 20)")
        .await
        .unwrap();
    let holder = connect(port).await;
    let waiter = connect(port).await;
    let (holder_pid, waiter_pid) = (pid(&holder).await, pid(&waiter).await);
    holder
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM acct WHERE id = 1 FOR UPDATE",
        )
        .await
        .unwrap();
    let holder_txn: i64 = setup
        .query_one("SELECT txn_id FROM isola_stat_activity WHERE pid = $1", &[&holder_pid])
        .await
        .unwrap()
        .get(0);
    let waiting = tokio::spawn(async move {
        waiter.execute("UPDATE acct SET balance = 0 WHERE id = 1", &[]).await.unwrap();
        waiter
    });
    until_waiting(&setup, waiter_pid).await;

    let locks = setup
        .query(
            "SELECT pid, txn_id, row, mode, granted FROM isola_locks \
             WHERE mode NOT LIKE 'ACCESS %' ORDER BY granted DESC",
            &[],
        )
        .await
        .unwrap();
    let locks: Vec<(i32, i64, String, String, bool)> =
        locks.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))).collect();
    assert_eq!(locks.len(), 2, "{locks:?}");
    assert_eq!(
        (locks[0].0, locks[0].1, locks[0].2.as_str(), locks[0].3.as_str(), locks[0].4),
        (holder_pid, holder_txn, "acct(id=1)", "FOR UPDATE", true)
    );
    assert_eq!((locks[1].0, locks[1].2.as_str(), locks[1].4), (waiter_pid, "acct(id=1)", false));

    let row = setup
        .query_one(
            "SELECT waiting, waiting_for FROM isola_stat_activity WHERE pid = $1",
            &[&waiter_pid],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    let waiting_for: String = row.get(1);
    assert!(waiting_for.contains("acct(id=1)"), "{waiting_for}");
    assert!(waiting_for.contains(&format!("held by T{holder_txn}")), "{waiting_for}");
    let row = setup
        .query_one(
            "SELECT snapshot, waiting_for, isolation_level FROM isola_stat_activity WHERE pid = $1",
            &[&holder_pid],
        )
        .await
        .unwrap();
    assert!(
        row.get::<_, Option<i64>>(0).is_some(),
        "a repeatable-read txn that read has a snapshot"
    );
    assert_eq!(row.get::<_, Option<String>>(1), None);
    assert_eq!(row.get::<_, String>(2), "repeatable read");

    holder.batch_execute("COMMIT").await.unwrap();
    let _waiter = waiting.await.unwrap();
    let n: i64 = setup.query_one("SELECT count(*) FROM isola_locks", &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "every lock released");

    // A fresh insert holds its key without a lock-table entry; the view still shows it.
    holder.batch_execute("BEGIN; INSERT INTO acct VALUES (3, 30)").await.unwrap();
    let locks = setup.query("SELECT pid, row, mode, granted FROM isola_locks", &[]).await.unwrap();
    let locks: Vec<(i32, String, String, bool)> =
        locks.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
    // The insert holds its row, and the table in the mode every statement takes.
    assert_eq!(
        locks,
        vec![
            (holder_pid, "acct(id=3)".to_string(), "FOR UPDATE".to_string(), true),
            (holder_pid, "table acct".to_string(), "ACCESS SHARE".to_string(), true),
        ]
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    let n: i64 = setup.query_one("SELECT count(*) FROM isola_locks", &[]).await.unwrap().get(0);
    assert_eq!(n, 0, "released with the rollback");
}

/// psql running a script file: variables, a transaction block, COPY with inline data,
/// `\gset`, and ON_ERROR_STOP stopping at the first error with psql's exit status 3.
#[test]
fn psql_runs_a_script_file() {
    let port = common::start_server();
    let dir = std::env::temp_dir().join(format!("isola-psql-script-{port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("script.sql");
    std::fs::write(
        &script,
        "\\set ON_ERROR_STOP on\n\
         CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL, at date);\n\
         BEGIN;\n\
         INSERT INTO notes (body, at) VALUES ('first', '2026-11-21'), ('second', NULL);\n\
         COPY notes (body, at) FROM STDIN;\n\
         third\t2026-11-22\n\
         fourth\t\\N\n\
         \\.\n\
         COMMIT;\n\
         SELECT count(*) AS n, max(at) AS latest FROM notes \\gset\n\
         \\echo notes=:n latest=:latest\n\
         SELECT body FROM notes WHERE id = 3;\n",
    )
    .unwrap();
    let out = psql(port, &["-A", "-t", "-f", script.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("notes=4 latest=2026-11-22"), "{stdout}");
    assert!(stdout.contains("third"), "{stdout}");

    let failing = dir.join("failing.sql");
    std::fs::write(
        &failing,
        "\\set ON_ERROR_STOP on\nINSERT INTO notes (body) VALUES (NULL);\nINSERT INTO notes (body) VALUES ('never');\n",
    )
    .unwrap();
    let out = psql(port, &["-f", failing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "psql stops at the first error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("null value"));
    let out = psql(port, &["-A", "-t", "-c", "SELECT count(*) FROM notes"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "4");
    std::fs::remove_dir_all(&dir).ok();
}
