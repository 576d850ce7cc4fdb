//! Safe snapshots in the core (`txn/mvcc.rs`, SAFE SNAPSHOTS), without processes or a network.
//!
//! The leader side: a database leading over a replicated log whose shipper records, for each
//! record, whether it was marked a safe snapshot. The rule: a position is safe exactly when no
//! serializable read-write transaction (one that took its snapshot, not declared READ ONLY,
//! neither committed nor aborted) runs besides the one the record commits; and when the last
//! such writer ends without a record after an unsafe one, a marker (an empty record, safe)
//! follows, and only then.
//!
//! The standby side: a serializable transaction takes its snapshot only at a state marked
//! safe, waiting (bounded, 57014 when over) for one; it then sees exactly that state.
//!
//! No wall-clock threshold is asserted: a wait that must end is bounded generously, a wait
//! that must time out is given a short bound, and what it waited for is checked by content.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use isola::wal::{FaultyStorage, Log, Lsn, Shipper};
use isola::{CommitBatch, Database, IsolationLevel, Transaction, TxnOptions};

/// One shipped record: its LSN, whether it was marked safe, whether it was a marker (empty).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shipped {
    lsn: Lsn,
    safe: bool,
    marker: bool,
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Shipped>>);

impl Shipper for Recorder {
    fn ship(&self, lsn: Lsn, record: Vec<u8>, safe_snapshot: bool) {
        let marker = record.is_empty();
        self.0.lock().unwrap().push(Shipped { lsn, safe: safe_snapshot, marker });
    }
}

impl Recorder {
    /// The records shipped since the last call.
    fn take(&self) -> Vec<Shipped> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A leading database with table `t (k, v)` (id 0), its records going to a recorder.
fn leader() -> (Database, Arc<Recorder>) {
    let db = Database::new();
    db.create_table("t", &["k", "v"], &["k"]).unwrap();
    let recorder = Arc::new(Recorder::default());
    let storage = Arc::new(FaultyStorage::new());
    let log = Log::replicated(storage, Path::new("safe-snapshots"), 0, recorder.clone());
    db.become_primary(log);
    (db, recorder)
}

fn begin(db: &Database, options: TxnOptions) -> Transaction {
    let mut t = db.begin(options);
    // Nothing marks the recorder's records durable: commits must not wait for it.
    t.set_synchronous_commit(false);
    t
}

fn serializable() -> TxnOptions {
    TxnOptions::new(IsolationLevel::Serializable)
}

/// A Read Committed transaction writes row `k` and commits.
fn commit_write(db: &Database, k: i64) {
    let mut t = begin(db, TxnOptions::new(IsolationLevel::ReadCommitted));
    t.insert(0, vec![k.into(), 0.into()]).unwrap();
    t.commit().unwrap();
}

/// The one record shipped since the last look: a commit, and whether it was marked safe.
fn one_commit_record(recorder: &Recorder) -> bool {
    let shipped = recorder.take();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert!(!shipped[0].marker, "{shipped:?}");
    shipped[0].safe
}

#[test]
fn a_running_serializable_writer_makes_positions_unsafe_until_it_ends() {
    let (db, recorder) = leader();
    commit_write(&db, 1);
    assert!(one_commit_record(&recorder), "no serializable transaction runs: safe");

    // Begun but without a snapshot yet: its snapshot will include whatever commits now.
    let mut writer = begin(&db, serializable());
    commit_write(&db, 2);
    assert!(one_commit_record(&recorder), "a serializable transaction without a snapshot");

    // Once it has read (registered with SSI) it is running: positions are unsafe.
    writer.get(0, &isola::key![1.into()]).unwrap();
    commit_write(&db, 3);
    assert!(!one_commit_record(&recorder), "a serializable writer runs");
    writer.insert(0, vec![10.into(), 0.into()]).unwrap();
    commit_write(&db, 4);
    assert!(!one_commit_record(&recorder), "a serializable writer that wrote runs");

    // Its own commit record: no other writer runs, so the state after it is safe.
    writer.commit().unwrap();
    assert!(one_commit_record(&recorder), "the last writer's own commit");
    assert!(recorder.take().is_empty(), "no marker after a safe record");
    commit_write(&db, 5);
    assert!(one_commit_record(&recorder), "after the writer ended");
}

#[test]
fn two_writers_the_position_is_safe_only_after_both() {
    let (db, recorder) = leader();
    let mut a = begin(&db, serializable());
    let mut b = begin(&db, serializable());
    a.get(0, &isola::key![1.into()]).unwrap();
    b.get(0, &isola::key![2.into()]).unwrap();
    a.insert(0, vec![1.into(), 1.into()]).unwrap();
    a.commit().unwrap();
    assert!(!one_commit_record(&recorder), "b still runs when a commits");
    b.insert(0, vec![2.into(), 2.into()]).unwrap();
    b.commit().unwrap();
    assert!(one_commit_record(&recorder), "b was the last writer");
}

#[test]
fn read_only_serializable_and_other_levels_do_not_make_positions_unsafe() {
    let (db, recorder) = leader();
    let mut reader = begin(&db, serializable().read_only());
    reader.get(0, &isola::key![1.into()]).unwrap();
    let mut rr = begin(&db, TxnOptions::new(IsolationLevel::RepeatableRead));
    rr.insert(0, vec![20.into(), 0.into()]).unwrap();
    commit_write(&db, 1);
    assert!(one_commit_record(&recorder), "only serializable read-write transactions count");
    rr.commit().unwrap();
    assert!(one_commit_record(&recorder), "a Repeatable Read commit");
    reader.commit().unwrap();
    assert!(recorder.take().is_empty(), "a read-only commit ships nothing");
}

#[test]
fn the_last_writer_ending_without_a_record_ships_a_safe_marker() {
    let (db, recorder) = leader();

    // Rolled back after an unsafe record: a marker follows.
    let mut writer = begin(&db, serializable());
    writer.get(0, &isola::key![1.into()]).unwrap();
    writer.insert(0, vec![1.into(), 1.into()]).unwrap();
    commit_write(&db, 2);
    assert!(!one_commit_record(&recorder));
    writer.rollback();
    let shipped = recorder.take();
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert!(shipped[0].marker && shipped[0].safe, "{shipped:?}");

    // Committed without writing after an unsafe record: a marker follows.
    let mut reader = begin(&db, serializable());
    reader.get(0, &isola::key![2.into()]).unwrap();
    commit_write(&db, 3);
    assert!(!one_commit_record(&recorder));
    reader.commit().unwrap();
    let marker = recorder.take();
    assert_eq!(marker.len(), 1, "{marker:?}");
    assert!(marker[0].marker && marker[0].safe && marker[0].lsn > shipped[0].lsn);

    // Another writer still runs: no marker yet; after it ends, one.
    let mut a = begin(&db, serializable());
    let mut b = begin(&db, serializable());
    a.get(0, &isola::key![1.into()]).unwrap();
    b.get(0, &isola::key![1.into()]).unwrap();
    commit_write(&db, 4);
    assert!(!one_commit_record(&recorder));
    a.rollback();
    assert!(recorder.take().is_empty(), "b still runs");
    b.rollback();
    let shipped = recorder.take();
    assert!(shipped.len() == 1 && shipped[0].marker && shipped[0].safe, "{shipped:?}");

    // Nothing unsafe was shipped while it ran: no marker is owed.
    let mut quiet = begin(&db, serializable());
    quiet.get(0, &isola::key![1.into()]).unwrap();
    quiet.rollback();
    assert!(recorder.take().is_empty(), "no marker after a safe tail");
}

/// A standby (a database stepped down) with table `t` and row 1 applied, marked unsafe.
fn standby() -> Database {
    let db = Database::new();
    db.create_table("t", &["k", "v"], &["k"]).unwrap();
    db.step_down("node 1 leads");
    apply(&db, 1);
    db
}

fn apply(db: &Database, k: i64) {
    let batch = CommitBatch {
        txn: 0,
        commit_ts: 0,
        writes: vec![(0, isola::key![k.into()], Some(vec![k.into(), 0.into()]))],
        ddl: Vec::new(),
    };
    db.apply_replicated(&batch).unwrap();
}

fn deferrable() -> TxnOptions {
    serializable().read_only().deferrable()
}

fn keys(t: &mut Transaction) -> Result<Vec<i64>, isola::Error> {
    let rows = t.scan(0, (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded))?;
    Ok(rows
        .into_iter()
        .map(|(_, row)| match row[0] {
            isola::Value::Int(k) => k,
            ref v => panic!("a key {v:?}"),
        })
        .collect())
}

#[test]
fn a_standby_serializable_snapshot_waits_for_a_safe_state_or_times_out() {
    let db = standby();
    assert!(!db.is_safe_snapshot());

    // Unsafe and nothing comes: the wait ends with 57014, naming why.
    let mut t = db.begin(deferrable());
    t.set_safe_snapshot_wait(Some(Duration::from_millis(50)));
    let err = keys(&mut t).unwrap_err();
    assert_eq!(err.sqlstate(), "57014", "{err}");
    assert!(err.to_string().contains("no safe snapshot"), "{err}");
    t.rollback();

    // Snapshot isolation does not wait.
    let mut rr = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
    assert_eq!(keys(&mut rr).unwrap(), vec![1]);
    rr.commit().unwrap();

    // Safe now: at once.
    db.mark_safe_snapshot();
    assert!(db.is_safe_snapshot());
    let mut t = db.begin(deferrable());
    t.set_safe_snapshot_wait(Some(Duration::from_millis(50)));
    assert_eq!(keys(&mut t).unwrap(), vec![1]);
    t.commit().unwrap();

    // A replicated commit moves the state on, unmarked: unsafe again.
    apply(&db, 2);
    assert!(!db.is_safe_snapshot());
}

#[test]
fn a_waiting_standby_snapshot_is_the_state_marked_safe() {
    let db = standby();
    apply(&db, 2);
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut t = db.begin(deferrable());
            t.set_safe_snapshot_wait(Some(Duration::from_secs(60)));
            let seen = keys(&mut t);
            t.rollback();
            seen
        })
    };
    // Whenever the reader starts waiting, every state before the mark is unsafe: what it
    // reads can only be the state marked safe, with row 3.
    apply(&db, 3);
    db.mark_safe_snapshot();
    assert_eq!(reader.join().unwrap().unwrap(), vec![1, 2, 3]);
}

#[test]
fn a_writer_left_from_an_ended_leadership_does_not_hold_a_standby_reader() {
    let (db, _recorder) = leader();
    let mut zombie = begin(&db, serializable());
    zombie.get(0, &isola::key![1.into()]).unwrap();
    zombie.insert(0, vec![1.into(), 1.into()]).unwrap();
    // It stops leading: the writer can never commit, though its session has not rolled it
    // back yet (its SSI record stays until then).
    db.step_down("node 2 leads");
    apply(&db, 2);
    assert!(!db.is_safe_snapshot(), "nothing marked since it stepped down");
    db.mark_safe_snapshot();
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            let mut t = db.begin(deferrable());
            t.set_safe_snapshot_wait(Some(Duration::from_secs(60)));
            let seen = keys(&mut t);
            t.rollback();
            seen
        })
    };
    // A liveness bound, not a timing assertion: the reader must not wait for the zombie.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(reader.join().unwrap()));
    let seen = rx.recv_timeout(Duration::from_secs(60)).expect("the reader waited for the zombie");
    assert_eq!(seen.unwrap(), vec![2]);
    zombie.rollback();
}
