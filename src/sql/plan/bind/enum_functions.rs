//! The enum support functions: `enum_first(x)`, `enum_last(x)`, `enum_range(x)` and
//! `enum_range(a, b)`. Like PostgreSQL's, the one-argument forms read only their argument's
//! type (`enum_range(NULL::mood)`), so they bind to constants of the type's labels as the
//! statement's schema has them. `enum_range(a, b)` is bound when both bounds are constants
//! (NULL meaning the first or the last label); over other expressions it is refused (0A000).

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::BExpr;
use crate::sql::plan::bind::Binder;
use crate::sql::types::SqlType;
use crate::sql::types::array_of;
use crate::types::Value;

impl Binder<'_> {
    /// An enum function's value, if `name` is one.
    pub(super) fn enum_function(
        &mut self,
        name: &str,
        args: &[BExpr],
    ) -> Result<Option<BExpr>, SqlError> {
        if !matches!(name, "enum_first" | "enum_last" | "enum_range") {
            return Ok(None);
        }
        let signature = || {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "function {name}({}) does not exist",
                    args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ")
                ),
            )
        };
        // enum_range(NULL, b): the type is the other bound's
        let Some(SqlType::Enum(ty)) = args.iter().map(BExpr::ty).find(|t| *t != SqlType::Unknown)
        else {
            return Err(signature());
        };
        if args.iter().any(|a| !matches!(a.ty(), SqlType::Unknown) && a.ty() != SqlType::Enum(ty)) {
            return Err(signature());
        }
        if name != "enum_range" && ty.labels.is_empty() {
            return Err(SqlError::new(
                SqlState::ObjectNotInPrerequisiteState,
                format!("enum {} contains no values", ty.name),
            ));
        }
        let values: Vec<Value> = ty.labels.iter().map(|l| Value::Enum(l.sort)).collect();
        let one =
            |v: Option<&Value>| BExpr::Const(v.cloned().unwrap_or(Value::Null), SqlType::Enum(ty));
        Ok(Some(match (name, args.len()) {
            ("enum_first", 1) => one(values.first()),
            ("enum_last", 1) => one(values.last()),
            ("enum_range", 1) => BExpr::Const(Value::Array(values), array_of(SqlType::Enum(ty))),
            ("enum_range", 2) => {
                let bound = |e: &BExpr| match e {
                    BExpr::Const(Value::Null, _) => Ok(None),
                    BExpr::Const(Value::Enum(s), _) => Ok(Some(*s)),
                    _ => Err(SqlError::unsupported("enum_range(a, b) over non-constant bounds")),
                };
                let (low, high) = (bound(&args[0])?, bound(&args[1])?);
                let range = values
                    .into_iter()
                    .filter(|v| {
                        let Value::Enum(s) = v else { return false };
                        low.is_none_or(|l| *s >= l) && high.is_none_or(|h| *s <= h)
                    })
                    .collect();
                BExpr::Const(Value::Array(range), array_of(SqlType::Enum(ty)))
            }
            _ => return Err(signature()),
        }))
    }
}
