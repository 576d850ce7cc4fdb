//! `to_char`, `to_date` and `to_timestamp(text, format)`: PostgreSQL's formatting templates.
//!
//! Date-time patterns: `YYYY YYY YY Y Y,YYY IYYY MM MON Mon mon MONTH Month month DD DDD D ID
//! DAY Day day DY Dy dy HH HH12 HH24 MI SS SSSS MS US FF1..FF6 AM PM A.M. P.M. (and lower
//! case) Q WW W IW CC J TZ tz OF BC AD RM`, with the `FM` prefix (no padding) and the `TH`
//! suffix (ordinal); text in double quotes and a backslashed character are copied. Numbers:
//! `9 0 . D , G S FM`. What is not listed here is copied as it stands, as PostgreSQL does.
//!
//! Parsing (`to_date`, `to_timestamp`) reads the numeric fields, month names and AM/PM of the
//! same templates; a separator in the template skips one separator of the input. A field
//! missing is 22007, a value out of range 22008.
//!
//! Invariant: nothing panics on any template or input.

use chrono::{Datelike, NaiveDate, Timelike};
use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::types::SqlType;
use crate::sql::types::datetime as dt;
use crate::types::Value;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const ROMAN: [&str; 12] =
    ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

/// The template patterns, longest first where one is a prefix of another.
const PATTERNS: &[&str] = &[
    "A.D.", "A.M.", "AD", "AM", "B.C.", "BC", "CC", "DAY", "DDD", "DD", "DY", "Day", "Dy", "D",
    "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "HH24", "HH12", "HH", "IDDD", "ID", "IW", "IYYY",
    "IYY", "IY", "I", "J", "MI", "MM", "MONTH", "MON", "MS", "Month", "Mon", "OF", "P.M.", "PM",
    "Q", "RM", "SSSSS", "SSSS", "SS", "TZ", "US", "WW", "W", "Y,YYY", "YYYY", "YYY", "YY", "Y",
    "a.d.", "a.m.", "ad", "am", "b.c.", "bc", "cc", "day", "ddd", "dd", "dy", "d", "ff1", "ff2",
    "ff3", "ff4", "ff5", "ff6", "hh24", "hh12", "hh", "iddd", "id", "iw", "iyyy", "iyy", "iy", "i",
    "j", "mi", "mm", "month", "mon", "ms", "of", "p.m.", "pm", "q", "rm", "sssss", "ssss", "ss",
    "tz", "us", "ww", "w", "y,yyy", "yyyy", "yyy", "yy", "y",
];

/// One piece of a template.
enum Piece {
    Literal(char),
    Field { pattern: &'static str, fill_mode: bool, ordinal: Option<bool> },
}

fn template(fmt: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let body = &rest[1..];
            let end = body.find('"').unwrap_or(body.len());
            let mut chars = body[..end].chars().peekable();
            while let Some(ch) = chars.next() {
                if ch == '\\' && chars.peek().is_some() {
                    out.extend(chars.next().map(Piece::Literal));
                } else {
                    out.push(Piece::Literal(ch));
                }
            }
            rest = body.get(end + 1..).unwrap_or("");
            continue;
        }
        if c == '\\' && rest.len() > 1 {
            let next = rest[1..].chars().next().unwrap_or('\\');
            out.push(Piece::Literal(next));
            rest = &rest[1 + next.len_utf8()..];
            continue;
        }
        let (fill_mode, body) = match rest.strip_prefix("FM").or_else(|| rest.strip_prefix("fm")) {
            Some(after) => (true, after),
            None => (false, rest),
        };
        if let Some(pattern) = PATTERNS.iter().find(|p| body.starts_with(*p)) {
            let mut after = &body[pattern.len()..];
            let ordinal = if let Some(a) = after.strip_prefix("TH") {
                after = a;
                Some(true)
            } else if let Some(a) = after.strip_prefix("th") {
                after = a;
                Some(false)
            } else {
                None
            };
            out.push(Piece::Field { pattern, fill_mode, ordinal });
            rest = after;
        } else if fill_mode {
            rest = body;
        } else {
            out.push(Piece::Literal(c));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The broken-down time a template prints.
struct Tm {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    micros: i64,
    /// The date itself, for week days, ISO weeks and day of year (`None` for an interval).
    date: Option<NaiveDate>,
    zone: bool,
    interval: bool,
}

fn ordinal_suffix(n: i64, upper: bool) -> &'static str {
    let s = match (n % 100, n % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    if upper {
        match s {
            "st" => "ST",
            "nd" => "ND",
            "rd" => "RD",
            _ => "TH",
        }
    } else {
        s
    }
}

/// A name in the case the pattern is written in, padded to 9 characters unless `fill_mode`.
fn name(full: &str, pattern: &str, width: usize, fill_mode: bool) -> String {
    let shown = if pattern.chars().all(|c| c.is_ascii_uppercase()) {
        full.to_uppercase()
    } else if pattern.chars().all(|c| c.is_ascii_lowercase()) {
        full.to_lowercase()
    } else {
        full.to_string()
    };
    if fill_mode { shown } else { format!("{shown:<width$}") }
}

fn format_tm(tm: &Tm, fmt: &str) -> String {
    let mut out = String::new();
    for piece in template(fmt) {
        let (pattern, fill_mode, ordinal) = match piece {
            Piece::Literal(c) => {
                out.push(c);
                continue;
            }
            Piece::Field { pattern, fill_mode, ordinal } => (pattern, fill_mode, ordinal),
        };
        let num = |n: i64, width: usize| {
            if fill_mode {
                n.to_string()
            } else if n < 0 {
                format!("-{:0width$}", n.unsigned_abs(), width = width.saturating_sub(1))
            } else {
                format!("{n:0width$}")
            }
        };
        let hour12 = if tm.hour % 12 == 0 { 12 } else { tm.hour % 12 };
        let pm = tm.hour >= 12;
        let date = tm.date.unwrap_or_default();
        let upper = pattern.to_uppercase();
        let year_shown = if tm.year <= 0 && !tm.interval { 1 - tm.year } else { tm.year };
        let (text, number): (String, Option<i64>) = match upper.as_str() {
            "YYYY" => (num(year_shown, 4), Some(year_shown)),
            "YYY" => (num(year_shown % 1000, 3), Some(year_shown % 1000)),
            "YY" => (num(year_shown % 100, 2), Some(year_shown % 100)),
            "Y" => (num(year_shown % 10, 1), Some(year_shown % 10)),
            "Y,YYY" => (format!("{},{:03}", year_shown / 1000, year_shown % 1000), None),
            "IYYY" | "IYY" | "IY" | "I" => {
                let iso = i64::from(date.iso_week().year());
                let width = upper.len();
                let m = 10_i64.pow(width as u32);
                let v = if width == 4 { iso } else { iso % m };
                (num(v, width), Some(v))
            }
            "MM" => (num(tm.month, 2), Some(tm.month)),
            "DD" => (num(tm.day, 2), Some(tm.day)),
            "DDD" => {
                let doy = i64::from(date.ordinal());
                (num(doy, 3), Some(doy))
            }
            "IDDD" => {
                let w = i64::from(date.iso_week().week());
                let doy = (w - 1) * 7 + i64::from(date.weekday().number_from_monday());
                (num(doy, 3), Some(doy))
            }
            "D" => {
                let d = i64::from(date.weekday().num_days_from_sunday()) + 1;
                (d.to_string(), Some(d))
            }
            "ID" => {
                let d = i64::from(date.weekday().number_from_monday());
                (d.to_string(), Some(d))
            }
            "HH" | "HH12" => (num(hour12, 2), Some(hour12)),
            "HH24" => (num(tm.hour, 2), Some(tm.hour)),
            "MI" => (num(tm.minute, 2), Some(tm.minute)),
            "SS" => (num(tm.second, 2), Some(tm.second)),
            "SSSS" | "SSSSS" => {
                let s = (tm.hour * 60 + tm.minute) * 60 + tm.second;
                (s.to_string(), Some(s))
            }
            "MS" => (num(tm.micros / 1000, 3), Some(tm.micros / 1000)),
            "US" => (num(tm.micros, 6), Some(tm.micros)),
            "FF1" | "FF2" | "FF3" | "FF4" | "FF5" | "FF6" => {
                let digits = usize::from(upper.as_bytes()[2] - b'0');
                let v = tm.micros / 10_i64.pow(6 - digits as u32);
                (format!("{v:0digits$}"), Some(v))
            }
            "AM" | "PM" => {
                let s = if pm { "PM" } else { "AM" };
                (
                    if pattern.starts_with(char::is_lowercase) {
                        s.to_lowercase()
                    } else {
                        s.into()
                    },
                    None,
                )
            }
            "A.M." | "P.M." => {
                let s = if pm { "P.M." } else { "A.M." };
                (
                    if pattern.starts_with(char::is_lowercase) {
                        s.to_lowercase()
                    } else {
                        s.into()
                    },
                    None,
                )
            }
            "AD" | "BC" => {
                let s = if tm.year <= 0 { "BC" } else { "AD" };
                (
                    if pattern.starts_with(char::is_lowercase) {
                        s.to_lowercase()
                    } else {
                        s.into()
                    },
                    None,
                )
            }
            "A.D." | "B.C." => {
                let s = if tm.year <= 0 { "B.C." } else { "A.D." };
                (
                    if pattern.starts_with(char::is_lowercase) {
                        s.to_lowercase()
                    } else {
                        s.into()
                    },
                    None,
                )
            }
            "MONTH" | "MON" if tm.interval => (String::new(), None),
            "MONTH" => {
                let m = MONTHS.get((tm.month - 1) as usize).copied().unwrap_or("");
                (name(m, pattern, 9, fill_mode), None)
            }
            "MON" => {
                let m = MONTHS.get((tm.month - 1) as usize).copied().unwrap_or("");
                (name(&m[..3.min(m.len())], pattern, 3, true), None)
            }
            "DAY" => {
                let d = DAYS[date.weekday().num_days_from_sunday() as usize];
                (name(d, pattern, 9, fill_mode), None)
            }
            "DY" => {
                let d = DAYS[date.weekday().num_days_from_sunday() as usize];
                (name(&d[..3], pattern, 3, true), None)
            }
            "RM" => {
                let r = ROMAN.get((tm.month - 1) as usize).copied().unwrap_or("");
                let r = if pattern == "rm" { r.to_lowercase() } else { r.to_string() };
                (if fill_mode { r } else { format!("{r:<4}") }, None)
            }
            "Q" => {
                let q = (tm.month - 1) / 3 + 1;
                (q.to_string(), Some(q))
            }
            "WW" => {
                let w = (i64::from(date.ordinal()) - 1) / 7 + 1;
                (num(w, 2), Some(w))
            }
            "W" => {
                let w = (tm.day - 1) / 7 + 1;
                (w.to_string(), Some(w))
            }
            "IW" => {
                let w = i64::from(date.iso_week().week());
                (num(w, 2), Some(w))
            }
            "CC" => {
                let c = if tm.year > 0 { (tm.year + 99) / 100 } else { -((99 - tm.year) / 100) };
                (num(c, 2), Some(c))
            }
            "J" => {
                let j = dt::days_of(date) + 2_440_588;
                (j.to_string(), Some(j))
            }
            "TZ" => (
                if tm.zone {
                    if pattern == "tz" { "utc".into() } else { "UTC".into() }
                } else {
                    String::new()
                },
                None,
            ),
            "OF" => (if tm.zone { "+00".into() } else { String::new() }, None),
            _ => (pattern.to_string(), None),
        };
        out.push_str(&text);
        if let (Some(upper), Some(n)) = (ordinal, number) {
            out.push_str(ordinal_suffix(n, upper));
        }
    }
    out
}

/// `to_char(v, fmt)` for a date, a timestamp, an interval or a number of type `ty`.
pub fn to_char(v: &Value, ty: SqlType, fmt: &str) -> Result<Value, SqlError> {
    // a time prints as the interval since midnight (PostgreSQL's implicit cast)
    let as_interval;
    let v = match (v, ty) {
        (Value::Int(m), SqlType::Time(_)) => {
            as_interval =
                Value::Interval(crate::types::Interval { months: 0, days: 0, micros: *m });
            &as_interval
        }
        _ => v,
    };
    let tm = match (v, ty) {
        (Value::Interval(iv), _) => {
            let t = iv.micros;
            Tm {
                year: i64::from(iv.months / 12),
                month: i64::from(iv.months % 12),
                day: i64::from(iv.days),
                hour: t / dt::MICROS_PER_HOUR,
                minute: t / 60_000_000 % 60,
                second: t / 1_000_000 % 60,
                micros: t % 1_000_000,
                date: None,
                zone: false,
                interval: true,
            }
        }
        (Value::Int(n), SqlType::Date | SqlType::Timestamp | SqlType::Timestamptz) => {
            let micros =
                if ty == SqlType::Date { n.saturating_mul(dt::MICROS_PER_DAY) } else { *n };
            let d = dt::datetime_of(micros).ok_or_else(dt::timestamp_out_of_range)?;
            Tm {
                year: i64::from(d.year()),
                month: i64::from(d.month()),
                day: i64::from(d.day()),
                hour: i64::from(d.hour()),
                minute: i64::from(d.minute()),
                second: i64::from(d.second()),
                micros: micros.rem_euclid(1_000_000),
                date: Some(d.date()),
                zone: ty == SqlType::Timestamptz,
                interval: false,
            }
        }
        (v, _) => return to_char_number(v, fmt),
    };
    Ok(Value::Text(format_tm(&tm, fmt)))
}

/// `to_char(number, fmt)` with the patterns `9 0 . D , G S FM`.
fn to_char_number(v: &Value, fmt: &str) -> Result<Value, SqlError> {
    let value: Decimal = match v {
        Value::Int(i) => Decimal::from(*i),
        Value::Numeric(d) => *d,
        Value::Float(f) => Decimal::try_from(*f).map_err(|_| {
            SqlError::new(
                SqlState::FeatureNotSupported,
                "to_char of this double precision is not supported",
            )
        })?,
        _ => return Ok(Value::Null),
    };
    let fill_mode = fmt.contains("FM") || fmt.contains("fm");
    let body: String = fmt.replace("FM", "").replace("fm", "");
    if body.chars().any(|c| !matches!(c, '9' | '0' | '.' | 'D' | ',' | 'G' | 'S' | ' ')) {
        return Err(SqlError::new(
            SqlState::FeatureNotSupported,
            format!("to_char number format \"{fmt}\" is not supported"),
        ));
    }
    let explicit_sign = body.starts_with('S');
    let body = body.trim_start_matches('S');
    let point = body.find(['.', 'D']);
    let (int_fmt, frac_fmt) = match point {
        Some(p) => (&body[..p], &body[p + 1..]),
        None => (body, ""),
    };
    let frac_digits = frac_fmt.chars().filter(|c| matches!(c, '9' | '0')).count() as u32;
    let int_digits = int_fmt.chars().filter(|c| matches!(c, '9' | '0')).count();
    let rounded = value
        .round_dp_with_strategy(frac_digits, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let abs = rounded.abs();
    let int_part = abs.trunc().to_string();
    // a zero integer part prints only when nothing follows a point (`0` for 0 with `9999`,
    // `.50` for 0.5 with `9.99`)
    let int_part = if int_part == "0" && point.is_some() { String::new() } else { int_part };
    let mut frac_part = abs.fract().to_string();
    frac_part = frac_part.split_once('.').map_or(String::new(), |(_, f)| f.to_string());
    while (frac_part.len() as u32) < frac_digits {
        frac_part.push('0');
    }
    let overflow = int_part.len() > int_digits;
    // the integer part, right to left
    let mut digits = int_part.chars().rev();
    let mut int_out: Vec<char> = Vec::new();
    let mut started_at = None;
    let mut first_zero = None;
    let fmt_chars: Vec<char> = int_fmt.chars().collect();
    for (i, c) in fmt_chars.iter().enumerate().rev() {
        match c {
            '9' | '0' => {
                if *c == '0' {
                    first_zero = Some(i);
                }
                match digits.next() {
                    Some(d) if !overflow => {
                        int_out.push(d);
                        started_at = Some(i);
                    }
                    _ if overflow => int_out.push('#'),
                    _ => int_out.push(if *c == '0' { '0' } else { ' ' }),
                }
            }
            ',' | 'G' => int_out.push(','),
            other => int_out.push(*other),
        }
    }
    int_out.reverse();
    // a zero position forces every digit after it; blanks before the first digit shown
    let leading = started_at.into_iter().chain(first_zero).min().unwrap_or(fmt_chars.len());
    for (i, c) in int_out.iter_mut().enumerate() {
        if i < leading && !overflow && matches!(*c, ',' | '0') && fmt_chars.get(i) != Some(&'0') {
            *c = ' ';
        } else if i >= leading && *c == ' ' && fmt_chars.get(i) == Some(&'9') {
            *c = '0';
        }
    }
    let mut int_text: String = int_out.into_iter().collect();
    let sign = if negative {
        '-'
    } else if explicit_sign {
        '+'
    } else {
        ' '
    };
    let first_non_blank = int_text.find(|c: char| c != ' ').unwrap_or(int_text.len());
    int_text.insert(first_non_blank, sign);
    let mut out = int_text;
    if point.is_some() {
        out.push('.');
        let mut frac: String = frac_fmt
            .chars()
            .zip(frac_part.chars().chain(std::iter::repeat('0')))
            .map(|(f, d)| {
                if overflow {
                    '#'
                } else if matches!(f, '9' | '0') {
                    d
                } else {
                    f
                }
            })
            .collect();
        if fill_mode {
            let keep = frac_fmt.rfind('0').map_or(0, |i| i + 1);
            while frac.len() > keep && frac.ends_with('0') {
                frac.pop();
            }
        }
        out.push_str(&frac);
    }
    if fill_mode {
        out = out.trim_start().to_string();
        if !negative && !explicit_sign {
            out = out.trim_start_matches(' ').to_string();
        }
    }
    Ok(Value::Text(out))
}

fn bad_input(fmt_piece: &str, input: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidDatetimeFormat,
        format!("invalid value \"{input}\" for \"{fmt_piece}\""),
    )
}

/// `to_timestamp(text, fmt)`: microseconds since the epoch (the session zone is UTC).
pub fn to_timestamp(input: &str, fmt: &str) -> Result<i64, SqlError> {
    let (mut year, mut month, mut day) = (None::<i64>, 1_i64, 1_i64);
    let (mut hour, mut minute, mut second, mut micros) = (0_i64, 0_i64, 0_i64, 0_i64);
    let mut pm: Option<bool> = None;
    let mut hour12 = false;
    let mut doy: Option<i64> = None;
    let mut bc = false;
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    let skip_spaces = |i: &mut usize| {
        while *i < chars.len() && chars[*i] == ' ' {
            *i += 1;
        }
    };
    let read_number = |i: &mut usize, max: usize, piece: &str| -> Result<i64, SqlError> {
        let start = *i;
        if *i < chars.len() && (chars[*i] == '-' || chars[*i] == '+') {
            *i += 1;
        }
        while *i < chars.len() && chars[*i].is_ascii_digit() && *i - start < max {
            *i += 1;
        }
        let text: String = chars[start..*i].iter().collect();
        text.parse().map_err(|_| {
            let rest: String = chars[start..].iter().collect();
            bad_input(piece, &rest)
        })
    };
    for piece in template(fmt) {
        let (pattern, _) = match piece {
            Piece::Literal(c) => {
                if c == ' ' {
                    skip_spaces(&mut i);
                } else if i < chars.len() && !chars[i].is_alphanumeric() {
                    i += 1;
                }
                continue;
            }
            Piece::Field { pattern, fill_mode, .. } => (pattern, fill_mode),
        };
        skip_spaces(&mut i);
        let upper = pattern.to_uppercase();
        match upper.as_str() {
            "YYYY" | "IYYY" => year = Some(read_number(&mut i, 4, pattern)?),
            "Y,YYY" => {
                let thousands = read_number(&mut i, 3, pattern)?;
                if chars.get(i) == Some(&',') {
                    i += 1;
                }
                year = Some(thousands * 1000 + read_number(&mut i, 3, pattern)?);
            }
            "YYY" => {
                let y = read_number(&mut i, 3, pattern)?;
                year = Some(if y < 100 { y + 2000 } else { y + 1000 });
            }
            "YY" => {
                let y = read_number(&mut i, 2, pattern)?;
                year = Some(if y < 70 { y + 2000 } else { y + 1900 });
            }
            "Y" => year = Some(read_number(&mut i, 1, pattern)? + 2000),
            "MM" => month = read_number(&mut i, 2, pattern)?,
            "DD" => day = read_number(&mut i, 2, pattern)?,
            "DDD" => doy = Some(read_number(&mut i, 3, pattern)?),
            "HH" | "HH12" => {
                hour = read_number(&mut i, 2, pattern)?;
                hour12 = true;
            }
            "HH24" => hour = read_number(&mut i, 2, pattern)?,
            "MI" => minute = read_number(&mut i, 2, pattern)?,
            "SS" => second = read_number(&mut i, 2, pattern)?,
            "MS" => {
                let start = i;
                let v = read_number(&mut i, 3, pattern)?;
                micros += v * 10_i64.pow(3 - (i - start) as u32) * 1000;
            }
            "US" => {
                let start = i;
                let v = read_number(&mut i, 6, pattern)?;
                micros += v * 10_i64.pow(6 - (i - start) as u32);
            }
            "AM" | "PM" | "A.M." | "P.M." => {
                let rest: String = chars[i..].iter().collect::<String>().to_uppercase();
                let (found, len) = if rest.starts_with("A.M.") {
                    (false, 4)
                } else if rest.starts_with("P.M.") {
                    (true, 4)
                } else if rest.starts_with("AM") {
                    (false, 2)
                } else if rest.starts_with("PM") {
                    (true, 2)
                } else {
                    return Err(bad_input(pattern, &rest));
                };
                pm = Some(found);
                i += len;
            }
            "BC" | "AD" | "B.C." | "A.D." => {
                let rest: String = chars[i..].iter().collect::<String>().to_uppercase();
                for (word, is_bc) in [("B.C.", true), ("A.D.", false), ("BC", true), ("AD", false)]
                {
                    if rest.starts_with(word) {
                        bc = is_bc;
                        i += word.len();
                        break;
                    }
                }
            }
            "MONTH" | "MON" => {
                let rest: String = chars[i..].iter().collect::<String>().to_lowercase();
                let full = upper == "MONTH";
                let found = MONTHS.iter().enumerate().find(|(_, m)| {
                    let m = m.to_lowercase();
                    if full { rest.starts_with(&m) } else { rest.starts_with(&m[..3]) }
                });
                let Some((index, m)) = found else {
                    return Err(bad_input(pattern, &chars[i..].iter().collect::<String>()));
                };
                month = index as i64 + 1;
                i += if full { m.len() } else { 3 };
            }
            "DAY" | "DY" => {
                let rest: String = chars[i..].iter().collect::<String>().to_lowercase();
                if let Some(d) = DAYS.iter().find(|d| rest.starts_with(&d[..3].to_lowercase())) {
                    i += if upper == "DAY" && rest.starts_with(&d.to_lowercase()) {
                        d.len()
                    } else {
                        3
                    };
                }
            }
            _ => {
                return Err(SqlError::new(
                    SqlState::FeatureNotSupported,
                    format!("formatting field \"{pattern}\" is only supported in to_char"),
                ));
            }
        }
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return Err(SqlError::new(
                SqlState::InvalidDatetimeFormat,
                format!("hour \"{hour}\" is invalid for the 12-hour clock"),
            ));
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    } else if hour12 && !(1..=12).contains(&hour) {
        return Err(SqlError::new(
            SqlState::InvalidDatetimeFormat,
            format!("hour \"{hour}\" is invalid for the 12-hour clock"),
        ));
    }
    let mut year = year.unwrap_or(1);
    if bc {
        year = 1 - year;
    }
    let out_of_range = || {
        SqlError::new(
            SqlState::DatetimeFieldOverflow,
            format!("date/time field value out of range: \"{input}\""),
        )
    };
    let date = match doy {
        Some(d) => i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_yo_opt(y, u32::try_from(d).ok()?))
            .ok_or_else(out_of_range)?,
        None => i32::try_from(year)
            .ok()
            .zip(u32::try_from(month).ok())
            .zip(u32::try_from(day).ok())
            .and_then(|((y, m), d)| NaiveDate::from_ymd_opt(y, m, d))
            .ok_or_else(out_of_range)?,
    };
    if !(0..24).contains(&hour) || !(0..60).contains(&minute) || !(0..60).contains(&second) {
        return Err(out_of_range());
    }
    Ok(dt::days_of(date) * dt::MICROS_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * 1_000_000
        + micros)
}
