//! WITH queries at run time: a CTE's rows computed once per statement (when it reads no
//! enclosing row), and `WITH RECURSIVE`'s iteration over working tables.
//!
//! Invariant: a recursive CTE's working table holds exactly the rows the previous round
//! added (without UNION ALL: rows not produced before), and the iteration ends when a round
//! adds none; a statement_timeout or cancel ends a recursion that never does.

use std::collections::HashSet;
use std::sync::Arc;

use crate::sql::exec::{ExecCtx, ExecError};
use crate::sql::plan::SelectPlan;
use crate::types::Row;

impl ExecCtx<'_> {
    /// A WITH query's rows (from the statement's cache when it reads no enclosing row).
    pub(super) fn cte_rows(&mut self, plan: &Arc<SelectPlan>) -> Result<Vec<Row>, ExecError> {
        if plan.correlated {
            return self.select(plan);
        }
        Ok(self.subquery_rows(plan, &[])?.as_ref().clone())
    }

    /// `anchor UNION [ALL] step`, the step run over the previous round's rows until it adds
    /// none.
    pub(super) fn recursive_rows(
        &mut self,
        id: usize,
        anchor: &SelectPlan,
        step: &SelectPlan,
        union_all: bool,
    ) -> Result<Vec<Row>, ExecError> {
        let mut seen: HashSet<Row> = HashSet::new();
        let mut result: Vec<Row> = Vec::new();
        for row in self.select(anchor)? {
            if union_all || seen.insert(row.clone()) {
                result.push(row);
            }
        }
        let mut working = result.clone();
        let saved = self.work_tables.remove(&id);
        while !working.is_empty() {
            self.tick()?;
            self.work_tables.insert(id, Arc::new(std::mem::take(&mut working)));
            let produced = self.select(step);
            let produced = match produced {
                Ok(rows) => rows,
                Err(e) => {
                    self.work_tables.remove(&id);
                    return Err(e);
                }
            };
            for row in produced {
                self.tick()?;
                if union_all || seen.insert(row.clone()) {
                    working.push(row);
                }
            }
            result.extend(working.iter().cloned());
        }
        self.work_tables.remove(&id);
        if let Some(rows) = saved {
            self.work_tables.insert(id, rows);
        }
        Ok(result)
    }
}
