//! `UPDATE ... FROM` and `DELETE ... USING`: the target table joined to other FROM items.
//!
//! WHERE, SET and RETURNING are bound over the row `target columns ++ FROM items' columns`
//! ([`ModifyFrom`]); the target's access path is chosen from the WHERE conjuncts that fix
//! its columns by values not read from the row, as for a plain UPDATE. The executor
//! (`exec/modify_from.rs`) keeps the plain UPDATE's locking and re-checking.

use sqlparser::ast::{self, Expr, SelectItem, TableFactor};

use crate::sql::error::SqlError;
use crate::sql::plan::access::choose_access;
use crate::sql::plan::bind::{Binder, Scope};
use crate::sql::plan::{Access, ModifyFrom, ModifyPlan, Source};
use crate::sql::types::SqlType;

impl Binder<'_> {
    /// The plan of an UPDATE (with `assignments`) or DELETE of `target` joined to `from`.
    pub(super) fn modify_from_plan(
        &mut self,
        target: &TableFactor,
        from: &[ast::TableWithJoins],
        selection: Option<&Expr>,
        assignments: Option<&[ast::Assignment]>,
        returning: Option<&[SelectItem]>,
    ) -> Result<ModifyPlan, SqlError> {
        let (table, alias) = self.target_table(target)?;
        let (source, from_scope) = self.bind_from_list(from, &None)?;
        let scope = Scope::of_table(&table, &alias).beside(from_scope);
        let filter = match selection {
            Some(w) => {
                let f = self.expr(w, &scope, Some(SqlType::Bool))?;
                if !matches!(f.ty(), SqlType::Bool | SqlType::Unknown) {
                    return Err(SqlError::datatype_mismatch(format!(
                        "argument of WHERE must be type boolean, not type {}",
                        f.ty().name()
                    )));
                }
                Some(f)
            }
            None => None,
        };
        let assignments = match assignments {
            Some(list) => {
                let mut sets = Vec::new();
                for a in list {
                    sets.extend(self.assignment(a, &table, &scope)?);
                }
                Some(sets)
            }
            None => None,
        };
        let mut target_source = Source::Table { table: table.clone(), access: Access::Scan, alias };
        if let Some(f) = &filter {
            choose_access(&mut target_source, f, 0);
        }
        let Source::Table { access, .. } = target_source else {
            return Err(SqlError::unsupported("this target"));
        };
        let rules = self.row_rules(&table)?;
        let returning = match returning {
            Some(items) => Some(self.returning(items, &scope)?),
            None => None,
        };
        let referenced = !self.schema.referencing(table.id).is_empty();
        self.use_related_tables(&table);
        Ok(ModifyPlan {
            table,
            access,
            filter,
            assignments,
            rules,
            returning,
            referenced,
            from: Some(ModifyFrom { source }),
        })
    }
}
