//! The simple protocol's plans by statement shape (`sql::literals`): a text whose literals
//! become parameters of a plan made once must answer exactly as the text itself would, for
//! every value, every type the values take, every error, and after DDL. Each check sends the
//! same shape several times (the first plans it, the next ones reuse it) and compares with a
//! text the cache never serves (the shape check refuses texts with comments).

mod common;

use common::{connect, start_server};
use tokio_postgres::{Client, SimpleQueryMessage};

/// Rows as text cells, or the error's SQLSTATE and message.
async fn run(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    match client.simple_query(sql).await {
        Ok(messages) => Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()),
        Err(e) => Err(match e.as_db_error() {
            Some(db) => format!("{} {}", db.code().code(), db.message()),
            None => e.to_string(),
        }),
    }
}

/// Runs `sql` as sent (a cached shape after its first time) and with a trailing comment (a
/// text the cache never serves) and asserts both answer the same; returns the answer.
async fn same(client: &Client, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    let cached = run(client, sql).await;
    let uncached = run(client, &format!("{sql} -- not cached")).await;
    assert_eq!(cached, uncached, "{sql}");
    cached
}

#[tokio::test]
async fn shapes_answer_as_their_texts_do() {
    let port = start_server();
    let client = connect(port).await;
    client
        .batch_execute(
            "CREATE TABLE t (id int PRIMARY KEY, big bigint, amount numeric(10, 2), name text, \
             code char(4), flag boolean); \
             INSERT INTO t VALUES (1, 10, 1.50, 'one', 'a', true), (2, 3000000000, 2.25, ' two ', 'bb', false)",
        )
        .await
        .unwrap();
    for _ in 0..3 {
        for id in ["1", "2", "3", "-1", "2147483648", "1.0", "' 2 '", "'x'", "NULL"] {
            same(&client, &format!("SELECT * FROM t WHERE id = {id}")).await.ok();
        }
        for value in ["1", "3000000000", "9223372036854775808", "1.5", "-7", "'12'", "'1e3'"] {
            same(&client, &format!("SELECT {value}")).await.ok();
            same(&client, &format!("SELECT {value} AS v, id FROM t WHERE big > {value}"))
                .await
                .ok();
        }
        for text in ["'a  '", "''", "'it''s'", "' two '", "'bb'", "'bb  '"] {
            same(&client, &format!("SELECT id, name = {text}, code = {text} FROM t")).await.ok();
            same(&client, &format!("SELECT {text} || name FROM t WHERE id = 1")).await.ok();
        }
        for amount in ["1.5", "1.499", "'2.25'", "123456789012"] {
            same(&client, &format!("SELECT id FROM t WHERE amount = {amount}")).await.ok();
        }
        same(&client, "SELECT id FROM t WHERE flag = 't'").await.ok();
        same(&client, "SELECT id FROM t WHERE id IN (1, 2, 5)").await.ok();
        same(&client, "SELECT id + 1.5, big * 2, -id FROM t WHERE id > 0").await.ok();
    }

    // Writes: values arrive as the text's literals would (blank padding, numeric rounding,
    // range checks), in autocommit and in a block.
    for (i, row) in [
        "(10, 1, 1.005, 'x', 'ab', true)",
        "(11, 2, 2, 'y  ', 'c', false)",
        "(12, 3, 99999999.99, '', '', NULL)",
        "(13, 4, 100000000, 'z', 'zz', true)",
        "(14, 5000000000, 0.5, 'w', 'w', 'yes')",
    ]
    .iter()
    .enumerate()
    {
        let cached = run(&client, &format!("INSERT INTO t VALUES {row}")).await;
        let id = 10 + i;
        let uncached = run(
            &client,
            &format!("DELETE FROM t WHERE id = {id} -- c\n; INSERT INTO t VALUES {row} -- c"),
        )
        .await;
        assert_eq!(cached.is_ok(), uncached.is_ok(), "{row}: {cached:?} vs {uncached:?}");
    }
    let rows = same(&client, "SELECT id, big, amount, name, code, flag FROM t WHERE id >= 10")
        .await
        .unwrap();
    assert_eq!(rows.len(), 4, "the out-of-range numeric is refused both ways: {rows:?}");
    assert_eq!(rows[0][2].as_deref(), Some("1.01"), "numeric(10, 2) rounds as for the literal");
    for step in [
        "BEGIN",
        "UPDATE t SET big = big + 5 WHERE id = 1",
        "UPDATE t SET big = big + 7 WHERE id = 1",
        "COMMIT",
    ] {
        run(&client, step).await.unwrap();
    }
    assert_eq!(
        run(&client, "SELECT big FROM t WHERE id = 1").await.unwrap(),
        [[Some("22".into())]]
    );

    // A shape shows the text it runs for in the activity view (here while it waits for a lock).
    let waiter = connect(port).await;
    run(&waiter, "UPDATE t SET big = big + 0 WHERE id = 2").await.unwrap(); // plans the shape
    let holder = connect(port).await;
    holder.batch_execute("BEGIN; UPDATE t SET big = big WHERE id = 1").await.unwrap();
    let blocked = tokio::spawn(async move {
        waiter.simple_query("UPDATE t SET big = big + 3 WHERE id = 1").await.map(|_| ())
    });
    let mut shown = Vec::new();
    for _ in 0..2_000 {
        shown = run(&client, "SELECT query FROM isola_stat_activity WHERE waiting").await.unwrap();
        if !shown.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(shown, [[Some("UPDATE t SET big = big + 3 WHERE id = 1".to_string())]]);
    holder.batch_execute("COMMIT").await.unwrap();
    blocked.await.unwrap().unwrap();
    assert_eq!(
        run(&client, "SELECT big FROM t WHERE id = 1").await.unwrap(),
        [[Some("25".into())]]
    );

    // After DDL a shape is planned again: a string that met an int column now meets text.
    same(&client, "SELECT count(*) FROM t WHERE id = '1'").await.unwrap();
    client
        .batch_execute(
            "DROP TABLE t; CREATE TABLE t (id text PRIMARY KEY); INSERT INTO t VALUES ('01')",
        )
        .await
        .unwrap();
    assert_eq!(
        same(&client, "SELECT count(*) FROM t WHERE id = '01'").await.unwrap(),
        [[Some("1".into())]]
    );
}
