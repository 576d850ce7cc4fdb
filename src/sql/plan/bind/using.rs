//! `JOIN ... USING (cols)` and `NATURAL JOIN`, as PostgreSQL binds them: each USING column
//! becomes one merged column, found by its unqualified name and listed once by `*`.
//!
//! The joined row keeps both sides' columns (the executor's join is unchanged); a merged
//! column is an expression over them, kept in the scope beside its columns (`Merged`): the
//! left side's column for LEFT joins (and INNER, unless only the right one is read without a
//! cast), the right side's for RIGHT, `COALESCE(left, right)` for FULL, each in the two
//! sides' common type (int and bigint merge as bigint). The sides' own columns stay
//! reachable qualified (`a.x`, and `a.*` lists them) but no longer by the bare name, so `x`
//! is not ambiguous. `*` lists the merged columns first, in USING order, then the left
//! side's other columns, then the right side's. NATURAL JOIN is USING over the names both
//! sides' `*` would list (none in common: a cross join).
//!
//! A join with an alias (`(a JOIN b USING (x)) AS j`) is one FROM item: its columns are what
//! `*` lists over the join, reached as `j.x`; the tables inside are out of reach, as in
//! PostgreSQL.
//!
//! Errors as PostgreSQL's: a USING name listed twice 42701, missing on a side 42703, found
//! twice on a side 42702, types that cannot be compared 42804.

use std::sync::Arc;

use sqlparser::ast;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::{BExpr, BinOp, Func, SelectPlan, Source};
use crate::sql::types::SqlType;

use super::{Binder, Scope, ScopeCol, char_operands, empty_plan, ident_name};

/// A column a USING join merged from its two sides.
#[derive(Clone, Debug)]
pub struct MergedCol {
    pub name: String,
    pub ty: SqlType,
    /// The row positions it reads, with their types: its value is the first of them not
    /// NULL (one position: that column).
    pub sources: Vec<(usize, SqlType)>,
    /// Merged again by an enclosing USING join, which now stands for it.
    pub joined: bool,
}

/// One column of `SELECT *`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StarCol {
    /// A column of the row.
    Row(usize),
    /// A merged column.
    Merged(usize),
}

/// A scope's merged columns, and `*`'s columns in order when there are any.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    pub cols: Vec<MergedCol>,
    pub star: Vec<StarCol>,
}

/// Which rows a join keeps unmatched.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

impl MergedCol {
    /// The merged column's value, read from the row `level` queries out.
    pub fn expr(&self, level: usize) -> BExpr {
        let mut parts: Vec<BExpr> = self
            .sources
            .iter()
            .map(|&(index, ty)| {
                let col = BExpr::Column { level, index, ty };
                if ty == self.ty {
                    col
                } else {
                    BExpr::Cast { expr: Box::new(col), to: self.ty, explicit: false }
                }
            })
            .collect();
        if parts.len() == 1 {
            parts.remove(0)
        } else {
            BExpr::Func { func: Func::Coalesce, args: parts, ty: self.ty }
        }
    }
}

impl Scope {
    /// `*`'s columns in order.
    pub(crate) fn star(&self) -> Vec<StarCol> {
        if self.merged.cols.is_empty() {
            self.cols
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.hidden)
                .map(|(i, _)| StarCol::Row(i))
                .collect()
        } else {
            self.merged.star.clone()
        }
    }

    /// `*`'s columns as expressions over the current row, with their names and types.
    pub(crate) fn star_columns(&self) -> Vec<(BExpr, String, SqlType)> {
        self.star()
            .into_iter()
            .map(|s| match s {
                StarCol::Row(i) => {
                    let c = &self.cols[i];
                    (BExpr::Column { level: 0, index: i, ty: c.ty }, c.name.clone(), c.ty)
                }
                StarCol::Merged(k) => {
                    let m = &self.merged.cols[k];
                    (m.expr(0), m.name.clone(), m.ty)
                }
            })
            .collect()
    }

    /// The scope of a join's row: this scope's columns, then `right`'s (its merged columns
    /// moved along). The parent is this scope's.
    pub(crate) fn beside(mut self, right: Scope) -> Scope {
        let width = self.cols.len();
        if right.merged.cols.is_empty() && self.merged.cols.is_empty() {
            self.cols.extend(right.cols);
            return self;
        }
        let mut star = self.star();
        let merged_before = self.merged.cols.len();
        star.extend(right.star().into_iter().map(|s| match s {
            StarCol::Row(i) => StarCol::Row(i + width),
            StarCol::Merged(k) => StarCol::Merged(k + merged_before),
        }));
        self.merged.cols.extend(right.merged.cols.into_iter().map(|mut m| {
            m.sources.iter_mut().for_each(|(i, _)| *i += width);
            m
        }));
        self.merged.star = star;
        self.cols.extend(right.cols);
        self
    }

    /// The names `*` lists.
    fn star_names(&self) -> Vec<String> {
        self.star_columns().into_iter().map(|(_, n, _)| n).collect()
    }
}

/// A column one side of a USING join offers under a name.
#[derive(Clone, Copy)]
enum SideCol {
    Row(usize),
    Merged(usize),
}

/// The names NATURAL JOIN merges: those `*` lists on both sides, in the left side's order.
pub(super) fn natural_names(left: &Scope, right: &Scope) -> Vec<String> {
    let right_names = right.star_names();
    let mut names: Vec<String> = Vec::new();
    for n in left.star_names() {
        if right_names.contains(&n) && !names.contains(&n) {
            names.push(n);
        }
    }
    names
}

impl Binder<'_> {
    /// `(a JOIN b ...) AS j [(names)]`: one FROM item named `j`, its columns what `*` lists
    /// over the join (renamed in order by `names`); the tables inside are out of reach.
    pub(super) fn aliased_join(
        &mut self,
        joins: &ast::TableWithJoins,
        alias: &ast::TableAlias,
        parent: &Option<Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        let saved_corr = std::mem::replace(&mut self.correlated, false);
        let bound = self.bind_from_joins(joins, parent);
        let correlated = self.correlated;
        self.correlated |= saved_corr;
        let (source, scope) = bound?;
        let qualifier = ident_name(&alias.name);
        let renames: Vec<String> = alias.columns.iter().map(|c| ident_name(&c.name)).collect();
        let star = scope.star_columns();
        if renames.len() > star.len() {
            return Err(SqlError::new(
                SqlState::InvalidColumnReference,
                format!(
                    "join expression \"{qualifier}\" has {} columns available but {} columns specified",
                    star.len(),
                    renames.len()
                ),
            ));
        }
        let mut projection = Vec::with_capacity(star.len());
        let mut columns = Vec::with_capacity(star.len());
        let mut cols = Vec::with_capacity(star.len());
        for (i, (e, name, ty)) in star.into_iter().enumerate() {
            let name = renames.get(i).cloned().unwrap_or(name);
            projection.push(e);
            columns.push((name.clone(), ty));
            cols.push(ScopeCol {
                qualifier: Some(qualifier.clone()),
                name,
                ty,
                hidden: false,
                name_typed: false,
                joined: false,
            });
        }
        let plan = SelectPlan { projection, columns, source, correlated, ..empty_plan() };
        Ok((Source::Derived(Arc::new(plan)), Scope { cols, ..Default::default() }))
    }

    /// The condition of `left JOIN right USING (names)` over `combined` (`left.beside(right)`,
    /// where the left side has `left_width` columns and `left_merged` merged ones), and
    /// `combined`'s merged columns made: each USING column once, first for `*`.
    pub(super) fn using_join(
        &mut self,
        combined: &mut Scope,
        left_width: usize,
        left_merged: usize,
        names: &[String],
        kind: JoinKind,
    ) -> Result<Option<BExpr>, SqlError> {
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(SqlError::new(
                    SqlState::DuplicateColumn,
                    format!("column name \"{n}\" appears more than once in USING clause"),
                ));
            }
        }
        let mut star = combined.star();
        let mut merged = Vec::new();
        let mut cond: Option<BExpr> = None;
        for n in names {
            let l = side_col(combined, n, 0..left_width, 0..left_merged, "left")?;
            let r = side_col(
                combined,
                n,
                left_width..combined.cols.len(),
                left_merged..combined.merged.cols.len(),
                "right",
            )?;
            let (le, ls) = side_expr(combined, l);
            let (re, rs) = side_expr(combined, r);
            let (lt, rt) = (le.ty(), re.ty());
            let (mut le, mut re, mut operand_ty) = self.unify_operands(le, re).map_err(|_| {
                SqlError::datatype_mismatch(format!(
                    "JOIN/USING types {} and {} cannot be matched",
                    lt.name(),
                    rt.name()
                ))
            })?;
            // two varchars merge as varchar, as PostgreSQL's common type (not text)
            let merged_ty = match (lt, rt) {
                (SqlType::Varchar(a), SqlType::Varchar(b)) if a != b => SqlType::Varchar(None),
                (SqlType::Varchar(a), SqlType::Varchar(_)) => SqlType::Varchar(a),
                _ => operand_ty,
            };
            // character(n) compares as `=` compares it
            (le, re, operand_ty) = char_operands(le, re, operand_ty);
            let eq = BExpr::Binary {
                op: BinOp::Eq,
                left: Box::new(le),
                right: Box::new(re),
                operand_ty,
                ty: SqlType::Bool,
            };
            cond = Some(match cond {
                None => eq,
                Some(c) => BExpr::And(Box::new(c), Box::new(eq)),
            });
            for side in [l, r] {
                let gone = match side {
                    SideCol::Row(i) => {
                        combined.cols[i].joined = true;
                        StarCol::Row(i)
                    }
                    SideCol::Merged(k) => {
                        combined.merged.cols[k].joined = true;
                        StarCol::Merged(k)
                    }
                };
                star.retain(|s| *s != gone);
            }
            let sources = match kind {
                // PostgreSQL's inner join takes the side read without a cast, the left first
                JoinKind::Inner if lt != merged_ty && rt == merged_ty => rs,
                JoinKind::Inner | JoinKind::Left => ls,
                JoinKind::Right => rs,
                JoinKind::Full => ls.into_iter().chain(rs).collect(),
            };
            merged.push(MergedCol { name: n.clone(), ty: merged_ty, sources, joined: false });
        }
        let first = combined.merged.cols.len();
        let mut new_star: Vec<StarCol> =
            (first..first + merged.len()).map(StarCol::Merged).collect();
        new_star.extend(star);
        combined.merged.cols.extend(merged);
        combined.merged.star = new_star;
        Ok(cond)
    }
}

/// The one column named `name` that a side (its row positions `rows`, its merged columns
/// `merged`) offers to USING.
fn side_col(
    scope: &Scope,
    name: &str,
    rows: std::ops::Range<usize>,
    merged: std::ops::Range<usize>,
    side: &str,
) -> Result<SideCol, SqlError> {
    let mut hits: Vec<SideCol> = merged
        .filter(|&k| {
            let m = &scope.merged.cols[k];
            !m.joined && m.name == name
        })
        .map(SideCol::Merged)
        .collect();
    hits.extend(
        rows.filter(|&i| {
            let c = &scope.cols[i];
            !c.joined && !c.hidden && c.name == name
        })
        .map(SideCol::Row),
    );
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(SqlError::new(
            SqlState::UndefinedColumn,
            format!("column \"{name}\" specified in USING clause does not exist in {side} table"),
        )),
        _ => Err(SqlError::new(
            SqlState::AmbiguousColumn,
            format!("common column name \"{name}\" appears more than once in {side} table"),
        )),
    }
}

/// A side's column as an expression over the row, and the positions it reads.
fn side_expr(scope: &Scope, col: SideCol) -> (BExpr, Vec<(usize, SqlType)>) {
    match col {
        SideCol::Row(i) => {
            let ty = scope.cols[i].ty;
            (BExpr::Column { level: 0, index: i, ty }, vec![(i, ty)])
        }
        SideCol::Merged(k) => {
            let m = &scope.merged.cols[k];
            (m.expr(0), m.sources.clone())
        }
    }
}
