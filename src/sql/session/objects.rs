//! The session's own named objects and its housekeeping statements: SQL-level prepared
//! statements (`PREPARE` / `EXECUTE` / `DEALLOCATE`), cursors (`DECLARE` / `FETCH` / `MOVE` /
//! `CLOSE`), `LISTEN` / `UNLISTEN` / `NOTIFY`, `RESET ALL` and `DISCARD`; and what the end of a
//! transaction does to them ([`Session::transaction_ended`]).
//!
//! Invariants (PostgreSQL's): a cursor without HOLD lives only inside its transaction block
//! (declared outside one: 25P01) and ends with it; a HOLD cursor survives its transaction's
//! commit (dropped if that transaction rolls back). A cursor's rows are computed when it is
//! declared, with the snapshot of that moment (the rows PostgreSQL's cursor would show), and
//! FETCH walks them; a NO SCROLL cursor refuses to move backward (55000). Notifications
//! queued by a transaction are delivered when it commits, and LISTEN / UNLISTEN in a block
//! take effect then; transaction-level advisory locks go when it ends. ROLLBACK TO SAVEPOINT
//! closes the cursors opened and drops the notifications and LISTENs queued since the
//! savepoint (its transaction-level advisory locks are kept until the transaction ends). DISCARD ALL is refused in a transaction block (25001).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::ExecError;
use crate::sql::parse::session_commands::no_such_cursor;
use crate::sql::parse::utility::{CursorMove, Utility};
use crate::sql::plan::Bound;
use crate::sql::session::prepared::Kind;
use crate::sql::session::settings::SETTINGS;
use crate::sql::session::{Outcome, Prepared, Session};
use crate::sql::types::{SqlType, cast, now_micros};
use crate::types::{Row, Value};

/// A cursor's rows and where it stands: `position` 0 is before the first row, `rows.len() +
/// 1` after the last, and in between the row last fetched (1-based).
pub(super) struct Cursor {
    pub(super) columns: Vec<(String, SqlType)>,
    rows: Vec<Row>,
    position: usize,
    /// `Some(false)`: NO SCROLL (forward only).
    scroll: Option<bool>,
    hold: bool,
    /// Declared in the running transaction (a HOLD cursor is dropped if it rolls back).
    pending: bool,
    /// The DECLARE's text and when it ran (microseconds since the epoch), for `pg_cursors`.
    text: String,
    at: i64,
    /// A FETCH failed on it outside a transaction block: it can only be closed (55000).
    failed: bool,
}

/// The session's named objects.
#[derive(Default)]
pub(super) struct Objects {
    pub(super) prepared: BTreeMap<String, SqlPrepared>,
    /// The text of the PREPARE or DECLARE running (what the views show as its statement).
    pub(super) statement_text: String,
    pub(super) cursors: BTreeMap<String, Cursor>,
    /// LISTEN (`true`) and UNLISTEN (`false`, `None`: all) run in the transaction block, applied
    /// when it commits.
    pending_listens: Vec<(bool, Option<String>)>,
    /// The block's savepoints, oldest first, with what existed when each was set.
    savepoints: Vec<SavepointMark>,
}

/// A statement PREPAREd in SQL.
pub(super) struct SqlPrepared {
    prepared: Arc<Prepared>,
    text: String,
    /// When (microseconds since the epoch).
    at: i64,
}

/// What a ROLLBACK TO SAVEPOINT undoes of the session's objects.
struct SavepointMark {
    name: String,
    cursors: Vec<String>,
    notifications: usize,
    listens: usize,
    /// The settings, and the block's view of them, when the savepoint was set.
    settings: (Vec<(String, String)>, Option<super::settings::SettingsTxn>),
}

impl Cursor {
    /// Moves as `how` says; the 1-based numbers of the rows passed over, in order.
    fn step(&mut self, how: CursorMove, name: &str) -> Result<Vec<usize>, SqlError> {
        let n = self.rows.len();
        let backward_refused = || {
            SqlError::new(SqlState::ObjectNotInPrerequisiteState, "cursor can only scan forward")
                .with_detail(format!(
                    "Declare \"{name}\" with the SCROLL option to enable backward scan."
                ))
        };
        let no_scroll = self.scroll == Some(false);
        let (forward, count) = match how {
            CursorMove::Forward(0) | CursorMove::Backward(0) => {
                return self.jump(self.position as i64, no_scroll, &backward_refused);
            }
            CursorMove::Forward(k) if k > 0 => (true, k),
            CursorMove::Forward(k) => (false, k.saturating_neg()),
            CursorMove::Backward(k) if k > 0 => (false, k),
            CursorMove::Backward(k) => (true, k.saturating_neg()),
            CursorMove::Absolute(k) => {
                let target = if k >= 0 { k } else { n as i64 + 1 + k };
                return self.jump(target, no_scroll, &backward_refused);
            }
            CursorMove::Relative(k) => {
                let target = (self.position as i64).saturating_add(k);
                return self.jump(target, no_scroll, &backward_refused);
            }
        };
        let mut passed = Vec::new();
        if forward {
            while (passed.len() as i64) < count && self.position <= n {
                self.position += 1;
                if self.position <= n {
                    passed.push(self.position);
                }
            }
        } else {
            if no_scroll {
                return Err(backward_refused());
            }
            while (passed.len() as i64) < count && self.position >= 1 {
                self.position -= 1;
                if self.position >= 1 {
                    passed.push(self.position);
                }
            }
        }
        Ok(passed)
    }

    /// Goes to row `target` (clamped to before the first / after the last).
    fn jump(
        &mut self,
        target: i64,
        no_scroll: bool,
        refused: &dyn Fn() -> SqlError,
    ) -> Result<Vec<usize>, SqlError> {
        let n = self.rows.len();
        let target = target.clamp(0, n as i64 + 1) as usize;
        if no_scroll && target <= self.position && !(target == self.position && target > n) {
            return Err(refused());
        }
        self.position = target;
        Ok(if (1..=n).contains(&target) { vec![target] } else { vec![] })
    }
}

fn no_such_statement(name: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidSqlStatementName,
        format!("prepared statement \"{name}\" does not exist"),
    )
}

impl Session {
    /// Runs one of the statements of this file.
    pub(super) fn session_command(&mut self, u: Utility) -> Result<Outcome, SqlError> {
        let done = |tag: &str| Ok(Outcome::Command(tag.to_string()));
        match u {
            Utility::ResetAll => {
                self.reset_all();
                done("RESET")
            }
            Utility::Discard(what) => {
                if what == "ALL" {
                    if self.in_block {
                        return Err(SqlError::new(
                            SqlState::ActiveSqlTransaction,
                            "DISCARD ALL cannot run inside a transaction block",
                        ));
                    }
                    self.objects = Default::default();
                    self.publish_objects();
                    self.reset_all();
                    self.engine.notifications.unlisten(self.id, None);
                    self.engine.advisory.unlock_all(self.id);
                }
                if what == "ALL" || what == "PLANS" {
                    self.shape_plans.clear();
                }
                done(&format!("DISCARD {what}"))
            }
            // In a block they take effect when it commits, as in PostgreSQL.
            Utility::Listen(channel) if self.in_block => {
                self.objects.pending_listens.push((true, Some(channel)));
                done("LISTEN")
            }
            Utility::Listen(channel) => {
                self.engine.notifications.listen(self.id, &channel);
                done("LISTEN")
            }
            Utility::Unlisten(channel) if self.in_block => {
                self.objects.pending_listens.push((false, channel));
                done("UNLISTEN")
            }
            Utility::Unlisten(channel) => {
                self.engine.notifications.unlisten(self.id, channel.as_deref());
                done("UNLISTEN")
            }
            Utility::Notify(channel, payload) => {
                self.engine.notifications.queue(self.id, &channel, &payload)?;
                if !self.in_block {
                    self.engine.notifications.commit(self.id);
                }
                done("NOTIFY")
            }
            Utility::PrepareStatement { name, types, statement } => {
                if self.objects.prepared.contains_key(&name) {
                    return Err(SqlError::new(
                        SqlState::DuplicatePreparedStatement,
                        format!("prepared statement \"{name}\" already exists"),
                    ));
                }
                let schema = self.schema();
                let declared = types
                    .iter()
                    .map(|t| schema.parse_type(t).map(|(ty, _)| Some(ty)))
                    .collect::<Result<Vec<_>, _>>()?;
                let p = self.prepare(&statement, &declared)?;
                if !matches!(p.kind, Kind::Sql(..)) {
                    return Err(SqlError::syntax(format!(
                        "syntax error at or near \"{}\"",
                        statement.split_whitespace().next().unwrap_or("")
                    )));
                }
                let text = std::mem::take(&mut self.objects.statement_text);
                let entry = SqlPrepared { prepared: p, text, at: now_micros() };
                self.objects.prepared.insert(name, entry);
                self.publish_objects();
                done("PREPARE")
            }
            Utility::ExecuteStatement { name, args } => {
                let p = self.objects.prepared.get(&name).map(|e| e.prepared.clone());
                let p = p.ok_or_else(|| no_such_statement(&name))?;
                let values = match args {
                    None => vec![],
                    Some(list) => {
                        let select = self.prepare(&format!("SELECT {list}"), &[])?;
                        match self.run_prepared(&select, &[], None) {
                            Ok(Outcome::Rows { columns, mut rows, .. }) if rows.len() == 1 => {
                                let row = rows.remove(0);
                                if row.len() != p.param_types.len() {
                                    return Err(SqlError::syntax(format!(
                                        "wrong number of parameters for prepared statement \"{name}\""
                                    ))
                                    .with_detail(format!(
                                        "Expected {} parameters but got {}.",
                                        p.param_types.len(),
                                        row.len()
                                    )));
                                }
                                row.into_iter()
                                    .zip(&columns)
                                    .zip(&p.param_types)
                                    .map(|((v, (_, from)), to)| cast(v, *from, *to, true))
                                    .collect::<Result<Vec<_>, _>>()?
                            }
                            Ok(_) => return Err(SqlError::syntax("bad EXECUTE parameters")),
                            Err(e) => return Err(e.into_sql_error()),
                        }
                    }
                };
                if values.len() != p.param_types.len() {
                    return Err(SqlError::syntax(format!(
                        "wrong number of parameters for prepared statement \"{name}\""
                    ))
                    .with_detail(format!(
                        "Expected {} parameters but got {}.",
                        p.param_types.len(),
                        values.len()
                    )));
                }
                self.run_prepared(&p, &values, None).map_err(ExecError::into_sql_error)
            }
            Utility::Deallocate(None) => {
                self.objects.prepared.clear();
                self.publish_objects();
                done("DEALLOCATE ALL")
            }
            Utility::Deallocate(Some(name)) => {
                self.objects.prepared.remove(&name).ok_or_else(|| no_such_statement(&name))?;
                self.publish_objects();
                done("DEALLOCATE")
            }
            u @ Utility::DeclareCursor { .. } => self.declare_cursor(u, &[], &[]),
            u @ (Utility::Fetch { .. } | Utility::CloseCursor(_)) => self.cursor_command(u),
            other => Err(SqlError::new(
                SqlState::InternalError,
                format!("not a session command: {other:?}"),
            )),
        }
    }

    /// DECLARE: the cursor's rows, computed now (with `params`, of `param_types`, when the
    /// statement came with parameters).
    pub(super) fn declare_cursor(
        &mut self,
        u: Utility,
        param_types: &[SqlType],
        params: &[Value],
    ) -> Result<Outcome, SqlError> {
        match u {
            Utility::DeclareCursor { name, binary, scroll, hold, query } => {
                if !self.in_block && !hold {
                    return Err(SqlError::new(
                        SqlState::NoActiveSqlTransaction,
                        "DECLARE CURSOR can only be used in transaction blocks",
                    ));
                }
                if self.objects.cursors.contains_key(&name) {
                    return Err(SqlError::new(
                        SqlState::DuplicateCursor,
                        format!("cursor \"{name}\" already exists"),
                    ));
                }
                if binary {
                    return Err(SqlError::unsupported("DECLARE BINARY CURSOR"));
                }
                let declared: Vec<Option<SqlType>> = param_types.iter().map(|t| Some(*t)).collect();
                let p = self.prepare(&query, &declared)?;
                let is_query =
                    matches!(p.plan.lock().as_ref().map(|e| &*e.bound), Some(Bound::Select(_)))
                        && matches!(p.kind, Kind::Sql(..));
                if !is_query {
                    return Err(SqlError::syntax(format!(
                        "syntax error at or near \"{}\"",
                        query.split_whitespace().next().unwrap_or("")
                    )));
                }
                if p.param_types.len() != params.len() {
                    return Err(SqlError::new(
                        SqlState::UndefinedParameter,
                        format!("there is no parameter ${}", params.len() + 1),
                    ));
                }
                let (columns, rows) = match self.run_prepared(&p, params, None) {
                    Ok(Outcome::Rows { columns, rows, .. }) => (columns, rows),
                    Ok(_) => (p.columns.clone(), vec![]),
                    Err(e) => return Err(e.into_sql_error()),
                };
                let cursor = Cursor {
                    columns,
                    rows,
                    position: 0,
                    scroll,
                    hold,
                    pending: self.in_block,
                    failed: false,
                    text: std::mem::take(&mut self.objects.statement_text),
                    at: now_micros(),
                };
                self.objects.cursors.insert(name, cursor);
                self.publish_objects();
                Ok(Outcome::Command("DECLARE CURSOR".into()))
            }
            other => {
                Err(SqlError::new(SqlState::InternalError, format!("not a DECLARE: {other:?}")))
            }
        }
    }

    /// FETCH, MOVE and CLOSE.
    fn cursor_command(&mut self, u: Utility) -> Result<Outcome, SqlError> {
        let done = |tag: &str| Ok(Outcome::Command(tag.to_string()));
        match u {
            Utility::Fetch { name, how, move_only } => {
                let cursor =
                    self.objects.cursors.get_mut(&name).ok_or_else(|| no_such_cursor(&name))?;
                if cursor.failed {
                    return Err(SqlError::new(
                        SqlState::ObjectNotInPrerequisiteState,
                        format!("portal \"{name}\" cannot be run"),
                    ));
                }
                let passed = match cursor.step(how, &name) {
                    Ok(passed) => passed,
                    Err(e) => {
                        // As in PostgreSQL, a held cursor's failed fetch outside a block
                        // leaves it unusable (in a block the whole block has failed).
                        cursor.failed = !self.in_block;
                        return Err(e);
                    }
                };
                if move_only {
                    return done(&format!("MOVE {}", passed.len()));
                }
                let rows: Vec<Row> = passed.iter().map(|&i| cursor.rows[i - 1].clone()).collect();
                Ok(Outcome::Rows {
                    columns: cursor.columns.clone(),
                    tag: format!("FETCH {}", rows.len()),
                    rows,
                })
            }
            Utility::CloseCursor(None) => {
                self.objects.cursors.clear();
                self.publish_objects();
                done("CLOSE CURSOR ALL")
            }
            Utility::CloseCursor(Some(name)) => {
                self.objects.cursors.remove(&name).ok_or_else(|| no_such_cursor(&name))?;
                self.publish_objects();
                done("CLOSE CURSOR")
            }
            other => Err(SqlError::new(
                SqlState::InternalError,
                format!("not a session command: {other:?}"),
            )),
        }
    }

    /// `RESET ALL`: every setting back to its default, the session characteristics too (the
    /// lock_timeout of a running transaction with them). Custom (`x.y`) settings stay defined,
    /// empty, as in PostgreSQL.
    /// In a block, what it leaves if the block commits is reset too (a RESET is a SET).
    fn reset_all(&mut self) {
        let startup_application_name =
            self.engine.sessions.lock().get(&self.id).map(|a| a.application_name.clone());
        let reset = |settings: &mut Vec<(String, String)>| {
            for (name, value) in settings {
                match SETTINGS.iter().find(|(k, _)| k == name) {
                    Some(("application_name", _)) if startup_application_name.is_some() => {
                        value.clone_from(startup_application_name.as_ref().expect("is some"))
                    }
                    Some((_, default)) => *value = default.to_string(),
                    None => value.clear(),
                }
            }
        };
        reset(&mut self.settings);
        if let Some(t) = self.settings_txn.as_mut() {
            reset(&mut t.at_commit);
        }
        self.defaults = Default::default();
        if let Some(t) = self.txn.as_mut() {
            t.set_lock_timeout(None);
        }
    }

    /// The result columns a FETCH from `cursor` or an EXECUTE of `statement` will have (for
    /// the extended protocol's Describe).
    pub(super) fn command_columns(&self, u: &Utility) -> Vec<(String, SqlType)> {
        match u {
            Utility::Fetch { name, move_only: false, .. } => {
                self.objects.cursors.get(name).map(|c| c.columns.clone()).unwrap_or_default()
            }
            Utility::ExecuteStatement { name, .. } => self
                .objects
                .prepared
                .get(name)
                .map(|e| e.prepared.columns.clone())
                .unwrap_or_default(),
            Utility::Show(name) => vec![(name.clone(), SqlType::Text)],
            _ => vec![],
        }
    }

    /// SAVEPOINT `name` was set: what exists now is what ROLLBACK TO it keeps.
    pub(super) fn objects_savepoint(&mut self, name: &str) {
        let mark = SavepointMark {
            name: name.to_string(),
            cursors: self.objects.cursors.keys().cloned().collect(),
            notifications: self.engine.notifications.pending_len(self.id),
            listens: self.objects.pending_listens.len(),
            settings: (self.settings.clone(), self.settings_txn.clone()),
        };
        self.objects.savepoints.push(mark);
    }

    /// ROLLBACK TO SAVEPOINT `name` (kept) or RELEASE `name` (`release`: it and the later ones
    /// go, their work kept). A rollback closes the cursors opened since and drops the
    /// notifications and LISTENs queued since, as in PostgreSQL.
    pub(super) fn objects_to_savepoint(&mut self, name: &str, release: bool) {
        let Some(at) = self.objects.savepoints.iter().rposition(|m| m.name == name) else {
            return;
        };
        if release {
            self.objects.savepoints.truncate(at);
            return;
        }
        self.objects.savepoints.truncate(at + 1);
        let mark = &self.objects.savepoints[at];
        self.objects.cursors.retain(|n, _| mark.cursors.contains(n));
        self.publish_objects();
        self.objects.pending_listens.truncate(mark.listens);
        self.engine.notifications.truncate_pending(self.id, mark.notifications);
        // Settings go back too, but the server's own stay as they are now.
        let (settings, settings_txn) = mark.settings.clone();
        let now = std::mem::replace(&mut self.settings, settings);
        for name in super::settings::SERVER_KEPT {
            if let Some((_, v)) = now.iter().find(|(k, _)| k == name) {
                super::settings::put(&mut self.settings, name, v.clone());
            }
        }
        self.settings_txn = settings_txn;
    }

    /// Shows the session's prepared statements and cursors in `pg_prepared_statements` and
    /// `pg_cursors`.
    fn publish_objects(&self) {
        let text = |s: &str| Value::Text(s.to_string());
        let prepared = self
            .objects
            .prepared
            .iter()
            .map(|(name, e)| {
                let types: Vec<String> = e.prepared.param_types.iter().map(|t| t.name()).collect();
                vec![
                    text(name),
                    text(&e.text),
                    Value::Int(e.at),
                    Value::Text(format!("{{{}}}", types.join(","))),
                    Value::Bool(true),
                    Value::Int(0),
                    Value::Int(0),
                ]
            })
            .collect();
        let cursors = self
            .objects
            .cursors
            .iter()
            .map(|(name, c)| {
                vec![
                    text(name),
                    text(&c.text),
                    Value::Bool(c.hold),
                    Value::Bool(false),
                    Value::Bool(c.scroll == Some(true)),
                    Value::Int(c.at),
                ]
            })
            .collect();
        if let Some(a) = self.engine.sessions.lock().get_mut(&self.id) {
            a.object_rows = Some(Arc::new((prepared, cursors)));
        }
    }

    /// The result columns of the open cursor `name`, if there is one.
    pub fn cursor_columns(&self, name: &str) -> Option<Vec<(String, SqlType)>> {
        self.objects.cursors.get(name).map(|c| c.columns.clone())
    }

    /// The transaction ended (`committed`, or rolled back): its notifications are delivered or
    /// dropped, its transaction-level advisory locks released, and the cursors that end with
    /// it closed.
    pub(super) fn transaction_ended(&mut self, committed: bool) {
        self.settings_block_ended(committed);
        let listens = std::mem::take(&mut self.objects.pending_listens);
        self.objects.savepoints.clear();
        if committed {
            for (listen, channel) in listens {
                match listen {
                    true => {
                        self.engine.notifications.listen(self.id, channel.as_deref().unwrap_or(""))
                    }
                    false => self.engine.notifications.unlisten(self.id, channel.as_deref()),
                }
            }
            self.engine.notifications.commit(self.id);
        } else {
            self.engine.notifications.discard(self.id);
        }
        self.engine.advisory.release_transaction(self.id);
        if !self.objects.cursors.is_empty() {
            self.objects.cursors.retain(|_, c| c.hold && (committed || !c.pending));
            for c in self.objects.cursors.values_mut() {
                c.pending = false;
            }
            self.publish_objects();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(n: i64, scroll: Option<bool>) -> Cursor {
        Cursor {
            columns: vec![],
            rows: (1..=n).map(|i| vec![Value::Int(i)]).collect(),
            position: 0,
            scroll,
            hold: false,
            pending: false,
            failed: false,
            text: String::new(),
            at: 0,
        }
    }

    #[test]
    fn cursor_moves_as_postgresql_does() {
        let mut c = cursor(5, None);
        assert_eq!(c.step(CursorMove::Forward(2), "c").unwrap(), vec![1, 2]);
        assert_eq!(c.step(CursorMove::Forward(0), "c").unwrap(), vec![2]);
        assert_eq!(c.step(CursorMove::Forward(i64::MAX), "c").unwrap(), vec![3, 4, 5]);
        assert_eq!(c.position, 6);
        assert_eq!(c.step(CursorMove::Backward(1), "c").unwrap(), vec![5]);
        assert_eq!(c.step(CursorMove::Absolute(-2), "c").unwrap(), vec![4]);
        assert_eq!(c.step(CursorMove::Relative(-3), "c").unwrap(), vec![1]);
        assert_eq!(c.step(CursorMove::Backward(3), "c").unwrap(), Vec::<usize>::new());
        assert_eq!(c.step(CursorMove::Absolute(9), "c").unwrap(), Vec::<usize>::new());
        let mut f = cursor(3, Some(false));
        assert_eq!(f.step(CursorMove::Forward(1), "f").unwrap(), vec![1]);
        assert!(f.step(CursorMove::Backward(1), "f").is_err());
        assert_eq!(f.step(CursorMove::Absolute(3), "f").unwrap(), vec![3]);
        assert_eq!(f.step(CursorMove::Forward(5), "f").unwrap(), Vec::<usize>::new());
    }
}
