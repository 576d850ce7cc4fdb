//! `SELECT DISTINCT ON (exprs)`: the expressions (input expressions, output column names or
//! positions, as ORDER BY takes them), and PostgreSQL's rule that an ORDER BY must begin
//! with them (42P10 otherwise): the kept row of each distinct value is then the first in
//! ORDER BY order.

use sqlparser::ast::{Expr, Value as AstValue};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope, ident_name};
use crate::sql::plan::{BExpr, SortKey};
use crate::sql::types::SqlType;

impl Binder<'_> {
    /// Binds DISTINCT ON's expressions over the input row and checks them against ORDER BY.
    pub(super) fn distinct_on(
        &mut self,
        exprs: &[Expr],
        scope: &Scope,
        projection: &[BExpr],
        columns: &[(String, SqlType)],
        order: &[SortKey],
    ) -> Result<Vec<BExpr>, SqlError> {
        let mut bound = Vec::with_capacity(exprs.len());
        for e in exprs {
            let b = match e {
                Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => {
                    let n: usize = v.value.to_string().parse().unwrap_or(0);
                    projection.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                        SqlError::new(
                            SqlState::InvalidColumnReference,
                            format!("SELECT DISTINCT ON position {n} is not in select list"),
                        )
                    })?
                }
                Expr::Identifier(id)
                    if !scope.cols.iter().any(|c| c.name == ident_name(id))
                        && columns.iter().any(|(c, _)| *c == ident_name(id)) =>
                {
                    let n = ident_name(id);
                    let i = columns.iter().position(|(c, _)| *c == n).unwrap_or(0);
                    projection[i].clone()
                }
                e => self.expr(e, scope, None)?,
            };
            bound.push(b);
        }
        if !order.is_empty() {
            let mut covered = vec![false; bound.len()];
            for k in order {
                let hits: Vec<usize> = (0..bound.len()).filter(|&i| bound[i] == k.expr).collect();
                if hits.is_empty() {
                    break;
                }
                for i in hits {
                    covered[i] = true;
                }
            }
            if covered.iter().any(|c| !c) {
                return Err(SqlError::new(
                    SqlState::InvalidColumnReference,
                    "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                ));
            }
        }
        Ok(bound)
    }
}
