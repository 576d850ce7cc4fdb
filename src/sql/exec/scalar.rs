//! Evaluation of the built-in scalar functions of `plan/scalar.rs` ([`Func::Scalar`]), given
//! their evaluated arguments, with PostgreSQL 15's results and errors: the string functions
//! here, the date-time formatting in `exec/datetime_format.rs`, the jsonb semantics in
//! `types/json.rs`.
//!
//! Invariants: every function is strict (NULL in, NULL out) except `concat_ws`, `format`,
//! `quote_nullable`, `jsonb_build_object`, `jsonb_build_array` and `to_jsonb`, which read a
//! NULL as PostgreSQL does; nothing panics on any argument; a result too large to build is
//! 54000 rather than an allocation failure.
//!
//! [`Func::Scalar`]: crate::sql::plan::Func::Scalar

use chrono::Datelike;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::datetime_format;
use crate::sql::plan::BExpr;
use crate::sql::plan::scalar::ScalarFn;
use crate::sql::types::datetime as dt;
use crate::sql::types::{SqlType, format_text, json};
use crate::types::{Interval, Value};

/// The longest string a function builds (PostgreSQL's limit is 1 GB).
const MAX_STRING_BYTES: usize = 256 << 20;

fn too_large() -> SqlError {
    SqlError::new(SqlState::ProgramLimitExceeded, "requested length too large")
}

fn invalid(message: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::InvalidParameterValue, message)
}

/// The value of `func` over `vals` (the evaluated `args`).
pub fn eval(func: ScalarFn, args: &[BExpr], vals: &[Value]) -> Result<Value, SqlError> {
    let lenient = matches!(
        func,
        ScalarFn::ConcatWs
            | ScalarFn::Format
            | ScalarFn::QuoteNullable
            | ScalarFn::JsonbBuildObject
            | ScalarFn::JsonbBuildArray
            | ScalarFn::ToJsonb
    );
    if !lenient && vals.contains(&Value::Null) {
        return Ok(Value::Null);
    }
    let text = |i: usize| -> String {
        vals.get(i).and_then(|v| format_text(v, args[i].ty())).unwrap_or_default()
    };
    let int = |i: usize| -> i64 { vals.get(i).and_then(Value::as_int).unwrap_or(0) };
    let chars = |i: usize| -> Vec<char> { text(i).chars().collect() };
    let interval = |i: usize| -> Interval {
        match vals.get(i) {
            Some(Value::Interval(iv)) => *iv,
            _ => Interval::default(),
        }
    };
    Ok(match func {
        ScalarFn::SplitPart => split_part(&text(0), &text(1), int(2))?,
        ScalarFn::Left | ScalarFn::Right => {
            let s = chars(0);
            let n = int(1);
            let len = s.len() as i64;
            let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
            let out: String = if func == ScalarFn::Left {
                s[..keep].iter().collect()
            } else {
                s[s.len() - keep..].iter().collect()
            };
            Value::Text(out)
        }
        ScalarFn::Lpad | ScalarFn::Rpad => {
            let s = chars(0);
            let len = int(1).max(0) as usize;
            if len.saturating_mul(4) > MAX_STRING_BYTES {
                return Err(too_large());
            }
            let fill: Vec<char> = if vals.len() > 2 { chars(2) } else { vec![' '] };
            if s.len() >= len || fill.is_empty() {
                return Ok(Value::Text(s[..len.min(s.len())].iter().collect()));
            }
            let padding: String = fill.iter().cycle().take(len - s.len()).collect();
            let s: String = s.into_iter().collect();
            Value::Text(if func == ScalarFn::Lpad { padding + &s } else { s + &padding })
        }
        ScalarFn::Repeat => {
            let s = text(0);
            let n = int(1).max(0) as usize;
            if s.len().saturating_mul(n) > MAX_STRING_BYTES {
                return Err(too_large());
            }
            Value::Text(s.repeat(n))
        }
        ScalarFn::Reverse => Value::Text(text(0).chars().rev().collect()),
        ScalarFn::Initcap => Value::Text(initcap(&text(0))),
        ScalarFn::Strpos => {
            let (s, sub) = (text(0), text(1));
            Value::Int(s.find(&sub).map_or(0, |at| s[..at].chars().count() as i64 + 1))
        }
        ScalarFn::OctetLength => match &vals[0] {
            Value::Bytes(b) => Value::Int(b.len() as i64),
            _ => Value::Int(text(0).len() as i64),
        },
        ScalarFn::ConcatWs => {
            let Some(sep) = vals.first().and_then(|v| format_text(v, args[0].ty())) else {
                return Ok(Value::Null);
            };
            let parts: Vec<String> =
                (1..vals.len()).filter_map(|i| format_text(&vals[i], args[i].ty())).collect();
            Value::Text(parts.join(&sep))
        }
        ScalarFn::Md5 => Value::Text(format!("{:x}", md5::compute(text(0).as_bytes()))),
        ScalarFn::Translate => {
            let (from, to) = (chars(1), chars(2));
            let out = text(0)
                .chars()
                .filter_map(|c| match from.iter().position(|f| *f == c) {
                    Some(i) => to.get(i).copied(),
                    None => Some(c),
                })
                .collect();
            Value::Text(out)
        }
        ScalarFn::StartsWith => Value::Bool(text(0).starts_with(&text(1))),
        ScalarFn::Chr => {
            let n = int(0);
            if n == 0 {
                return Err(SqlError::new(
                    SqlState::ProgramLimitExceeded,
                    "null character not permitted",
                ));
            }
            if n < 0 {
                return Err(invalid("character number must be positive"));
            }
            let c = u32::try_from(n).ok().and_then(char::from_u32).ok_or_else(|| {
                SqlError::new(
                    SqlState::ProgramLimitExceeded,
                    "requested character too large for encoding",
                )
            })?;
            Value::Text(c.to_string())
        }
        ScalarFn::Ascii => {
            Value::Int(text(0).chars().next().map_or(0, |c| i64::from(u32::from(c))))
        }
        ScalarFn::Format => format(args, vals)?,
        ScalarFn::QuoteNullable => match vals.first() {
            Some(Value::Null) | None => Value::Text("NULL".into()),
            Some(_) => Value::Text(quote_literal(&text(0))),
        },
        ScalarFn::Sqrt
        | ScalarFn::Exp
        | ScalarFn::Ln
        | ScalarFn::Log10
        | ScalarFn::Power
        | ScalarFn::Pi
        | ScalarFn::Degrees
        | ScalarFn::Radians
        | ScalarFn::Sign => {
            let floats: Vec<f64> =
                vals.iter().map(|v| if let Value::Float(f) = v { *f } else { 0.0 }).collect();
            Value::Float(crate::sql::exec::math::eval(func, &floats)?)
        }
        ScalarFn::Gcd | ScalarFn::Lcm | ScalarFn::Div => {
            crate::sql::exec::math::exact(func, &vals[0], &vals[1], args[0].ty())?
        }
        ScalarFn::PgSleep => {
            let secs = match vals[0] {
                Value::Float(f) if f.is_finite() && f > 0.0 => f.min(1e9),
                _ => 0.0,
            };
            std::thread::sleep(std::time::Duration::from_secs_f64(secs));
            Value::Text(String::new())
        }
        ScalarFn::PgTypeof => Value::Text(args.first().map(|a| a.ty().name()).unwrap_or_default()),
        ScalarFn::MakeDate => make_date(int(0), int(1), int(2))?,
        ScalarFn::MakeInterval => {
            let secs = match vals.get(6) {
                Some(Value::Float(f)) => *f,
                _ => 0.0,
            };
            let months = int(0).checked_mul(12).and_then(|y| y.checked_add(int(1)));
            let days = int(2).checked_mul(7).and_then(|w| w.checked_add(int(3)));
            let micros = (int(4) as f64 * 3.6e9 + int(5) as f64 * 6e7 + secs * 1e6).round();
            match (
                months.and_then(|m| i32::try_from(m).ok()),
                days.and_then(|d| i32::try_from(d).ok()),
            ) {
                (Some(months), Some(days)) if micros.is_finite() && micros.abs() < 9.2e18 => {
                    Value::Interval(Interval { months, days, micros: micros as i64 })
                }
                _ => {
                    return Err(SqlError::new(
                        SqlState::DatetimeFieldOverflow,
                        "interval out of range",
                    ));
                }
            }
        }
        ScalarFn::ToChar => datetime_format::to_char(&vals[0], args[0].ty(), &text(1))?,
        ScalarFn::ToDate => Value::Int(
            datetime_format::to_timestamp(&text(0), &text(1))?.div_euclid(dt::MICROS_PER_DAY),
        ),
        ScalarFn::ToTimestamp => Value::Int(datetime_format::to_timestamp(&text(0), &text(1))?),
        ScalarFn::ToTimestampEpoch => {
            let secs = match vals[0] {
                Value::Float(f) => f,
                _ => 0.0,
            };
            if secs.is_nan() {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    "timestamp cannot be NaN",
                ));
            }
            let micros = (secs * 1e6).round();
            if !micros.is_finite()
                || micros.abs() > 9.2e18
                || dt::datetime_of(micros as i64).is_none()
            {
                return Err(SqlError::new(
                    SqlState::DatetimeFieldOverflow,
                    "timestamp out of range",
                ));
            }
            Value::Int(micros as i64)
        }
        ScalarFn::Age => {
            let micros = |i: usize| match (&vals[i], args[i].ty()) {
                (Value::Int(d), SqlType::Date) => d.saturating_mul(dt::MICROS_PER_DAY),
                (Value::Int(m), _) => *m,
                _ => 0,
            };
            Value::Interval(age(micros(0), micros(1))?)
        }
        ScalarFn::JustifyDays => Value::Interval(justify(interval(0), false, true)),
        ScalarFn::JustifyHours => Value::Interval(justify(interval(0), true, false)),
        ScalarFn::JustifyInterval => Value::Interval(justify(interval(0), true, true)),
        ScalarFn::JsonbBuildObject => {
            if !vals.len().is_multiple_of(2) {
                return Err(invalid("argument list must have even number of elements"));
            }
            let mut pairs = Vec::with_capacity(vals.len() / 2);
            for i in (0..vals.len()).step_by(2) {
                let key = format_text(&vals[i], args[i].ty())
                    .ok_or_else(|| invalid(format!("argument {}: key must not be null", i + 1)))?;
                pairs.push((key, json::from_value(&vals[i + 1], args[i + 1].ty())?));
            }
            Value::Text(json::build_object(&pairs)?)
        }
        ScalarFn::JsonbBuildArray => {
            let mut items = Vec::with_capacity(vals.len());
            for (v, a) in vals.iter().zip(args) {
                items.push(json::from_value(v, a.ty())?);
            }
            Value::Text(json::build_array(&items)?)
        }
        ScalarFn::ToJsonb => match vals.first() {
            Some(Value::Null) | None => Value::Null,
            Some(v) => Value::Text(json::normalize(&json::from_value(v, args[0].ty())?)?),
        },
        ScalarFn::JsonbTypeof => Value::Text(json::type_of(&text(0))?.into()),
        ScalarFn::JsonbArrayLength => Value::Int(json::array_length(&text(0))?),
        ScalarFn::JsonbElements { text: as_text } => {
            let items = json::elements(&text(0), as_text)?;
            Value::Array(items.into_iter().map(|i| i.map_or(Value::Null, Value::Text)).collect())
        }
        ScalarFn::JsonbKeys => Value::Array(
            json::members_of(&text(0), "jsonb_object_keys", false)?
                .into_iter()
                .map(|(k, _)| Value::Text(k))
                .collect(),
        ),
        ScalarFn::JsonbValues { text: as_text } => Value::Array(
            json::members_of(&text(0), "jsonb_each", as_text)?
                .into_iter()
                .map(|(_, v)| v.map_or(Value::Null, Value::Text))
                .collect(),
        ),
        ScalarFn::JsonbConcat => Value::Text(json::concat(&text(0), &text(1))?),
        ScalarFn::JsonbSet => {
            let create = !matches!(vals.get(3), Some(Value::Bool(false)));
            Value::Text(json::set_path(&text(0), &text_array(&vals[1]), &text(2), create)?)
        }
        ScalarFn::JsonbDeletePath => {
            Value::Text(json::delete_path(&text(0), &text_array(&vals[1]))?)
        }
        ScalarFn::JsonbStripNulls => Value::Text(json::strip_nulls(&text(0))?),
        ScalarFn::JsonbPretty => Value::Text(json::pretty(&text(0))?),
        ScalarFn::JsonbDelete => match &vals[1] {
            Value::Int(i) => Value::Text(json::delete_index(&text(0), *i)?),
            _ => Value::Text(json::delete_key(&text(0), &text(1))?),
        },
    })
}

/// A `text[]` path's steps (a NULL step reads as an empty key).
fn text_array(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Text(s) => s.clone(),
                _ => String::new(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `split_part(s, delimiter, n)`: the `n`th field (from the end when negative).
fn split_part(s: &str, delimiter: &str, n: i64) -> Result<Value, SqlError> {
    if n == 0 {
        return Err(invalid("field position must not be zero"));
    }
    let fields: Vec<&str> =
        if delimiter.is_empty() { vec![s] } else { s.split(delimiter).collect() };
    let index = if n > 0 { n - 1 } else { fields.len() as i64 + n };
    Ok(Value::Text(
        usize::try_from(index).ok().and_then(|i| fields.get(i)).map_or("", |f| f).to_string(),
    ))
}

/// `initcap(s)`: each run of letters and digits with its first letter upper case, the rest
/// lower case.
fn initcap(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_word = false;
    for c in s.chars() {
        if in_word {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        in_word = c.is_alphanumeric();
    }
    out
}

/// `quote_literal(s)`, as the catalog's deparser writes literals.
pub use crate::sql::pg_catalog::deparse::quote_literal;

/// The keywords an identifier must be quoted to be (PostgreSQL's reserved, column-name and
/// type-or-function-name keywords).
const KEYWORDS: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// `quote_ident(s)`: double-quoted unless it is a lower-case identifier and no keyword.
pub fn quote_ident(s: &str) -> String {
    let plain = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !KEYWORDS.contains(&s);
    if plain { s.to_string() } else { format!("\"{}\"", s.replace('"', "\"\"")) }
}

/// `format(fmt, args...)`: `%s`, `%I`, `%L`, `%%`, with `n$` positions, `-` and widths.
fn format(args: &[BExpr], vals: &[Value]) -> Result<Value, SqlError> {
    let Some(fmt) = vals.first().and_then(|v| format_text(v, args[0].ty())) else {
        return Ok(Value::Null);
    };
    let arg_text = |i: usize| vals.get(i).and_then(|v| format_text(v, args[i].ty()));
    let too_few = || invalid("too few arguments for format()");
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next_arg = 1;
    let number = |chars: &mut std::iter::Peekable<std::str::Chars>| -> Option<usize> {
        let mut n: Option<usize> = None;
        while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
            n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
            chars.next();
        }
        n
    };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        // %[n$][-][width]type
        let mut position = None;
        let mut left_align = false;
        let mut width = None;
        let first = number(&mut chars);
        if first.is_some() && chars.peek() == Some(&'$') {
            chars.next();
            position = first;
        } else {
            width = first;
        }
        if width.is_none() {
            if chars.peek() == Some(&'-') {
                chars.next();
                left_align = true;
            }
            width = number(&mut chars);
        }
        let kind = chars.next().ok_or_else(|| invalid("unterminated format() type specifier"))?;
        let index = match position {
            Some(0) => {
                return Err(invalid(
                    "format specifies argument 0, but arguments are numbered from 1",
                ));
            }
            Some(p) => p,
            None => next_arg,
        };
        next_arg = index + 1;
        if index >= vals.len() {
            return Err(too_few());
        }
        let piece = match kind {
            's' => arg_text(index).unwrap_or_default(),
            'I' => quote_ident(&arg_text(index).ok_or_else(|| {
                SqlError::new(
                    SqlState::NullValueNotAllowed,
                    "null values cannot be formatted as an SQL identifier",
                )
            })?),
            'L' => arg_text(index).map_or("NULL".to_string(), |s| quote_literal(&s)),
            other => {
                return Err(invalid(format!("unrecognized format() type specifier \"{other}\"")));
            }
        };
        let pad = width.unwrap_or(0).saturating_sub(piece.chars().count());
        if pad > MAX_STRING_BYTES {
            return Err(too_large());
        }
        if left_align {
            out.push_str(&piece);
            out.extend(std::iter::repeat_n(' ', pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&piece);
        }
    }
    Ok(Value::Text(out))
}

/// `make_date(year, month, day)` (a negative year is BC).
fn make_date(y: i64, m: i64, d: i64) -> Result<Value, SqlError> {
    let out_of_range = || {
        SqlError::new(
            SqlState::DatetimeFieldOverflow,
            format!("date field value out of range: {y}-{m:02}-{d:02}"),
        )
    };
    if y == 0 {
        return Err(out_of_range());
    }
    let year = if y < 0 { y + 1 } else { y };
    let date = i32::try_from(year)
        .ok()
        .zip(u32::try_from(m).ok())
        .zip(u32::try_from(d).ok())
        .and_then(|((y, m), d)| chrono::NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(out_of_range)?;
    Ok(Value::Int(dt::days_of(date)))
}

/// `age(a, b)`: `a - b` in years, months and days (PostgreSQL's field-by-field subtraction,
/// a negative field borrowing from the next larger one).
fn age(a: i64, b: i64) -> Result<Interval, SqlError> {
    let (t1, t2) = match (dt::datetime_of(a), dt::datetime_of(b)) {
        (Some(x), Some(y)) => (x, y),
        _ => return Err(dt::timestamp_out_of_range()),
    };
    use chrono::Timelike;
    let frac = |t: &chrono::NaiveDateTime| i64::from(t.nanosecond() / 1000);
    let mut f = [
        frac(&t1) - frac(&t2),
        i64::from(t1.second()) - i64::from(t2.second()),
        i64::from(t1.minute()) - i64::from(t2.minute()),
        i64::from(t1.hour()) - i64::from(t2.hour()),
        i64::from(t1.day()) - i64::from(t2.day()),
        i64::from(t1.month()) - i64::from(t2.month()),
        i64::from(t1.year()) - i64::from(t2.year()),
    ];
    let flip = a < b;
    if flip {
        f.iter_mut().for_each(|x| *x = -*x);
    }
    let limits = [1_000_000, 60, 60, 24];
    for i in 0..4 {
        while f[i] < 0 {
            f[i] += limits[i];
            f[i + 1] -= 1;
        }
    }
    let month_days = |t: &chrono::NaiveDateTime| -> i64 {
        let (y, m) = (t.year(), t.month());
        let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1)
            .and_then(|n| n.pred_opt())
            .map_or(30, |d| i64::from(d.day()))
    };
    while f[4] < 0 {
        f[4] += if flip { month_days(&t1) } else { month_days(&t2) };
        f[5] -= 1;
    }
    while f[5] < 0 {
        f[5] += 12;
        f[6] -= 1;
    }
    if flip {
        f.iter_mut().for_each(|x| *x = -*x);
    }
    let months = i32::try_from(f[6] * 12 + f[5]);
    let days = i32::try_from(f[4]);
    match (months, days) {
        (Ok(months), Ok(days)) => Ok(Interval {
            months,
            days,
            micros: ((f[3] * 60 + f[2]) * 60 + f[1]) * 1_000_000 + f[0],
        }),
        _ => Err(SqlError::new(SqlState::DatetimeFieldOverflow, "interval out of range")),
    }
}

/// `justify_hours` (whole days out of the time), `justify_days` (whole 30-day months out of
/// the days), or both (`justify_interval`), with the signs made to agree as PostgreSQL does.
fn justify(mut iv: Interval, hours: bool, days: bool) -> Interval {
    if hours {
        let whole = iv.micros / dt::MICROS_PER_DAY;
        iv.micros -= whole * dt::MICROS_PER_DAY;
        iv.days = iv.days.saturating_add(whole as i32);
    }
    if days {
        let whole = iv.days / 30;
        iv.days -= whole * 30;
        iv.months = iv.months.saturating_add(whole);
        let time_sign = if hours { iv.micros } else { 0 };
        if iv.months > 0 && (iv.days < 0 || (iv.days == 0 && time_sign < 0)) {
            iv.days += 30;
            iv.months -= 1;
        } else if iv.months < 0 && (iv.days > 0 || (iv.days == 0 && time_sign > 0)) {
            iv.days -= 30;
            iv.months += 1;
        }
    }
    if hours {
        if iv.days > 0 && iv.micros < 0 {
            iv.micros += dt::MICROS_PER_DAY;
            iv.days -= 1;
        } else if iv.days < 0 && iv.micros > 0 {
            iv.micros -= dt::MICROS_PER_DAY;
            iv.days += 1;
        }
    }
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("abc"), "abc");
        assert_eq!(quote_ident("Abc"), "\"Abc\"");
        assert_eq!(quote_ident("select"), "\"select\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn split_parts() {
        let part = |n| split_part("a,b,c", ",", n).unwrap();
        assert_eq!(part(2), Value::Text("b".into()));
        assert_eq!(part(-1), Value::Text("c".into()));
        assert_eq!(part(4), Value::Text("".into()));
        assert!(split_part("a", ",", 0).is_err());
    }
}
