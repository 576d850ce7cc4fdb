//! Randomized tests of the storage and transaction layers against a simple model: a
//! `BTreeMap` of committed rows, a working copy for the open transaction, a stack of copies for
//! its savepoints, and frozen copies for snapshot readers opened along the way.

use std::collections::BTreeMap;
use std::ops::Bound;

use isola::{
    Database, DatabaseOptions, Error, IsolationLevel, Modified, Transaction, TxnOptions, Value,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Insert(i64, i64),
    Update(i64, i64),
    Delete(i64),
    Get(i64),
    Scan(i64, i64),
    /// An index range scan, whole and in parts of the given size (`scan_index_part`).
    IndexScan(i64, i64, usize),
    Savepoint,
    RollbackToSavepoint,
    Commit,
    Rollback,
    OpenReader,
    CheckReaders,
    Gc,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0i64..12;
    let value = 0i64..6;
    prop_oneof![
        4 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::Insert(k, v)),
        3 => (key.clone(), value.clone()).prop_map(|(k, v)| Op::Update(k, v)),
        2 => key.clone().prop_map(Op::Delete),
        2 => key.clone().prop_map(Op::Get),
        1 => (key.clone(), key.clone()).prop_map(|(a, b)| Op::Scan(a.min(b), a.max(b))),
        1 => (value.clone(), value, 1usize..4)
            .prop_map(|(a, b, part)| Op::IndexScan(a.min(b), a.max(b), part)),
        1 => Just(Op::Savepoint),
        1 => Just(Op::RollbackToSavepoint),
        2 => Just(Op::Commit),
        1 => Just(Op::Rollback),
        1 => Just(Op::OpenReader),
        1 => Just(Op::CheckReaders),
        1 => Just(Op::Gc),
    ]
}

type Rows = BTreeMap<i64, i64>;

struct Model {
    committed: Rows,
    working: Option<Rows>,
    savepoints: Vec<Rows>,
}

fn key(k: i64) -> isola::Key {
    isola::key![Value::Int(k)]
}

fn rows_of(result: Vec<(isola::Key, Vec<Value>)>) -> Vec<(i64, i64)> {
    result.into_iter().map(|(_, r)| (r[0].as_int().unwrap(), r[1].as_int().unwrap())).collect()
}

fn run(ops: Vec<Op>, level: IsolationLevel) {
    let db = Database::with_options(DatabaseOptions { gc_interval: None, ..Default::default() });
    db.create_table("t", &["k", "v"], &["k"]).unwrap();
    db.create_index("t_v", "t", &["v"], false).unwrap();
    let table = db.table_id("t").unwrap();
    let index = db.index_id("t_v").unwrap();
    let mut model = Model { committed: Rows::new(), working: None, savepoints: Vec::new() };
    let mut txn: Option<Transaction> = None;
    let mut readers: Vec<(Transaction, Rows)> = Vec::new();
    for op in ops {
        if txn.is_none() && !matches!(op, Op::OpenReader | Op::CheckReaders | Op::Gc) {
            txn = Some(db.begin(TxnOptions::new(level)));
            model.working = Some(model.committed.clone());
            model.savepoints.clear();
        }
        match op {
            Op::Insert(k, v) => {
                let t = txn.as_mut().unwrap();
                let w = model.working.as_mut().unwrap();
                let result = t.insert(table, vec![k.into(), v.into()]);
                if let std::collections::btree_map::Entry::Vacant(e) = w.entry(k) {
                    result.unwrap();
                    e.insert(v);
                } else {
                    assert!(matches!(result, Err(Error::UniqueViolation { .. })), "{result:?}");
                    // The statement failed: recover as a client would, to the newest savepoint,
                    // or by ending the transaction, whose commit then rolls back.
                    match model.savepoints.last() {
                        Some(saved) => {
                            let name = format!("s{}", model.savepoints.len() - 1);
                            t.rollback_to_savepoint(&name).unwrap();
                            model.working = Some(saved.clone());
                        }
                        None => {
                            let err = txn.take().unwrap().commit().unwrap_err();
                            assert_eq!(err, Error::TransactionAborted);
                            model.working = None;
                        }
                    }
                }
            }
            Op::Update(k, v) => {
                let t = txn.as_mut().unwrap();
                let w = model.working.as_mut().unwrap();
                let outcome = t.update(table, &key(k), |_| Some(vec![k.into(), v.into()])).unwrap();
                match w.get_mut(&k) {
                    Some(old) => {
                        assert!(matches!(outcome, Modified::Updated(_)));
                        *old = v;
                    }
                    None => assert_eq!(outcome, Modified::NotFound),
                }
            }
            Op::Delete(k) => {
                let t = txn.as_mut().unwrap();
                let deleted = t.delete(table, &key(k)).unwrap();
                assert_eq!(deleted, model.working.as_mut().unwrap().remove(&k).is_some());
            }
            Op::Get(k) => {
                let t = txn.as_mut().unwrap();
                let row = t.get(table, &key(k)).unwrap().map(|r| r[1].as_int().unwrap());
                assert_eq!(row, model.working.as_ref().unwrap().get(&k).copied());
            }
            Op::Scan(lo, hi) => {
                let t = txn.as_mut().unwrap();
                let range = (Bound::Included(key(lo)), Bound::Excluded(key(hi)));
                let got = rows_of(t.scan(table, range).unwrap());
                let want: Vec<(i64, i64)> =
                    model.working.as_ref().unwrap().range(lo..hi).map(|(&k, &v)| (k, v)).collect();
                assert_eq!(got, want);
            }
            Op::IndexScan(lo, hi, part) => {
                let t = txn.as_mut().unwrap();
                let range = (
                    Bound::Included(isola::key![lo.into()]),
                    Bound::Included(isola::key![hi.into()]),
                );
                let got = rows_of(t.scan_index(index, range.clone()).unwrap());
                // the same range read in parts: the same rows, each once, in the same order
                let mut in_parts = Vec::new();
                let mut after = None;
                loop {
                    let (rows, resume) =
                        t.scan_index_part(index, range.clone(), after, part).unwrap();
                    assert!(rows.len() <= part);
                    in_parts.extend(rows);
                    match resume {
                        Some(r) => after = Some(r),
                        None => break,
                    }
                }
                assert_eq!(rows_of(in_parts), got, "in parts of {part}");
                let mut want: Vec<(i64, i64)> = model
                    .working
                    .as_ref()
                    .unwrap()
                    .iter()
                    .filter(|&(_, &v)| v >= lo && v <= hi)
                    .map(|(&k, &v)| (k, v))
                    .collect();
                want.sort_by_key(|&(k, v)| (v, k));
                assert_eq!(got, want);
            }
            Op::Savepoint => {
                let name = format!("s{}", model.savepoints.len());
                txn.as_mut().unwrap().savepoint(&name).unwrap();
                model.savepoints.push(model.working.clone().unwrap());
            }
            Op::RollbackToSavepoint => {
                if let Some(saved) = model.savepoints.last() {
                    let name = format!("s{}", model.savepoints.len() - 1);
                    txn.as_mut().unwrap().rollback_to_savepoint(&name).unwrap();
                    model.working = Some(saved.clone());
                }
            }
            Op::Commit => {
                txn.take().unwrap().commit().unwrap();
                model.committed = model.working.take().unwrap();
            }
            Op::Rollback => {
                txn.take().unwrap().rollback();
                model.working = None;
            }
            Op::OpenReader => {
                let mut reader = db.begin(TxnOptions::new(IsolationLevel::RepeatableRead));
                reader.get(table, &key(0)).unwrap(); // takes the snapshot now
                readers.push((reader, model.committed.clone()));
            }
            Op::CheckReaders => {
                for (reader, frozen) in &mut readers {
                    let all = (Bound::Unbounded, Bound::Unbounded);
                    let got = rows_of(reader.scan(table, all).unwrap());
                    let want: Vec<(i64, i64)> = frozen.iter().map(|(&k, &v)| (k, v)).collect();
                    assert_eq!(got, want, "a snapshot reader sees its snapshot");
                }
            }
            Op::Gc => {
                db.gc();
            }
        }
    }
    if let Some(t) = txn.take() {
        t.commit().unwrap();
        model.committed = model.working.take().unwrap();
    }
    drop(readers);
    db.gc();
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let got = rows_of(check.scan(table, (Bound::Unbounded, Bound::Unbounded)).unwrap());
    let want: Vec<(i64, i64)> = model.committed.iter().map(|(&k, &v)| (k, v)).collect();
    assert_eq!(got, want);
    check.commit().unwrap();
    assert_eq!(db.stats().versions, want.len(), "GC leaves one version per live row");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn matches_the_model_at_read_committed(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, IsolationLevel::ReadCommitted);
    }

    #[test]
    fn matches_the_model_at_serializable(ops in prop::collection::vec(op(), 1..120)) {
        run(ops, IsolationLevel::Serializable);
    }
}
