//! WITH queries (common table expressions), plain and `RECURSIVE`.
//!
//! Each WITH query is bound once, where it is defined, against the CTEs before it (and the
//! enclosing queries' CTEs); a FROM item naming it reads its plan as [`Source::Cte`], which
//! the executor computes once per statement when it reads no enclosing row (PostgreSQL
//! materializes a WITH query read more than once: both answer the same rows).
//!
//! A recursive CTE is `anchor UNION [ALL] step`, where the step reads the CTE's own name
//! exactly once, at its own query level, as the working table ([`Source::WorkTable`]): the
//! rows the previous round added. Its columns take the anchor's types; a step column of
//! another type is PostgreSQL's 42804. PostgreSQL's refusals of other forms are kept
//! (42P19): the name in the anchor, twice in the step, in a subquery of the step, or a
//! self-reference without the UNION form; ORDER BY / LIMIT in a recursive query are 0A000.
//!
//! Invariant: a CTE that reads an enclosing query's row is only read at the query level it
//! was defined at (0A000 otherwise), so its outer column references mean the same rows.
//! Data-modifying WITH queries are refused (0A000).

use std::sync::Arc;

use sqlparser::ast::{self, SetExpr, SetOperator};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope, ScopeCol, empty_query, ident_name, wrap_derived};
use crate::sql::plan::{BExpr, SelectPlan, Source, Unparsed};
use crate::sql::types::SqlType;

/// A name a WITH clause puts in scope.
#[derive(Clone, Debug)]
pub(crate) struct CteEntry {
    name: String,
    kind: CteKind,
}

#[derive(Clone, Debug)]
enum CteKind {
    /// A bound WITH query, defined at subquery depth `depth`.
    Bound { plan: Arc<SelectPlan>, depth: usize },
    /// A recursive CTE's own name while its non-recursive term is bound.
    Anchor,
    /// A recursive CTE's own name while its recursive term is bound: its working table.
    Working { id: usize, columns: Vec<(String, SqlType)>, depth: usize, refs: usize },
    /// A WITH RECURSIVE query that is not `anchor UNION step`, while it is bound.
    NotUnion,
}

fn recursion_error(msg: String) -> SqlError {
    SqlError::new(SqlState::InvalidRecursion, msg)
}

impl Binder<'_> {
    /// Binds `WITH ... <query>`: the CTEs in order, then the query with them in scope.
    pub(super) fn query_with(
        &mut self,
        q: &ast::Query,
        parent: Option<Scope>,
        lock: Option<Unparsed>,
    ) -> Result<SelectPlan, SqlError> {
        let Some(with) = &q.with else { return self.query(q, parent, lock) };
        let mark = self.ctes.len();
        let result = self.query_with_ctes(q, with, parent, lock);
        self.ctes.truncate(mark);
        result
    }

    fn query_with_ctes(
        &mut self,
        q: &ast::Query,
        with: &ast::With,
        parent: Option<Scope>,
        lock: Option<Unparsed>,
    ) -> Result<SelectPlan, SqlError> {
        let mark = self.ctes.len();
        for cte in &with.cte_tables {
            let name = ident_name(&cte.alias.name);
            if self.ctes[mark..].iter().any(|e| e.name == name) {
                return Err(SqlError::new(
                    SqlState::DuplicateAlias,
                    format!("WITH query name \"{name}\" specified more than once"),
                ));
            }
            let plan = self.bind_cte(cte, &name, with.recursive, &parent)?;
            self.ctes.push(CteEntry {
                name,
                kind: CteKind::Bound { plan: Arc::new(plan), depth: self.depth },
            });
        }
        let mut rest = q.clone();
        rest.with = None;
        self.query(&rest, parent, lock)
    }

    /// Binds one WITH query's body, its columns renamed by its alias list.
    fn bind_cte(
        &mut self,
        cte: &ast::Cte,
        name: &str,
        recursive: bool,
        parent: &Option<Scope>,
    ) -> Result<SelectPlan, SqlError> {
        if matches!(
            &*cte.query.body,
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)
        ) {
            return Err(SqlError::unsupported("data-modifying statements in WITH"));
        }
        let renames: Vec<String> = cte.alias.columns.iter().map(|c| ident_name(&c.name)).collect();
        let mut plan = match (&*cte.query.body, recursive) {
            (
                SetExpr::SetOperation { op: SetOperator::Union, left, right, set_quantifier },
                true,
            ) => {
                let union_all = matches!(set_quantifier, ast::SetQuantifier::All);
                self.bind_recursive(cte, name, left, right, union_all, &renames, parent)?
            }
            (_, true) => {
                self.ctes.push(CteEntry { name: name.to_string(), kind: CteKind::NotUnion });
                let plan = self.cte_body(&cte.query, parent);
                self.ctes.pop();
                plan?
            }
            (_, false) => self.cte_body(&cte.query, parent)?,
        };
        rename_columns(&mut plan.columns, &renames, name)?;
        Ok(plan)
    }

    /// Binds a WITH query's body at the current level, noting whether it reads an enclosing
    /// query's row.
    fn cte_body(&mut self, q: &ast::Query, parent: &Option<Scope>) -> Result<SelectPlan, SqlError> {
        let saved_aggs = self.aggs.take();
        let saved_windows = self.windows.take();
        let saved_corr = std::mem::replace(&mut self.correlated, false);
        let plan = self.query(q, parent.clone(), None);
        let correlated = std::mem::replace(&mut self.correlated, saved_corr);
        self.aggs = saved_aggs;
        self.windows = saved_windows;
        let mut plan = plan?;
        plan.correlated = correlated;
        Ok(plan)
    }

    /// Binds `anchor UNION [ALL] step` of a WITH RECURSIVE query; a step that does not read
    /// the CTE makes it a plain union.
    #[allow(clippy::too_many_arguments)]
    fn bind_recursive(
        &mut self,
        cte: &ast::Cte,
        name: &str,
        left: &SetExpr,
        right: &SetExpr,
        union_all: bool,
        renames: &[String],
        parent: &Option<Scope>,
    ) -> Result<SelectPlan, SqlError> {
        let part = |body: &SetExpr| ast::Query { body: Box::new(body.clone()), ..empty_query() };
        self.ctes.push(CteEntry { name: name.to_string(), kind: CteKind::Anchor });
        let anchor = self.cte_body(&part(left), parent);
        self.ctes.pop();
        let anchor = anchor?;
        let mut columns = anchor.columns.clone();
        rename_columns(&mut columns, renames, name)?;
        let id = self.next_cte_id;
        self.next_cte_id += 1;
        self.ctes.push(CteEntry {
            name: name.to_string(),
            kind: CteKind::Working { id, columns: columns.clone(), depth: self.depth, refs: 0 },
        });
        let step = self.cte_body(&part(right), parent);
        let entry = self.ctes.pop();
        let step = step?;
        let refs = match entry.map(|e| e.kind) {
            Some(CteKind::Working { refs, .. }) => refs,
            _ => 0,
        };
        if refs == 0 {
            // not recursive after all: an ordinary union
            return self.cte_body(&cte.query, parent);
        }
        let q = &cte.query;
        if q.order_by.is_some() {
            return Err(SqlError::unsupported("ORDER BY in a recursive query"));
        }
        if q.limit_clause.is_some() || q.fetch.is_some() {
            return Err(SqlError::unsupported("LIMIT in a recursive query"));
        }
        if !q.locks.is_empty() {
            return Err(SqlError::unsupported("FOR UPDATE/SHARE in a recursive query"));
        }
        if step.grouping.is_some() {
            return Err(recursion_error(
                "aggregate functions are not allowed in a recursive query's recursive term".into(),
            ));
        }
        if outer_join_nullable_work_table(&step.source) {
            return Err(recursion_error(format!(
                "recursive reference to query \"{name}\" must not appear within an outer join"
            )));
        }
        if step.columns.len() != anchor.columns.len() {
            return Err(SqlError::syntax("each UNION query must have the same number of columns"));
        }
        let step = self.coerce_step(step, &columns, name)?;
        let correlated = anchor.correlated || step.correlated;
        let recursive = SelectPlan {
            source: Source::Recursive {
                id,
                anchor: Arc::new(anchor),
                step: Arc::new(step),
                union_all,
            },
            projection: columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| BExpr::Column { level: 0, index: i, ty: *ty })
                .collect(),
            columns,
            correlated,
            ..super::empty_plan()
        };
        Ok(recursive)
    }

    /// The step's rows in the anchor's column types (42804 when a column's type differs, as
    /// PostgreSQL answers).
    fn coerce_step(
        &mut self,
        step: SelectPlan,
        columns: &[(String, SqlType)],
        name: &str,
    ) -> Result<SelectPlan, SqlError> {
        let mut wrapped = wrap_derived(step);
        let mut projection = Vec::with_capacity(columns.len());
        for (i, (e, (_, ty))) in wrapped.projection.drain(..).zip(columns).enumerate() {
            let from = e.ty();
            if from == *ty {
                projection.push(e);
            } else if from == SqlType::Unknown
                || (from.is_textual() && ty.is_textual() && from.name() == ty.name())
            {
                projection.push(self.coerce(e, *ty)?);
            } else {
                return Err(SqlError::datatype_mismatch(format!(
                    "recursive query \"{name}\" column {} has type {} in non-recursive term but \
                     type {} overall",
                    i + 1,
                    ty.name(),
                    from.name()
                )));
            }
        }
        wrapped.projection = projection;
        wrapped.columns = columns.to_vec();
        Ok(wrapped)
    }

    /// A FROM item naming a WITH query in scope: its source and scope; `None` when no WITH
    /// query has that name.
    pub(super) fn cte_reference(
        &mut self,
        name: &str,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Option<(Source, Scope)>, SqlError> {
        let Some(pos) = self.ctes.iter().rposition(|e| e.name == name) else { return Ok(None) };
        let depth = self.depth;
        let (source, mut columns) = match &mut self.ctes[pos].kind {
            CteKind::Bound { plan, depth: defined } => {
                if plan.correlated && *defined != depth {
                    return Err(SqlError::unsupported(
                        "a WITH query reading an enclosing query's row, read from a subquery",
                    ));
                }
                if plan.correlated {
                    self.correlated = true;
                }
                (Source::Cte(plan.clone()), plan.columns.clone())
            }
            CteKind::Anchor => {
                return Err(recursion_error(format!(
                    "recursive reference to query \"{name}\" must not appear within its \
                     non-recursive term"
                )));
            }
            CteKind::NotUnion => {
                return Err(recursion_error(format!(
                    "recursive query \"{name}\" does not have the form non-recursive-term UNION \
                     [ALL] recursive-term"
                )));
            }
            CteKind::Working { id, columns, depth: defined, refs } => {
                if *defined != depth {
                    return Err(recursion_error(format!(
                        "recursive reference to query \"{name}\" must not appear within a \
                         subquery"
                    )));
                }
                *refs += 1;
                if *refs > 1 {
                    return Err(recursion_error(format!(
                        "recursive reference to query \"{name}\" must not appear more than once"
                    )));
                }
                (Source::WorkTable(*id), columns.clone())
            }
        };
        let qualifier = alias.map(|a| ident_name(&a.name)).unwrap_or_else(|| name.to_string());
        if let Some(a) = alias {
            let renames: Vec<String> = a.columns.iter().map(|c| ident_name(&c.name)).collect();
            rename_columns(&mut columns, &renames, name)?;
        }
        let scope = Scope {
            cols: columns
                .into_iter()
                .map(|(n, ty)| ScopeCol {
                    qualifier: Some(qualifier.clone()),
                    name: n,
                    ty,
                    hidden: false,
                    name_typed: false,
                    joined: false,
                })
                .collect(),
            ..Default::default()
        };
        Ok(Some((source, scope)))
    }
}

/// Whether the working table is read on the nullable side of a LEFT JOIN (PostgreSQL's
/// 42P19: such a step would yield rows from an empty working table, never ending).
fn outer_join_nullable_work_table(source: &Source) -> bool {
    fn reads_work_table(source: &Source) -> bool {
        match source {
            Source::WorkTable(_) => true,
            Source::Join { left, right, .. } => reads_work_table(left) || reads_work_table(right),
            Source::Derived(plan) | Source::Lateral(plan) => reads_work_table(&plan.source),
            _ => false,
        }
    }
    match source {
        Source::Join { left, right, left_outer, right_outer, .. } => {
            (*left_outer && reads_work_table(right))
                || (right_outer.is_some() && reads_work_table(left))
                || outer_join_nullable_work_table(left)
                || outer_join_nullable_work_table(right)
        }
        Source::Derived(plan) | Source::Lateral(plan) => {
            outer_join_nullable_work_table(&plan.source)
        }
        _ => false,
    }
}

/// Renames the first columns to `renames` (42P10 when there are more names than columns).
fn rename_columns(
    columns: &mut [(String, SqlType)],
    renames: &[String],
    name: &str,
) -> Result<(), SqlError> {
    if renames.len() > columns.len() {
        return Err(SqlError::new(
            SqlState::InvalidColumnReference,
            format!(
                "WITH query \"{name}\" has {} columns available but {} columns specified",
                columns.len(),
                renames.len()
            ),
        ));
    }
    for (c, n) in columns.iter_mut().zip(renames) {
        c.0.clone_from(n);
    }
    Ok(())
}
