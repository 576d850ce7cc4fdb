//! A deadlock through an advisory lock and a row lock, over real connections: session B holds
//! a row and waits for session A's advisory lock; A then waits for B's row. Neither kind of
//! lock sees the whole cycle alone; the advisory waiter finds it (it looks while it waits, as
//! PostgreSQL does after its deadlock_timeout) and fails with 40P01 naming both waits, and A
//! goes on once B's transaction ends.

mod common;

use std::time::Duration;

/// How long a step may take before the test calls it hung: a liveness bound, not a speed one.
const HANG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_an_advisory_lock_and_a_row_lock_is_a_deadlock() {
    // Every step is bounded: a server that starves a connection fails the test, not CI.
    tokio::time::timeout(3 * HANG, scenario()).await.expect("the scenario ends");
}

async fn scenario() {
    let port = common::start_server();
    let a = common::connect(port).await;
    let b = common::connect(port).await;
    a.batch_execute(
        "CREATE TABLE adv_rows (id int PRIMARY KEY, n int);
         INSERT INTO adv_rows VALUES (1, 0);
         SELECT pg_advisory_lock(40);",
    )
    .await
    .unwrap();
    b.batch_execute("BEGIN; UPDATE adv_rows SET n = 2 WHERE id = 1").await.unwrap();
    let b_wait = tokio::spawn(async move {
        let r = b.batch_execute("SELECT pg_advisory_lock(40)").await;
        (b, r)
    });
    let observer = common::connect(port).await;
    for _ in 0..1200 {
        let n: i64 = observer
            .query_one("SELECT count(*) FROM isola_stat_activity WHERE waiting", &[])
            .await
            .unwrap()
            .get(0);
        if n == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.batch_execute("BEGIN").await.unwrap();
    let a_update = tokio::spawn(async move {
        let r = a.execute("UPDATE adv_rows SET n = 1 WHERE id = 1", &[]).await;
        (a, r)
    });
    let (b, b_result) = tokio::time::timeout(HANG, b_wait).await.expect("B's wait ends").unwrap();
    let e = b_result.expect_err("B is the deadlock's victim");
    assert_eq!(common::code(&e), "40P01", "{e}");
    let db = e.as_db_error().unwrap();
    assert_eq!(db.message(), "deadlock detected");
    let detail = db.detail().unwrap_or_default();
    assert!(detail.contains("waits for ExclusiveLock on"), "{detail}");
    assert!(detail.contains("waits for a row or table lock"), "{detail}");
    b.batch_execute("ROLLBACK").await.unwrap();
    let (a, updated) =
        tokio::time::timeout(HANG, a_update).await.expect("A's update ends").unwrap();
    assert_eq!(updated.unwrap(), 1);
    a.batch_execute("COMMIT; SELECT pg_advisory_unlock(40)").await.unwrap();
    let n: i32 = a.query_one("SELECT n FROM adv_rows", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);
}
