//! CREATE DATABASE and DROP DATABASE end to end, as Django's and pytest-django's test runners
//! use them: connect to `postgres`, create `test_x`, connect to it, build tables, use them,
//! drop it at the end. Against a server process with a data directory (the created database
//! survives a kill and a restart, and its drop too) and an in-process server in memory.

mod common;

use tokio_postgres::{Client, NoTls};

const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

async fn connect_to(port: u16, database: &str) -> Client {
    let url = format!("host=127.0.0.1 port={port} user=isola dbname='{database}'");
    let (client, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn error_code(client: &Client, sql: &str) -> String {
    let err = client.batch_execute(sql).await.expect_err(sql);
    common::code(&err)
}

async fn one_text(client: &Client, sql: &str) -> String {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

async fn database_names(client: &Client) -> Vec<String> {
    let rows = client.query("SELECT datname FROM pg_database ORDER BY oid", &[]).await.unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// DROP DATABASE right after the last client of the database closed its connection, as
/// Django's test runner does: the server ends that session when it reads the end of the
/// socket, a moment later, and DROP DATABASE waits for it as PostgreSQL does.
async fn drop_when_unused(client: &Client, name: &str) {
    client.batch_execute(&format!("DROP DATABASE \"{name}\"")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_databases_are_separate_durable_and_dropped() {
    let dir = std::env::temp_dir().join(format!("isola-databases-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = dir.to_str().unwrap().to_string();
    let (mut server, port) = common::spawn_server(["--data", &data]);

    // Django's test runner: connect to `postgres`, create the test database.
    let admin = connect_to(port, "postgres").await;
    admin.batch_execute("CREATE DATABASE \"test_x\"").await.unwrap();
    assert_eq!(error_code(&admin, "CREATE DATABASE test_x").await, "42P04");
    assert_eq!(error_code(&admin, "CREATE DATABASE isola").await, "42P04");
    admin.batch_execute("BEGIN").await.unwrap();
    assert_eq!(error_code(&admin, "CREATE DATABASE other").await, "25001");
    admin.batch_execute("ROLLBACK; BEGIN").await.unwrap();
    assert_eq!(error_code(&admin, "DROP DATABASE test_x").await, "25001");
    admin.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(error_code(&admin, "DROP DATABASE missing").await, "3D000");
    admin.batch_execute("DROP DATABASE IF EXISTS missing").await.unwrap();
    assert_eq!(
        database_names(&admin).await,
        ["template1", "template0", "postgres", "isola", "test_x"]
    );
    assert_eq!(one_text(&admin, "SELECT current_database()").await, "postgres");

    // The test database: its own tables and rows.
    let test = connect_to(port, "test_x").await;
    assert_eq!(one_text(&test, "SELECT current_database()").await, "test_x");
    test.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
    test.batch_execute("INSERT INTO t VALUES (1, 'in test_x'), (2, 'also')").await.unwrap();
    assert_eq!(error_code(&admin, "SELECT * FROM t").await, "42P01");
    admin.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v text)").await.unwrap();
    admin.batch_execute("INSERT INTO t VALUES (9, 'in the default')").await.unwrap();
    assert_eq!(
        one_text(&test, "SELECT string_agg(v, ',' ORDER BY id) FROM t").await,
        "in test_x,also"
    );
    assert_eq!(one_text(&admin, "SELECT string_agg(v, ',') FROM t").await, "in the default");
    // `isola` and any other name that is not a created database reach the default database.
    let other = connect_to(port, "isola").await;
    assert_eq!(one_text(&other, "SELECT v FROM t").await, "in the default");

    // In use: refused (after PostgreSQL's 5 s for the other session to end).
    assert_eq!(error_code(&test, "DROP DATABASE test_x").await, "55006");
    let err = admin.batch_execute("DROP DATABASE test_x").await.unwrap_err();
    let db = err.as_db_error().expect("a database error");
    assert_eq!(db.message(), "database \"test_x\" is being accessed by other users");
    assert_eq!(db.detail(), Some("There is 1 other session using the database."));

    // A kill and a restart: both databases come back with their rows.
    drop((admin, test, other));
    server.kill().unwrap();
    server.wait().unwrap();
    let (mut server, port) = common::spawn_server(["--data", &data]);
    let admin = connect_to(port, "postgres").await;
    assert_eq!(
        database_names(&admin).await,
        ["template1", "template0", "postgres", "isola", "test_x"]
    );
    let test = connect_to(port, "test_x").await;
    assert_eq!(
        one_text(&test, "SELECT string_agg(v, ',' ORDER BY id) FROM t").await,
        "in test_x,also"
    );
    test.batch_execute("INSERT INTO t VALUES (3, 'after the restart')").await.unwrap();
    assert_eq!(one_text(&admin, "SELECT string_agg(v, ',') FROM t").await, "in the default");

    // Dropped once its session is gone: the name then reaches the default database again,
    // and the drop survives a restart.
    drop(test);
    drop_when_unused(&admin, "test_x").await;
    assert_eq!(database_names(&admin).await, ["template1", "template0", "postgres", "isola"]);
    assert!(!dir.join("databases").join("test_x").exists());
    assert_eq!(error_code(&admin, "DROP DATABASE test_x").await, "3D000");
    let test = connect_to(port, "test_x").await;
    assert_eq!(one_text(&test, "SELECT v FROM t").await, "in the default");
    drop((admin, test));
    server.kill().unwrap();
    server.wait().unwrap();
    let (mut server, port) = common::spawn_server(["--data", &data]);
    let admin = connect_to(port, "postgres").await;
    assert_eq!(database_names(&admin).await, ["template1", "template0", "postgres", "isola"]);
    // Created again, it starts empty.
    admin.batch_execute("CREATE DATABASE test_x").await.unwrap();
    let test = connect_to(port, "test_x").await;
    assert_eq!(error_code(&test, "SELECT * FROM t").await, "42P01");
    drop((admin, test));
    server.kill().unwrap();
    server.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn databases_in_memory_and_psql_lists_them() {
    let port = common::start_server();
    let admin = connect_to(port, "postgres").await;
    admin.batch_execute("CREATE DATABASE \"Shop Test\"").await.unwrap();
    let shop = connect_to(port, "Shop Test").await;
    shop.batch_execute("CREATE TABLE items (id int PRIMARY KEY)").await.unwrap();
    shop.batch_execute("INSERT INTO items VALUES (1), (2)").await.unwrap();
    assert_eq!(error_code(&admin, "SELECT * FROM items").await, "42P01");
    let list = tokio::task::spawn_blocking(move || {
        std::process::Command::new(PSQL)
            .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "postgres"])
            .args(["-A", "-t", "-c", "\\l"])
            .output()
            .expect("running psql")
    })
    .await
    .unwrap();
    assert!(list.status.success(), "{}", String::from_utf8_lossy(&list.stderr));
    let names: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|l| l.contains('|'))
        .filter_map(|l| l.split('|').next().map(str::to_string))
        .collect();
    assert_eq!(names, ["Shop Test", "isola", "postgres", "template0", "template1"]);
    drop(shop);
    drop_when_unused(&admin, "Shop Test").await;
    assert_eq!(database_names(&admin).await, ["template1", "template0", "postgres", "isola"]);
}
