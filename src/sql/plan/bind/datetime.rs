//! Binding of the date-time functions: `EXTRACT(field FROM v)`, `date_part(field, v)`,
//! `date_trunc(field, v)` and `v AT TIME ZONE zone`, as Django's date lookups send them
//! (evaluated by `exec/datetime.rs`, which documents what they compute).
//!
//! Invariant: `v` is a date, a timestamp or a timestamptz (an untyped literal or parameter
//! becomes a timestamptz, PostgreSQL's preferred type); the field and the zone are text.

use sqlparser::ast::{DateTimeField, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope};
use crate::sql::plan::{BExpr, Func};
use crate::sql::types::SqlType;
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
        let v = self.date_time_argument("pg_catalog.extract", v)?;
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
        let v = self.date_time_argument(name, args.pop().expect("two arguments"))?;
        let field = self.retype_unknown(args.pop().expect("two arguments"), SqlType::Text)?;
        let ty = match (func, v.ty()) {
            (Func::DatePart, _) => SqlType::Float8,
            (_, SqlType::Timestamp) => SqlType::Timestamp,
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
