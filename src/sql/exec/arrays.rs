//! Evaluation of the array and pattern functions ([`Func::MakeArray`], subscripts,
//! `x = ANY(array)`, `array_length`, `regexp_replace`, `~`, ...), given their evaluated
//! arguments; `eval.rs` hands them here.
//!
//! Invariants: NULL handling is PostgreSQL's for each function (most are strict; `ARRAY[...]`
//! keeps NULL elements; `x = ANY(array)` is NULL only when no element matched and one was
//! NULL); nothing panics on any argument (a missing argument is NULL).

use std::cmp::Ordering;

use crate::sql::error::SqlError;
use crate::sql::exec::eval::compare;
use crate::sql::exec::pattern::{self, Flags};
use crate::sql::plan::{BExpr, BinOp, Func};
use crate::sql::types::{SqlType, cast, format_text};
use crate::types::Value;

/// The element type of an array type (text for anything else).
pub fn element_type(ty: SqlType) -> SqlType {
    match ty {
        SqlType::Array(e) => *e,
        _ => SqlType::Text,
    }
}

fn text_of(v: &Value, ty: SqlType) -> Option<String> {
    format_text(v, ty)
}

fn array_arg(v: &Value) -> Result<Option<&[Value]>, SqlError> {
    match v {
        Value::Null => Ok(None),
        Value::Array(a) => Ok(Some(a)),
        other => Err(SqlError::datatype_mismatch(format!("{other} is not an array"))),
    }
}

/// Whether `ord` satisfies the comparison `op`.
fn holds(op: BinOp, ord: Ordering) -> bool {
    match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::NotEq => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::LtEq => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }
}

/// Evaluates `func` over its evaluated arguments `vals` (bound as `args`), returning `None` for
/// a function this module does not own.
pub fn eval(
    func: Func,
    args: &[BExpr],
    vals: &[Value],
    ty: SqlType,
) -> Result<Option<Value>, SqlError> {
    let arg = |i: usize| vals.get(i).unwrap_or(&Value::Null);
    let arg_ty = |i: usize| args.get(i).map_or(SqlType::Text, |a| a.ty());
    let text = |i: usize| text_of(arg(i), arg_ty(i));
    Ok(Some(match func {
        Func::MakeArray => {
            let elem = element_type(ty);
            let mut out = Vec::with_capacity(vals.len());
            for (v, a) in vals.iter().zip(args) {
                out.push(cast(v.clone(), a.ty(), elem, false)?);
            }
            Value::Array(out)
        }
        Func::Quantified { op, all } => {
            let Some(items) = array_arg(arg(1))? else { return Ok(Some(Value::Null)) };
            if items.is_empty() {
                return Ok(Some(Value::Bool(all)));
            }
            let operand_ty = SqlType::unify(arg_ty(0), element_type(arg_ty(1)));
            let mut saw_null = false;
            for item in items {
                match compare(arg(0), item, operand_ty)? {
                    Some(ord) if holds(op, ord) != all => return Ok(Some(Value::Bool(!all))),
                    Some(_) => {}
                    None => saw_null = true,
                }
            }
            if saw_null { Value::Null } else { Value::Bool(all) }
        }
        Func::NameByte => {
            let (Value::Text(name), Value::Int(i)) = (arg(0), arg(1)) else {
                return Ok(Some(Value::Null));
            };
            match usize::try_from(*i) {
                Ok(i) if i < 64 => {
                    let byte = name.as_bytes().get(i).copied().unwrap_or(0);
                    let text = if byte == 0 { String::new() } else { (byte as char).to_string() };
                    Value::Text(text)
                }
                _ => Value::Null,
            }
        }
        Func::Subscript => {
            let (Some(items), Value::Int(i)) = (array_arg(arg(0))?, arg(1)) else {
                return Ok(Some(Value::Null));
            };
            usize::try_from(*i)
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.get(i))
                .cloned()
                .unwrap_or(Value::Null)
        }
        Func::ArrayLength | Func::ArrayUpper | Func::ArrayLower => {
            let (Some(items), Value::Int(dim)) = (array_arg(arg(0))?, arg(1)) else {
                return Ok(Some(Value::Null));
            };
            if *dim != 1 || items.is_empty() {
                return Ok(Some(Value::Null));
            }
            match func {
                Func::ArrayLower => Value::Int(1),
                _ => Value::Int(items.len() as i64),
            }
        }
        Func::Cardinality => match array_arg(arg(0))? {
            Some(items) => Value::Int(items.len() as i64),
            None => Value::Null,
        },
        Func::ArrayToString => {
            let (Some(items), Some(sep)) = (array_arg(arg(0))?, text(1)) else {
                return Ok(Some(Value::Null));
            };
            let null_text = text(2);
            let elem = element_type(arg_ty(0));
            let mut parts = Vec::with_capacity(items.len());
            for v in items {
                match (text_of(v, elem), &null_text) {
                    (Some(s), _) => parts.push(s),
                    (None, Some(n)) => parts.push(n.clone()),
                    (None, None) => {}
                }
            }
            Value::Text(parts.join(&sep))
        }
        Func::ArrayConcat => match (array_arg(arg(0))?, array_arg(arg(1))?) {
            (None, None) => Value::Null,
            (a, b) => {
                let elem = element_type(ty);
                let mut out = Vec::new();
                for (items, i) in [(a, 0), (b, 1)] {
                    for v in items.unwrap_or_default() {
                        out.push(cast(v.clone(), element_type(arg_ty(i)), elem, false)?);
                    }
                }
                Value::Array(out)
            }
        },
        Func::ArrayContains | Func::ArrayOverlap => {
            let (Some(a), Some(b)) = (array_arg(arg(0))?, array_arg(arg(1))?) else {
                return Ok(Some(Value::Null));
            };
            let operand_ty = SqlType::unify(element_type(arg_ty(0)), element_type(arg_ty(1)));
            let mut found = Vec::with_capacity(b.len());
            for x in b {
                let mut hit = false;
                for y in a {
                    if compare(x, y, operand_ty)? == Some(Ordering::Equal) {
                        hit = true;
                        break;
                    }
                }
                found.push(hit);
            }
            Value::Bool(if func == Func::ArrayContains {
                found.iter().all(|h| *h)
            } else {
                found.iter().any(|h| *h)
            })
        }
        Func::ArrayPosition => {
            let Some(items) = array_arg(arg(0))? else { return Ok(Some(Value::Null)) };
            let operand_ty = SqlType::unify(element_type(arg_ty(0)), arg_ty(1));
            let mut position = Value::Null;
            for (i, v) in items.iter().enumerate() {
                let same = match (v, arg(1)) {
                    (Value::Null, Value::Null) => true,
                    (Value::Null, _) | (_, Value::Null) => false,
                    (v, x) => compare(v, x, operand_ty)? == Some(Ordering::Equal),
                };
                if same {
                    position = Value::Int(i as i64 + 1);
                    break;
                }
            }
            position
        }
        Func::ArrayRemove => {
            let Some(items) = array_arg(arg(0))? else { return Ok(Some(Value::Null)) };
            let operand_ty = SqlType::unify(element_type(arg_ty(0)), arg_ty(1));
            let mut kept = Vec::with_capacity(items.len());
            for v in items {
                let same = match (v, arg(1)) {
                    (Value::Null, Value::Null) => true,
                    (Value::Null, _) | (_, Value::Null) => false,
                    (v, x) => compare(v, x, operand_ty)? == Some(Ordering::Equal),
                };
                if !same {
                    kept.push(v.clone());
                }
            }
            Value::Array(kept)
        }
        Func::StringToArray => {
            let Some(s) = text(0) else { return Ok(Some(Value::Null)) };
            let null_text = text(2);
            let parts: Vec<String> = match text(1) {
                _ if s.is_empty() => Vec::new(),
                None => s.chars().map(String::from).collect(),
                Some(sep) if sep.is_empty() => vec![s],
                Some(sep) => s.split(sep.as_str()).map(String::from).collect(),
            };
            Value::Array(
                parts
                    .into_iter()
                    .map(|p| {
                        if null_text.as_deref() == Some(p.as_str()) {
                            Value::Null
                        } else {
                            Value::Text(p)
                        }
                    })
                    .collect(),
            )
        }
        Func::RegexMatch { case_insensitive } => {
            let (Some(s), Some(p)) = (text(0), text(1)) else { return Ok(Some(Value::Null)) };
            Value::Bool(pattern::matches(&s, &p, case_insensitive)?)
        }
        Func::SimilarTo => {
            let (Some(s), Some(p)) = (text(0), text(1)) else { return Ok(Some(Value::Null)) };
            if args.len() > 2 && *arg(2) == Value::Null {
                return Ok(Some(Value::Null));
            }
            Value::Bool(pattern::similar(&s, &p, text(2).as_deref())?)
        }
        Func::RegexpReplace => {
            if vals.contains(&Value::Null) {
                return Ok(Some(Value::Null));
            }
            let flags = Flags::parse(&text(3).unwrap_or_default())?;
            let (s, p, r) = (text(0).unwrap_or_default(), text(1).unwrap_or_default(), text(2));
            Value::Text(pattern::replace(&s, &p, &r.unwrap_or_default(), flags)?)
        }
        Func::RegexpMatch => {
            if vals.contains(&Value::Null) {
                return Ok(Some(Value::Null));
            }
            let flags = Flags::parse(&text(2).unwrap_or_default())?;
            let (s, p) = (text(0).unwrap_or_default(), text(1).unwrap_or_default());
            match pattern::first_match(&s, &p, flags)? {
                Some(groups) => Value::Array(groups),
                None => Value::Null,
            }
        }
        Func::RegexpSubstring => {
            let (Some(s), Some(p)) = (text(0), text(1)) else { return Ok(Some(Value::Null)) };
            match pattern::substring(&s, &p)? {
                Some(m) => Value::Text(m),
                None => Value::Null,
            }
        }
        _ => return Ok(None),
    }))
}

/// The rows of `unnest(a, b, ...)`: row `i` holds each array's `i`-th element, NULL past an
/// array's end (or for a NULL array).
pub fn unnest_rows(arrays: &[Value]) -> Result<Vec<Vec<Value>>, SqlError> {
    let mut lists = Vec::with_capacity(arrays.len());
    for a in arrays {
        lists.push(array_arg(a)?.unwrap_or(&[]));
    }
    let height = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    Ok((0..height)
        .map(|i| lists.iter().map(|l| l.get(i).cloned().unwrap_or(Value::Null)).collect())
        .collect())
}
