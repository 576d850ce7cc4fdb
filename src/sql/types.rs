//! SQL types: their names, how each is stored as a core [`Value`], casts between them, and the
//! text and binary wire formats.
//!
//! Storage mapping (invariant: every value stored in a column has the column type's storage
//! variant or is NULL): booleans → `Bool`; smallint/integer/bigint → `Int`; real/double →
//! `Float`; numeric → `Numeric`; text, varchar, char, uuid, json, jsonb → `Text`; bytea → `Bytes`;
//! date → `Int` days since 1970-01-01; timestamp and timestamptz → `Int` microseconds since
//! 1970-01-01 00:00 UTC; `T[]` → `Array` of `T`'s variant (module [`array`]).

use std::str::FromStr;

use chrono::Utc;
use pgwire::api::Type;
use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::types::Value;

pub mod array;
pub mod datetime;
pub mod enums;
pub mod json;

pub use array::array_of;

/// A SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SqlType {
    Bool,
    Int2,
    Int4,
    Int8,
    /// `oid`: an unsigned 32-bit object id.
    Oid,
    Float4,
    Float8,
    /// `numeric`, or `numeric(precision, scale)`: values are rounded to the scale and must
    /// fit the precision (22003 otherwise).
    Numeric(Option<(u32, u32)>),
    Text,
    /// `varchar(n)`; `None` = unbounded.
    Varchar(Option<u32>),
    /// `char(n)` (blank-padded).
    Char(u32),
    Bytea,
    Date,
    Timestamp,
    Timestamptz,
    /// `interval`: stored as `Value::Interval`.
    Interval,
    /// `time [(p)] [without time zone]`: a time of day, stored as `Value::Int` microseconds
    /// since midnight (`24:00:00` included); `p` fractional digits when given.
    Time(Option<u8>),
    Uuid,
    Json,
    Jsonb,
    /// A string literal or NULL whose type is decided by its context.
    Unknown,
    /// A one-dimensional array of the element type (never an array nor `Unknown`; made by
    /// `array_of`, which interns the element so the type stays `Copy`).
    Array(&'static SqlType),
    /// A user-defined enum type (one version of it: `types::enums`); stored as `Value::Enum`.
    Enum(&'static enums::EnumType),
}

const EPOCH_2000_DAYS: i64 = 10_957;
const EPOCH_2000_MICROS: i64 = EPOCH_2000_DAYS * 86_400_000_000;

impl SqlType {
    /// Parses a type name as written in DDL or a cast (`integer`, `varchar(20)`, `serial`, ...).
    /// Returns the type and whether it is a serial (auto-numbered) column.
    pub fn parse(name: &str) -> Result<(SqlType, bool), SqlError> {
        let trimmed = name.trim();
        // `integer[]`, `text[3]`, `int[][]`, `integer ARRAY`: PostgreSQL ignores sizes and
        // dimensions in a declaration; a value's own dimensions are checked where it is read.
        if let Some(open) = trimmed.find('[').filter(|_| trimmed.ends_with(']')) {
            let (elem, serial) = SqlType::parse(&trimmed[..open])?;
            return if serial { Err(serial_array(name)) } else { Ok((array_of(elem), false)) };
        }
        if let Some(elem) = trimmed
            .len()
            .checked_sub(6)
            .filter(|&i| trimmed.is_char_boundary(i) && trimmed[i..].eq_ignore_ascii_case(" array"))
            .map(|i| &trimmed[..i])
        {
            let (elem, serial) = SqlType::parse(elem)?;
            return if serial { Err(serial_array(name)) } else { Ok((array_of(elem), false)) };
        }
        // `_int4`: PostgreSQL's internal name of `integer[]`
        if let Some(elem) = trimmed.strip_prefix('_')
            && let Ok((elem, false)) = SqlType::parse(elem)
        {
            return Ok((array_of(elem), false));
        }
        let lower = trimmed.to_ascii_lowercase();
        let lower = lower.strip_prefix("pg_catalog.").unwrap_or(&lower).to_string();
        let (base, args) = match lower.find('(') {
            Some(i) => {
                (lower[..i].trim().to_string(), lower[i + 1..].trim_end_matches(')').to_string())
            }
            None => (lower.clone(), String::new()),
        };
        let rest_after_paren =
            lower.find(')').map(|i| lower[i + 1..].trim().to_string()).unwrap_or_default();
        let length = || -> Result<Option<u32>, SqlError> {
            if args.is_empty() {
                return Ok(None);
            }
            args.trim().parse::<u32>().map(Some).map_err(|_| {
                SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("invalid type modifier in {name}"),
                )
            })
        };
        let ty = match base.as_str() {
            "bool" | "boolean" => SqlType::Bool,
            "smallint" | "int2" => SqlType::Int2,
            "int" | "integer" | "int4" => SqlType::Int4,
            "bigint" | "int8" => SqlType::Int8,
            "smallserial" | "serial2" => return Ok((SqlType::Int2, true)),
            "serial" | "serial4" => return Ok((SqlType::Int4, true)),
            "bigserial" | "serial8" => return Ok((SqlType::Int8, true)),
            "real" | "float4" => SqlType::Float4,
            "double precision" | "float8" | "double" | "float" => SqlType::Float8,
            "numeric" | "decimal" => SqlType::Numeric(numeric_modifier(&args, name)?),
            "text" | "name" | "\"char\"" | "regclass" | "regtype" => SqlType::Text,
            "varchar" | "character varying" => SqlType::Varchar(length()?),
            "char" | "character" | "bpchar" => SqlType::Char(length()?.unwrap_or(1)),
            "bytea" => SqlType::Bytea,
            "date" => SqlType::Date,
            "timestamp" | "timestamp without time zone" => SqlType::Timestamp,
            "timestamptz" | "timestamp with time zone" => SqlType::Timestamptz,
            "interval" => SqlType::Interval,
            "time" | "time without time zone" => {
                // PostgreSQL reduces a precision above 6 to 6 (with a warning)
                let precision = length()?.map(|p| p.min(6) as u8);
                match rest_after_paren.as_str() {
                    "" | "without time zone" => SqlType::Time(precision),
                    _ => return Err(time_with_zone()),
                }
            }
            "timetz" | "time with time zone" => return Err(time_with_zone()),
            "uuid" => SqlType::Uuid,
            "json" => SqlType::Json,
            "jsonb" => SqlType::Jsonb,
            "oid" => SqlType::Oid,
            "int2vector" => array::int2vector(),
            "oidvector" => array::oidvector(),
            _ => {
                return Err(SqlError::new(
                    SqlState::UndefinedObject,
                    format!("type \"{name}\" does not exist"),
                ));
            }
        };
        // `timestamp(3) with time zone` and the like.
        let ty = match (ty, rest_after_paren.as_str()) {
            (SqlType::Timestamp, "with time zone") => SqlType::Timestamptz,
            (t, _) => t,
        };
        Ok((ty, false))
    }

    /// The name PostgreSQL shows for this type.
    pub fn name(self) -> String {
        match self {
            SqlType::Bool => "boolean".into(),
            SqlType::Int2 => "smallint".into(),
            SqlType::Int4 => "integer".into(),
            SqlType::Int8 => "bigint".into(),
            SqlType::Oid => "oid".into(),
            SqlType::Float4 => "real".into(),
            SqlType::Float8 => "double precision".into(),
            SqlType::Numeric(None) => "numeric".into(),
            SqlType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            SqlType::Text | SqlType::Unknown => "text".into(),
            SqlType::Varchar(None) => "character varying".into(),
            SqlType::Varchar(Some(n)) => format!("character varying({n})"),
            SqlType::Char(n) => format!("character({n})"),
            SqlType::Bytea => "bytea".into(),
            SqlType::Date => "date".into(),
            SqlType::Timestamp => "timestamp without time zone".into(),
            SqlType::Timestamptz => "timestamp with time zone".into(),
            SqlType::Interval => "interval".into(),
            SqlType::Time(None) => "time without time zone".into(),
            SqlType::Time(Some(p)) => format!("time({p}) without time zone"),
            SqlType::Uuid => "uuid".into(),
            SqlType::Json => "json".into(),
            SqlType::Jsonb => "jsonb".into(),
            SqlType::Array(elem) => match array::vector_name(elem) {
                Some(name) => name.into(),
                None => format!("{}[]", elem.name()),
            },
            SqlType::Enum(e) => enums::quoted_name(&e.name),
        }
    }

    /// The wire type.
    pub fn pg_type(self) -> Type {
        match self {
            SqlType::Bool => Type::BOOL,
            SqlType::Int2 => Type::INT2,
            SqlType::Int4 => Type::INT4,
            SqlType::Int8 => Type::INT8,
            SqlType::Oid => Type::OID,
            SqlType::Float4 => Type::FLOAT4,
            SqlType::Float8 => Type::FLOAT8,
            SqlType::Numeric(_) => Type::NUMERIC,
            SqlType::Text | SqlType::Unknown => Type::TEXT,
            SqlType::Varchar(_) => Type::VARCHAR,
            SqlType::Char(_) => Type::BPCHAR,
            SqlType::Bytea => Type::BYTEA,
            SqlType::Date => Type::DATE,
            SqlType::Timestamp => Type::TIMESTAMP,
            SqlType::Timestamptz => Type::TIMESTAMPTZ,
            SqlType::Interval => Type::INTERVAL,
            SqlType::Time(_) => Type::TIME,
            SqlType::Uuid => Type::UUID,
            SqlType::Json => Type::JSON,
            SqlType::Jsonb => Type::JSONB,
            SqlType::Array(elem) => match array::vector_name(elem) {
                Some("int2vector") => Type::INT2_VECTOR,
                Some(_) => Type::OID_VECTOR,
                None => array::array_pg_type(*elem),
            },
            SqlType::Enum(e) => Type::new(
                e.name.clone(),
                e.oid,
                postgres_types::Kind::Enum(e.labels.iter().map(|l| l.label.clone()).collect()),
                "public".into(),
            ),
        }
    }

    /// The type for a wire type a client declared for a parameter.
    pub fn from_pg_type(ty: &Type) -> Option<SqlType> {
        Some(match *ty {
            Type::BOOL => SqlType::Bool,
            Type::INT2 => SqlType::Int2,
            Type::INT4 => SqlType::Int4,
            Type::OID => SqlType::Oid,
            Type::INT8 => SqlType::Int8,
            Type::FLOAT4 => SqlType::Float4,
            Type::FLOAT8 => SqlType::Float8,
            Type::NUMERIC => SqlType::Numeric(None),
            Type::TEXT | Type::NAME => SqlType::Text,
            Type::VARCHAR => SqlType::Varchar(None),
            Type::BPCHAR => SqlType::Char(1),
            Type::BYTEA => SqlType::Bytea,
            Type::DATE => SqlType::Date,
            Type::TIMESTAMP => SqlType::Timestamp,
            Type::TIMESTAMPTZ => SqlType::Timestamptz,
            Type::INTERVAL => SqlType::Interval,
            Type::TIME => SqlType::Time(None),
            Type::UUID => SqlType::Uuid,
            Type::JSON => SqlType::Json,
            Type::JSONB => SqlType::Jsonb,
            _ => return array::from_pg_array_type(ty),
        })
    }

    pub fn is_integer(self) -> bool {
        matches!(self, SqlType::Int2 | SqlType::Int4 | SqlType::Int8 | SqlType::Oid)
    }

    pub fn is_numeric(self) -> bool {
        self.is_integer() || matches!(self, SqlType::Float4 | SqlType::Float8 | SqlType::Numeric(_))
    }

    /// text, varchar and char: the types an enum casts to and from.
    pub fn is_string(self) -> bool {
        matches!(self, SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_))
    }

    pub fn is_textual(self) -> bool {
        matches!(
            self,
            SqlType::Text
                | SqlType::Varchar(_)
                | SqlType::Char(_)
                | SqlType::Unknown
                | SqlType::Json
                | SqlType::Jsonb
                | SqlType::Uuid
        )
    }

    /// The common type two operands are compared or combined in.
    pub fn unify(a: SqlType, b: SqlType) -> SqlType {
        use SqlType::*;
        match (a, b) {
            (Unknown, t) | (t, Unknown) => t,
            (x, y) if x == y => x,
            (Float8, y) | (y, Float8) if y.is_numeric() => Float8,
            (Float4, y) | (y, Float4) if y.is_numeric() => Float8,
            (Numeric(_), y) | (y, Numeric(_)) if y.is_numeric() => Numeric(None),
            (Int8, y) | (y, Int8) if y.is_integer() => Int8,
            (Int4, y) | (y, Int4) if y.is_integer() => Int4,
            (Timestamptz, Timestamp | Date) | (Timestamp | Date, Timestamptz) => Timestamptz,
            (Timestamp, Date) | (Date, Timestamp) => Timestamp,
            (Time(_), Time(_)) => Time(None),
            (Array(x), Array(y)) => array_of(SqlType::unify(*x, *y)),
            (x, y) if x.is_textual() && y.is_textual() => Text,
            (x, _) => x,
        }
    }
}

fn time_with_zone() -> SqlError {
    SqlError::new(
        SqlState::FeatureNotSupported,
        "time with time zone is not supported (use time, or timestamp with time zone)",
    )
}

fn serial_array(name: &str) -> SqlError {
    SqlError::new(
        SqlState::FeatureNotSupported,
        format!("array of serial is not implemented: {name}"),
    )
}

fn data_error(code: SqlState, message: String) -> SqlError {
    SqlError::new(code, message)
}

fn invalid_text(ty: SqlType, s: &str) -> SqlError {
    data_error(
        SqlState::InvalidTextRepresentation,
        format!("invalid input syntax for type {}: \"{s}\"", ty.name()),
    )
}

fn out_of_range(ty: SqlType) -> SqlError {
    data_error(SqlState::NumericValueOutOfRange, format!("{} out of range", ty.name()))
}

/// Checks an integer fits the type.
fn check_int(ty: SqlType, i: i64) -> Result<Value, SqlError> {
    let ok = match ty {
        SqlType::Int2 => i16::try_from(i).is_ok(),
        SqlType::Int4 => i32::try_from(i).is_ok(),
        SqlType::Oid => u32::try_from(i).is_ok(),
        _ => true,
    };
    if ok { Ok(Value::Int(i)) } else { Err(out_of_range(ty)) }
}

/// Parses text input (a literal, a text-format parameter, a COPY field) as a value of `ty`.
pub fn parse_text(s: &str, ty: SqlType) -> Result<Value, SqlError> {
    let t = s.trim();
    match ty {
        SqlType::Array(elem) if array::vector_name(elem).is_some() => {
            array::parse_vector_text(s, *elem)
        }
        SqlType::Array(elem) => array::parse_array_text(s, *elem),
        SqlType::Bool => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "yes" | "y" | "on" | "1" => Ok(Value::Bool(true)),
            "f" | "false" | "no" | "n" | "off" | "0" => Ok(Value::Bool(false)),
            _ => Err(invalid_text(ty, s)),
        },
        SqlType::Int2 | SqlType::Int4 | SqlType::Int8 | SqlType::Oid => match t.parse::<i64>() {
            Ok(i) => check_int(ty, i),
            Err(e)
                if matches!(
                    e.kind(),
                    std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
                ) =>
            {
                Err(out_of_range(ty))
            }
            Err(_) => Err(invalid_text(ty, s)),
        },
        SqlType::Float4 | SqlType::Float8 => match t.to_ascii_lowercase().as_str() {
            "nan" => Ok(Value::Float(f64::NAN)),
            "infinity" | "inf" => Ok(Value::Float(f64::INFINITY)),
            "-infinity" | "-inf" => Ok(Value::Float(f64::NEG_INFINITY)),
            _ => t.parse::<f64>().map(Value::Float).map_err(|_| invalid_text(ty, s)),
        },
        SqlType::Numeric(modifier) => Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map_err(|_| invalid_text(ty, s))
            .and_then(|d| fit_numeric(d, modifier)),
        SqlType::Text | SqlType::Unknown => Ok(Value::Text(s.to_string())),
        SqlType::Json => json::validate(s).map(|()| Value::Text(s.to_string())),
        SqlType::Jsonb => json::normalize(s).map(Value::Text),
        SqlType::Varchar(_) | SqlType::Char(_) => fit_text(s.to_string(), ty, false),
        SqlType::Uuid => parse_uuid(t).map(Value::Text).ok_or_else(|| invalid_text(ty, s)),
        SqlType::Bytea => parse_bytea(s).map(Value::Bytes).ok_or_else(|| invalid_text(ty, s)),
        SqlType::Date => datetime::parse_date(t).map(Value::Int),
        SqlType::Timestamp | SqlType::Timestamptz => {
            datetime::parse_timestamp(t, ty == SqlType::Timestamptz).map(Value::Int)
        }
        SqlType::Interval => datetime::parse_interval(t).map(Value::Interval),
        SqlType::Time(p) => datetime::parse_time(t).map(|m| Value::Int(datetime::round_time(m, p))),
        // an enum label is taken as written, spaces included
        SqlType::Enum(e) => e.value_of(s),
    }
}

/// Applies varchar(n) / char(n) length rules. Explicit casts truncate; assignments error.
pub fn fit_text(s: String, ty: SqlType, explicit: bool) -> Result<Value, SqlError> {
    match ty {
        SqlType::Varchar(Some(n)) | SqlType::Char(n) if s.chars().count() > n as usize => {
            let trimmed_fits = s.trim_end_matches(' ').chars().count() <= n as usize;
            if explicit || trimmed_fits {
                Ok(Value::Text(s.chars().take(n as usize).collect()))
            } else {
                Err(data_error(
                    SqlState::StringDataRightTruncation,
                    format!("value too long for type {}", ty.name()),
                ))
            }
        }
        SqlType::Char(n) => {
            // padded in place, a run of spaces at a time (COPY pads every row of a char(n))
            const SPACES: &str = "                                                                ";
            let mut pad = n as usize - s.chars().count().min(n as usize);
            let mut s = s;
            s.reserve_exact(pad);
            while pad > 0 {
                let run = pad.min(SPACES.len());
                s.push_str(&SPACES[..run]);
                pad -= run;
            }
            Ok(Value::Text(s))
        }
        _ => Ok(Value::Text(s)),
    }
}

fn parse_uuid(s: &str) -> Option<String> {
    let s = s.trim_start_matches('{').trim_end_matches('}');
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let h = hex.to_ascii_lowercase();
    Some(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn parse_bytea(s: &str) -> Option<Vec<u8>> {
    if let Some(hex) = s.strip_prefix("\\x") {
        if hex.len() % 2 != 0 {
            return None;
        }
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
    } else {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'\\' {
                if bytes.get(i + 1) == Some(&b'\\') {
                    out.push(b'\\');
                    i += 2;
                } else {
                    let oct = std::str::from_utf8(bytes.get(i + 1..i + 4)?).ok()?;
                    out.push(u8::from_str_radix(oct, 8).ok()?);
                    i += 4;
                }
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        Some(out)
    }
}

/// Formats a value in PostgreSQL's text output format.
pub fn format_text(v: &Value, ty: SqlType) -> Option<String> {
    Some(match (v, ty) {
        (Value::Null, _) => return None,
        (Value::Array(a), SqlType::Array(elem)) if array::vector_name(elem).is_some() => {
            array::format_vector_text(a)
        }
        (Value::Array(a), SqlType::Array(elem)) => array::format_array_text(a, *elem),
        (Value::Array(a), _) => array::format_array_text(a, SqlType::Text),
        (Value::Bool(b), _) => if *b { "t" } else { "f" }.to_string(),
        (Value::Int(d), SqlType::Date) => datetime::format_date(*d),
        (Value::Int(m), SqlType::Timestamp) => datetime::format_timestamp(*m, false),
        (Value::Int(m), SqlType::Timestamptz) => datetime::format_timestamp(*m, true),
        (Value::Int(m), SqlType::Time(_)) => datetime::format_time(*m),
        (Value::Interval(iv), _) => datetime::format_interval(iv),
        (Value::Enum(sort), SqlType::Enum(e)) => match e.label_of(*sort) {
            Some(label) => label.to_string(),
            None => sort.to_string(),
        },
        (Value::Enum(sort), _) => sort.to_string(),
        (Value::Int(i), _) => i.to_string(),
        (Value::Float(f), _) => format_float(*f, ty == SqlType::Float4),
        (Value::Numeric(d), _) => d.to_string(),
        (Value::Text(s), _) => s.clone(),
        (Value::Bytes(b), _) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
    })
}

/// A float as PostgreSQL writes it: the shortest digits that read back exactly, in fixed
/// point when the decimal exponent is from -4 to 14 (to 5 for a real), otherwise in
/// exponential notation with at least two exponent digits (`1e+16`, `1.5e-05`).
fn format_float(f: f64, single: bool) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let (exponential, fixed, limit) = if single {
        (format!("{:e}", f as f32), format!("{}", f as f32), 6)
    } else {
        (format!("{f:e}"), format!("{f}"), 15)
    };
    let Some((mantissa, exp)) = exponential.split_once('e') else { return fixed };
    match exp.parse::<i32>() {
        Ok(exp) if !(-4..limit).contains(&exp) => {
            format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
        }
        _ => fixed,
    }
}

/// Encodes a non-NULL value in the binary wire format of `ty`.
pub fn encode_binary(v: &Value, ty: SqlType, out: &mut Vec<u8>) {
    match (v, ty) {
        (Value::Array(a), SqlType::Array(elem)) => array::encode_array_binary(a, *elem, out),
        (Value::Array(a), _) => array::encode_array_binary(a, SqlType::Text, out),
        (Value::Bool(b), _) => out.push(*b as u8),
        (Value::Int(i), SqlType::Int2) => out.extend_from_slice(&(*i as i16).to_be_bytes()),
        (Value::Int(i), SqlType::Int4) => out.extend_from_slice(&(*i as i32).to_be_bytes()),
        (Value::Int(i), SqlType::Oid) => out.extend_from_slice(&(*i as u32).to_be_bytes()),
        (Value::Int(d), SqlType::Date) => {
            out.extend_from_slice(&((*d - EPOCH_2000_DAYS) as i32).to_be_bytes())
        }
        (Value::Int(m), SqlType::Timestamp | SqlType::Timestamptz) => {
            out.extend_from_slice(&(*m - EPOCH_2000_MICROS).to_be_bytes())
        }
        (Value::Int(m), SqlType::Time(_)) => out.extend_from_slice(&m.to_be_bytes()),
        (Value::Int(i), _) => out.extend_from_slice(&i.to_be_bytes()),
        (Value::Float(f), SqlType::Float4) => out.extend_from_slice(&(*f as f32).to_be_bytes()),
        (Value::Float(f), _) => out.extend_from_slice(&f.to_be_bytes()),
        (Value::Numeric(d), _) => encode_numeric(*d, out),
        (Value::Text(s), SqlType::Uuid) => {
            let hex: String = s.chars().filter(|c| *c != '-').collect();
            for i in (0..32).step_by(2) {
                out.push(u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0));
            }
        }
        (Value::Text(s), SqlType::Jsonb) => {
            out.push(1);
            out.extend_from_slice(s.as_bytes());
        }
        (Value::Text(s), _) => out.extend_from_slice(s.as_bytes()),
        (Value::Bytes(b), _) => out.extend_from_slice(b),
        // an enum's binary form is its label's text
        (Value::Enum(_), _) => {
            out.extend_from_slice(format_text(v, ty).unwrap_or_default().as_bytes())
        }
        (Value::Interval(iv), _) => {
            out.extend_from_slice(&iv.micros.to_be_bytes());
            out.extend_from_slice(&iv.days.to_be_bytes());
            out.extend_from_slice(&iv.months.to_be_bytes());
        }
        (Value::Null, _) => {}
    }
}

/// PostgreSQL's binary numeric: ndigits, weight, sign, dscale, then base-10000 digits.
fn encode_numeric(d: Decimal, out: &mut Vec<u8>) {
    let scale = d.scale() as i64;
    let negative = d.is_sign_negative() && !d.is_zero();
    let mut digits_str = d.abs().mantissa().to_string();
    // integer part and fraction part as decimal digit strings
    while (digits_str.len() as i64) <= scale {
        digits_str.insert(0, '0');
    }
    let split = digits_str.len() - scale as usize;
    let (int_part, frac_part) = digits_str.split_at(split);
    let int_part = int_part.trim_start_matches('0');
    let mut groups: Vec<i16> = Vec::new();
    let pad_int = (4 - int_part.len() % 4) % 4;
    let int_padded = format!("{}{}", "0".repeat(pad_int), int_part);
    for chunk in int_padded.as_bytes().chunks(4) {
        groups.push(std::str::from_utf8(chunk).unwrap_or("0").parse().unwrap_or(0));
    }
    let weight = groups.len() as i16 - 1;
    let pad_frac = (4 - frac_part.len() % 4) % 4;
    let frac_padded = format!("{}{}", frac_part, "0".repeat(pad_frac));
    for chunk in frac_padded.as_bytes().chunks(4) {
        groups.push(std::str::from_utf8(chunk).unwrap_or("0").parse().unwrap_or(0));
    }
    // strip leading zero groups (adjusting weight) and trailing zero groups
    let mut weight = weight;
    let mut start = 0;
    while start < groups.len() && groups[start] == 0 {
        start += 1;
        weight -= 1;
    }
    let mut end = groups.len();
    while end > start && groups[end - 1] == 0 {
        end -= 1;
    }
    let groups = &groups[start..end];
    if groups.is_empty() {
        weight = 0;
    }
    out.extend_from_slice(&(groups.len() as i16).to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    out.extend_from_slice(&(scale as i16).to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

fn decode_numeric(b: &[u8]) -> Option<Decimal> {
    let rd = |i: usize| -> Option<i16> { Some(i16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?])) };
    let ndigits = rd(0)? as usize;
    let weight = rd(2)? as i32;
    let sign = rd(4)? as u16;
    let dscale = rd(6)? as u32;
    if sign == 0xC000 {
        return None; // NaN
    }
    let mut value = Decimal::ZERO;
    for i in 0..ndigits {
        let digit = Decimal::from(rd(8 + 2 * i)?);
        let power = weight - i as i32;
        let mut factor = Decimal::ONE;
        for _ in 0..power.unsigned_abs() {
            factor = if power >= 0 {
                factor.checked_mul(Decimal::from(10_000i64))?
            } else {
                factor.checked_div(Decimal::from(10_000i64))?
            };
        }
        value = value.checked_add(digit.checked_mul(factor)?)?;
    }
    value.rescale(dscale);
    if sign == 0x4000 {
        value.set_sign_negative(true);
    }
    Some(value)
}

/// Decodes a binary-format parameter of `ty`.
pub fn decode_binary(b: &[u8], ty: SqlType) -> Result<Value, SqlError> {
    let bad = || {
        data_error(
            SqlState::InvalidBinaryRepresentation,
            format!("incorrect binary data format for type {}", ty.name()),
        )
    };
    let fixed =
        |n: usize| -> Result<&[u8], SqlError> { if b.len() == n { Ok(b) } else { Err(bad()) } };
    Ok(match ty {
        SqlType::Array(elem) => array::decode_array_binary(b, *elem)?,
        SqlType::Enum(e) => e.value_of(std::str::from_utf8(b).map_err(|_| bad())?)?,
        SqlType::Bool => Value::Bool(fixed(1)?[0] != 0),
        SqlType::Int2 => {
            Value::Int(i16::from_be_bytes(fixed(2)?.try_into().map_err(|_| bad())?) as i64)
        }
        SqlType::Int4 => {
            Value::Int(i32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?) as i64)
        }
        SqlType::Int8 => Value::Int(i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?)),
        SqlType::Oid => {
            Value::Int(u32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?) as i64)
        }
        SqlType::Float4 => {
            Value::Float(f32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?) as f64)
        }
        SqlType::Float8 => {
            Value::Float(f64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?))
        }
        SqlType::Numeric(m) => fit_numeric(decode_numeric(b).ok_or_else(bad)?, m)?,
        SqlType::Date => {
            let d = i32::from_be_bytes(fixed(4)?.try_into().map_err(|_| bad())?) as i64;
            Value::Int(d + EPOCH_2000_DAYS)
        }
        SqlType::Timestamp | SqlType::Timestamptz => {
            let m = i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?);
            Value::Int(m + EPOCH_2000_MICROS)
        }
        SqlType::Time(p) => {
            let m = i64::from_be_bytes(fixed(8)?.try_into().map_err(|_| bad())?);
            if !(0..=datetime::MICROS_PER_DAY).contains(&m) {
                return Err(bad());
            }
            Value::Int(datetime::round_time(m, p))
        }
        SqlType::Interval => {
            let b = fixed(16)?;
            let word = |i: usize| b.get(i..i + 4).and_then(|w| w.try_into().ok());
            Value::Interval(crate::types::Interval {
                micros: i64::from_be_bytes(b[..8].try_into().map_err(|_| bad())?),
                days: i32::from_be_bytes(word(8).ok_or_else(bad)?),
                months: i32::from_be_bytes(word(12).ok_or_else(bad)?),
            })
        }
        SqlType::Uuid => {
            let bytes = fixed(16)?;
            let hex: String = bytes.iter().map(|x| format!("{x:02x}")).collect();
            Value::Text(parse_uuid(&hex).ok_or_else(bad)?)
        }
        SqlType::Bytea => Value::Bytes(b.to_vec()),
        SqlType::Jsonb => {
            let body = b.strip_prefix(&[1u8]).ok_or_else(bad)?;
            Value::Text(json::normalize(std::str::from_utf8(body).map_err(|_| bad())?)?)
        }
        SqlType::Text
        | SqlType::Unknown
        | SqlType::Varchar(_)
        | SqlType::Char(_)
        | SqlType::Json => {
            let s = String::from_utf8(b.to_vec()).map_err(|_| {
                data_error(
                    SqlState::CharacterNotInRepertoire,
                    "invalid byte sequence for encoding \"UTF8\"".into(),
                )
            })?;
            if ty == SqlType::Json {
                json::validate(&s)?;
            }
            fit_text(s, ty, false)?
        }
    })
}

/// Parses the `(p, s)` of `numeric(p, s)` (`numeric(p)` is scale 0), as PostgreSQL bounds them.
fn numeric_modifier(args: &str, name: &str) -> Result<Option<(u32, u32)>, SqlError> {
    if args.trim().is_empty() {
        return Ok(None);
    }
    let bad = || {
        SqlError::new(SqlState::InvalidParameterValue, format!("invalid type modifier in {name}"))
    };
    let mut parts = args.split(',').map(|p| p.trim().parse::<u32>().map_err(|_| bad()));
    let precision = parts.next().ok_or_else(bad)??;
    let scale = parts.next().transpose()?.unwrap_or(0);
    if parts.next().is_some() {
        return Err(bad());
    }
    if !(1..=1000).contains(&precision) {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!("NUMERIC precision {precision} must be between 1 and 1000"),
        ));
    }
    if scale > precision || scale > 28 {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            format!(
                "NUMERIC scale {scale} must be between 0 and precision {precision} (and at most 28 here)"
            ),
        ));
    }
    Ok(Some((precision, scale)))
}

/// Rounds to a `numeric(p, s)` column's scale (half away from zero, as PostgreSQL) and checks
/// the digits before the point fit `p - s`.
pub fn fit_numeric(d: Decimal, modifier: Option<(u32, u32)>) -> Result<Value, SqlError> {
    let Some((precision, scale)) = modifier else { return Ok(Value::Numeric(d)) };
    let mut r =
        d.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    let integral_digits = r.trunc().abs().to_string().trim_start_matches('0').len() as u32;
    if integral_digits > precision - scale {
        return Err(data_error(
            SqlState::NumericValueOutOfRange,
            format!(
                "numeric field overflow: a field with precision {precision}, scale {scale} must round to an absolute value less than 10^{}",
                precision - scale
            ),
        ));
    }
    Ok(Value::Numeric(r))
}

/// Converts a value of type `from` to type `to` (`CAST`, `::`, assignment). `explicit` is true
/// for casts written by the user (they truncate varchar; assignments error).
pub fn cast(v: Value, from: SqlType, to: SqlType, explicit: bool) -> Result<Value, SqlError> {
    if v == Value::Null {
        return Ok(Value::Null);
    }
    if from == to && !matches!(to, SqlType::Varchar(Some(_)) | SqlType::Char(_)) {
        return Ok(v);
    }
    let cannot = || {
        data_error(
            SqlState::CannotCoerce,
            format!("cannot cast type {} to {}", from.name(), to.name()),
        )
    };
    // an enum converts only to and from the string types (and to itself, above)
    if matches!(from, SqlType::Enum(_)) && !to.is_string() && to != SqlType::Unknown
        || matches!(to, SqlType::Enum(_)) && !from.is_string() && from != SqlType::Unknown
    {
        return Err(cannot());
    }
    match (v, to) {
        (Value::Array(a), SqlType::Array(elem)) => {
            let from_elem = match from {
                SqlType::Array(e) => *e,
                _ => SqlType::Text,
            };
            array::cast_elements(a, from_elem, *elem, explicit)
        }
        (Value::Array(_), to)
            if !matches!(
                to,
                SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_) | SqlType::Unknown
            ) =>
        {
            Err(cannot())
        }
        // character(n) read as text loses its padding, as PostgreSQL's bpchar does
        (Value::Text(s), SqlType::Text | SqlType::Varchar(_))
            if matches!(from, SqlType::Char(_)) =>
        {
            fit_text(s.trim_end_matches(' ').to_string(), to, explicit)
        }
        (Value::Text(s), to) => {
            if matches!(to, SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_)) {
                fit_text(s, to, explicit)
            } else {
                parse_text(&s, to)
            }
        }
        // `true::text` is `true` (the output format's `t` is not the cast's)
        (
            Value::Bool(b),
            SqlType::Text | SqlType::Unknown | SqlType::Varchar(_) | SqlType::Char(_),
        ) => fit_text(b.to_string(), to, explicit),
        (v, SqlType::Text | SqlType::Unknown | SqlType::Varchar(_) | SqlType::Char(_)) => {
            let s = format_text(&v, from).unwrap_or_default();
            fit_text(s, to, explicit)
        }
        (Value::Int(i), SqlType::Int2 | SqlType::Int4 | SqlType::Int8 | SqlType::Oid)
            if from.is_integer() =>
        {
            check_int(to, i)
        }
        (Value::Int(i), SqlType::Float4 | SqlType::Float8) if from.is_integer() => {
            Ok(Value::Float(i as f64))
        }
        (Value::Int(i), SqlType::Numeric(m)) if from.is_integer() => {
            fit_numeric(Decimal::from(i), m)
        }
        (Value::Int(i), SqlType::Bool) if from == SqlType::Int4 => Ok(Value::Bool(i != 0)),
        (Value::Bool(b), t) if t.is_integer() && from == SqlType::Bool => Ok(Value::Int(b as i64)),
        (Value::Float(f), t) if t.is_integer() => {
            let r = f.round_ties_even();
            if r.is_finite() && r >= i64::MIN as f64 && r <= i64::MAX as f64 {
                check_int(t, r as i64)
            } else {
                Err(out_of_range(t))
            }
        }
        (Value::Float(f), SqlType::Float4 | SqlType::Float8) => Ok(Value::Float(f)),
        (Value::Float(f), SqlType::Numeric(m)) => Decimal::try_from(f)
            .map_err(|_| {
                data_error(SqlState::NumericValueOutOfRange, "numeric field overflow".into())
            })
            .and_then(|d| fit_numeric(d, m)),
        (Value::Numeric(d), t) if t.is_integer() => {
            let r =
                d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            i64::try_from(r).map_err(|_| out_of_range(t)).and_then(|i| check_int(t, i))
        }
        (Value::Numeric(d), SqlType::Float4 | SqlType::Float8) => {
            Ok(Value::Float(f64::try_from(d).unwrap_or(f64::NAN)))
        }
        (Value::Numeric(d), SqlType::Numeric(m)) => fit_numeric(d, m),
        (Value::Int(d), SqlType::Timestamp | SqlType::Timestamptz) if from == SqlType::Date => {
            Ok(Value::Int(d * 86_400_000_000))
        }
        (Value::Int(m), SqlType::Date)
            if matches!(from, SqlType::Timestamp | SqlType::Timestamptz) =>
        {
            Ok(Value::Int(m.div_euclid(86_400_000_000)))
        }
        (Value::Int(m), SqlType::Timestamp | SqlType::Timestamptz)
            if matches!(from, SqlType::Timestamp | SqlType::Timestamptz) =>
        {
            Ok(Value::Int(m))
        }
        (Value::Bytes(b), SqlType::Bytea) => Ok(Value::Bytes(b)),
        // the time of day of a timestamp (UTC, the session's zone)
        (Value::Int(m), SqlType::Time(p))
            if matches!(from, SqlType::Timestamp | SqlType::Timestamptz) =>
        {
            Ok(Value::Int(datetime::round_time(m.rem_euclid(datetime::MICROS_PER_DAY), p)))
        }
        (Value::Int(m), SqlType::Time(p)) if matches!(from, SqlType::Time(_)) => {
            Ok(Value::Int(datetime::round_time(m, p)))
        }
        (Value::Int(m), SqlType::Interval) if matches!(from, SqlType::Time(_)) => {
            Ok(Value::Interval(crate::types::Interval { months: 0, days: 0, micros: m }))
        }
        // an interval's time part, within a day
        (Value::Interval(iv), SqlType::Time(p)) => {
            Ok(Value::Int(datetime::round_time(iv.micros.rem_euclid(datetime::MICROS_PER_DAY), p)))
        }
        _ => Err(cannot()),
    }
}

/// Microseconds since the Unix epoch, now.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// Parses a numeric literal: integer types when it fits, else numeric.
pub fn number_literal(s: &str) -> Result<(Value, SqlType), SqlError> {
    if let Ok(i) = s.parse::<i64>() {
        let ty = if i32::try_from(i).is_ok() { SqlType::Int4 } else { SqlType::Int8 };
        return Ok((Value::Int(i), ty));
    }
    parse_text(s, SqlType::Numeric(None)).map(|v| (v, SqlType::Numeric(None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_binary_round_trips() {
        for s in ["0", "1", "-1", "12345.678", "0.0001", "100000000", "-0.5", "99999999.99"] {
            let d = Decimal::from_str(s).unwrap();
            let mut out = Vec::new();
            encode_numeric(d, &mut out);
            assert_eq!(decode_numeric(&out), Some(d), "{s}");
        }
    }

    #[test]
    fn numeric_precision_and_scale_round_and_bound_as_postgres() {
        let ty = SqlType::parse("numeric(5, 2)").unwrap().0;
        assert_eq!(ty, SqlType::Numeric(Some((5, 2))));
        assert_eq!(ty.name(), "numeric(5,2)");
        let text = |v: &str| format_text(&parse_text(v, ty).unwrap(), ty).unwrap();
        assert_eq!(text("3.14159"), "3.14");
        assert_eq!(text("1.005"), "1.01");
        assert_eq!(text("-1.005"), "-1.01");
        assert_eq!(text("7"), "7.00");
        assert_eq!(text("999.99"), "999.99");
        assert_eq!(parse_text("999.995", ty).unwrap_err().code, "22003");
        assert_eq!(parse_text("12345.6", ty).unwrap_err().code, "22003");
        assert_eq!(cast(Value::Int(1000), SqlType::Int4, ty, false).unwrap_err().code, "22003");
        assert_eq!(
            cast(Value::Float(2.5), SqlType::Float8, SqlType::Numeric(Some((3, 0))), true),
            Ok(Value::Numeric(Decimal::from(3)))
        );
        assert_eq!(SqlType::parse("numeric(0)").unwrap_err().code, "22023");
        assert_eq!(SqlType::parse("numeric(2,3)").unwrap_err().code, "22023");
        assert_eq!(SqlType::parse("numeric(4)").unwrap().0, SqlType::Numeric(Some((4, 0))));
    }

    #[test]
    fn type_names_parse() {
        assert_eq!(SqlType::parse("VARCHAR(10)").unwrap(), (SqlType::Varchar(Some(10)), false));
        assert_eq!(SqlType::parse("serial").unwrap(), (SqlType::Int4, true));
        assert_eq!(SqlType::parse("TIMESTAMP WITH TIME ZONE").unwrap().0, SqlType::Timestamptz);
        assert_eq!(SqlType::parse("pg_catalog.int8").unwrap().0, SqlType::Int8);
        assert!(SqlType::parse("geometry").is_err());
    }

    #[test]
    fn text_round_trips() {
        let ts = parse_text("2024-02-29 12:34:56.5", SqlType::Timestamp).unwrap();
        assert_eq!(format_text(&ts, SqlType::Timestamp).unwrap(), "2024-02-29 12:34:56.5");
        let d = parse_text("2024-02-29", SqlType::Date).unwrap();
        assert_eq!(format_text(&d, SqlType::Date).unwrap(), "2024-02-29");
        assert!(parse_text("70000", SqlType::Int2).is_err());
        assert_eq!(parse_text("abc", SqlType::Varchar(Some(2))).unwrap_err().code, "22001");
    }
}
