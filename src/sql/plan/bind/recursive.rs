//! `WITH RECURSIVE` where the answer is known to be empty without evaluating the recursion:
//! the non-recursive term inner-joins a catalog isola always leaves empty (pg_dump's query for
//! materialized views' dependencies reads `pg_rewrite`, which isola's views, bound from their
//! text, leave empty). Then the
//! working table starts empty, the recursive term (which inner-joins the CTE) adds nothing, and
//! the CTE is its non-recursive term; the query is bound with that in the CTE's place.
//!
//! Invariant: the rewrite is applied only when it is provably the same answer: one recursive
//! CTE `anchor UNION [ALL] step`, the anchor a plain select of columns whose FROM items join
//! (inner joins only) an always-empty catalog, the step inner-joining the CTE, and the main
//! query reading the CTE as its one FROM item. Any other WITH is bound by `cte.rs`.

use sqlparser::ast::{self, Expr, SelectItem, SetExpr, SetOperator, TableFactor, TableWithJoins};

use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope, ident_name, object_name, object_schema};
use crate::sql::plan::{SelectPlan, Unparsed};
use crate::sql::system::SystemView;

impl Binder<'_> {
    /// The plan of `q` when it is a recursive query whose answer is its empty anchor's;
    /// `None` otherwise.
    pub(super) fn empty_recursive_query(
        &mut self,
        q: &ast::Query,
        parent: Option<Scope>,
        lock: Option<Unparsed>,
    ) -> Result<Option<SelectPlan>, SqlError> {
        let Some(with) = &q.with else { return Ok(None) };
        let [cte] = with.cte_tables.as_slice() else { return Ok(None) };
        let SetExpr::SetOperation { op: SetOperator::Union, left, right, .. } = &*cte.query.body
        else {
            return Ok(None);
        };
        let cte_name = ident_name(&cte.alias.name);
        if !with.recursive || !anchor_is_empty(left) || !step_joins(right, &cte_name) {
            return Ok(None);
        }
        let SetExpr::Select(select) = &*q.body else { return Ok(None) };
        let [TableWithJoins { relation, joins }] = select.from.as_slice() else {
            return Ok(None);
        };
        let TableFactor::Table { name, alias, args: None, .. } = relation else {
            return Ok(None);
        };
        if !joins.is_empty() || name.0.len() != 1 || object_name(name) != cte_name {
            return Ok(None);
        }
        let anchor = ast::Query {
            with: None,
            body: left.clone(),
            order_by: None,
            limit_clause: None,
            fetch: None,
            locks: vec![],
            for_clause: None,
            settings: None,
            format_clause: None,
            pipe_operators: vec![],
        };
        let mut alias = alias.clone().unwrap_or_else(|| cte.alias.clone());
        if alias.columns.is_empty() {
            alias.columns.clone_from(&cte.alias.columns);
        }
        let mut select = select.clone();
        select.from[0].relation = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(anchor),
            alias: Some(alias),
            sample: None,
        };
        let mut rewritten = q.clone();
        rewritten.with = None;
        *rewritten.body = SetExpr::Select(select);
        self.query(&rewritten, parent, lock).map(Some)
    }
}

/// Whether the join's rows are only those where both sides match (so an empty side empties it).
fn inner(op: &ast::JoinOperator) -> bool {
    use ast::JoinOperator as J;
    matches!(op, J::Join(_) | J::Inner(_) | J::CrossJoin(_))
}

/// Whether a FROM item is a catalog isola never fills.
fn always_empty(factor: &TableFactor) -> bool {
    let TableFactor::Table { name, args: None, .. } = factor else { return false };
    SystemView::lookup(object_schema(name).as_deref(), &object_name(name))
        .is_some_and(SystemView::always_empty)
}

/// Whether a select can have no rows, whatever the data: its select list is plain columns (no
/// aggregate that would answer one row over none), it neither groups nor has HAVING, and one
/// of its FROM items inner-joins an always-empty catalog.
fn anchor_is_empty(body: &SetExpr) -> bool {
    let SetExpr::Select(s) = body else { return false };
    let plain = s.projection.iter().all(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        }
        _ => false,
    });
    let grouped = !matches!(&s.group_by, ast::GroupByExpr::Expressions(e, _) if e.is_empty());
    plain
        && !grouped
        && s.having.is_none()
        && s.from.iter().any(|item| {
            item.joins.iter().all(|j| inner(&j.join_operator))
                && (always_empty(&item.relation)
                    || item.joins.iter().any(|j| always_empty(&j.relation)))
        })
}

/// Whether the recursive term reads the CTE `name` through inner joins only (so an empty
/// working table gives it no rows).
fn step_joins(body: &SetExpr, name: &str) -> bool {
    let SetExpr::Select(s) = body else { return false };
    let is_cte = |f: &TableFactor| matches!(f, TableFactor::Table { name: n, args: None, .. } if n.0.len() == 1 && object_name(n) == name);
    s.from.iter().any(|item| {
        item.joins.iter().all(|j| inner(&j.join_operator))
            && (is_cte(&item.relation) || item.joins.iter().any(|j| is_cte(&j.relation)))
    })
}
