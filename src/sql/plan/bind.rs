//! The binder: turns sqlparser's AST into executable plans against the schema.
//!
//! It resolves names (42P01, 42703, 42702), types every expression, infers the types of `$n`
//! parameters from their context (a column they are compared with or assigned to), places
//! aggregates and GROUP BY keys, and picks each table's access path from the WHERE clause:
//! a primary-key point lookup, a primary-key prefix or range, a secondary-index lookup or range,
//! or a full scan. Invariant: the chosen access path only narrows what is read; the whole WHERE
//! clause is still evaluated on every row, so a plan is correct whatever path it picks.

mod arrays;
mod cte;
mod datetime;
mod distinct_on;
mod enum_functions;
mod grouping_sets;
mod json;
mod lateral;
mod modify_from;
mod ordered_aggregates;
mod recursive;
mod row_compare;
mod scalar_functions;
mod table_functions;
mod using;
mod view;
mod window;

use std::sync::Arc;

use sqlparser::ast::{self, Expr, SelectItem, SetExpr, TableFactor, Value as AstValue};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::access::choose_access;
use crate::sql::plan::{
    Access, AggCall, AggFunc, BExpr, BinOp, CatalogFn, ClusterFunc, CopyPlan, Func, Grouping,
    InsertPlan, InsertSource, Locking, ModifyPlan, OnConflict, Returning, RowRules, SelectPlan,
    SequenceFn, SessionFunc, SetOp, SortKey, Source, Unparsed,
};
use crate::sql::schema::{Identity, Schema, TableSchema};
use crate::sql::system::SystemView;
use crate::sql::types::array::is_vector;
use crate::sql::types::{SqlType, cast, number_literal, parse_text};
use crate::txn::{LockMode, WaitPolicy};
use crate::types::Value;

/// One column visible to expressions.
#[derive(Clone, Debug)]
pub struct ScopeCol {
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: SqlType,
    pub hidden: bool,
    /// A catalog column of PostgreSQL's type `name` (read as text here): subscripting it reads
    /// one byte, as PostgreSQL's fixed-size `name` allows (`typname[0] = '_'`, which pg_dump
    /// sends).
    pub name_typed: bool,
    /// A `JOIN ... USING` column of one side: the merged column stands for it, so only a
    /// qualified name finds it and `*` leaves it out (`bind/using.rs`).
    pub joined: bool,
}

/// The columns of the row being evaluated, and the enclosing query's scope.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
    pub parent: Option<Box<Scope>>,
    /// The columns `JOIN ... USING` merged (`bind/using.rs`).
    pub merged: using::Merged,
}

impl Scope {
    pub(crate) fn of_table(table: &TableSchema, qualifier: &str) -> Scope {
        Scope {
            cols: table
                .columns
                .iter()
                .map(|c| ScopeCol {
                    qualifier: Some(qualifier.to_string()),
                    name: c.name.clone(),
                    ty: c.ty,
                    hidden: c.hidden || c.dropped,
                    name_typed: false,
                    joined: false,
                })
                .collect(),
            ..Default::default()
        }
    }
}

/// Binds names and types for one statement.
pub struct Binder<'a> {
    pub schema: &'a Schema,
    /// Parameter types: given by the client or inferred; `None` = not yet known.
    pub params: Vec<Option<SqlType>>,
    aggs: Option<Vec<AggCall>>,
    /// Set when an expression reads an enclosing query's column.
    correlated: bool,
    /// Every table the statement reads or writes, in the order first met.
    tables: Vec<crate::catalog::TableId>,
    /// The WITH queries in scope, innermost last (`bind/cte.rs`).
    ctes: Vec<cte::CteEntry>,
    /// How many subqueries deep the binder is (a WITH query reading an enclosing row is
    /// read only at the depth it was defined at).
    depth: usize,
    /// Numbers recursive CTEs' working tables.
    next_cte_id: usize,
    /// The window functions of the select list being bound; `None` where they are not
    /// allowed (`bind/window.rs`).
    windows: Option<Vec<crate::sql::plan::WindowCall>>,
    /// The select's `WINDOW name AS (...)` definitions.
    named_windows: Vec<(String, ast::WindowSpec)>,
    /// Every view the statement reads, in the order first met.
    views: Vec<String>,
    /// How many views deep the binder is.
    view_nesting: usize,
}

fn ident_name(id: &ast::Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

/// The unqualified, lower-cased name of an object (`public.t` → `t`).
pub fn object_name(name: &ast::ObjectName) -> String {
    name.0
        .last()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(id) => ident_name(id),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

pub(super) fn object_schema(name: &ast::ObjectName) -> Option<String> {
    if name.0.len() >= 2 {
        match &name.0[name.0.len() - 2] {
            ast::ObjectNamePart::Identifier(id) => Some(ident_name(id)),
            _ => None,
        }
    } else {
        None
    }
}

impl<'a> Binder<'a> {
    pub fn new(schema: &'a Schema, params: Vec<Option<SqlType>>) -> Self {
        Binder {
            schema,
            params,
            aggs: None,
            correlated: false,
            tables: Vec::new(),
            ctes: Vec::new(),
            depth: 0,
            next_cte_id: 0,
            windows: None,
            named_windows: Vec::new(),
            views: Vec::new(),
            view_nesting: 0,
        }
    }

    /// The tables the statement bound so far reads or writes.
    pub fn tables_used(&self) -> Vec<crate::catalog::TableId> {
        self.tables.clone()
    }

    /// Notes the tables a write to `table` may read or change through foreign keys (the
    /// tables it references, the tables referencing it), so their locks are taken too.
    fn use_related_tables(&mut self, table: &TableSchema) {
        let mut related: Vec<crate::catalog::TableId> =
            table.foreign_keys.iter().map(|fk| fk.parent).collect();
        related.extend(self.schema.referencing(table.id).iter().map(|(child, _)| child.id));
        for id in related {
            if !self.tables.contains(&id) {
                self.tables.push(id);
            }
        }
    }

    /// `LOCK TABLE`'s tables, noted as used (so the statement takes their shared table lock).
    /// The modes that conflict only with DDL (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE) are what
    /// isola's shared table lock is; the stronger ones (which would also hold off other
    /// writers, or readers) are refused with 0A000 rather than granted weaker.
    pub fn lock_tables(&mut self, lock: &ast::Lock) -> Result<(), SqlError> {
        use ast::LockTableMode as M;
        match &lock.lock_mode {
            Some(M::AccessShare | M::RowShare | M::RowExclusive) => {}
            Some(other) => {
                return Err(SqlError::unsupported(format!("LOCK TABLE IN {other} MODE")));
            }
            None => return Err(SqlError::unsupported("LOCK TABLE IN ACCESS EXCLUSIVE MODE")),
        }
        if lock.nowait {
            return Err(SqlError::unsupported("LOCK TABLE ... NOWAIT"));
        }
        for target in &lock.tables {
            let name = object_name(&target.name);
            match object_schema(&target.name).as_deref() {
                None | Some("public") => {}
                Some(_) => return Err(SqlError::undefined_table(&target.name.to_string())),
            }
            self.use_table(&name)?;
        }
        Ok(())
    }

    /// The views the statement bound so far reads.
    pub fn views_used(&self) -> Vec<String> {
        self.views.clone()
    }

    /// A table by name, noted as used. A view is not a table to write or lock: refused
    /// (PostgreSQL would write through a simple view; isola's views are read-only).
    fn use_table(&mut self, name: &str) -> Result<Arc<TableSchema>, SqlError> {
        if self.schema.views.contains_key(name) && self.schema.table(name).is_none() {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("cannot change view \"{name}\": views are read-only"),
            ));
        }
        let table =
            self.schema.table(name).cloned().ok_or_else(|| SqlError::undefined_table(name))?;
        if !self.tables.contains(&table.id) {
            self.tables.push(table.id);
        }
        Ok(table)
    }

    /// Final parameter types (unknown ones as text, as PostgreSQL does).
    pub fn param_types(&self) -> Vec<SqlType> {
        self.params.iter().map(|p| p.unwrap_or(SqlType::Text)).collect()
    }

    fn param(&mut self, name: &str, expected: Option<SqlType>) -> Result<BExpr, SqlError> {
        let n: usize = name
            .trim_start_matches('$')
            .parse()
            .map_err(|_| SqlError::syntax(format!("bad parameter {name}")))?;
        if n == 0 || n > 65_535 {
            return Err(SqlError::syntax(format!("there is no parameter {name}")));
        }
        if self.params.len() < n {
            self.params.resize(n, None);
        }
        let slot = &mut self.params[n - 1];
        if slot.is_none() {
            *slot = expected.filter(|t| *t != SqlType::Unknown);
        }
        Ok(BExpr::Param(n - 1, slot.unwrap_or(SqlType::Unknown)))
    }

    /// The scope column `parts` names, if it names exactly one (as [`Binder::resolve`] finds
    /// it).
    fn scope_column<'s>(parts: &[String], scope: &'s Scope) -> Option<&'s ScopeCol> {
        let (qualifier, name) = match parts {
            [name] => (None, name.as_str()),
            [.., q, name] => (Some(q.as_str()), name.as_str()),
            [] => return None,
        };
        let mut current = Some(scope);
        while let Some(s) = current {
            let mut hits = s.cols.iter().filter(|c| {
                c.name == name
                    && match qualifier {
                        None => !c.joined,
                        Some(q) => c.qualifier.as_deref() == Some(q),
                    }
            });
            if let Some(hit) = hits.next() {
                return if hits.next().is_none() { Some(hit) } else { None };
            }
            current = s.parent.as_deref();
        }
        None
    }

    fn resolve(&mut self, parts: &[String], scope: &Scope) -> Result<BExpr, SqlError> {
        let (qualifier, name) = match parts {
            [name] => (None, name.as_str()),
            [.., q, name] => (Some(q.as_str()), name.as_str()),
            [] => return Err(SqlError::syntax("empty name")),
        };
        let mut level = 0;
        let mut current = Some(scope);
        while let Some(s) = current {
            let hits: Vec<usize> = s
                .cols
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.name == name
                        && match qualifier {
                            None => !c.joined,
                            Some(q) => c.qualifier.as_deref() == Some(q),
                        }
                })
                .map(|(i, _)| i)
                .collect();
            let merged: Vec<&using::MergedCol> = match qualifier {
                None => s.merged.cols.iter().filter(|m| !m.joined && m.name == name).collect(),
                Some(_) => vec![],
            };
            match hits.len() + merged.len() {
                0 => {}
                1 => {
                    if level > 0 {
                        self.correlated = true;
                    }
                    if let Some(m) = merged.first() {
                        return Ok(m.expr(level));
                    }
                    return Ok(BExpr::Column { level, index: hits[0], ty: s.cols[hits[0]].ty });
                }
                _ => {
                    return Err(SqlError::new(
                        SqlState::AmbiguousColumn,
                        format!("column reference \"{name}\" is ambiguous"),
                    ));
                }
            }
            level += 1;
            current = s.parent.as_deref();
        }
        if let Some(q) = qualifier
            && !scope.cols.iter().any(|c| c.qualifier.as_deref() == Some(q))
        {
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("missing FROM-clause entry for table \"{q}\""),
            ));
        }
        Err(SqlError::undefined_column(&parts.join(".")))
    }

    /// Binds an expression; `expected` types untyped literals and parameters.
    pub fn expr(
        &mut self,
        e: &Expr,
        scope: &Scope,
        expected: Option<SqlType>,
    ) -> Result<BExpr, SqlError> {
        let bound = self.expr_inner(e, scope, expected)?;
        // an untyped literal meeting a known type takes it
        if let (BExpr::Const(v, SqlType::Unknown), Some(t)) = (&bound, expected)
            && t != SqlType::Unknown
        {
            return Ok(BExpr::Const(cast(v.clone(), SqlType::Text, t, false)?, t));
        }
        Ok(bound)
    }

    fn expr_inner(
        &mut self,
        e: &Expr,
        scope: &Scope,
        expected: Option<SqlType>,
    ) -> Result<BExpr, SqlError> {
        Ok(match e {
            Expr::Identifier(id) => self.resolve(&[ident_name(id)], scope)?,
            Expr::CompoundIdentifier(ids) => {
                let parts: Vec<String> = ids.iter().map(ident_name).collect();
                self.resolve(&parts, scope)?
            }
            Expr::Value(v) => self.literal(&v.value, expected)?,
            Expr::TypedString(ts) => {
                let (ty, _) = self.schema.parse_type(&ts.data_type.to_string())?;
                let text = match &ts.value.value {
                    AstValue::SingleQuotedString(s) => s.clone(),
                    other => other.to_string(),
                };
                BExpr::Const(parse_text(&text, ty)?, ty)
            }
            Expr::Interval(iv) => self.interval_literal(iv)?,
            Expr::Position { expr, r#in } => {
                let mut args = vec![self.expr(r#in, scope, None)?, self.expr(expr, scope, None)?];
                match self.scalar_function("strpos", &mut args)? {
                    Some(bound) => bound,
                    None => return Err(SqlError::unsupported("POSITION")),
                }
            }
            Expr::Nested(inner) => self.expr(inner, scope, expected)?,
            Expr::Cast { expr, data_type, .. }
                if reg_type_cast(&data_type.to_string()).is_some() =>
            {
                let kind = reg_type_cast(&data_type.to_string()).unwrap_or("regclass");
                self.reg_cast(expr, kind, scope)?
            }
            Expr::Cast { expr, data_type, .. } => {
                let (to, _) = self.schema.parse_type(&data_type.to_string())?;
                let inner = self.expr(expr, scope, Some(to))?;
                match inner {
                    BExpr::Const(v, from) => BExpr::Const(cast(v, from, to, true)?, to),
                    BExpr::Param(i, t) if t == to => BExpr::Param(i, t),
                    other => BExpr::Cast { expr: Box::new(other), to, explicit: true },
                }
            }
            Expr::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => {
                    BExpr::Not(Box::new(self.expr(expr, scope, Some(SqlType::Bool))?))
                }
                ast::UnaryOperator::Minus
                    if matches!(
                        expr.as_ref(),
                        Expr::BinaryOp { op: ast::BinaryOperator::PGExp, .. }
                    ) =>
                {
                    // PostgreSQL's unary minus binds tighter than ^: -2 ^ 2 is (-2) ^ 2
                    return self.expr(&minus_into_power(expr), scope, expected);
                }
                ast::UnaryOperator::Minus => {
                    if let Expr::Value(v) = expr.as_ref()
                        && let AstValue::Number(n, _) = &v.value
                    {
                        let (v, t) = number_literal(&format!("-{n}"))?;
                        return Ok(BExpr::Const(v, t));
                    }
                    let inner = self.expr(expr, scope, expected)?;
                    let ty = inner.ty();
                    if !ty.is_numeric() && !matches!(ty, SqlType::Unknown | SqlType::Interval) {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            format!("operator does not exist: - {}", ty.name()),
                        ));
                    }
                    BExpr::Neg(Box::new(inner), ty)
                }
                ast::UnaryOperator::Plus => self.expr(expr, scope, expected)?,
                other => return Err(SqlError::unsupported(format!("operator {other}"))),
            },
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right, scope)?,
            Expr::IsNull(e) => {
                BExpr::IsNull { expr: Box::new(self.expr(e, scope, None)?), negated: false }
            }
            Expr::IsNotNull(e) => {
                BExpr::IsNull { expr: Box::new(self.expr(e, scope, None)?), negated: true }
            }
            Expr::IsTrue(e) => self.is_bool(e, true, false, scope)?,
            Expr::IsNotTrue(e) => self.is_bool(e, true, true, scope)?,
            Expr::IsFalse(e) => self.is_bool(e, false, false, scope)?,
            Expr::IsNotFalse(e) => self.is_bool(e, false, true, scope)?,
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
                let negated = matches!(e, Expr::IsNotDistinctFrom(..));
                if let Some(rows) = self.row_distinct(a, b, negated, scope)? {
                    return Ok(rows);
                }
                let (l, r, t) = self.operands(a, b, scope)?;
                BExpr::IsDistinct {
                    left: Box::new(l),
                    right: Box::new(r),
                    operand_ty: t,
                    negated: matches!(e, Expr::IsNotDistinctFrom(..)),
                }
            }
            Expr::InList { expr, list, negated } => {
                if let Some(rows) = self.row_in_list(expr, list, *negated, scope)? {
                    return Ok(rows);
                }
                let subject = self.expr(expr, scope, None)?;
                let mut items = Vec::new();
                let mut ty = subject.ty();
                for item in list {
                    let b = self.expr(item, scope, Some(ty))?;
                    ty = SqlType::unify(ty, b.ty());
                    items.push(b);
                }
                let mut subject = self.retype_unknown(subject, ty)?;
                // character(n) compares as PostgreSQL's IN does: two or more values (not
                // columns) in the list's common type, so a varchar subject's trailing
                // spaces count; otherwise as `=` (trimming wins in a mixed list)
                let values = items.iter().filter(|i| !matches!(i, BExpr::Column { .. })).count();
                let varchar = matches!(subject.ty(), SqlType::Varchar(_)) && values >= 2;
                let rules = items
                    .iter()
                    .filter_map(|i| char_rule(subject.ty(), i.ty()).map(|trim| trim && !varchar));
                if let Some(trim) = rules.reduce(|a, b| a || b) {
                    subject = char_operand(subject, trim);
                    items = items.into_iter().map(|i| char_operand(i, trim)).collect();
                    ty = SqlType::Text;
                }
                BExpr::InList {
                    expr: Box::new(subject),
                    list: items,
                    operand_ty: ty,
                    negated: *negated,
                }
            }
            Expr::InSubquery { expr, subquery, negated } => {
                let (op, all) = if *negated { (BinOp::NotEq, true) } else { (BinOp::Eq, false) };
                if let Some(bound) = self.row_quantified(expr, op, all, subquery, scope)? {
                    return Ok(bound);
                }
                let subject = self.expr(expr, scope, None)?;
                let mut plan = self.subquery(subquery, scope)?;
                if plan.columns.len() != 1 {
                    return Err(SqlError::syntax("subquery has too many columns"));
                }
                let ty = SqlType::unify(subject.ty(), plan.columns[0].1);
                let (subject, ty) = char_against_column(subject, &mut plan, 0, ty);
                BExpr::InSubquery { exprs: vec![subject], plan, operand_tys: vec![ty], op, all }
            }
            Expr::Exists { subquery, negated } => {
                BExpr::Exists { plan: self.subquery(subquery, scope)?, negated: *negated }
            }
            Expr::Subquery(q) => {
                let plan = self.subquery(q, scope)?;
                if plan.columns.len() != 1 {
                    return Err(SqlError::syntax("subquery must return only one column"));
                }
                let ty = plan.columns[0].1;
                BExpr::Subquery { plan, ty }
            }
            Expr::Between { expr, negated, low, high } => {
                let subject = self.expr(expr, scope, None)?;
                let t = subject.ty();
                let lo = self.expr(low, scope, Some(t))?;
                let hi = self.expr(high, scope, Some(t))?;
                let ty = SqlType::unify(SqlType::unify(t, lo.ty()), hi.ty());
                let ge = BExpr::Binary {
                    op: BinOp::GtEq,
                    left: Box::new(subject.clone()),
                    right: Box::new(lo),
                    operand_ty: ty,
                    ty: SqlType::Bool,
                };
                let le = BExpr::Binary {
                    op: BinOp::LtEq,
                    left: Box::new(subject),
                    right: Box::new(hi),
                    operand_ty: ty,
                    ty: SqlType::Bool,
                };
                let both = BExpr::And(Box::new(ge), Box::new(le));
                if *negated { BExpr::Not(Box::new(both)) } else { both }
            }
            Expr::Like { negated, expr, pattern, any: false, .. }
            | Expr::ILike { negated, expr, pattern, any: false, .. } => BExpr::Like {
                expr: Box::new(self.expr(expr, scope, Some(SqlType::Text))?),
                pattern: Box::new(self.expr(pattern, scope, Some(SqlType::Text))?),
                negated: *negated,
                case_insensitive: matches!(e, Expr::ILike { .. }),
            },
            Expr::Case { operand, conditions, else_result, .. } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(self.expr(o, scope, None)?)),
                    None => None,
                };
                let mut whens = Vec::new();
                let mut ty = SqlType::Unknown;
                for cw in conditions {
                    let w = self.expr(
                        &cw.condition,
                        scope,
                        operand.as_ref().map(|o| o.ty()).or(Some(SqlType::Bool)),
                    )?;
                    let t = self.expr(&cw.result, scope, expected)?;
                    ty = SqlType::unify(ty, t.ty());
                    whens.push((w, t));
                }
                let otherwise = match else_result {
                    Some(e) => {
                        let b = self.expr(e, scope, Some(ty))?;
                        ty = SqlType::unify(ty, b.ty());
                        Some(Box::new(b))
                    }
                    None => None,
                };
                if ty == SqlType::Unknown {
                    ty = SqlType::Text;
                }
                BExpr::Case { operand, whens, otherwise, ty }
            }
            Expr::Function(f) => self.function(f, scope, expected)?,
            Expr::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![self.expr(expr, scope, Some(SqlType::Text))?];
                if let (Some(f), None) = (substring_from, substring_for)
                    && let Some(regex) = self.regex_substring(args[0].clone(), f, scope)?
                {
                    return Ok(regex);
                }
                if let Some(f) = substring_from {
                    args.push(self.expr(f, scope, Some(SqlType::Int4))?);
                }
                if let Some(f) = substring_for {
                    args.push(self.expr(f, scope, Some(SqlType::Int4))?);
                }
                BExpr::Func { func: Func::Substring, args, ty: SqlType::Text }
            }
            Expr::Trim { expr, trim_where, trim_what, .. } => {
                let func = match trim_where {
                    Some(ast::TrimWhereField::Leading) => Func::LTrim,
                    Some(ast::TrimWhereField::Trailing) => Func::RTrim,
                    _ => Func::Trim,
                };
                let mut args = vec![self.expr(expr, scope, Some(SqlType::Text))?];
                if let Some(w) = trim_what {
                    args.push(self.expr(w, scope, Some(SqlType::Text))?);
                }
                BExpr::Func { func, args, ty: SqlType::Text }
            }
            Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                let arg = self.expr(expr, scope, None)?;
                let (name, func) = match e {
                    Expr::Ceil { .. } => ("ceil", Func::Ceil),
                    _ => ("floor", Func::Floor),
                };
                self.rounding(name, func, arg)?
            }
            Expr::AnyOp { left, compare_op, right, .. } => {
                // x = ANY (ARRAY[...]) — as an IN list
                match right.as_ref() {
                    Expr::Array(a)
                        if *compare_op == ast::BinaryOperator::Eq && !a.elem.is_empty() =>
                    {
                        let in_list = Expr::InList {
                            expr: left.clone(),
                            list: a.elem.clone(),
                            negated: false,
                        };
                        self.expr(&in_list, scope, None)?
                    }
                    _ => self.quantified(left, compare_op, right, false, scope)?,
                }
            }
            Expr::AllOp { left, compare_op, right } => {
                self.quantified(left, compare_op, right, true, scope)?
            }
            Expr::Array(a) => self.array_constructor(&a.elem, scope, expected)?,
            Expr::CompoundFieldAccess { root, access_chain } => {
                self.subscript(root, access_chain, scope)?
            }
            Expr::SimilarTo { negated, expr, pattern, escape_char } => {
                self.similar_to(expr, pattern, escape_char.as_deref(), *negated, scope)?
            }
            Expr::Collate { expr, .. } => self.expr(expr, scope, expected)?,
            Expr::Extract { field, expr, .. } => self.extract(field, expr, scope)?,
            Expr::AtTimeZone { timestamp, time_zone } => {
                self.at_time_zone(timestamp, time_zone, scope)?
            }
            other => return Err(SqlError::unsupported(format!("expression {other}"))),
        })
    }

    fn is_bool(
        &mut self,
        e: &Expr,
        value: bool,
        negated: bool,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        Ok(BExpr::IsBool {
            expr: Box::new(self.expr(e, scope, Some(SqlType::Bool))?),
            value,
            negated,
        })
    }

    fn literal(&mut self, v: &AstValue, expected: Option<SqlType>) -> Result<BExpr, SqlError> {
        Ok(match v {
            AstValue::Number(n, _) => {
                let (v, t) = number_literal(n)?;
                BExpr::Const(v, t)
            }
            AstValue::SingleQuotedString(s)
            | AstValue::EscapedStringLiteral(s)
            | AstValue::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => {
                BExpr::Const(Value::Text(s.clone()), SqlType::Unknown)
            }
            AstValue::Boolean(b) => BExpr::Const(Value::Bool(*b), SqlType::Bool),
            AstValue::Null => BExpr::Const(Value::Null, expected.unwrap_or(SqlType::Unknown)),
            AstValue::Placeholder(p) => self.param(p, expected)?,
            AstValue::HexStringLiteral(h) => {
                BExpr::Const(parse_text(&format!("\\x{h}"), SqlType::Bytea)?, SqlType::Bytea)
            }
            other => return Err(SqlError::unsupported(format!("literal {other}"))),
        })
    }

    /// Gives an untyped literal or parameter a type decided later.
    fn retype_unknown(&mut self, e: BExpr, ty: SqlType) -> Result<BExpr, SqlError> {
        Ok(match e {
            BExpr::Const(v, SqlType::Unknown) if ty != SqlType::Unknown => {
                BExpr::Const(cast(v, SqlType::Text, ty, false)?, ty)
            }
            BExpr::Param(i, SqlType::Unknown) if ty != SqlType::Unknown => {
                if self.params[i].is_none() {
                    self.params[i] = Some(ty);
                }
                BExpr::Param(i, self.params[i].unwrap_or(ty))
            }
            other => other,
        })
    }

    /// Binds two operands so that each types the other's untyped side.
    fn operands(
        &mut self,
        a: &Expr,
        b: &Expr,
        scope: &Scope,
    ) -> Result<(BExpr, BExpr, SqlType), SqlError> {
        let l = self.expr(a, scope, None)?;
        let r = self.expr(b, scope, Some(l.ty()))?;
        self.unify_operands(l, r)
    }

    /// Two bound operands brought to their common type (an untyped side takes the other's).
    fn unify_operands(&mut self, l: BExpr, r: BExpr) -> Result<(BExpr, BExpr, SqlType), SqlError> {
        let l = self.retype_unknown(l, r.ty())?;
        let mut ty = SqlType::unify(l.ty(), r.ty());
        if ty == SqlType::Unknown {
            ty = SqlType::Text;
        }
        let compatible = |t: SqlType| {
            t == SqlType::Unknown
                || matches!((t, ty), (SqlType::Array(_), SqlType::Array(_)))
                || matches!((t, ty), (SqlType::Time(_), SqlType::Time(_)))
                || (t.is_numeric() && ty.is_numeric())
                || (t.is_textual() && ty.is_textual())
                || t == ty
                || matches!(
                    (t, ty),
                    (
                        SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz,
                        SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
                    )
                )
        };
        if !compatible(l.ty()) || !compatible(r.ty()) {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} and {}", l.ty().name(), r.ty().name()),
            ));
        }
        Ok((l, r, ty))
    }

    fn binary(
        &mut self,
        a: &Expr,
        op: &ast::BinaryOperator,
        b: &Expr,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        use ast::BinaryOperator as B;
        if let Some(bound) = self.row_comparison(a, op, b, scope)? {
            return Ok(bound);
        }
        if let Some(bound) = self.special_operator(a, op, b, scope)? {
            return Ok(bound);
        }
        if *op == B::PGExp {
            // a ^ b is power(a, b)
            let mut args = vec![self.expr(a, scope, None)?, self.expr(b, scope, None)?];
            if let Some(bound) = self.scalar_function("power", &mut args)? {
                return Ok(bound);
            }
        }
        if matches!(op, B::And | B::Or) {
            let l = self.expr(a, scope, Some(SqlType::Bool))?;
            let r = self.expr(b, scope, Some(SqlType::Bool))?;
            for side in [&l, &r] {
                if !matches!(side.ty(), SqlType::Bool | SqlType::Unknown) {
                    return Err(SqlError::datatype_mismatch(format!(
                        "argument of {op} must be type boolean, not type {}",
                        side.ty().name()
                    )));
                }
            }
            return Ok(if *op == B::And {
                BExpr::And(Box::new(l), Box::new(r))
            } else {
                BExpr::Or(Box::new(l), Box::new(r))
            });
        }
        let bop = match op {
            B::Plus => BinOp::Add,
            B::Minus => BinOp::Sub,
            B::Multiply => BinOp::Mul,
            B::Divide => BinOp::Div,
            B::Modulo => BinOp::Mod,
            B::StringConcat => BinOp::Concat,
            B::Eq => BinOp::Eq,
            B::NotEq => BinOp::NotEq,
            B::Lt => BinOp::Lt,
            B::LtEq => BinOp::LtEq,
            B::Gt => BinOp::Gt,
            B::GtEq => BinOp::GtEq,
            B::BitwiseAnd => BinOp::BitAnd,
            B::BitwiseOr => BinOp::BitOr,
            B::PGBitwiseXor => BinOp::BitXor,
            B::PGBitwiseShiftLeft => BinOp::ShiftLeft,
            B::PGBitwiseShiftRight => BinOp::ShiftRight,
            other => return Err(SqlError::unsupported(format!("operator {other}"))),
        };
        if bop.is_bitwise() {
            return self.bitwise(a, bop, op, b, scope);
        }
        if bop == BinOp::Concat {
            let l = self.expr(a, scope, None)?;
            let r = self.expr(
                b,
                scope,
                Some(if l.ty() == SqlType::Jsonb { SqlType::Jsonb } else { SqlType::Text }),
            )?;
            if let Some(bound) = self.jsonb_concat(l.clone(), r.clone(), op)? {
                return Ok(bound);
            }
            let l = labelled(unpadded(self.retype_unknown(l, SqlType::Text)?));
            let r = labelled(unpadded(self.retype_unknown(r, SqlType::Text)?));
            return Ok(BExpr::Binary {
                op: bop,
                left: Box::new(l),
                right: Box::new(r),
                operand_ty: SqlType::Text,
                ty: SqlType::Text,
            });
        }
        let l = self.expr(a, scope, None)?;
        let r = self.expr(b, scope, Some(datetime::right_operand_hint(&l, bop)))?;
        let (l, r) = match self.datetime_operator(l, bop, op, r)? {
            Ok(bound) => return Ok(bound),
            Err(operands) => operands,
        };
        let (mut l, mut r, mut operand_ty) = self.unify_operands(l, r)?;
        if bop.is_comparison() {
            (l, r, operand_ty) = char_operands(l, r, operand_ty);
        }
        let ty = if bop.is_comparison() {
            SqlType::Bool
        } else if matches!(l.ty(), SqlType::Date) && r.ty().is_integer() {
            SqlType::Date
        } else {
            if !operand_ty.is_numeric() {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!("operator does not exist: {} {op} {}", l.ty().name(), r.ty().name()),
                ));
            }
            match operand_ty {
                SqlType::Float4 => SqlType::Float8,
                t => t,
            }
        };
        Ok(BExpr::Binary { op: bop, left: Box::new(l), right: Box::new(r), operand_ty, ty })
    }

    /// An aggregate's `FILTER (WHERE cond)`: a boolean over the input row (bound, as the
    /// arguments are, outside the aggregate context: an aggregate inside is 42803).
    fn aggregate_filter(&mut self, cond: &Expr, scope: &Scope) -> Result<BExpr, SqlError> {
        let bound = self.expr(cond, scope, Some(SqlType::Bool)).map_err(|e| {
            if e.code == SqlState::GroupingError && e.message.starts_with("aggregate functions") {
                SqlError::new(
                    SqlState::GroupingError,
                    "aggregate functions are not allowed in FILTER",
                )
            } else {
                e
            }
        })?;
        if !matches!(bound.ty(), SqlType::Bool | SqlType::Unknown) {
            return Err(SqlError::datatype_mismatch(format!(
                "argument of FILTER must be type boolean, not type {}",
                bound.ty().name()
            )));
        }
        Ok(bound)
    }

    /// `a & b`, `a | b`, `a # b` in the wider of two integer types; `a << n`, `a >> n` in
    /// `a`'s type. Anything but integers is 42883, as in PostgreSQL.
    fn bitwise(
        &mut self,
        a: &Expr,
        bop: BinOp,
        op: &ast::BinaryOperator,
        b: &Expr,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let shift = matches!(bop, BinOp::ShiftLeft | BinOp::ShiftRight);
        let (l, r, operand_ty) = if shift {
            let l = self.expr(a, scope, Some(SqlType::Int4))?;
            let r = self.expr(b, scope, Some(SqlType::Int4))?;
            let ty = if l.ty() == SqlType::Unknown { SqlType::Int4 } else { l.ty() };
            (l, r, ty)
        } else {
            match self.operands(a, b, scope) {
                Ok(bound) => bound,
                Err(e) if e.code == SqlState::UndefinedFunction => {
                    let (l, r) = (self.expr(a, scope, None)?, self.expr(b, scope, None)?);
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!(
                            "operator does not exist: {} {op} {}",
                            l.ty().name(),
                            r.ty().name()
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        };
        let integer = |t: SqlType| t.is_integer() || t == SqlType::Unknown;
        if !integer(l.ty()) || !integer(r.ty()) || !integer(operand_ty) {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} {op} {}", l.ty().name(), r.ty().name()),
            ));
        }
        let ty = if operand_ty == SqlType::Unknown { SqlType::Int4 } else { operand_ty };
        Ok(BExpr::Binary { op: bop, left: Box::new(l), right: Box::new(r), operand_ty: ty, ty })
    }

    fn function(
        &mut self,
        f: &ast::Function,
        scope: &Scope,
        expected: Option<SqlType>,
    ) -> Result<BExpr, SqlError> {
        let name = object_name(&f.name);
        let (arg_exprs, distinct, star) = match &f.args {
            ast::FunctionArguments::None => (vec![], false, false),
            ast::FunctionArguments::List(list) => {
                let mut exprs = Vec::new();
                let mut star = false;
                for a in &list.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            exprs.push(e.clone())
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        // `make_interval(days => 10)`: its parameters by name, the others 0
                        ast::FunctionArg::Named {
                            name: param,
                            arg: ast::FunctionArgExpr::Expr(e),
                            ..
                        }
                        | ast::FunctionArg::ExprNamed {
                            name: Expr::Identifier(param),
                            arg: ast::FunctionArgExpr::Expr(e),
                            ..
                        } if name == "make_interval" => {
                            const PARAMS: [&str; 7] =
                                ["years", "months", "weeks", "days", "hours", "mins", "secs"];
                            let Some(at) =
                                PARAMS.iter().position(|p| param.value.eq_ignore_ascii_case(p))
                            else {
                                return Err(SqlError::new(
                                    SqlState::UndefinedFunction,
                                    format!(
                                        "function make_interval({param} => ...) does not exist"
                                    ),
                                ));
                            };
                            let zero = || Expr::value(AstValue::Number("0".into(), false));
                            while exprs.len() <= at {
                                exprs.push(zero());
                            }
                            exprs[at] = e.clone();
                        }
                        other => {
                            return Err(SqlError::unsupported(format!(
                                "function argument {other}"
                            )));
                        }
                    }
                }
                let distinct =
                    matches!(list.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                (exprs, distinct, star)
            }
            ast::FunctionArguments::Subquery(q) if name == "array" => {
                return self.array_subquery(q, scope);
            }
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::unsupported("subquery function arguments"));
            }
        };
        if name == "mod" && arg_exprs.len() == 2 && f.over.is_none() && !distinct {
            // mod(a, b) is a % b in every type PostgreSQL has it for
            return self.binary(&arg_exprs[0], &ast::BinaryOperator::Modulo, &arg_exprs[1], scope);
        }
        if f.over.is_some() {
            return self.window_function(f, &name, &arg_exprs, star, distinct, scope);
        }
        let agg = match name.as_str() {
            "count" if star || arg_exprs.is_empty() => Some(AggFunc::CountStar),
            "count" => Some(AggFunc::Count),
            "sum" => Some(AggFunc::Sum),
            "avg" => Some(AggFunc::Avg),
            "min" => Some(AggFunc::Min),
            "max" => Some(AggFunc::Max),
            "bool_and" | "every" => Some(AggFunc::BoolAnd),
            "bool_or" => Some(AggFunc::BoolOr),
            "string_agg" => Some(AggFunc::StringAgg),
            "array_agg" => Some(AggFunc::ArrayAgg),
            "jsonb_agg" => Some(AggFunc::JsonbAgg),
            "grouping" => Some(AggFunc::Grouping),
            _ => None,
        };
        if let Some(func) = agg {
            let Some(aggs) = self.aggs.take() else {
                return Err(SqlError::new(
                    SqlState::GroupingError,
                    format!("aggregate functions are not allowed here ({name})"),
                ));
            };
            // arguments are bound outside the aggregate context: no nested aggregates
            let mut args = Vec::new();
            for a in &arg_exprs {
                args.push(self.expr(a, scope, None)?);
            }
            let order_by = self.aggregate_order_by(f, scope, &mut args)?;
            let filter = match &f.filter {
                Some(cond) => Some(self.aggregate_filter(cond, scope)?),
                None => None,
            };
            let mut aggs = aggs;
            let arg_ty = args.first().map(|a| a.ty()).unwrap_or(SqlType::Int8);
            let ty = match func {
                AggFunc::CountStar | AggFunc::Count => SqlType::Int8,
                AggFunc::Sum => match arg_ty {
                    SqlType::Int2 | SqlType::Int4 => SqlType::Int8,
                    SqlType::Int8 | SqlType::Numeric(_) => SqlType::Numeric(None),
                    SqlType::Float4 | SqlType::Float8 => SqlType::Float8,
                    SqlType::Interval => SqlType::Interval,
                    t => {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            format!("function sum({}) does not exist", t.name()),
                        ));
                    }
                },
                AggFunc::Avg => match arg_ty {
                    SqlType::Float4 | SqlType::Float8 => SqlType::Float8,
                    SqlType::Interval => SqlType::Interval,
                    t if t.is_numeric() => SqlType::Numeric(None),
                    t => {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            format!("function avg({}) does not exist", t.name()),
                        ));
                    }
                },
                AggFunc::Min | AggFunc::Max => arg_ty,
                AggFunc::BoolAnd | AggFunc::BoolOr => SqlType::Bool,
                AggFunc::StringAgg => SqlType::Text,
                AggFunc::ArrayAgg => crate::sql::types::array_of(arg_ty),
                AggFunc::JsonbAgg => SqlType::Jsonb,
                AggFunc::Grouping => {
                    if args.is_empty() || args.len() > 31 {
                        return Err(SqlError::new(
                            SqlState::TooManyArguments,
                            "GROUPING must have fewer than 32 arguments",
                        ));
                    }
                    SqlType::Int4
                }
            };
            let call = AggCall { func, args, distinct, ty, order_by, filter };
            let index = match aggs.iter().position(|c| *c == call) {
                Some(i) => i,
                None => {
                    aggs.push(call);
                    aggs.len() - 1
                }
            };
            self.aggs = Some(aggs);
            return Ok(BExpr::AggRef(index, ty));
        }
        if f.filter.is_some() {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("FILTER specified, but {name} is not an aggregate function"),
            ));
        }
        let mut args = Vec::new();
        let arg_hint = match name.as_str() {
            "coalesce" | "greatest" | "least" | "nullif" => expected,
            // advisory lock keys are bigints (a parameter there is one)
            n if n.contains("advisory") => Some(SqlType::Int8),
            _ => None,
        };
        let sequence_fn = match name.as_str() {
            "nextval" => Some(SequenceFn::NextVal),
            "currval" => Some(SequenceFn::CurrVal),
            "setval" => Some(SequenceFn::SetVal),
            "lastval" => Some(SequenceFn::LastVal),
            "pg_get_serial_sequence" => Some(SequenceFn::SerialSequence),
            _ => None,
        };
        if let Some(sf) = sequence_fn {
            // A sequence is named by text (`'s'::regclass` reads as the name).
            for (i, a) in arg_exprs.iter().enumerate() {
                let a = match a {
                    ast::Expr::Cast { expr, data_type, .. }
                        if data_type.to_string().to_lowercase().ends_with("regclass") =>
                    {
                        expr
                    }
                    a => a,
                };
                let b = self.expr(a, scope, None)?;
                let want = if sf == SequenceFn::SetVal && i == 1 {
                    SqlType::Int8
                } else if sf == SequenceFn::SetVal && i == 2 {
                    SqlType::Bool
                } else {
                    SqlType::Text
                };
                args.push(self.coerce(b, want)?);
            }
            let ty = if sf == SequenceFn::SerialSequence { SqlType::Text } else { SqlType::Int8 };
            return Ok(BExpr::Func { func: Func::Sequence(sf), args, ty });
        }
        for a in &arg_exprs {
            args.push(self.expr(a, scope, arg_hint)?);
        }
        if let Some(bound) = self.array_function(&name, &mut args)? {
            return Ok(bound);
        }
        if let Some(bound) = self.enum_function(&name, &args)? {
            return Ok(bound);
        }
        if let Some(bound) = self.datetime_function(&name, &mut args)? {
            return Ok(bound);
        }
        if let Some(bound) = self.scalar_function(&name, &mut args)? {
            return Ok(bound);
        }
        if let Some(bound) = self.exact_math(&name, &mut args)? {
            return Ok(bound);
        }
        let first_ty = args.first().map(|a| a.ty()).unwrap_or(SqlType::Text);
        let unified = args.iter().fold(SqlType::Unknown, |t, a| SqlType::unify(t, a.ty()));
        let unified = if unified == SqlType::Unknown { SqlType::Text } else { unified };
        if let Some((func, ty)) = catalog_function(&name) {
            if func == CatalogFn::Subscripts && args.first().is_some_and(|a| is_vector(a.ty())) {
                // an int2vector / oidvector counts from 0
                args.push(BExpr::Const(Value::Int(0), SqlType::Int4));
            }
            return Ok(BExpr::Func { func: Func::Catalog(func), args, ty });
        }
        let (func, ty) = match name.as_str() {
            "now" | "current_timestamp" | "transaction_timestamp" => {
                (Func::Now, SqlType::Timestamptz)
            }
            "statement_timestamp" => (Func::StatementTimestamp, SqlType::Timestamptz),
            "clock_timestamp" => (Func::ClockTimestamp, SqlType::Timestamptz),
            "localtimestamp" => (Func::Now, SqlType::Timestamp),
            "current_date" => (Func::CurrentDate, SqlType::Date),
            "coalesce" => (Func::Coalesce, unified),
            "nullif" => (Func::NullIf, first_ty),
            "greatest" => (Func::Greatest, unified),
            "least" => (Func::Least, unified),
            "lower" => (Func::Lower, SqlType::Text),
            "upper" => (Func::Upper, SqlType::Text),
            "length" | "char_length" | "character_length" | "octet_length" => {
                // a character(n)'s length leaves its padding out
                if name != "octet_length" {
                    args = args.into_iter().map(unpadded).collect();
                }
                (Func::Length, SqlType::Int4)
            }
            "substr" | "substring" => (Func::Substring, SqlType::Text),
            "btrim" | "trim" => (Func::Trim, SqlType::Text),
            "ltrim" => (Func::LTrim, SqlType::Text),
            "rtrim" => (Func::RTrim, SqlType::Text),
            "concat" if args.is_empty() => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    "function concat() does not exist",
                ));
            }
            "concat" => (Func::Concat, SqlType::Text),
            "replace" => (Func::Replace, SqlType::Text),
            "abs" => (Func::Abs, first_ty),
            "round" | "trunc" if args.len() == 2 => {
                // (numeric, integer) only, as PostgreSQL: an integer first argument reads as
                // a numeric, a double precision one has no such function
                if matches!(first_ty, SqlType::Float4 | SqlType::Float8) || !first_ty.is_numeric() {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!(
                            "function {name}({}) does not exist",
                            args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                let first = args.remove(0);
                args.insert(0, self.coerce(first, SqlType::Numeric(None))?);
                let func = if name == "round" { Func::Round } else { Func::Trunc };
                (func, SqlType::Numeric(None))
            }
            "round" | "trunc" | "floor" | "ceil" | "ceiling" if args.len() == 1 => {
                let func = match name.as_str() {
                    "round" => Func::Round,
                    "trunc" => Func::Trunc,
                    "floor" => Func::Floor,
                    _ => Func::Ceil,
                };
                return self.rounding(&name, func, args.remove(0));
            }
            "random" => (Func::Random, SqlType::Float8),
            "version" => (Func::Version, SqlType::Text),
            "current_schema" => (Func::CurrentSchema, SqlType::Text),
            "current_database" | "current_catalog" => (Func::CurrentDatabase, SqlType::Text),
            "current_user" | "session_user" | "user" | "current_role" => {
                (Func::CurrentUser, SqlType::Text)
            }
            "pg_backend_pid" => (Func::BackendPid, SqlType::Int4),
            "txid_current" | "pg_current_xact_id" => (Func::TxidCurrent, SqlType::Int8),
            "pg_table_is_visible"
            | "pg_type_is_visible"
            | "has_table_privilege"
            | "has_schema_privilege"
            | "has_database_privilege" => (Func::ConstTrue, SqlType::Bool),
            "shobj_description"
            | "pg_get_triggerdef"
            | "pg_get_viewdef"
            | "pg_get_statisticsobjdef_columns"
            | "acldefault" => (Func::ConstNull, SqlType::Text),
            "gen_random_uuid" | "uuid_generate_v4" => (Func::GenRandomUuid, SqlType::Uuid),
            n if session_function(n).is_some() => {
                let (f, ty) = session_function(n).expect("matched");
                (Func::Session(f), ty)
            }
            _ => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!(
                        "function {name}({}) does not exist",
                        args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        };
        let ty = if ty == SqlType::Unknown { SqlType::Text } else { ty };
        Ok(BExpr::Func { func, args, ty })
    }

    fn subquery(&mut self, q: &ast::Query, scope: &Scope) -> Result<Arc<SelectPlan>, SqlError> {
        let saved_aggs = self.aggs.take();
        let saved_corr = std::mem::replace(&mut self.correlated, false);
        let saved_windows = self.windows.take();
        self.depth += 1;
        let plan = self.query(q, Some(scope.clone()), None);
        self.depth -= 1;
        self.windows = saved_windows;
        let mut plan = plan?;
        plan.correlated = self.correlated;
        self.aggs = saved_aggs;
        self.correlated = saved_corr;
        Ok(Arc::new(plan))
    }

    /// Binds a query (SELECT, VALUES, set operations). `parent` is the enclosing query's scope.
    pub fn query(
        &mut self,
        q: &ast::Query,
        parent: Option<Scope>,
        lock: Option<Unparsed>,
    ) -> Result<SelectPlan, SqlError> {
        if q.with.is_some() {
            if let Some(plan) = self.driver_type_query(q)? {
                return Ok(plan);
            }
            if let Some(plan) = self.empty_recursive_query(q, parent.clone(), lock)? {
                return Ok(plan);
            }
            return self.query_with(q, parent, lock);
        }
        let mut plan = self.set_expr(&q.body, parent.clone(), q)?;
        // LIMIT / OFFSET
        let empty = Scope::default();
        if let Some(limit) = &q.limit_clause {
            match limit {
                ast::LimitClause::LimitOffset { limit, offset, .. } => {
                    if let Some(l) = limit {
                        plan.limit = Some(self.expr(l, &empty, Some(SqlType::Int8))?);
                    }
                    if let Some(o) = offset {
                        plan.offset = Some(self.expr(&o.value, &empty, Some(SqlType::Int8))?);
                    }
                }
                ast::LimitClause::OffsetCommaLimit { .. } => {
                    return Err(SqlError::syntax("LIMIT #,# syntax is not supported"));
                }
            }
        }
        if let Some(f) = &q.fetch
            && let Some(qty) = &f.quantity
        {
            plan.limit = Some(self.expr(qty, &empty, Some(SqlType::Int8))?);
        }
        if !q.locks.is_empty() {
            let lc = &q.locks[0];
            let mut mode = match lc.lock_type {
                ast::LockType::Update => LockMode::Update,
                ast::LockType::Share => LockMode::Share,
            };
            if let Some(o) = lock {
                mode = match (o, mode) {
                    (Unparsed::NoKeyUpdate, LockMode::Update) => LockMode::NoKeyUpdate,
                    (Unparsed::KeyShare, LockMode::Share) => LockMode::KeyShare,
                    (_, m) => m,
                };
            }
            let policy = match lc.nonblock {
                Some(ast::NonBlock::Nowait) => WaitPolicy::NoWait,
                Some(ast::NonBlock::SkipLocked) => WaitPolicy::SkipLocked,
                None => WaitPolicy::Wait,
            };
            if plan.grouping.is_some()
                || plan.distinct
                || !plan.set_ops.is_empty()
                || !plan.windows.is_empty()
                || !plan.distinct_on.is_empty()
            {
                return Err(SqlError::unsupported(
                    "FOR UPDATE with GROUP BY, DISTINCT or set operations",
                ));
            }
            let of = q.locks.iter().filter_map(|l| l.of.as_ref()).map(object_name).collect();
            plan.locking = Some(Locking { mode, policy, of });
        }
        Ok(plan)
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        parent: Option<Scope>,
        q: &ast::Query,
    ) -> Result<SelectPlan, SqlError> {
        match body {
            SetExpr::Select(select) => self.select(select, parent, q.order_by.as_ref()),
            SetExpr::Query(inner) => {
                let mut plan = self.query(inner, parent, None)?;
                if let Some(ob) = &q.order_by {
                    self.order_outer(&mut plan, ob)?;
                }
                Ok(plan)
            }
            SetExpr::Values(values) => {
                let mut plan = self.values(values, parent)?;
                if let Some(ob) = &q.order_by {
                    self.order_outer(&mut plan, ob)?;
                }
                Ok(plan)
            }
            SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let mut l = self.set_expr(left, parent.clone(), &empty_query())?;
                let r = self.set_expr(right, parent, &empty_query())?;
                if l.columns.len() != r.columns.len() {
                    return Err(SqlError::syntax(
                        "each UNION query must have the same number of columns",
                    ));
                }
                let all = matches!(set_quantifier, ast::SetQuantifier::All);
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Except => SetOp::Except,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    other => return Err(SqlError::unsupported(format!("{other}"))),
                };
                // wrap so that ORDER BY/LIMIT apply to the whole
                l.set_ops.push((op, all, Arc::new(r)));
                let mut outer = wrap_derived(l);
                if let Some(ob) = &q.order_by {
                    self.order_outer(&mut outer, ob)?;
                }
                Ok(outer)
            }
            other => Err(SqlError::unsupported(format!("query {other}"))),
        }
    }

    /// ORDER BY over the output columns of a plan (by name or position).
    fn order_outer(&mut self, plan: &mut SelectPlan, ob: &ast::OrderBy) -> Result<(), SqlError> {
        if !plan.order_by.is_empty() || plan.limit.is_some() {
            *plan = wrap_derived(plan.clone());
        }
        let scope = Scope {
            cols: plan
                .columns
                .iter()
                .map(|(n, t)| ScopeCol {
                    qualifier: None,
                    name: n.clone(),
                    ty: *t,
                    hidden: false,
                    name_typed: false,
                    joined: false,
                })
                .collect(),
            ..Default::default()
        };
        let ast::OrderByKind::Expressions(exprs) = &ob.kind else {
            return Err(SqlError::unsupported("ORDER BY ALL"));
        };
        // the plan's projection is the row the keys are evaluated on only after wrapping
        let wrapped = wrap_derived(plan.clone());
        let mut keys = Vec::new();
        for o in exprs {
            let expr = match &o.expr {
                Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => {
                    let n: usize = v.value.to_string().parse().unwrap_or(0);
                    if n == 0 || n > plan.columns.len() {
                        return Err(SqlError::new(
                            SqlState::InvalidColumnReference,
                            format!("ORDER BY position {n} is not in select list"),
                        ));
                    }
                    BExpr::Column { level: 0, index: n - 1, ty: plan.columns[n - 1].1 }
                }
                e => self.expr(e, &scope, None)?,
            };
            keys.push(sort_key(expr, &o.options));
        }
        *plan = wrapped;
        plan.order_by = keys;
        Ok(())
    }

    fn values(
        &mut self,
        values: &ast::Values,
        parent: Option<Scope>,
    ) -> Result<SelectPlan, SqlError> {
        // VALUES (..), (..) as a UNION ALL of single-row selects
        let scope = Scope { parent: parent.map(Box::new), ..Default::default() };
        let mut rows: Vec<Vec<BExpr>> = Vec::new();
        for row in &values.rows {
            let mut r = Vec::new();
            for e in row.iter() {
                r.push(self.expr(e, &scope, None)?);
            }
            rows.push(r);
        }
        let width = rows.first().map_or(0, |r| r.len());
        let mut types = vec![SqlType::Unknown; width];
        for r in &rows {
            if r.len() != width {
                return Err(SqlError::syntax("VALUES lists must all be the same length"));
            }
            for (t, e) in types.iter_mut().zip(r) {
                *t = SqlType::unify(*t, e.ty());
            }
        }
        let types: Vec<SqlType> = types
            .into_iter()
            .map(|t| if t == SqlType::Unknown { SqlType::Text } else { t })
            .collect();
        let mut plans = Vec::new();
        for r in rows {
            let mut projection = Vec::new();
            for (e, t) in r.into_iter().zip(&types) {
                projection.push(if e.ty() == *t { e } else { self.coerce(e, *t)? });
            }
            plans.push(SelectPlan {
                columns: types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| (format!("column{}", i + 1), *t))
                    .collect(),
                projection,
                ..empty_plan()
            });
        }
        let mut first = plans.remove(0);
        for p in plans {
            first.set_ops.push((SetOp::Union, true, Arc::new(p)));
        }
        Ok(wrap_derived(first))
    }

    /// Converts an expression to a type (assignment rules).
    pub fn coerce(&mut self, e: BExpr, to: SqlType) -> Result<BExpr, SqlError> {
        if e.ty() == to {
            return Ok(e);
        }
        Ok(match e {
            BExpr::Const(v, from) => BExpr::Const(
                cast(v, if from == SqlType::Unknown { SqlType::Text } else { from }, to, false)?,
                to,
            ),
            BExpr::Param(i, SqlType::Unknown) => {
                self.retype_unknown(BExpr::Param(i, SqlType::Unknown), to)?
            }
            other => {
                let from = other.ty();
                let ok = from == SqlType::Unknown
                    || matches!((from, to), (SqlType::Array(_), SqlType::Array(_)))
                    || (from.is_numeric() && to.is_numeric())
                    || (from.is_textual() && (to.is_textual() || to == SqlType::Uuid))
                    || from == to
                    || matches!(
                        (from, to),
                        (
                            SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz,
                            SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
                        ) | (SqlType::Time(_), SqlType::Time(_))
                    )
                    || to.is_textual()
                        && !matches!(to, SqlType::Uuid | SqlType::Json | SqlType::Jsonb);
                if !ok {
                    return Err(SqlError::datatype_mismatch(format!(
                        "column is of type {} but expression is of type {}",
                        to.name(),
                        from.name()
                    )));
                }
                BExpr::Cast { expr: Box::new(other), to, explicit: false }
            }
        })
    }

    fn bind_from_item(
        &mut self,
        t: &TableFactor,
        parent: &Option<Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        match t {
            TableFactor::Table { name, alias, args, .. } => {
                let table_name = object_name(name);
                let alias_name = alias
                    .as_ref()
                    .map(|a| ident_name(&a.name))
                    .unwrap_or_else(|| table_name.clone());
                if args.is_none()
                    && name.0.len() == 1
                    && let Some(found) = self.cte_reference(&table_name, alias.as_ref())?
                {
                    return Ok(found);
                }
                if let Some(args) = args {
                    if table_name != "generate_series" {
                        return self.table_function(t, parent, None);
                    }
                    let empty =
                        Scope { parent: parent.clone().map(Box::new), ..Default::default() };
                    // a series of timestamps when it starts at a date or timestamp (a date
                    // reads as a timestamptz, as PostgreSQL resolves it), stepping by an interval
                    let first = match args.args.first() {
                        Some(ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))) => {
                            Some(self.expr(e, &empty, None)?.ty())
                        }
                        _ => None,
                    };
                    let series_ty = match first {
                        Some(SqlType::Timestamp) => SqlType::Timestamp,
                        Some(SqlType::Timestamptz | SqlType::Date) => SqlType::Timestamptz,
                        _ => SqlType::Int8,
                    };
                    let mut bound = Vec::new();
                    for (i, a) in args.args.iter().enumerate() {
                        match a {
                            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                                let want = if series_ty != SqlType::Int8 && i == 2 {
                                    SqlType::Interval
                                } else {
                                    series_ty
                                };
                                let b = self.expr(e, &empty, Some(want))?;
                                bound.push(if series_ty == SqlType::Int8 {
                                    b
                                } else {
                                    self.coerce(b, want)?
                                })
                            }
                            _ => return Err(SqlError::syntax("bad generate_series argument")),
                        }
                    }
                    if series_ty != SqlType::Int8 && bound.len() != 3 {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            "function generate_series(timestamp, timestamp) does not exist",
                        ));
                    }
                    if !(2..=3).contains(&bound.len()) {
                        return Err(SqlError::new(
                            SqlState::UndefinedFunction,
                            "generate_series takes 2 or 3 arguments",
                        ));
                    }
                    let col = alias
                        .as_ref()
                        .and_then(|a| a.columns.first().map(|c| ident_name(&c.name)))
                        .unwrap_or_else(|| alias_name.clone());
                    let scope = Scope {
                        cols: vec![ScopeCol {
                            qualifier: Some(alias_name),
                            name: col,
                            ty: series_ty,
                            hidden: false,
                            name_typed: false,
                            joined: false,
                        }],
                        ..Default::default()
                    };
                    return Ok((Source::Series(bound), scope));
                }
                let schema_name = object_schema(name);
                if schema_name.as_deref().is_none_or(|s| s == "public")
                    && let Some(view) = self.schema.views.get(&table_name).cloned()
                {
                    return self.view_reference(&view, alias.as_ref());
                }
                if let Some(view) = SystemView::lookup(schema_name.as_deref(), &table_name) {
                    let scope = Scope {
                        cols: view
                            .columns()
                            .into_iter()
                            .map(|(n, ty)| ScopeCol {
                                qualifier: Some(alias_name.clone()),
                                name: n.to_string(),
                                ty,
                                hidden: n == crate::sql::system::TABLEOID,
                                name_typed: view.is_name_column(n),
                                joined: false,
                            })
                            .collect(),
                        ..Default::default()
                    };
                    return Ok((Source::System(view), scope));
                }
                if schema_name.as_deref().is_some_and(|s| s != "public") {
                    return Err(SqlError::undefined_table(&name.to_string()));
                }
                if self.schema.table(&table_name).is_none()
                    && let Some(seq) = self.schema.sequence(&table_name)
                {
                    let col = |name: &str, ty| ScopeCol {
                        qualifier: Some(alias_name.clone()),
                        name: name.to_string(),
                        ty,
                        hidden: false,
                        name_typed: false,
                        joined: false,
                    };
                    let cols = vec![
                        col("last_value", SqlType::Int8),
                        col("log_cnt", SqlType::Int8),
                        col("is_called", SqlType::Bool),
                    ];
                    return Ok((
                        Source::Sequence(seq.clone()),
                        Scope { cols, ..Default::default() },
                    ));
                }
                let table = self.use_table(&table_name)?;
                let scope = Scope::of_table(&table, &alias_name);
                Ok((Source::Table { table, access: Access::Scan, alias: alias_name }, scope))
            }
            TableFactor::Derived { subquery, alias, .. } => {
                let saved = self.aggs.take();
                let plan = self.query(subquery, parent.clone(), None)?;
                self.aggs = saved;
                let alias_name = alias.as_ref().map(|a| ident_name(&a.name));
                let renames: Vec<String> = alias
                    .as_ref()
                    .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
                    .unwrap_or_default();
                let scope = Scope {
                    cols: plan
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, (n, t))| ScopeCol {
                            qualifier: alias_name.clone(),
                            name: renames.get(i).cloned().unwrap_or_else(|| n.clone()),
                            ty: *t,
                            hidden: false,
                            name_typed: false,
                            joined: false,
                        })
                        .collect(),
                    ..Default::default()
                };
                Ok((Source::Derived(Arc::new(plan)), scope))
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => {
                self.bind_from_joins(table_with_joins, parent)
            }
            TableFactor::NestedJoin { table_with_joins, alias: Some(alias) } => {
                self.aliased_join(table_with_joins, alias, parent)
            }
            TableFactor::UNNEST {
                alias, array_exprs, with_offset: false, with_ordinality, ..
            } => self.unnest(array_exprs, alias.as_ref(), *with_ordinality, parent, None),
            other => Err(SqlError::unsupported(format!("FROM item {other}"))),
        }
    }

    fn bind_from_joins(
        &mut self,
        twj: &ast::TableWithJoins,
        parent: &Option<Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        let (mut source, mut scope) = self.bind_from_item(&twj.relation, parent)?;
        for join in &twj.joins {
            let (right, rscope) = self.bind_from_item_after(&join.relation, parent, &scope)?;
            let right_width = rscope.cols.len();
            let (left_width, left_merged) = (scope.cols.len(), scope.merged.cols.len());
            let natural = using::natural_names(&scope, &rscope);
            let mut combined = scope.clone().beside(rscope);
            combined.parent = parent.clone().map(Box::new);
            use ast::JoinOperator as J;
            use using::JoinKind as K;
            let (kind, constraint) = match &join.join_operator {
                J::Join(c) | J::Inner(c) => (K::Inner, Some(c)),
                J::Left(c) | J::LeftOuter(c) => (K::Left, Some(c)),
                J::Right(c) | J::RightOuter(c) => (K::Right, Some(c)),
                J::FullOuter(c) => (K::Full, Some(c)),
                J::CrossJoin(_) => (K::Inner, None),
                other => {
                    return Err(SqlError::unsupported(
                        format!("join {other:?}").split('(').next().unwrap_or("join").to_string(),
                    ));
                }
            };
            let (left_outer, right_outer) =
                (matches!(kind, K::Left | K::Full), matches!(kind, K::Right | K::Full));
            let on = match constraint {
                Some(ast::JoinConstraint::On(e)) => {
                    Some(self.expr(e, &combined, Some(SqlType::Bool))?)
                }
                Some(ast::JoinConstraint::Using(cols)) => {
                    let names: Vec<String> = cols.iter().map(object_name).collect();
                    self.using_join(&mut combined, left_width, left_merged, &names, kind)?
                }
                Some(ast::JoinConstraint::Natural) => {
                    self.using_join(&mut combined, left_width, left_merged, &natural, kind)?
                }
                Some(ast::JoinConstraint::None) | None => None,
            };
            combined.parent = None;
            if right_outer && matches!(right, Source::Lateral(_)) {
                return Err(SqlError::new(
                    SqlState::InvalidColumnReference,
                    "invalid reference to FROM-clause entry: the combining JOIN type must be INNER or LEFT for a LATERAL reference",
                ));
            }
            let right_outer = right_outer.then_some(scope.cols.len());
            source = Source::Join {
                left: Box::new(source),
                right: Box::new(right),
                left_outer,
                right_outer,
                on,
                right_width,
            };
            scope = combined;
        }
        Ok((source, scope))
    }

    fn select(
        &mut self,
        s: &ast::Select,
        parent: Option<Scope>,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<SelectPlan, SqlError> {
        if let Some(moved) = table_functions::select_list_srfs(s) {
            return self.select(&moved, parent, order_by);
        }
        let outer_windows = self.windows.take();
        let outer_named = std::mem::replace(&mut self.named_windows, window::named_windows(s));
        let plan = self.select_inner(s, parent, order_by);
        self.windows = outer_windows;
        self.named_windows = outer_named;
        plan
    }

    /// The FROM list: its items cross-joined (a LATERAL item, `unnest` or table function
    /// after the first reads the items before it).
    fn bind_from_list(
        &mut self,
        from: &[ast::TableWithJoins],
        parent: &Option<Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        let Some(first) = from.first() else { return Ok((Source::Single, Scope::default())) };
        let (mut src, mut sc) = self.bind_from_joins(first, parent)?;
        for more in &from[1..] {
            let (r, rs) = match &more.relation {
                u @ (TableFactor::UNNEST { .. }
                | TableFactor::Table { args: Some(_), .. }
                | TableFactor::Derived { lateral: true, .. })
                    if more.joins.is_empty() =>
                {
                    self.bind_from_item_after(u, parent, &sc)?
                }
                _ => self.bind_from_joins(more, parent)?,
            };
            let right_width = rs.cols.len();
            sc = sc.beside(rs);
            src = Source::Join {
                left: Box::new(src),
                right: Box::new(r),
                left_outer: false,
                right_outer: None,
                on: None,
                right_width,
            };
        }
        Ok((src, sc))
    }

    fn select_inner(
        &mut self,
        s: &ast::Select,
        parent: Option<Scope>,
        order_by: Option<&ast::OrderBy>,
    ) -> Result<SelectPlan, SqlError> {
        // FROM
        let (mut source, mut scope) = self.bind_from_list(&s.from, &parent)?;
        scope.parent = parent.map(Box::new);

        // WHERE
        let filter = match &s.selection {
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
        if let Some(f) = &filter {
            choose_access(&mut source, f, 0);
        }

        // projection (with aggregates and window functions collected)
        self.aggs = Some(Vec::new());
        self.windows = Some(Vec::new());
        let mut projection = Vec::new();
        let mut columns = Vec::new();
        for item in &s.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    if scope.cols.is_empty() {
                        return Err(SqlError::syntax(
                            "SELECT * with no tables specified is not valid",
                        ));
                    }
                    for (e, name, ty) in scope.star_columns() {
                        projection.push(e);
                        columns.push((name, ty));
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => object_name(n),
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => e.to_string(),
                    };
                    let mut any = false;
                    for (i, c) in
                        scope.cols.iter().enumerate().filter(|(_, c)| {
                            !c.hidden && c.qualifier.as_deref() == Some(q.as_str())
                        })
                    {
                        projection.push(BExpr::Column { level: 0, index: i, ty: c.ty });
                        columns.push((c.name.clone(), c.ty));
                        any = true;
                    }
                    if !any {
                        return Err(SqlError::new(
                            SqlState::UndefinedTable,
                            format!("missing FROM-clause entry for table \"{q}\""),
                        ));
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    let b = self.expr(e, &scope, None)?;
                    columns.push((default_column_name(e), output_type(b.ty())));
                    projection.push(b);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.expr(expr, &scope, None)?;
                    columns.push((ident_name(alias), output_type(b.ty())));
                    projection.push(b);
                }
                other => return Err(SqlError::unsupported(format!("select item {other}"))),
            }
        }
        let windows_so_far = self.windows.take();
        let having = match &s.having {
            Some(h) => Some(self.expr(h, &scope, Some(SqlType::Bool))?),
            None => None,
        };
        self.windows = windows_so_far;
        // ORDER BY: output names and positions first, then input expressions
        let mut order = Vec::new();
        if let Some(ob) = order_by {
            let ast::OrderByKind::Expressions(exprs) = &ob.kind else {
                return Err(SqlError::unsupported("ORDER BY ALL"));
            };
            for o in exprs {
                let by_output = match &o.expr {
                    Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => {
                        let n: usize = v.value.to_string().parse().unwrap_or(0);
                        if n == 0 || n > projection.len() {
                            return Err(SqlError::new(
                                SqlState::InvalidColumnReference,
                                format!("ORDER BY position {n} is not in select list"),
                            ));
                        }
                        Some(projection[n - 1].clone())
                    }
                    Expr::Identifier(id) => {
                        let n = ident_name(id);
                        let in_input = scope.cols.iter().any(|c| c.name == n);
                        columns
                            .iter()
                            .position(|(c, _)| *c == n)
                            .filter(|_| {
                                !in_input
                                    || s.group_by != ast::GroupByExpr::Expressions(vec![], vec![])
                            })
                            .map(|i| projection[i].clone())
                    }
                    _ => None,
                };
                let expr = match by_output {
                    Some(e) => e,
                    None => self.expr(&o.expr, &scope, None)?,
                };
                order.push(sort_key(expr, &o.options));
            }
        }
        let windows = self.windows.take().unwrap_or_default();
        let distinct_on = match &s.distinct {
            Some(ast::Distinct::On(exprs)) => {
                self.distinct_on(exprs, &scope, &projection, &columns, &order)?
            }
            _ => vec![],
        };
        let aggs = self.aggs.take().unwrap_or_default();
        let in_aggregate = aggs.iter().flat_map(|a| a.args.iter().chain(&a.filter));
        if in_aggregate.clone().any(window::has_window_ref) {
            return Err(SqlError::new(
                SqlState::GroupingError,
                "aggregate function calls cannot contain window function calls",
            ));
        }

        // GROUP BY
        let (group_exprs, grouping_sets) = match &s.group_by {
            ast::GroupByExpr::Expressions(exprs, _) => {
                self.group_by_keys(exprs, &scope, &projection, &columns)?
            }
            ast::GroupByExpr::All(_) => return Err(SqlError::unsupported("GROUP BY ALL")),
        };
        let group_exprs = if grouping_sets.is_empty() {
            with_dependent_columns(&source, scope.cols.len(), group_exprs)
        } else {
            group_exprs
        };
        grouping_sets::check_grouping_calls(&aggs, &group_exprs)?;
        let grouped = !aggs.is_empty()
            || !group_exprs.is_empty()
            || having.is_some()
            || !grouping_sets.is_empty();
        let (grouping, projection, having, order, distinct_on, windows) = if grouped {
            let nkeys = group_exprs.len();
            let place = |e: BExpr| place_grouped(e, &group_exprs, nkeys);
            let projection = projection.into_iter().map(place).collect::<Result<Vec<_>, _>>()?;
            let having = having.map(place).transpose()?;
            let order = order
                .into_iter()
                .map(|k| Ok(SortKey { expr: place(k.expr)?, ..k }))
                .collect::<Result<Vec<_>, SqlError>>()?;
            let distinct_on = distinct_on.into_iter().map(place).collect::<Result<Vec<_>, _>>()?;
            let windows = windows
                .into_iter()
                .map(|w| window::place_window_call(w, &group_exprs, nkeys))
                .collect::<Result<Vec<_>, _>>()?;
            let grouping = Grouping { keys: group_exprs, aggs, sets: grouping_sets };
            (Some(grouping), projection, having, order, distinct_on, windows)
        } else {
            (None, projection, having, order, distinct_on, windows)
        };
        let (projection, order) = if windows.is_empty() {
            (projection, order)
        } else {
            let base = match &grouping {
                Some(g) => g.keys.len() + g.aggs.len(),
                None => scope.cols.len(),
            };
            let projection: Vec<BExpr> =
                projection.into_iter().map(|e| window::place_window_refs(e, base)).collect();
            let order: Vec<SortKey> = order
                .into_iter()
                .map(|k| SortKey { expr: window::place_window_refs(k.expr, base), ..k })
                .collect();
            let unplaced = projection.iter().chain(order.iter().map(|k| &k.expr));
            if unplaced.clone().any(window::has_window_ref) {
                return Err(SqlError::unsupported("a window function inside this expression"));
            }
            (projection, order)
        };
        let distinct = match &s.distinct {
            None | Some(ast::Distinct::All) | Some(ast::Distinct::On(_)) => false,
            Some(ast::Distinct::Distinct) => true,
        };
        Ok(SelectPlan {
            source,
            filter,
            grouping,
            having,
            projection,
            columns,
            distinct,
            order_by: order,
            limit: None,
            offset: None,
            locking: None,
            correlated: false,
            set_ops: vec![],
            windows,
            distinct_on,
        })
    }

    /// Binds the rules every written row of `table` must satisfy.
    /// COPY `table` (`columns`; all visible ones when empty) FROM STDIN.
    pub fn copy_from(&mut self, table: &str, columns: &[String]) -> Result<CopyPlan, SqlError> {
        let table = self.use_table(table)?;
        let targets: Vec<usize> = if columns.is_empty() {
            table.visible().map(|(i, _)| i).collect()
        } else {
            columns
                .iter()
                .map(|n| table.column_index(n).ok_or_else(|| SqlError::undefined_column(n)))
                .collect::<Result<_, _>>()?
        };
        let mut given = vec![false; table.columns.len()];
        for &col in &targets {
            given[col] = true;
        }
        let rules = self.row_rules(&table)?;
        let insert = InsertPlan {
            table,
            targets,
            source: InsertSource::Values(Vec::new()),
            on_conflict: None,
            rules,
            returning: None,
        };
        Ok(CopyPlan { insert, given })
    }

    pub fn row_rules(&mut self, table: &TableSchema) -> Result<RowRules, SqlError> {
        let empty = Scope::default();
        let mut defaults = Vec::new();
        for c in &table.columns {
            defaults.push(match &c.default {
                Some(d) => {
                    let b = self.expr(d, &empty, Some(c.ty))?;
                    Some(self.coerce(b, c.ty)?)
                }
                None => None,
            });
        }
        let scope = Scope::of_table(table, &table.name);
        let mut checks = Vec::new();
        for (name, e) in &table.checks {
            checks.push((name.clone(), self.expr(e, &scope, Some(SqlType::Bool))?));
        }
        Ok(RowRules { defaults, checks })
    }

    /// Binds RETURNING items over a table's row.
    pub fn returning(
        &mut self,
        items: &[SelectItem],
        scope: &Scope,
    ) -> Result<Returning, SqlError> {
        let mut exprs = Vec::new();
        let mut cols = Vec::new();
        for item in items {
            match item {
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
                    // `t.*` names one table's columns (UPDATE ... FROM has several)
                    let qualifier = match item {
                        SelectItem::QualifiedWildcard(
                            ast::SelectItemQualifiedWildcardKind::ObjectName(n),
                            _,
                        ) => Some(object_name(n)),
                        _ => None,
                    };
                    if qualifier.is_none() {
                        for (e, name, ty) in scope.star_columns() {
                            exprs.push(e);
                            cols.push((name, ty));
                        }
                    }
                    let visible = scope.cols.iter().enumerate().filter(|(_, c)| {
                        !c.hidden
                            && qualifier.as_ref().is_some_and(|q| c.qualifier.as_ref() == Some(q))
                    });
                    for (i, c) in visible {
                        exprs.push(BExpr::Column { level: 0, index: i, ty: c.ty });
                        cols.push((c.name.clone(), c.ty));
                    }
                }
                SelectItem::UnnamedExpr(e) => {
                    let b = self.expr(e, scope, None)?;
                    cols.push((default_column_name(e), output_type(b.ty())));
                    exprs.push(b);
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    let b = self.expr(expr, scope, None)?;
                    cols.push((ident_name(alias), output_type(b.ty())));
                    exprs.push(b);
                }
                other => return Err(SqlError::unsupported(format!("RETURNING {other}"))),
            }
        }
        Ok((exprs, cols))
    }

    /// Binds an INSERT; `overriding`: its `OVERRIDING {SYSTEM | USER} VALUE`, if any.
    pub fn insert(
        &mut self,
        ins: &ast::Insert,
        overriding: Option<Unparsed>,
    ) -> Result<InsertPlan, SqlError> {
        let ast::TableObject::TableName(name) = &ins.table else {
            return Err(SqlError::unsupported("INSERT into a table function"));
        };
        let table_name = object_name(name);
        let table = self.use_table(&table_name)?;
        let mut targets: Vec<usize> = if ins.columns.is_empty() {
            table.visible().map(|(i, _)| i).collect()
        } else {
            let mut t = Vec::new();
            for c in &ins.columns {
                let n = object_name(c);
                let i = table
                    .column_index(&n)
                    .filter(|i| !table.columns[*i].hidden && !table.columns[*i].dropped)
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState::UndefinedColumn,
                            format!("column \"{n}\" of relation \"{table_name}\" does not exist"),
                        )
                    })?;
                if t.contains(&i) {
                    return Err(SqlError::new(
                        SqlState::DuplicateColumn,
                        format!("column \"{n}\" specified more than once"),
                    ));
                }
                t.push(i);
            }
            t
        };
        let source = match ins.source.as_deref() {
            None => InsertSource::Values(vec![vec![None; targets.len()]]),
            Some(q) => match q.body.as_ref() {
                SetExpr::Values(values) if q.order_by.is_none() && q.limit_clause.is_none() => {
                    let width = values.rows.first().map_or(0, |row| row.len());
                    if values.rows.iter().any(|row| row.len() != width) {
                        return Err(SqlError::syntax("VALUES lists must all be the same length"));
                    }
                    // Without a column list, fewer values fill the first columns (the rest
                    // take their defaults), as PostgreSQL does.
                    if ins.columns.is_empty() && width < targets.len() {
                        targets.truncate(width);
                    }
                    let empty = Scope::default();
                    let mut rows = Vec::new();
                    for row in &values.rows {
                        if row.len() > targets.len() {
                            return Err(SqlError::syntax(
                                "INSERT has more expressions than target columns",
                            ));
                        }
                        if row.len() < targets.len() {
                            return Err(SqlError::syntax(
                                "INSERT has more target columns than expressions",
                            ));
                        }
                        let mut r = Vec::new();
                        for (e, &col) in row.iter().zip(&targets) {
                            let ty = table.columns[col].ty;
                            let default = matches!(e, Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default") && id.quote_style.is_none());
                            if default || identity_value(&table, col, overriding)? {
                                r.push(None);
                                continue;
                            }
                            let b = self.expr(e, &empty, Some(ty))?;
                            r.push(Some(self.coerce(b, ty)?));
                        }
                        rows.push(r);
                    }
                    InsertSource::Values(rows)
                }
                _ => {
                    let plan = self.query(q, None, None)?;
                    if ins.columns.is_empty() && plan.columns.len() < targets.len() {
                        targets.truncate(plan.columns.len());
                    }
                    for &col in &targets {
                        if identity_value(&table, col, overriding)? {
                            return Err(SqlError::unsupported(
                                "OVERRIDING USER VALUE with INSERT ... SELECT",
                            ));
                        }
                    }
                    if plan.columns.len() > targets.len() {
                        return Err(SqlError::syntax(
                            "INSERT has more expressions than target columns",
                        ));
                    }
                    if plan.columns.len() < targets.len() {
                        return Err(SqlError::syntax(
                            "INSERT has more target columns than expressions",
                        ));
                    }
                    InsertSource::Query(Arc::new(plan))
                }
            },
        };
        let alias = ins
            .table_alias
            .as_ref()
            .map(|a| ident_name(&a.alias))
            .unwrap_or_else(|| table_name.clone());
        let on_conflict = match &ins.on {
            None => None,
            Some(ast::OnInsert::OnConflict(oc)) => Some(match &oc.action {
                ast::OnConflictAction::DoNothing => OnConflict { update: None },
                ast::OnConflictAction::DoUpdate(du) => {
                    let mut scope = Scope::of_table(&table, &alias);
                    scope.cols.extend(Scope::of_table(&table, "excluded").cols);
                    let mut sets = Vec::new();
                    for a in &du.assignments {
                        sets.extend(self.assignment(a, &table, &scope)?);
                    }
                    let cond = match &du.selection {
                        Some(w) => Some(self.expr(w, &scope, Some(SqlType::Bool))?),
                        None => None,
                    };
                    OnConflict { update: Some((sets, cond)) }
                }
            }),
            Some(_) => return Err(SqlError::unsupported("ON DUPLICATE KEY")),
        };
        let rules = self.row_rules(&table)?;
        let returning = match &ins.returning {
            Some(items) => Some(self.returning(items, &Scope::of_table(&table, &alias))?),
            None => None,
        };
        self.use_related_tables(&table);
        Ok(InsertPlan { table, targets, source, on_conflict, rules, returning })
    }

    fn assignment(
        &mut self,
        a: &ast::Assignment,
        table: &TableSchema,
        scope: &Scope,
    ) -> Result<Vec<(usize, BExpr)>, SqlError> {
        let ast::AssignmentTarget::ColumnName(col) = &a.target else {
            return Err(SqlError::unsupported("tuple assignment"));
        };
        let n = object_name(col);
        let i = table
            .column_index(&n)
            .filter(|i| !table.columns[*i].hidden && !table.columns[*i].dropped)
            .ok_or_else(|| {
                SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{n}\" of relation \"{}\" does not exist", table.name),
                )
            })?;
        let ty = table.columns[i].ty;
        let value = if matches!(&a.value, Expr::Identifier(id) if id.value.eq_ignore_ascii_case("default") && id.quote_style.is_none())
        {
            match &table.columns[i].default {
                Some(d) => self.expr(d, &Scope::default(), Some(ty))?,
                None => BExpr::Const(Value::Null, ty),
            }
        } else if table.columns[i].identity == Some(Identity::Always) {
            return Err(SqlError::new(
                SqlState::GeneratedAlways,
                format!("column \"{n}\" can only be updated to DEFAULT"),
            )
            .with_detail(format!(
                "Column \"{n}\" is an identity column defined as GENERATED ALWAYS."
            )));
        } else {
            self.expr(&a.value, scope, Some(ty))?
        };
        Ok(vec![(i, self.coerce(value, ty)?)])
    }

    pub fn update(&mut self, u: &ast::Update) -> Result<ModifyPlan, SqlError> {
        if !u.table.joins.is_empty() {
            return Err(SqlError::unsupported("UPDATE of a join"));
        }
        if let Some(
            ast::UpdateTableFromKind::AfterSet(from) | ast::UpdateTableFromKind::BeforeSet(from),
        ) = &u.from
        {
            return self.modify_from_plan(
                &u.table.relation,
                from,
                u.selection.as_ref(),
                Some(&u.assignments),
                u.returning.as_deref(),
            );
        }
        let (table, alias) = self.target_table(&u.table.relation)?;
        let scope = Scope::of_table(&table, &alias);
        let mut sets = Vec::new();
        for a in &u.assignments {
            sets.extend(self.assignment(a, &table, &scope)?);
        }
        self.modify_plan(table, alias, u.selection.as_ref(), Some(sets), u.returning.as_deref())
    }

    pub fn delete(&mut self, d: &ast::Delete) -> Result<ModifyPlan, SqlError> {
        let from = match &d.from {
            ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
        };
        if from.len() != 1 || !from[0].joins.is_empty() {
            return Err(SqlError::unsupported("DELETE from several tables"));
        }
        if let Some(using) = &d.using {
            return self.modify_from_plan(
                &from[0].relation,
                using,
                d.selection.as_ref(),
                None,
                d.returning.as_deref(),
            );
        }
        let (table, alias) = self.target_table(&from[0].relation)?;
        self.modify_plan(table, alias, d.selection.as_ref(), None, d.returning.as_deref())
    }

    fn target_table(&mut self, t: &TableFactor) -> Result<(Arc<TableSchema>, String), SqlError> {
        let TableFactor::Table { name, alias, .. } = t else {
            return Err(SqlError::unsupported("this target"));
        };
        let n = object_name(name);
        let table = self.use_table(&n)?;
        let alias = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or(n);
        Ok((table, alias))
    }

    fn modify_plan(
        &mut self,
        table: Arc<TableSchema>,
        alias: String,
        selection: Option<&Expr>,
        assignments: Option<Vec<(usize, BExpr)>>,
        returning: Option<&[SelectItem]>,
    ) -> Result<ModifyPlan, SqlError> {
        let scope = Scope::of_table(&table, &alias);
        let filter = match selection {
            Some(w) => Some(self.expr(w, &scope, Some(SqlType::Bool))?),
            None => None,
        };
        let mut source = Source::Table { table: table.clone(), access: Access::Scan, alias };
        if let Some(f) = &filter {
            choose_access(&mut source, f, 0);
        }
        let Source::Table { access, .. } = source else { unreachable!("built above") };
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
            from: None,
        })
    }
}
impl Binder<'_> {
    /// A cast to an object identifier type (`regclass`, `regtype`, ...): a name becomes the
    /// object's oid; an oid read from a row becomes the object's name (isola has no such
    /// types: such a value compares as an oid and prints as a name, as PostgreSQL's do).
    fn reg_cast(&mut self, e: &Expr, kind: &str, scope: &Scope) -> Result<BExpr, SqlError> {
        let inner = self.expr(e, scope, None)?;
        // already of that type (`CAST($1::REGCLASS AS REGCLASS)`, as SQLAlchemy's asyncpg
        // dialect writes it): nothing more to do
        let same = match &inner {
            BExpr::Func { func: Func::Catalog(f), .. } => matches!(
                (kind, f),
                ("regclass", CatalogFn::RegclassIn | CatalogFn::ToRegclass)
                    | ("regtype", CatalogFn::RegtypeIn | CatalogFn::ToRegtype)
            ),
            _ => false,
        };
        if same {
            return Ok(inner);
        }
        let textual = inner.ty() == SqlType::Unknown || inner.ty().is_textual();
        let constant = matches!(inner, BExpr::Const(..) | BExpr::Param(..));
        let (func, ty) = match (kind, textual) {
            ("regclass", true) => (CatalogFn::RegclassIn, SqlType::Int8),
            ("regtype", true) => (CatalogFn::RegtypeIn, SqlType::Int8),
            ("regnamespace", true) => (CatalogFn::RegnamespaceIn, SqlType::Int8),
            // a catalog column that is a name here and a `regproc` (say) in PostgreSQL, which
            // prints as that name: `amhandler::regproc`
            (_, true) if !constant => {
                return Ok(BExpr::Cast {
                    expr: Box::new(inner),
                    to: SqlType::Text,
                    explicit: true,
                });
            }
            (_, true) => return Err(SqlError::unsupported(format!("a name cast to {kind}"))),
            (_, false) if constant => {
                return Ok(BExpr::Cast {
                    expr: Box::new(inner),
                    to: SqlType::Int8,
                    explicit: true,
                });
            }
            ("regclass", false) => (CatalogFn::RegclassOut, SqlType::Text),
            ("regtype", false) => (CatalogFn::RegtypeOut, SqlType::Text),
            ("regnamespace", false) => (CatalogFn::RegnamespaceOut, SqlType::Text),
            (_, false) => {
                return Ok(BExpr::Cast {
                    expr: Box::new(inner),
                    to: SqlType::Text,
                    explicit: true,
                });
            }
        };
        let arg = if textual { self.coerce(inner, SqlType::Text)? } else { inner };
        Ok(BExpr::Func { func: Func::Catalog(func), args: vec![arg], ty })
    }
}

/// A character(n) value as text (its padding dropped); any other expression as it is.
/// An enum operand of `||` as its label (the stored value is the label's sort order).
fn labelled(e: BExpr) -> BExpr {
    if matches!(e.ty(), SqlType::Enum(_) | SqlType::Array(SqlType::Enum(_))) {
        BExpr::Cast { expr: Box::new(e), to: SqlType::Text, explicit: false }
    } else {
        e
    }
}

/// A comparison's operands as PostgreSQL compares them when one is character(n): against
/// text as text, the padding dropped (bpchar to text); against character(m) or varchar as
/// character, trailing spaces of neither side counting (`'b '::varchar = 'b'::char(3)`, and
/// `char(3) = char(5)`); two character(n) of one length as they are.
pub(super) fn char_operands(l: BExpr, r: BExpr, ty: SqlType) -> (BExpr, BExpr, SqlType) {
    match char_rule(l.ty(), r.ty()) {
        None => (l, r, ty),
        Some(trim) => (char_operand(l, trim), char_operand(r, trim), SqlType::Text),
    }
}

/// How two types compare when one is character(n) (`char_operands`): `None` as they are,
/// `Some(true)` as text with trailing spaces trimmed from both, `Some(false)` as text with
/// the padding dropped.
fn char_rule(lt: SqlType, rt: SqlType) -> Option<bool> {
    let padded = |t: SqlType| matches!(t, SqlType::Char(_));
    match (lt, rt) {
        (SqlType::Char(a), SqlType::Char(b)) if a == b => None,
        (SqlType::Char(_), SqlType::Char(_) | SqlType::Varchar(_))
        | (SqlType::Varchar(_), SqlType::Char(_)) => Some(true),
        (SqlType::Text, _) | (_, SqlType::Text) if padded(lt) || padded(rt) => Some(false),
        _ => None,
    }
}

/// A subject compared with column `i` of a subquery's rows (IN, ANY, ALL, a row against a
/// subquery), character(n) on either side compared as `=` compares it (`char_operands`):
/// the subject and the subquery's column (but a set operation's) then read as text. Returns
/// the subject and the comparison type (`ty` when nothing changes).
pub(super) fn char_against_column(
    subject: BExpr,
    plan: &mut Arc<SelectPlan>,
    i: usize,
    ty: SqlType,
) -> (BExpr, SqlType) {
    let Some(col_ty) = plan.columns.get(i).map(|c| c.1) else { return (subject, ty) };
    let Some(trim) = char_rule(subject.ty(), col_ty) else { return (subject, ty) };
    if !plan.set_ops.is_empty() || plan.projection.len() != plan.columns.len() {
        return (subject, ty);
    }
    let p = Arc::make_mut(plan);
    let column = p.projection[i].clone();
    p.projection[i] = char_operand(column, trim);
    p.columns[i].1 = SqlType::Text;
    (char_operand(subject, trim), SqlType::Text)
}

/// One operand as `char_rule` compares it.
fn char_operand(e: BExpr, trim: bool) -> BExpr {
    match e.ty() {
        SqlType::Char(_) => unpadded(e),
        SqlType::Varchar(_) if trim => {
            BExpr::Func { func: Func::RTrim, args: vec![e], ty: SqlType::Text }
        }
        _ => e,
    }
}

pub(super) fn unpadded(e: BExpr) -> BExpr {
    if matches!(e.ty(), SqlType::Char(_)) {
        BExpr::Cast { expr: Box::new(e), to: SqlType::Text, explicit: false }
    } else {
        e
    }
}

/// Whether a value given for column `col` in an INSERT is to be ignored (the column's identity
/// sequence gives it instead): `OVERRIDING USER VALUE` of an identity column. A GENERATED
/// ALWAYS identity column takes a given value only with `OVERRIDING SYSTEM VALUE` (428C9
/// otherwise, as PostgreSQL answers; COPY is not an INSERT and takes it).
fn identity_value(
    table: &TableSchema,
    col: usize,
    overriding: Option<Unparsed>,
) -> Result<bool, SqlError> {
    let column = &table.columns[col];
    match (column.identity, overriding) {
        (Some(_), Some(Unparsed::OverridingUserValue)) => Ok(true),
        (Some(Identity::Always), Some(Unparsed::OverridingSystemValue)) => Ok(false),
        (Some(Identity::Always), _) => Err(SqlError::new(
            SqlState::GeneratedAlways,
            format!("cannot insert a non-DEFAULT value into column \"{}\"", column.name),
        )
        .with_detail(format!(
            "Column \"{}\" is an identity column defined as GENERATED ALWAYS.",
            column.name
        ))),
        _ => Ok(false),
    }
}

/// The object identifier type a cast names (`pg_catalog.regclass` → `regclass`), if it is one.
fn reg_type_cast(type_name: &str) -> Option<&'static str> {
    let lower = type_name.trim().to_ascii_lowercase();
    let name = lower.strip_prefix("pg_catalog.").unwrap_or(&lower);
    ["regclass", "regtype", "regnamespace", "regproc", "regprocedure", "regrole", "regoper"]
        .into_iter()
        .find(|k| *k == name)
}

/// The internal name `generate_subscripts` in FROM is bound by: the array of the subscripts.
pub(super) const SUBSCRIPTS_ARRAY: &str = "isola_subscripts_array";

/// The catalog functions by name, with their result types.
fn catalog_function(name: &str) -> Option<(CatalogFn, SqlType)> {
    use CatalogFn as F;
    Some(match name {
        "format_type" => (F::FormatType, SqlType::Text),
        "pg_get_userbyid" => (F::GetUserById, SqlType::Text),
        "pg_get_expr" => (F::GetExpr, SqlType::Text),
        "pg_get_constraintdef" => (F::GetConstraintDef, SqlType::Text),
        "pg_get_indexdef" => (F::GetIndexDef, SqlType::Text),
        "obj_description" => (F::ObjDescription, SqlType::Text),
        "col_description" => (F::ColDescription, SqlType::Text),
        "pg_encoding_to_char" => (F::EncodingToChar, SqlType::Text),
        "current_schemas" => (F::CurrentSchemas, crate::sql::types::array_of(SqlType::Text)),
        "set_config" => (F::SetConfig, SqlType::Text),
        "pg_relation_size" | "pg_total_relation_size" | "pg_table_size" | "pg_indexes_size" => {
            (F::RelationSize, SqlType::Int8)
        }
        "to_regclass" => (F::ToRegclass, SqlType::Int8),
        "to_regtype" => (F::ToRegtype, SqlType::Int8),
        "pg_partition_ancestors" => (F::PartitionAncestors, SqlType::Int8),
        "pg_is_in_recovery" => (F::InRecovery, SqlType::Bool),
        "pg_relation_is_publishable" => (F::False, SqlType::Bool),
        "pg_collation_is_visible" | "pg_function_is_visible" | "pg_opclass_is_visible" => {
            (F::True, SqlType::Bool)
        }
        "json_build_object" => (F::JsonBuildObject, SqlType::Json),
        "quote_ident" => (F::QuoteIdent, SqlType::Text),
        "quote_literal" => (F::QuoteLiteral, SqlType::Text),
        "pg_size_pretty" => (F::SizePretty, SqlType::Text),
        // `generate_subscripts` in FROM, as an array to unnest (`bind/table_functions.rs`)
        SUBSCRIPTS_ARRAY => (F::Subscripts, crate::sql::types::array_of(SqlType::Int4)),
        // `pg_options_to_table` in FROM (`bind/table_functions.rs`)
        table_functions::OPTION_NAMES => {
            (F::OptionNames, crate::sql::types::array_of(SqlType::Text))
        }
        table_functions::OPTION_VALUES => {
            (F::OptionValues, crate::sql::types::array_of(SqlType::Text))
        }
        _ => return None,
    })
}

fn empty_query() -> ast::Query {
    ast::Query {
        with: None,
        body: Box::new(SetExpr::Values(ast::Values {
            explicit_row: false,
            value_keyword: false,
            rows: vec![],
        })),
        order_by: None,
        limit_clause: None,
        fetch: None,
        locks: vec![],
        for_clause: None,
        settings: None,
        format_clause: None,
        pipe_operators: vec![],
    }
}

pub(super) fn empty_plan() -> SelectPlan {
    SelectPlan {
        source: Source::Single,
        filter: None,
        grouping: None,
        having: None,
        projection: vec![],
        columns: vec![],
        distinct: false,
        order_by: vec![],
        limit: None,
        offset: None,
        locking: None,
        correlated: false,
        set_ops: vec![],
        windows: vec![],
        distinct_on: vec![],
    }
}

/// A plan reading another plan's output as its source (`SELECT * FROM (plan)`).
fn wrap_derived(inner: SelectPlan) -> SelectPlan {
    let columns = inner.columns.clone();
    let correlated = inner.correlated;
    SelectPlan {
        projection: columns
            .iter()
            .enumerate()
            .map(|(i, (_, t))| BExpr::Column { level: 0, index: i, ty: *t })
            .collect(),
        columns,
        source: Source::Derived(Arc::new(inner)),
        correlated,
        ..empty_plan()
    }
}

fn sort_key(expr: BExpr, o: &ast::OrderByOptions) -> SortKey {
    let desc = matches!(o.sort, Some(ast::OrderBySort::Desc));
    // PostgreSQL: NULLs sort as larger than everything
    let nulls_first = o.nulls_first.unwrap_or(desc);
    SortKey { expr, desc, nulls_first }
}

fn output_type(t: SqlType) -> SqlType {
    if t == SqlType::Unknown { SqlType::Text } else { t }
}

/// `-(a ^ b ^ c)` as PostgreSQL reads `-a ^ b ^ c`: the minus on the leftmost operand.
fn minus_into_power(e: &Expr) -> Expr {
    match e {
        Expr::BinaryOp { left, op: ast::BinaryOperator::PGExp, right } => Expr::BinaryOp {
            left: Box::new(minus_into_power(left)),
            op: ast::BinaryOperator::PGExp,
            right: right.clone(),
        },
        other => Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr: Box::new(other.clone()) },
    }
}

/// PostgreSQL's name for an unnamed output column.
fn default_column_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => ident_name(id),
        Expr::CompoundIdentifier(ids) => ids.last().map(ident_name).unwrap_or_default(),
        Expr::Function(f) => object_name(&f.name),
        // PostgreSQL names a cast after what it casts, when that has a name
        Expr::Cast { expr, data_type, .. } => match expr.as_ref() {
            e if strong_column_name(e).is_some() => default_column_name(e),
            _ if reg_type_cast(&data_type.to_string()).is_some() => {
                reg_type_cast(&data_type.to_string()).unwrap_or("regclass").to_string()
            }
            _ if data_type.to_string().eq_ignore_ascii_case("oid") => "oid".into(),
            _ => SqlType::parse(&data_type.to_string())
                .map(|(t, _)| short_type_name(t))
                .unwrap_or_else(|_| {
                    // a user-defined type: the column is named after it
                    let written = data_type.to_string();
                    let base = written.trim_end_matches("[]");
                    crate::sql::schema::type_identifier(base).unwrap_or_else(|| "?column?".into())
                }),
        },
        Expr::Nested(inner) => default_column_name(inner),
        Expr::CompoundFieldAccess { root, .. } => default_column_name(root),
        Expr::Array(_) => "array".into(),
        Expr::Exists { .. } => "exists".into(),
        // the special forms are named after the function they call
        Expr::Ceil { .. } => "ceil".into(),
        Expr::Floor { .. } => "floor".into(),
        Expr::Position { .. } => "position".into(),
        Expr::Substring { shorthand: true, .. } => "substr".into(),
        Expr::Substring { .. } => "substring".into(),
        Expr::AtTimeZone { .. } => "timezone".into(),
        Expr::Extract { .. } => "extract".into(),
        Expr::Trim { trim_where, .. } => match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim".into(),
            Some(ast::TrimWhereField::Trailing) => "rtrim".into(),
            _ => "btrim".into(),
        },
        // a typed literal (`date '2024-01-01'`) after its type
        Expr::Interval(_) => "interval".into(),
        Expr::TypedString(ts) => SqlType::parse(&ts.data_type.to_string())
            .map(|(t, _)| short_type_name(t))
            .unwrap_or_else(|_| "?column?".into()),
        // PostgreSQL names a CASE after its ELSE result when that has a name
        Expr::Case { else_result: Some(e), .. } if default_column_name(e) != "?column?" => {
            default_column_name(e)
        }
        Expr::Case { .. } => "case".into(),
        Expr::Subquery(q) => match q.body.as_ref() {
            SetExpr::Select(s) => match s.projection.first() {
                Some(SelectItem::UnnamedExpr(e)) => default_column_name(e),
                Some(SelectItem::ExprWithAlias { alias, .. }) => ident_name(alias),
                _ => "?column?".into(),
            },
            _ => "?column?".into(),
        },
        _ => "?column?".into(),
    }
}

/// The name a column, function or CASE gives its value (through casts), which a cast keeps;
/// `None` for what a cast names by its type instead (a literal, an operator).
fn strong_column_name(e: &Expr) -> Option<String> {
    match e {
        // what PostgreSQL names with strength 2: columns, function calls (the special forms
        // and AT TIME ZONE among them), ARRAY[...]
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Function(_)
        | Expr::Array(_)
        | Expr::AtTimeZone { .. }
        | Expr::Ceil { .. }
        | Expr::Floor { .. }
        | Expr::Position { .. }
        | Expr::Substring { .. }
        | Expr::Extract { .. }
        | Expr::Trim { .. } => Some(default_column_name(e)),
        Expr::Cast { expr, .. } | Expr::Nested(expr) => strong_column_name(expr),
        _ => None,
    }
}

fn short_type_name(t: SqlType) -> String {
    match t {
        SqlType::Int2 => "int2".into(),
        SqlType::Int4 => "int4".into(),
        SqlType::Int8 => "int8".into(),
        SqlType::Float4 => "float4".into(),
        SqlType::Float8 => "float8".into(),
        SqlType::Bool => "bool".into(),
        SqlType::Varchar(_) => "varchar".into(),
        SqlType::Char(_) => "bpchar".into(),
        SqlType::Timestamptz => "timestamptz".into(),
        SqlType::Timestamp => "timestamp".into(),
        SqlType::Time(_) => "time".into(),
        SqlType::Numeric(_) => "numeric".into(),
        // an array cast is named after its element type (`'{1}'::int[]` is int4)
        SqlType::Array(elem) if t.name().ends_with("[]") => short_type_name(*elem),
        t => t.name(),
    }
}

/// The GROUP BY keys, plus every column of each FROM table whose whole primary key is among
/// them: those columns are functionally dependent on the key, so PostgreSQL lets the select
/// list name them ungrouped (`SELECT c.name, count(*) FROM c JOIN p ... GROUP BY c.id`, what
/// Django's `annotate` sends). Grouping by them too changes no group. `width` is the number
/// of columns `source` produces.
fn with_dependent_columns(source: &Source, width: usize, mut keys: Vec<BExpr>) -> Vec<BExpr> {
    fn tables<'a>(
        source: &'a Source,
        offset: usize,
        width: usize,
        out: &mut Vec<(usize, &'a TableSchema)>,
    ) {
        match source {
            Source::Table { table, .. } => out.push((offset, table)),
            Source::Join { left, right, right_width, .. } => {
                let left_width = width.saturating_sub(*right_width);
                tables(left, offset, left_width, out);
                tables(right, offset + left_width, *right_width, out);
            }
            _ => {}
        }
    }
    if keys.is_empty() {
        return keys;
    }
    let mut found = Vec::new();
    tables(source, 0, width, &mut found);
    let column = |offset: usize, table: &TableSchema, i: usize| BExpr::Column {
        level: 0,
        index: offset + i,
        ty: table.columns[i].ty,
    };
    for (offset, table) in found {
        let keyed = !table.hidden_key
            && !table.primary_key.is_empty()
            && table.primary_key.iter().all(|&i| keys.contains(&column(offset, table, i)));
        if keyed {
            for (i, _) in table.visible() {
                let c = column(offset, table, i);
                if !keys.contains(&c) {
                    keys.push(c);
                }
            }
        }
    }
    keys
}

/// Rewrites a post-grouping expression: GROUP BY keys and aggregates become columns of the
/// grouped row `[keys..., aggregates...]`; any other column reference is an error (42803).
fn place_grouped(e: BExpr, keys: &[BExpr], nkeys: usize) -> Result<BExpr, SqlError> {
    if let Some(i) = keys.iter().position(|k| *k == e) {
        return Ok(BExpr::Column { level: 0, index: i, ty: e.ty() });
    }
    let recurse = |b: Box<BExpr>| -> Result<Box<BExpr>, SqlError> {
        Ok(Box::new(place_grouped(*b, keys, nkeys)?))
    };
    Ok(match e {
        BExpr::AggRef(i, ty) => BExpr::Column { level: 0, index: nkeys + i, ty },
        BExpr::Column { level: 0, .. } => {
            return Err(SqlError::new(
                SqlState::GroupingError,
                "column must appear in the GROUP BY clause or be used in an aggregate function",
            ));
        }
        BExpr::Neg(a, t) => BExpr::Neg(recurse(a)?, t),
        BExpr::Binary { op, left, right, operand_ty, ty } => {
            BExpr::Binary { op, left: recurse(left)?, right: recurse(right)?, operand_ty, ty }
        }
        BExpr::And(a, b) => BExpr::And(recurse(a)?, recurse(b)?),
        BExpr::Or(a, b) => BExpr::Or(recurse(a)?, recurse(b)?),
        BExpr::Not(a) => BExpr::Not(recurse(a)?),
        BExpr::IsNull { expr, negated } => BExpr::IsNull { expr: recurse(expr)?, negated },
        BExpr::IsBool { expr, value, negated } => {
            BExpr::IsBool { expr: recurse(expr)?, value, negated }
        }
        BExpr::IsDistinct { left, right, operand_ty, negated } => {
            BExpr::IsDistinct { left: recurse(left)?, right: recurse(right)?, operand_ty, negated }
        }
        BExpr::Cast { expr, to, explicit } => BExpr::Cast { expr: recurse(expr)?, to, explicit },
        BExpr::Func { func, args, ty } => BExpr::Func {
            func,
            args: args
                .into_iter()
                .map(|a| place_grouped(a, keys, nkeys))
                .collect::<Result<_, _>>()?,
            ty,
        },
        BExpr::Case { operand, whens, otherwise, ty } => BExpr::Case {
            operand: operand.map(recurse).transpose()?,
            whens: whens
                .into_iter()
                .map(|(w, t)| Ok((place_grouped(w, keys, nkeys)?, place_grouped(t, keys, nkeys)?)))
                .collect::<Result<_, SqlError>>()?,
            otherwise: otherwise.map(recurse).transpose()?,
            ty,
        },
        BExpr::InList { expr, list, operand_ty, negated } => BExpr::InList {
            expr: recurse(expr)?,
            list: list
                .into_iter()
                .map(|a| place_grouped(a, keys, nkeys))
                .collect::<Result<_, _>>()?,
            operand_ty,
            negated,
        },
        BExpr::Like { expr, pattern, negated, case_insensitive } => BExpr::Like {
            expr: recurse(expr)?,
            pattern: recurse(pattern)?,
            negated,
            case_insensitive,
        },
        BExpr::InSubquery { exprs, plan, operand_tys, op, all } => BExpr::InSubquery {
            exprs: exprs
                .into_iter()
                .map(|a| place_grouped(a, keys, nkeys))
                .collect::<Result<_, _>>()?,
            plan,
            operand_tys,
            op,
            all,
        },
        BExpr::RowSubquery { exprs, plan, operand_tys, op } => BExpr::RowSubquery {
            exprs: exprs
                .into_iter()
                .map(|a| place_grouped(a, keys, nkeys))
                .collect::<Result<_, _>>()?,
            plan,
            operand_tys,
            op,
        },
        other => other,
    })
}

/// The functions of the session's state, by name, with their result type (PostgreSQL's void
/// shown as an empty text).
fn session_function(name: &str) -> Option<(SessionFunc, SqlType)> {
    if name == "pg_notify" {
        return Some((SessionFunc::Notify, SqlType::Text));
    }
    if name == "pg_advisory_unlock_all" {
        return Some((SessionFunc::AdvisoryUnlockAll, SqlType::Text));
    }
    if let Some((_, f)) = ClusterFunc::NAMES.iter().find(|(n, _)| *n == name) {
        return Some((SessionFunc::Cluster(*f), SqlType::Text));
    }
    let rest = name.strip_prefix("pg_")?;
    let (try_only, rest) = match rest.strip_prefix("try_") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.strip_prefix("advisory_")?;
    let (exclusive, rest) = match rest.strip_suffix("_shared") {
        Some(r) => (false, r),
        None => (true, rest),
    };
    let result = if try_only { SqlType::Bool } else { SqlType::Text };
    match rest {
        "lock" => Some((SessionFunc::AdvisoryLock { exclusive, xact: false, try_only }, result)),
        "xact_lock" => {
            Some((SessionFunc::AdvisoryLock { exclusive, xact: true, try_only }, result))
        }
        "unlock" if !try_only => Some((SessionFunc::AdvisoryUnlock { exclusive }, SqlType::Bool)),
        _ => None,
    }
}
