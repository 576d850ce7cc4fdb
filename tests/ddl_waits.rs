//! Statements that wait for DDL's table lock, over real connections: a point SELECT the server
//! would run on the connection's own task must not block that task's thread while an open
//! transaction's ALTER TABLE holds the table (the runtime has two threads: a few such waits
//! would otherwise stall every connection, the COMMIT that would end them included); and a
//! statement planned again after the DDL answers with the columns the table has now (a simple
//! query), or fails as PostgreSQL does when the client described other columns before
//! (0A000, "cached plan must not change result type").

mod common;

use std::time::Duration;

/// How long a step may take before the test calls it hung: a liveness bound, not a speed one.
const HANG: Duration = Duration::from_secs(60);

async fn waiting_sessions(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT count(*) FROM isola_stat_activity WHERE waiting", &[])
        .await
        .unwrap()
        .get(0)
}

/// Polls (bounded) until `n` sessions wait.
async fn until_waiting(client: &tokio_postgres::Client, n: i64) {
    for _ in 0..1200 {
        if waiting_sessions(client).await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{n} sessions never waited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn point_selects_waiting_for_ddl_leave_the_server_responsive() {
    let port = common::start_server();
    let ddl = common::connect(port).await;
    ddl.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t VALUES (1, 'one'), (2, 'two');",
    )
    .await
    .unwrap();
    // Warm the readers' plans, so the server would run them on their connections' tasks.
    let mut readers = Vec::new();
    for _ in 0..6 {
        let c = common::connect(port).await;
        let s = c.prepare("SELECT v FROM t WHERE id = $1").await.unwrap();
        assert_eq!(c.query_one(&s, &[&1i32]).await.unwrap().get::<_, String>(0), "one");
        readers.push((c, s));
    }
    ddl.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN extra int DEFAULT 7").await.unwrap();
    let mut waits = Vec::new();
    for (c, s) in readers {
        waits.push(tokio::spawn(async move {
            let row = c.query_one(&s, &[&2i32]).await;
            (c, row.map(|r| r.get::<_, String>(0)))
        }));
    }
    let observer = common::connect(port).await;
    tokio::time::timeout(HANG, until_waiting(&observer, 6)).await.expect("the server answers");
    for row in observer
        .query("SELECT waiting_for FROM isola_stat_activity WHERE waiting", &[])
        .await
        .unwrap()
    {
        let waiting_for: String = row.get(0);
        assert!(waiting_for.starts_with("ACCESS SHARE on table t, held by T"), "{waiting_for}");
    }
    // More readers than the runtime has threads wait; a new connection and the DDL's own
    // session are still served.
    let fresh = tokio::time::timeout(HANG, common::connect(port)).await.expect("connects");
    let one: i32 =
        tokio::time::timeout(HANG, fresh.query_one("SELECT 1", &[])).await.unwrap().unwrap().get(0);
    assert_eq!(one, 1);
    tokio::time::timeout(HANG, ddl.batch_execute("COMMIT")).await.expect("COMMIT runs").unwrap();
    for w in waits {
        let (_c, row) = tokio::time::timeout(HANG, w).await.expect("reader ends").unwrap();
        assert_eq!(row.unwrap(), "two");
    }
    assert_eq!(waiting_sessions(&observer).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_planned_again_after_ddl_answers_with_the_new_columns() {
    let port = common::start_server();
    let ddl = common::connect(port).await;
    ddl.batch_execute(
        "CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t VALUES (1, 'one');",
    )
    .await
    .unwrap();
    let simple = common::connect(port).await;
    let described = common::connect(port).await;
    let star = described.prepare("SELECT * FROM t WHERE id = $1").await.unwrap();
    assert_eq!(star.columns().len(), 2);
    ddl.batch_execute("BEGIN; ALTER TABLE t ADD COLUMN extra int DEFAULT 7").await.unwrap();
    let simple_wait = tokio::spawn(async move {
        let answer = simple.simple_query("SELECT * FROM t WHERE id = 1").await;
        (simple, answer)
    });
    let described_wait = tokio::spawn(async move {
        let answer = described.query(&star, &[&1i32]).await;
        (described, answer)
    });
    let observer = common::connect(port).await;
    tokio::time::timeout(HANG, until_waiting(&observer, 2)).await.expect("the server answers");
    ddl.batch_execute("COMMIT").await.unwrap();

    // The simple query describes the three columns the table has now.
    let (_simple, answer) = tokio::time::timeout(HANG, simple_wait).await.unwrap().unwrap();
    let row = answer
        .unwrap()
        .into_iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row),
            _ => None,
        })
        .expect("a row");
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "v", "extra"]);
    assert_eq!(row.get(2), Some("7"));

    // The statement described with two columns is refused, and its session goes on.
    let (described, answer) = tokio::time::timeout(HANG, described_wait).await.unwrap().unwrap();
    let e = answer.expect_err("the result type changed");
    assert_eq!(common::code(&e), "0A000", "{e}");
    let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
    assert_eq!(message, "cached plan must not change result type");
    let again = described.prepare("SELECT * FROM t WHERE id = $1").await.unwrap();
    assert_eq!(described.query_one(&again, &[&1i32]).await.unwrap().get::<_, i32>("extra"), 7);
}
