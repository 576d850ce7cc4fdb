//! The binder's part for arrays and patterns: `ARRAY[...]`, subscripts, `x op ANY/ALL (...)`,
//! the array functions, `unnest(...)` in FROM, the `~` family of operators (also written
//! `OPERATOR(pg_catalog.~)`, as psql sends it), `SIMILAR TO`, `substring(s FROM pattern)` and
//! the `regexp_*` functions; and for drivers, `current_setting(name)` and asyncpg's type
//! introspection query (which it sends for every array type but `text[]` and `oid[]`),
//! answered from `pg_type` by [`ASYNCPG_TYPE_INFO`].
//!
//! Invariants: every array expression has an array type whose element type is known (an
//! untyped `ARRAY[]` or `'{...}'` with no context is refused with 42P18, as PostgreSQL does);
//! a `$n` compared with `ANY` takes the array type of the other side.

use sqlparser::ast::{self, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::parse::{Parsed, parse_statement};
use std::sync::Arc;

use crate::sql::plan::bind::{Binder, Scope, ScopeCol, empty_plan, ident_name, object_name};
use crate::sql::plan::{
    AggCall, AggFunc, BExpr, BinOp, CatalogFn, Func, Grouping, SelectPlan, Source,
};
use crate::sql::types::array::is_vector;
use crate::sql::types::{SqlType, array_of};
use crate::types::Value;

/// What asyncpg's introspection query (`WITH RECURSIVE typeinfo_tree ...`) is answered with:
/// its columns, for the types it asks about, from isola's `pg_type` (base and array types; no
/// domains, ranges or composites, so no recursion is needed).
pub const ASYNCPG_TYPE_INFO: &str = "SELECT t.oid, 'pg_catalog' AS ns, t.typname AS name, \
    t.typtype AS kind, NULL::oid AS basetype, t.typelem::oid AS elemtype, t.typdelim AS elemdelim, \
    NULL::oid AS range_subtype, NULL::oid[] AS attrtypoids, NULL::text[] AS attrnames, \
    0 AS depth, NULL::text AS basetype_name, NULL::text AS elemtype_name, \
    NULL::text AS range_subtype_name FROM pg_catalog.pg_type t WHERE t.oid = ANY($1::oid[])";

fn element_type(ty: SqlType) -> Option<SqlType> {
    match ty {
        SqlType::Array(e) => Some(*e),
        _ => None,
    }
}

fn comparison(op: &ast::BinaryOperator) -> Result<BinOp, SqlError> {
    use ast::BinaryOperator as B;
    Ok(match op {
        B::Eq => BinOp::Eq,
        B::NotEq => BinOp::NotEq,
        B::Lt => BinOp::Lt,
        B::LtEq => BinOp::LtEq,
        B::Gt => BinOp::Gt,
        B::GtEq => BinOp::GtEq,
        other => return Err(SqlError::unsupported(format!("{other} with ANY or ALL"))),
    })
}

fn not_array(what: &str, ty: SqlType) -> SqlError {
    SqlError::new(
        SqlState::UndefinedFunction,
        format!("{what} requires an array, not type {}", ty.name()),
    )
}

/// Maps `OPERATOR(schema.op)` to the operator it names.
fn named_operator(parts: &[String]) -> Option<ast::BinaryOperator> {
    use ast::BinaryOperator as B;
    if parts.len() > 2 || (parts.len() == 2 && parts[0] != "pg_catalog") {
        return None;
    }
    Some(match parts.last()?.as_str() {
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "~~" => B::PGLikeMatch,
        "~~*" => B::PGILikeMatch,
        "!~~" => B::PGNotLikeMatch,
        "!~~*" => B::PGNotILikeMatch,
        "=" => B::Eq,
        "<>" | "!=" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "+" => B::Plus,
        "-" => B::Minus,
        "*" => B::Multiply,
        "/" => B::Divide,
        "%" => B::Modulo,
        "||" => B::StringConcat,
        _ => return None,
    })
}

impl Binder<'_> {
    /// The pattern operators (`~ ~* !~ !~*`, `~~` and friends), the array operators (`||` with
    /// an array side, `@>`, `<@`, `&&`) and `OPERATOR(pg_catalog.op)`; `None` for any other
    /// operator (and for `||` between non-arrays).
    pub(super) fn special_operator(
        &mut self,
        a: &Expr,
        op: &ast::BinaryOperator,
        b: &Expr,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        use ast::BinaryOperator as B;
        if let Some(bound) = self.json_operator(a, op, b, scope)? {
            return Ok(Some(bound));
        }
        let (case_insensitive, negated) = match op {
            B::PGCustomBinaryOperator(parts) => {
                let named = named_operator(parts).ok_or_else(|| {
                    SqlError::new(
                        SqlState::UndefinedFunction,
                        format!("operator does not exist: OPERATOR({})", parts.join(".")),
                    )
                })?;
                let rebuilt = Expr::BinaryOp {
                    left: Box::new(a.clone()),
                    op: named,
                    right: Box::new(b.clone()),
                };
                return self.expr(&rebuilt, scope, None).map(Some);
            }
            B::StringConcat => return self.array_concat(a, b, scope),
            B::AtArrow | B::ArrowAt | B::PGOverlap => {
                let (l, r) = self.array_operands(a, b, scope, &op.to_string())?;
                let (func, args) = match op {
                    B::AtArrow => (Func::ArrayContains, vec![l, r]),
                    B::ArrowAt => (Func::ArrayContains, vec![r, l]),
                    _ => (Func::ArrayOverlap, vec![l, r]),
                };
                return Ok(Some(BExpr::Func { func, args, ty: SqlType::Bool }));
            }
            B::PGRegexMatch => (false, false),
            B::PGRegexIMatch => (true, false),
            B::PGRegexNotMatch => (false, true),
            B::PGRegexNotIMatch => (true, true),
            B::PGLikeMatch | B::PGILikeMatch | B::PGNotLikeMatch | B::PGNotILikeMatch => {
                let like = BExpr::Like {
                    expr: Box::new(self.expr(a, scope, Some(SqlType::Text))?),
                    pattern: Box::new(self.expr(b, scope, Some(SqlType::Text))?),
                    negated: matches!(op, B::PGNotLikeMatch | B::PGNotILikeMatch),
                    case_insensitive: matches!(op, B::PGILikeMatch | B::PGNotILikeMatch),
                };
                return Ok(Some(like));
            }
            _ => return Ok(None),
        };
        let subject = self.text_operand(a, scope)?;
        let pattern = self.text_operand(b, scope)?;
        let matched = BExpr::Func {
            func: Func::RegexMatch { case_insensitive },
            args: vec![subject, pattern],
            ty: SqlType::Bool,
        };
        Ok(Some(if negated { BExpr::Not(Box::new(matched)) } else { matched }))
    }

    /// `a || b` when a side is an array: arrays concatenated, an element appended or
    /// prepended; `None` when neither side is an array (string concatenation).
    fn array_concat(
        &mut self,
        a: &Expr,
        b: &Expr,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let l = self.expr(a, scope, None)?;
        let r = self.expr(b, scope, None)?;
        let (l_elem, r_elem) = (element_type(l.ty()), element_type(r.ty()));
        if l_elem.is_none() && r_elem.is_none() {
            return Ok(None);
        }
        let as_array = |b: &mut Self, e: BExpr, other: SqlType| -> Result<BExpr, SqlError> {
            Ok(match e.ty() {
                SqlType::Array(_) => e,
                SqlType::Unknown => b.retype_unknown(e, other)?,
                t => BExpr::Func { func: Func::MakeArray, args: vec![e], ty: array_of(t) },
            })
        };
        let l = as_array(self, l, r.ty())?;
        let r = as_array(self, r, l.ty())?;
        self.concatenated(l, r).map(Some)
    }

    /// Two arrays concatenated, in their common element type.
    fn concatenated(&mut self, l: BExpr, r: BExpr) -> Result<BExpr, SqlError> {
        let (Some(le), Some(re)) = (element_type(l.ty()), element_type(r.ty())) else {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} || {}", l.ty().name(), r.ty().name()),
            ));
        };
        let elem = SqlType::unify(le, re);
        let same_class = le == re
            || (le.is_numeric() && re.is_numeric())
            || (le.is_textual() && re.is_textual());
        if !same_class {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} || {}", l.ty().name(), r.ty().name()),
            ));
        }
        Ok(BExpr::Func { func: Func::ArrayConcat, args: vec![l, r], ty: array_of(elem) })
    }

    /// Two operands that must both be arrays, each typing the other's untyped side.
    fn array_operands(
        &mut self,
        a: &Expr,
        b: &Expr,
        scope: &Scope,
        op: &str,
    ) -> Result<(BExpr, BExpr), SqlError> {
        let l = self.expr(a, scope, None)?;
        let r = self.expr(b, scope, Some(l.ty()).filter(|t| *t != SqlType::Unknown))?;
        let l = self.retype_unknown(l, r.ty())?;
        match (l.ty(), r.ty()) {
            (SqlType::Array(_), SqlType::Array(_)) => Ok((l, r)),
            (x, y) => Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} {op} {}", x.name(), y.name()),
            )),
        }
    }

    /// Binds an operand a pattern function reads as text.
    fn text_operand(&mut self, e: &Expr, scope: &Scope) -> Result<BExpr, SqlError> {
        let bound = self.expr(e, scope, Some(SqlType::Text))?;
        let ty = bound.ty();
        if !ty.is_textual() {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!("operator does not exist: {} ~ text", ty.name()),
            ));
        }
        Ok(bound)
    }

    /// `expr [NOT] SIMILAR TO pattern [ESCAPE e]`.
    pub(super) fn similar_to(
        &mut self,
        expr: &Expr,
        pattern: &Expr,
        escape: Option<&Expr>,
        negated: bool,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let mut args = vec![self.text_operand(expr, scope)?, self.text_operand(pattern, scope)?];
        if let Some(e) = escape {
            args.push(self.text_operand(e, scope)?);
        }
        let similar = BExpr::Func { func: Func::SimilarTo, args, ty: SqlType::Bool };
        Ok(if negated { BExpr::Not(Box::new(similar)) } else { similar })
    }

    /// `substring(s FROM pattern)` when the FROM operand is text (not a position).
    pub(super) fn regex_substring(
        &mut self,
        subject: BExpr,
        from: &Expr,
        scope: &Scope,
    ) -> Result<Option<BExpr>, SqlError> {
        let bound = self.expr(from, scope, None)?;
        let textual = bound.ty().is_textual() && !matches!(bound, BExpr::Param(..));
        if !textual {
            return Ok(None);
        }
        Ok(Some(BExpr::Func {
            func: Func::RegexpSubstring,
            args: vec![subject, bound],
            ty: SqlType::Text,
        }))
    }

    /// `ARRAY[a, b, ...]`; `expected` (an array type) types its untyped elements.
    pub(super) fn array_constructor(
        &mut self,
        elements: &[Expr],
        scope: &Scope,
        expected: Option<SqlType>,
    ) -> Result<BExpr, SqlError> {
        let hint = expected.and_then(element_type);
        let mut args = Vec::with_capacity(elements.len());
        let mut elem = hint.unwrap_or(SqlType::Unknown);
        for e in elements {
            if matches!(e, Expr::Array(_)) {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    "multidimensional arrays are not supported",
                ));
            }
            let b = self.expr(e, scope, hint.or(Some(elem)).filter(|t| *t != SqlType::Unknown))?;
            if matches!(b.ty(), SqlType::Array(_)) {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    "multidimensional arrays are not supported",
                ));
            }
            elem = SqlType::unify(elem, b.ty());
            args.push(b);
        }
        if elem == SqlType::Unknown {
            if args.is_empty() {
                return Err(SqlError::new(
                    SqlState::IndeterminateDatatype,
                    "cannot determine type of empty array",
                )
                .with_detail(
                    "Explicitly cast to the desired type, for example ARRAY[]::integer[].",
                ));
            }
            elem = SqlType::Text;
        }
        let mut typed = Vec::with_capacity(args.len());
        for a in args {
            typed.push(self.retype_unknown(a, elem)?);
        }
        Ok(BExpr::Func { func: Func::MakeArray, args: typed, ty: array_of(elem) })
    }

    /// `ARRAY(subquery)`: the subquery's one column as an array, in its row order (`{}` when
    /// it has no rows), bound as `coalesce((SELECT array_agg(c) FROM (subquery)), '{}')`.
    pub(super) fn array_subquery(
        &mut self,
        q: &ast::Query,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let inner = self.subquery(q, scope)?;
        if inner.columns.len() != 1 {
            return Err(SqlError::syntax("subquery must return only one column"));
        }
        let elem = inner.columns[0].1;
        if matches!(elem, SqlType::Array(_)) {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                "multidimensional arrays are not supported",
            ));
        }
        let ty = array_of(elem);
        let agg = AggCall {
            func: AggFunc::ArrayAgg,
            args: vec![BExpr::Column { level: 0, index: 0, ty: elem }],
            distinct: false,
            ty,
            order_by: vec![],
            filter: None,
        };
        let correlated = inner.correlated;
        let plan = SelectPlan {
            source: Source::Derived(inner),
            grouping: Some(Grouping { keys: vec![], aggs: vec![agg], sets: vec![] }),
            projection: vec![BExpr::Column { level: 0, index: 0, ty }],
            columns: vec![("array".into(), ty)],
            correlated,
            ..empty_plan()
        };
        Ok(BExpr::Func {
            func: Func::Coalesce,
            args: vec![
                BExpr::Subquery { plan: Arc::new(plan), ty },
                BExpr::Const(crate::types::Value::Array(vec![]), ty),
            ],
            ty,
        })
    }

    /// `a[i]` (one subscript; slices are refused).
    pub(super) fn subscript(
        &mut self,
        root: &Expr,
        chain: &[ast::AccessExpr],
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        // `t.col[i]`: the dots before the subscript name the column
        let mut root = root.clone();
        let mut chain = chain;
        while let [ast::AccessExpr::Dot(Expr::Identifier(part)), rest @ ..] = chain {
            root = match root {
                Expr::Identifier(first) => Expr::CompoundIdentifier(vec![first, part.clone()]),
                Expr::CompoundIdentifier(mut parts) => {
                    parts.push(part.clone());
                    Expr::CompoundIdentifier(parts)
                }
                _ => break,
            };
            chain = rest;
        }
        let [ast::AccessExpr::Subscript(ast::Subscript::Index { index })] = chain else {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                "array slices and field access are not supported",
            ));
        };
        let array = self.expr(&root, scope, None)?;
        let name_typed = match &root {
            Expr::Identifier(id) => Binder::scope_column(&[ident_name(id)], scope),
            Expr::CompoundIdentifier(parts) => {
                let parts: Vec<String> = parts.iter().map(ident_name).collect();
                Binder::scope_column(&parts, scope)
            }
            _ => None,
        }
        .is_some_and(|c| c.name_typed);
        if name_typed {
            let index = self.expr(index, scope, Some(SqlType::Int4))?;
            if !index.ty().is_integer() {
                return Err(SqlError::datatype_mismatch("array subscript must have type integer"));
            }
            return Ok(BExpr::Func {
                func: Func::NameByte,
                args: vec![array, index],
                ty: SqlType::Text,
            });
        }
        let Some(elem) = element_type(array.ty()) else {
            return Err(SqlError::datatype_mismatch(format!(
                "cannot subscript type {} because it does not support subscripting",
                array.ty().name()
            )));
        };
        let index = self.expr(index, scope, Some(SqlType::Int4))?;
        if !index.ty().is_integer() {
            return Err(SqlError::datatype_mismatch("array subscript must have type integer"));
        }
        // an int2vector / oidvector counts from 0
        let index = if is_vector(array.ty()) {
            BExpr::Binary {
                op: BinOp::Add,
                left: Box::new(index),
                right: Box::new(BExpr::Const(Value::Int(1), SqlType::Int4)),
                operand_ty: SqlType::Int8,
                ty: SqlType::Int8,
            }
        } else {
            index
        };
        Ok(BExpr::Func { func: Func::Subscript, args: vec![array, index], ty: elem })
    }

    /// `left op ANY (right)` / `left op ALL (right)` over an array (a literal, a parameter, a
    /// column, `ARRAY[...]`) or a subquery (`= ANY` and `<> ALL` only).
    pub(super) fn quantified(
        &mut self,
        left: &Expr,
        op: &ast::BinaryOperator,
        right: &Expr,
        all: bool,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let op = comparison(op)?;
        if let Expr::Subquery(q) = right {
            return match (op, all) {
                (BinOp::Eq, false) | (BinOp::NotEq, true) => {
                    let in_subquery = Expr::InSubquery {
                        expr: Box::new(left.clone()),
                        subquery: q.clone(),
                        negated: all,
                    };
                    self.expr(&in_subquery, scope, None)
                }
                _ => {
                    if let Some(bound) = self.row_quantified(left, op, all, q, scope)? {
                        return Ok(bound);
                    }
                    let subject = self.expr(left, scope, None)?;
                    let mut plan = self.subquery(q, scope)?;
                    if plan.columns.len() != 1 {
                        return Err(SqlError::syntax("subquery has too many columns"));
                    }
                    let column = BExpr::Column { level: 0, index: 0, ty: plan.columns[0].1 };
                    let (subject, _, ty) = self.unify_operands(subject, column)?;
                    let (subject, ty) = super::char_against_column(subject, &mut plan, 0, ty);
                    Ok(BExpr::InSubquery {
                        exprs: vec![subject],
                        plan,
                        operand_tys: vec![ty],
                        op,
                        all,
                    })
                }
            };
        }
        let mut subject = self.expr(left, scope, None)?;
        let hint = match subject.ty() {
            SqlType::Unknown => None,
            t => Some(array_of(t)),
        };
        let array = match right {
            Expr::Array(a) => self.array_constructor(&a.elem, scope, hint)?,
            other => self.expr(other, scope, hint)?,
        };
        let array = match array.ty() {
            SqlType::Unknown => self.retype_unknown(array, array_of(SqlType::Text))?,
            _ => array,
        };
        let Some(elem) = element_type(array.ty()) else {
            return Err(not_array(
                if all { "op ALL (array)" } else { "op ANY (array)" },
                array.ty(),
            ));
        };
        subject = self.retype_unknown(subject, elem)?;
        let operand_ty = SqlType::unify(subject.ty(), elem);
        let compatible = |t: SqlType| {
            t == operand_ty
                || (t.is_numeric() && operand_ty.is_numeric())
                || (t.is_textual() && operand_ty.is_textual())
                || matches!(
                    (t, operand_ty),
                    (
                        SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz,
                        SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz
                    )
                )
        };
        if !compatible(subject.ty()) || !compatible(elem) {
            return Err(SqlError::new(
                SqlState::UndefinedFunction,
                format!(
                    "operator does not exist: {} {} {}",
                    subject.ty().name(),
                    if all { "ALL" } else { "ANY" },
                    array.ty().name()
                ),
            ));
        }
        Ok(BExpr::Func {
            func: Func::Quantified { op, all },
            args: vec![subject, array],
            ty: SqlType::Bool,
        })
    }

    /// The array and regexp functions over bound arguments; `None` for any other name.
    pub(super) fn array_function(
        &mut self,
        name: &str,
        args: &mut Vec<BExpr>,
    ) -> Result<Option<BExpr>, SqlError> {
        let arity = |range: std::ops::RangeInclusive<usize>, args: &[BExpr]| {
            if range.contains(&args.len()) {
                Ok(())
            } else {
                Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!(
                        "function {name}({}) does not exist",
                        args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ")
                    ),
                ))
            }
        };
        let (func, ty) = match name {
            "array_length" | "array_upper" | "array_lower" => {
                arity(2..=2, args)?;
                self.array_argument(name, args, 0)?;
                args[1] = self.retype_unknown(args[1].clone(), SqlType::Int4)?;
                let func = match name {
                    "array_length" => Func::ArrayLength,
                    "array_upper" => Func::ArrayUpper,
                    _ => Func::ArrayLower,
                };
                (func, SqlType::Int4)
            }
            "cardinality" => {
                arity(1..=1, args)?;
                self.array_argument(name, args, 0)?;
                (Func::Cardinality, SqlType::Int4)
            }
            "array_to_string" => {
                arity(2..=3, args)?;
                self.array_argument(name, args, 0)?;
                (Func::ArrayToString, SqlType::Text)
            }
            "array_cat" | "array_append" | "array_prepend" => {
                arity(2..=2, args)?;
                let (mut l, mut r) = (args[0].clone(), args[1].clone());
                match name {
                    "array_cat" => {}
                    "array_append" => {
                        let elem = element_type(l.ty()).unwrap_or(r.ty());
                        let r_typed = self.retype_unknown(r, elem)?;
                        r = BExpr::Func {
                            func: Func::MakeArray,
                            args: vec![r_typed],
                            ty: array_of(elem),
                        };
                    }
                    _ => {
                        let elem = element_type(r.ty()).unwrap_or(l.ty());
                        let l_typed = self.retype_unknown(l, elem)?;
                        l = BExpr::Func {
                            func: Func::MakeArray,
                            args: vec![l_typed],
                            ty: array_of(elem),
                        };
                    }
                }
                if l.ty() == SqlType::Unknown {
                    l = self.retype_unknown(l, r.ty())?;
                }
                if r.ty() == SqlType::Unknown {
                    r = self.retype_unknown(r, l.ty())?;
                }
                return self.concatenated(l, r).map(Some);
            }
            "array_position" => {
                arity(2..=2, args)?;
                self.array_argument(name, args, 0)?;
                let elem = element_type(args[0].ty()).unwrap_or(SqlType::Text);
                args[1] = self.retype_unknown(args[1].clone(), elem)?;
                (Func::ArrayPosition, SqlType::Int4)
            }
            "array_remove" => {
                arity(2..=2, args)?;
                self.array_argument(name, args, 0)?;
                let elem = element_type(args[0].ty()).unwrap_or(SqlType::Text);
                args[1] = self.retype_unknown(args[1].clone(), elem)?;
                (Func::ArrayRemove, args[0].ty())
            }
            "string_to_array" => {
                arity(2..=3, args)?;
                (Func::StringToArray, array_of(SqlType::Text))
            }
            "regexp_replace" => {
                arity(3..=4, args)?;
                if args.get(3).is_some_and(|a| a.ty().is_integer()) {
                    return Err(SqlError::unsupported("regexp_replace with a start position"));
                }
                (Func::RegexpReplace, SqlType::Text)
            }
            "regexp_match" => {
                arity(2..=3, args)?;
                (Func::RegexpMatch, array_of(SqlType::Text))
            }
            "regexp_like" => {
                arity(2..=2, args)?;
                (Func::RegexMatch { case_insensitive: false }, SqlType::Bool)
            }
            "current_setting" => return self.current_setting(args).map(Some),
            "unnest" | "generate_subscripts" | "regexp_matches" | "regexp_split_to_table" => {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    format!("set-returning function {name}() is only supported in FROM"),
                ));
            }
            _ => return Ok(None),
        };
        let args = std::mem::take(args);
        Ok(Some(BExpr::Func { func, args, ty }))
    }

    /// Checks argument `i` is an array, giving an untyped literal or parameter text[].
    fn array_argument(&mut self, name: &str, args: &mut [BExpr], i: usize) -> Result<(), SqlError> {
        if args[i].ty() == SqlType::Unknown {
            args[i] = self.retype_unknown(args[i].clone(), array_of(SqlType::Text))?;
        }
        match args[i].ty() {
            SqlType::Array(_) => Ok(()),
            t => Err(not_array(&format!("function {name}"), t)),
        }
    }

    /// A FROM item bound to the right of `left` (a join's right side, or a later item of a
    /// FROM list): `unnest(...)` there may read `left`'s columns, as PostgreSQL lets a function
    /// in FROM do (an implicit LATERAL); any other item is bound as usual.
    pub(super) fn bind_from_item_after(
        &mut self,
        t: &ast::TableFactor,
        parent: &Option<Scope>,
        left: &Scope,
    ) -> Result<(Source, Scope), SqlError> {
        match t {
            ast::TableFactor::UNNEST {
                alias,
                array_exprs,
                with_offset: false,
                with_ordinality,
                ..
            } => self.unnest(array_exprs, alias.as_ref(), *with_ordinality, parent, Some(left)),
            ast::TableFactor::Table { name, args: Some(_), .. }
                if object_name(name) != "generate_series" =>
            {
                self.table_function(t, parent, Some(left))
            }
            ast::TableFactor::Derived { lateral: true, subquery, alias, .. } => {
                self.lateral_subquery(subquery, alias.as_ref(), parent, left)
            }
            other => self.bind_from_item(other, parent),
        }
    }

    /// `unnest(a, b, ...)` in FROM: a column per array, named `unnest` (or after the alias).
    /// With `left`, the arrays may read the row of the FROM items before it (level 0); the
    /// executor then unnests once per such row.
    pub(super) fn unnest(
        &mut self,
        arrays: &[Expr],
        alias: Option<&ast::TableAlias>,
        ordinality: bool,
        parent: &Option<Scope>,
        left: Option<&Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        let outer =
            Scope { parent: parent.clone().map(Box::new), ..left.cloned().unwrap_or_default() };
        let mut bound = Vec::with_capacity(arrays.len());
        for e in arrays {
            let b = self.expr(e, &outer, None)?;
            let b = match b.ty() {
                SqlType::Unknown => self.retype_unknown(b, array_of(SqlType::Text))?,
                _ => b,
            };
            if element_type(b.ty()).is_none() {
                return Err(not_array("function unnest", b.ty()));
            }
            bound.push(b);
        }
        if ordinality {
            // the ordinality column: one more array, 1..n over the longest
            let ordinals = BExpr::Func {
                func: Func::Catalog(CatalogFn::Ordinals),
                args: bound.clone(),
                ty: array_of(SqlType::Int8),
            };
            bound.push(ordinals);
        }
        let alias_name = alias.map(|a| ident_name(&a.name));
        let renames: Vec<String> = alias
            .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
            .unwrap_or_default();
        let cols = bound
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let default = match (&alias_name, bound.len()) {
                    _ if ordinality && i + 1 == bound.len() => "ordinality".to_string(),
                    (Some(a), 1) => a.clone(),
                    (Some(a), 2) if ordinality => a.clone(),
                    _ => "unnest".to_string(),
                };
                ScopeCol {
                    qualifier: Some(alias_name.clone().unwrap_or_else(|| "unnest".into())),
                    name: renames.get(i).cloned().unwrap_or(default),
                    ty: element_type(b.ty()).unwrap_or(SqlType::Text),
                    hidden: false,
                    name_typed: false,
                    joined: false,
                }
            })
            .collect();
        Ok((Source::Unnest(bound), Scope { cols, ..Default::default() }))
    }

    /// asyncpg's type introspection query, recognised by its recursive CTE's name; `None` for
    /// any other query.
    pub(super) fn driver_type_query(
        &mut self,
        q: &ast::Query,
    ) -> Result<Option<SelectPlan>, SqlError> {
        let Some(with) = &q.with else { return Ok(None) };
        let is_asyncpg = with.recursive
            && with.cte_tables.len() == 1
            && ident_name(&with.cte_tables[0].alias.name) == "typeinfo_tree";
        if !is_asyncpg {
            return Ok(None);
        }
        let Parsed::Sql(stmt, _) = parse_statement(ASYNCPG_TYPE_INFO)? else {
            return Err(SqlError::new(SqlState::InternalError, "type introspection query"));
        };
        let ast::Statement::Query(query) = *stmt else {
            return Err(SqlError::new(SqlState::InternalError, "type introspection query"));
        };
        self.query(&query, None, None).map(Some)
    }

    /// `current_setting(name [, missing_ok])`: the server's version and encodings as
    /// constants; any other name read from the session's settings when run, 42704 for a name
    /// it does not have. asyncpg reads and sets `jit` around its type introspection: a 42704
    /// there would abort the transaction it runs in (a first query of an array or vector type
    /// inside a block, as SQLAlchemy's asyncpg dialect does when it reflects indexes).
    pub(super) fn current_setting(&mut self, args: &[BExpr]) -> Result<BExpr, SqlError> {
        // a session setting (asyncpg reads `jit`), or a name known only when run (a
        // parameter): read from the session's settings then (42704 if it has none such)
        let at_run_time = BExpr::Func {
            func: Func::Catalog(CatalogFn::CurrentSetting),
            args: args.to_vec(),
            ty: SqlType::Text,
        };
        let Some(BExpr::Const(Value::Text(name), _)) = args.first() else {
            return Ok(at_run_time);
        };
        let value = match name.to_ascii_lowercase().as_str() {
            "server_version" => crate::sql::system::SERVER_VERSION,
            "server_encoding" | "client_encoding" => "UTF8",
            "standard_conforming_strings" | "integer_datetimes" => "on",
            "default_table_access_method" => "heap",
            _ => return Ok(at_run_time),
        };
        Ok(BExpr::Const(Value::Text(value.into()), SqlType::Text))
    }
}
