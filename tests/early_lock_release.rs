//! Early lock release, step by step over the wire: the real `isola serve` on a real data
//! directory with a slow disk (`--sync-delay-ms`), so that a commit stays decided but not
//! durable long enough to interleave other transactions with it. What each step must show:
//! the next writer of the row goes on at once; nobody is shown the pending commit's data
//! before it is durable (a Read Committed reader does not see it, a statement that met it -
//! or read it through a Repeatable Read snapshot, which includes it - answers once it is
//! visible, a crash loses it together with everything built on it); a point UPDATE's bare
//! count and a first-updater-wins 40001 answer at once.
//!
//! The disk delay is long (seconds) against the steps (milliseconds) so the order of events
//! does not depend on the machine's speed; no step's duration is asserted.

use std::process::Child;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::Client;

mod common;

/// How long each frame waits before it is written and synced.
const DISK_DELAY_MS: u64 = 2000;

struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

/// `isola serve` with the slow disk on a port the kernel picks; returns once it listens.
fn spawn(dir: &std::path::Path) -> (Child, u16) {
    let delay = DISK_DELAY_MS.to_string();
    common::spawn_server(["--data", dir.to_str().unwrap(), "--sync-delay-ms", &delay])
}

impl Server {
    fn start(dir: std::path::PathBuf) -> Server {
        let (child, port) = spawn(&dir);
        Server { child, port, dir }
    }

    fn fresh(name: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("isola-elr-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Server::start(dir)
    }

    /// Connects, waiting (bounded) for the server to listen.
    async fn connect(&mut self) -> Client {
        common::connect_when_up(self.port, &mut self.child).await
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping");
    }

    /// After [`Server::kill`]: a new server (recovering) on the same data directory, on a new
    /// port.
    fn restart(&mut self) {
        let (child, port) = spawn(&self.dir);
        self.child = child;
        self.port = port;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn n_of(client: &Client, id: i32) -> i32 {
    client.query_one("SELECT n FROM c WHERE id = $1", &[&id]).await.unwrap().get(0)
}

/// A table `c` with rows 1 and 2 (n = 0), durable; and T1: a transaction that added 1 to row
/// 1 and whose COMMIT is under way (decided, waiting for the slow disk). Returns a spare
/// connection, the COMMIT's task and T1's transaction id.
async fn pending_commit(server: &mut Server) -> (Client, JoinHandle<Result<(), String>>, i64) {
    let setup = server.connect().await;
    setup.batch_execute("CREATE TABLE c (id int PRIMARY KEY, n int NOT NULL)").await.unwrap();
    setup.batch_execute("INSERT INTO c VALUES (1, 0), (2, 0)").await.unwrap();
    let t1 = server.connect().await;
    t1.batch_execute("BEGIN; UPDATE c SET n = n + 1 WHERE id = 1").await.unwrap();
    let id = t1
        .query_one("SELECT txn_id FROM isola_stat_activity WHERE pid = pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let commit =
        tokio::spawn(async move { t1.batch_execute("COMMIT").await.map_err(|e| common::code(&e)) });
    (setup, commit, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_writer_goes_on_and_nobody_reads_the_pending_commit() {
    let mut server = Server::fresh("rc");
    let (reader, t1_commit, _) = pending_commit(&mut server).await;
    let t2 = server.connect().await;
    t2.batch_execute("BEGIN").await.unwrap();
    // The row's lock came free when T1's record was appended: T2 updates on top of T1's
    // version, and its bare count answers at once.
    let updated = t2.execute("UPDATE c SET n = n + 10 WHERE id = 1", &[]).await.unwrap();
    assert_eq!(updated, 1);
    assert!(!t1_commit.is_finished(), "T2 went on while T1's commit waited for the disk");
    // A plain reader neither waits nor sees T1.
    assert_eq!(n_of(&reader, 1).await, 0);
    assert!(!t1_commit.is_finished(), "the reader did not wait for T1's disk");
    // T2's next statement could show T1's value (its WHERE reads n): it answers once T1 is
    // visible, and from then on every new snapshot has T1.
    let updated = t2.execute("UPDATE c SET n = n + 100 WHERE id = 1 AND n >= 0", &[]).await;
    assert_eq!(updated.unwrap(), 1);
    assert_eq!(n_of(&reader, 1).await, 1, "T2's answer came after T1 became visible");
    assert_eq!(n_of(&t2, 1).await, 111);
    t2.batch_execute("COMMIT").await.unwrap();
    assert_eq!(t1_commit.await.unwrap(), Ok(()));
    assert_eq!(n_of(&reader, 1).await, 111);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_select_after_a_count_only_update_waits_for_what_it_built_on() {
    let mut server = Server::fresh("select");
    let (reader, t1_commit, t1) = pending_commit(&mut server).await;
    let t2 = std::sync::Arc::new(server.connect().await);
    let t2_pid: i32 = t2.query_one("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    t2.batch_execute("BEGIN").await.unwrap();
    t2.execute("UPDATE c SET n = n + 10 WHERE id = 1", &[]).await.unwrap();
    assert!(!t1_commit.is_finished());
    // Its own row shows T1's +1: the answer waits until T1 is visible, and meanwhile the
    // session shows as active, its answer held for T1's commit (not blocked by anyone).
    let select = tokio::spawn({
        let t2 = t2.clone();
        async move { n_of(&t2, 1).await }
    });
    let activity = "SELECT state, waiting, waiting_for FROM isola_stat_activity WHERE pid = $1";
    let mut shown = None;
    for _ in 0..1000 {
        let row = reader.query_one(activity, &[&t2_pid]).await.unwrap();
        let waiting_for: Option<String> = row.get(2);
        if let Some(what) = waiting_for {
            shown = Some((row.get::<_, String>(0), row.get::<_, bool>(1), what));
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (state, waiting, what) = shown.expect("the held answer shows in isola_stat_activity");
    assert!(!select.is_finished() && !t1_commit.is_finished(), "seen while T1 was pending");
    assert_eq!((state.as_str(), waiting), ("active", false));
    assert!(what.contains(&format!("T{t1}'s commit")) && what.contains("disk"), "{what}");
    assert_eq!(select.await.unwrap(), 11);
    assert_eq!(n_of(&reader, 1).await, 1, "T2's SELECT answered after T1 became visible");
    let row = reader.query_one(activity, &[&t2_pid]).await.unwrap();
    assert_eq!(row.get::<_, String>(0), "idle in transaction");
    assert_eq!(row.get::<_, Option<String>>(2), None);
    t2.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(t1_commit.await.unwrap(), Ok(()));
    assert_eq!(n_of(&reader, 1).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_returning_the_row_waits_for_the_pending_commit() {
    let mut server = Server::fresh("returning");
    let (reader, t1_commit, _) = pending_commit(&mut server).await;
    let t2 = server.connect().await;
    t2.batch_execute("BEGIN").await.unwrap();
    let rows = t2.query("UPDATE c SET n = n + 10 WHERE id = 1 RETURNING n", &[]).await.unwrap();
    assert_eq!(rows[0].get::<_, i32>(0), 11);
    assert_eq!(n_of(&reader, 1).await, 1, "the RETURNING answered after T1 became visible");
    t2.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(t1_commit.await.unwrap(), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeatable_read_snapshots_include_the_pending_commit_and_a_conflict_answers_at_once() {
    let mut server = Server::fresh("rr");
    let (reader, t1_commit, _) = pending_commit(&mut server).await;
    // T2's snapshot, taken while T1 waits for the disk, includes T1's decided update: T2
    // updates on top of it (no conflict, no restart) and its count answers at once.
    let t2 = server.connect().await;
    t2.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    let updated = t2.execute("UPDATE c SET n = n + 10 WHERE id = 1", &[]).await.unwrap();
    assert_eq!(updated, 1);
    assert!(!t1_commit.is_finished(), "T2 went on while T1's commit waited for the disk");
    // T3's snapshot includes T1 too; a row T1 did not write answers at once.
    let t3 = server.connect().await;
    t3.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(n_of(&t3, 2).await, 0);
    assert!(!t1_commit.is_finished(), "T3's read of another row did not wait for T1's disk");
    // T4 reads T1's row: it sees T1's +1, answered only once T1 is visible (a plain reader,
    // which sees only the visible state, shows that it is by then).
    let t4 = server.connect().await;
    t4.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(n_of(&t4, 1).await, 1);
    assert_eq!(n_of(&reader, 1).await, 1, "T4's answer came after T1 became visible");
    t4.batch_execute("COMMIT").await.unwrap();
    // T2's read of its row shows T1's +1 and its own +10.
    assert_eq!(n_of(&t2, 1).await, 11);
    // T2 commits (decided at once, durable after the disk's delay) while T3 updates the row:
    // T3 meets T2's version once the lock comes free, committed after T3's snapshot: 40001,
    // answered at once (it shows nothing of the row, and a retry's snapshot includes T2).
    let t2_commit =
        tokio::spawn(async move { t2.batch_execute("COMMIT").await.map_err(|e| common::code(&e)) });
    let conflict = t3.execute("UPDATE c SET n = n + 1000 WHERE id = 1", &[]).await.unwrap_err();
    assert_eq!(common::code(&conflict), "40001");
    assert!(!t2_commit.is_finished(), "the 40001 did not wait for T2's disk");
    assert_eq!(n_of(&reader, 1).await, 1, "the 40001 came before T2 became visible");
    t3.batch_execute("ROLLBACK").await.unwrap();
    // The retry's snapshot includes T2: its read of the row shows T2's value once durable.
    t3.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").await.unwrap();
    assert_eq!(n_of(&t3, 1).await, 11);
    assert_eq!(t2_commit.await.unwrap(), Ok(()));
    assert_eq!(t1_commit.await.unwrap(), Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_disk_loses_the_pending_commit_and_showed_nothing_of_it() {
    let mut server = Server::fresh("crash");
    let (_reader, t1_commit, _) = pending_commit(&mut server).await;
    let t2 = server.connect().await;
    t2.batch_execute("BEGIN").await.unwrap();
    t2.execute("UPDATE c SET n = n + 10 WHERE id = 1", &[]).await.unwrap();
    // T2's SELECT would show T1's value: it must still be waiting when the server dies.
    let select = tokio::spawn(async move { t2.query("SELECT n FROM c WHERE id = 1", &[]).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!select.is_finished(), "the SELECT answered before T1 was durable");
    assert!(!t1_commit.is_finished());
    server.kill();
    assert!(select.await.unwrap().is_err(), "the SELECT never answered");
    assert!(t1_commit.await.unwrap().is_err(), "T1's commit was never acknowledged");
    // T1's record never reached the disk: after recovery, neither T1 nor T2 is there.
    server.restart();
    let client = server.connect().await;
    assert_eq!(n_of(&client, 1).await, 0);
    assert_eq!(n_of(&client, 2).await, 0);
}
