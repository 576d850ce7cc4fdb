//! Evaluation of the jsonb operators ([`Func::JsonGet`], [`Func::JsonHasKey`],
//! [`Func::JsonContains`]), given their evaluated arguments; `eval.rs` hands them here and
//! `types/json.rs` holds the semantics.
//!
//! Invariants: every one is strict (NULL in, NULL out), and a step that finds nothing is NULL;
//! nothing panics on any argument.

use crate::sql::error::SqlError;
use crate::sql::plan::Func;
use crate::sql::types::json::{self, Step};
use crate::types::Value;

/// The value of a jsonb operator, or `None` when `func` is not one.
pub fn eval(func: Func, vals: &[Value]) -> Result<Option<Value>, SqlError> {
    if !matches!(func, Func::JsonGet { .. } | Func::JsonHasKey { .. } | Func::JsonContains) {
        return Ok(None);
    }
    let (Some(Value::Text(doc)), Some(arg)) = (vals.first(), vals.get(1)) else {
        return Ok(Some(Value::Null));
    };
    let texts = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| match i {
                    Value::Text(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    Ok(Some(match (func, arg) {
        (_, Value::Null) => Value::Null,
        (Func::JsonGet { text }, Value::Text(key)) => {
            json::get(doc, &[Step::Key(key)], text)?.map_or(Value::Null, Value::Text)
        }
        (Func::JsonGet { text }, Value::Int(i)) => {
            json::get(doc, &[Step::Index(*i)], text)?.map_or(Value::Null, Value::Text)
        }
        (Func::JsonGet { text }, path @ Value::Array(_)) => {
            // a path with a NULL step finds nothing
            let Some(path) = texts(path) else { return Ok(Some(Value::Null)) };
            let steps: Vec<Step> = path
                .iter()
                .map(|p| match p.parse::<i64>() {
                    // a step names a member, or an element when it reads as an integer
                    Ok(i) => Step::KeyOrIndex(p, i),
                    Err(_) => Step::Key(p),
                })
                .collect();
            json::get(doc, &steps, text)?.map_or(Value::Null, Value::Text)
        }
        (Func::JsonHasKey { many: false, .. }, Value::Text(key)) => {
            Value::Bool(json::has_key(doc, key)?)
        }
        (Func::JsonHasKey { many: true, any }, keys @ Value::Array(_)) => {
            let keys = texts(keys).unwrap_or_default();
            let mut found = Vec::with_capacity(keys.len());
            for k in &keys {
                found.push(json::has_key(doc, k)?);
            }
            Value::Bool(if any { found.contains(&true) } else { !found.contains(&false) })
        }
        (Func::JsonContains, Value::Text(other)) => Value::Bool(json::contains(doc, other)?),
        _ => Value::Null,
    }))
}
