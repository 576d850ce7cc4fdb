//! The `isola` command.
//!
//! - `isola demo`: runs the classic concurrency anomalies (lost update, write skew, the
//!   read-only anomaly) at each isolation level against the transactional core, and prints
//!   what each level let through and how it explained each abort.
//!
//! `isola serve` (the PostgreSQL wire protocol server) is the next layer to be built.

use std::ops::Bound;
use std::process::ExitCode;

use isola::{Database, Error, IsolationLevel, Transaction, TxnOptions};

const LEVELS: [IsolationLevel; 4] = [
    IsolationLevel::ReadUncommitted,
    IsolationLevel::ReadCommitted,
    IsolationLevel::RepeatableRead,
    IsolationLevel::Serializable,
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => {
            demo();
            ExitCode::SUCCESS
        }
        Some("serve") => {
            eprintln!("isola serve: the wire-protocol server is not built yet (see the README).");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("usage: isola demo");
            ExitCode::from(2)
        }
    }
}

fn outcome(result: Result<(), Error>) -> String {
    match result {
        Ok(()) => "committed".into(),
        Err(e) => match e.detail() {
            Some(detail) => format!("{} {}\n      {}", e.sqlstate(), e.message(), detail),
            None => format!("{} {}", e.sqlstate(), e.message()),
        },
    }
}

fn doctors(level: IsolationLevel) -> Database {
    let db = Database::new();
    db.create_table("doctors", &["id", "on_call"], &["id"]).unwrap();
    let mut setup = db.begin(TxnOptions::new(level));
    setup.insert(0, vec![1.into(), true.into()]).unwrap();
    setup.insert(0, vec![2.into(), true.into()]).unwrap();
    setup.commit().unwrap();
    db
}

fn on_call(txn: &mut Transaction) -> Result<usize, Error> {
    let rows = txn.scan(0, (Bound::Unbounded, Bound::Unbounded))?;
    Ok(rows.iter().filter(|(_, r)| r[1] == true.into()).count())
}

/// Write skew: two doctors each check that someone else is on call, then go off call.
fn write_skew(level: IsolationLevel) {
    let db = doctors(level);
    let mut t1 = db.begin(TxnOptions::new(level));
    let mut t2 = db.begin(TxnOptions::new(level));
    let step = |t: &mut Transaction, id: i64| -> Result<(), Error> {
        if on_call(t)? >= 2 {
            t.update(0, &vec![id.into()], |_| Some(vec![id.into(), false.into()]))?;
        }
        Ok(())
    };
    let r1 = step(&mut t1, 1);
    let r2 = step(&mut t2, 2);
    let c1 = r1.and_then(|()| t1.commit().map(|_| ()));
    let c2 = r2.and_then(|()| t2.commit().map(|_| ()));
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let left = on_call(&mut check).unwrap();
    println!("  doctor 1: {}", outcome(c1));
    println!("  doctor 2: {}", outcome(c2));
    println!("  doctors left on call: {left}{}", if left == 0 { "   <- write skew" } else { "" });
}

/// Lost update: two transactions read a counter, then write the value plus one.
fn lost_update(level: IsolationLevel) {
    let db = Database::new();
    db.create_table("counter", &["id", "n"], &["id"]).unwrap();
    let mut setup = db.begin(TxnOptions::new(level));
    setup.insert(0, vec![1.into(), 0.into()]).unwrap();
    setup.commit().unwrap();
    let mut t1 = db.begin(TxnOptions::new(level));
    let mut t2 = db.begin(TxnOptions::new(level));
    let n1 = t1.get(0, &vec![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    let n2 = t2.get(0, &vec![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    t1.start_statement();
    t1.update(0, &vec![1.into()], |_| Some(vec![1.into(), (n1 + 1).into()])).unwrap();
    let c1 = t1.commit().map(|_| ());
    t2.start_statement();
    let c2 = t2
        .update(0, &vec![1.into()], |_| Some(vec![1.into(), (n2 + 1).into()]))
        .map(|_| ())
        .and_then(|()| t2.commit().map(|_| ()));
    let mut check = db.begin(TxnOptions::new(IsolationLevel::ReadCommitted));
    let n = check.get(0, &vec![1.into()]).unwrap().unwrap()[1].as_int().unwrap();
    let committed = usize::from(c1.is_ok()) + usize::from(c2.is_ok());
    println!("  first:  {}", outcome(c1));
    println!("  second: {}", outcome(c2));
    let lost = if (n as usize) < committed { "   <- lost update" } else { "" };
    println!("  counter = {n} after {committed} committed increments{lost}");
}

fn demo() {
    println!("isola demo: anomalies at each isolation level, run against the transactional core\n");
    for level in LEVELS {
        println!("== {} ==", level.sql());
        println!(" lost update (read, then write the value + 1, in two transactions):");
        lost_update(level);
        println!(" write skew (two doctors on call, each goes off call if the other is on):");
        write_skew(level);
        println!();
    }
}
