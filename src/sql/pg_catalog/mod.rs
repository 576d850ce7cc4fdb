//! `pg_catalog`, `information_schema` and isola's own system views, and the catalog functions
//! (`format_type`, `pg_get_constraintdef`, `::regclass`, ...), computed from the one SQL
//! schema when a statement reads them: there is no stored copy that could drift from it.
//!
//! - [`model`]: the object ids and names of tables, indexes, constraints, defaults and
//!   sequences, and PostgreSQL's type table;
//! - [`deparse`]: defaults, constraints and indexes printed as PostgreSQL prints them;
//! - [`views`]: the catalog views' rows;
//! - [`functions`]: the catalog functions.
//!
//! The views of live state (`pg_stat_activity`, `isola_stat_activity`, `isola_locks` with the
//! advisory locks, `isola_serialization_failures`, `isola_stat_wal`, and the reading session's
//! own `pg_prepared_statements` and `pg_cursors`) are built here from the engine.
//! Invariant: views are computed when read, from the schema the reading statement was planned
//! against (a transaction's own uncommitted DDL included, as the binder sees it).

pub mod deparse;
pub mod functions;
pub mod model;
pub mod views;

use crate::sql::advisory::AdvisoryLocks;
use crate::sql::engine::{Activity, Engine};
use crate::sql::schema::Schema;
use crate::sql::system::SystemView;
use crate::types::{Row, Value};

pub use views::Viewer;

/// Rows of a system view, now: the catalog's from `schema` (the reading statement's), the
/// live state's from the engine.
pub fn rows(engine: &Engine, schema: &Schema, view: SystemView, who: &Viewer) -> Vec<Row> {
    if let Some(rows) = views::rows(schema, view, who) {
        return rows;
    }
    let text = |s: &str| Value::Text(s.to_string());
    match view {
        SystemView::PgStatActivity | SystemView::IsolaStatActivity => {
            let mut sessions: Vec<(u32, Activity)> =
                engine.sessions.lock().iter().map(|(k, v)| (*k, v.clone())).collect();
            sessions.sort_by_key(|(k, _)| *k);
            sessions
                .into_iter()
                .map(|(pid, a)| {
                    if view == SystemView::PgStatActivity {
                        vec![
                            Value::Int(pid as i64),
                            text(&a.user),
                            text(&a.database),
                            text(&a.application_name),
                            text(a.state),
                            text(&a.query),
                            a.txn.map_or(Value::Null, |t| Value::Int(t as i64)),
                        ]
                    } else {
                        // `waiting`: blocked by another transaction (a lock, a safe
                        // snapshot). An answer held for the disk is named in `waiting_for`
                        // but is not that: no other transaction's move ends it.
                        let blocked_on = a
                            .txn
                            .and_then(|t| engine.db.waiting_for(t))
                            .or_else(|| engine.advisory.waiting_for(pid));
                        let waiting = blocked_on.is_some();
                        let waiting_for = blocked_on.or(a.answer_wait);
                        let snapshot = a.txn.and_then(|t| engine.db.snapshot_of(t));
                        vec![
                            Value::Int(pid as i64),
                            text(&a.user),
                            text(a.state),
                            a.txn.map_or(Value::Null, |t| Value::Int(t as i64)),
                            a.level.map_or(Value::Null, |l| text(&l.sql().to_lowercase())),
                            Value::Bool(a.read_only),
                            Value::Bool(waiting),
                            text(&a.query),
                            snapshot.map_or(Value::Null, |s| Value::Int(s as i64)),
                            waiting_for.map_or(Value::Null, Value::Text),
                        ]
                    }
                })
                .collect()
        }
        SystemView::IsolaLocks => {
            let pids: std::collections::HashMap<u64, u32> = engine
                .sessions
                .lock()
                .iter()
                .filter_map(|(pid, a)| a.txn.map(|t| (t, *pid)))
                .collect();
            engine
                .db
                .lock_rows()
                .into_iter()
                .map(|l| {
                    vec![
                        pids.get(&l.txn).map_or(Value::Null, |p| Value::Int(*p as i64)),
                        Value::Int(l.txn as i64),
                        Value::Text(l.row),
                        Value::Text(l.mode_name.to_string()),
                        Value::Bool(l.granted),
                    ]
                })
                .chain(advisory_lock_rows(engine))
                .collect()
        }
        SystemView::PgPreparedStatements | SystemView::PgCursors => {
            let sessions = engine.sessions.lock();
            let Some(rows) = sessions.get(&who.session).and_then(|a| a.object_rows.clone()) else {
                return vec![];
            };
            if view == SystemView::PgPreparedStatements { rows.0.clone() } else { rows.1.clone() }
        }
        SystemView::IsolaSerializationFailures => engine
            .db
            .recent_serialization_failures()
            .into_iter()
            .enumerate()
            .map(|(i, s)| vec![Value::Int(i as i64 + 1), Value::Text(s)])
            .collect(),
        SystemView::IsolaCluster => engine
            .replica()
            .map(|r| r.status())
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let token = |t: Option<u64>| {
                    t.map_or(Value::Null, |t| Value::Text(crate::replication::format_token(t)))
                };
                let int = |n: Option<u64>| n.map_or(Value::Null, |n| Value::Int(n as i64));
                vec![
                    Value::Int(m.node_id as i64),
                    Value::Text(m.raft_addr),
                    Value::Text(m.role.into()),
                    Value::Int(m.term as i64),
                    int(m.leader_id),
                    token(m.applied),
                    token(m.durable),
                    int(m.lag_entries),
                    Value::Bool(m.is_self),
                ]
            })
            .collect(),
        SystemView::IsolaStatWal => engine
            .db
            .log()
            .map(|log| {
                let s = log.stats();
                vec![
                    [s.records, s.frames, s.syncs, s.bytes]
                        .into_iter()
                        .map(|n| Value::Int(n as i64))
                        .collect(),
                ]
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// The advisory locks' rows of `isola_locks` (the holder's running transaction, if any).
fn advisory_lock_rows(engine: &Engine) -> Vec<Row> {
    let sessions = engine.sessions.lock();
    engine
        .advisory
        .rows()
        .into_iter()
        .map(|l| {
            let txn = sessions.get(&l.session).and_then(|a| a.txn);
            vec![
                Value::Int(l.session as i64),
                txn.map_or(Value::Null, |t| Value::Int(t as i64)),
                Value::Text(l.key.to_string()),
                Value::Text(AdvisoryLocks::mode_name(l.exclusive).into()),
                Value::Bool(l.granted),
            ]
        })
        .collect()
}
