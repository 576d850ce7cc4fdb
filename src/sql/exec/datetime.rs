//! Evaluation of the date-time functions ([`Func::Extract`], [`Func::DatePart`],
//! [`Func::DateTrunc`], [`Func::AtTimeZone`], [`Func::DateTimeArith`]), given their evaluated arguments; `eval.rs` hands
//! them here. What Django's date lookups and `Trunc` send: `EXTRACT(MONTH FROM c AT TIME ZONE
//! 'UTC')`, `(c AT TIME ZONE 'UTC')::date`, `DATE_TRUNC('day', c AT TIME ZONE 'UTC')`.
//!
//! Values: a date is days since 1970-01-01, a timestamp (with or without time zone)
//! microseconds since 1970-01-01 00:00 UTC. isola's sessions run in UTC, so a timestamptz
//! reads as the same wall-clock time as a timestamp; `AT TIME ZONE` converts with the tz
//! database (`types/datetime.rs`'s [`Zone`](dt::Zone): names, abbreviations, POSIX offsets).
//! Also the arithmetic between dates, timestamps and intervals ([`Func::DateTimeArith`]) and
//! EXTRACT / date_trunc of an interval.
//!
//! Invariants: every function is strict (NULL in, NULL out); nothing panics on any argument.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::{BExpr, BinOp, Func};
use crate::sql::types::SqlType;
use crate::sql::types::datetime as dt;
use crate::types::{Interval, Value};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The value of a date-time function, or `None` when `func` is not one.
pub fn eval(
    func: Func,
    args: &[BExpr],
    vals: &[Value],
    ty: SqlType,
) -> Result<Option<Value>, SqlError> {
    if let Func::DateTimeArith(op) = func {
        if vals.contains(&Value::Null) || vals.len() != 2 || args.len() != 2 {
            return Ok(Some(Value::Null));
        }
        return arithmetic(op, (&vals[0], args[0].ty()), (&vals[1], args[1].ty()), ty).map(Some);
    }
    if !matches!(func, Func::Extract | Func::DatePart | Func::DateTrunc | Func::AtTimeZone) {
        return Ok(None);
    }
    if vals.contains(&Value::Null) || vals.len() != 2 || args.len() != 2 {
        return Ok(Some(Value::Null));
    }
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Some(match func {
        Func::Extract | Func::DatePart => {
            let field = text(&vals[0]).to_lowercase();
            let exact = match &vals[1] {
                Value::Interval(iv) => extract_interval(&field, iv)?,
                v => extract(&field, v, args[1].ty())?,
            };
            if func == Func::DatePart {
                Value::Float(exact.to_string().parse().unwrap_or(f64::NAN))
            } else {
                Value::Numeric(exact)
            }
        }
        Func::DateTrunc if matches!(vals[1], Value::Interval(_)) => {
            let field = text(&vals[0]).to_lowercase();
            let Value::Interval(iv) = &vals[1] else { return Ok(Some(Value::Null)) };
            Value::Interval(truncate_interval(&field, iv)?)
        }
        Func::DateTrunc => {
            let field = text(&vals[0]).to_lowercase();
            let micros = timestamp_micros(&vals[1], args[1].ty());
            Value::Int(truncate(&field, micros, ty)?)
        }
        Func::AtTimeZone => {
            let name = text(&vals[1]);
            let zone = dt::Zone::named(&name, true).ok_or_else(|| {
                SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("time zone \"{name}\" not recognized"),
                )
            })?;
            let micros = timestamp_micros(&vals[0], args[0].ty());
            let shifted = if args[0].ty() == SqlType::Timestamp {
                zone.local_to_utc(micros)
            } else {
                zone.offset_at_utc(micros).and_then(|o| micros.checked_add(o * 1_000_000))
            };
            match shifted.filter(|m| datetime(*m).is_ok()) {
                Some(m) => Value::Int(m),
                None => return Err(dt::timestamp_out_of_range()),
            }
        }
        _ => return Ok(None),
    }))
}

/// `l op r` of [`Func::DateTimeArith`]: the binder chose the operand types and `ty`.
fn arithmetic(
    op: BinOp,
    (l, lt): (&Value, SqlType),
    (r, rt): (&Value, SqlType),
    ty: SqlType,
) -> Result<Value, SqlError> {
    let number = |v: &Value| -> f64 {
        match v {
            Value::Int(i) => *i as f64,
            Value::Float(f) => *f,
            Value::Numeric(d) => d.to_string().parse().unwrap_or(f64::NAN),
            _ => f64::NAN,
        }
    };
    let unsupported = || {
        SqlError::new(
            SqlState::UndefinedFunction,
            format!("operator does not exist: {} and {}", lt.name(), rt.name()),
        )
    };
    if let Some(v) = time_arithmetic(op, (l, lt), (r, rt))? {
        return Ok(v);
    }
    Ok(match (l, r) {
        (Value::Interval(a), Value::Interval(b)) => {
            Value::Interval(dt::combine_intervals(a, b, op == BinOp::Sub)?)
        }
        (Value::Int(t), Value::Interval(iv)) if !lt.is_numeric() => {
            let iv = if op == BinOp::Sub { dt::negate_interval(iv)? } else { *iv };
            Value::Int(dt::add_interval(timestamp_micros(&Value::Int(*t), lt), &iv)?)
        }
        (Value::Interval(iv), Value::Int(_)) if !rt.is_numeric() => {
            Value::Int(dt::add_interval(timestamp_micros(r, rt), iv)?)
        }
        (Value::Interval(iv), n) => {
            Value::Interval(dt::scale_interval(iv, number(n), op == BinOp::Div)?)
        }
        (n, Value::Interval(iv)) => Value::Interval(dt::scale_interval(iv, number(n), false)?),
        (Value::Int(a), Value::Int(b)) if ty == SqlType::Int4 => {
            let d = a - b;
            if i32::try_from(d).is_err() {
                return Err(SqlError::new(
                    SqlState::NumericValueOutOfRange,
                    "integer out of range",
                ));
            }
            Value::Int(d)
        }
        (Value::Int(a), Value::Int(b)) if ty == SqlType::Date => {
            let days = if op == BinOp::Sub { a.checked_sub(*b) } else { a.checked_add(*b) };
            match days.filter(|d| dt::date_of(*d).is_some_and(|d| d.year() > -4713)) {
                Some(d) => Value::Int(d),
                None => {
                    return Err(SqlError::new(
                        SqlState::DatetimeFieldOverflow,
                        "date out of range",
                    ));
                }
            }
        }
        (Value::Int(_), Value::Int(_)) => Value::Interval(dt::subtract_timestamps(
            timestamp_micros(l, lt),
            timestamp_micros(r, rt),
        )?),
        _ => return Err(unsupported()),
    })
}

/// Whether `zone` names UTC; 0A000 for any other zone (a session's time zone is UTC, the only
/// one isola computes in).
pub fn check_utc(zone: &str) -> Result<(), SqlError> {
    let utc = ["utc", "etc/utc", "gmt", "etc/gmt", "uct", "universal", "zulu", "z", "greenwich"];
    let z = zone.trim().to_lowercase();
    let offset_zero =
        z.trim_start_matches(['+', '-']).split(':').all(|p| p.bytes().all(|b| b == b'0'));
    if utc.contains(&z.as_str()) || (!z.is_empty() && offset_zero) {
        return Ok(());
    }
    Err(SqlError::new(
        SqlState::FeatureNotSupported,
        format!("time zone \"{zone}\" is not supported (isola knows only UTC)"),
    ))
}

/// A date or timestamp value as microseconds since the epoch.
/// The arithmetic of `time`: `time - time` (an interval), `time ± interval` (a time, around
/// the clock: the interval's days and months do not move it), `date + time` (a timestamp).
/// `None` when neither operand is a time.
fn time_arithmetic(
    op: BinOp,
    (l, lt): (&Value, SqlType),
    (r, rt): (&Value, SqlType),
) -> Result<Option<Value>, SqlError> {
    let around_the_clock = |m: i64| m.rem_euclid(MICROS_PER_DAY);
    Ok(Some(match ((l, lt), (r, rt)) {
        ((Value::Int(a), SqlType::Time(_)), (Value::Int(b), SqlType::Time(_))) => {
            Value::Interval(Interval { months: 0, days: 0, micros: a - b })
        }
        ((Value::Int(t), SqlType::Time(_)), (Value::Interval(iv), _)) => {
            let shift = iv.micros.rem_euclid(MICROS_PER_DAY);
            Value::Int(around_the_clock(if op == BinOp::Sub { t - shift } else { t + shift }))
        }
        ((Value::Interval(iv), _), (Value::Int(t), SqlType::Time(_))) => {
            Value::Int(around_the_clock(t + iv.micros.rem_euclid(MICROS_PER_DAY)))
        }
        ((Value::Int(d), SqlType::Date), (Value::Int(t), SqlType::Time(_)))
        | ((Value::Int(t), SqlType::Time(_)), (Value::Int(d), SqlType::Date)) => Value::Int(
            d.checked_mul(MICROS_PER_DAY)
                .and_then(|m| m.checked_add(*t))
                .filter(|m| datetime(*m).is_ok())
                .ok_or_else(dt::timestamp_out_of_range)?,
        ),
        _ => return Ok(None),
    }))
}

fn timestamp_micros(v: &Value, ty: SqlType) -> i64 {
    match (v, ty) {
        (Value::Int(days), SqlType::Date) => days.saturating_mul(MICROS_PER_DAY),
        (Value::Int(m), _) => *m,
        _ => 0,
    }
}

fn datetime(micros: i64) -> Result<NaiveDateTime, SqlError> {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .ok_or_else(|| SqlError::new(SqlState::DatetimeFieldOverflow, "timestamp out of range"))
}

/// A date-time type as PostgreSQL's messages name it.
fn type_name(ty: SqlType) -> &'static str {
    match ty {
        SqlType::Date => "date",
        SqlType::Timestamptz => "timestamp with time zone",
        _ => "timestamp without time zone",
    }
}

/// `EXTRACT(field FROM t)` of a time of day (`24:00:00` is hour 24).
fn extract_time(field: &str, micros: i64) -> Result<Decimal, SqlError> {
    let sub_minute = micros % 60_000_000;
    Ok(match field {
        "hour" | "hours" => Decimal::from(micros / dt::MICROS_PER_HOUR),
        "minute" | "minutes" => Decimal::from(micros / 60_000_000 % 60),
        "second" | "seconds" => Decimal::new(sub_minute, 6),
        "millisecond" | "milliseconds" => Decimal::new(sub_minute, 3),
        "microsecond" | "microseconds" => Decimal::from(sub_minute),
        "epoch" => Decimal::new(micros, 6),
        "year" | "years" | "month" | "months" | "mon" | "day" | "days" | "quarter" | "dow"
        | "isodow" | "doy" | "week" | "isoyear" | "decade" | "century" | "millennium"
        | "timezone" | "timezone_hour" | "timezone_minute" => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("unit \"{field}\" not supported for type time without time zone"),
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("unit \"{field}\" not recognized for type time without time zone"),
            ));
        }
    })
}

/// `EXTRACT(field FROM v)`, exact, as PostgreSQL 15 computes it (a numeric: seconds with six
/// decimals, milliseconds with three, an epoch with six for a timestamp).
fn extract(field: &str, v: &Value, ty: SqlType) -> Result<Decimal, SqlError> {
    if let (Value::Int(m), SqlType::Time(_)) = (v, ty) {
        return extract_time(field, *m);
    }
    let date = ty == SqlType::Date;
    let micros = timestamp_micros(v, ty);
    let dt = datetime(micros)?;
    let int = |i: i64| Decimal::from(i);
    let sub_minute = i64::from(dt.second()) * 1_000_000 + i64::from(dt.nanosecond() / 1000);
    let year = i64::from(dt.year());
    let type_name = type_name(ty);
    Ok(match field {
        "year" | "years" => int(year),
        "month" | "months" | "mon" => int(i64::from(dt.month())),
        "day" | "days" => int(i64::from(dt.day())),
        "quarter" => int(i64::from((dt.month() - 1) / 3 + 1)),
        "dow" => int(i64::from(dt.weekday().num_days_from_sunday())),
        "isodow" => int(i64::from(dt.weekday().number_from_monday())),
        "doy" => int(i64::from(dt.ordinal())),
        "week" => int(i64::from(dt.iso_week().week())),
        "isoyear" => int(i64::from(dt.iso_week().year())),
        "decade" => int(year.div_euclid(10)),
        "century" => int(if year > 0 { (year + 99) / 100 } else { -((99 - (year - 1)) / 100) }),
        "millennium" => {
            int(if year > 0 { (year + 999) / 1000 } else { -((999 - (year - 1)) / 1000) })
        }
        "epoch" if date => int(micros / 1_000_000),
        "epoch" => Decimal::new(micros, 6),
        "hour" | "hours" | "minute" | "minutes" | "second" | "seconds" | "millisecond"
        | "milliseconds" | "microsecond" | "microseconds"
            if date =>
        {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("unit \"{field}\" not supported for type date"),
            ));
        }
        "hour" | "hours" => int(i64::from(dt.hour())),
        "minute" | "minutes" => int(i64::from(dt.minute())),
        "second" | "seconds" => Decimal::new(sub_minute, 6),
        "millisecond" | "milliseconds" => Decimal::new(sub_minute, 3),
        "microsecond" | "microseconds" => int(sub_minute),
        // the session's zone is UTC: no offset
        "timezone" | "timezone_hour" | "timezone_minute" if ty == SqlType::Timestamptz => int(0),
        "julian" | "timezone" | "timezone_hour" | "timezone_minute" => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("unit \"{field}\" not supported for type {type_name}"),
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("unit \"{field}\" not recognized for type {type_name}"),
            ));
        }
    })
}

/// `EXTRACT(field FROM interval)`: a field of the interval's years, months, days and time
/// (each signed as the interval's part is), or its length in seconds (`epoch`: a year as
/// 365.25 days, a month as 30).
fn extract_interval(field: &str, iv: &Interval) -> Result<Decimal, SqlError> {
    let int = |i: i64| Decimal::from(i);
    let (months, days, t) = (i64::from(iv.months), i64::from(iv.days), iv.micros);
    let (year, month) = (months / 12, months % 12);
    let sub_minute = t % 60_000_000;
    Ok(match field {
        "microsecond" | "microseconds" => int(sub_minute),
        "millisecond" | "milliseconds" => Decimal::new(sub_minute, 3),
        "second" | "seconds" => Decimal::new(sub_minute, 6),
        "minute" | "minutes" => int(t / 60_000_000 % 60),
        "hour" | "hours" => int(t / 3_600_000_000),
        "day" | "days" => int(days),
        "month" | "months" | "mon" => int(month),
        "quarter" => int(month / 3 + 1),
        "year" | "years" => int(year),
        "decade" | "decades" => int(year / 10),
        "century" | "centuries" => int(year / 100),
        "millennium" | "millennia" => int(year / 1000),
        "epoch" => {
            let seconds_from_days = (1461 * year + 120 * month + 4 * days) * (86_400 / 4);
            let micros = i128::from(seconds_from_days) * 1_000_000 + i128::from(t);
            Decimal::try_from_i128_with_scale(micros, 6).map_err(|_| {
                SqlError::new(SqlState::NumericValueOutOfRange, "interval out of range")
            })?
        }
        "dow" | "isodow" | "doy" | "week" | "isoyear" | "julian" | "timezone" | "timezone_hour"
        | "timezone_minute" => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("unit \"{field}\" not supported for type interval"),
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("unit \"{field}\" not recognized for type interval"),
            ));
        }
    })
}

/// `date_trunc(field, interval)`: the fields below `field` zeroed.
fn truncate_interval(field: &str, iv: &Interval) -> Result<Interval, SqlError> {
    let (months, days, t) = (iv.months, iv.days, iv.micros);
    let years_to = |n: i32| Interval { months: months / 12 / n * n * 12, days: 0, micros: 0 };
    let time_to = |unit: i64| Interval { months, days, micros: t - t % unit };
    Ok(match field {
        "microsecond" | "microseconds" => *iv,
        "millisecond" | "milliseconds" => time_to(1_000),
        "second" | "seconds" => time_to(1_000_000),
        "minute" | "minutes" => time_to(60_000_000),
        "hour" | "hours" => time_to(3_600_000_000),
        "day" | "days" => Interval { months, days, micros: 0 },
        "month" | "months" | "mon" => Interval { months, days: 0, micros: 0 },
        "quarter" => {
            Interval { months: months / 12 * 12 + months % 12 / 3 * 3, days: 0, micros: 0 }
        }
        "year" | "years" => years_to(1),
        "decade" | "decades" => years_to(10),
        "century" | "centuries" => years_to(100),
        "millennium" | "millennia" => years_to(1000),
        "week" | "weeks" => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                "interval units \"week\" not supported because months usually have fractional weeks",
            ));
        }
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("interval units \"{field}\" not recognized"),
            ));
        }
    })
}

/// `date_trunc(field, v)`: the timestamp at the start of its `field` (`week`: the Monday).
fn truncate(field: &str, micros: i64, ty: SqlType) -> Result<i64, SqlError> {
    let dt = datetime(micros)?;
    let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_micros());
    let ymd = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
    let year = dt.year();
    let micros_in = |unit: i64| micros - micros.rem_euclid(unit);
    let truncated = match field {
        "microseconds" | "microsecond" => Some(micros),
        "milliseconds" | "millisecond" => Some(micros_in(1_000)),
        "second" | "seconds" => Some(micros_in(1_000_000)),
        "minute" | "minutes" => Some(micros_in(60_000_000)),
        "hour" | "hours" => Some(micros_in(3_600_000_000)),
        "day" | "days" => Some(micros_in(MICROS_PER_DAY)),
        "week" | "weeks" => {
            let monday =
                dt.date() - chrono::Duration::days(i64::from(dt.weekday().num_days_from_monday()));
            day_start(monday)
        }
        "month" | "months" | "mon" => ymd(year, dt.month()).and_then(day_start),
        "quarter" => ymd(year, (dt.month() - 1) / 3 * 3 + 1).and_then(day_start),
        "year" | "years" => ymd(year, 1).and_then(day_start),
        "decade" => ymd(year.div_euclid(10) * 10, 1).and_then(day_start),
        "century" => ymd((year - 1).div_euclid(100) * 100 + 1, 1).and_then(day_start),
        "millennium" => ymd((year - 1).div_euclid(1000) * 1000 + 1, 1).and_then(day_start),
        _ => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("unit \"{field}\" not recognized for type {}", type_name(ty)),
            ));
        }
    };
    truncated
        .ok_or_else(|| SqlError::new(SqlState::DatetimeFieldOverflow, "timestamp out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-02-29 13:45:30.25 UTC
    const LEAP: i64 = 1_709_214_330_250_000;

    #[test]
    fn extract_fields() {
        let v = Value::Int(LEAP);
        let f = |field: &str| extract(field, &v, SqlType::Timestamp).unwrap().to_string();
        assert_eq!(f("year"), "2024");
        assert_eq!(f("month"), "2");
        assert_eq!(f("day"), "29");
        assert_eq!(f("hour"), "13");
        assert_eq!(f("second"), "30.250000");
        assert_eq!(f("millisecond"), "30250.000");
        assert_eq!(f("dow"), "4");
        assert_eq!(f("isodow"), "4");
        assert_eq!(f("doy"), "60");
        assert_eq!(f("quarter"), "1");
        assert_eq!(f("week"), "9");
        assert_eq!(f("epoch"), "1709214330.250000");
        assert_eq!(f("century"), "21");
        assert!(extract("fortnight", &v, SqlType::Timestamp).is_err());
        assert!(extract("hour", &Value::Int(1), SqlType::Date).is_err());
    }

    #[test]
    fn truncation() {
        let t = |field: &str| truncate(field, LEAP, SqlType::Timestamp).unwrap();
        let at = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        assert_eq!(t("day"), at("2024-02-29 00:00:00"));
        assert_eq!(t("week"), at("2024-02-26 00:00:00"));
        assert_eq!(t("month"), at("2024-02-01 00:00:00"));
        assert_eq!(t("quarter"), at("2024-01-01 00:00:00"));
        assert_eq!(t("hour"), at("2024-02-29 13:00:00"));
        assert_eq!(t("century"), at("2001-01-01 00:00:00"));
    }

    #[test]
    fn only_utc() {
        assert!(check_utc("UTC").is_ok());
        assert!(check_utc("+00:00").is_ok());
        assert!(check_utc("Etc/UTC").is_ok());
        assert!(check_utc("America/Chicago").is_err());
        assert!(check_utc("+05:00").is_err());
    }
}
