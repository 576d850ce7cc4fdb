//! The on-disk format, pinned: `tests/fixtures/datadir-v1/` is a data directory written by
//! isola in today's format (checkpoint format and log format version of this commit), checked
//! in. Recovery must open it and find exactly what was written. A change to the format of the
//! log or of checkpoints makes this test fail: the change then has to be a deliberate, visible
//! step (a new fixture beside this one, and recovery of the old one kept or refused clearly).
//!
//! How the fixture was made: `isola serve --data DIR`, then `psql -f
//! tests/fixtures/datadir-v1.sql` (tables, rows, a CHECKPOINT, then DDL and writes that only
//! the log holds), then `kill -9` (no shutdown checkpoint). The log segment was cut after its
//! last frame (segments are preallocated with zeros; a short segment reads the same) and the
//! `LOCK` file left out.

use std::path::{Path, PathBuf};

use isola::durable::DurableOptions;
use isola::sql::{Engine, Outcome, Session};
use isola::types::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A private copy of the fixture (recovery writes a checkpoint into the directory it opens).
struct Copy(PathBuf);

impl Copy {
    fn new() -> Copy {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/datadir-v1");
        let dir = std::env::temp_dir().join(format!(
            "isola-format-fixture-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&fixture, &dir);
        Copy(dir)
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn rows(session: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match session.execute_simple(sql).remove(0) {
        Ok(Outcome::Rows { rows, .. }) => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// What the fixture holds, read back through SQL.
fn assert_contents(session: &mut Session) {
    let accounts = rows(session, "SELECT id, owner, balance::text, note FROM accounts ORDER BY id");
    assert_eq!(
        accounts,
        vec![
            vec![Value::Int(1), text("ann"), text("90.50"), text("paid")],
            vec![Value::Int(2), text("bob"), text("50.00"), Value::Null],
        ]
    );
    let events = rows(session, "SELECT id, account, kind, at FROM events ORDER BY id");
    let expected: Vec<Vec<Value>> = [(1, 1, "open", 1), (2, 2, "open", 2), (3, 3, "open", 3)]
        .into_iter()
        .chain([(4, 1, "pay", 4)])
        .map(|(id, account, kind, at)| {
            vec![Value::Int(id), Value::Int(account), text(kind), Value::Int(at)]
        })
        .collect();
    assert_eq!(events, expected);
    let flags = rows(session, "SELECT k, v FROM flags ORDER BY k");
    assert_eq!(flags, vec![vec![text("it's"), Value::Null], vec![text("x"), Value::Bool(true)]]);
    // The secondary index was recovered as an index (its access path), not only as rows.
    let plan = rows(session, "EXPLAIN SELECT * FROM events WHERE account = 1");
    assert!(
        matches!(&plan[0][0], Value::Text(line) if line.contains("events_account")),
        "{plan:?}"
    );
}

#[test]
fn todays_format_recovers_checkpoint_and_log() {
    let dir = Copy::new();
    let (engine, report) = Engine::open(&dir.0, DurableOptions::default()).expect("opens");
    let (_, checkpoint_rows) = report.checkpoint.clone().expect("starts from the checkpoint");
    assert_eq!(checkpoint_rows, 6, "{report:?}");
    assert_eq!(report.replayed, 6, "DDL and commits after the checkpoint: {report:?}");
    assert!(report.torn_tail.is_none(), "{report:?}");
    let mut session = Session::new(engine.clone(), "isola", "isola", "fixture");
    assert_contents(&mut session);
    // The serial sequence goes on after the largest value the log gave it.
    let inserted = rows(
        &mut session,
        "INSERT INTO events (account, kind, at) VALUES (2, 'x', 5) RETURNING id",
    );
    assert_eq!(inserted, vec![vec![Value::Int(5)]]);
    drop(session);
    drop(engine);
    // Opened again, from the checkpoint recovery wrote: the same data, and the new row.
    let (engine, report) = Engine::open(&dir.0, DurableOptions::default()).expect("reopens");
    assert!(report.torn_tail.is_none(), "{report:?}");
    let mut session = Session::new(engine, "isola", "isola", "fixture");
    let count = rows(&mut session, "SELECT count(*) FROM events");
    assert_eq!(count, vec![vec![Value::Int(5)]]);
    session.execute_simple("DELETE FROM events WHERE id = 5");
    assert_contents(&mut session);
}
