//! Transactional DDL is durable like the rows it commits with: the real `isola serve` on a data
//! directory, DDL committed (and rolled back, and left in flight) in transactions, a SIGKILL,
//! a restart, and the schema and rows read back as they were acknowledged: committed tables,
//! indexes, columns added, dropped, renamed and retyped, foreign keys still enforced; rolled
//! back or uncommitted DDL absent. With and without a CHECKPOINT between the DDL and the kill.

use std::path::{Path, PathBuf};
use std::process::Child;

use tokio_postgres::Client;

mod common;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let (child, port) = common::spawn_server(["--data", dir.to_str().unwrap()]);
        Server { child, port }
    }

    async fn connect(&mut self) -> Client {
        common::connect_when_up(self.port, &mut self.child).await
    }

    /// SIGKILL, no goodbye.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping");
    }
}

/// A test that fails midway leaves no server behind (after `kill` this does nothing more).
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh data directory for one test, removed when dropped.
struct DataDir(PathBuf);

impl DataDir {
    fn new(name: &str) -> DataDir {
        let dir = std::env::temp_dir().join(format!("isola-ddl-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        DataDir(dir)
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a statement answers, as the golden files show it (rows, `ok N`, `error CODE ...`).
async fn answer(client: &Client, sql: &str) -> Vec<String> {
    common::render(client.simple_query(sql).await)
}

/// Runs statements that must succeed.
async fn run(client: &Client, sql: &str) {
    client.batch_execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The SQLSTATE a statement fails with.
async fn fails_with(client: &Client, sql: &str) -> String {
    match client.simple_query(sql).await {
        Ok(_) => panic!("{sql}: succeeded"),
        Err(e) => common::code(&e),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_ddl_survives_a_sigkill_and_rolled_back_ddl_does_not() {
    let dir = DataDir::new("commit-rollback");
    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    run(
        &c,
        "BEGIN;
         CREATE TABLE kept (id int PRIMARY KEY, note text NOT NULL);
         INSERT INTO kept VALUES (1, 'one'), (2, 'two');
         CREATE INDEX kept_note ON kept (note);
         CREATE TABLE kept_child (id int PRIMARY KEY, kept_id int REFERENCES kept ON DELETE CASCADE);
         INSERT INTO kept_child VALUES (10, 1);
         COMMIT;",
    )
    .await;
    run(
        &c,
        "BEGIN;
         CREATE TABLE gone (id int PRIMARY KEY);
         INSERT INTO gone VALUES (1);
         ALTER TABLE kept ADD COLUMN extra int DEFAULT 5;
         DROP TABLE kept_child;
         ROLLBACK;",
    )
    .await;
    // A savepoint rolled back inside a committed transaction: only what preceded it stays.
    run(
        &c,
        "BEGIN;
         CREATE TABLE before_sp (id int PRIMARY KEY);
         INSERT INTO before_sp VALUES (7);
         SAVEPOINT s;
         CREATE TABLE after_sp (id int PRIMARY KEY);
         ALTER TABLE kept RENAME COLUMN note TO label;
         ROLLBACK TO SAVEPOINT s;
         COMMIT;",
    )
    .await;
    // A DDL transaction still open at the kill, its table already holding rows.
    let open = server.connect().await;
    run(
        &open,
        "BEGIN; CREATE TABLE in_flight (id int PRIMARY KEY); INSERT INTO in_flight VALUES (1);",
    )
    .await;
    // A dropped table, committed.
    run(&c, "CREATE TABLE dropped (id int PRIMARY KEY); INSERT INTO dropped VALUES (1); DROP TABLE dropped;")
        .await;
    server.kill();
    drop((c, open));

    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    assert_eq!(answer(&c, "SELECT * FROM kept ORDER BY id").await, ["(1, one)", "(2, two)"]);
    assert_eq!(answer(&c, "SELECT * FROM kept_child").await, ["(10, 1)"]);
    assert_eq!(answer(&c, "SELECT * FROM before_sp").await, ["(7)"]);
    for absent in ["gone", "after_sp", "in_flight", "dropped"] {
        assert_eq!(fails_with(&c, &format!("SELECT * FROM {absent}")).await, "42P01", "{absent}");
    }
    assert_eq!(
        answer(
            &c,
            "SELECT table_name, column_name FROM information_schema.columns \
             WHERE table_name = 'kept' ORDER BY ordinal_position"
        )
        .await,
        ["(kept, id)", "(kept, note)"]
    );
    // The index and the constraints came back with the table.
    assert_eq!(fails_with(&c, "CREATE INDEX kept_note ON kept (id)").await, "42P07");
    assert_eq!(fails_with(&c, "INSERT INTO kept VALUES (3, null)").await, "23502");
    assert_eq!(fails_with(&c, "INSERT INTO kept_child VALUES (11, 99)").await, "23503");
    assert_eq!(answer(&c, "DELETE FROM kept WHERE id = 1").await, ["ok 1"]);
    assert_eq!(answer(&c, "SELECT count(*) FROM kept_child").await, ["(0)"]);
    // The names rolled back or left in flight are free.
    run(&c, "CREATE TABLE gone (id int); CREATE TABLE in_flight (id int); CREATE TABLE after_sp (id int);")
        .await;
    server.kill();
}

/// ALTER TABLE's variants, then a SIGKILL; `checkpoint_after` names how many of the ALTER
/// statements run before a CHECKPOINT (none: no checkpoint at all).
async fn alter_table_survives_restart(name: &str, checkpoint_after: Option<usize>) {
    let dir = DataDir::new(name);
    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    run(
        &c,
        "CREATE TABLE regions (code text PRIMARY KEY);
         INSERT INTO regions VALUES ('north'), ('south');
         CREATE TABLE items (id int PRIMARY KEY, qty int, label text, obsolete int, region text);
         INSERT INTO items VALUES (1, 10, 'pen', 0, 'north'), (2, 20, 'ink', 0, 'south'), (3, 30, 'pad', 0, null);",
    )
    .await;
    let alters = [
        "ALTER TABLE items ADD COLUMN colour text DEFAULT 'blue'",
        "ALTER TABLE items DROP COLUMN obsolete",
        "ALTER TABLE items RENAME COLUMN label TO name",
        "ALTER TABLE items ALTER COLUMN qty TYPE bigint",
        "ALTER TABLE items ALTER COLUMN qty SET NOT NULL",
        "ALTER TABLE items ADD CONSTRAINT items_region FOREIGN KEY (region) REFERENCES regions (code)",
        "ALTER TABLE items ADD CONSTRAINT items_qty CHECK (qty > 0)",
        "ALTER TABLE items RENAME TO stock",
        "BEGIN; ALTER TABLE stock ADD COLUMN batch int; UPDATE stock SET batch = id * 100; COMMIT",
        "UPDATE stock SET qty = qty + 1 WHERE id = 2",
    ];
    for (i, sql) in alters.iter().enumerate() {
        if checkpoint_after == Some(i) {
            run(&c, "CHECKPOINT").await;
        }
        run(&c, sql).await;
    }
    if checkpoint_after == Some(alters.len()) {
        run(&c, "CHECKPOINT").await;
    }
    let query = "SELECT * FROM stock ORDER BY id";
    let before = answer(&c, query).await;
    assert_eq!(
        before,
        [
            "(1, 10, pen, north, blue, 100)",
            "(2, 21, ink, south, blue, 200)",
            "(3, 30, pad, null, blue, 300)"
        ]
    );
    let columns = "SELECT column_name FROM information_schema.columns \
                   WHERE table_name = 'stock' ORDER BY ordinal_position";
    let columns_before = answer(&c, columns).await;
    server.kill();
    drop(c);

    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    assert_eq!(answer(&c, query).await, before, "{name}: rows after the restart");
    assert_eq!(answer(&c, columns).await, columns_before, "{name}: columns after the restart");
    assert_eq!(fails_with(&c, "SELECT * FROM items").await, "42P01");
    // The definition works as it did: defaults, constraints, the new type.
    assert_eq!(
        answer(&c, "INSERT INTO stock (id, qty, name) VALUES (4, 5000000000, 'box')").await,
        ["ok 1"]
    );
    assert_eq!(answer(&c, "SELECT colour, batch FROM stock WHERE id = 4").await, ["(blue, null)"]);
    assert_eq!(fails_with(&c, "INSERT INTO stock (id, qty) VALUES (5, null)").await, "23502");
    assert_eq!(fails_with(&c, "INSERT INTO stock (id, qty) VALUES (5, 0)").await, "23514");
    assert_eq!(
        fails_with(&c, "INSERT INTO stock (id, qty, region) VALUES (5, 1, 'west')").await,
        "23503"
    );
    assert_eq!(fails_with(&c, "DELETE FROM regions WHERE code = 'north'").await, "23503");
    assert_eq!(fails_with(&c, "SELECT obsolete FROM stock").await, "42703");
    // A second restart, after more DDL on the recovered schema.
    run(&c, "ALTER TABLE stock DROP COLUMN colour; ALTER TABLE stock RENAME COLUMN name TO title")
        .await;
    let again = answer(&c, "SELECT id, title, batch FROM stock ORDER BY id").await;
    server.kill();
    drop(c);
    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    assert_eq!(answer(&c, "SELECT id, title, batch FROM stock ORDER BY id").await, again);
    assert_eq!(
        again,
        ["(1, pen, 100)", "(2, ink, 200)", "(3, pad, 300)", "(4, box, null)"],
        "{name}"
    );
    server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_table_survives_a_sigkill_from_the_log_alone() {
    alter_table_survives_restart("alter-log", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_table_survives_a_sigkill_after_a_checkpoint() {
    alter_table_survives_restart("alter-checkpoint-after", Some(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_table_survives_a_sigkill_with_a_checkpoint_in_the_middle() {
    alter_table_survives_restart("alter-checkpoint-middle", Some(4)).await;
}

/// Views are DDL like tables: committed views (and a replaced definition) come back after a
/// SIGKILL, from the log and from a checkpoint; rolled back or dropped ones do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_survive_a_sigkill_and_rolled_back_views_do_not() {
    let dir = DataDir::new("views");
    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    // (Each string is one implicit transaction, as in PostgreSQL: the checkpoint and the
    // rolled back block go in strings of their own.)
    run(
        &c,
        "CREATE TABLE t (id int PRIMARY KEY, n int);
         INSERT INTO t VALUES (1, 10), (2, 20), (3, 30);
         CREATE VIEW before_checkpoint (ident) AS SELECT id FROM t WHERE n > 10;",
    )
    .await;
    run(&c, "CHECKPOINT").await;
    run(
        &c,
        "CREATE VIEW replaced AS SELECT id FROM t;
         CREATE OR REPLACE VIEW replaced AS SELECT id, n * 2 AS twice FROM t;
         CREATE VIEW over_view AS SELECT count(*) AS c FROM before_checkpoint;
         CREATE VIEW dropped AS SELECT 1;
         DROP VIEW dropped;",
    )
    .await;
    run(&c, "BEGIN; CREATE VIEW rolled_back AS SELECT 1; ROLLBACK;").await;
    server.kill();
    drop(c);

    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    assert_eq!(answer(&c, "SELECT ident FROM before_checkpoint ORDER BY 1").await, ["(2)", "(3)"]);
    assert_eq!(answer(&c, "SELECT * FROM replaced WHERE id = 3").await, ["(3, 60)"]);
    assert_eq!(answer(&c, "SELECT c FROM over_view").await, ["(2)"]);
    for absent in ["dropped", "rolled_back"] {
        assert_eq!(fails_with(&c, &format!("SELECT * FROM {absent}")).await, "42P01", "{absent}");
    }
    assert_eq!(fails_with(&c, "DROP TABLE t").await, "2BP01");
    server.kill();
}

/// Enum types: made before a checkpoint, changed after it (a label added between two, one
/// renamed), one rolled back, one dropped; after a SIGKILL the rows keep their labels and
/// their order (the stored sort orders come out of the replay the same), and the catalog
/// lists exactly the committed labels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_types_survive_a_sigkill_and_rolled_back_ones_do_not() {
    let dir = DataDir::new("enums");
    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    run(
        &c,
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE p (id int PRIMARY KEY, m mood, ms mood[]);
         INSERT INTO p VALUES (1, 'happy', '{ok,sad}'), (2, 'sad', NULL);
         CREATE TYPE gone AS ENUM ('x');",
    )
    .await;
    run(&c, "CHECKPOINT").await;
    run(
        &c,
        "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
         INSERT INTO p VALUES (3, 'meh', '{meh,happy}'), (4, 'ok', NULL);
         ALTER TYPE mood RENAME VALUE 'happy' TO 'glad';
         DROP TYPE gone;",
    )
    .await;
    run(&c, "BEGIN; ALTER TYPE mood ADD VALUE 'never'; CREATE TYPE nope AS ENUM ('n'); ROLLBACK;")
        .await;
    server.kill();
    drop(c);

    let mut server = Server::start(&dir.0);
    let c = server.connect().await;
    assert_eq!(
        answer(&c, "SELECT id, m, ms FROM p ORDER BY m, id").await,
        ["(2, sad, null)", "(3, meh, {meh,glad})", "(4, ok, null)", "(1, glad, {ok,sad})"]
    );
    assert_eq!(answer(&c, "SELECT enum_range(NULL::mood)").await, ["({sad,meh,ok,glad})"]);
    assert_eq!(fails_with(&c, "SELECT 'never'::mood").await, "22P02");
    for absent in ["gone", "nope"] {
        assert_eq!(fails_with(&c, &format!("SELECT NULL::{absent}")).await, "42704", "{absent}");
    }
    run(&c, "INSERT INTO p VALUES (5, 'meh', NULL)").await;
    assert_eq!(answer(&c, "SELECT count(*) FROM p WHERE m < 'ok'").await, ["(3)"]);
    assert_eq!(fails_with(&c, "DROP TYPE mood").await, "2BP01");
    server.kill();
}
