//! Row constructors in comparisons: `(a, b) = (1, 2)`, `(a, b) <> (x, y)`, keyset
//! pagination's `(created, id) > ($1, $2)`, and `(a, b) IN ((1, 'x'), (2, 'y'))`. Each is
//! rewritten to the pairwise comparisons PostgreSQL defines, then bound as written:
//! `=` is the AND of the pairs' equalities, `<>` the OR of their inequalities, and `<`,
//! `<=`, `>`, `>=` compare left to right (`a1 < b1 OR (a1 = b1 AND a2 < b2)`, the last pair
//! with the operator itself), so NULLs answer as PostgreSQL's row comparison does; `IS
//! [NOT] DISTINCT FROM` is the OR of the pairs' (never NULL). Rows of
//! different lengths are 42601. `(a, b) [NOT] IN (SELECT x, y ...)` (and `op ANY | ALL`)
//! binds each item against its column of the subquery (a subquery with fewer or more
//! columns is 42601, items that cannot be compared 42883); the executor compares row by row
//! with the same NULL rules. `(a, b) op (SELECT x, y)` compares the row with the one row the
//! subquery returns (none: NULL; more: 21000), as the executor's row comparison does.

use std::sync::Arc;

use sqlparser::ast::{self, BinaryOperator as B, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope};
use crate::sql::plan::{BExpr, BinOp, SelectPlan};
use crate::sql::types::SqlType;

/// The elements of a row constructor (`(a, b)` or `ROW(a, b)`), through parentheses.
fn row_items(e: &Expr) -> Option<Vec<Expr>> {
    match e {
        Expr::Tuple(items) => Some(items.clone()),
        Expr::Nested(inner) => row_items(inner),
        Expr::Function(f) if super::object_name(&f.name) == "row" => match &f.args {
            ast::FunctionArguments::List(list) if list.clauses.is_empty() => list
                .args
                .iter()
                .map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        },
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
        let Some(l) = row_items(a) else { return Ok(None) };
        if let Expr::Subquery(q) = b {
            return self.row_against_subquery(&l, op, q, scope).map(Some);
        }
        let Some(r) = row_items(b) else { return Ok(None) };
        let expanded = expand(&l, op, &r)?;
        self.expr(&nested(expanded), scope, None).map(Some)
    }

    /// `row op (SELECT ...)`: the row compared with the one row the subquery returns.
    fn row_against_subquery(
        &mut self,
        items: &[Expr],
        op: &B,
        subquery: &ast::Query,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let op = match op {
            B::Eq => BinOp::Eq,
            B::NotEq => BinOp::NotEq,
            B::Lt => BinOp::Lt,
            B::LtEq => BinOp::LtEq,
            B::Gt => BinOp::Gt,
            B::GtEq => BinOp::GtEq,
            other => {
                return Err(SqlError::new(
                    SqlState::DatatypeMismatch,
                    format!("row comparison operator {other} must yield type boolean"),
                ));
            }
        };
        let mut plan = self.subquery(subquery, scope)?;
        let (exprs, operand_tys) = self.row_operands(items, &mut plan, scope)?;
        Ok(BExpr::RowSubquery { exprs, plan, operand_tys, op })
    }

    /// `row op ANY|ALL (SELECT ...)` (`[NOT] IN` among them), if the subject is a row
    /// constructor.
    pub(super) fn row_quantified(
        &mut self,
        subject: &Expr,
        op: BinOp,
        all: bool,
        subquery: &ast::Query,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let Some(items) = row_items(subject) else { return Ok(None) };
        let mut plan = self.subquery(subquery, scope)?;
        let (exprs, operand_tys) = self.row_operands(&items, &mut plan, scope)?;
        Ok(Some(BExpr::InSubquery { exprs, plan, operand_tys, op, all }))
    }

    /// A row's items bound against a subquery's columns, and the types each pair compares
    /// in; a subquery with fewer or more columns is 42601.
    fn row_operands(
        &mut self,
        items: &[Expr],
        plan: &mut Arc<SelectPlan>,
        scope: &Scope,
    ) -> Result<(Vec<BExpr>, Vec<SqlType>), SqlError> {
        if plan.columns.len() != items.len() {
            let which = if plan.columns.len() < items.len() { "few" } else { "many" };
            return Err(SqlError::syntax(format!("subquery has too {which} columns")));
        }
        let mut exprs = Vec::with_capacity(items.len());
        let mut operand_tys = Vec::with_capacity(items.len());
        let col_tys: Vec<SqlType> = plan.columns.iter().map(|c| c.1).collect();
        for (i, (item, col_ty)) in items.iter().zip(&col_tys).enumerate() {
            let bound = self.expr(item, scope, Some(*col_ty))?;
            let item_ty = bound.ty();
            let column = BExpr::Column { level: 0, index: 0, ty: *col_ty };
            let (bound, _, ty) = self.unify_operands(bound, column).map_err(|e| {
                if e.code == SqlState::UndefinedFunction {
                    SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("operator does not exist: {} = {}", item_ty.name(), col_ty.name()),
                    )
                } else {
                    e
                }
            })?;
            let (bound, ty) = super::char_against_column(bound, plan, i, ty);
            exprs.push(bound);
            operand_tys.push(ty);
        }
        Ok((exprs, operand_tys))
    }

    /// `row IS [NOT] DISTINCT FROM row`, if both sides are row constructors: distinct when a
    /// pair is (never NULL).
    pub(super) fn row_distinct(
        &mut self,
        a: &Expr,
        b: &Expr,
        negated: bool,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let (Some(l), Some(r)) = (row_items(a), row_items(b)) else { return Ok(None) };
        if l.len() != r.len() {
            return Err(SqlError::syntax("unequal number of entries in row expressions"));
        }
        let pairs = l.into_iter().zip(r);
        let distinct = pairs.map(|(x, y)| Expr::IsDistinctFrom(Box::new(x), Box::new(y)));
        self.any_of(distinct.collect(), negated, scope)
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
        let mut equal = Vec::with_capacity(list.len());
        for item in list {
            let r = row_items(item).ok_or_else(|| {
                SqlError::new(
                    SqlState::DatatypeMismatch,
                    "IN compares a row with something other than a row",
                )
            })?;
            equal.push(nested(expand(&l, &B::Eq, &r)?));
        }
        self.any_of(equal, negated, scope)
    }

    /// `a OR b OR ...` (`NOT (...)` when negated), bound; `None` for no parts.
    fn any_of(
        &mut self,
        parts: Vec<Expr>,
        negated: bool,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let Some(any) = parts.into_iter().reduce(|e, part| binary(e, B::Or, part)) else {
            return Ok(None);
        };
        let e = if negated {
            Expr::UnaryOp { op: ast::UnaryOperator::Not, expr: Box::new(nested(any)) }
        } else {
            nested(any)
        };
        self.expr(&e, scope, None).map(Some)
    }
}
