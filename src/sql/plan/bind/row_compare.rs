//! Row constructors in comparisons: `(a, b) = (1, 2)`, `(a, b) <> (x, y)`, keyset
//! pagination's `(created, id) > ($1, $2)`, and `(a, b) IN ((1, 'x'), (2, 'y'))`. Each is
//! rewritten to the pairwise comparisons PostgreSQL defines, then bound as written:
//! `=` is the AND of the pairs' equalities, `<>` the OR of their inequalities, and `<`,
//! `<=`, `>`, `>=` compare left to right (`a1 < b1 OR (a1 = b1 AND a2 < b2)`, the last pair
//! with the operator itself), so NULLs answer as PostgreSQL's row comparison does. Rows of
//! different lengths are 42601; a row with a subquery (`(a, b) IN (SELECT ...)`) is refused
//! (0A000).

use sqlparser::ast::{self, BinaryOperator as B, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::BExpr;
use crate::sql::plan::bind::{Binder, Scope};

/// The elements of a row constructor (`(a, b)` or `ROW(a, b)`), through parentheses.
fn row_items(e: &Expr) -> Option<&[Expr]> {
    match e {
        Expr::Tuple(items) => Some(items),
        Expr::Nested(inner) => row_items(inner),
        _ => None,
    }
}

fn binary(left: Expr, op: B, right: Expr) -> Expr {
    Expr::BinaryOp { left: Box::new(left), op, right: Box::new(right) }
}

fn nested(e: Expr) -> Expr {
    Expr::Nested(Box::new(e))
}

/// `l op r` between two rows, as pairwise comparisons.
fn expand(l: &[Expr], op: &B, r: &[Expr]) -> Result<Expr, SqlError> {
    if l.len() != r.len() {
        return Err(SqlError::syntax("unequal number of entries in row expressions"));
    }
    let pairs = l.iter().cloned().zip(r.iter().cloned());
    let mut pairs: Vec<(Expr, Expr)> = pairs.collect();
    let Some((last_l, last_r)) = pairs.pop() else {
        return Err(SqlError::unsupported("a comparison of empty rows"));
    };
    Ok(match op {
        B::Eq | B::NotEq => {
            let join = if *op == B::Eq { B::And } else { B::Or };
            let mut all = binary(last_l, op.clone(), last_r);
            for (a, b) in pairs.into_iter().rev() {
                all = binary(binary(a, op.clone(), b), join.clone(), nested(all));
            }
            all
        }
        B::Lt | B::LtEq | B::Gt | B::GtEq => {
            let strict = match op {
                B::Lt | B::LtEq => B::Lt,
                _ => B::Gt,
            };
            let mut all = binary(last_l, op.clone(), last_r);
            for (a, b) in pairs.into_iter().rev() {
                let equal_then = binary(binary(a.clone(), B::Eq, b.clone()), B::And, nested(all));
                all = binary(binary(a, strict.clone(), b), B::Or, nested(equal_then));
            }
            all
        }
        other => {
            return Err(SqlError::new(
                SqlState::DatatypeMismatch,
                format!("row comparison operator {other} must yield type boolean"),
            ));
        }
    })
}

impl Binder<'_> {
    /// `row op row`, if both sides are row constructors.
    pub(super) fn row_comparison(
        &mut self,
        a: &Expr,
        op: &B,
        b: &Expr,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let (Some(l), Some(r)) = (row_items(a), row_items(b)) else { return Ok(None) };
        let expanded = expand(l, op, r)?;
        self.expr(&nested(expanded), scope, None).map(Some)
    }

    /// `row [NOT] IN (row, ...)`, if the subject is a row constructor.
    pub(super) fn row_in_list(
        &mut self,
        subject: &Expr,
        list: &[Expr],
        negated: bool,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let Some(l) = row_items(subject) else { return Ok(None) };
        let mut any: Option<Expr> = None;
        for item in list {
            let r = row_items(item).ok_or_else(|| {
                SqlError::new(
                    SqlState::DatatypeMismatch,
                    "IN compares a row with something other than a row",
                )
            })?;
            let eq = nested(expand(l, &B::Eq, r)?);
            any = Some(match any {
                None => eq,
                Some(e) => binary(e, B::Or, eq),
            });
        }
        let Some(any) = any else { return Ok(None) };
        let e = if negated {
            Expr::UnaryOp { op: ast::UnaryOperator::Not, expr: Box::new(nested(any)) }
        } else {
            nested(any)
        };
        self.expr(&e, scope, None).map(Some)
    }
}
