//! Binding of the date-time functions: `EXTRACT(field FROM v)`, `date_part(field, v)`,
//! `date_trunc(field, v)` and `v AT TIME ZONE zone`, as Django's date lookups send them
//! (evaluated by `exec/datetime.rs`, which documents what they compute).
//!
//! Invariant: `v` is a date, a timestamp or a timestamptz (an untyped literal or parameter
//! becomes a timestamptz, PostgreSQL's preferred type); the field and the zone are text.

use sqlparser::ast::{self, DateTimeField, Expr, Value as AstValue};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope};
use crate::sql::plan::scalar::ScalarFn;
use crate::sql::plan::{BExpr, BinOp, Func};
use crate::sql::types::{SqlType, parse_text};
use crate::types::Value;

impl Binder<'_> {
    /// `EXTRACT(field FROM v)`: a numeric.
    pub(super) fn extract(
        &mut self,
        field: &DateTimeField,
        v: &Expr,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let name = match field {
            DateTimeField::Custom(ident) => ident.value.to_lowercase(),
            other => other.to_string().to_lowercase(),
        };
        let v = self.expr(v, scope, None)?;
        let v = if v.ty() == SqlType::Interval {
            v
        } else {
            self.date_time_argument("pg_catalog.extract", v)?
        };
        let field = BExpr::Const(Value::Text(name), SqlType::Text);
        Ok(BExpr::Func { func: Func::Extract, args: vec![field, v], ty: SqlType::Numeric(None) })
    }

    /// `v AT TIME ZONE zone`: a timestamptz read as a timestamp in the zone, or the reverse.
    pub(super) fn at_time_zone(
        &mut self,
        v: &Expr,
        zone: &Expr,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let v = self.expr(v, scope, None)?;
        let v = self.date_time_argument("pg_catalog.timezone", v)?;
        let zone = self.expr(zone, scope, Some(SqlType::Text))?;
        let zone = self.retype_unknown(zone, SqlType::Text)?;
        let ty = at_time_zone_type(v.ty());
        Ok(BExpr::Func { func: Func::AtTimeZone, args: vec![v, zone], ty })
    }

    /// `date_part(field, v)` and `date_trunc(field, v)`; `None` for any other name.
    pub(super) fn datetime_function(
        &mut self,
        name: &str,
        args: &mut Vec<BExpr>,
    ) -> Result<Option<BExpr>, SqlError> {
        let func = match name {
            "date_part" => Func::DatePart,
            "date_trunc" => Func::DateTrunc,
            _ => return Ok(None),
        };
        if args.len() != 2 {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "function {name}({}) does not exist",
                    args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let v = args.pop().expect("two arguments");
        let v = if v.ty() == SqlType::Interval { v } else { self.date_time_argument(name, v)? };
        let field = self.retype_unknown(args.pop().expect("two arguments"), SqlType::Text)?;
        let ty = match (func, v.ty()) {
            (Func::DatePart, _) => SqlType::Float8,
            (_, SqlType::Time(_)) => SqlType::Time(None),
            (_, SqlType::Timestamp) => SqlType::Timestamp,
            (_, SqlType::Interval) => SqlType::Interval,
            _ => SqlType::Timestamptz,
        };
        Ok(Some(BExpr::Func { func, args: vec![field, v], ty }))
    }

    /// A date-time function's value argument: a date or timestamp (an untyped one becomes a
    /// timestamptz); 42883 for anything else.
    fn date_time_argument(&mut self, function: &str, v: BExpr) -> Result<BExpr, SqlError> {
        let v = self.retype_unknown(v, SqlType::Timestamptz)?;
        match v.ty() {
            SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz => Ok(v),
            // EXTRACT and date_part read a time's fields; date_trunc takes it as the interval
            // since midnight (PostgreSQL's implicit cast), and answers an interval
            SqlType::Time(_) if function == "date_trunc" => {
                Ok(BExpr::Cast { expr: Box::new(v), to: SqlType::Interval, explicit: false })
            }
            SqlType::Time(_) if function == "date_part" || function == "pg_catalog.extract" => {
                Ok(v)
            }
            t => Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("function {function}(unknown, {}) does not exist", t.name()),
            )),
        }
    }
}

/// The type `x AT TIME ZONE zone` has: a timestamptz for a timestamp, a timestamp for a
/// timestamptz or a date (read as a timestamptz, as PostgreSQL resolves it).
fn at_time_zone_type(ty: SqlType) -> SqlType {
    if ty == SqlType::Timestamp { SqlType::Timestamptz } else { SqlType::Timestamp }
}

/// The type an untyped right operand of `l op _` takes: an interval after a timestamp's `+`
/// or an interval's `+`, `-` or comparison, a number after an interval's `*` or `/`, else
/// `l`'s own type (PostgreSQL's operator resolution for these cases).
pub(super) fn right_operand_hint(l: &BExpr, op: BinOp) -> SqlType {
    match (l.ty(), op) {
        (SqlType::Timestamp | SqlType::Timestamptz | SqlType::Time(_), BinOp::Add) => {
            SqlType::Interval
        }
        (SqlType::Interval, BinOp::Mul | BinOp::Div) => SqlType::Float8,
        (SqlType::Date, BinOp::Add) => SqlType::Unknown,
        (SqlType::Jsonb, BinOp::Sub) => SqlType::Text,
        (t, _) => t,
    }
}

/// Whether `t` is a date, a timestamp or a timestamptz.
fn is_datetime(t: SqlType) -> bool {
    matches!(t, SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz)
}

impl Binder<'_> {
    /// `a || b` between two jsonb values (an untyped side becomes one); `None` otherwise (a
    /// jsonb with a text is text concatenation, as in PostgreSQL).
    pub(super) fn jsonb_concat(
        &mut self,
        l: BExpr,
        r: BExpr,
        op: &ast::BinaryOperator,
    ) -> Result<Option<BExpr>, SqlError> {
        use SqlType::{Jsonb, Unknown};
        if !matches!((l.ty(), r.ty()), (Jsonb, Jsonb | Unknown) | (Unknown, Jsonb)) {
            return Ok(None);
        }
        let l = self.retype_unknown(l, SqlType::Jsonb)?;
        let r = self.retype_unknown(r, SqlType::Jsonb)?;
        if l.ty() != SqlType::Jsonb || r.ty() != SqlType::Jsonb {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} {op} {}", l.ty().name(), r.ty().name()),
            ));
        }
        let func = Func::Scalar(ScalarFn::JsonbConcat);
        Ok(Some(BExpr::Func { func, args: vec![l, r], ty: SqlType::Jsonb }))
    }

    /// `INTERVAL '1 day'`, `INTERVAL '3' DAY`.
    pub(super) fn interval_literal(&mut self, iv: &ast::Interval) -> Result<BExpr, SqlError> {
        let text = match iv.value.as_ref() {
            Expr::Value(v) => match &v.value {
                AstValue::SingleQuotedString(s) => s.clone(),
                AstValue::Number(n, _) => n.to_string(),
                other => other.to_string(),
            },
            other => {
                return Err(SqlError::unsupported(format!("INTERVAL {other}")));
            }
        };
        let text = match (&iv.leading_field, &iv.last_field) {
            (None, None) => text,
            (Some(unit), None)
                if iv.leading_precision.is_none()
                    && iv.fractional_seconds_precision.is_none()
                    && text.trim().parse::<f64>().is_ok() =>
            {
                format!("{text} {unit}")
            }
            _ => {
                return Err(SqlError::unsupported(format!(
                    "INTERVAL with a field qualifier: {iv}"
                )));
            }
        };
        Ok(BExpr::Const(parse_text(&text, SqlType::Interval)?, SqlType::Interval))
    }

    /// `l op r` when it is date, timestamp or interval arithmetic between different types;
    /// `Err` hands the operands back for the ordinary operators.
    pub(super) fn datetime_operator(
        &mut self,
        l: BExpr,
        op: BinOp,
        ast_op: &ast::BinaryOperator,
        r: BExpr,
    ) -> Result<Result<BExpr, (BExpr, BExpr)>, SqlError> {
        use SqlType::*;
        let (lt, rt) = (l.ty(), r.ty());
        if lt == Date && rt == Unknown && op == BinOp::Add {
            return Err(SqlError::new(
                SqlState::AmbiguousFunction,
                "operator is not unique: date + unknown",
            ));
        }
        // `'1 day' + timestamp`
        let l = match (lt, rt, op) {
            (Unknown, Date | Timestamp | Timestamptz | Time(_), BinOp::Add) => {
                self.retype_unknown(l, Interval)?
            }
            _ => l,
        };
        let lt = l.ty();
        if lt == Jsonb && op == BinOp::Sub {
            let r = self.retype_unknown(r, Text)?;
            if !(r.ty().is_textual() || r.ty().is_integer()) || r.ty() == Jsonb {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!("operator does not exist: jsonb - {}", r.ty().name()),
                ));
            }
            let func = Func::Scalar(ScalarFn::JsonbDelete);
            return Ok(Ok(BExpr::Func { func, args: vec![l, r], ty: Jsonb }));
        }
        let ty = match (lt, op, rt) {
            (Time(_), BinOp::Sub, Time(_)) => Interval,
            (Time(_), BinOp::Add | BinOp::Sub, Interval) | (Interval, BinOp::Add, Time(_)) => {
                Time(None)
            }
            (Date, BinOp::Add, Time(_)) | (Time(_), BinOp::Add, Date) => Timestamp,
            (Interval, BinOp::Add | BinOp::Sub, Interval) => Interval,
            (Timestamp | Timestamptz, BinOp::Add | BinOp::Sub, Interval) => lt,
            (Interval, BinOp::Add, Timestamp | Timestamptz) => rt,
            (Date, BinOp::Add | BinOp::Sub, Interval) | (Interval, BinOp::Add, Date) => Timestamp,
            (Date, BinOp::Sub, Date) => Int4,
            (a, BinOp::Sub, b) if is_datetime(a) && is_datetime(b) => Interval,
            (Interval, BinOp::Mul | BinOp::Div, n) if n.is_numeric() => Interval,
            (n, BinOp::Mul, Interval) if n.is_numeric() => Interval,
            (n, BinOp::Add, Date) if n.is_integer() => Date,
            (Date, BinOp::Add | BinOp::Sub, n) if n.is_integer() => Date,
            (Interval, o, Interval) if o.is_comparison() => return Ok(Err((l, r))),
            (Interval, _, _) | (_, _, Interval) => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!("operator does not exist: {} {ast_op} {}", lt.name(), rt.name()),
                ));
            }
            _ => return Ok(Err((l, r))),
        };
        Ok(Ok(BExpr::Func { func: Func::DateTimeArith(op), args: vec![l, r], ty }))
    }
}
