//! `json` and `jsonb` input: a value is checked to be JSON (22P02 "invalid input syntax for
//! type json" otherwise, as PostgreSQL), a `json` kept as written, a `jsonb` stored in
//! PostgreSQL's canonical text: object keys ordered shorter first, then bytewise, a repeated
//! key keeping its last value, `", "` and `": "` between items, numbers as numerics print
//! (`1.50` stays, `1e2` is `100`), strings re-escaped. So a `jsonb` reads back (and
//! `dumpdata` prints it) as PostgreSQL's would.
//!
//! The operators over a jsonb: [`get`] (`->`, `->>`, `#>`, `#>>`), [`has_key`] (`?`) and
//! [`contains`] (`@>`), and the order of two jsonb values ([`compare`]), with PostgreSQL's
//! semantics.
//!
//! The operators over a jsonb: [`get`] (`->`, `->>`, `#>`, `#>>`), [`has_key`] (`?`) and
//! [`contains`] (`@>`), and the order of two jsonb values ([`compare`]), with PostgreSQL's
//! semantics.
//!
//! Invariant: [`normalize`] of its own output is that output.

use std::cmp::Ordering;
use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::types::{SqlType, format_text};
use crate::types::Value;

/// A parsed JSON value; numbers keep their text.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn clone_json(&self) -> Json {
        match self {
            Json::Null => Json::Null,
            Json::Bool(b) => Json::Bool(*b),
            Json::Number(n) => Json::Number(n.clone()),
            Json::String(s) => Json::String(s.clone()),
            Json::Array(items) => Json::Array(items.iter().map(Json::clone_json).collect()),
            Json::Object(items) => {
                Json::Object(items.iter().map(|(k, v)| (k.clone(), v.clone_json())).collect())
            }
        }
    }
}

/// Deepest nesting accepted (PostgreSQL's limit is its stack depth).
const MAX_DEPTH: usize = 1_000;

/// Checks that `text` is one JSON value (for `json`).
pub fn validate(text: &str) -> Result<(), SqlError> {
    parse(text).map(|_| ())
}

/// `text` as PostgreSQL's `jsonb` prints it.
pub fn normalize(text: &str) -> Result<String, SqlError> {
    let mut out = String::with_capacity(text.len());
    write_jsonb(&parse(text)?, &mut out);
    Ok(out)
}

/// A key of `->`: an object's member, or an array's element (negative counts from the end).
pub enum Step<'a> {
    Key(&'a str),
    Index(i64),
    /// A step of a `#>` path that reads as an integer: a member of an object, an element of
    /// an array.
    KeyOrIndex(&'a str, i64),
}

/// `doc -> step -> step ...`: the value found, as jsonb text, or as text when `as_text` (a
/// string unquoted, a JSON null then SQL NULL); `None` when a step finds nothing.
pub fn get(doc: &str, path: &[Step], as_text: bool) -> Result<Option<String>, SqlError> {
    let root = parse(doc)?;
    let mut at = &root;
    for step in path {
        let next = match (at, step) {
            (Json::Object(items), Step::Key(k) | Step::KeyOrIndex(k, _)) => {
                items.iter().rev().find(|(key, _)| key == k).map(|(_, v)| v)
            }
            (Json::Array(items), Step::Index(i) | Step::KeyOrIndex(_, i)) => {
                let i = if *i < 0 { items.len() as i64 + i } else { *i };
                usize::try_from(i).ok().and_then(|i| items.get(i))
            }
            // a top-level scalar is element 0 (and -1) of itself, as jsonb stores it
            (scalar, Step::Index(0 | -1))
                if std::ptr::eq(at, &root) && !matches!(scalar, Json::Object(_)) =>
            {
                Some(scalar)
            }
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return Ok(None),
        }
    }
    Ok(match (at, as_text) {
        (Json::Null, true) => None,
        (Json::String(s), true) => Some(s.clone()),
        (v, _) => {
            let mut out = String::new();
            write_jsonb(v, &mut out);
            Some(out)
        }
    })
}

/// A SQL value as JSON text, as `to_jsonb` converts it: numbers and booleans as such, a json
/// or jsonb as it is, an array element by element, a date or timestamp in ISO 8601 (`T`
/// between date and time), anything else as a JSON string of its text form.
pub fn from_value(v: &Value, ty: SqlType) -> Result<String, SqlError> {
    let mut out = String::new();
    match (v, ty) {
        (Value::Null, _) => out.push_str("null"),
        (Value::Bool(b), _) => out.push_str(if *b { "true" } else { "false" }),
        (Value::Array(items), _) => {
            let elem = match ty {
                SqlType::Array(e) => *e,
                _ => SqlType::Text,
            };
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&from_value(item, elem)?);
            }
            out.push(']');
        }
        (Value::Float(f), _) if !f.is_finite() => {
            write_string(&format_text(v, ty).unwrap_or_default(), &mut out)
        }
        (Value::Int(_) | Value::Float(_) | Value::Numeric(_), t) if t.is_numeric() => {
            out.push_str(&format_text(v, ty).unwrap_or_default())
        }
        (Value::Text(s), SqlType::Json | SqlType::Jsonb) => out.push_str(s),
        (_, SqlType::Timestamp | SqlType::Timestamptz) => {
            let text = format_text(v, ty).unwrap_or_default().replacen(' ', "T", 1);
            let text =
                if ty == SqlType::Timestamptz { text.replace("+00", "+00:00") } else { text };
            write_string(&text, &mut out)
        }
        _ => write_string(&format_text(v, ty).unwrap_or_default(), &mut out),
    }
    Ok(out)
}

/// `jsonb_build_object(k, v, ...)` of keys and JSON texts.
pub fn build_object(pairs: &[(String, String)]) -> Result<String, SqlError> {
    let mut items = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        items.push((k.clone(), parse(v)?));
    }
    let mut out = String::new();
    write_jsonb(&Json::Object(items), &mut out);
    Ok(out)
}

/// `jsonb_build_array(v, ...)` of JSON texts.
pub fn build_array(items: &[String]) -> Result<String, SqlError> {
    let parsed = items.iter().map(|i| parse(i)).collect::<Result<Vec<_>, _>>()?;
    let mut out = String::new();
    write_jsonb(&Json::Array(parsed), &mut out);
    Ok(out)
}

/// The elements of an array as jsonb texts (as text when `as_text`: a string unquoted, a null
/// then NULL); 22023 for anything else.
pub fn elements(doc: &str, as_text: bool) -> Result<Vec<Option<String>>, SqlError> {
    match parse(doc)? {
        Json::Array(items) => Ok(items.iter().map(|i| shown(i, as_text)).collect()),
        Json::Object(_) => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "cannot extract elements from an object",
        )),
        _ => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "cannot extract elements from a scalar",
        )),
    }
}

/// The members of an object in jsonb's order, values as [`elements`] shows them; 22023 for
/// anything else (`function` names the caller in the message).
pub fn members_of(
    doc: &str,
    function: &str,
    as_text: bool,
) -> Result<Vec<(String, Option<String>)>, SqlError> {
    match parse(doc)? {
        Json::Object(items) => {
            Ok(members(&items).into_iter().map(|(k, v)| (k.clone(), shown(v, as_text))).collect())
        }
        Json::Array(_) => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!("cannot call {function} on an array"),
        )),
        _ => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!("cannot call {function} on a scalar"),
        )),
    }
}

fn shown(v: &Json, as_text: bool) -> Option<String> {
    match (v, as_text) {
        (Json::Null, true) => None,
        (Json::String(s), true) => Some(s.clone()),
        (v, _) => {
            let mut out = String::new();
            write_jsonb(v, &mut out);
            Some(out)
        }
    }
}

/// `jsonb_typeof(doc)`.
pub fn type_of(doc: &str) -> Result<&'static str, SqlError> {
    Ok(match parse(doc)? {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    })
}

/// `jsonb_array_length(doc)`; 22023 for anything but an array.
pub fn array_length(doc: &str) -> Result<i64, SqlError> {
    match parse(doc)? {
        Json::Array(items) => Ok(items.len() as i64),
        Json::Object(_) => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "cannot get array length of a non-array",
        )),
        _ => Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "cannot get array length of a scalar",
        )),
    }
}

/// `a || b`: two objects merged (`b`'s members win), otherwise the two as arrays (a scalar or
/// an object as a one-element array) concatenated.
pub fn concat(a: &str, b: &str) -> Result<String, SqlError> {
    let joined = match (parse(a)?, parse(b)?) {
        (Json::Object(mut x), Json::Object(y)) => {
            x.extend(y);
            Json::Object(x)
        }
        (x, y) => {
            let items = |v: Json| match v {
                Json::Array(items) => items,
                other => vec![other],
            };
            let mut all = items(x);
            all.extend(items(y));
            Json::Array(all)
        }
    };
    let mut out = String::new();
    write_jsonb(&joined, &mut out);
    Ok(out)
}

/// `doc - key`: an object without the member, an array without the string elements equal to
/// `key`; 22023 for a scalar.
pub fn delete_key(doc: &str, key: &str) -> Result<String, SqlError> {
    let kept = match parse(doc)? {
        Json::Object(items) => Json::Object(items.into_iter().filter(|(k, _)| k != key).collect()),
        Json::Array(items) => Json::Array(
            items.into_iter().filter(|v| !matches!(v, Json::String(s) if s == key)).collect(),
        ),
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "cannot delete from scalar",
            ));
        }
    };
    let mut out = String::new();
    write_jsonb(&kept, &mut out);
    Ok(out)
}

/// `doc - index`: an array without its element `index` (negative counts from the end).
pub fn delete_index(doc: &str, index: i64) -> Result<String, SqlError> {
    let kept = match parse(doc)? {
        Json::Array(mut items) => {
            let i = if index < 0 { items.len() as i64 + index } else { index };
            if let Ok(i) = usize::try_from(i)
                && i < items.len()
            {
                items.remove(i);
            }
            Json::Array(items)
        }
        Json::Object(_) => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "cannot delete from object using integer index",
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                "cannot delete from scalar",
            ));
        }
    };
    let mut out = String::new();
    write_jsonb(&kept, &mut out);
    Ok(out)
}

/// A path step as an array index (`jsonb_set`, `#-`): an integer, else 22P02 naming its
/// position (1-based).
fn path_index(step: &str, position: usize) -> Result<i64, SqlError> {
    step.trim().parse::<i64>().map_err(|_| {
        SqlError::new(
            SqlState::InvalidTextRepresentation,
            format!("path element at position {position} is not an integer: \"{step}\""),
        )
    })
}

/// Where index `i` (negative from the end) falls in an array of `len`: `Ok(position)` inside
/// it, `Err(true)` before its start, `Err(false)` past its end.
fn array_slot(i: i64, len: usize) -> Result<usize, bool> {
    let at = if i < 0 { len as i64 + i } else { i };
    if at < 0 {
        Err(true)
    } else if (at as usize) < len {
        Ok(at as usize)
    } else {
        Err(false)
    }
}

fn set_in(
    v: &mut Json,
    path: &[String],
    depth: usize,
    new: &Json,
    create: bool,
) -> Result<(), SqlError> {
    let Some(step) = path.get(depth) else { return Ok(()) };
    let last = depth + 1 == path.len();
    match v {
        Json::Object(items) => match items.iter().rposition(|(k, _)| k == step) {
            Some(i) if last => items[i].1 = new.clone_json(),
            Some(i) => set_in(&mut items[i].1, path, depth + 1, new, create)?,
            None if last && create => items.push((step.clone(), new.clone_json())),
            None => {}
        },
        Json::Array(items) => {
            let i = path_index(step, depth + 1)?;
            match array_slot(i, items.len()) {
                Ok(at) if last => items[at] = new.clone_json(),
                Ok(at) => set_in(&mut items[at], path, depth + 1, new, create)?,
                Err(before) if last && create => {
                    if before {
                        items.insert(0, new.clone_json())
                    } else {
                        items.push(new.clone_json())
                    }
                }
                Err(_) => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// `jsonb_set(doc, path, new [, create_missing])`: `doc` with the value at `path` replaced by
/// `new` (added, when `create_missing`, as the last step's member or array end); a path
/// through a missing key or a scalar changes nothing; 22023 when `doc` itself is a scalar.
pub fn set_path(doc: &str, path: &[String], new: &str, create: bool) -> Result<String, SqlError> {
    let mut v = parse(doc)?;
    if !matches!(v, Json::Object(_) | Json::Array(_)) {
        return Err(SqlError::new(SqlState::InvalidParameterValue, "cannot set path in scalar"));
    }
    set_in(&mut v, path, 0, &parse(new)?, create)?;
    let mut out = String::new();
    write_jsonb(&v, &mut out);
    Ok(out)
}

fn delete_in(v: &mut Json, path: &[String], depth: usize) -> Result<(), SqlError> {
    let Some(step) = path.get(depth) else { return Ok(()) };
    let last = depth + 1 == path.len();
    match v {
        Json::Object(items) => {
            if last {
                items.retain(|(k, _)| k != step);
            } else if let Some(i) = items.iter().rposition(|(k, _)| k == step) {
                delete_in(&mut items[i].1, path, depth + 1)?;
            }
        }
        Json::Array(items) => {
            let i = path_index(step, depth + 1)?;
            if let Ok(at) = array_slot(i, items.len()) {
                if last {
                    items.remove(at);
                } else {
                    delete_in(&mut items[at], path, depth + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `doc #- path`: `doc` without the value at `path`; 22023 when `doc` is a scalar.
pub fn delete_path(doc: &str, path: &[String]) -> Result<String, SqlError> {
    let mut v = parse(doc)?;
    if !matches!(v, Json::Object(_) | Json::Array(_)) {
        return Err(SqlError::new(SqlState::InvalidParameterValue, "cannot delete path in scalar"));
    }
    delete_in(&mut v, path, 0)?;
    let mut out = String::new();
    write_jsonb(&v, &mut out);
    Ok(out)
}

/// `jsonb_strip_nulls(doc)`: every object member whose value is null removed, at any depth
/// (array elements stay).
pub fn strip_nulls(doc: &str) -> Result<String, SqlError> {
    fn strip(v: Json) -> Json {
        match v {
            Json::Object(items) => Json::Object(
                items
                    .into_iter()
                    .filter(|(_, v)| !matches!(v, Json::Null))
                    .map(|(k, v)| (k, strip(v)))
                    .collect(),
            ),
            Json::Array(items) => Json::Array(items.into_iter().map(strip).collect()),
            other => other,
        }
    }
    let mut out = String::new();
    write_jsonb(&strip(parse(doc)?), &mut out);
    Ok(out)
}

/// `jsonb_pretty(doc)`: one member or element per line, indented by four spaces.
pub fn pretty(doc: &str) -> Result<String, SqlError> {
    fn write(v: &Json, indent: usize, out: &mut String) {
        let pad = |n: usize, out: &mut String| out.push_str(&" ".repeat(n * 4));
        match v {
            // (an empty one too: `[` and `]` on lines of their own, as PostgreSQL prints it)
            Json::Array(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(indent + 1, out);
                    write(item, indent + 1, out);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(indent, out);
                out.push(']');
            }
            Json::Object(items) => {
                let keyed = members(items);
                out.push_str("{\n");
                for (i, (k, item)) in keyed.iter().enumerate() {
                    pad(indent + 1, out);
                    write_string(k, out);
                    out.push_str(": ");
                    write(item, indent + 1, out);
                    out.push_str(if i + 1 < keyed.len() { ",\n" } else { "\n" });
                }
                pad(indent, out);
                out.push('}');
            }
            other => write_jsonb(other, out),
        }
    }
    let mut out = String::new();
    write(&parse(doc)?, 0, &mut out);
    Ok(out)
}

/// `doc ? key`: an object with the member `key`, an array with the string element `key`, or
/// the string `key` itself.
pub fn has_key(doc: &str, key: &str) -> Result<bool, SqlError> {
    Ok(match parse(doc)? {
        Json::Object(items) => items.iter().any(|(k, _)| k == key),
        Json::Array(items) => items.iter().any(|v| matches!(v, Json::String(s) if s == key)),
        Json::String(s) => s == key,
        _ => false,
    })
}

/// `a @> b`: jsonb containment, as PostgreSQL defines it (an object contains the members of
/// `b` with contained values; an array contains each element of `b` somewhere; a top-level
/// array contains a scalar it holds; scalars are equal, numbers numerically).
pub fn contains(a: &str, b: &str) -> Result<bool, SqlError> {
    let (a, b) = (parse(a)?, parse(b)?);
    Ok(match (&a, &b) {
        (Json::Array(items), scalar) if !matches!(scalar, Json::Array(_) | Json::Object(_)) => {
            items.iter().any(|x| within(x, scalar))
        }
        _ => within(&a, &b),
    })
}

fn within(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => y.iter().all(|(k, v)| {
            x.iter().rev().find(|(key, _)| key == k).is_some_and(|(_, w)| within(w, v))
        }),
        (Json::Array(x), Json::Array(y)) => y.iter().all(|v| x.iter().any(|w| within(w, v))),
        (x, y) => scalar_eq(x, y),
    }
}

fn scalar_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Null, Json::Null) => true,
        (Json::Bool(x), Json::Bool(y)) => x == y,
        (Json::String(x), Json::String(y)) => x == y,
        (Json::Number(x), Json::Number(y)) => {
            let exact = |n: &str| Decimal::from_str(n).or_else(|_| Decimal::from_scientific(n));
            match (exact(x), exact(y)) {
                (Ok(x), Ok(y)) => x == y,
                _ => x == y,
            }
        }
        _ => false,
    }
}

/// Orders two jsonb values as PostgreSQL's btree does: object > array > boolean > number >
/// string > null; more members or elements first, then member by member (keys in their
/// stored order, then values) or element by element; numbers numerically, strings bytewise.
pub fn compare(a: &str, b: &str) -> Result<Ordering, SqlError> {
    let (a, b) = (parse(a)?, parse(b)?);
    // an empty top-level array sorts below everything, even null (PostgreSQL's exception)
    let empty = |v: &Json| matches!(v, Json::Array(items) if items.is_empty());
    Ok(match (empty(&a), empty(&b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => order(&a, &b),
    })
}

fn rank(v: &Json) -> u8 {
    match v {
        Json::Null => 0,
        Json::String(_) => 1,
        Json::Number(_) => 2,
        Json::Bool(_) => 3,
        Json::Array(_) => 4,
        Json::Object(_) => 5,
    }
}

/// An object's members as jsonb keeps them: the last of a repeated key, keys shorter first.
fn members(items: &[(String, Json)]) -> Vec<(&String, &Json)> {
    let mut keyed: Vec<(&String, &Json)> = Vec::with_capacity(items.len());
    for (k, v) in items {
        match keyed.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => keyed.push((k, v)),
        }
    }
    keyed.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
    keyed
}

fn order(a: &Json, b: &Json) -> Ordering {
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let (x, y) = (members(x), members(y));
            x.len().cmp(&y.len()).then_with(|| {
                x.iter()
                    .zip(&y)
                    .map(|((kx, vx), (ky, vy))| {
                        kx.len().cmp(&ky.len()).then_with(|| kx.cmp(ky)).then_with(|| order(vx, vy))
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            })
        }
        (Json::Array(x), Json::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter().zip(y).map(|(v, w)| order(v, w)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
        }),
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Number(x), Json::Number(y)) => {
            let exact = |n: &str| Decimal::from_str(n).or_else(|_| Decimal::from_scientific(n));
            match (exact(x), exact(y)) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => x.parse::<f64>().unwrap_or(0.0).total_cmp(&y.parse::<f64>().unwrap_or(0.0)),
            }
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

fn parse(text: &str) -> Result<Json, SqlError> {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let value = p.value(0)?;
    p.skip_space();
    if p.i != p.s.len() {
        return Err(p.error());
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn error(&self) -> SqlError {
        SqlError::new(SqlState::InvalidTextRepresentation, "invalid input syntax for type json")
    }

    fn skip_space(&mut self) {
        while self.s.get(self.i).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_space();
        if self.s.get(self.i) == Some(&b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SqlError> {
        if depth > MAX_DEPTH {
            return Err(SqlError::new(SqlState::StatementTooComplex, "stack depth limit exceeded"));
        }
        self.skip_space();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b'}') {
                    return Ok(Json::Object(items));
                }
                loop {
                    self.skip_space();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.error());
                    }
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return Err(self.error());
                    }
                    items.push((key, self.value(depth + 1)?));
                    if self.eat(b'}') {
                        return Ok(Json::Object(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.error());
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Ok(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return Err(self.error());
                    }
                }
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => {
                for (word, value) in
                    [("true", Json::Bool(true)), ("false", Json::Bool(false)), ("null", Json::Null)]
                {
                    if self.s[self.i..].starts_with(word.as_bytes()) {
                        self.i += word.len();
                        return Ok(value);
                    }
                }
                Err(self.error())
            }
        }
    }

    /// A number as JSON spells it: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<Json, SqlError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let leading_zero = self.s.get(self.i) == Some(&b'0');
        if !digits(self)
            || (leading_zero && self.i - start > 1 + usize::from(self.s[start] == b'-'))
        {
            return Err(self.error());
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.error());
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.error());
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| self.error())?;
        Ok(Json::Number(text.to_string()))
    }

    fn string(&mut self) -> Result<String, SqlError> {
        self.i += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i).ok_or_else(|| self.error())?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).map_err(|_| self.error()),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or_else(|| self.error())?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error()),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.error()),
                _ => out.push(b),
            }
        }
    }

    /// The character of `\uXXXX` (a surrogate pair as two escapes); `\u0000` is refused, as
    /// PostgreSQL refuses it in text.
    fn unicode_escape(&mut self) -> Result<char, SqlError> {
        let hex4 = |p: &mut Self| -> Result<u32, SqlError> {
            let h = p.s.get(p.i..p.i + 4).ok_or_else(|| p.error())?;
            p.i += 4;
            let h = std::str::from_utf8(h).map_err(|_| p.error())?;
            u32::from_str_radix(h, 16).map_err(|_| p.error())
        };
        let high = hex4(self)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                return Err(self.error());
            }
            self.i += 2;
            let low = hex4(self)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error());
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        if code == 0 {
            return Err(SqlError::new(
                SqlState::UntranslatableCharacter,
                "unsupported Unicode escape sequence",
            ));
        }
        char::from_u32(code).ok_or_else(|| self.error())
    }
}

fn write_jsonb(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            // as a numeric prints: the written fraction digits less the exponent (`1.50`
            // stays, `1e2` is 100, `1.50e1` is 15.0); past rust_decimal's range, as written
            let (mantissa, exponent) = match n.find(['e', 'E']) {
                Some(at) => (&n[..at], n[at + 1..].parse::<i64>().unwrap_or(0)),
                None => (n.as_str(), 0),
            };
            let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i64);
            let scale = u32::try_from((fraction - exponent).max(0)).unwrap_or(u32::MAX);
            let exact = Decimal::from_str(mantissa).ok().and_then(|m| {
                let shift = Decimal::from_str(&format!("1e{exponent}"))
                    .or_else(|_| Decimal::from_scientific(&format!("1e{exponent}")))
                    .ok()?;
                let mut d = m.checked_mul(shift)?;
                (scale <= 28).then(|| d.rescale(scale)).map(|()| d)
            });
            match exact {
                Some(d) if d.is_zero() => out.push_str(&Decimal::new(0, d.scale()).to_string()),
                Some(d) => out.push_str(&d.to_string()),
                None => out.push_str(n),
            }
        }
        Json::String(s) => write_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out);
            }
            out.push(']');
        }
        Json::Object(items) => {
            let keyed = members(items);
            out.push('{');
            for (i, (k, v)) in keyed.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(k, out);
                out.push_str(": ");
                write_jsonb(v, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_is_canonical() {
        let n = |s: &str| normalize(s).unwrap();
        assert_eq!(
            n(r#"{"color":"red","n":4,"tags":["a","b"]}"#),
            r#"{"n": 4, "tags": ["a", "b"], "color": "red"}"#
        );
        assert_eq!(n(r#"{"b":1,"a":2,"b":3}"#), r#"{"a": 2, "b": 3}"#);
        assert_eq!(
            n(" [1.50, 1e2, -0.5E1, 1.50e1, 1.5e-3, 0.0, -0, 1E+2, null, \"\\u00e9\\n\"] "),
            "[1.50, 100, -5, 15.0, 0.0015, 0.0, 0, 100, null, \"\u{e9}\\n\"]"
        );
        assert_eq!(n(&n(r#"{"x": {"yy": [], "z": {}}}"#)), r#"{"x": {"z": {}, "yy": []}}"#);
    }

    #[test]
    fn operators() {
        let doc = r#"{"a": {"b": [10, "x", null]}, "s": "str", "n": 1.50}"#;
        let g = |path: &[Step], t| get(doc, path, t).unwrap();
        let (a, b, s) = (Step::Key("a"), Step::Key("b"), Step::Key("s"));
        assert_eq!(
            g(&[Step::Key("a"), Step::Key("b")], false).as_deref(),
            Some("[10, \"x\", null]")
        );
        assert_eq!(g(&[Step::Key("s")], false).as_deref(), Some("\"str\""));
        assert_eq!(g(&[s], true).as_deref(), Some("str"));
        assert_eq!(g(&[a, b, Step::Index(-2)], true).as_deref(), Some("x"));
        assert_eq!(g(&[Step::Key("a"), Step::Key("b"), Step::Index(2)], true), None);
        assert_eq!(g(&[Step::Key("zz")], false), None);
        assert!(has_key(doc, "s").unwrap() && !has_key(doc, "b").unwrap());
        assert!(has_key(r#"["a", "b"]"#, "b").unwrap());
        assert!(contains(doc, r#"{"a": {"b": [10]}, "n": 1.5}"#).unwrap());
        assert!(!contains(doc, r#"{"a": {"b": [11]}}"#).unwrap());
        assert!(contains(r#"["a", 1]"#, r#""a""#).unwrap());
        assert!(contains(r#"[[1, 2]]"#, r#"[[1]]"#).unwrap());
        assert_eq!(compare("10", "5").unwrap(), Ordering::Greater);
        assert_eq!(compare("1.0", "1").unwrap(), Ordering::Equal);
        assert_eq!(compare("\"a\"", "1").unwrap(), Ordering::Less);
        assert_eq!(compare("{}", "[1, 2]").unwrap(), Ordering::Greater);
    }

    #[test]
    fn numbers_past_decimal_range_stay_as_written() {
        let big = "12345678901234567890123456789012345";
        assert_eq!(normalize(big).unwrap(), big);
    }

    #[test]
    fn invalid_json_is_refused() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"a", "{} x", "\"\\u0000\""] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }
}
