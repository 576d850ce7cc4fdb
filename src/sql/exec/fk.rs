//! Foreign keys, enforced: every row written to a referencing table must name a row of the
//! referenced table (23503), and a referenced row that goes, or whose key changes, takes its
//! FOREIGN KEY's action (NO ACTION / RESTRICT: 23503 while referenced; CASCADE; SET NULL;
//! SET DEFAULT).
//!
//! How it holds under concurrency, at every level: a referencing row locks its parent row
//! FOR KEY SHARE (as PostgreSQL does), so a concurrent DELETE or key change of the parent
//! (which takes FOR UPDATE) waits for the child's transaction, and the child's lock waits for
//! a delete in flight; at Repeatable Read and above a parent changed since the snapshot is a
//! serialization failure (the core's lock rule). The referenced side looks for children as
//! they stand now (committed or this transaction's own), not as its snapshot saw them; a child
//! its snapshot cannot see is a serialization failure (40001) rather than an error hidden.
//!
//! Invariants: work is queued while a statement writes and settled when it ends (so a
//! statement may insert a parent and its children in any order); a deferred constraint's
//! checks wait for the commit (`Session::commit` settles them first); actions (CASCADE, SET
//! NULL, SET DEFAULT) run at the statement's end even when the constraint is deferrable.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::{ExecCtx, ExecError};
use crate::sql::schema::{FkAction, ForeignKey, IndexConstraint, TableSchema};
use crate::txn::LockOutcome;
use crate::types::{Key, Row, Value};

/// A referential check or action still to do.
#[derive(Clone, Debug)]
pub(crate) enum FkWork {
    /// A row of `child` references `key` through `fk`: a parent row must have it.
    Reference { child: Arc<TableSchema>, fk: ForeignKey, key: Vec<Value> },
    /// A row of `parent` went (`new_row` None) or changed (`new_row`): the foreign keys
    /// referencing it act.
    Referenced { parent: Arc<TableSchema>, old_row: Row, new_row: Option<Row> },
    /// NO ACTION, deferred: the key `key` of `parent` left; at the check no row of `child`
    /// may reference it unless a parent row has it again.
    StillReferenced {
        parent: Arc<TableSchema>,
        child: Arc<TableSchema>,
        fk: ForeignKey,
        key: Vec<Value>,
    },
}

impl FkWork {
    /// The constraint a check belongs to (actions have none: they are never deferred).
    pub(crate) fn constraint(&self) -> Option<&ForeignKey> {
        match self {
            FkWork::Reference { fk, .. } | FkWork::StillReferenced { fk, .. } => Some(fk),
            FkWork::Referenced { .. } => None,
        }
    }
}

/// `SET CONSTRAINTS`: which deferrable constraints are deferred now.
#[derive(Clone, Debug, Default)]
pub struct ConstraintModes {
    /// `SET CONSTRAINTS ALL DEFERRED | IMMEDIATE`.
    pub all: Option<bool>,
    /// `SET CONSTRAINTS name, ... DEFERRED | IMMEDIATE` (by constraint name).
    pub named: HashMap<String, bool>,
}

impl ConstraintModes {
    /// Whether a constraint's checks wait for the commit now.
    pub fn deferred(&self, fk: &ForeignKey) -> bool {
        if !fk.deferrable {
            return false;
        }
        if let Some(&d) = self.named.get(&fk.name) {
            return d;
        }
        self.all.unwrap_or(fk.initially_deferred)
    }
}

impl ExecCtx<'_> {
    /// Queues the checks a row written to `table` needs (its references).
    pub(crate) fn note_references(&mut self, table: &Arc<TableSchema>, row: &Row) {
        for fk in &table.foreign_keys {
            let key: Vec<Value> = fk.columns.iter().map(|&c| row[c].clone()).collect();
            if key.contains(&Value::Null) {
                continue; // MATCH SIMPLE: a reference with a NULL references nothing
            }
            self.fk_work.push(FkWork::Reference { child: table.clone(), fk: fk.clone(), key });
        }
    }

    /// Queues the actions of a referenced row that went or changed.
    pub(crate) fn note_referenced(
        &mut self,
        table: &Arc<TableSchema>,
        old_row: Row,
        new_row: Option<Row>,
    ) {
        if self.referenced(table) {
            self.fk_work.push(FkWork::Referenced { parent: table.clone(), old_row, new_row });
        }
    }

    /// Whether any foreign key references `table`.
    pub(crate) fn referenced(&self, table: &TableSchema) -> bool {
        self.schema.as_ref().is_some_and(|s| {
            s.tables.values().any(|t| t.foreign_keys.iter().any(|f| f.parent == table.id))
        })
    }

    /// Settles the statement's referential work: actions and immediate checks now, deferred
    /// checks kept for the commit.
    pub(crate) fn settle_foreign_keys(&mut self) -> Result<(), ExecError> {
        // Referenced-side work first: cascades write rows that queue more work.
        while !self.fk_work.is_empty() {
            let work = std::mem::take(&mut self.fk_work);
            let (referenced, references): (Vec<_>, Vec<_>) =
                work.into_iter().partition(|w| !matches!(w, FkWork::Reference { .. }));
            for w in referenced {
                self.settle(w, false)?;
            }
            for w in references {
                self.settle(w, false)?;
            }
        }
        Ok(())
    }

    /// Runs deferred checks (at COMMIT, or SET CONSTRAINTS ... IMMEDIATE).
    pub(crate) fn settle_deferred(&mut self, work: Vec<FkWork>) -> Result<(), ExecError> {
        for w in work {
            self.settle(w, true)?;
        }
        self.settle_foreign_keys()
    }

    fn settle(&mut self, work: FkWork, now: bool) -> Result<(), ExecError> {
        match work {
            FkWork::Reference { child, fk, key } => {
                if !now && self.constraints.deferred(&fk) {
                    self.deferred_fk.push(FkWork::Reference { child, fk, key });
                    return Ok(());
                }
                let Some(parent) = self.table_by_id(fk.parent) else {
                    return Ok(()); // the constraint went with its table
                };
                // A missing parent matters only if a child row still has the key: the row
                // that queued this check may have been deleted or changed since (a deferred
                // check runs at COMMIT), as PostgreSQL skips a row version no longer live.
                if !self.parent_exists(&parent, &fk, &key)?
                    && self.first_child(&child, &fk, &key)?.is_some()
                {
                    return Err(fk_violation(&child, &parent, &fk, &key).into());
                }
                Ok(())
            }
            FkWork::Referenced { parent, old_row, new_row } => {
                let Some(schema) = self.schema.clone() else { return Ok(()) };
                for (child, fk) in schema.referencing(parent.id) {
                    let old_key: Vec<Value> =
                        fk.parent_columns.iter().map(|&c| old_row[c].clone()).collect();
                    if old_key.contains(&Value::Null) {
                        continue;
                    }
                    let new_key: Option<Vec<Value>> = new_row
                        .as_ref()
                        .map(|r| fk.parent_columns.iter().map(|&c| r[c].clone()).collect());
                    if new_key.as_ref() == Some(&old_key) {
                        continue;
                    }
                    let action = if new_row.is_some() { fk.on_update } else { fk.on_delete };
                    match action {
                        FkAction::NoAction => {
                            let w = FkWork::StillReferenced {
                                parent: parent.clone(),
                                child: child.clone(),
                                fk: fk.clone(),
                                key: old_key,
                            };
                            if self.constraints.deferred(&fk) {
                                self.deferred_fk.push(w);
                            } else {
                                self.settle(w, true)?;
                            }
                        }
                        FkAction::Restrict => {
                            if let Some((_, _, seen)) = self.first_child(&child, &fk, &old_key)? {
                                let seen = seen || !self.serializable()?;
                                return Err(still_referenced(&parent, &child, &fk, &old_key, seen));
                            }
                        }
                        FkAction::Cascade => {
                            for (key, row, _) in self.children(&child, &fk, &old_key)? {
                                match &new_key {
                                    None => {
                                        if self.txn()?.delete(child.id, &key)? {
                                            self.note_referenced(&child, row, None);
                                        }
                                    }
                                    Some(new_key) => {
                                        let mut new = row.clone();
                                        for (i, &c) in fk.columns.iter().enumerate() {
                                            new[c] = new_key[i].clone();
                                        }
                                        self.rewrite_child(&child, &key, row, new)?;
                                    }
                                }
                            }
                        }
                        FkAction::SetNull | FkAction::SetDefault => {
                            let defaults = if action == FkAction::SetDefault {
                                self.column_defaults(&child, &fk)?
                            } else {
                                vec![Value::Null; fk.columns.len()]
                            };
                            for (key, row, _) in self.children(&child, &fk, &old_key)? {
                                let mut new = row.clone();
                                for (i, &c) in fk.columns.iter().enumerate() {
                                    new[c] = defaults[i].clone();
                                }
                                self.rewrite_child(&child, &key, row, new)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            FkWork::StillReferenced { parent, child, fk, key } => {
                // NO ACTION: fine if a parent row has the key again by now.
                if self.parent_row(&parent, &fk, &key, false)?.is_some() {
                    return Ok(());
                }
                if let Some((_, _, seen)) = self.first_child(&child, &fk, &key)? {
                    let seen = seen || !self.serializable()?;
                    return Err(still_referenced(&parent, &child, &fk, &key, seen));
                }
                Ok(())
            }
        }
    }

    /// Writes a referencing row whose reference an action changed; its own references and
    /// the tables referencing it follow.
    fn rewrite_child(
        &mut self,
        child: &Arc<TableSchema>,
        key: &Key,
        old: Row,
        new: Row,
    ) -> Result<(), ExecError> {
        let written = new.clone();
        self.txn()?.update(child.id, key, |_| Some(written))?;
        self.note_references(child, &new);
        self.note_referenced(child, old, Some(new));
        Ok(())
    }

    fn column_defaults(
        &mut self,
        child: &TableSchema,
        fk: &ForeignKey,
    ) -> Result<Vec<Value>, ExecError> {
        let schema = self.schema.clone().unwrap_or_default();
        let mut binder = crate::sql::plan::Binder::new(&schema, vec![]);
        let mut out = Vec::new();
        for &c in &fk.columns {
            let col = &child.columns[c];
            out.push(match &col.default {
                Some(d) => {
                    let b = binder.expr(d, &Default::default(), Some(col.ty))?;
                    let b = binder.coerce(b, col.ty)?;
                    b.eval(&[], self)?
                }
                None => Value::Null,
            });
        }
        Ok(out)
    }

    /// Whether the transaction reads one snapshot throughout (Repeatable Read, Serializable).
    /// Whether the transaction is Serializable: a referencing row committed after its
    /// snapshot is then a serialization failure; below, 23503 names it (PostgreSQL's
    /// Repeatable Read checks with the latest snapshot).
    fn serializable(&mut self) -> Result<bool, ExecError> {
        Ok(self.txn()?.options().level == crate::IsolationLevel::Serializable)
    }

    fn table_by_id(&self, id: crate::catalog::TableId) -> Option<Arc<TableSchema>> {
        self.schema.as_ref().and_then(|s| s.table_by_id(id).cloned())
    }

    /// Whether a parent row has `key` (in the FOREIGN KEY's column order), locking it FOR
    /// KEY SHARE.
    fn parent_exists(
        &mut self,
        parent: &TableSchema,
        fk: &ForeignKey,
        key: &[Value],
    ) -> Result<bool, ExecError> {
        Ok(self.parent_row(parent, fk, key, true)?.is_some())
    }

    /// The primary key of the parent row with `key`, if any (locked FOR KEY SHARE when
    /// `lock`).
    fn parent_row(
        &mut self,
        parent: &TableSchema,
        fk: &ForeignKey,
        key: &[Value],
        lock: bool,
    ) -> Result<Option<Key>, ExecError> {
        let by_primary_key = !parent.hidden_key
            && parent.primary_key.len() == fk.parent_columns.len()
            && parent.primary_key.iter().all(|p| fk.parent_columns.contains(p));
        let candidates: Vec<Key> = if by_primary_key {
            let pk: Key = parent
                .primary_key
                .iter()
                .map(|p| {
                    key[fk.parent_columns.iter().position(|c| c == p).expect("a key column")]
                        .clone()
                })
                .collect();
            vec![pk]
        } else {
            let index = parent
                .indexes
                .iter()
                .find(|i| {
                    i.unique
                        && i.columns.len() == fk.parent_columns.len()
                        && i.columns.iter().all(|c| fk.parent_columns.contains(c))
                })
                .or_else(|| {
                    parent
                        .indexes
                        .iter()
                        .find(|i| i.constraint == Some(IndexConstraint::PrimaryKey))
                });
            match index {
                Some(index) => {
                    let ikey: Key = index
                        .columns
                        .iter()
                        .map(|p| {
                            key[fk.parent_columns.iter().position(|c| c == p).unwrap_or(0)].clone()
                        })
                        .collect();
                    let range =
                        (std::ops::Bound::Included(ikey.clone()), std::ops::Bound::Included(ikey));
                    let txn = self.txn()?;
                    let rows = if lock {
                        txn.scan_index_committed(index.id, range)?
                    } else {
                        txn.scan_index(index.id, range)?
                    };
                    rows.into_iter().map(|(pk, _)| pk).collect()
                }
                None => {
                    let rows = self.txn()?.scan(
                        parent.id,
                        (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
                    )?;
                    rows.into_iter()
                        .filter(|(_, r)| {
                            fk.parent_columns.iter().zip(key).all(|(&c, v)| r.get(c) == Some(v))
                        })
                        .map(|(k, _)| k)
                        .collect()
                }
            }
        };
        for pk in candidates {
            if !lock {
                let rows = self.txn()?.scan_current_marked(parent.id)?;
                if rows.iter().any(|(k, r, _)| {
                    *k == pk && fk.parent_columns.iter().zip(key).all(|(&c, v)| r.get(c) == Some(v))
                }) {
                    return Ok(Some(pk));
                }
                continue;
            }
            match self.txn()?.lock_referenced(parent.id, &pk)? {
                LockOutcome::Locked(row) => {
                    let row = parent.pad_row(row);
                    if fk.parent_columns.iter().zip(key).all(|(&c, v)| row.get(c) == Some(v)) {
                        return Ok(Some(pk));
                    }
                }
                LockOutcome::NotFound | LockOutcome::Skipped => {}
            }
        }
        Ok(None)
    }

    /// The rows of `child` that reference `key` through `fk`, as they stand now, with
    /// whether the snapshot sees each.
    fn children(
        &mut self,
        child: &TableSchema,
        fk: &ForeignKey,
        key: &[Value],
    ) -> Result<Vec<(Key, Row, bool)>, ExecError> {
        let rows = self.txn()?.scan_current_marked(child.id)?;
        Ok(rows
            .into_iter()
            .map(|(k, r, seen)| (k, child.pad_row(r), seen))
            .filter(|(_, r, _)| fk.columns.iter().zip(key).all(|(&c, v)| &r[c] == v))
            .collect())
    }

    fn first_child(
        &mut self,
        child: &TableSchema,
        fk: &ForeignKey,
        key: &[Value],
    ) -> Result<Option<(Key, Row, bool)>, ExecError> {
        Ok(self.children(child, fk, key)?.into_iter().next())
    }
}

/// The error for a referenced key that is still referenced: 23503, or, when the referencing
/// row is one a Serializable transaction's snapshot cannot see (a row committed since), a
/// serialization failure.
fn still_referenced(
    parent: &TableSchema,
    child: &TableSchema,
    fk: &ForeignKey,
    key: &[Value],
    seen_by_snapshot: bool,
) -> ExecError {
    if !seen_by_snapshot {
        return SqlError::new(
            SqlState::SerializationFailure,
            "could not serialize access due to concurrent update",
        )
        .with_detail(format!(
            "A row of \"{}\" referencing {}({})=({}) was committed after this transaction's snapshot.",
            child.name,
            parent.name,
            column_list(parent, &fk.parent_columns),
            value_list(key)
        ))
        .into();
    }
    SqlError::new(
        SqlState::ForeignKeyViolation,
        format!(
            "update or delete on table \"{}\" violates foreign key constraint \"{}\" on table \"{}\"",
            parent.name, fk.name, child.name
        ),
    )
    .with_detail(format!(
        "Key ({})=({}) is still referenced from table \"{}\".",
        column_list(parent, &fk.parent_columns),
        value_list(key),
        child.name
    ))
    .on_table(&child.name, None, Some(&fk.name))
    .into()
}

pub(crate) fn column_list(table: &TableSchema, positions: &[usize]) -> String {
    positions.iter().map(|&p| table.columns[p].name.as_str()).collect::<Vec<_>>().join(", ")
}

pub(crate) fn value_list(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| match v {
            Value::Null => "null".to_string(),
            Value::Text(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn visible_values(table: &TableSchema, row: &Row) -> Vec<Value> {
    table.visible().map(|(i, _)| row[i].clone()).collect()
}

/// The 23503 error for a referencing key with no parent row.
pub(crate) fn fk_violation(
    table: &TableSchema,
    parent: &TableSchema,
    fk: &ForeignKey,
    key: &[Value],
) -> SqlError {
    SqlError::new(
        SqlState::ForeignKeyViolation,
        format!(
            "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
            table.name, fk.name
        ),
    )
    .with_detail(format!(
        "Key ({})=({}) is not present in table \"{}\".",
        column_list(table, &fk.columns),
        value_list(key),
        parent.name
    ))
    .on_table(&table.name, None, Some(&fk.name))
}
