//! SQL arrays: the array types (`integer[]`, `varchar(10)[]`, ...), their text form
//! (`{1,2,NULL,"a b"}`), their binary wire form, and casts between array types.
//!
//! Invariants: isola's arrays are one-dimensional with lower bound 1 (`Value::Array`, elements
//! NULL or of the element type's storage variant); input with more dimensions is refused with
//! 0A000, never flattened. An array type's element type is never an array nor `Unknown`, and
//! the element type lives for the whole program (interned by [`array_of`]) so that `SqlType`
//! stays `Copy`.

use std::sync::Mutex;

use pgwire::api::Type;
use postgres_types::Kind;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::types::{SqlType, cast, decode_binary, encode_binary, format_text, parse_text};
use crate::types::Value;

/// Element types without a modifier, shared by every array type over them.
static PLAIN_ELEMENTS: [SqlType; 18] = [
    SqlType::Bool,
    SqlType::Oid,
    SqlType::Int2,
    SqlType::Int4,
    SqlType::Int8,
    SqlType::Float4,
    SqlType::Float8,
    SqlType::Numeric(None),
    SqlType::Text,
    SqlType::Varchar(None),
    SqlType::Bytea,
    SqlType::Date,
    SqlType::Timestamp,
    SqlType::Timestamptz,
    SqlType::Uuid,
    SqlType::Json,
    SqlType::Jsonb,
    SqlType::Char(1),
];

/// Element types with a modifier (`varchar(10)`, `numeric(5,2)`), interned once each.
static MODIFIED_ELEMENTS: Mutex<Vec<&'static SqlType>> = Mutex::new(Vec::new());

/// How many distinct modified element types are interned; beyond it, a new one loses its
/// modifier (an unbounded `varchar[]`, say), so no client can grow the table without bound.
const MAX_MODIFIED_ELEMENTS: usize = 1024;

/// The array type over `elem` (`integer` → `integer[]`). An array of arrays is the same array
/// type, as in PostgreSQL's type names; an untyped element is text.
pub fn array_of(elem: SqlType) -> SqlType {
    let elem = match elem {
        SqlType::Array(e) => *e,
        SqlType::Unknown => SqlType::Text,
        t => t,
    };
    if let Some(e) = PLAIN_ELEMENTS.iter().find(|e| **e == elem) {
        return SqlType::Array(e);
    }
    let mut interned = MODIFIED_ELEMENTS.lock().unwrap_or_else(|e| e.into_inner());
    // versions of an enum type are equal by oid; an array keeps the very version it is over
    let same = |e: &SqlType| match (e, elem) {
        (SqlType::Enum(a), SqlType::Enum(b)) => std::ptr::eq(*a, b),
        (e, elem) => *e == elem,
    };
    if let Some(e) = interned.iter().find(|e| same(e)) {
        return SqlType::Array(e);
    }
    // (an enum's versions are bounded by the DDL that makes them, not by clients' casts)
    if interned.len() >= MAX_MODIFIED_ELEMENTS && !matches!(elem, SqlType::Enum(_)) {
        drop(interned);
        return array_of(without_modifier(elem));
    }
    let leaked: &'static SqlType = Box::leak(Box::new(elem));
    interned.push(leaked);
    SqlType::Array(leaked)
}

fn without_modifier(t: SqlType) -> SqlType {
    match t {
        SqlType::Varchar(_) => SqlType::Varchar(None),
        SqlType::Numeric(_) => SqlType::Numeric(None),
        SqlType::Char(_) => SqlType::Text,
        t => t,
    }
}

/// The element of `int2vector` (and of `oidvector`): equal to `SqlType::Int2` (`Oid`) as a
/// value, told apart only by its address. So `int2vector` is `int2[]` to the binder (PostgreSQL's
/// binary-coercible cast: subscripts, `= ANY`, `unnest` work alike) but keeps its own name, wire
/// type and text form (`1 2`) wherever the type is carried unchanged, as a catalog column's is.
static INT2VECTOR_ELEMENT: SqlType = SqlType::Int2;
static OIDVECTOR_ELEMENT: SqlType = SqlType::Oid;

/// `int2vector` (`pg_index.indkey`): an `int2[]` printed `1 2`.
pub fn int2vector() -> SqlType {
    SqlType::Array(&INT2VECTOR_ELEMENT)
}

/// `oidvector` (`pg_index.indclass`, `pg_proc.proargtypes`): an `oid[]` printed `1 2`.
pub fn oidvector() -> SqlType {
    SqlType::Array(&OIDVECTOR_ELEMENT)
}

/// The vector type an array type's element makes (`Some("int2vector")`), if it is one.
pub fn vector_name(elem: &'static SqlType) -> Option<&'static str> {
    if std::ptr::eq(elem, &INT2VECTOR_ELEMENT) {
        Some("int2vector")
    } else if std::ptr::eq(elem, &OIDVECTOR_ELEMENT) {
        Some("oidvector")
    } else {
        None
    }
}

/// Whether `ty` is `int2vector` or `oidvector` (whose subscripts count from 0).
pub fn is_vector(ty: SqlType) -> bool {
    matches!(ty, SqlType::Array(e) if vector_name(e).is_some())
}

/// A vector's text form: its elements separated by spaces.
pub fn format_vector_text(elements: &[Value]) -> String {
    let items: Vec<String> =
        elements.iter().map(|v| format_text(v, SqlType::Int8).unwrap_or_default()).collect();
    items.join(" ")
}

/// A vector from its text form (`1 2`; empty for none).
pub fn parse_vector_text(s: &str, elem: SqlType) -> Result<Value, SqlError> {
    s.split_whitespace()
        .map(|item| parse_text(item, elem))
        .collect::<Result<_, _>>()
        .map(Value::Array)
}

/// The wire type of an array of `elem`.
pub fn array_pg_type(elem: SqlType) -> Type {
    match elem {
        SqlType::Bool => Type::BOOL_ARRAY,
        SqlType::Int2 => Type::INT2_ARRAY,
        SqlType::Int4 => Type::INT4_ARRAY,
        SqlType::Int8 => Type::INT8_ARRAY,
        SqlType::Oid => Type::OID_ARRAY,
        SqlType::Float4 => Type::FLOAT4_ARRAY,
        SqlType::Float8 => Type::FLOAT8_ARRAY,
        SqlType::Numeric(_) => Type::NUMERIC_ARRAY,
        SqlType::Varchar(_) => Type::VARCHAR_ARRAY,
        SqlType::Char(_) => Type::BPCHAR_ARRAY,
        SqlType::Bytea => Type::BYTEA_ARRAY,
        SqlType::Date => Type::DATE_ARRAY,
        SqlType::Timestamp => Type::TIMESTAMP_ARRAY,
        SqlType::Timestamptz => Type::TIMESTAMPTZ_ARRAY,
        SqlType::Uuid => Type::UUID_ARRAY,
        SqlType::Json => Type::JSON_ARRAY,
        SqlType::Jsonb => Type::JSONB_ARRAY,
        SqlType::Enum(e) => Type::new(
            format!("_{}", e.name),
            e.array_oid,
            Kind::Array(elem.pg_type()),
            "public".into(),
        ),
        _ => Type::TEXT_ARRAY,
    }
}

/// The array type for a wire array type a client declared (`int4[]`, OID 1007), if isola has
/// its element type.
pub fn from_pg_array_type(ty: &Type) -> Option<SqlType> {
    match ty.kind() {
        Kind::Array(elem) => SqlType::from_pg_type(elem).map(array_of),
        _ => None,
    }
}

fn malformed(s: &str, detail: &str) -> SqlError {
    SqlError::new(SqlState::InvalidTextRepresentation, format!("malformed array literal: \"{s}\""))
        .with_detail(detail)
}

fn multidimensional() -> SqlError {
    SqlError::new(SqlState::FeatureNotSupported, "multidimensional arrays are not supported")
}

/// Parses an array's text form (`{1,2,NULL}`, `{"a b","c\"d"}`, `{}`) with elements of `elem`.
pub fn parse_array_text(s: &str, elem: SqlType) -> Result<Value, SqlError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    match chars.get(i) {
        Some('{') => i += 1,
        Some('[') => return Err(SqlError::unsupported("array dimension decorations ([1:3]=...)")),
        _ => {
            return Err(malformed(
                s,
                "Array value must start with \"{\" or dimension information.",
            ));
        }
    }
    let mut elements = Vec::new();
    skip_ws(&mut i);
    if chars.get(i) == Some(&'}') {
        i += 1;
    } else {
        loop {
            skip_ws(&mut i);
            let (text, quoted) = match chars.get(i) {
                Some('{') => return Err(multidimensional()),
                Some('"') => {
                    i += 1;
                    let mut text = String::new();
                    loop {
                        match chars.get(i) {
                            None => return Err(malformed(s, "Unexpected end of input.")),
                            Some('"') => {
                                i += 1;
                                break;
                            }
                            Some('\\') => {
                                let c = *chars
                                    .get(i + 1)
                                    .ok_or_else(|| malformed(s, "Unexpected end of input."))?;
                                text.push(c);
                                i += 2;
                            }
                            Some(c) => {
                                text.push(*c);
                                i += 1;
                            }
                        }
                    }
                    (text, true)
                }
                _ => {
                    let mut text = String::new();
                    let mut escaped = false;
                    loop {
                        match chars.get(i) {
                            None => return Err(malformed(s, "Unexpected end of input.")),
                            Some(',' | '}') => break,
                            Some('{' | '"') => {
                                return Err(malformed(s, "Unexpected array element."));
                            }
                            Some('\\') => {
                                let c = *chars
                                    .get(i + 1)
                                    .ok_or_else(|| malformed(s, "Unexpected end of input."))?;
                                text.push(c);
                                escaped = true;
                                i += 2;
                            }
                            Some(c) => {
                                text.push(*c);
                                i += 1;
                            }
                        }
                    }
                    let trimmed = text.trim_end().to_string();
                    if trimmed.is_empty() {
                        return Err(malformed(s, "Unexpected \",\" or \"}\" character."));
                    }
                    (trimmed, escaped)
                }
            };
            elements.push(if !quoted && text.eq_ignore_ascii_case("null") {
                Value::Null
            } else {
                parse_text(&text, elem)?
            });
            skip_ws(&mut i);
            match chars.get(i) {
                Some(',') => i += 1,
                Some('}') => {
                    i += 1;
                    break;
                }
                _ => return Err(malformed(s, "Unexpected array element.")),
            }
        }
    }
    skip_ws(&mut i);
    if i < chars.len() {
        return Err(malformed(s, "Junk after closing right brace."));
    }
    Ok(Value::Array(elements))
}

/// An array's text form, quoting elements as PostgreSQL's `array_out` does.
pub fn format_array_text(elements: &[Value], elem: SqlType) -> String {
    let mut out = String::from("{");
    for (i, v) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let Some(text) = format_text(v, elem) else {
            out.push_str("NULL");
            continue;
        };
        let needs_quotes = text.is_empty()
            || text.eq_ignore_ascii_case("null")
            || text.chars().any(|c| matches!(c, '{' | '}' | ',' | '"' | '\\') || c.is_whitespace());
        if needs_quotes {
            out.push('"');
            for c in text.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(&text);
        }
    }
    out.push('}');
    out
}

/// The binary wire form: dimensions, a has-NULLs flag, the element OID, each dimension's length
/// and lower bound, then each element as a length (-1: NULL) and its binary form.
pub fn encode_array_binary(elements: &[Value], elem: SqlType, out: &mut Vec<u8>) {
    let ndim: i32 = if elements.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&ndim.to_be_bytes());
    out.extend_from_slice(&(elements.contains(&Value::Null) as i32).to_be_bytes());
    out.extend_from_slice(&elem.pg_type().oid().to_be_bytes());
    if ndim == 0 {
        return;
    }
    out.extend_from_slice(&(elements.len() as i32).to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    let mut scratch = Vec::new();
    for v in elements {
        if *v == Value::Null {
            out.extend_from_slice(&(-1i32).to_be_bytes());
            continue;
        }
        scratch.clear();
        encode_binary(v, elem, &mut scratch);
        out.extend_from_slice(&(scratch.len() as i32).to_be_bytes());
        out.extend_from_slice(&scratch);
    }
}

/// Decodes the binary wire form (see [`encode_array_binary`]) as an array of `elem`. Elements
/// sent as another type isola knows (a client sending `int2[]` for `integer[]`) are cast.
pub fn decode_array_binary(b: &[u8], elem: SqlType) -> Result<Value, SqlError> {
    let bad = || {
        SqlError::new(
            SqlState::InvalidBinaryRepresentation,
            format!("incorrect binary data format for type {}[]", elem.name()),
        )
    };
    let mut pos = 0;
    let word = |pos: &mut usize| -> Result<i32, SqlError> {
        let bytes = b.get(*pos..*pos + 4).ok_or_else(bad)?;
        *pos += 4;
        Ok(i32::from_be_bytes(bytes.try_into().map_err(|_| bad())?))
    };
    let ndim = word(&mut pos)?;
    let _has_nulls = word(&mut pos)?;
    let oid = word(&mut pos)? as u32;
    let sent = Type::from_oid(oid).and_then(|t| SqlType::from_pg_type(&t)).unwrap_or(elem);
    let count = match ndim {
        0 => 0,
        1 => {
            let n = word(&mut pos)?;
            let _lower_bound = word(&mut pos)?;
            usize::try_from(n).map_err(|_| bad())?
        }
        n if n > 1 => return Err(multidimensional()),
        _ => return Err(bad()),
    };
    // every element takes at least its 4-byte length
    if count > b.len() / 4 {
        return Err(bad());
    }
    let mut elements = Vec::with_capacity(count);
    for _ in 0..count {
        let len = word(&mut pos)?;
        if len == -1 {
            elements.push(Value::Null);
            continue;
        }
        let len = usize::try_from(len).map_err(|_| bad())?;
        let bytes = b.get(pos..pos + len).ok_or_else(bad)?;
        pos += len;
        let v = decode_binary(bytes, sent)?;
        elements.push(if sent == elem { v } else { cast(v, sent, elem, false)? });
    }
    if pos != b.len() {
        return Err(bad());
    }
    Ok(Value::Array(elements))
}

/// Casts an array's elements from `from` to `to` (`'{1,2}'::int[]::text[]`).
pub fn cast_elements(
    elements: Vec<Value>,
    from: SqlType,
    to: SqlType,
    explicit: bool,
) -> Result<Value, SqlError> {
    elements
        .into_iter()
        .map(|v| cast(v, from, to, explicit))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_round_trip(s: &str, elem: SqlType) -> String {
        match parse_array_text(s, elem).unwrap() {
            Value::Array(a) => format_array_text(&a, elem),
            other => panic!("not an array: {other}"),
        }
    }

    #[test]
    fn text_forms_parse_and_format_as_postgres() {
        assert_eq!(text_round_trip("{1, 2 ,NULL}", SqlType::Int4), "{1,2,NULL}");
        assert_eq!(text_round_trip(" { } ", SqlType::Int4), "{}");
        assert_eq!(
            text_round_trip(r#"{"a b","c\"d",e,"NULL","",x\,y}"#, SqlType::Text),
            r#"{"a b","c\"d",e,"NULL","","x,y"}"#
        );
        assert_eq!(text_round_trip("{t,false}", SqlType::Bool), "{t,f}");
        assert_eq!(parse_array_text("{{1},{2}}", SqlType::Int4).unwrap_err().code, "0A000");
        assert_eq!(parse_array_text("1,2", SqlType::Int4).unwrap_err().code, "22P02");
        assert_eq!(parse_array_text("{1,}", SqlType::Int4).unwrap_err().code, "22P02");
        assert_eq!(parse_array_text("{1} x", SqlType::Int4).unwrap_err().code, "22P02");
        assert_eq!(parse_array_text("{a}", SqlType::Int4).unwrap_err().code, "22P02");
    }

    #[test]
    fn binary_form_round_trips() {
        let v = vec![Value::Int(1), Value::Null, Value::Int(-3)];
        let mut out = Vec::new();
        encode_array_binary(&v, SqlType::Int4, &mut out);
        assert_eq!(decode_array_binary(&out, SqlType::Int4).unwrap(), Value::Array(v.clone()));
        // sent as int4[], read as bigint[]
        assert_eq!(decode_array_binary(&out, SqlType::Int8).unwrap(), Value::Array(v));
        out.clear();
        encode_array_binary(&[], SqlType::Text, &mut out);
        assert_eq!(decode_array_binary(&out, SqlType::Text).unwrap(), Value::Array(vec![]));
        assert!(decode_array_binary(&out[..5], SqlType::Text).is_err());
    }

    #[test]
    fn array_types_intern_their_elements() {
        let a = array_of(SqlType::Varchar(Some(10)));
        assert_eq!(a, array_of(SqlType::Varchar(Some(10))));
        assert_eq!(a.name(), "character varying(10)[]");
        assert_eq!(array_of(a), a);
        assert_eq!(array_of(SqlType::Int4).pg_type(), Type::INT4_ARRAY);
        assert_eq!(SqlType::from_pg_type(&Type::TEXT_ARRAY), Some(array_of(SqlType::Text)));
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_errors_and_round_trips(s in "[{}\\\\\", aNUL1-]{0,24}") {
            for elem in [SqlType::Text, SqlType::Int4] {
                if let Ok(Value::Array(a)) = parse_array_text(&s, elem) {
                    let again = parse_array_text(&format_array_text(&a, elem), elem).unwrap();
                    proptest::prop_assert_eq!(again, Value::Array(a));
                }
            }
        }

        #[test]
        fn any_bytes_decode_or_error(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode_array_binary(&b, SqlType::Int4);
            let _ = decode_array_binary(&b, SqlType::Text);
        }
    }
}
