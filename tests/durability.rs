//! Durability through the SQL engine on a fault-injecting file layer: randomized workloads
//! checked against a model across crash / recover cycles, checkpoints and DDL among them,
//! synchronous_commit on and off, and the data directory's lock. (The crash test with the real
//! binary and SIGKILL is `tests/crash.rs`.)

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use isola::durable::DurableOptions;
use isola::sql::Engine;
use isola::sql::session::{Outcome, Session};
use isola::types::Value;
use isola::wal::{FaultyStorage, LogOptions, Storage, TornTail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn options() -> DurableOptions {
    DurableOptions {
        log: LogOptions {
            segment_size: 4096,
            writer_delay: Duration::from_millis(5),
            preallocate: true,
            sync_delay: Duration::ZERO,
        },
        checkpoint_interval: Duration::from_secs(3600),
        checkpoint_log_bytes: u64::MAX,
        ..DurableOptions::default()
    }
}

fn start(storage: &FaultyStorage, options: DurableOptions) -> isola::Result<Arc<Engine>> {
    Engine::open_with(Arc::new(storage.clone()), Path::new("/data"), options, None).map(|(e, _)| e)
}

fn session(engine: &Arc<Engine>) -> Session {
    Session::new(engine.clone(), "test", "isola", "durability")
}

/// Runs statements; the first error, with its SQLSTATE.
fn run(s: &mut Session, sql: &str) -> Result<Vec<Outcome>, String> {
    let mut out = Vec::new();
    for r in s.execute_simple(sql) {
        match r {
            Ok(o) => out.push(o),
            Err(e) => return Err(format!("{} {}", e.code, e.message)),
        }
    }
    Ok(out)
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match run(s, sql).unwrap_or_else(|e| panic!("{sql}: {e}")).pop() {
        Some(Outcome::Rows { rows, .. }) => rows,
        _ => panic!("{sql}: no rows"),
    }
}

/// What the database must hold: acknowledged commits only.
#[derive(Clone, Debug, Default, PartialEq)]
struct Model {
    balances: BTreeMap<i64, i64>,
    notes: Vec<String>,
    extra_tables: Vec<String>,
}

/// A change that may or may not have survived (its commit failed when the disk did).
#[derive(Clone, Debug)]
enum InDoubt {
    Transfer { from: i64, to: i64, amount: i64, note: String },
    CreateTable(String),
}

impl Model {
    fn apply(&mut self, change: &InDoubt) {
        match change {
            InDoubt::Transfer { from, to, amount, note } => {
                *self.balances.get_mut(from).unwrap() -= amount;
                *self.balances.get_mut(to).unwrap() += amount;
                self.notes.push(note.clone());
            }
            InDoubt::CreateTable(name) => self.extra_tables.push(name.clone()),
        }
    }
}

fn observe(engine: &Arc<Engine>, extra: &[String]) -> Model {
    let mut s = session(engine);
    let balances = rows(&mut s, "SELECT id, bal FROM acct ORDER BY id")
        .into_iter()
        .map(|r| (r[0].as_int().unwrap(), r[1].as_int().unwrap()))
        .collect();
    let mut notes: Vec<(i64, String)> = rows(&mut s, "SELECT id, note FROM ledger")
        .into_iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Int(i), Value::Text(t)) => (*i, t.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    notes.sort();
    // Serial ids of surviving rows are distinct and the index agrees with the table.
    for (_, note) in &notes {
        let found = rows(&mut s, &format!("SELECT count(*) FROM ledger WHERE note = '{note}'"));
        assert_eq!(found[0][0], Value::Int(1), "index lookup of {note}");
    }
    let extra_tables = extra
        .iter()
        .filter(|t| run(&mut s, &format!("SELECT * FROM {t}")).is_ok())
        .cloned()
        .collect();
    Model { balances, notes: notes.into_iter().map(|(_, n)| n).collect(), extra_tables }
}

#[test]
fn randomized_crashes_never_lose_an_acknowledged_commit() {
    let (mut failures, mut survived, mut acknowledged) = (0, 0, 0);
    for seed in 0..16u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut storage = FaultyStorage::new();
        let engine = start(&storage, options()).unwrap();
        let mut s = session(&engine);
        run(
            &mut s,
            "CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL);
             CREATE TABLE ledger (id serial PRIMARY KEY, note text NOT NULL);
             CREATE INDEX ledger_note ON ledger (note);",
        )
        .unwrap();
        let mut model = Model::default();
        for id in 0..8 {
            run(&mut s, &format!("INSERT INTO acct VALUES ({id}, 100)")).unwrap();
            model.balances.insert(id, 100);
        }
        drop(s);
        drop(engine);
        let mut all_extra: Vec<String> = Vec::new();
        let mut step = 0;
        for cycle in 0..6 {
            let engine = start(&storage, options())
                .unwrap_or_else(|e| panic!("seed {seed} cycle {cycle}: recovery failed: {e}"));
            let mut s = session(&engine);
            storage.fail_after(rng.gen_range(3..80));
            let mut in_doubt = None;
            for _ in 0..60 {
                step += 1;
                let change = match rng.gen_range(0..10) {
                    0 => InDoubt::CreateTable(format!("extra_{seed}_{step}")),
                    1 => {
                        // A checkpoint may fail with the disk; that loses nothing.
                        let _ = engine.checkpoint();
                        continue;
                    }
                    _ => {
                        let from = rng.gen_range(0..8);
                        let to = (from + rng.gen_range(1..8)) % 8;
                        let amount = rng.gen_range(1..20);
                        InDoubt::Transfer { from, to, amount, note: format!("n{seed}_{step}") }
                    }
                };
                let sql = match &change {
                    InDoubt::CreateTable(name) => {
                        all_extra.push(name.clone());
                        format!("CREATE TABLE {name} (k int PRIMARY KEY)")
                    }
                    InDoubt::Transfer { from, to, amount, note } => format!(
                        "BEGIN ISOLATION LEVEL REPEATABLE READ;
                         UPDATE acct SET bal = bal - {amount} WHERE id = {from};
                         UPDATE acct SET bal = bal + {amount} WHERE id = {to};
                         INSERT INTO ledger (note) VALUES ('{note}');
                         COMMIT;"
                    ),
                };
                match run(&mut s, &sql) {
                    Ok(_) => {
                        acknowledged += 1;
                        model.apply(&change)
                    }
                    Err(e) => {
                        assert!(e.starts_with("58030"), "seed {seed}: unexpected error {e}");
                        in_doubt = Some(change);
                        break;
                    }
                }
            }
            // The database refuses writes after a log failure, and says why.
            if in_doubt.is_some() {
                let e = run(&mut s, "UPDATE acct SET bal = bal WHERE id = 0").unwrap_err();
                assert!(e.starts_with("58030"), "{e}");
            }
            drop(s);
            drop(engine);
            storage = storage.crash(TornTail::Keep { seed: seed * 31 + cycle });
            let engine = start(&storage, options())
                .unwrap_or_else(|e| panic!("seed {seed} cycle {cycle}: recovery failed: {e}"));
            let seen = observe(&engine, &all_extra);
            let mut with = model.clone();
            if let Some(change) = &in_doubt {
                with.apply(change);
            }
            assert!(
                seen == model || seen == with,
                "seed {seed} cycle {cycle}: recovered {seen:?}\nacknowledged {model:?}\nin doubt {in_doubt:?}"
            );
            assert_eq!(seen.balances.values().sum::<i64>(), 800);
            failures += in_doubt.is_some() as usize;
            survived += (in_doubt.is_some() && seen == with) as usize;
            model = seen;
            drop(engine);
        }
    }
    // The workload really crossed failures, and in-doubt commits went both ways.
    eprintln!(
        "{acknowledged} acknowledged, {failures} failed commits, {survived} of them survived"
    );
    assert!(failures >= 48, "only {failures} of 96 cycles hit a failure");
    assert!(survived > 0 && survived < failures);
}

#[test]
fn checkpoint_then_replay_gives_back_the_same_state() {
    let storage = FaultyStorage::new();
    let engine = start(&storage, options()).unwrap();
    let mut s = session(&engine);
    run(
        &mut s,
        "CREATE TABLE t (id serial PRIMARY KEY, v text, n numeric, b bytea, f float8, ok boolean);
         CREATE UNIQUE INDEX t_v ON t (v);
         INSERT INTO t (v, n, b, f, ok) SELECT 'v' || g, g * 1.25, '\\x00ff', g / 3.0, g % 2 = 0
           FROM generate_series(1, 300) g;",
    )
    .unwrap();
    engine.checkpoint().unwrap();
    run(
        &mut s,
        "UPDATE t SET v = v || '!' WHERE id % 3 = 0;
         DELETE FROM t WHERE id % 5 = 0;
         ALTER TABLE t ADD COLUMN extra int DEFAULT 7;
         INSERT INTO t (v) VALUES ('after');
         DROP INDEX t_v;
         CREATE TABLE u (k int PRIMARY KEY);
         INSERT INTO u VALUES (1), (2);
         DROP TABLE u;
         CREATE TABLE u (k text PRIMARY KEY);
         INSERT INTO u VALUES ('x');",
    )
    .unwrap();
    let dump = |e: &Arc<Engine>| {
        let mut s = session(e);
        (rows(&mut s, "SELECT * FROM t ORDER BY id"), rows(&mut s, "SELECT * FROM u"))
    };
    let before = dump(&engine);
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let engine = start(&storage, options()).unwrap();
    assert_eq!(dump(&engine), before);
    // Recovery replayed records, so the checkpointer writes a checkpoint on its first round
    // (the engine answered before it): the next recovery starts there.
    let newest = || {
        let names = storage.list(Path::new("/data/checkpoint")).unwrap();
        names.into_iter().filter(|n| n.ends_with(".ckpt")).max()
    };
    let recovered_from = newest();
    let waited = std::time::Instant::now();
    while newest() == recovered_from && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(newest(), recovered_from, "no checkpoint after a recovery that replayed records");
    // The serial sequence goes on above every id it handed out (301): at its logged
    // high-water mark, at most 32 values on, as PostgreSQL's sequences do after a crash.
    let mut s = session(&engine);
    let next = rows(&mut s, "INSERT INTO t (v) VALUES ('next') RETURNING id");
    let Value::Int(next) = next[0][0] else { panic!("an id: {next:?}") };
    assert!((302..=334).contains(&next), "next id {next}");
    drop(s);
    let before = dump(&engine);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let (engine, report) =
        Engine::open_with(Arc::new(storage.clone()), Path::new("/data"), options(), None).unwrap();
    // Only what came after it: the insert and its sequence's logged high-water mark.
    assert_eq!(report.replayed, 2, "{report:?}");
    assert_eq!(dump(&engine), before);
}

/// A schema change that builds a big index logs a few bytes, but replaying it would build the
/// index again at every restart: the checkpointer checkpoints as soon as schema changes built
/// enough index entries, whatever the log's size and the interval.
#[test]
fn a_big_index_build_brings_the_next_checkpoint_forward() {
    let storage = FaultyStorage::new();
    let options = || DurableOptions { checkpoint_index_entries: 1_000, ..options() };
    let engine = start(&storage, options()).unwrap();
    let newest = || {
        let names = storage.list(Path::new("/data/checkpoint")).unwrap();
        names.into_iter().filter(|n| n.ends_with(".ckpt")).max()
    };
    let mut s = session(&engine);
    run(
        &mut s,
        "CREATE TABLE big (id int NOT NULL, v int);
         INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 3000) g;
         CREATE TABLE small (id int NOT NULL);
         INSERT INTO small SELECT g FROM generate_series(1, 10) g;
         ALTER TABLE small ADD PRIMARY KEY (id);",
    )
    .unwrap();
    // Ten entries built: no checkpoint comes (the checkpointer looks every 200 ms).
    let before = newest();
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(newest(), before, "a checkpoint with no reason for one");
    run(&mut s, "ALTER TABLE big ADD PRIMARY KEY (id)").unwrap();
    let waited = std::time::Instant::now();
    while newest() == before && waited.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_ne!(newest(), before, "no checkpoint after building 3,000 index entries");
    let after = newest();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(newest(), after, "one checkpoint per build, not one per round");
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let (engine, report) =
        Engine::open_with(Arc::new(storage.clone()), Path::new("/data"), options(), None).unwrap();
    assert_eq!(report.replayed, 0, "the index came back from the checkpoint: {report:?}");
    let mut s = session(&engine);
    let found = rows(&mut s, "SELECT v FROM big WHERE id = 2999");
    assert_eq!(found, vec![vec![Value::Int(3)]]);
    let err = run(&mut s, "INSERT INTO big VALUES (2999, 0)").unwrap_err();
    assert!(err.starts_with("23505"), "{err}");
}

/// Recovery loads a checkpoint's rows in bulk (a table's blocks of 4,096 rows gathered, its
/// map and every index built bottom up, a secondary index from entries out of order): what
/// was there comes back, every index answers and keeps working under writes, uniqueness holds,
/// and a keyless table's hidden row ids go on above the loaded ones.
#[test]
fn a_checkpoint_loaded_in_bulk_keeps_its_indexes_working() {
    tables_built_in_bulk_keep_their_indexes_working(true);
}

/// The same from the log: a replayed commit that only inserts, keys ascending, into tables
/// without rows builds them in bulk too.
#[test]
fn a_replayed_bulk_insert_keeps_its_indexes_working() {
    tables_built_in_bulk_keep_their_indexes_working(false);
}

fn tables_built_in_bulk_keep_their_indexes_working(checkpoint: bool) {
    let storage = FaultyStorage::new();
    let engine = start(&storage, options()).unwrap();
    let mut s = session(&engine);
    run(
        &mut s,
        "CREATE TABLE big (id int PRIMARY KEY, grp int, name text UNIQUE);
         CREATE INDEX big_grp ON big (grp);
         INSERT INTO big SELECT g, g % 7, 'n' || g FROM generate_series(1, 10000) g;
         CREATE TABLE keyless (a int, b text);
         INSERT INTO keyless SELECT g, 'b' || g FROM generate_series(1, 9000) g;
         CREATE TABLE empty (k int PRIMARY KEY);",
    )
    .unwrap();
    if checkpoint {
        engine.checkpoint().unwrap();
    }
    let dump = |e: &Arc<Engine>| {
        let mut s = session(e);
        (
            rows(&mut s, "SELECT * FROM big ORDER BY id"),
            rows(&mut s, "SELECT a, b FROM keyless ORDER BY a, b"),
            rows(&mut s, "SELECT count(*) FROM empty"),
        )
    };
    let before = dump(&engine);
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let engine = start(&storage, options()).unwrap();
    assert_eq!(dump(&engine), before);
    let mut s = session(&engine);
    let count = |s: &mut Session, sql: &str| rows(s, sql)[0][0].clone();
    assert_eq!(count(&mut s, "SELECT count(*) FROM big WHERE grp = 3"), Value::Int(1429));
    assert_eq!(count(&mut s, "SELECT id FROM big WHERE name = 'n7777'"), Value::Int(7777));
    assert_eq!(
        count(&mut s, "SELECT count(*) FROM big WHERE id BETWEEN 100 AND 199"),
        Value::Int(100)
    );
    for duplicate in
        ["INSERT INTO big VALUES (5000, 1, 'fresh')", "INSERT INTO big VALUES (20000, 1, 'n42')"]
    {
        let e = run(&mut s, duplicate).unwrap_err();
        assert!(e.starts_with("23505"), "{duplicate}: {e}");
    }
    run(
        &mut s,
        "UPDATE big SET grp = 100, name = 'moved' WHERE id = 3;
         DELETE FROM big WHERE grp = 2;
         INSERT INTO big VALUES (10001, 3, 'n10001');
         INSERT INTO keyless VALUES (0, 'after');
         INSERT INTO empty VALUES (1);",
    )
    .unwrap();
    assert_eq!(count(&mut s, "SELECT count(*) FROM big WHERE grp = 3"), Value::Int(1429));
    assert_eq!(count(&mut s, "SELECT count(*) FROM big WHERE grp = 100"), Value::Int(1));
    assert_eq!(count(&mut s, "SELECT count(*) FROM big WHERE name = 'n3'"), Value::Int(0));
    assert_eq!(count(&mut s, "SELECT count(*) FROM big WHERE grp = 2"), Value::Int(0));
    assert_eq!(count(&mut s, "SELECT count(*) FROM big"), Value::Int(10001 - 1429));
    // A hidden row id handed out again would have replaced a loaded row.
    assert_eq!(count(&mut s, "SELECT count(*) FROM keyless"), Value::Int(9001));
    run(&mut s, "INSERT INTO big VALUES (2, 0, 'n2')").unwrap();
    let before = dump(&engine);
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let engine = start(&storage, options()).unwrap();
    assert_eq!(dump(&engine), before);
}

#[test]
fn synchronous_commit_off_acknowledges_before_the_fsync() {
    let storage = FaultyStorage::new();
    let mut opts = options();
    opts.log.writer_delay = Duration::from_secs(3600); // no background flush in this test
    let engine = start(&storage, opts.clone()).unwrap();
    let mut s = session(&engine);
    run(&mut s, "CREATE TABLE t (k int PRIMARY KEY)").unwrap();
    run(&mut s, "INSERT INTO t VALUES (1)").unwrap();
    assert_eq!(run(&mut s, "SHOW synchronous_commit").unwrap().len(), 1);
    run(&mut s, "SET synchronous_commit = off").unwrap();
    let syncs = storage.counts().1;
    run(&mut s, "INSERT INTO t VALUES (2)").unwrap();
    // Acknowledged and visible, but nothing was synced for it.
    assert_eq!(storage.counts().1, syncs);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t")[0][0], Value::Int(2));
    let e = run(&mut s, "SET synchronous_commit = sometimes").unwrap_err();
    assert!(e.starts_with("22023"), "{e}");
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let engine = start(&storage, opts.clone()).unwrap();
    let mut s = session(&engine);
    // Lost with the crash, as synchronous_commit = off allows; the earlier commit is there.
    assert_eq!(rows(&mut s, "SELECT k FROM t ORDER BY k"), vec![vec![Value::Int(1)]]);
    // With synchronous_commit on (the default), the acknowledgement means it is on disk.
    run(&mut s, "INSERT INTO t VALUES (3)").unwrap();
    drop(s);
    drop(engine);
    let storage = storage.crash(TornTail::Drop);
    let engine = start(&storage, opts).unwrap();
    let mut s = session(&engine);
    assert_eq!(rows(&mut s, "SELECT count(*) FROM t")[0][0], Value::Int(2));
}

#[test]
fn a_data_directory_is_used_by_one_process_at_a_time() {
    let dir = std::env::temp_dir().join(format!("isola-lock-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (engine, _) = Engine::open(&dir, options()).unwrap();
    let err = Engine::open(&dir, options()).err().expect("a second open must be refused");
    assert_eq!(err.sqlstate(), "55006");
    assert!(err.to_string().contains("in use by another isola process"), "{err}");
    drop(engine);
    // Free again once the first one is gone (a background thread may hold the last reference
    // for a moment; bounded wait).
    let mut reopened = None;
    for _ in 0..200 {
        match Engine::open(&dir, options()) {
            Ok((engine, _)) => {
                reopened = Some(engine);
                break;
            }
            Err(e) if e.sqlstate() == "55006" => std::thread::sleep(Duration::from_millis(25)),
            Err(e) => panic!("{e}"),
        }
    }
    let engine = reopened.expect("the lock was never released");
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_checkpoint_is_refused_by_name() {
    let storage = FaultyStorage::new();
    let engine = start(&storage, options()).unwrap();
    let mut s = session(&engine);
    run(&mut s, "CREATE TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1), (2)").unwrap();
    let report = engine.checkpoint().unwrap();
    drop(s);
    drop(engine);
    let mut bytes = storage.contents(&report.path).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xff;
    storage.overwrite(&report.path, bytes);
    let err = start(&storage, options()).err().expect("refused");
    assert_eq!(err.sqlstate(), "XX001");
    assert!(err.to_string().contains(".ckpt at offset"), "{err}");
}

/// Early lock release meets a failing disk: T1's commit is decided (its lock released) but its
/// sync fails; T2 has meanwhile updated the row on top of T1's version. T1 gets 58030, T2 can
/// no longer commit, and the row is back to what was durable: T1's version was taken out from
/// under T2's, and T2's rollback removed its own.
#[test]
fn a_failed_sync_takes_back_the_pending_commit_and_what_was_built_on_it() {
    let storage = FaultyStorage::new();
    let engine = start(&storage, options()).unwrap();
    let mut setup = session(&engine);
    run(&mut setup, "CREATE TABLE t (k int PRIMARY KEY, n int NOT NULL)").unwrap();
    run(&mut setup, "INSERT INTO t VALUES (1, 0), (2, 0)").unwrap();
    let mut t1 = session(&engine);
    run(&mut t1, "BEGIN; UPDATE t SET n = n + 1 WHERE k = 1").unwrap();
    // T1's frame is written, then its sync fails after a while.
    storage.set_sync_delay(Duration::from_millis(500));
    storage.fail_after(1);
    let t1_commit = std::thread::spawn(move || run(&mut t1, "COMMIT"));
    let mut t2 = session(&engine);
    run(&mut t2, "BEGIN").unwrap();
    // Granted once T1's record is appended: T2's version goes on top of T1's.
    run(&mut t2, "UPDATE t SET n = n + 10 WHERE k = 1").unwrap();
    run(&mut t2, "UPDATE t SET n = n + 10 WHERE k = 2").unwrap();
    assert!(!t1_commit.is_finished(), "T2 went on while T1's sync was under way");
    let t1_result = t1_commit.join().unwrap();
    assert!(t1_result.as_ref().is_err_and(|e| e.starts_with("58030")), "{t1_result:?}");
    let t2_result = run(&mut t2, "COMMIT");
    assert!(t2_result.as_ref().is_err_and(|e| e.starts_with("58030")), "{t2_result:?}");
    let mut reader = session(&engine);
    assert_eq!(
        rows(&mut reader, "SELECT k, n FROM t ORDER BY k"),
        vec![vec![Value::Int(1), Value::Int(0)], vec![Value::Int(2), Value::Int(0)]]
    );
    // The failed log refuses every later write.
    let later = run(&mut reader, "UPDATE t SET n = 5 WHERE k = 2");
    assert!(later.as_ref().is_err_and(|e| e.starts_with("58030")), "{later:?}");
}
