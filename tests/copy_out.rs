//! COPY ... TO STDOUT end to end: tokio-postgres's `copy_out` (the extended protocol) and
//! psql's `\copy` (the simple protocol) against an in-process server, byte for byte against
//! what PostgreSQL 15 writes for the same table and statements. The expected bytes were taken
//! from PostgreSQL 15.x (`psql -c "COPY ..." | od -c`) on the same rows; the float column holds
//! values both print alike. Also: COPY TO reads its transaction's snapshot, COPY FROM's
//! NULL/QUOTE/ESCAPE options round-trip, and bad input gets PostgreSQL's SQLSTATE with the
//! connection still usable.

mod common;

use futures::TryStreamExt;
use std::process::Command;

const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

const SETUP: &str = r#"
CREATE TABLE t (id int PRIMARY KEY, s text, n numeric, b bool, ts timestamp, f float8);
CREATE TABLE empty (a int, b text);
INSERT INTO t VALUES
  (1, E'a\tb\nc\\d', 1.50, true, '2024-01-02 03:04:05.25', 1.5),
  (2, NULL, NULL, NULL, NULL, NULL),
  (3, 'he said "hi", ok', -0.001, false, '1999-12-31 23:59:59', 0.25),
  (4, '', 0, true, '2000-01-01', 0),
  (5, E'\\.', 12345678901234567890.123, false, '2024-02-29 12:00:00', 'NaN'),
  (6, E'x\ry\x01z', 1, true, '2024-01-01 00:00:00.000001', 3.14159),
  (7, 'semi;colon|pipe', 100, false, '1970-01-01 00:00:00', -2);
"#;

/// Each statement with the bytes PostgreSQL 15 sends for it.
const EXPECTED: &[(&str, &[u8])] = &[
    (
        "COPY t TO STDOUT",
        b"1\ta\\tb\\nc\\\\d\t1.50\tt\t2024-01-02 03:04:05.25\t1.5\n2\t\\N\t\\N\t\\N\t\\N\t\\N\n3\the said \"hi\", ok\t-0.001\tf\t1999-12-31 23:59:59\t0.25\n4\t\t0\tt\t2000-01-01 00:00:00\t0\n5\t\\\\.\t12345678901234567890.123\tf\t2024-02-29 12:00:00\tNaN\n6\tx\\ry\x01z\t1\tt\t2024-01-01 00:00:00.000001\t3.14159\n7\tsemi;colon|pipe\t100\tf\t1970-01-01 00:00:00\t-2\n",
    ),
    (
        "copy t to stdout with (format csv, header)",
        b"id,s,n,b,ts,f\n1,\"a\tb\nc\\d\",1.50,t,2024-01-02 03:04:05.25,1.5\n2,,,,,\n3,\"he said \"\"hi\"\", ok\",-0.001,f,1999-12-31 23:59:59,0.25\n4,\"\",0,t,2000-01-01 00:00:00,0\n5,\\.,12345678901234567890.123,f,2024-02-29 12:00:00,NaN\n6,\"x\ry\x01z\",1,t,2024-01-01 00:00:00.000001,3.14159\n7,semi;colon|pipe,100,f,1970-01-01 00:00:00,-2\n",
    ),
    (
        "copy (select id, s from t where id > 2 and id < 7) to stdout with csv",
        b"3,\"he said \"\"hi\"\", ok\"\n4,\"\"\n5,\\.\n6,\"x\ry\x01z\"\n",
    ),
    (
        "copy t (s, id) to stdout with (format csv, force_quote *, null 'NULL')",
        b"\"a\tb\nc\\d\",\"1\"\nNULL,\"2\"\n\"he said \"\"hi\"\", ok\",\"3\"\n\"\",\"4\"\n\"\\.\",\"5\"\n\"x\ry\x01z\",\"6\"\n\"semi;colon|pipe\",\"7\"\n",
    ),
    (
        "copy t to stdout with (header, delimiter '|', null '')",
        b"id|s|n|b|ts|f\n1|a\\tb\\nc\\\\d|1.50|t|2024-01-02 03:04:05.25|1.5\n2|||||\n3|he said \"hi\", ok|-0.001|f|1999-12-31 23:59:59|0.25\n4||0|t|2000-01-01 00:00:00|0\n5|\\\\.|12345678901234567890.123|f|2024-02-29 12:00:00|NaN\n6|x\\ry\x01z|1|t|2024-01-01 00:00:00.000001|3.14159\n7|semi;colon\\|pipe|100|f|1970-01-01 00:00:00|-2\n",
    ),
    (
        // What pg_dump sends.
        "COPY public.t (id, s) TO stdout;",
        b"1\ta\\tb\\nc\\\\d\n2\t\\N\n3\the said \"hi\", ok\n4\t\n5\t\\\\.\n6\tx\\ry\x01z\n7\tsemi;colon|pipe\n",
    ),
    ("copy (select s from t where id in (4, 5)) to stdout with (format csv)", b"\"\"\n\"\\.\"\n"),
    (
        "copy t (id, s) to stdout with (format csv, quote '''', escape '\\', force_quote (id))",
        b"'1','a\tb\nc\\\\d'\n'2',\n'3','he said \"hi\", ok'\n'4',''\n'5',\\.\n'6','x\ry\x01z'\n'7',semi;colon|pipe\n",
    ),
    ("copy empty to stdout", b""),
    ("copy empty to stdout with (format csv, header)", b"a,b\n"),
];

async fn copy_out(client: &tokio_postgres::Client, sql: &str) -> Result<Vec<u8>, String> {
    let stream = client.copy_out(sql).await.map_err(|e| common::code(&e))?;
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.map_err(|e| common::code(&e))?;
    Ok(chunks.concat())
}

fn psql(port: u16, command: &str) -> std::process::Output {
    psql_with(port, "-q", command)
}

fn psql_with(port: u16, flag: &str, command: &str) -> std::process::Output {
    Command::new(PSQL)
        .args(["-X", flag, "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "isola"])
        .args(["-v", "ON_ERROR_STOP=1", "-c", command])
        .output()
        .expect("running psql")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_stdout_writes_what_postgres_writes() {
    let port = common::start_server();
    let client = common::connect(port).await;
    client.batch_execute(SETUP).await.unwrap();
    for (sql, expected) in EXPECTED {
        let got = copy_out(&client, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "tokio-postgres: {sql}"
        );
        let out = psql(port, sql);
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(expected));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_backslash_copy_to_a_file_and_to_stdout() {
    let port = common::start_server();
    let client = common::connect(port).await;
    client.batch_execute(SETUP).await.unwrap();
    let file = std::env::temp_dir().join(format!("isola-copy-out-{}.csv", std::process::id()));
    // Not quiet: psql prints the tag, which counts rows, not the header line.
    let command = format!("\\copy t to '{}' with (format csv, header)", file.display());
    let out = psql_with(port, "-X", &command);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "COPY 7\n");
    let written = std::fs::read(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    let (_, expected) = EXPECTED[1];
    assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(expected));
    let out = psql(port, "\\copy (select id, s from t where id > 2 and id < 7) to stdout with csv");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(EXPECTED[2].1));
    let out = psql(port, "\\copy empty to stdout");
    assert_eq!((out.status.success(), out.stdout.len()), (true, 0));
}

/// COPY TO reads its statement's snapshot like a SELECT: at Repeatable Read, the block's
/// snapshot, not rows committed since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_to_reads_the_transactions_snapshot() {
    let port = common::start_server();
    let reader = common::connect(port).await;
    let writer = common::connect(port).await;
    reader.batch_execute("CREATE TABLE k (id int PRIMARY KEY, v text)").await.unwrap();
    reader.batch_execute("INSERT INTO k VALUES (1, 'one')").await.unwrap();
    reader.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1").await.unwrap();
    let before = copy_out(&reader, "COPY k TO STDOUT").await.unwrap();
    writer
        .batch_execute("INSERT INTO k VALUES (2, 'two'); UPDATE k SET v = 'uno' WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(copy_out(&reader, "COPY k TO STDOUT").await.unwrap(), before);
    assert_eq!(before, b"1\tone\n");
    reader.batch_execute("COMMIT").await.unwrap();
    let after = copy_out(&reader, "COPY (SELECT * FROM k ORDER BY id) TO STDOUT").await.unwrap();
    assert_eq!(after, b"1\tuno\n2\ttwo\n");
}

/// COPY FROM takes NULL, QUOTE and ESCAPE (and the text format's NULL), over the extended
/// protocol too (tokio-postgres's `copy_in`), and COPY TO writes the rows back as PostgreSQL 15
/// does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_from_options_round_trip() {
    use futures::SinkExt;
    let port = common::start_server();
    let client = common::connect(port).await;
    client.batch_execute("CREATE TABLE r (id int PRIMARY KEY, s text)").await.unwrap();
    let options = "(FORMAT csv, NULL 'NULL', QUOTE '''', ESCAPE '\\')";
    let data: &[u8] = b"1,'it\\'s, quoted'\n2,NULL\n3,'NULL'\n4,''\n5,plain\n";
    let sink = client.copy_in(&format!("COPY r FROM STDIN WITH {options}")).await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(data)).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 5);
    let rows = client.query("SELECT id, s FROM r ORDER BY id", &[]).await.unwrap();
    let values: Vec<Option<String>> = rows.iter().map(|r| r.get(1)).collect();
    let expected = [Some("it's, quoted"), None, Some("NULL"), Some(""), Some("plain")]
        .map(|s| s.map(String::from));
    assert_eq!(values, expected);
    // PostgreSQL 15 writes this back (an empty string needs no quotes when NULL is 'NULL').
    let back = copy_out(&client, &format!("COPY r TO STDOUT WITH {options}")).await.unwrap();
    let expected = "1,'it\\'s, quoted'\n2,NULL\n3,'NULL'\n4,\n5,plain\n";
    assert_eq!(String::from_utf8_lossy(&back), expected);
    // The text format's NULL string.
    client.batch_execute("DELETE FROM r").await.unwrap();
    let sink = client.copy_in("COPY r FROM STDIN WITH (NULL '-')").await.unwrap();
    futures::pin_mut!(sink);
    sink.send(bytes::Bytes::from_static(b"1\t-\n2\t\\N\n")).await.unwrap();
    sink.finish().await.unwrap();
    let back = copy_out(&client, "COPY r TO STDOUT (NULL '-')").await.unwrap();
    assert_eq!(back, b"1\t-\n2\tN\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_copy_statements_get_postgres_sqlstates() {
    let port = common::start_server();
    let client = common::connect(port).await;
    client.batch_execute(SETUP).await.unwrap();
    for (sql, code) in [
        ("COPY nosuch TO STDOUT", "42P01"),
        ("COPY t (id, nosuch) TO STDOUT", "42703"),
        ("COPY (SELECT nosuch FROM t) TO STDOUT", "42703"),
        ("COPY t TO '/tmp/isola-copy-out-refused'", "42501"),
        ("COPY t TO PROGRAM 'cat'", "42501"),
        ("COPY t TO STDOUT WITH (FORMAT binary)", "0A000"),
        ("COPY t TO STDOUT WITH (QUOTE '''')", "0A000"),
        ("COPY t TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (nosuch))", "42703"),
        ("COPY t (id) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE (s))", "42P10"),
        ("COPY t TO STDOUT WITH (DELIMITER 'a')", "22023"),
    ] {
        let err = copy_out(&client, sql).await.expect_err(sql);
        assert_eq!(err, code, "{sql}");
        // The connection stays usable.
        let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
        assert_eq!(one, 1);
    }
    assert!(!std::path::Path::new("/tmp/isola-copy-out-refused").exists());
    // psql reports them too, and a failed COPY in a block fails the block.
    let out = psql(port, "COPY nosuch TO STDOUT");
    assert!(String::from_utf8_lossy(&out.stderr).contains("relation \"nosuch\" does not exist"));
    client.batch_execute("BEGIN").await.unwrap();
    assert_eq!(copy_out(&client, "COPY nosuch TO STDOUT").await.unwrap_err(), "42P01");
    assert_eq!(copy_out(&client, "COPY t TO STDOUT").await.unwrap_err(), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(copy_out(&client, "COPY empty TO STDOUT").await.unwrap(), b"");
}
