//! Binding of the jsonb operators: `->`, `->>`, `#>`, `#>>`, `?`, `?|`, `?&`, and `@>` / `<@`
//! when a side is a json or jsonb (between arrays they are the array operators). What Django's
//! JSONField lookups send: `("attrs" -> 'color') = '"red"'::jsonb`, `"attrs" ? 'color'`,
//! `"attrs" @> '{"n": 4}'::jsonb`, `("attrs" ->> 'color')` (`exec/json.rs` evaluates them).
//!
//! Invariant: the document side is a json or jsonb (an untyped literal or parameter becomes a
//! jsonb); anything else is 42883, as in PostgreSQL.

use sqlparser::ast::{self, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope};
use crate::sql::plan::{BExpr, Func};
use crate::sql::types::SqlType;

fn is_json(t: SqlType) -> bool {
    matches!(t, SqlType::Json | SqlType::Jsonb)
}

impl Binder<'_> {
    /// A jsonb operator; `None` for any other operator (and for `@>` / `<@` without a json
    /// side).
    pub(super) fn json_operator(
        &mut self,
        a: &Expr,
        op: &ast::BinaryOperator,
        b: &Expr,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        use ast::BinaryOperator as B;
        let text_array = crate::sql::types::array_of(SqlType::Text);
        match op {
            B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow => {
                let doc = self.json_document(a, op, b, scope)?;
                let text = matches!(op, B::LongArrow | B::HashLongArrow);
                let key = self.expr(b, scope, None)?;
                let key = if matches!(op, B::HashArrow | B::HashLongArrow) {
                    self.retype_unknown(key, text_array)?
                } else {
                    self.retype_unknown(key, SqlType::Text)?
                };
                let fits = match op {
                    B::HashArrow | B::HashLongArrow => key.ty() == text_array,
                    _ => key.ty().is_textual() || key.ty().is_integer(),
                };
                if !fits {
                    return Err(no_operator(doc.ty(), op, key.ty()));
                }
                let ty = match (text, doc.ty()) {
                    (true, _) => SqlType::Text,
                    (false, SqlType::Json) => SqlType::Json,
                    _ => SqlType::Jsonb,
                };
                Ok(Some(BExpr::Func { func: Func::JsonGet { text }, args: vec![doc, key], ty }))
            }
            B::HashMinus => {
                let doc = self.expr(a, scope, Some(SqlType::Jsonb))?;
                let doc = self.retype_unknown(doc, SqlType::Jsonb)?;
                let path = self.expr(b, scope, Some(text_array))?;
                let path = self.retype_unknown(path, text_array)?;
                if doc.ty() != SqlType::Jsonb || path.ty() != text_array {
                    return Err(no_operator(doc.ty(), op, path.ty()));
                }
                let func = Func::Scalar(crate::sql::plan::scalar::ScalarFn::JsonbDeletePath);
                Ok(Some(BExpr::Func { func, args: vec![doc, path], ty: SqlType::Jsonb }))
            }
            B::Question | B::QuestionPipe | B::QuestionAnd => {
                let doc = self.json_document(a, op, b, scope)?;
                let many = !matches!(op, B::Question);
                let key = self.expr(b, scope, None)?;
                let want = if many { text_array } else { SqlType::Text };
                let key = self.retype_unknown(key, want)?;
                let fits = if many { key.ty() == want } else { key.ty().is_textual() };
                if doc.ty() != SqlType::Jsonb || !fits {
                    return Err(no_operator(doc.ty(), op, key.ty()));
                }
                let func = Func::JsonHasKey { many, any: matches!(op, B::QuestionPipe) };
                Ok(Some(BExpr::Func { func, args: vec![doc, key], ty: SqlType::Bool }))
            }
            B::AtArrow | B::ArrowAt => {
                let l = self.expr(a, scope, None)?;
                let r = self.expr(b, scope, None)?;
                if !is_json(l.ty()) && !is_json(r.ty()) {
                    return Ok(None);
                }
                let l = self.retype_unknown(l, SqlType::Jsonb)?;
                let r = self.retype_unknown(r, SqlType::Jsonb)?;
                if l.ty() != SqlType::Jsonb || r.ty() != SqlType::Jsonb {
                    return Err(no_operator(l.ty(), op, r.ty()));
                }
                let args = if *op == B::AtArrow { vec![l, r] } else { vec![r, l] };
                Ok(Some(BExpr::Func { func: Func::JsonContains, args, ty: SqlType::Bool }))
            }
            _ => Ok(None),
        }
    }

    /// The left side of a jsonb operator: a json or jsonb (an untyped one a jsonb).
    fn json_document(
        &mut self,
        a: &Expr,
        op: &ast::BinaryOperator,
        b: &Expr,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let doc = self.expr(a, scope, None)?;
        let doc = self.retype_unknown(doc, SqlType::Jsonb)?;
        if is_json(doc.ty()) {
            return Ok(doc);
        }
        let key = self.expr(b, scope, None)?;
        Err(no_operator(doc.ty(), op, key.ty()))
    }
}

fn no_operator(l: SqlType, op: &ast::BinaryOperator, r: SqlType) -> SqlError {
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("operator does not exist: {} {op} {}", l.name(), r.name()),
    )
}
