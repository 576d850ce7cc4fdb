//! The commit hook: what a write-ahead log will persist. Each commit hands over one batch, in
//! commit order, with the final row of every row written (deleted: `None`); a failing hook
//! aborts the commit and nothing becomes visible.

use std::ops::Bound;
use std::sync::{Arc, Mutex};

use isola::{CommitBatch, Database, Error, IsolationLevel, TxnOptions, Value};

#[test]
fn batches_arrive_in_commit_order_with_final_rows() {
    let db = Database::new();
    db.create_table("t", &["k", "v"], &["k"]).unwrap();
    let seen: Arc<Mutex<Vec<CommitBatch>>> = Arc::default();
    let sink = seen.clone();
    db.set_commit_hook(Box::new(move |batch| {
        sink.lock().unwrap().push(batch.clone());
        Ok(())
    }));
    let mut t1 = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    t1.insert(0, vec![1.into(), 10.into()]).unwrap();
    t1.update(0, &isola::key![1.into()], |_| Some(vec![1.into(), 11.into()])).unwrap();
    t1.insert(0, vec![2.into(), 20.into()]).unwrap();
    let c1 = t1.commit().unwrap().commit_ts.unwrap();
    let mut t2 = db.begin(TxnOptions::new(IsolationLevel::Serializable));
    t2.delete(0, &isola::key![2.into()]).unwrap();
    let c2 = t2.commit().unwrap().commit_ts.unwrap();
    let mut reader = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
    reader.get(0, &isola::key![1.into()]).unwrap();
    reader.commit().unwrap();

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "read-only commits log nothing");
    assert!(c1 < c2);
    assert_eq!(seen[0].commit_ts, c1);
    assert_eq!(
        seen[0].writes,
        vec![
            (0, isola::key![Value::Int(1)], Some(vec![Value::Int(1), Value::Int(11)])),
            (0, isola::key![Value::Int(2)], Some(vec![Value::Int(2), Value::Int(20)])),
        ]
    );
    assert_eq!(seen[1].writes, vec![(0, isola::key![Value::Int(2)], None)]);
}

#[test]
fn a_failing_hook_aborts_the_commit() {
    let db = Database::new();
    db.create_table("t", &["k", "v"], &["k"]).unwrap();
    db.set_commit_hook(Box::new(|_| Err(Error::Io("log device full".into()))));
    let mut txn = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    txn.insert(0, vec![1.into(), 10.into()]).unwrap();
    let err = txn.commit().unwrap_err();
    assert_eq!(err.sqlstate(), "58030");
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let rows = check.scan(0, (Bound::Unbounded, Bound::Unbounded)).unwrap();
    assert!(rows.is_empty(), "nothing of the failed commit is visible");
    assert_eq!(db.stats().versions, 0);
    assert_eq!(db.stats().lock_entries, 0);
}
