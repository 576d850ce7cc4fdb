//! The transaction block and the statements the session runs itself: BEGIN, COMMIT (the one
//! implementation, [`Session::commit`]), ROLLBACK, savepoints, SET/SHOW and the session
//! characteristics, TRUNCATE, CHECKPOINT, COPY's start, and CREATE/DROP DATABASE.

use std::time::Instant;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::ExecError;
use crate::sql::exec::copy::CopyIn;
use crate::sql::parse::utility::{TxnModes, Utility};
use crate::sql::session::settings::{SETTINGS, level_from, parse_duration, setting_is_on};
use crate::sql::session::{Outcome, Session};
use crate::sql::types::SqlType;
use crate::txn::{CommitProgress, CommitWait, IsolationLevel, Transaction, TxnOptions};
use crate::types::Value;

impl Session {
    pub(super) fn utility(&mut self, u: Utility) -> Result<Outcome, SqlError> {
        let no_block = |what: &str| {
            SqlError::new(
                SqlState::NoActiveSqlTransaction,
                format!("{what} can only be used in transaction blocks"),
            )
        };
        match u {
            Utility::Begin(modes) => {
                if !self.in_block {
                    self.settings_txn = Some(super::settings::SettingsTxn::new(&self.settings));
                    self.in_block = true;
                    self.failed = false;
                    self.block_modes = modes;
                    self.block_started = Some(Instant::now());
                    self.transaction_time = Some(crate::sql::types::now_micros());
                }
                Ok(Outcome::Command("BEGIN".into()))
            }
            Utility::SetTransaction(modes) => {
                if !self.in_block {
                    return Err(no_block("SET TRANSACTION"));
                }
                if self.txn.is_some() {
                    return Err(SqlError::new(
                        SqlState::ActiveSqlTransaction,
                        "SET TRANSACTION ISOLATION LEVEL must be called before any query",
                    ));
                }
                if modes.level.is_some() {
                    self.block_modes.level = modes.level;
                }
                if modes.read_only.is_some() {
                    self.block_modes.read_only = modes.read_only;
                }
                if modes.deferrable.is_some() {
                    self.block_modes.deferrable = modes.deferrable;
                }
                Ok(Outcome::Command("SET".into()))
            }
            Utility::SetSessionCharacteristics(modes) => {
                if let Some(l) = modes.level {
                    self.set_setting("default_transaction_isolation", l.sql().to_lowercase());
                }
                if let Some(r) = modes.read_only {
                    self.set_setting(
                        "default_transaction_read_only",
                        if r { "on" } else { "off" }.into(),
                    );
                }
                if modes.deferrable.is_some() {
                    self.defaults.deferrable = modes.deferrable;
                }
                Ok(Outcome::Command("SET".into()))
            }
            Utility::Commit => {
                let (tag, wait) = self.commit()?;
                if let Some(wait) = wait {
                    wait.wait_blocking()?;
                }
                Ok(Outcome::Command(tag))
            }
            Utility::Rollback => {
                if let Some(t) = self.txn.take() {
                    self.rollback_txn(t);
                }
                self.end_block();
                self.transaction_ended(false);
                Ok(Outcome::Command("ROLLBACK".into()))
            }
            Utility::Savepoint(name) => {
                if !self.in_block {
                    return Err(no_block("SAVEPOINT"));
                }
                self.ensure_txn()?;
                self.txn.as_mut().expect("ensured").savepoint(&name)?;
                self.objects_savepoint(&name);
                self.ddl_savepoint(&name);
                Ok(Outcome::Command("SAVEPOINT".into()))
            }
            Utility::Release(name) => {
                if !self.in_block {
                    return Err(no_block("RELEASE SAVEPOINT"));
                }
                match self.txn.as_mut() {
                    Some(t) => {
                        t.release_savepoint(&name)?;
                        self.objects_to_savepoint(&name, true);
                        self.ddl_release(&name);
                    }
                    None => {
                        return Err(SqlError::new(
                            SqlState::InvalidSavepointSpecification,
                            format!("savepoint \"{name}\" does not exist"),
                        ));
                    }
                }
                Ok(Outcome::Command("RELEASE".into()))
            }
            Utility::RollbackTo(name) => {
                if !self.in_block {
                    return Err(no_block("ROLLBACK TO SAVEPOINT"));
                }
                match self.txn.as_mut() {
                    Some(t) => {
                        // The catalog's changes go back before the locks go (see rollback_txn).
                        let since = t.undo_to_savepoint(&name)?;
                        self.objects_to_savepoint(&name, false);
                        self.ddl_rollback_to(&name);
                        self.txn.as_mut().expect("in a block").release_locks_since(since);
                    }
                    None => {
                        return Err(SqlError::new(
                            SqlState::InvalidSavepointSpecification,
                            format!("savepoint \"{name}\" does not exist"),
                        ));
                    }
                }
                self.failed = false;
                Ok(Outcome::Command("ROLLBACK".into()))
            }
            Utility::SetLocal(name, value) => {
                // Outside a block it does nothing (PostgreSQL warns).
                if !self.in_block {
                    return Ok(Outcome::Command("SET".into()));
                }
                self.setting_locally = true;
                let set = self.utility(Utility::Set(name, value));
                self.setting_locally = false;
                set
            }
            Utility::Set(name, value) => {
                let name = match name.as_str() {
                    "transaction_isolation" => "default_transaction_isolation".to_string(),
                    n => n.to_string(),
                };
                let default = SETTINGS.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string());
                if default.is_none() && !name.contains('.') {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ));
                }
                let value = value.or(default).unwrap_or_default();
                match name.as_str() {
                    "default_transaction_isolation" => {
                        let l = level_from(&value).ok_or_else(|| {
                            SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!("invalid value for parameter \"{name}\": \"{value}\""),
                            )
                        })?;
                        self.set_setting(&name, l.sql().to_lowercase());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "isola.read_consistency" => {
                        let v = value.trim().to_lowercase();
                        const LEVELS: [&str; 4] =
                            ["linearizable", "causal", "bounded_staleness", "eventual"];
                        if !LEVELS.contains(&v.as_str()) {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!(
                                    "invalid value for parameter \"{name}\": \"{value}\" (one of \
                                     linearizable, causal, bounded_staleness, eventual)"
                                ),
                            ));
                        }
                        self.set_setting(&name, v);
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "isola.max_staleness" | "isola.staleness_wait" => {
                        parse_duration(&value)?;
                        self.set_setting(&name, value.trim().trim_matches('\'').to_string());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "isola.read_after" | "isola.session_token" => {
                        if !value.trim().is_empty()
                            && crate::replication::parse_token(&value).is_none()
                        {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!(
                                    "invalid value for parameter \"{name}\": \"{value}\" (a token \
                                     as SHOW isola.session_token prints it, like 0/1A2B)"
                                ),
                            ));
                        }
                        self.set_setting(&name, value.trim().to_string());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "synchronous_commit" => {
                        let v = value.to_lowercase();
                        let on =
                            ["on", "true", "yes", "1", "local", "remote_write", "remote_apply"];
                        let off = ["off", "false", "no", "0"];
                        if !on.contains(&v.as_str()) && !off.contains(&v.as_str()) {
                            return Err(SqlError::new(
                                SqlState::InvalidParameterValue,
                                format!("invalid value for parameter \"{name}\": \"{value}\""),
                            ));
                        }
                        let canonical = if off.contains(&v.as_str()) { "off" } else { "on" };
                        self.set_setting(&name, canonical.into());
                        return Ok(Outcome::Command("SET".into()));
                    }
                    "lock_timeout"
                    | "statement_timeout"
                    | "idle_in_transaction_session_timeout" => {
                        let d = parse_duration(&value)?;
                        if name == "lock_timeout"
                            && let Some(t) = self.txn.as_mut()
                        {
                            t.set_lock_timeout(d);
                        }
                    }
                    // isola computes in UTC with ISO dates read month first: another zone or
                    // style would be answered wrongly, so it is refused
                    "timezone" => crate::sql::exec::datetime::check_utc(&value)?,
                    "datestyle" | "intervalstyle" => {
                        let v = value.to_lowercase();
                        let fine = if name == "datestyle" {
                            v.split(',').all(|p| {
                                matches!(p.trim(), "iso" | "mdy" | "us" | "noneuropean" | "default")
                            })
                        } else {
                            v.trim() == "postgres"
                        };
                        if !fine {
                            return Err(SqlError::new(
                                SqlState::FeatureNotSupported,
                                format!(
                                    "{name} \"{value}\" is not supported (isola reads and writes ISO, MDY dates and postgres-style intervals)"
                                ),
                            ));
                        }
                    }
                    "server_version"
                    | "server_encoding"
                    | "integer_datetimes"
                    | "max_identifier_length"
                    | "server_version_num" => {
                        return Err(SqlError::new(
                            SqlState::CantChangeRuntimeParam,
                            format!("parameter \"{name}\" cannot be changed"),
                        ));
                    }
                    _ => {}
                }
                self.set_setting(&name, value);
                Ok(Outcome::Command("SET".into()))
            }
            Utility::Show(name) => {
                let value = match name.as_str() {
                    "transaction_isolation" => self
                        .txn
                        .as_ref()
                        .map(|t| t.options().level)
                        .or(self.block_modes.level)
                        .unwrap_or_else(|| self.txn_options().level)
                        .sql()
                        .to_lowercase(),
                    "transaction_read_only" => {
                        if self.txn_options().read_only { "on" } else { "off" }.to_string()
                    }
                    "all" => return Err(SqlError::unsupported("SHOW ALL")),
                    n => self.setting(n).map(str::to_string).ok_or_else(|| {
                        SqlError::new(
                            SqlState::UndefinedObject,
                            format!("unrecognized configuration parameter \"{n}\""),
                        )
                    })?,
                };
                Ok(Outcome::Rows {
                    columns: vec![(name, SqlType::Text)],
                    rows: vec![vec![Value::Text(value)]],
                    tag: "SHOW".into(),
                })
            }
            Utility::NoOp(tag) => Ok(Outcome::Command(tag.into())),
            Utility::AlterTypeOwner(name) => match self.schema().parse_type(&name) {
                Ok((SqlType::Enum(_), _)) => Ok(Outcome::Command("ALTER TYPE".into())),
                Ok(_) => Err(SqlError::unsupported(format!(
                    "ALTER TYPE {name} OWNER TO: a built-in type's owner"
                ))),
                Err(e) => Err(e),
            },
            u @ (Utility::ResetAll
            | Utility::Discard(_)
            | Utility::Listen(_)
            | Utility::Unlisten(_)
            | Utility::Notify(..)
            | Utility::PrepareStatement { .. }
            | Utility::ExecuteStatement { .. }
            | Utility::Deallocate(_)
            | Utility::DeclareCursor { .. }
            | Utility::Fetch { .. }
            | Utility::CloseCursor(_)) => self.session_command(u),
            Utility::AlterSequence(alter, text) => {
                self.ddl_statement(crate::sql::ddl::DdlStatement::AlterSequence(&alter), text)
                    .map_err(ExecError::into_sql_error)?;
                let tag = if alter.create { "CREATE SEQUENCE" } else { "ALTER SEQUENCE" };
                Ok(Outcome::Command(tag.into()))
            }
            Utility::SetConstraints { names, deferred } => {
                match names {
                    None => {
                        self.constraint_modes.all = Some(deferred);
                        self.constraint_modes.named.clear();
                    }
                    Some(names) => {
                        for n in names {
                            self.constraint_modes.named.insert(n, deferred);
                        }
                    }
                }
                // Checks owed by constraints now immediate run at once, as in PostgreSQL.
                let (now, later): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut self.deferred_fk).into_iter().partition(|w| {
                        w.constraint().is_some_and(|fk| !self.constraint_modes.deferred(fk))
                    });
                self.deferred_fk = now;
                let result = match self.txn.take() {
                    Some(mut t) => {
                        let r = self.settle_deferred_constraints(&mut t);
                        self.txn = Some(t);
                        r
                    }
                    None => Ok(()),
                };
                self.deferred_fk.extend(later);
                result?;
                Ok(Outcome::Command("SET CONSTRAINTS".into()))
            }
            Utility::Checkpoint => {
                self.engine.checkpoint()?;
                Ok(Outcome::Command("CHECKPOINT".into()))
            }
            Utility::Truncate { tables, restart_identity, cascade } => {
                self.truncate(tables, restart_identity, cascade)?;
                Ok(Outcome::Command("TRUNCATE TABLE".into()))
            }
            Utility::CopyFrom { table, columns, format } => {
                let n = self.check_copy_columns(&table, &columns)?;
                self.copy = Some(CopyIn::new(table, columns, format));
                Ok(Outcome::CopyIn { columns: n })
            }
            Utility::CopyTo { rows, format } => self.copy_to(rows, format),
            Utility::CreateDatabase(name) => self.create_database(&name),
            Utility::DropDatabase { name, if_exists } => self.drop_database(&name, if_exists),
        }
    }

    /// Sets a setting; in a transaction block, for the block only until it commits (or, for
    /// `SET LOCAL`, only for the block): see TRANSACTIONAL SETTINGS in `settings.rs`.
    pub(super) fn set_setting(&mut self, name: &str, value: String) {
        if let Some(t) = self.settings_txn.as_mut()
            && !self.setting_locally
        {
            super::settings::put(&mut t.at_commit, name, value.clone());
        }
        super::settings::put(&mut self.settings, name, value);
    }

    /// The block's end for the settings: kept or undone (called with the transaction's end).
    pub(super) fn settings_block_ended(&mut self, committed: bool) {
        if let Some(t) = self.settings_txn.take() {
            self.settings = t.end(committed, &self.settings);
        }
    }

    pub(super) fn end_block(&mut self) {
        self.in_block = false;
        self.failed = false;
        self.block_modes = TxnModes::default();
        self.block_started = None;
        self.transaction_time = None;
    }

    pub(super) fn txn_options(&self) -> TxnOptions {
        let level = self.block_modes.level.or(self.defaults.level).unwrap_or_else(|| {
            self.setting("default_transaction_isolation")
                .and_then(level_from)
                .unwrap_or(IsolationLevel::ReadCommitted)
        });
        // Statements run through `run_plan`, which runs one again when the core restarts it.
        let mut o = TxnOptions::new(level).restartable_statements();
        if self.declared_read_only() || self.engine().db.standby_reason().is_some() {
            o = o.read_only();
        }
        if self.declared_deferrable() {
            o = o.deferrable();
        }
        o
    }

    /// READ ONLY as the transaction declares it (BEGIN, SET TRANSACTION, the session's
    /// characteristics, `default_transaction_read_only`), not as a standby forces it.
    fn declared_read_only(&self) -> bool {
        let default = self.setting("default_transaction_read_only").is_some_and(setting_is_on);
        self.block_modes.read_only.or(self.defaults.read_only).unwrap_or(default)
    }

    /// Whether the refusal of serializable mode on a follower applies: a replica that does
    /// not lead, and a serializable transaction not declared READ ONLY DEFERRABLE (only that
    /// one can wait there for a safe snapshot the leader marks; see docs/replication.md).
    fn refuses_serializable(&self, options: &TxnOptions) -> Option<SqlError> {
        let standby = self.engine.replica().is_some() && self.engine.db.standby_reason().is_some();
        if options.level != IsolationLevel::Serializable
            || !standby
            || (self.declared_read_only() && options.deferrable)
        {
            return None;
        }
        // A follower's SSI cannot see the leader's read-write dependencies: a snapshot here
        // is serializable only at a safe point the leader marked, which only a read-only
        // transaction that may wait for one can use.
        Some(
            SqlError::new(
                SqlState::FeatureNotSupported,
                "cannot use serializable mode on a replica that is not the leader, except as \
                 SERIALIZABLE READ ONLY DEFERRABLE"
                    .to_string(),
            )
            .with_detail(
                "Use BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE: it waits for a \
                 safe snapshot the leader marks (at most isola.staleness_wait) and then cannot \
                 take part in a serialization anomaly. Or run the transaction on the leader, or \
                 use REPEATABLE READ here (snapshot isolation).",
            ),
        )
    }

    /// Starts the core transaction if the statement needs one and none runs.
    pub(super) fn ensure_txn(&mut self) -> Result<(), SqlError> {
        if self.txn.is_none() {
            let options = self.txn_options();
            if let Some(refused) = self.refuses_serializable(&options) {
                return Err(refused);
            }
            let mut t = self.engine.db.begin(options);
            t.set_lock_timeout(
                self.setting("lock_timeout").and_then(|v| parse_duration(v).ok().flatten()),
            );
            if self.engine.replica().is_some() {
                // On a follower: how long SERIALIZABLE READ ONLY DEFERRABLE waits for a safe
                // snapshot (the wait a replica read has to catch up).
                t.set_safe_snapshot_wait(
                    self.setting("isola.staleness_wait")
                        .and_then(|v| parse_duration(v).ok().flatten()),
                );
            }
            self.txn = Some(t);
        }
        Ok(())
    }

    /// COMMIT (or END), the one implementation, never blocking the calling thread: ends the
    /// block and returns the command tag and, when the commit record must reach the disk before
    /// the commit may be acknowledged, the wait to await first ([`CommitWait::durable`], or
    /// [`CommitWait::wait_blocking`]; until then the commit is neither visible nor
    /// acknowledged). A failed block is rolled back (tag ROLLBACK). A failure is recorded.
    pub fn commit(&mut self) -> Result<(String, Option<CommitWait>), SqlError> {
        let tag = if self.failed { "ROLLBACK" } else { "COMMIT" };
        let txn = self.txn.take();
        let was_failed = self.failed;
        self.end_block();
        let wait = match txn {
            Some(t) if was_failed => {
                self.rollback_txn(t);
                None
            }
            Some(t) if self.ddl.is_some() || !self.deferred_fk.is_empty() => {
                if let Err(e) = self.commit_with_ddl(t) {
                    self.statement_failed();
                    self.transaction_ended(false);
                    return Err(e);
                }
                None
            }
            Some(mut t) => {
                self.ddl_marks.clear();
                self.constraint_modes = Default::default();
                t.set_synchronous_commit(self.setting("synchronous_commit") != Some("off"));
                match t.commit_start() {
                    Ok(CommitProgress::Done(_)) => None,
                    Ok(CommitProgress::Logged(wait)) => Some(wait),
                    Err(e) => {
                        self.statement_failed();
                        self.transaction_ended(false);
                        return Err(e.into());
                    }
                }
            }
            None => None,
        };
        // A commit decided is visible to every later snapshot (shown once durable): its
        // notifications may go now.
        self.transaction_ended(!was_failed);
        self.publish("idle", "COMMIT");
        Ok((tag.to_string(), wait))
    }

    /// TRUNCATE: takes each table's exclusive lock, as PostgreSQL does, then deletes every
    /// row in the transaction (so it rolls back like any delete). A table a foreign key
    /// references is refused (0A000) unless its referencing tables are truncated too
    /// (listed, or CASCADE). RESTART IDENTITY restarts the tables' own sequences (not
    /// rolled back, as sequences never are).
    fn truncate(
        &mut self,
        mut tables: Vec<String>,
        restart_identity: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        let schema = self.schema();
        let mut i = 0;
        while i < tables.len() {
            let t =
                schema.table(&tables[i]).ok_or_else(|| SqlError::undefined_table(&tables[i]))?;
            for (child, fk) in schema.referencing(t.id) {
                if tables.contains(&child.name) {
                    continue;
                }
                if !cascade {
                    return Err(SqlError::new(
                        SqlState::FeatureNotSupported,
                        "cannot truncate a table referenced in a foreign key constraint",
                    )
                    .with_detail(format!(
                        "Table \"{}\" references \"{}\" (constraint {}).",
                        child.name, t.name, fk.name
                    )));
                }
                tables.push(child.name.clone());
            }
            i += 1;
        }
        self.ensure_txn()?;
        for t in &tables {
            let id = schema.table(t).map(|t| t.id).expect("checked above");
            self.txn.as_mut().expect("ensured").lock_relation(id, true)?;
        }
        // Referencing tables first, so no row is left referencing a deleted one.
        for t in tables.iter().rev() {
            let p = self.prepare(&format!("DELETE FROM \"{}\"", t.replace('"', "\"\"")), &[])?;
            // (the DELETE's own referential actions see the referencing tables emptied too)
            loop {
                let plan = self.plan_of(&p)?;
                match self.run_plan(&plan, &[], &[], &p.sql) {
                    Err(ExecError::Interrupted(crate::sql::exec::Interrupt::Replan)) => continue,
                    r => {
                        r.map_err(ExecError::into_sql_error)?;
                        break;
                    }
                }
            }
        }
        if restart_identity {
            for t in &tables {
                let id = schema.table(t).map(|t| t.id).expect("checked above");
                for seq in
                    schema.sequences.values().filter(|s| s.owned_by.is_some_and(|(o, _)| o == id))
                {
                    seq.restart(seq.start);
                }
            }
        }
        if !self.in_block
            && let Some(txn) = self.txn.take()
        {
            self.commit_txn(txn)?;
        }
        Ok(())
    }

    /// Commits with the session's synchronous_commit setting (and its schema changes).
    pub(super) fn commit_txn(&mut self, txn: Transaction) -> Result<(), SqlError> {
        let committed = self.commit_with_ddl(txn);
        self.transaction_ended(committed.is_ok());
        committed
    }
}
