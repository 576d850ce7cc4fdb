//! `UPDATE ... FROM` / `DELETE ... USING` at run time.
//!
//! The FROM items' rows are read once, in the statement's snapshot. Each candidate target row
//! is joined to the first FROM row that passes the WHERE clause (PostgreSQL takes an
//! arbitrary one; a target row is changed at most once), then changed as a plain UPDATE or
//! DELETE changes it: the core locks it (waiting for a concurrent writer) and hands back its
//! newest version; at Read Committed a newer version is re-checked against the WHERE clause
//! with the same FROM row (PostgreSQL's EvalPlanQual), at Repeatable Read and Serializable
//! the core refuses it (40001).

use crate::sql::exec::{ExecCtx, ExecError};
use crate::sql::plan::{ModifyFrom, ModifyPlan};
use crate::sql::types::cast;
use crate::txn::{Modified, WaitPolicy};
use crate::types::Row;

impl ExecCtx<'_> {
    pub(super) fn modify_from(
        &mut self,
        plan: &ModifyPlan,
        from: &ModifyFrom,
    ) -> Result<(usize, Vec<Row>), ExecError> {
        let table = &plan.table;
        let others = self.source_rows(&from.source)?;
        let candidates = self.table_rows(table, &plan.access)?;
        let mut count = 0;
        let mut returned = Vec::new();
        let referenced = self.referenced(table);
        let filter = plan.filter.as_ref();
        for (key, row) in candidates {
            let mut matched: Option<&Row> = None;
            for other in &others {
                self.tick()?;
                let mut joined = row.clone();
                joined.extend_from_slice(other);
                if match filter {
                    Some(f) => f.holds(&joined, self)?,
                    None => true,
                } {
                    matched = Some(other);
                    break;
                }
            }
            let Some(other) = matched else { continue };
            let level_rc = !self.txn()?.options().level.transaction_snapshot();
            let outcome =
                self.change_row(table, &plan.rules, &key, WaitPolicy::Wait, |ctx, newest| {
                    let mut joined = newest.clone();
                    joined.extend_from_slice(other);
                    if level_rc
                        && *newest != row
                        && let Some(f) = filter
                        && !f.holds(&joined, ctx)?
                    {
                        return Ok(None);
                    }
                    match &plan.assignments {
                        None => Ok(Some(None)),
                        Some(sets) => {
                            let mut new = newest.clone();
                            for (col, e) in sets {
                                new[*col] = cast(
                                    e.eval(&joined, ctx)?,
                                    e.ty(),
                                    table.columns[*col].ty,
                                    false,
                                )?;
                            }
                            Ok(Some(Some(new)))
                        }
                    }
                })?;
            let written = match outcome {
                Modified::Updated(new) => {
                    let new = table.pad_row(new);
                    if referenced {
                        self.note_referenced(table, row, Some(new.clone()));
                    }
                    Some(new)
                }
                Modified::Deleted => {
                    if referenced {
                        self.note_referenced(table, row.clone(), None);
                    }
                    Some(row)
                }
                _ => None,
            };
            if let Some(mut row) = written {
                count += 1;
                row.extend_from_slice(other);
                self.collect_returning(&plan.returning, &row, &mut returned)?;
            }
        }
        Ok((count, returned))
    }
}
