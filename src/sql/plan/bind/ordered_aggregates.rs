//! `agg(x ORDER BY k [ASC | DESC], ...)`: the ORDER BY keys of an aggregate call (what
//! SQLAlchemy's reflection sends: `array_agg(attname ORDER BY ord)`).
//!
//! Invariant: the keys are bound after the call's own arguments and appended to them; the
//! call's `order_by` says how many there are and which are descending. Only the order-sensitive
//! aggregates (`array_agg`, `string_agg`) sort by them; for the others the order is immaterial.

use sqlparser::ast;

use crate::sql::error::SqlError;
use crate::sql::plan::BExpr;
use crate::sql::plan::bind::{Binder, Scope};

impl Binder<'_> {
    /// Binds `f`'s `ORDER BY` keys onto `args`; their directions (true: DESC).
    pub(super) fn aggregate_order_by(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        args: &mut Vec<BExpr>,
    ) -> Result<Vec<bool>, SqlError> {
        let ast::FunctionArguments::List(list) = &f.args else { return Ok(vec![]) };
        let mut order = Vec::new();
        for clause in &list.clauses {
            let ast::FunctionArgumentClause::OrderBy(keys) = clause else {
                return Err(SqlError::unsupported(format!("aggregate clause {clause}")));
            };
            for key in keys {
                if key.options.nulls_first.is_some() || key.with_fill.is_some() {
                    return Err(SqlError::unsupported("NULLS FIRST / LAST in an aggregate"));
                }
                let descending = match &key.options.sort {
                    None | Some(ast::OrderBySort::Asc) => false,
                    Some(ast::OrderBySort::Desc) => true,
                    Some(other) => {
                        return Err(SqlError::unsupported(format!("aggregate ORDER BY {other:?}")));
                    }
                };
                args.push(self.expr(&key.expr, scope, None)?);
                order.push(descending);
            }
        }
        Ok(order)
    }
}
