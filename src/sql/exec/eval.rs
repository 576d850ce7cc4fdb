//! Expression evaluation with SQL's three-valued logic, behind [`EvalContext`] (what an
//! expression may ask of the statement running it), so evaluation does not know the executor.
//!
//! Invariants: evaluation never panics on any input; NULL propagates as in PostgreSQL (a
//! comparison with NULL is NULL, `AND`/`OR` follow Kleene logic); integer overflow and division
//! by zero are errors (22003, 22012), not wrap-arounds.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::{AggCall, AggFunc, BExpr, BinOp, CatalogFn, Func, SelectPlan, SessionFunc};
use crate::sql::types::{SqlType, cast, format_text};
use crate::types::{Row, Value};

/// What evaluating an expression may ask of the statement that runs it, beyond its row: the
/// statement's parameters, the rows of enclosing queries, subqueries, and the session's
/// identity and clock. The executor implements it.
pub trait EvalContext {
    /// Parameter `$index + 1` (NULL if not given).
    fn param(&self, index: usize) -> Value;
    /// Column `index` of the enclosing query `level` levels out (1: the nearest).
    fn outer_column(&self, level: usize, index: usize) -> Value;
    /// Runs a subquery for the current row.
    fn run_subquery(
        &mut self,
        plan: &Arc<SelectPlan>,
        row: &[Value],
    ) -> Result<Arc<Vec<Row>>, SqlError>;
    /// The statement's timestamp (microseconds since the epoch): `now()`.
    fn statement_time(&self) -> i64;
    /// When the transaction began (`now()`, `CURRENT_TIMESTAMP`, `CURRENT_DATE`), in
    /// microseconds since the epoch; the statement's time when it is not known apart.
    fn transaction_time(&self) -> i64 {
        self.statement_time()
    }
    /// A pseudo-random number (per statement stream).
    fn random_u64(&mut self) -> u64;
    fn random(&mut self) -> f64 {
        (self.random_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn database(&self) -> &str;
    fn user(&self) -> &str;
    fn session_id(&self) -> u32;
    /// The running transaction's id (0 if none).
    fn txn_id(&self) -> u64;
    /// A catalog function's value (they read the schema).
    fn catalog_call(&mut self, func: CatalogFn, args: &[Value]) -> Result<Value, SqlError>;
    /// Runs a function of the session's state (advisory locks, pg_notify) on its arguments.
    fn session_function(&mut self, func: SessionFunc, _args: &[Value]) -> Result<Value, SqlError> {
        Err(SqlError::unsupported(format!("{func:?} here")))
    }
    /// nextval, currval, setval, lastval, pg_get_serial_sequence on their (non-NULL)
    /// arguments.
    fn sequence_function(
        &mut self,
        func: crate::sql::plan::SequenceFn,
        args: &[Value],
    ) -> Result<Value, SqlError> {
        let _ = (func, args);
        Err(SqlError::unsupported("sequence functions here"))
    }
}

/// A boolean as SQL sees it: true, false or unknown (NULL).
pub fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

/// Compares two values of the same type class; NULL compares as unknown.
pub fn compare(a: &Value, b: &Value, ty: SqlType) -> Result<Option<Ordering>, SqlError> {
    if *a == Value::Null || *b == Value::Null {
        return Ok(None);
    }
    if let (Value::Array(x), Value::Array(y)) = (a, b) {
        return compare_arrays(x, y, ty).map(Some);
    }
    if let (SqlType::Jsonb, Value::Text(x), Value::Text(y)) = (ty, a, b) {
        return crate::sql::types::json::compare(x, y).map(Some);
    }
    let a = coerce_for(a.clone(), ty)?;
    let b = coerce_for(b.clone(), ty)?;
    Ok(Some(match (&a, &b) {
        (Value::Float(x), Value::Float(y)) => {
            // PostgreSQL: NaN equals NaN and sorts above everything.
            x.partial_cmp(y).unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
        }
        _ => a.cmp(&b),
    }))
}

/// Compares arrays element by element, then by length; as in PostgreSQL, a NULL element
/// equals another NULL and sorts after every value.
fn compare_arrays(a: &[Value], b: &[Value], ty: SqlType) -> Result<Ordering, SqlError> {
    let elem = match ty {
        SqlType::Array(e) => *e,
        t => t,
    };
    for (x, y) in a.iter().zip(b) {
        let ord = match (x, y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => compare(x, y, elem)?.unwrap_or(Ordering::Equal),
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// Brings a value to the storage variant of `ty` for comparison or arithmetic.
fn coerce_for(v: Value, ty: SqlType) -> Result<Value, SqlError> {
    let from = match &v {
        Value::Int(_)
            if matches!(
                ty,
                SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz | SqlType::Time(_)
            ) =>
        {
            return Ok(v);
        }
        Value::Int(_) => SqlType::Int8,
        Value::Float(_) => SqlType::Float8,
        Value::Numeric(_) => SqlType::Numeric(None),
        Value::Text(_) => SqlType::Text,
        Value::Bool(_) => SqlType::Bool,
        Value::Bytes(_) => SqlType::Bytea,
        Value::Null | Value::Array(_) | Value::Interval(_) | Value::Enum(_) => return Ok(v),
    };
    let target = match ty {
        SqlType::Varchar(_)
        | SqlType::Char(_)
        | SqlType::Unknown
        | SqlType::Json
        | SqlType::Jsonb => SqlType::Text,
        SqlType::Int2 | SqlType::Int4 => SqlType::Int8,
        SqlType::Float4 => SqlType::Float8,
        t => t,
    };
    if from == target || (from == SqlType::Text && target == SqlType::Uuid) {
        return Ok(v);
    }
    cast(v, from, target, true)
}

fn overflow(ty: SqlType) -> SqlError {
    SqlError::new(SqlState::NumericValueOutOfRange, format!("{} out of range", ty.name()))
}

fn division_by_zero() -> SqlError {
    SqlError::new(SqlState::DivisionByZero, "division by zero")
}

fn check_range(i: i64, ty: SqlType) -> Result<Value, SqlError> {
    let fits = match ty {
        SqlType::Int2 => i16::try_from(i).is_ok(),
        SqlType::Int4 => i32::try_from(i).is_ok(),
        _ => true,
    };
    if fits { Ok(Value::Int(i)) } else { Err(overflow(ty)) }
}

/// `x << n` / `x >> n` in the width of `ty`, as PostgreSQL's C shifts: the count taken modulo
/// the width, bits shifted out of the left dropped (the result wraps), `>>` keeping the sign.
fn shift(op: BinOp, x: i64, n: i64, ty: SqlType) -> Value {
    let n = n as u32;
    Value::Int(match ty {
        SqlType::Int2 => {
            let x = x as i16;
            i64::from(if op == BinOp::ShiftLeft { x.wrapping_shl(n) } else { x.wrapping_shr(n) })
        }
        SqlType::Int4 => {
            let x = x as i32;
            i64::from(if op == BinOp::ShiftLeft { x.wrapping_shl(n) } else { x.wrapping_shr(n) })
        }
        _ => {
            if op == BinOp::ShiftLeft {
                x.wrapping_shl(n)
            } else {
                x.wrapping_shr(n)
            }
        }
    })
}

/// Evaluates arithmetic on two non-NULL values in the operand type `ty`.
fn arithmetic(
    op: BinOp,
    a: Value,
    b: Value,
    operand_ty: SqlType,
    ty: SqlType,
) -> Result<Value, SqlError> {
    if op == BinOp::Concat {
        // each side as its cast to text reads (a boolean as `true`, not its output `t`)
        let as_text = |v: &Value| match v {
            Value::Bool(b) => b.to_string(),
            v => format_text(v, operand_ty).unwrap_or_default(),
        };
        let (sa, sb) = (as_text(&a), as_text(&b));
        return Ok(Value::Text(sa + &sb));
    }
    // date + integer, timestamp - timestamp and the like
    if (matches!(operand_ty, SqlType::Date) || matches!(ty, SqlType::Date))
        && let (Value::Int(x), Value::Int(y)) = (&a, &b)
    {
        return match op {
            BinOp::Add => Ok(Value::Int(x + y)),
            BinOp::Sub => Ok(Value::Int(x - y)),
            _ => Err(SqlError::new(
                SqlState::UndefinedFunction,
                "operator does not exist for type date",
            )),
        };
    }
    let a = coerce_for(a, operand_ty)?;
    let b = coerce_for(b, operand_ty)?;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => {
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => {
                    if y == 0 {
                        return Err(division_by_zero());
                    }
                    x.checked_div(y)
                }
                BinOp::Mod => {
                    if y == 0 {
                        return Err(division_by_zero());
                    }
                    x.checked_rem(y)
                }
                BinOp::BitAnd => Some(x & y),
                BinOp::BitOr => Some(x | y),
                BinOp::BitXor => Some(x ^ y),
                BinOp::ShiftLeft | BinOp::ShiftRight => return Ok(shift(op, x, y, ty)),
                _ => None,
            };
            r.ok_or_else(|| overflow(ty)).and_then(|r| check_range(r, ty))
        }
        (Value::Float(x), Value::Float(y)) => {
            let r = match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                BinOp::Mul => x * y,
                BinOp::Div => {
                    if y == 0.0 {
                        return Err(division_by_zero());
                    }
                    x / y
                }
                BinOp::Mod => x % y,
                _ => {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        "operator does not exist",
                    ));
                }
            };
            Ok(Value::Float(r))
        }
        (Value::Numeric(x), Value::Numeric(y)) => {
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mul => x.checked_mul(y),
                BinOp::Div => {
                    if y.is_zero() {
                        return Err(division_by_zero());
                    }
                    x.checked_div(y).map(|d| {
                        let scale = x.scale().max(y.scale()).max(16);
                        let mut d = d.round_dp(scale);
                        d.rescale(scale);
                        d
                    })
                }
                BinOp::Mod => {
                    if y.is_zero() {
                        return Err(division_by_zero());
                    }
                    x.checked_rem(y)
                }
                _ => None,
            };
            r.map(Value::Numeric).ok_or_else(|| {
                SqlError::new(SqlState::NumericValueOutOfRange, "numeric field overflow")
            })
        }
        (x, _) => Err(SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {} {:?}", operand_ty.name(), x),
        )),
    }
}

/// Matches `s` against a LIKE pattern (`%`, `_`, backslash escapes).
pub fn like_match(s: &str, pattern: &str, case_insensitive: bool) -> bool {
    let (s, p): (Vec<char>, Vec<char>) = if case_insensitive {
        (s.to_lowercase().chars().collect(), pattern.to_lowercase().chars().collect())
    } else {
        (s.chars().collect(), pattern.chars().collect())
    };
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|i| go(&s[i..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&s[1..], &p[2..]),
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    go(&s, &p)
}

impl BExpr {
    /// Evaluates against `row` (level 0) and the enclosing queries' rows in `ctx`.
    pub fn eval<C: EvalContext + ?Sized>(
        &self,
        row: &[Value],
        ctx: &mut C,
    ) -> Result<Value, SqlError> {
        Ok(match self {
            BExpr::Const(v, _) => v.clone(),
            BExpr::Param(i, _) => ctx.param(*i),
            BExpr::Column { level: 0, index, .. } => {
                row.get(*index).cloned().unwrap_or(Value::Null)
            }
            BExpr::Column { level, index, .. } => ctx.outer_column(*level, *index),
            BExpr::WindowRef(i, _) => {
                return Err(SqlError::new(
                    SqlState::InternalError,
                    format!("unplaced window function reference {i}"),
                ));
            }
            BExpr::AggRef(i, _) => {
                // after grouping, the row is [group keys..., aggregates...]; the planner
                // rewrote these into Column references, so reaching here is a planner slip
                return Err(SqlError::new(
                    SqlState::InternalError,
                    format!("unplaced aggregate reference {i}"),
                ));
            }
            BExpr::Neg(e, ty) => match e.eval(row, ctx)? {
                Value::Null => Value::Null,
                Value::Int(i) => check_range(i.checked_neg().ok_or_else(|| overflow(*ty))?, *ty)?,
                Value::Float(f) => Value::Float(-f),
                Value::Numeric(d) => Value::Numeric(-d),
                Value::Interval(iv) => {
                    Value::Interval(crate::sql::types::datetime::negate_interval(&iv)?)
                }
                other => {
                    return Err(SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("cannot negate {other}"),
                    ));
                }
            },
            BExpr::Binary { op, left, right, operand_ty, ty } => {
                let a = left.eval(row, ctx)?;
                let b = right.eval(row, ctx)?;
                if a == Value::Null || b == Value::Null {
                    return Ok(Value::Null);
                }
                if op.is_comparison() {
                    let ord = compare(&a, &b, *operand_ty)?.expect("non-null");
                    Value::Bool(match op {
                        BinOp::Eq => ord == Ordering::Equal,
                        BinOp::NotEq => ord != Ordering::Equal,
                        BinOp::Lt => ord == Ordering::Less,
                        BinOp::LtEq => ord != Ordering::Greater,
                        BinOp::Gt => ord == Ordering::Greater,
                        _ => ord != Ordering::Less,
                    })
                } else {
                    arithmetic(*op, a, b, *operand_ty, *ty)?
                }
            }
            BExpr::And(a, b) => {
                let x = truth(&a.eval(row, ctx)?);
                if x == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (x, truth(&b.eval(row, ctx)?)) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            BExpr::Or(a, b) => {
                let x = truth(&a.eval(row, ctx)?);
                if x == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (x, truth(&b.eval(row, ctx)?)) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            BExpr::Not(e) => match truth(&e.eval(row, ctx)?) {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            BExpr::IsNull { expr, negated } => {
                Value::Bool((expr.eval(row, ctx)? == Value::Null) != *negated)
            }
            BExpr::IsBool { expr, value, negated } => {
                let v = truth(&expr.eval(row, ctx)?);
                Value::Bool((v == Some(*value)) != *negated)
            }
            BExpr::IsDistinct { left, right, operand_ty, negated } => {
                let a = left.eval(row, ctx)?;
                let b = right.eval(row, ctx)?;
                let distinct = match (a == Value::Null, b == Value::Null) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => compare(&a, &b, *operand_ty)? != Some(Ordering::Equal),
                };
                Value::Bool(distinct != *negated)
            }
            BExpr::Cast { expr, to, explicit } => {
                let v = expr.eval(row, ctx)?;
                cast(v, expr.ty(), *to, *explicit)?
            }
            BExpr::Func { func, args, ty } => eval_func(*func, args, *ty, row, ctx)?,
            BExpr::Case { operand, whens, otherwise, ty } => {
                let subject = match operand {
                    Some(o) => Some((o.eval(row, ctx)?, SqlType::unify(o.ty(), whens[0].0.ty()))),
                    None => None,
                };
                for (when, then) in whens {
                    let hit = match &subject {
                        Some((s, t)) => {
                            compare(s, &when.eval(row, ctx)?, *t)? == Some(Ordering::Equal)
                        }
                        None => truth(&when.eval(row, ctx)?) == Some(true),
                    };
                    if hit {
                        let v = then.eval(row, ctx)?;
                        return cast(v, then.ty(), *ty, false);
                    }
                }
                match otherwise {
                    Some(e) => {
                        let v = e.eval(row, ctx)?;
                        cast(v, e.ty(), *ty, false)?
                    }
                    None => Value::Null,
                }
            }
            BExpr::InList { expr, list, operand_ty, negated } => {
                let v = expr.eval(row, ctx)?;
                let mut values = Vec::with_capacity(list.len());
                for item in list {
                    values.push(item.eval(row, ctx)?);
                }
                in_values(&v, values.iter(), *operand_ty, *negated)?
            }
            BExpr::InSubquery { exprs, plan, operand_tys, op, all } => {
                let mut values = Vec::with_capacity(exprs.len());
                for e in exprs {
                    values.push(e.eval(row, ctx)?);
                }
                let rows = ctx.run_subquery(plan, row)?;
                quantified(&values, &rows, operand_tys, *op, *all)?
            }
            BExpr::RowSubquery { exprs, plan, operand_tys, op } => {
                let mut values = Vec::with_capacity(exprs.len());
                for e in exprs {
                    values.push(e.eval(row, ctx)?);
                }
                let rows = ctx.run_subquery(plan, row)?;
                match rows.as_slice() {
                    [] => Value::Null,
                    [other] => compare_rows(&values, other, operand_tys, *op)?,
                    _ => {
                        return Err(SqlError::new(
                            SqlState::CardinalityViolation,
                            "more than one row returned by a subquery used as an expression",
                        ));
                    }
                }
            }
            BExpr::Exists { plan, negated } => {
                let rows = ctx.run_subquery(plan, row)?;
                Value::Bool(rows.is_empty() == *negated)
            }
            BExpr::Subquery { plan, .. } => {
                let rows = ctx.run_subquery(plan, row)?;
                match rows.len() {
                    0 => Value::Null,
                    1 => rows[0][0].clone(),
                    _ => {
                        return Err(SqlError::new(
                            SqlState::CardinalityViolation,
                            "more than one row returned by a subquery used as an expression",
                        ));
                    }
                }
            }
            BExpr::Like { expr, pattern, negated, case_insensitive } => {
                let v = expr.eval(row, ctx)?;
                let p = pattern.eval(row, ctx)?;
                match (v, p) {
                    (Value::Text(s), Value::Text(p)) => {
                        Value::Bool(like_match(&s, &p, *case_insensitive) != *negated)
                    }
                    _ => Value::Null,
                }
            }
        })
    }

    /// Evaluates a predicate: true only if the value is TRUE (NULL and FALSE reject).
    pub fn holds<C: EvalContext + ?Sized>(
        &self,
        row: &[Value],
        ctx: &mut C,
    ) -> Result<bool, SqlError> {
        Ok(truth(&self.eval(row, ctx)?) == Some(true))
    }
}

fn in_values<'a>(
    v: &Value,
    values: impl Iterator<Item = &'a Value>,
    ty: SqlType,
    negated: bool,
) -> Result<Value, SqlError> {
    if *v == Value::Null {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for item in values {
        match compare(v, item, ty)? {
            Some(Ordering::Equal) => return Ok(Value::Bool(!negated)),
            None => saw_null = true,
            _ => {}
        }
    }
    Ok(if saw_null { Value::Null } else { Value::Bool(negated) })
}

/// `row op ANY (rows)` (`all`: `op ALL`) as PostgreSQL answers it: each row compared as
/// `compare_rows` does; ANY is true if some comparison is, ALL false if some is; else NULL
/// if some is NULL; else ALL's answer over no rows (true), ANY's (false). `IN` is `= ANY`,
/// `NOT IN` `<> ALL`: `NULL IN (no rows)` is false.
fn quantified(
    row: &[Value],
    rows: &[Vec<Value>],
    tys: &[SqlType],
    op: BinOp,
    all: bool,
) -> Result<Value, SqlError> {
    let mut saw_null = false;
    for other in rows {
        match compare_rows(row, other, tys, op)? {
            Value::Bool(b) if b != all => return Ok(Value::Bool(b)),
            Value::Null => saw_null = true,
            _ => {}
        }
    }
    Ok(if saw_null { Value::Null } else { Value::Bool(all) })
}

/// Two rows compared as PostgreSQL compares them: `=` is false if a pair differs, else NULL
/// if a pair has a NULL; `<>` the opposite; `<`, `<=`, `>`, `>=` are decided by the first
/// pair that is not equal (NULL if that pair has a NULL).
fn compare_rows(
    left: &[Value],
    right: &[Value],
    tys: &[SqlType],
    op: BinOp,
) -> Result<Value, SqlError> {
    let mut saw_null = false;
    for ((a, b), ty) in left.iter().zip(right).zip(tys) {
        match compare(a, b, *ty)? {
            Some(Ordering::Equal) => {}
            None if matches!(op, BinOp::Eq | BinOp::NotEq) => saw_null = true,
            None => return Ok(Value::Null),
            Some(order) => {
                return Ok(Value::Bool(match op {
                    BinOp::Eq => false,
                    BinOp::NotEq => true,
                    BinOp::Lt | BinOp::LtEq => order == Ordering::Less,
                    _ => order == Ordering::Greater,
                }));
            }
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(matches!(op, BinOp::Eq | BinOp::LtEq | BinOp::GtEq))
    })
}

fn eval_func<C: EvalContext + ?Sized>(
    func: Func,
    args: &[BExpr],
    ty: SqlType,
    row: &[Value],
    ctx: &mut C,
) -> Result<Value, SqlError> {
    let mut vals = Vec::with_capacity(args.len());
    // COALESCE evaluates lazily
    if func == Func::Coalesce {
        for a in args {
            let v = a.eval(row, ctx)?;
            if v != Value::Null {
                return cast(v, a.ty(), ty, false);
            }
        }
        return Ok(Value::Null);
    }
    for a in args {
        vals.push(a.eval(row, ctx)?);
    }
    if let Some(v) = crate::sql::exec::arrays::eval(func, args, &vals, ty)? {
        return Ok(v);
    }
    if let Some(v) = crate::sql::exec::datetime::eval(func, args, &vals, ty)? {
        return Ok(v);
    }
    if let Some(v) = crate::sql::exec::json::eval(func, &vals)? {
        return Ok(v);
    }
    if let Func::Scalar(f) = func {
        return crate::sql::exec::scalar::eval(f, args, &vals);
    }
    let text =
        |i: usize| -> Option<String> { vals.get(i).and_then(|v| format_text(v, args[i].ty())) };
    let strict_null = !matches!(
        func,
        Func::Concat
            | Func::Greatest
            | Func::Least
            | Func::NullIf
            | Func::ConstNull
            | Func::ConstTrue
            | Func::Catalog(_)
            | Func::Session(SessionFunc::Notify)
    );
    if strict_null && vals.contains(&Value::Null) {
        return Ok(Value::Null);
    }
    Ok(match func {
        Func::Now => Value::Int(ctx.transaction_time()),
        Func::StatementTimestamp => Value::Int(ctx.statement_time()),
        Func::ClockTimestamp => Value::Int(crate::sql::types::now_micros()),
        Func::CurrentDate => Value::Int(ctx.transaction_time().div_euclid(86_400_000_000)),
        Func::Coalesce => unreachable!("handled above"),
        Func::NullIf => {
            let t = SqlType::unify(args[0].ty(), args[1].ty());
            if compare(&vals[0], &vals[1], t)? == Some(Ordering::Equal) {
                Value::Null
            } else {
                vals[0].clone()
            }
        }
        Func::Greatest | Func::Least => {
            let mut best: Option<Value> = None;
            for (v, a) in vals.iter().zip(args) {
                let v = cast(v.clone(), a.ty(), ty, false)?;
                if v == Value::Null {
                    continue;
                }
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let ord = compare(&v, &b, ty)?.unwrap_or(Ordering::Equal);
                        let take = if func == Func::Greatest {
                            ord == Ordering::Greater
                        } else {
                            ord == Ordering::Less
                        };
                        if take { v } else { b }
                    }
                });
            }
            best.unwrap_or(Value::Null)
        }
        Func::Lower => Value::Text(text(0).unwrap_or_default().to_lowercase()),
        Func::Upper => Value::Text(text(0).unwrap_or_default().to_uppercase()),
        Func::Length => match &vals[0] {
            Value::Bytes(b) => Value::Int(b.len() as i64),
            _ => Value::Int(text(0).unwrap_or_default().chars().count() as i64),
        },
        Func::Substring => {
            let s: Vec<char> = text(0).unwrap_or_default().chars().collect();
            let start = vals.get(1).and_then(Value::as_int).unwrap_or(1);
            let len = vals.get(2).and_then(Value::as_int);
            if let Some(l) = len
                && l < 0
            {
                return Err(SqlError::new(
                    SqlState::SubstringError,
                    "negative substring length not allowed",
                ));
            }
            let end = len.map_or(i64::MAX, |l| start.saturating_add(l));
            let from = start.max(1) as usize - 1;
            let to = end.clamp(1, s.len() as i64 + 1) as usize - 1;
            Value::Text(if from < to { s[from..to].iter().collect() } else { String::new() })
        }
        Func::Trim | Func::LTrim | Func::RTrim => {
            let s = text(0).unwrap_or_default();
            let chars: Vec<char> = text(1).unwrap_or_else(|| " ".into()).chars().collect();
            let t = match func {
                Func::Trim => s.trim_matches(|c| chars.contains(&c)),
                Func::LTrim => s.trim_start_matches(|c| chars.contains(&c)),
                _ => s.trim_end_matches(|c| chars.contains(&c)),
            };
            Value::Text(t.to_string())
        }
        Func::Concat => {
            let mut out = String::new();
            for (v, a) in vals.iter().zip(args) {
                if let Some(s) = format_text(v, a.ty()) {
                    out.push_str(&s);
                }
            }
            Value::Text(out)
        }
        Func::Replace => {
            let s = text(0).unwrap_or_default();
            let from = text(1).unwrap_or_default();
            let to = text(2).unwrap_or_default();
            Value::Text(if from.is_empty() { s } else { s.replace(&from, &to) })
        }
        Func::Abs => match &vals[0] {
            Value::Int(i) => check_range(i.checked_abs().ok_or_else(|| overflow(ty))?, ty)?,
            Value::Float(f) => Value::Float(f.abs()),
            Value::Numeric(d) => Value::Numeric(d.abs()),
            _ => Value::Null,
        },
        Func::Round | Func::Trunc | Func::Floor | Func::Ceil => {
            if vals.contains(&Value::Null) {
                return Ok(Value::Null);
            }
            let digits = vals.get(1).and_then(Value::as_int).unwrap_or(0).clamp(-28, 28);
            match &vals[0] {
                Value::Int(i) => Value::Int(*i),
                Value::Float(f) => Value::Float(match func {
                    Func::Round | Func::Trunc => {
                        let m = 10f64.powi(digits as i32);
                        let scaled = f * m;
                        // a double rounds half to even, as PostgreSQL's rint
                        (if func == Func::Round {
                            scaled.round_ties_even()
                        } else {
                            scaled.trunc()
                        }) / m
                    }
                    Func::Floor => f.floor(),
                    _ => f.ceil(),
                }),
                Value::Numeric(d) => Value::Numeric(match func {
                    Func::Round | Func::Trunc => {
                        let strategy = if func == Func::Round {
                            rust_decimal::RoundingStrategy::MidpointAwayFromZero
                        } else {
                            rust_decimal::RoundingStrategy::ToZero
                        };
                        if digits >= 0 {
                            let mut r = d.round_dp_with_strategy(digits as u32, strategy);
                            // with a digits argument the result has exactly that scale
                            if vals.len() > 1 {
                                r.rescale(digits as u32);
                            }
                            r
                        } else {
                            // left of the point: 1234.5 at -2 is 1200
                            let unit = Decimal::from_i128_with_scale(10i128.pow(-digits as u32), 0);
                            (d / unit).round_dp_with_strategy(0, strategy) * unit
                        }
                    }
                    Func::Floor => d.floor(),
                    _ => d.ceil(),
                }),
                _ => Value::Null,
            }
        }
        Func::Random => Value::Float(ctx.random()),
        Func::Version => Value::Text(crate::sql::system::server_version_string()),
        Func::CurrentSchema => Value::Text("public".into()),
        Func::CurrentDatabase => Value::Text(ctx.database().to_string()),
        Func::CurrentUser => Value::Text(ctx.user().to_string()),
        Func::BackendPid => Value::Int(ctx.session_id() as i64),
        Func::Session(f) => ctx.session_function(f, &vals)?,
        Func::TxidCurrent => Value::Int(ctx.txn_id() as i64),
        Func::ConstTrue => Value::Bool(true),
        Func::ConstNull => Value::Null,
        Func::Catalog(f) => ctx.catalog_call(f, &vals)?,
        Func::Sequence(f) => ctx.sequence_function(f, &vals)?,
        // evaluated by `arrays::eval` above
        Func::RegexMatch { .. }
        | Func::SimilarTo
        | Func::RegexpReplace
        | Func::RegexpMatch
        | Func::RegexpSubstring
        | Func::MakeArray
        | Func::ArrayLength
        | Func::ArrayLower
        | Func::ArrayUpper
        | Func::Cardinality
        | Func::ArrayToString
        | Func::Subscript
        | Func::NameByte
        | Func::ArrayConcat
        | Func::ArrayContains
        | Func::ArrayOverlap
        | Func::ArrayPosition
        | Func::ArrayRemove
        | Func::StringToArray
        | Func::Quantified { .. }
        | Func::Extract
        | Func::DatePart
        | Func::DateTrunc
        | Func::AtTimeZone
        | Func::DateTimeArith(_)
        | Func::Scalar(_)
        | Func::JsonGet { .. }
        | Func::JsonHasKey { .. }
        | Func::JsonContains => Value::Null,
        Func::GenRandomUuid => {
            let a = ctx.random_u64();
            let b = ctx.random_u64();
            let hex = format!("{a:016x}{b:016x}");
            let mut h: Vec<char> = hex.chars().collect();
            h[12] = '4';
            h[16] = ['8', '9', 'a', 'b'][(b % 4) as usize];
            let h: String = h.into_iter().collect();
            Value::Text(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
    })
}

/// Running state of one aggregate over a group.
#[derive(Clone, Debug)]
pub struct AggState {
    count: i64,
    value: Value,
    seen: Option<std::collections::HashSet<Value>>,
    /// `array_agg` / `string_agg` with ORDER BY: the input rows (arguments, then keys), sorted
    /// and aggregated at `finish`.
    ordered: Option<Vec<Vec<Value>>>,
}

impl AggState {
    pub fn new(call: &AggCall) -> Self {
        let ordered = (!call.order_by.is_empty()
            && matches!(call.func, AggFunc::ArrayAgg | AggFunc::StringAgg | AggFunc::JsonbAgg))
        .then(Vec::new);
        AggState {
            count: 0,
            value: Value::Null,
            seen: call.distinct.then(Default::default),
            ordered,
        }
    }

    /// Adds one input row's argument values.
    pub fn add(&mut self, call: &AggCall, args: &[Value]) -> Result<(), SqlError> {
        if call.func == AggFunc::CountStar {
            self.count += 1;
            return Ok(());
        }
        if call.func == AggFunc::Grouping {
            return Ok(());
        }
        if let Some(rows) = &mut self.ordered {
            rows.push(args.to_vec());
            return Ok(());
        }
        let v = args.first().cloned().unwrap_or(Value::Null);
        if matches!(call.func, AggFunc::ArrayAgg | AggFunc::JsonbAgg) {
            if let Some(seen) = &mut self.seen
                && !seen.insert(v.clone())
            {
                return Ok(());
            }
            match &mut self.value {
                Value::Array(items) => items.push(v),
                _ => self.value = Value::Array(vec![v]),
            }
            return Ok(());
        }
        if v == Value::Null {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen
            && !seen.insert(v.clone())
        {
            return Ok(());
        }
        self.count += 1;
        let arg_ty = call.args[0].ty();
        self.value = match (call.func, std::mem::replace(&mut self.value, Value::Null)) {
            (AggFunc::Count, _) => Value::Null,
            (AggFunc::Sum | AggFunc::Avg, Value::Null) => match v {
                Value::Int(i) if call.func == AggFunc::Avg || arg_ty == SqlType::Int8 => {
                    Value::Numeric(Decimal::from(i))
                }
                other => other,
            },
            (AggFunc::Sum | AggFunc::Avg, Value::Interval(acc)) => match v {
                Value::Interval(iv) => Value::Interval(
                    crate::sql::types::datetime::combine_intervals(&acc, &iv, false)?,
                ),
                _ => Value::Interval(acc),
            },
            (AggFunc::Sum | AggFunc::Avg, acc) => {
                let add_ty = match acc {
                    Value::Numeric(_) => SqlType::Numeric(None),
                    Value::Float(_) => SqlType::Float8,
                    _ => SqlType::Int8,
                };
                arithmetic(BinOp::Add, acc, v, add_ty, SqlType::Int8)?
            }
            (AggFunc::Min | AggFunc::Max, Value::Null) => v,
            (AggFunc::Min | AggFunc::Max, acc) => {
                // a value equal to the one kept replaces it, as PostgreSQL's `larger` and
                // `smaller` answer their second argument on a tie ('30 days' after '1 mon')
                let ord = compare(&v, &acc, arg_ty)?.unwrap_or(Ordering::Equal);
                let better = if call.func == AggFunc::Min {
                    ord != Ordering::Greater
                } else {
                    ord != Ordering::Less
                };
                if better { v } else { acc }
            }
            (AggFunc::BoolAnd, acc) => {
                Value::Bool(truth(&v) == Some(true) && acc != Value::Bool(false))
            }
            (AggFunc::BoolOr, acc) => {
                Value::Bool(truth(&v) == Some(true) || acc == Value::Bool(true))
            }
            (AggFunc::StringAgg, acc) => {
                let sep =
                    args.get(1).and_then(|s| format_text(s, SqlType::Text)).unwrap_or_default();
                let s = format_text(&v, arg_ty).unwrap_or_default();
                match acc {
                    Value::Text(a) => Value::Text(a + &sep + &s),
                    _ => Value::Text(s),
                }
            }
            (AggFunc::CountStar | AggFunc::ArrayAgg | AggFunc::JsonbAgg | AggFunc::Grouping, _) => {
                unreachable!("handled above")
            }
        };
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(self, call: &AggCall) -> Result<Value, SqlError> {
        if let Some(mut rows) = self.ordered {
            let values = call.args.len() - call.order_by.len();
            rows.sort_by(|a, b| {
                call.order_by
                    .iter()
                    .enumerate()
                    .map(|(i, &desc)| {
                        let (x, y) = (&a[values + i], &b[values + i]);
                        // NULLs sort last ascending, first descending (PostgreSQL's default)
                        let ord = match (x, y) {
                            (Value::Null, Value::Null) => Ordering::Equal,
                            (Value::Null, _) => Ordering::Greater,
                            (_, Value::Null) => Ordering::Less,
                            _ => x.cmp(y),
                        };
                        if desc { ord.reverse() } else { ord }
                    })
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            });
            let plain =
                AggCall { args: call.args[..values].to_vec(), order_by: vec![], ..call.clone() };
            let mut state = AggState::new(&plain);
            for row in &rows {
                state.add(&plain, &row[..values])?;
            }
            return state.finish(&plain);
        }
        Ok(match call.func {
            AggFunc::JsonbAgg => match self.value {
                Value::Null => Value::Null,
                items => {
                    let elem = call.args.first().map_or(SqlType::Text, |a| a.ty());
                    let text = crate::sql::types::json::from_value(
                        &items,
                        crate::sql::types::array_of(elem),
                    )?;
                    Value::Text(crate::sql::types::json::normalize(&text)?)
                }
            },
            AggFunc::CountStar | AggFunc::Count => Value::Int(self.count),
            // every key is grouped by outside grouping sets (`group_sets` sets it per set)
            AggFunc::Grouping => Value::Int(0),
            AggFunc::Avg => match self.value {
                Value::Null => Value::Null,
                Value::Numeric(d) => {
                    let mut avg = (d / Decimal::from(self.count)).round_dp(16);
                    avg.rescale(16);
                    Value::Numeric(avg)
                }
                Value::Float(f) => Value::Float(f / self.count as f64),
                Value::Interval(iv) => Value::Interval(
                    crate::sql::types::datetime::scale_interval(&iv, self.count as f64, true)?,
                ),
                other => other,
            },
            _ => cast(self.value, call.ty, call.ty, false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like_match("hello", "h%o", false));
        assert!(like_match("hello", "_ello", false));
        assert!(!like_match("hello", "h_o", false));
        assert!(like_match("HeLLo", "hello", true));
        assert!(like_match("50%", "50\\%", false));
    }

    #[test]
    fn comparisons_coerce_numbers() {
        let d = Value::Numeric(Decimal::new(15, 1));
        assert_eq!(
            compare(&Value::Int(2), &d, SqlType::Numeric(None)).unwrap(),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(&Value::Null, &d, SqlType::Numeric(None)).unwrap(), None);
    }
}
