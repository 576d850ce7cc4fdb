//! What happens to connections, over real sockets: statement_timeout and cancel requests
//! ending running statements, idle_in_transaction_session_timeout ending a session that sits
//! on its locks, a thousand connections at once, and malformed protocol messages (each closes
//! its own connection only; the server keeps serving everyone else).

mod common;

use common::{code, connect};

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tokio_postgres::NoTls;

/// A statement that runs for minutes unless stopped: 400 million joined rows.
const ENDLESS: &str =
    "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b";

#[tokio::test]
async fn statement_timeout_ends_a_running_statement() {
    let port = common::start_server();
    let c = connect(port).await;
    c.batch_execute("SET statement_timeout = '150ms'").await.unwrap();
    let err = c.query_one(ENDLESS, &[]).await.unwrap_err();
    assert_eq!(code(&err), "57014", "{err}");
    let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
    assert!(message.contains("statement timeout"), "{err}");
    // The connection goes on; in a block the timeout fails the block as any error does.
    assert_eq!(c.query_one("SELECT 1", &[]).await.unwrap().get::<_, i32>(0), 1);
    c.batch_execute("BEGIN").await.unwrap();
    assert_eq!(code(&c.query_one(ENDLESS, &[]).await.unwrap_err()), "57014");
    assert_eq!(code(&c.query_one("SELECT 1", &[]).await.unwrap_err()), "25P02");
    c.batch_execute("ROLLBACK; SET statement_timeout = 0").await.unwrap();
    // Short statements are not affected by a generous timeout.
    c.batch_execute("SET statement_timeout = '60s'").await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM generate_series(1, 100) a, generate_series(1, 100) b", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 10_000);
}

#[tokio::test]
async fn a_cancel_request_ends_a_running_statement() {
    let port = common::start_server();
    let c = connect(port).await;
    let token = c.cancel_token();
    let running = tokio::spawn(async move {
        let result = c.query_one(ENDLESS, &[]).await;
        (c, result)
    });
    // A cancel that lands before the statement starts is (rightly) forgotten: repeat it until
    // the statement ends, bounded.
    let started = Instant::now();
    while !running.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(120), "the statement was never canceled");
        token.cancel_query(NoTls).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (c, result) = running.await.unwrap();
    let err = result.unwrap_err();
    assert_eq!(code(&err), "57014", "{err}");
    let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
    assert!(message.contains("user request"), "{err}");
    assert_eq!(c.query_one("SELECT 2", &[]).await.unwrap().get::<_, i32>(0), 2);

    // A statement waiting for a row lock is canceled the same way.
    c.batch_execute("CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0)")
        .await
        .unwrap();
    let holder = connect(port).await;
    holder.batch_execute("BEGIN; UPDATE t SET v = 1 WHERE id = 1").await.unwrap();
    let token = c.cancel_token();
    let waiting = tokio::spawn(async move {
        let result = c.execute("UPDATE t SET v = 2 WHERE id = 1", &[]).await;
        (c, result)
    });
    let started = Instant::now();
    while !waiting.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(120), "the wait was never canceled");
        token.cancel_query(NoTls).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (c, result) = waiting.await.unwrap();
    assert_eq!(code(&result.unwrap_err()), "57014");
    holder.batch_execute("COMMIT").await.unwrap();
    let v: i32 = c.query_one("SELECT v FROM t WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(v, 1);
}

#[tokio::test]
async fn idle_in_transaction_timeout_ends_the_session_and_frees_its_locks() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute(
            "CREATE TABLE acct (id int PRIMARY KEY, balance int); INSERT INTO acct VALUES (1, 100)",
        )
        .await
        .unwrap();

    let idler = connect(port).await;
    idler
        .batch_execute(
            "SET idle_in_transaction_session_timeout = '300ms'; BEGIN; UPDATE acct SET balance = 0 WHERE id = 1",
        )
        .await
        .unwrap();
    // Another session waits for the row; it gets it when the idler's session is ended.
    let other = connect(port).await;
    other.batch_execute("SET statement_timeout = '120s'").await.unwrap();
    let updated = other.execute("UPDATE acct SET balance = balance + 1 WHERE id = 1", &[]).await;
    assert_eq!(updated.unwrap(), 1);
    let balance: i32 =
        other.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(balance, 101, "the idle session's update was rolled back");

    // The idler learns why on its next statement, and its connection is closed.
    let err = idler.batch_execute("COMMIT").await.unwrap_err();
    assert!(
        code(&err) == "25P03" || idler.is_closed(),
        "expected 25P03 or a closed connection, got {err}"
    );
    assert!(idler.batch_execute("SELECT 1").await.is_err());

    // Idle outside a block is never ended, and a block that keeps working is not either.
    let busy = connect(port).await;
    busy.batch_execute("SET idle_in_transaction_session_timeout = '300ms'").await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    busy.batch_execute("BEGIN").await.unwrap();
    for _ in 0..5 {
        busy.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    busy.batch_execute("COMMIT").await.unwrap();
}

#[tokio::test]
async fn a_thousand_connections_at_once() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute(
            "CREATE TABLE hits (id int PRIMARY KEY, n int); INSERT INTO hits VALUES (1, 0)",
        )
        .await
        .unwrap();
    let mut clients = Vec::with_capacity(1000);
    // The default --max-connections is 1,000: the setup connection and 999 more.
    for _ in 0..999 {
        clients.push(connect(port).await);
    }
    let sessions: i64 =
        setup.query_one("SELECT count(*) FROM isola_stat_activity", &[]).await.unwrap().get(0);
    assert_eq!(sessions, 1000);
    let refused = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=isola dbname=isola"),
        NoTls,
    )
    .await
    .err()
    .expect("the 1,001st connection is refused");
    assert_eq!(code(&refused), "53300", "{refused}");
    // Every one of them works, concurrently.
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| {
            tokio::spawn(async move {
                c.execute("UPDATE hits SET n = n + 1 WHERE id = 1", &[]).await.unwrap();
                c
            })
        })
        .collect();
    let mut clients = Vec::new();
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    let n: i32 = setup.query_one("SELECT n FROM hits WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(n, 999);
    // Closing some makes room again.
    clients.truncate(900);
    let deadline = Instant::now() + Duration::from_secs(30);
    let late = loop {
        match tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=isola dbname=isola"),
            NoTls,
        )
        .await
        {
            Ok((c, conn)) => {
                tokio::spawn(conn);
                break c;
            }
            Err(e) => {
                assert_eq!(code(&e), "53300");
                assert!(Instant::now() < deadline, "closed connections never freed their slots");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    late.execute("UPDATE hits SET n = n + 1 WHERE id = 1", &[]).await.unwrap();
}

/// A startup packet for user and database "isola".
fn startup_packet() -> Vec<u8> {
    let mut body = 196_608i32.to_be_bytes().to_vec();
    for part in ["user", "isola", "database", "isola", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut packet = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// Everything the server sends until it closes the connection (bounded).
fn read_until_closed(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{what}: the server did not close the connection: {e}; got {out:?}"),
        }
    }
}

/// The SQLSTATEs of the ErrorResponse messages in a stream of backend messages.
fn error_codes(mut bytes: &[u8]) -> Vec<String> {
    let mut codes = Vec::new();
    while bytes.len() >= 5 {
        let kind = bytes[0];
        let len = i32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
        let Some(body) = bytes.get(5..1 + len) else { break };
        if kind == b'E' {
            for field in body.split(|&b| b == 0) {
                if field.first() == Some(&b'C') {
                    codes.push(String::from_utf8_lossy(&field[1..]).into_owned());
                }
            }
        }
        bytes = &bytes[1 + len..];
    }
    codes
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_protocol_messages_close_only_their_own_connection() {
    let port = common::start_server();
    let healthy = connect(port).await;
    healthy
        .batch_execute("CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept VALUES (1)")
        .await
        .unwrap();
    healthy.batch_execute("BEGIN; INSERT INTO kept VALUES (2)").await.unwrap();

    let mut bind_truncated = message(b'P', b"s1\0SELECT $1::int\0\0\0");
    bind_truncated.extend(message(b'B', b"\0s1\0\0\0\0\x01\0\0\0\x08\x01"));
    bind_truncated.extend(message(b'S', b""));
    // Not in the table: a length below 4 ('Q' 0 0 0 2), which pgwire 0.42 decodes as an empty
    // query instead of refusing (the connection stays open and in step; nothing breaks).
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        // (what, bytes after a good startup, whether a startup is sent first)
        ("unknown message type", message(b'z', b"whatever"), true),
        ("length of a gigabyte", vec![b'Q', 0x40, 0, 0, 0, b'S'], true),
        ("query without its terminating NUL", message(b'Q', b"SELECT 1"), true),
        ("bind whose parameter runs past the message", bind_truncated, true),
        ("garbage instead of a startup packet", b"\x00\x00\x00\x10GARBAGE!GARBAGE".to_vec(), false),
        ("a startup packet claiming to be huge", vec![0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0], false),
    ];
    for (what, bytes, with_startup) in cases {
        let bytes_owned = bytes.clone();
        let answer = tokio::task::spawn_blocking(move || {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            if with_startup {
                s.write_all(&startup_packet()).unwrap();
                // Read up to the first ReadyForQuery so the bad message comes after startup.
                let mut seen = Vec::new();
                let mut buf = [0u8; 1024];
                s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                while !seen.windows(6).any(|w| w == [b'Z', 0, 0, 0, 5, b'I']) {
                    let n = s.read(&mut buf).expect("startup answered");
                    assert!(n > 0, "closed during startup");
                    seen.extend_from_slice(&buf[..n]);
                }
            }
            // The server may close before it has read all of it.
            let _ = s.write_all(&bytes_owned);
            read_until_closed(&mut s, what)
        })
        .await
        .unwrap();
        let codes = error_codes(&answer);
        assert!(
            codes.iter().all(|c| c.starts_with("08") || c == "22P03" || c == "0A000"),
            "{what}: unexpected errors {codes:?}"
        );
        // Everyone else is served as before, mid-transaction included.
        let n: i64 = healthy.query_one("SELECT count(*) FROM kept", &[]).await.unwrap().get(0);
        assert_eq!(n, 2, "after {what}");
    }
    healthy.batch_execute("COMMIT").await.unwrap();
    let again = connect(port).await;
    let n: i64 = again.query_one("SELECT count(*) FROM kept", &[]).await.unwrap().get(0);
    assert_eq!(n, 2);
}

/// Inside a transaction block a one-row write waits for its row's lock on the connection's
/// own task (not a blocking thread): the wait still ends by lock_timeout (55P03), by
/// statement_timeout and by a cancel request (57014), leaving the block failed (25P02), and a
/// granted wait resumes the statement on the newest row.
#[tokio::test]
async fn a_blocks_row_lock_wait_ends_by_timeouts_cancel_or_grant() {
    let port = common::start_server();
    let setup = connect(port).await;
    setup
        .batch_execute(
            "CREATE TABLE acct (id int PRIMARY KEY, balance int); INSERT INTO acct VALUES (1, 100)",
        )
        .await
        .unwrap();
    let holder = connect(port).await;
    holder
        .batch_execute("BEGIN; UPDATE acct SET balance = balance + 1 WHERE id = 1")
        .await
        .unwrap();
    let update = "UPDATE acct SET balance = balance + $1 WHERE id = $2";

    for (setting, expected_code, expected_message) in [
        ("lock_timeout = '200ms'", "55P03", "lock timeout"),
        ("statement_timeout = '200ms'", "57014", "statement timeout"),
    ] {
        let waiter = connect(port).await;
        waiter.batch_execute(&format!("SET {setting}; BEGIN")).await.unwrap();
        let err = waiter.execute(update, &[&10i32, &1i32]).await.unwrap_err();
        assert_eq!(code(&err), expected_code, "{setting}: {err}");
        let message = err.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
        assert!(message.contains(expected_message), "{setting}: {err}");
        let after = waiter.execute("SELECT 1", &[]).await.unwrap_err();
        assert_eq!(code(&after), "25P02", "the block is failed after {setting}");
        waiter.batch_execute("ROLLBACK").await.unwrap();
    }

    // A cancel request.
    let waiter = connect(port).await;
    waiter.batch_execute("BEGIN").await.unwrap();
    let token = waiter.cancel_token();
    let waiting = tokio::spawn(async move {
        let result = waiter.execute(update, &[&10i32, &1i32]).await;
        (waiter, result)
    });
    let started = Instant::now();
    while !waiting.is_finished() {
        assert!(started.elapsed() < Duration::from_secs(120), "the wait was never canceled");
        token.cancel_query(NoTls).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (waiter, result) = waiting.await.unwrap();
    let err = result.unwrap_err();
    assert_eq!(code(&err), "57014", "{err}");
    waiter.batch_execute("ROLLBACK").await.unwrap();

    // Granted: the waiter resumes when the holder commits and updates the newest row.
    waiter.batch_execute("BEGIN").await.unwrap();
    let waiting = tokio::spawn(async move {
        let result = waiter.execute(update, &[&10i32, &1i32]).await;
        (waiter, result)
    });
    let started = Instant::now();
    loop {
        let waiting_now: i64 = setup
            .query_one("SELECT count(*) FROM isola_stat_activity WHERE waiting", &[])
            .await
            .unwrap()
            .get(0);
        if waiting_now == 1 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the update never waited");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.batch_execute("COMMIT").await.unwrap();
    let (waiter, result) = waiting.await.unwrap();
    assert_eq!(result.unwrap(), 1);
    waiter.batch_execute("COMMIT").await.unwrap();
    let balance: i32 =
        setup.query_one("SELECT balance FROM acct WHERE id = 1", &[]).await.unwrap().get(0);
    assert_eq!(balance, 111, "the holder's +1 and the waiter's +10");
}
