//! Planning: sqlparser's AST bound against the schema into executable plans.
//!
//! The plan types live here ([`SelectPlan`], [`InsertPlan`], [`ModifyPlan`], and the bound
//! expressions of [`expr`]); [`bind`] is the binder (names, types, parameters, aggregates),
//! [`access`] picks each table's access path from the WHERE clause, [`explain`] renders a plan.
//! Invariant: the chosen access path only narrows what is read; the whole WHERE clause is still
//! evaluated on every row, so a plan is correct whatever path it picks.

pub mod access;
pub mod bind;
pub mod explain;
pub mod expr;
pub mod scalar;

use crate::error::SqlState;
use std::sync::Arc;

use sqlparser::ast::Statement;

pub use crate::sql::parse::Unparsed;
pub use bind::{Binder, object_name};
pub use expr::{
    AggCall, AggFunc, BExpr, BinOp, CatalogFn, ClusterFunc, Func, SequenceFn, SessionFunc,
};

use crate::catalog::IndexId;
use crate::sql::error::SqlError;
use crate::sql::schema::TableSchema;
use crate::sql::system::SystemView;
use crate::sql::types::SqlType;
use crate::txn::{LockMode, WaitPolicy};

/// How a table's rows are found.
#[derive(Clone, Debug)]
pub enum Access {
    Scan,
    /// Every primary key column is fixed.
    PkPoint(Vec<BExpr>),
    /// A prefix of the primary key is fixed, the next column optionally bounded.
    PkRange {
        eq: Vec<BExpr>,
        lower: Option<(BExpr, bool)>,
        upper: Option<(BExpr, bool)>,
    },
    /// A secondary index, its leading columns fixed, the next optionally bounded.
    Index {
        index: IndexId,
        name: String,
        eq: Vec<BExpr>,
        lower: Option<(BExpr, bool)>,
        upper: Option<(BExpr, bool)>,
    },
}

/// A row source.
#[derive(Clone, Debug)]
pub enum Source {
    /// No FROM clause: one row with no columns.
    Single,
    Table {
        table: Arc<TableSchema>,
        access: Access,
        alias: String,
    },
    System(SystemView),
    /// A sequence read as a relation (`SELECT last_value, is_called FROM s`, as pg_dump
    /// does): one row `(last_value, log_cnt, is_called)`.
    Sequence(Arc<crate::sql::schema::SequenceSchema>),
    Derived(Arc<SelectPlan>),
    Series(Vec<BExpr>),
    /// `unnest(a, b, ...)`: one column per array, as many rows as the longest.
    Unnest(Vec<BExpr>),
    /// A WITH query's rows: computed once per statement when it reads no enclosing row
    /// (PostgreSQL materializes a WITH query read more than once; the answers agree).
    Cte(Arc<SelectPlan>),
    /// `WITH RECURSIVE`'s evaluation: the anchor's rows, then the step's over the rows the
    /// previous round added (its [`Source::WorkTable`] `id`) until a round adds none; without
    /// `union_all`, rows already produced are dropped.
    Recursive {
        id: usize,
        anchor: Arc<SelectPlan>,
        step: Arc<SelectPlan>,
        union_all: bool,
    },
    /// The rows the previous round of recursive CTE `id` added.
    WorkTable(usize),
    /// A `LATERAL` subquery: run once per row of the FROM items before it, which it reads
    /// as its enclosing query (level 1). Only as a join's right side.
    Lateral(Arc<SelectPlan>),
    Join {
        left: Box<Source>,
        right: Box<Source>,
        /// LEFT or FULL: a left row no right row matches comes out padded with NULLs.
        left_outer: bool,
        /// RIGHT or FULL: the left side's width; a right row no left row matches comes out
        /// after the matched rows, padded with that many NULLs.
        right_outer: Option<usize>,
        on: Option<BExpr>,
        right_width: usize,
    },
}

/// ORDER BY term.
#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: BExpr,
    pub desc: bool,
    pub nulls_first: bool,
}

/// `FOR UPDATE` and friends.
#[derive(Clone, Debug)]
pub struct Locking {
    pub mode: LockMode,
    pub policy: WaitPolicy,
    /// Which tables (by alias) to lock; empty = all.
    pub of: Vec<String>,
}

/// GROUP BY keys and the aggregates computed per group.
#[derive(Clone, Debug)]
pub struct Grouping {
    pub keys: Vec<BExpr>,
    pub aggs: Vec<AggCall>,
    /// ROLLUP / CUBE / GROUPING SETS: per grouping set, which keys it groups by (the others
    /// are NULL in its rows); empty for plain GROUP BY.
    pub sets: Vec<Vec<bool>>,
}

/// A SELECT.
#[derive(Clone, Debug)]
pub struct SelectPlan {
    pub source: Source,
    pub filter: Option<BExpr>,
    pub grouping: Option<Grouping>,
    pub having: Option<BExpr>,
    pub projection: Vec<BExpr>,
    pub columns: Vec<(String, SqlType)>,
    pub distinct: bool,
    pub order_by: Vec<SortKey>,
    pub limit: Option<BExpr>,
    pub offset: Option<BExpr>,
    pub locking: Option<Locking>,
    /// Reads columns of an enclosing query (re-run per outer row).
    pub correlated: bool,
    /// UNION / EXCEPT / INTERSECT with further plans.
    pub set_ops: Vec<(SetOp, bool, Arc<SelectPlan>)>,
    /// Window functions, computed after grouping and HAVING; their values are appended to
    /// each row (projection and ORDER BY read them as the last columns).
    pub windows: Vec<WindowCall>,
    /// `DISTINCT ON (exprs)`: over the input row, the first row (in ORDER BY order) of each
    /// distinct value is kept.
    pub distinct_on: Vec<BExpr>,
}

/// A window function: which, its arguments, and its window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowCall {
    pub func: WindowFunc,
    pub args: Vec<BExpr>,
    pub partition_by: Vec<BExpr>,
    pub order_by: Vec<SortKey>,
    pub frame: Frame,
    pub ty: SqlType,
}

/// The window functions (an aggregate as a window carries its call).
#[derive(Clone, Debug, PartialEq)]
pub enum WindowFunc {
    RowNumber,
    Rank,
    DenseRank,
    PercentRank,
    CumeDist,
    Ntile,
    Lag,
    Lead,
    FirstValue,
    LastValue,
    NthValue,
    Agg(AggCall),
}

/// A window frame: `ROWS` counts rows; `RANGE` (only unbounded or CURRENT ROW bounds) takes
/// the current row's peers (rows equal in the window's ORDER BY) with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    pub rows: bool,
    pub start: FrameBound,
    pub end: FrameBound,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FrameBound {
    UnboundedPreceding,
    Preceding(BExpr),
    CurrentRow,
    Following(BExpr),
    UnboundedFollowing,
}

impl SelectPlan {
    /// Whether the plan's work is small and bounded: its rows come from no FROM clause,
    /// primary-key or unique-index point lookups (joined among themselves) or system views, with no subquery,
    /// set operation or generate_series. The server runs such SELECTs on the connection's own
    /// task; anything that may run long goes to the blocking pool so it never holds up other
    /// connections.
    pub fn reads_few_rows(&self) -> bool {
        fn source_ok<'a>(source: &'a Source, exprs: &mut Vec<&'a BExpr>) -> bool {
            match source {
                Source::Single | Source::System(_) | Source::Sequence(_) => true,
                Source::Table { access: Access::PkPoint(keys), .. } => {
                    exprs.extend(keys);
                    true
                }
                // Every column of a unique index fixed: at most one live row.
                Source::Table {
                    table,
                    access: Access::Index { index, eq, lower: None, upper: None, .. },
                    ..
                } if table
                    .indexes
                    .iter()
                    .any(|i| i.id == *index && i.unique && i.columns.len() == eq.len()) =>
                {
                    exprs.extend(eq);
                    true
                }
                Source::Join { left, right, on, .. } => {
                    exprs.extend(on);
                    source_ok(left, exprs) && source_ok(right, exprs)
                }
                _ => false,
            }
        }
        let mut exprs: Vec<&BExpr> = Vec::new();
        if !self.set_ops.is_empty() || !source_ok(&self.source, &mut exprs) {
            return false;
        }
        exprs.extend(&self.filter);
        exprs.extend(&self.having);
        exprs.extend(&self.projection);
        exprs.extend(&self.limit);
        exprs.extend(&self.offset);
        exprs.extend(self.order_by.iter().map(|k| &k.expr));
        if let Some(g) = &self.grouping {
            exprs.extend(&g.keys);
            exprs.extend(g.aggs.iter().flat_map(|a| &a.args));
            exprs.extend(g.aggs.iter().filter_map(|a| a.filter.as_ref()));
        }
        !any_subquery(exprs)
    }
}

/// Whether any of the expressions holds a subquery.
fn any_subquery<'a>(exprs: impl IntoIterator<Item = &'a BExpr>) -> bool {
    let mut subquery = false;
    for e in exprs {
        e.visit(&mut |node| {
            subquery |= matches!(
                node,
                BExpr::InSubquery { .. }
                    | BExpr::RowSubquery { .. }
                    | BExpr::Exists { .. }
                    | BExpr::Subquery { .. }
            );
        });
    }
    subquery
}

impl ModifyPlan {
    /// Whether it changes at most one row, found by its whole primary key or by every column
    /// of a unique index (a snapshot sees at most one live row with a unique key), with no
    /// subquery: its only possible wait is for that row's lock, before anything is written
    /// (the server may run it on an async task, see `Transaction::wait_as_task`; a uniqueness
    /// check's wait, before the row is written too, sends it to where it may block).
    /// An UPDATE of a primary key column does not qualify: it deletes the old key before it
    /// may wait for the new one.
    pub fn touches_one_row(&self) -> bool {
        let keys = match &self.access {
            Access::PkPoint(keys) => keys,
            Access::Index { index, eq, lower: None, upper: None, .. }
                if self
                    .table
                    .indexes
                    .iter()
                    .any(|i| i.id == *index && i.unique && i.columns.len() == eq.len()) =>
            {
                eq
            }
            _ => return false,
        };
        if self.from.is_some() {
            return false;
        }
        // Referential checks and actions may wait after the row is written.
        if self.referenced || !self.table.foreign_keys.is_empty() {
            return false;
        }
        let mut assigned_columns = self.assignments.iter().flatten().map(|(c, _)| c);
        if assigned_columns.any(|c| self.table.primary_key.contains(c)) {
            return false;
        }
        let assigned = self.assignments.iter().flatten().map(|(_, e)| e);
        let returned = self.returning.iter().flat_map(|(exprs, _)| exprs);
        !any_subquery(keys.iter().chain(&self.filter).chain(assigned).chain(returned))
    }
}

impl ModifyPlan {
    /// Whether its answer is a bare row count of one row found by primary key: no
    /// RETURNING, no filter beyond the key (so whichever committed version of the row it
    /// meets, the row is written or, if the row is gone, the count shows that).
    pub fn answers_with_count_only(&self) -> bool {
        matches!(self.access, Access::PkPoint(_))
            && self.returning.is_none()
            && self.touches_one_row()
            && self.filter_tests_only_the_key()
    }

    /// Whether every condition of the WHERE clause is `key column = value` (the value not
    /// from the row): every version of a row then passes it alike, its key being the same.
    fn filter_tests_only_the_key(&self) -> bool {
        let Some(filter) = &self.filter else { return true };
        filter.clone().conjuncts().into_iter().all(|c| match c {
            BExpr::Binary { op: BinOp::Eq, left, right, .. } => match (&*left, &*right) {
                (BExpr::Column { level: 0, index, .. }, v)
                | (v, BExpr::Column { level: 0, index, .. }) => {
                    self.table.primary_key.contains(index) && !v.uses_current_row()
                }
                _ => false,
            },
            _ => false,
        })
    }
}

impl InsertPlan {
    /// Whether it inserts one row of VALUES, without ON CONFLICT, subqueries or a sequence
    /// it would draw from before a possible wait: its only possible waits are for the key's
    /// (or a unique index key's) lock, before anything is written or drawn. The hidden row
    /// id of a table without a primary key is drawn freely when the table has no unique
    /// index: its fresh key is nobody else's, so such an insert never waits at all (and is
    /// never run a second time).
    pub fn inserts_one_row(&self) -> bool {
        let InsertSource::Values(rows) = &self.source else { return false };
        let [row] = rows.as_slice() else { return false };
        let never_waits = self.table.hidden_key && !self.table.indexes.iter().any(|i| i.unique);
        let draws_a_sequence = self.table.columns.iter().enumerate().any(|(i, c)| {
            c.sequence.is_some() && !self.targets.contains(&i) && !(c.hidden && never_waits)
        });
        let returned = self.returning.iter().flat_map(|(exprs, _)| exprs);
        let rules =
            self.rules.defaults.iter().flatten().chain(self.rules.checks.iter().map(|(_, e)| e));
        self.on_conflict.is_none()
            && self.table.foreign_keys.is_empty()
            && !draws_a_sequence
            && !any_subquery(row.iter().flatten().chain(returned).chain(rules))
    }
}

/// Plans compare by identity (expressions holding the same subquery are equal).
impl PartialEq for SelectPlan {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Except,
    Intersect,
}

/// Column assignments: (column position, value).
pub type Assignments = Vec<(usize, BExpr)>;

/// RETURNING: expressions over the written row and the output columns.
pub type Returning = (Vec<BExpr>, Vec<(String, SqlType)>);

/// Rows to insert.
#[derive(Clone, Debug)]
pub enum InsertSource {
    /// Per row, per target column: an expression or DEFAULT (`None`).
    Values(Vec<Vec<Option<BExpr>>>),
    Query(Arc<SelectPlan>),
}

/// ON CONFLICT.
#[derive(Clone, Debug)]
pub struct OnConflict {
    /// DO UPDATE SET assignments (over `existing row ++ excluded row`) and its WHERE.
    pub update: Option<(Assignments, Option<BExpr>)>,
}

/// Column rules checked on every written row.
#[derive(Clone, Debug)]
pub struct RowRules {
    pub defaults: Vec<Option<BExpr>>,
    pub checks: Vec<(String, BExpr)>,
}

#[derive(Clone, Debug)]
pub struct InsertPlan {
    pub table: Arc<TableSchema>,
    pub targets: Vec<usize>,
    pub source: InsertSource,
    pub on_conflict: Option<OnConflict>,
    pub rules: RowRules,
    pub returning: Option<Returning>,
}

#[derive(Clone, Debug)]
pub struct ModifyPlan {
    pub table: Arc<TableSchema>,
    pub access: Access,
    pub filter: Option<BExpr>,
    /// UPDATE assignments; `None` for DELETE.
    pub assignments: Option<Vec<(usize, BExpr)>>,
    pub rules: RowRules,
    pub returning: Option<Returning>,
    /// A foreign key references the table: its deletes and key changes act on other rows.
    pub referenced: bool,
    /// `UPDATE ... FROM` / `DELETE ... USING`: the other FROM items; the filter, SET values
    /// and RETURNING read `target row ++ their row`.
    pub from: Option<ModifyFrom>,
}

/// The FROM items of an `UPDATE ... FROM` or `DELETE ... USING`.
#[derive(Clone, Debug)]
pub struct ModifyFrom {
    pub source: Source,
}

/// COPY ... FROM STDIN: an insert of the rows the data gives, into `targets` (the others get
/// their defaults).
#[derive(Clone, Debug)]
pub struct CopyPlan {
    pub insert: InsertPlan,
    /// Per column of the table: whether the data gives it.
    pub given: Vec<bool>,
}

/// A statement bound against the schema of one version: what the session runs.
#[derive(Debug)]
pub enum Bound {
    Select(Box<SelectPlan>),
    Insert(Box<InsertPlan>),
    Modify(Box<ModifyPlan>),
    Explain(Vec<String>),
    /// `EXPLAIN ANALYZE`: the statement is run, and its plan shown with what it did.
    ExplainAnalyze(Box<ExplainAnalyze>),
    /// `LOCK TABLE ... IN {ACCESS SHARE | ROW SHARE | ROW EXCLUSIVE} MODE`: the tables (the
    /// binder's used tables) take their shared table-level lock, as any statement reading
    /// them does, held to the transaction's end; nothing else is done.
    Lock,
    Other,
}

impl Bound {
    /// The columns of the rows a SELECT, or a write with RETURNING, answers with; `None` for
    /// other statements, and `Some(empty)` for a write without RETURNING.
    pub fn result_columns(&self) -> Option<Vec<(String, SqlType)>> {
        match self {
            Bound::Select(p) => Some(p.columns.clone()),
            Bound::Insert(p) => Some(p.returning.as_ref().map(|r| r.1.clone()).unwrap_or_default()),
            Bound::Modify(p) => Some(p.returning.as_ref().map(|r| r.1.clone()).unwrap_or_default()),
            Bound::Explain(_) | Bound::ExplainAnalyze(_) | Bound::Lock | Bound::Other => None,
        }
    }
}

/// What `EXPLAIN ANALYZE` runs and how it reports.
#[derive(Debug)]
pub struct ExplainAnalyze {
    /// The plan's lines (as EXPLAIN shows them).
    pub plan: Vec<String>,
    pub inner: Bound,
    pub inner_columns: Vec<(String, SqlType)>,
    /// Show how long things took (`TIMING`, on by default).
    pub timing: bool,
    /// Show the execution time (`SUMMARY`, on by default).
    pub summary: bool,
}

/// EXPLAIN's options: `EXPLAIN ANALYZE ...` or `EXPLAIN (ANALYZE [bool], TIMING [bool],
/// SUMMARY [bool], VERBOSE, COSTS, BUFFERS, FORMAT TEXT)`.
struct ExplainOptions {
    analyze: bool,
    timing: bool,
    summary: bool,
}

impl ExplainOptions {
    fn read(analyze: bool, options: &[sqlparser::ast::UtilityOption]) -> Result<Self, SqlError> {
        let mut read = ExplainOptions { analyze, timing: true, summary: true };
        for option in options {
            let name = option.name.value.to_ascii_lowercase();
            let arg = option.arg.as_ref().map(|a| a.to_string().to_ascii_lowercase());
            let flag = match arg.as_deref() {
                None | Some("true" | "on" | "1") => Some(true),
                Some("false" | "off" | "0") => Some(false),
                Some(_) => None,
            };
            let bad_value = || {
                SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("invalid value for EXPLAIN option \"{name}\""),
                )
            };
            match name.as_str() {
                "analyze" => read.analyze = flag.ok_or_else(bad_value)?,
                "timing" => read.timing = flag.ok_or_else(bad_value)?,
                "summary" => read.summary = flag.ok_or_else(bad_value)?,
                "verbose" | "costs" | "buffers" | "settings" | "wal" => {
                    flag.ok_or_else(bad_value)?;
                }
                "format" if arg.as_deref() == Some("text") => {}
                "format" => return Err(SqlError::unsupported("EXPLAIN formats other than TEXT")),
                _ => {
                    return Err(SqlError::new(
                        SqlState::SyntaxError,
                        format!("unrecognized EXPLAIN option \"{name}\""),
                    ));
                }
            }
        }
        Ok(read)
    }
}

pub fn bind_statement(
    binder: &mut Binder,
    stmt: &Statement,
    lock: Option<Unparsed>,
) -> Result<Bound, SqlError> {
    Ok(match stmt {
        Statement::Query(q) => Bound::Select(Box::new(binder.query(q, None, lock)?)),
        Statement::Insert(ins) => Bound::Insert(Box::new(binder.insert(ins, lock)?)),
        Statement::Update(u) => Bound::Modify(Box::new(binder.update(u)?)),
        Statement::Delete(d) => Bound::Modify(Box::new(binder.delete(d)?)),
        Statement::Explain { statement, analyze, options, .. } => {
            let options = ExplainOptions::read(*analyze, options.as_deref().unwrap_or_default())?;
            let inner = bind_statement(binder, statement, lock)?;
            let plan = explain::explain(&inner);
            if !options.analyze {
                return Ok(Bound::Explain(plan));
            }
            let inner_columns = inner.result_columns().unwrap_or_default();
            if !matches!(inner, Bound::Select(_) | Bound::Insert(_) | Bound::Modify(_)) {
                return Err(SqlError::unsupported("EXPLAIN ANALYZE of this statement"));
            }
            Bound::ExplainAnalyze(Box::new(ExplainAnalyze {
                plan,
                inner,
                inner_columns,
                timing: options.timing,
                summary: options.summary,
            }))
        }
        Statement::Lock(lock) => {
            binder.lock_tables(lock)?;
            Bound::Lock
        }
        Statement::CreateTable(_)
        | Statement::CreateView(_)
        | Statement::CreateType { .. }
        | Statement::AlterType(_)
        | Statement::CreateSequence { .. }
        | Statement::AlterIndex { .. }
        | Statement::CreateIndex(_)
        | Statement::Drop { .. }
        | Statement::Comment { .. }
        | Statement::AlterTable(_) => Bound::Other,
        other => {
            let text = other.to_string();
            let mut s = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            s.make_ascii_uppercase();
            return Err(SqlError::unsupported(s));
        }
    })
}
