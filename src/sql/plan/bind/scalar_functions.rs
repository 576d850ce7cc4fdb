//! Binding of the built-in scalar functions of `plan/scalar.rs`: the arguments coerced to the
//! function's signature the way PostgreSQL's implicit casts allow (an untyped literal takes
//! the parameter's type; a varchar or char is text; a smaller integer widens; an integer or
//! numeric becomes a double precision), anything else 42883.

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, unpadded};
use crate::sql::plan::scalar::{Arg, ScalarFn, signature};
use crate::sql::plan::{BExpr, Func};
use crate::sql::types::SqlType;
use crate::types::Value;

impl Binder<'_> {
    /// `gcd(a, b)` and `lcm(a, b)` of integers, in the wider's type (of numeric: 0A000), and
    /// `div(a, b)` of integers or numerics, a numeric, as PostgreSQL; `None` for other names.
    pub(super) fn exact_math(
        &mut self,
        name: &str,
        args: &mut Vec<BExpr>,
    ) -> Result<Option<BExpr>, SqlError> {
        let func = match name {
            "gcd" => ScalarFn::Gcd,
            "lcm" => ScalarFn::Lcm,
            "div" => ScalarFn::Div,
            _ => return Ok(None),
        };
        let no_such = |args: &[BExpr]| {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "function {name}({}) does not exist",
                    args.iter().map(|a| type_name(a.ty())).collect::<Vec<_>>().join(", ")
                ),
            )
        };
        let exact =
            |t: SqlType| t.is_integer() || matches!(t, SqlType::Numeric(_) | SqlType::Unknown);
        if args.len() != 2 || !args.iter().all(|a| exact(a.ty())) {
            return Err(no_such(args));
        }
        let ty = match (func, SqlType::unify(args[0].ty(), args[1].ty())) {
            (ScalarFn::Div, _) => SqlType::Numeric(None),
            // smallint widens to integer and to bigint alike there
            (_, SqlType::Int2) => {
                return Err(SqlError::new(
                    SqlState::AmbiguousFunction,
                    format!("function {name}(smallint, smallint) is not unique"),
                ));
            }
            (_, SqlType::Numeric(_)) => {
                return Err(SqlError::unsupported(format!("{name}(numeric, numeric)")));
            }
            (_, SqlType::Int8) => SqlType::Int8,
            _ => SqlType::Int4,
        };
        let mut bound = Vec::with_capacity(2);
        for a in std::mem::take(args) {
            bound.push(self.coerce(a, ty)?);
        }
        Ok(Some(BExpr::Func { func: Func::Scalar(func), args: bound, ty }))
    }

    /// `round(x)`, `trunc(x)`, `floor(x)`, `ceil(x)` as PostgreSQL resolves them: a numeric
    /// stays numeric, every other number (integers and real too) and an untyped literal is
    /// read as a double precision (`trunc` of one is 42725, as `trunc(macaddr)` exists there),
    /// anything else is 42883.
    pub(super) fn rounding(
        &mut self,
        name: &str,
        func: Func,
        arg: BExpr,
    ) -> Result<BExpr, SqlError> {
        let arg = match arg.ty() {
            SqlType::Numeric(_) | SqlType::Float8 => arg,
            // trunc(macaddr) makes an untyped literal ambiguous
            SqlType::Unknown if name == "trunc" => {
                return Err(SqlError::new(
                    SqlState::AmbiguousFunction,
                    "function trunc(unknown) is not unique",
                ));
            }
            t if t.is_numeric() || t == SqlType::Unknown => self.coerce(arg, SqlType::Float8)?,
            t => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!("function {name}({}) does not exist", type_name(t)),
                ));
            }
        };
        let ty = match arg.ty() {
            SqlType::Numeric(_) => SqlType::Numeric(None),
            t => t,
        };
        Ok(BExpr::Func { func, args: vec![arg], ty })
    }

    /// A call of a function of `plan/scalar.rs`; `None` when `name` is none of them.
    pub(super) fn scalar_function(
        &mut self,
        name: &str,
        args: &mut Vec<BExpr>,
    ) -> Result<Option<BExpr>, SqlError> {
        let Some(found) = signature(name, args.len()) else { return Ok(None) };
        let no_such = |args: &[BExpr]| {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "function {name}({}) does not exist",
                    args.iter().map(|a| type_name(a.ty())).collect::<Vec<_>>().join(", ")
                ),
            )
        };
        let Some((func, want, ty)) = found else { return Err(no_such(args)) };
        if func == ScalarFn::PgTypeof {
            let shown = args.first().map(|a| regtype_name(a.ty())).unwrap_or_default();
            return Ok(Some(BExpr::Const(Value::Text(shown), SqlType::Text)));
        }
        if func.has_numeric_variant() && args.iter().any(|a| matches!(a.ty(), SqlType::Numeric(_)))
        {
            // PostgreSQL answers in numeric, at its own precision
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("{name}(numeric) is not supported: cast the argument to double precision"),
            ));
        }
        let mut bound = Vec::with_capacity(args.len());
        for (arg, want) in std::mem::take(args).into_iter().zip(want) {
            let arg = match want {
                Arg::Any if arg.ty() == SqlType::Unknown => {
                    self.retype_unknown(arg, SqlType::Text)?
                }
                Arg::Any => arg,
                Arg::Is(t) => {
                    let arg = unpadded(self.retype_unknown(arg, t)?);
                    let from = arg.ty();
                    let fits = from == t
                        || (t == SqlType::Text
                            && from.is_textual()
                            && !matches!(from, SqlType::Json | SqlType::Jsonb | SqlType::Uuid))
                        || (t == SqlType::Int4 && matches!(from, SqlType::Int2))
                        || (t == SqlType::Float8 && from.is_numeric());
                    if !fits {
                        let mut shown = bound.clone();
                        shown.push(arg);
                        return Err(no_such(&shown));
                    }
                    if from == t {
                        arg
                    } else {
                        BExpr::Cast { expr: Box::new(arg), to: t, explicit: false }
                    }
                }
            };
            bound.push(arg);
        }
        // `to_char`'s and `age`'s first argument decides what they read
        if func == ScalarFn::Age {
            for a in &mut bound {
                if a.ty() == SqlType::Text {
                    *a = self.coerce(a.clone(), SqlType::Timestamptz)?;
                }
                if !matches!(a.ty(), SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz) {
                    return Err(no_such(&bound));
                }
            }
        }
        if func == ScalarFn::ToChar
            && !(bound[0].ty().is_numeric()
                || matches!(
                    bound[0].ty(),
                    SqlType::Date
                        | SqlType::Timestamp
                        | SqlType::Timestamptz
                        | SqlType::Interval
                        | SqlType::Time(_)
                ))
        {
            return Err(no_such(&bound));
        }
        Ok(Some(BExpr::Func { func: Func::Scalar(func), args: bound, ty }))
    }
}

/// A type as `pg_typeof` and the "function does not exist" message name it.
/// A type's name as `pg_typeof` (a regtype) shows it: without a length, precision or scale.
fn regtype_name(ty: SqlType) -> String {
    match ty {
        SqlType::Varchar(_) => "character varying".into(),
        SqlType::Char(_) => "character".into(),
        SqlType::Numeric(_) => "numeric".into(),
        SqlType::Time(_) => "time without time zone".into(),
        SqlType::Array(elem) if ty.name().ends_with("[]") => format!("{}[]", regtype_name(*elem)),
        _ => type_name(ty),
    }
}

fn type_name(ty: SqlType) -> String {
    if ty == SqlType::Unknown { "unknown".into() } else { ty.name() }
}
