//! Bound expressions ([`BExpr`]): what the binder makes of an expression, and what the
//! executor evaluates (`sql::exec::eval`).
//!
//! A `BExpr` is resolved: column references are positions in the input row (or in an outer
//! query's row, for correlated subqueries), parameters are numbered, every node knows its type.

use std::sync::Arc;

use crate::sql::plan::SelectPlan;
use crate::sql::types::SqlType;
use crate::types::Value;

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Concat,
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    /// `&`, `|`, `#` (exclusive or), `<<`, `>>` on integers.
    BitAnd,
    BitOr,
    BitXor,
    ShiftLeft,
    ShiftRight,
}

impl BinOp {
    /// The integer-only operators: `&`, `|`, `#`, `<<`, `>>`.
    pub fn is_bitwise(self) -> bool {
        matches!(
            self,
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::ShiftLeft | BinOp::ShiftRight
        )
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq)
    }

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn flipped(self) -> BinOp {
        match self {
            BinOp::Lt => BinOp::Gt,
            BinOp::LtEq => BinOp::GtEq,
            BinOp::Gt => BinOp::Lt,
            BinOp::GtEq => BinOp::LtEq,
            other => other,
        }
    }
}

/// The functions that act on the session rather than compute a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionFunc {
    /// `pg_notify(channel, payload)`.
    Notify,
    /// `pg_[try_]advisory_[xact_]lock[_shared](key)`.
    AdvisoryLock { exclusive: bool, xact: bool, try_only: bool },
    /// `pg_advisory_unlock[_shared](key)`.
    AdvisoryUnlock { exclusive: bool },
    /// `pg_advisory_unlock_all()`.
    AdvisoryUnlockAll,
    /// `isola_cluster_add_learner(id, raft_addr)`, `isola_cluster_promote(id)`,
    /// `isola_cluster_remove(id)`, `isola_cluster_transfer_leader(id)`: a change of the
    /// replicated group's members, run by its leader (not undone by ROLLBACK, like `nextval`).
    Cluster(ClusterFunc),
}

/// The membership functions of a replicated group ([`SessionFunc::Cluster`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterFunc {
    AddLearner,
    Promote,
    Remove,
    TransferLeader,
}

impl ClusterFunc {
    /// The SQL names, as `isola cluster`'s verbs (`add-learner`) spell them with `_`.
    pub const NAMES: [(&'static str, ClusterFunc); 4] = [
        ("isola_cluster_add_learner", ClusterFunc::AddLearner),
        ("isola_cluster_promote", ClusterFunc::Promote),
        ("isola_cluster_remove", ClusterFunc::Remove),
        ("isola_cluster_transfer_leader", ClusterFunc::TransferLeader),
    ];

    pub fn name(self) -> &'static str {
        ClusterFunc::NAMES.iter().find(|(_, f)| *f == self).map_or("", |(n, _)| n)
    }
}

/// A built-in scalar function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    /// `now()`, `transaction_timestamp()`, `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP`: the
    /// transaction's start.
    Now,
    /// `statement_timestamp()`: the statement's start.
    StatementTimestamp,
    /// `clock_timestamp()`: the time it is evaluated.
    ClockTimestamp,
    CurrentDate,
    Coalesce,
    NullIf,
    Greatest,
    Least,
    Lower,
    Upper,
    Length,
    Substring,
    Trim,
    LTrim,
    RTrim,
    Concat,
    Replace,
    Abs,
    Round,
    /// `trunc(x [, digits])`: toward zero, at `digits` decimals (negative: left of the point).
    Trunc,
    Floor,
    Ceil,
    Random,
    Version,
    CurrentSchema,
    CurrentDatabase,
    CurrentUser,
    BackendPid,
    TxidCurrent,
    /// Catalog helpers that answer a constant (pg_table_is_visible, has_table_privilege, ...).
    ConstTrue,
    ConstNull,
    GenRandomUuid,
    /// A function over the catalog (evaluated by `sql::pg_catalog::functions`).
    Catalog(CatalogFn),
    /// A function of the session's state (advisory locks, pg_notify), run by the executor's
    /// context (`EvalContext::session_function`).
    Session(SessionFunc),
    /// `s ~ pattern` (`case_insensitive`: `~*`); `!~` is its negation.
    RegexMatch {
        case_insensitive: bool,
    },
    /// `s SIMILAR TO pattern [ESCAPE e]`.
    SimilarTo,
    RegexpReplace,
    RegexpMatch,
    /// `substring(s FROM pattern)`.
    RegexpSubstring,
    /// `ARRAY[a, b, ...]`.
    MakeArray,
    ArrayLength,
    ArrayLower,
    ArrayUpper,
    Cardinality,
    ArrayToString,
    /// `a[i]`.
    Subscript,
    /// `n[i]` of a catalog column of type `name`: its byte `i` (from 0) as a one-character
    /// `"char"`, `''` past its end up to PostgreSQL's 64 bytes, NULL beyond.
    NameByte,
    /// `a || b` over two arrays of one element type (an element is made a one-element array
    /// by the binder); `array_cat`, `array_append`, `array_prepend`.
    ArrayConcat,
    /// `a @> b`: every element of `b` equals one of `a` (`a <@ b` is `b @> a`).
    ArrayContains,
    /// `a && b`: an element in common.
    ArrayOverlap,
    /// `array_remove(a, x)`: `a` without the elements equal to `x` (NULL removes NULLs).
    ArrayRemove,
    /// `array_position(a, x)`: the first index holding `x` (NULL finds NULL).
    ArrayPosition,
    /// `string_to_array(s, separator [, null_string])`.
    StringToArray,
    /// `x op ANY (array)` (`all`: `x op ALL (array)`); `op` is a comparison.
    Quantified {
        op: BinOp,
        all: bool,
    },
    /// nextval, currval, setval, lastval, pg_get_serial_sequence.
    Sequence(SequenceFn),
    /// `EXTRACT(field FROM v)` (a numeric), `date_part(field, v)` (a float8), with the field
    /// as the first argument (`exec/datetime.rs`).
    Extract,
    DatePart,
    /// `date_trunc(field, v)`.
    DateTrunc,
    /// `v AT TIME ZONE zone` (UTC only).
    AtTimeZone,
    /// Arithmetic with dates, timestamps and intervals whose operands differ in type
    /// (`timestamp + interval`, `timestamp - timestamp`, `interval * number`, `date - date`),
    /// over the two arguments (`exec/datetime.rs`).
    DateTimeArith(BinOp),
    /// A built-in function of `plan/scalar.rs` (evaluated by `exec/scalar.rs`).
    Scalar(crate::sql::plan::scalar::ScalarFn),
    /// `doc -> key` / `doc ->> key` (`text`): a member or an element (`exec/json.rs`);
    /// `doc #> path` / `doc #>> path` when the key is a text array.
    JsonGet {
        text: bool,
    },
    /// `doc ? key`; `doc ?| keys` (`any`) and `doc ?& keys` over a text array.
    JsonHasKey {
        many: bool,
        any: bool,
    },
    /// `a @> b` between jsonb values.
    JsonContains,
}

/// The catalog functions: they read the schema when evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFn {
    /// `format_type(type oid, typmod)`.
    FormatType,
    /// `pg_get_userbyid(role oid)`.
    GetUserById,
    /// `pg_get_expr(expression text, relation oid [, pretty])`.
    GetExpr,
    /// `pg_get_constraintdef(constraint oid [, pretty])`.
    GetConstraintDef,
    /// `pg_get_indexdef(index oid [, column, pretty])`.
    GetIndexDef,
    /// `obj_description(oid [, catalog name])`: a table's comment.
    ObjDescription,
    /// `col_description(table oid, attnum)`: a column's comment.
    ColDescription,
    /// `pg_encoding_to_char(encoding)`.
    EncodingToChar,
    /// `current_schemas(include implicit)`: a name array.
    CurrentSchemas,
    /// `set_config(name, value, is_local)`: answers the value.
    SetConfig,
    /// `pg_relation_size(oid)` and friends: 0.
    RelationSize,
    /// `text::regclass`: the relation's oid (42P01 when there is none).
    RegclassIn,
    /// `oid::regclass`: the relation's name.
    RegclassOut,
    /// `text::regtype`: the type's oid (42704 when there is none).
    RegtypeIn,
    /// `oid::regtype`: the type's name.
    RegtypeOut,
    /// The names of an options array's `name=value` items (`pg_options_to_table`).
    OptionNames,
    /// The values of an options array's `name=value` items (`pg_options_to_table`).
    OptionValues,
    /// `text::regnamespace`: the schema's oid (3F000 when there is none).
    RegnamespaceIn,
    /// `oid::regnamespace`: the schema's name.
    RegnamespaceOut,
    /// `to_regclass(text)`: the relation's oid or NULL.
    ToRegclass,
    /// `to_regtype(text)`: the type's oid or NULL.
    ToRegtype,
    /// `pg_partition_ancestors(oid)` in a select list: NULL (isola has no partitions; in FROM
    /// it is no rows, as PostgreSQL 15 answers for a relation that is no partition).
    PartitionAncestors,
    /// Constant false (`pg_relation_is_publishable(oid)`).
    False,
    /// `pg_is_in_recovery()`: true on a replica that is not the leader.
    InRecovery,
    /// Constant true (`pg_collation_is_visible(oid)`, ...).
    True,
    /// `json_build_object(key, value, ...)` (SQLAlchemy's reflection reads identity options
    /// through it).
    JsonBuildObject,
    /// `generate_subscripts(array, dim)`, as the array of its subscripts (`{1,2,3}`; empty for
    /// a dimension other than 1); in FROM it is unnested.
    Subscripts,
    /// `current_setting(name [, missing_ok])` of a name known only when run: the session's
    /// setting (42704 for an unknown one unless missing_ok).
    CurrentSetting,
    /// `quote_ident(text)`: the name, double-quoted when it needs to be.
    QuoteIdent,
    /// `quote_literal(text)`: the text as a string literal (`E'...'` when it holds a
    /// backslash); NULL for NULL.
    QuoteLiteral,
    /// `pg_size_pretty(bigint)`: `8192 bytes`, `16 kB`, ...
    SizePretty,
    /// The ordinals 1..n of the longest of its arrays (`unnest ... WITH ORDINALITY`'s column).
    Ordinals,
}

/// A function of sequences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceFn {
    NextVal,
    CurrVal,
    SetVal,
    LastVal,
    SerialSequence,
}

/// An aggregate function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    /// `array_agg(x)`: NULL inputs are kept, as in PostgreSQL.
    ArrayAgg,
    /// `jsonb_agg(x)`: a JSON array of the inputs (NULLs as `null`), gathered as `array_agg`
    /// gathers them.
    JsonbAgg,
    /// `GROUPING(a, b, ...)`: a bit per argument (the first the highest), set when the row's
    /// grouping set does not group by that argument. Its arguments are GROUP BY keys (checked
    /// by the binder); 0 without grouping sets, computed per set by `exec::grouping_sets`.
    Grouping,
}

/// One aggregate call of a grouped query.
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    /// The arguments, then the `ORDER BY` keys (as many as `order_by` has).
    pub args: Vec<BExpr>,
    pub distinct: bool,
    pub ty: SqlType,
    /// `agg(x ORDER BY k [DESC], ...)`: one entry per key, true for DESC (NULLs first then,
    /// last otherwise, as PostgreSQL's defaults). Empty without ORDER BY.
    pub order_by: Vec<bool>,
    /// `agg(...) FILTER (WHERE cond)`: only the rows where `cond` is true are aggregated.
    pub filter: Option<BExpr>,
}

/// A bound expression.
#[derive(Clone, Debug, PartialEq)]
pub enum BExpr {
    Const(Value, SqlType),
    Param(usize, SqlType),
    /// A column of the current row (`level` 0) or of the `level`-th enclosing query's row.
    Column {
        level: usize,
        index: usize,
        ty: SqlType,
    },
    Neg(Box<BExpr>, SqlType),
    Binary {
        op: BinOp,
        left: Box<BExpr>,
        right: Box<BExpr>,
        operand_ty: SqlType,
        ty: SqlType,
    },
    And(Box<BExpr>, Box<BExpr>),
    Or(Box<BExpr>, Box<BExpr>),
    Not(Box<BExpr>),
    IsNull {
        expr: Box<BExpr>,
        negated: bool,
    },
    IsBool {
        expr: Box<BExpr>,
        value: bool,
        negated: bool,
    },
    IsDistinct {
        left: Box<BExpr>,
        right: Box<BExpr>,
        operand_ty: SqlType,
        negated: bool,
    },
    Cast {
        expr: Box<BExpr>,
        to: SqlType,
        explicit: bool,
    },
    Func {
        func: Func,
        args: Vec<BExpr>,
        ty: SqlType,
    },
    Case {
        operand: Option<Box<BExpr>>,
        whens: Vec<(BExpr, BExpr)>,
        otherwise: Option<Box<BExpr>>,
        ty: SqlType,
    },
    InList {
        expr: Box<BExpr>,
        list: Vec<BExpr>,
        operand_ty: SqlType,
        negated: bool,
    },
    /// `x op ANY (SELECT ...)` (`all`: `op ALL`), or a row `(x, y) op ANY (SELECT a, b ...)`:
    /// one expression and one comparison type per column of the subquery. `IN` is `= ANY`,
    /// `NOT IN` is `<> ALL`; each row compares as in [`BExpr::RowSubquery`].
    InSubquery {
        exprs: Vec<BExpr>,
        plan: Arc<SelectPlan>,
        operand_tys: Vec<SqlType>,
        op: BinOp,
        all: bool,
    },
    /// `(x, y) op (SELECT a, b)`: the row compared with the one row the subquery returns
    /// (none: NULL; more than one: 21000) as PostgreSQL compares rows: `=` and `<>` over
    /// every pair, `<`, `<=`, `>`, `>=` decided by the first pair that is not equal.
    RowSubquery {
        exprs: Vec<BExpr>,
        plan: Arc<SelectPlan>,
        operand_tys: Vec<SqlType>,
        op: BinOp,
    },
    Exists {
        plan: Arc<SelectPlan>,
        negated: bool,
    },
    Subquery {
        plan: Arc<SelectPlan>,
        ty: SqlType,
    },
    Like {
        expr: Box<BExpr>,
        pattern: Box<BExpr>,
        negated: bool,
        case_insensitive: bool,
    },
    /// The `i`-th aggregate's value (after grouping).
    AggRef(usize, SqlType),
    /// The `i`-th window function's value; the binder rewrites it into a column of the row
    /// the window stage extends (`bind/window.rs`).
    WindowRef(usize, SqlType),
}

impl BExpr {
    pub fn ty(&self) -> SqlType {
        match self {
            BExpr::Const(_, t) | BExpr::Param(_, t) | BExpr::Neg(_, t) => *t,
            BExpr::Column { ty, .. }
            | BExpr::Binary { ty, .. }
            | BExpr::Func { ty, .. }
            | BExpr::Case { ty, .. }
            | BExpr::Subquery { ty, .. } => *ty,
            BExpr::AggRef(_, t) | BExpr::WindowRef(_, t) => *t,
            BExpr::Cast { to, .. } => *to,
            BExpr::And(..)
            | BExpr::Or(..)
            | BExpr::Not(_)
            | BExpr::IsNull { .. }
            | BExpr::IsBool { .. }
            | BExpr::IsDistinct { .. }
            | BExpr::InList { .. }
            | BExpr::InSubquery { .. }
            | BExpr::RowSubquery { .. }
            | BExpr::Exists { .. }
            | BExpr::Like { .. } => SqlType::Bool,
        }
    }

    /// Whether the expression reads a column of the current row (level 0).
    pub fn uses_current_row(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| match e {
            BExpr::Column { level: 0, .. } => found = true,
            // a correlated subquery reads the row it is evaluated for (or one further out):
            // it is no constant (an access path's key value, an unnest run once)
            BExpr::InSubquery { plan, .. }
            | BExpr::RowSubquery { plan, .. }
            | BExpr::Exists { plan, .. }
            | BExpr::Subquery { plan, .. }
                if plan.correlated =>
            {
                found = true
            }
            _ => {}
        });
        found
    }

    /// Calls `f` on this node and every sub-node (not into subquery plans).
    pub fn visit(&self, f: &mut dyn FnMut(&BExpr)) {
        f(self);
        match self {
            BExpr::Neg(e, _)
            | BExpr::Not(e)
            | BExpr::IsNull { expr: e, .. }
            | BExpr::IsBool { expr: e, .. }
            | BExpr::Cast { expr: e, .. } => e.visit(f),
            BExpr::InSubquery { exprs, .. } | BExpr::RowSubquery { exprs, .. } => {
                exprs.iter().for_each(|a| a.visit(f))
            }
            BExpr::Binary { left, right, .. }
            | BExpr::IsDistinct { left, right, .. }
            | BExpr::And(left, right)
            | BExpr::Or(left, right)
            | BExpr::Like { expr: left, pattern: right, .. } => {
                left.visit(f);
                right.visit(f);
            }
            BExpr::Func { args, .. } => args.iter().for_each(|a| a.visit(f)),
            BExpr::Case { operand, whens, otherwise, .. } => {
                if let Some(o) = operand {
                    o.visit(f);
                }
                for (w, t) in whens {
                    w.visit(f);
                    t.visit(f);
                }
                if let Some(o) = otherwise {
                    o.visit(f);
                }
            }
            BExpr::InList { expr, list, .. } => {
                expr.visit(f);
                list.iter().for_each(|a| a.visit(f));
            }
            _ => {}
        }
    }

    /// Splits a conjunction into its terms.
    pub fn conjuncts(self) -> Vec<BExpr> {
        match self {
            BExpr::And(a, b) => {
                let mut v = a.conjuncts();
                v.extend(b.conjuncts());
                v
            }
            other => vec![other],
        }
    }
}
