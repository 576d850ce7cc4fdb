//! Date, timestamp and interval values as text, and the calendar arithmetic between them, as
//! PostgreSQL 15 does it with `DateStyle = 'ISO, MDY'`, `IntervalStyle = 'postgres'` and the
//! session time zone UTC (isola's only one).
//!
//! Input ([`parse_date`], [`parse_timestamp`], [`parse_interval`]): the forms hand-written SQL
//! uses: `2024-01-31`, `01/31/2024`, `20240131`, `epoch`; a time after a space or `T`
//! (`10:00`, `10:00:05.25`, `10am`); a zone after it (`Z`, `+00`, `+05:30`, `-0800`, `UTC`,
//! `GMT`), which a timestamp without time zone ignores, as PostgreSQL does. Intervals in
//! PostgreSQL's verbose form (`1 year 2 mons -3 days 04:05:06 ago`, fractions cascading down)
//! and ISO 8601's (`P1Y2M3DT4H5M6S`). A malformed text is 22007, a field out of range 22008.
//!
//! Values: a date is days since 1970-01-01, a timestamp microseconds since 1970-01-01 00:00
//! UTC, an interval an [`Interval`] of months, days and microseconds kept apart (a month is
//! not a fixed number of days; comparison counts a month as 30 days, as PostgreSQL does).
//!
//! Invariant: nothing here panics on any input; overflow is an error (22008).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, Timelike};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::types::Interval;

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
pub const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

fn bad_syntax(type_name: &str, s: &str) -> SqlError {
    SqlError::new(
        SqlState::InvalidDatetimeFormat,
        format!("invalid input syntax for type {type_name}: \"{s}\""),
    )
}

fn out_of_range(s: &str) -> SqlError {
    SqlError::new(
        SqlState::DatetimeFieldOverflow,
        format!("date/time field value out of range: \"{s}\""),
    )
}

/// An error for a timestamp result outside the range isola represents.
pub fn timestamp_out_of_range() -> SqlError {
    SqlError::new(SqlState::DatetimeFieldOverflow, "timestamp out of range")
}

fn interval_out_of_range() -> SqlError {
    SqlError::new(SqlState::DatetimeFieldOverflow, "interval out of range")
}

/// A date as days since 1970-01-01.
pub fn days_of(date: NaiveDate) -> i64 {
    date.signed_duration_since(epoch()).num_days()
}

/// The date `days` after 1970-01-01.
pub fn date_of(days: i64) -> Option<NaiveDate> {
    epoch().checked_add_signed(chrono::Duration::try_days(days)?)
}

/// A timestamp as microseconds since the epoch.
pub fn micros_of(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// The wall-clock time `micros` after the epoch.
pub fn datetime_of(micros: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

/// What a date/time text holds, before it is checked against a calendar.
#[derive(Default)]
struct Parts {
    date: Option<(i64, i64, i64)>,
    /// Hour, minute, second, microseconds.
    time: Option<(i64, i64, i64, i64)>,
    /// The zone written after the time.
    zone: Option<Zone>,
    /// `epoch`
    epoch: bool,
    /// A numeric zone offset past PostgreSQL's bounds (22009).
    zone_out_of_range: bool,
}

/// The special inputs isola reads (`today`, `tomorrow`, `yesterday`: the UTC date now, as
/// days since the epoch), and those it refuses with 0A000 rather than misread (`now`, which
/// PostgreSQL reads as the transaction's start, and the infinities, which isola cannot
/// store).
fn special(s: &str) -> Result<Option<i64>, SqlError> {
    let today = || chrono::Utc::now().timestamp_micros().div_euclid(MICROS_PER_DAY);
    Ok(match s.trim().to_ascii_lowercase().as_str() {
        "today" => Some(today()),
        "tomorrow" => Some(today() + 1),
        "yesterday" => Some(today() - 1),
        word @ ("now" | "infinity" | "-infinity" | "+infinity") => {
            return Err(SqlError::new(
                SqlState::FeatureNotSupported,
                format!("the date/time input \"{word}\" is not supported (use now() or a date)"),
            ));
        }
        _ => None,
    })
}

/// Splits a date/time text into its fields; `None` when it is not one of the forms read here.
fn split(s: &str) -> Option<Parts> {
    let lower = s.trim().to_ascii_lowercase();
    let mut parts = Parts::default();
    if lower == "epoch" {
        parts.epoch = true;
        return Some(parts);
    }
    let b = lower.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| -> Option<(i64, usize)> {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        let n = *i - start;
        if n == 0 || n > 9 {
            return None;
        }
        lower[start..*i].parse().ok().map(|v| (v, n))
    };
    // the date
    let (first, n) = digits(&mut i)?;
    match b.get(i) {
        Some(b'-') => {
            i += 1;
            let (m, _) = digits(&mut i)?;
            if b.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
            let (d, _) = digits(&mut i)?;
            parts.date = Some((first, m, d));
        }
        Some(b'/') => {
            i += 1;
            let (d, _) = digits(&mut i)?;
            if b.get(i) != Some(&b'/') {
                return None;
            }
            i += 1;
            let (y, _) = digits(&mut i)?;
            parts.date = Some((y, first, d));
        }
        _ if n == 8 => parts.date = Some((first / 10_000, first / 100 % 100, first % 100)),
        _ => return None,
    }
    // the time, after a `T` or spaces
    let rest = &lower[i..];
    let after_sep = match rest.strip_prefix('t') {
        Some(after) if !after.starts_with(|c: char| c.is_ascii_digit()) => return None,
        Some(after) => after,
        None if rest.starts_with(char::is_whitespace) => rest.trim_start(),
        None => rest,
    };
    let mut i = b.len() - after_sep.len();
    if after_sep.len() < rest.len() && after_sep.starts_with(|c: char| c.is_ascii_digit()) {
        let (h, _) = digits(&mut i)?;
        let (mut m, mut sec, mut micros) = (0, 0, 0);
        if b.get(i) == Some(&b':') {
            i += 1;
            m = digits(&mut i)?.0;
            if b.get(i) == Some(&b':') {
                i += 1;
                sec = digits(&mut i)?.0;
                if b.get(i) == Some(&b'.') {
                    i += 1;
                    let start = i;
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    micros = fraction_micros(&lower[start..i])?;
                }
            }
        } else if !lower[i..].trim_start().starts_with(['a', 'p']) {
            return None;
        }
        let mut h = h;
        let tail = lower[i..].trim_start();
        for (word, pm) in [("am", false), ("a.m.", false), ("pm", true), ("p.m.", true)] {
            if let Some(after) = tail.strip_prefix(word)
                && !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '_')
            {
                // an hour past 12 with AM/PM is out of range (22008), as an hour of 25
                h = if (1..=12).contains(&h) { h % 12 + if pm { 12 } else { 0 } } else { 99 };
                i = lower.len() - after.len();
                break;
            }
        }
        parts.time = Some((h, m, sec, micros));
    }
    // the zone
    let zone = lower[i..].trim();
    if !zone.is_empty() {
        parts.zone = Some(match zone_offset(zone) {
            Some(east) => Zone::Fixed(east),
            None if zone.starts_with(['+', '-'])
                && zone[1..].bytes().all(|b| b.is_ascii_digit() || b == b':') =>
            {
                parts.zone_out_of_range = true;
                Zone::Fixed(0)
            }
            None => Zone::named(zone, false)?,
        });
    }
    Some(parts)
}

/// The digits of a fraction of a second as microseconds, rounded half to even (as
/// PostgreSQL's `rint`).
fn fraction_micros(digits: &str) -> Option<i64> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut padded: String = digits.chars().take(6).collect();
    while padded.len() < 6 {
        padded.push('0');
    }
    let micros: i64 = padded.parse().ok()?;
    let rest = digits.get(6..).unwrap_or("");
    let first = rest.bytes().next().map_or(0, |b| b - b'0');
    let beyond = rest.bytes().skip(1).any(|b| b != b'0');
    let up = first > 5 || (first == 5 && (beyond || micros % 2 == 1));
    Some(micros + i64::from(up))
}

/// The offset east of UTC, in seconds, of a zone written after a time: `z`, `utc`, `gmt`,
/// `+05`, `+05:30`, `-0800`, `+05:30:15`.
fn zone_offset(zone: &str) -> Option<i64> {
    if matches!(zone, "z" | "utc" | "gmt" | "zulu" | "ut") {
        return Some(0);
    }
    let zone = zone.strip_prefix("utc").or_else(|| zone.strip_prefix("gmt")).unwrap_or(zone);
    let (sign, body) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    let fields: Vec<&str> = body.split(':').collect();
    let num = |s: &str| -> Option<i64> {
        if s.is_empty() || s.len() > 2 || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (h, m, s) = match fields.as_slice() {
        [hm] if hm.len() == 4 && hm.bytes().all(|c| c.is_ascii_digit()) => {
            (num(&hm[..2])?, num(&hm[2..])?, 0)
        }
        [h] => (num(h)?, 0, 0),
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, s] => (num(h)?, num(m)?, num(s)?),
        _ => return None,
    };
    if h > 15 || m > 59 || s > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60 + s))
}

/// A time zone: a fixed offset east of UTC (seconds), or a zone of the tz database.
#[derive(Clone, Copy, Debug)]
pub enum Zone {
    Fixed(i64),
    Named(chrono_tz::Tz),
}

/// The abbreviations PostgreSQL's default set reads as fixed offsets (hours east of UTC),
/// before the tz database's names.
const ABBREVIATIONS: &[(&str, i64)] = &[
    ("utc", 0),
    ("gmt", 0),
    ("ut", 0),
    ("z", 0),
    ("zulu", 0),
    ("est", -5),
    ("edt", -4),
    ("cst", -6),
    ("cdt", -5),
    ("mst", -7),
    ("mdt", -6),
    ("pst", -8),
    ("pdt", -7),
    ("cet", 1),
    ("cest", 2),
    ("eet", 2),
    ("eest", 3),
    ("wet", 0),
    ("west", 1),
    ("jst", 9),
    ("hst", -10),
];

impl Zone {
    /// A zone by name: an abbreviation, a tz database name (any case), or a POSIX offset
    /// (`+05`, `UTC-3`: hours *west* of UTC, as PostgreSQL's `AT TIME ZONE` reads them when
    /// `posix`; east of UTC in a timestamp literal).
    pub fn named(name: &str, posix: bool) -> Option<Zone> {
        let lower = name.trim().to_ascii_lowercase();
        if let Some((_, hours)) = ABBREVIATIONS.iter().find(|(a, _)| *a == lower) {
            return Some(Zone::Fixed(hours * 3600));
        }
        let numeric =
            lower.strip_prefix("utc").or_else(|| lower.strip_prefix("gmt")).unwrap_or(&lower);
        if numeric.starts_with(['+', '-']) {
            let east = zone_offset(numeric)?;
            return Some(Zone::Fixed(if posix { -east } else { east }));
        }
        if let Ok(tz) = name.trim().parse::<chrono_tz::Tz>() {
            return Some(Zone::Named(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name.trim()))
            .map(|tz| Zone::Named(*tz))
    }

    /// The offset east of UTC, in seconds, at the instant `utc_micros`.
    pub fn offset_at_utc(&self, utc_micros: i64) -> Option<i64> {
        use chrono::{Offset, TimeZone};
        match self {
            Zone::Fixed(s) => Some(*s),
            Zone::Named(tz) => {
                let utc = datetime_of(utc_micros)?;
                Some(i64::from(tz.offset_from_utc_datetime(&utc).fix().local_minus_utc()))
            }
        }
    }

    /// The UTC instant of the wall-clock time `local_micros` in this zone. A time skipped by a
    /// change to summer time reads with the offset before the change, a time repeated by the
    /// change back as the later instant (standard time), as PostgreSQL resolves them.
    pub fn local_to_utc(&self, local_micros: i64) -> Option<i64> {
        use chrono::{LocalResult, Offset, TimeZone};
        let offset = match self {
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => {
                let local = datetime_of(local_micros)?;
                let fix =
                    |o: &<chrono_tz::Tz as TimeZone>::Offset| i64::from(o.fix().local_minus_utc());
                match tz.offset_from_local_datetime(&local) {
                    LocalResult::Single(o) => fix(&o),
                    LocalResult::Ambiguous(a, b) => fix(&a).min(fix(&b)),
                    LocalResult::None => {
                        let before = datetime_of(local_micros - 3 * MICROS_PER_HOUR)?;
                        fix(&tz.offset_from_local_datetime(&before).earliest()?)
                    }
                }
            }
        };
        local_micros.checked_sub(offset * MICROS_PER_SECOND)
    }
}

fn calendar_date(y: i64, m: i64, d: i64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
}

/// Reads a date (the time and zone of a timestamp text are ignored, as PostgreSQL does).
pub fn parse_date(s: &str) -> Result<i64, SqlError> {
    if let Some(days) = special(s)? {
        return Ok(days);
    }
    let parts = split(s).ok_or_else(|| bad_syntax("date", s))?;
    if parts.epoch {
        return Ok(0);
    }
    let (y, m, d) = parts.date.ok_or_else(|| bad_syntax("date", s))?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(out_of_range(s));
    }
    calendar_date(y, m, d).map(days_of).ok_or_else(|| out_of_range(s))
}

/// Reads a timestamp; `with_zone` for a timestamptz, where an offset moves the instant to UTC
/// (a timestamp without time zone ignores the offset).
pub fn parse_timestamp(s: &str, with_zone: bool) -> Result<i64, SqlError> {
    let type_name =
        if with_zone { "timestamp with time zone" } else { "timestamp without time zone" };
    if let Some(days) = special(s)? {
        return Ok(days * MICROS_PER_DAY);
    }
    let parts = split(s).ok_or_else(|| bad_syntax(type_name, s))?;
    if parts.epoch {
        return Ok(0);
    }
    let (y, m, d) = parts.date.ok_or_else(|| bad_syntax(type_name, s))?;
    if parts.zone_out_of_range {
        return Err(SqlError::new(
            SqlState::InvalidTimeZoneDisplacementValue,
            format!("time zone displacement out of range: \"{s}\""),
        ));
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(out_of_range(s));
    }
    let date = calendar_date(y, m, d).ok_or_else(|| out_of_range(s))?;
    let (h, mi, sec, micros) = parts.time.unwrap_or_default();
    let valid = (0..=23).contains(&h) && (0..=59).contains(&mi) && (0..=60).contains(&sec)
        || (h == 24 && mi == 0 && sec == 0 && micros == 0);
    if !valid {
        return Err(out_of_range(s));
    }
    let day_micros = ((h * 60 + mi) * 60 + sec) * MICROS_PER_SECOND + micros;
    let mut at = days_of(date)
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(day_micros))
        .ok_or_else(|| out_of_range(s))?;
    if with_zone && let Some(zone) = parts.zone {
        at = zone.local_to_utc(at).ok_or_else(|| out_of_range(s))?;
    }
    Ok(at)
}

/// Reads a time of day (`time`) as microseconds since midnight: `10:30`, `10:30:15.5`,
/// `10:30 pm`, `T10:30`, `allballs`, a time with a zone (the zone is ignored, as PostgreSQL
/// ignores it for `time`), or a timestamp's text (its time of day). `24:00:00` is the end of
/// the day. Fractions round to microseconds.
pub fn parse_time(s: &str) -> Result<i64, SqlError> {
    let type_name = "time without time zone";
    let lower = s.trim().to_ascii_lowercase();
    if lower == "allballs" {
        return Ok(0);
    }
    let parts = match split(&lower) {
        Some(parts) if parts.date.is_some() => parts,
        _ => {
            let clock = lower.strip_prefix('t').unwrap_or(&lower);
            split(&format!("2000-01-01 {clock}")).ok_or_else(|| bad_syntax(type_name, s))?
        }
    };
    let (h, mi, sec, micros) = parts.time.ok_or_else(|| bad_syntax(type_name, s))?;
    let valid = (0..=23).contains(&h) && (0..=59).contains(&mi) && (0..=60).contains(&sec)
        || (h == 24 && mi == 0 && sec == 0 && micros == 0);
    let at = ((h * 60 + mi) * 60 + sec) * MICROS_PER_SECOND + micros;
    if !valid || at > MICROS_PER_DAY {
        return Err(out_of_range(s));
    }
    Ok(at)
}

/// Formats a time of day as `HH:MM:SS` with the fraction's significant digits.
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(MICROS_PER_SECOND);
    let frac = micros.rem_euclid(MICROS_PER_SECOND);
    let mut out = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac > 0 {
        let digits = format!("{frac:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// Rounds a time of day to `precision` fractional digits (`time(p)`), half away from zero.
pub fn round_time(micros: i64, precision: Option<u8>) -> i64 {
    match precision {
        Some(p) if p < 6 => {
            let unit = 10i64.pow(6 - u32::from(p));
            (micros + unit / 2) / unit * unit
        }
        _ => micros,
    }
}

/// Formats a date as `YYYY-MM-DD` (`YYYY-MM-DD BC` before year 1).
pub fn format_date(days: i64) -> String {
    match date_of(days) {
        Some(d) if d.year() > 0 => d.format("%Y-%m-%d").to_string(),
        Some(d) => format!("{:04}-{:02}-{:02} BC", 1 - d.year(), d.month(), d.day()),
        None => days.to_string(),
    }
}

/// Formats a timestamp as `YYYY-MM-DD HH:MM:SS[.ffffff]` (trailing zeros of the fraction
/// dropped); `zone` appends `+00`, the session's (UTC) offset.
pub fn format_timestamp(micros: i64, zone: bool) -> String {
    let Some(dt) = datetime_of(micros) else { return micros.to_string() };
    let mut out = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year().abs(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let frac = micros.rem_euclid(MICROS_PER_SECOND);
    if frac != 0 {
        out.push_str(format!(".{frac:06}").trim_end_matches('0'));
    }
    if zone {
        out.push_str("+00");
    }
    if dt.year() <= 0 {
        out.push_str(" BC");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Intervals

const INTERVAL: &str = "interval";

/// Reads an interval in PostgreSQL's verbose form or ISO 8601's.
pub fn parse_interval(s: &str) -> Result<Interval, SqlError> {
    let lower = s.trim().to_ascii_lowercase();
    let acc = if let Some(iso) = lower.strip_prefix('p') {
        parse_iso_interval(iso).ok_or_else(|| bad_syntax(INTERVAL, s))?
    } else {
        parse_verbose_interval(&lower).ok_or_else(|| bad_syntax(INTERVAL, s))?
    };
    acc.finish().ok_or_else(|| interval_out_of_range_input(s))
}

fn interval_out_of_range_input(s: &str) -> SqlError {
    SqlError::new(
        SqlState::DatetimeFieldOverflow,
        format!("interval field value out of range: \"{s}\""),
    )
}

/// An interval being read: whole months and days, and the rest in microseconds (fractions
/// of larger units cascade down: a month's fraction as 30 days, a day's as 24 hours).
#[derive(Default)]
struct IntervalAcc {
    months: f64,
    days: f64,
    micros: f64,
}

impl IntervalAcc {
    fn add(&mut self, quantity: f64, unit: &str) -> Option<()> {
        let (months, days, micros): (f64, f64, f64) = match unit {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => {
                (0.0, 0.0, 1.0)
            }
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => {
                (0.0, 0.0, 1e3)
            }
            "second" | "seconds" | "s" | "sec" | "secs" => (0.0, 0.0, 1e6),
            "minute" | "minutes" | "m" | "min" | "mins" => (0.0, 0.0, 6e7),
            "hour" | "hours" | "h" | "hr" | "hrs" => (0.0, 0.0, 3.6e9),
            "day" | "days" | "d" => (0.0, 1.0, 0.0),
            "week" | "weeks" | "w" => (0.0, 7.0, 0.0),
            "month" | "months" | "mon" | "mons" => (1.0, 0.0, 0.0),
            "year" | "years" | "y" | "yr" | "yrs" => (12.0, 0.0, 0.0),
            "decade" | "decades" => (120.0, 0.0, 0.0),
            "century" | "centuries" | "c" => (1200.0, 0.0, 0.0),
            "millennium" | "millennia" | "mil" | "mils" => (12000.0, 0.0, 0.0),
            _ => return None,
        };
        if months != 0.0 {
            let whole = (quantity * months).trunc();
            self.months += whole;
            let frac_days = (quantity * months - whole) * 30.0;
            self.cascade_days(frac_days);
        } else if days != 0.0 {
            self.cascade_days(quantity * days);
        } else {
            self.micros += quantity * micros;
        }
        Some(())
    }

    fn cascade_days(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole;
        self.micros += ((days - whole) * MICROS_PER_DAY as f64).round();
    }

    fn finish(&self) -> Option<Interval> {
        let fits32 = |f: f64| f.is_finite() && f >= i32::MIN as f64 && f <= i32::MAX as f64;
        let micros = self.micros.round();
        if !fits32(self.months)
            || !fits32(self.days)
            || !micros.is_finite()
            || micros.abs() > 9.2e18
        {
            return None;
        }
        Some(Interval { months: self.months as i32, days: self.days as i32, micros: micros as i64 })
    }
}

/// `[@] quantity unit ... [hh:mm[:ss[.f]]] [ago]`
fn parse_verbose_interval(s: &str) -> Option<IntervalAcc> {
    let s = s.strip_prefix('@').unwrap_or(s);
    let mut acc = IntervalAcc::default();
    let mut tokens = s.split_whitespace().peekable();
    let mut any = false;
    let mut ago = false;
    while let Some(token) = tokens.next() {
        if ago {
            return None;
        }
        if token == "ago" {
            ago = true;
            continue;
        }
        any = true;
        if token.contains(':') {
            acc.micros += clock_micros(token)?;
            continue;
        }
        // a number, with its unit attached (`2h`) or as the next word; alone, seconds
        let split_at = token
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(token.len());
        let (number, attached) = token.split_at(split_at);
        let quantity: f64 = number.parse().ok().filter(|q: &f64| q.is_finite())?;
        let unit = if !attached.is_empty() {
            attached.to_string()
        } else {
            match tokens.peek() {
                Some(next)
                    if next.starts_with(|c: char| c.is_ascii_alphabetic()) && *next != "ago" =>
                {
                    tokens.next().unwrap_or_default().to_string()
                }
                _ => "second".to_string(),
            }
        };
        acc.add(quantity, &unit)?;
    }
    if !any {
        return None;
    }
    if ago {
        acc.months = -acc.months;
        acc.days = -acc.days;
        acc.micros = -acc.micros;
    }
    Some(acc)
}

/// `[-]hh:mm[:ss[.ffffff]]` as signed microseconds.
fn clock_micros(token: &str) -> Option<f64> {
    let (sign, body) = match token.as_bytes().first()? {
        b'-' => (-1.0, &token[1..]),
        b'+' => (1.0, &token[1..]),
        _ => (1.0, token),
    };
    let fields: Vec<&str> = body.split(':').collect();
    let int = |s: &str| -> Option<f64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let seconds = |s: &str| -> Option<f64> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        Some(int(whole)? * 1e6 + fraction_micros(frac)? as f64)
    };
    let micros = match fields.as_slice() {
        [h, m] => int(h)? * 3.6e9 + int(m)? * 6e7,
        [h, m, s] => int(h)? * 3.6e9 + int(m)? * 6e7 + seconds(s)?,
        _ => return None,
    };
    if fields.get(1).and_then(|m| int(m)).is_some_and(|m| m > 59.0) {
        return None;
    }
    Some(sign * micros)
}

/// ISO 8601: `1Y2M3W4DT5H6M7.5S` after the `P`.
fn parse_iso_interval(s: &str) -> Option<IntervalAcc> {
    let mut acc = IntervalAcc::default();
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in s.chars() {
        match c {
            't' if number.is_empty() && !in_time => in_time = true,
            '0'..='9' | '.' | '-' | '+' => number.push(c),
            unit => {
                let q: f64 = number.parse().ok()?;
                number.clear();
                let unit = match (unit, in_time) {
                    ('y', false) => "year",
                    ('m', false) => "month",
                    ('w', false) => "week",
                    ('d', false) => "day",
                    ('h', true) => "hour",
                    ('m', true) => "minute",
                    ('s', true) => "second",
                    _ => return None,
                };
                acc.add(q, unit)?;
                any = true;
            }
        }
    }
    (any && number.is_empty()).then_some(acc)
}

/// Formats an interval as PostgreSQL's `postgres` style: `1 year 2 mons -3 days +04:05:06.5`.
pub fn format_interval(iv: &Interval) -> String {
    let mut out = String::new();
    let mut is_zero = true;
    let mut is_before = false;
    let mut part = |out: &mut String, value: i64, unit: &str| {
        if value == 0 {
            return;
        }
        if !is_zero {
            out.push(' ');
        }
        if is_before && value > 0 {
            out.push('+');
        }
        out.push_str(&format!("{value} {unit}{}", if value != 1 { "s" } else { "" }));
        is_before = value < 0;
        is_zero = false;
    };
    let months = i64::from(iv.months);
    part(&mut out, months / 12, "year");
    part(&mut out, months % 12, "mon");
    part(&mut out, i64::from(iv.days), "day");
    let t = iv.micros;
    if is_zero || t != 0 {
        let hours = t / MICROS_PER_HOUR;
        let minutes = t / 60_000_000 % 60;
        let seconds = t / MICROS_PER_SECOND % 60;
        let frac = t % MICROS_PER_SECOND;
        if !is_zero {
            out.push(' ');
        }
        if t < 0 {
            out.push('-');
        } else if is_before {
            out.push('+');
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            hours.unsigned_abs(),
            minutes.unsigned_abs(),
            seconds.unsigned_abs()
        ));
        if frac != 0 {
            out.push_str(format!(".{:06}", frac.unsigned_abs()).trim_end_matches('0'));
        }
    }
    out
}

/// `ts + iv` on a timestamp (microseconds): months first (a day past the new month's end
/// becomes its last day), then days, then the time.
pub fn add_interval(micros: i64, iv: &Interval) -> Result<i64, SqlError> {
    let mut dt = datetime_of(micros).ok_or_else(timestamp_out_of_range)?;
    if iv.months != 0 {
        let n = Months::new(iv.months.unsigned_abs());
        dt = if iv.months > 0 { dt.checked_add_months(n) } else { dt.checked_sub_months(n) }
            .ok_or_else(timestamp_out_of_range)?;
    }
    if iv.days != 0 {
        let n = Days::new(u64::from(iv.days.unsigned_abs()));
        dt = if iv.days > 0 { dt.checked_add_days(n) } else { dt.checked_sub_days(n) }
            .ok_or_else(timestamp_out_of_range)?;
    }
    micros_of(dt).checked_add(iv.micros).ok_or_else(timestamp_out_of_range)
}

/// `a - b` of two timestamps: the difference in days and time (no months), as PostgreSQL's
/// `timestamp_mi` with its `justify_hours`.
pub fn subtract_timestamps(a: i64, b: i64) -> Result<Interval, SqlError> {
    let diff = a.checked_sub(b).ok_or_else(interval_out_of_range)?;
    let days = diff / MICROS_PER_DAY;
    Ok(Interval {
        months: 0,
        days: i32::try_from(days).map_err(|_| interval_out_of_range())?,
        micros: diff - days * MICROS_PER_DAY,
    })
}

/// `a + b` or `a - b` of two intervals, field by field.
pub fn combine_intervals(a: &Interval, b: &Interval, subtract: bool) -> Result<Interval, SqlError> {
    let sign = if subtract { -1 } else { 1 };
    Ok(Interval {
        months: a.months.checked_add(sign * b.months).ok_or_else(interval_out_of_range)?,
        days: a.days.checked_add(sign * b.days).ok_or_else(interval_out_of_range)?,
        micros: a.micros.checked_add(sign as i64 * b.micros).ok_or_else(interval_out_of_range)?,
    })
}

/// `-iv`.
pub fn negate_interval(iv: &Interval) -> Result<Interval, SqlError> {
    combine_intervals(&Interval::default(), iv, true)
}

/// `iv * factor` (or `iv / divisor` with `factor` its inverse computed by the caller), as
/// PostgreSQL's `interval_mul`: fractions of months cascade into days (30 a month), fractions
/// of days into time.
pub fn scale_interval(iv: &Interval, factor: f64, divide: bool) -> Result<Interval, SqlError> {
    let op = |x: f64| if divide { x / factor } else { x * factor };
    if divide && factor == 0.0 {
        return Err(SqlError::new(SqlState::DivisionByZero, "division by zero"));
    }
    let round_micro = |x: f64| (x * 1e6).round_ties_even() / 1e6;
    let fits = |x: f64| x.is_finite() && x >= i32::MIN as f64 && x <= i32::MAX as f64;
    let month_f = op(f64::from(iv.months));
    let day_f = op(f64::from(iv.days));
    if !fits(month_f) || !fits(day_f) {
        return Err(interval_out_of_range());
    }
    let mut months = month_f as i32;
    let mut days = day_f as i32;
    let month_remainder_days = round_micro((month_f - f64::from(months)) * 30.0);
    let mut sec_remainder = round_micro(
        (day_f - f64::from(days) + month_remainder_days - month_remainder_days.trunc()) * 86_400.0,
    );
    if sec_remainder.abs() >= 86_400.0 {
        let whole = (sec_remainder / 86_400.0).trunc();
        days = days.checked_add(whole as i32).ok_or_else(interval_out_of_range)?;
        sec_remainder -= whole * 86_400.0;
    }
    days = days.checked_add(month_remainder_days as i32).ok_or_else(interval_out_of_range)?;
    let time = (op(iv.micros as f64) + sec_remainder * 1e6).round_ties_even();
    if !time.is_finite() || time.abs() > 9.2e18 {
        return Err(interval_out_of_range());
    }
    months = months.clamp(i32::MIN, i32::MAX);
    Ok(Interval { months, days, micros: time as i64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str, zone: bool) -> String {
        format_timestamp(parse_timestamp(s, zone).unwrap(), zone)
    }

    #[test]
    fn timestamps_read_postgres_forms() {
        assert_eq!(ts("2024-01-31 10:00+00", true), "2024-01-31 10:00:00+00");
        assert_eq!(ts("2024-01-31 10:00+05:30", true), "2024-01-31 04:30:00+00");
        assert_eq!(ts("2024-01-31T10:00:00-08", true), "2024-01-31 18:00:00+00");
        assert_eq!(ts("2024-01-31T10:00:00Z", true), "2024-01-31 10:00:00+00");
        assert_eq!(ts("2024-01-31 10:00:00.1234567 UTC", true), "2024-01-31 10:00:00.123457+00");
        assert_eq!(ts("2024-01-31 10:00+05", false), "2024-01-31 10:00:00");
        assert_eq!(ts("2024-01-31", false), "2024-01-31 00:00:00");
        assert_eq!(ts("01/31/2024 3pm", false), "2024-01-31 15:00:00");
        assert_eq!(ts("2024-01-31 24:00", false), "2024-02-01 00:00:00");
        assert_eq!(parse_timestamp("2024-02-30", false).unwrap_err().code, "22008");
        assert_eq!(parse_timestamp("yesterdayish", false).unwrap_err().code, "22007");
        assert_eq!(parse_date("2024-01-31 10:00+05").map(format_date).unwrap(), "2024-01-31");
    }

    #[test]
    fn intervals_read_and_print_as_postgres() {
        let iv = |s: &str| format_interval(&parse_interval(s).unwrap());
        assert_eq!(iv("1 year 2 mons 3 days 04:05:06"), "1 year 2 mons 3 days 04:05:06");
        assert_eq!(iv("-1 day"), "-1 days");
        assert_eq!(iv("-1 day 2 hours"), "-1 days +02:00:00");
        assert_eq!(iv("1.5 months"), "1 mon 15 days");
        assert_eq!(iv("P1Y2M"), "1 year 2 mons");
        assert_eq!(iv("PT1H30M"), "01:30:00");
        assert_eq!(iv("1 day ago"), "-1 days");
        assert_eq!(iv("0"), "00:00:00");
        assert_eq!(iv("90 minutes"), "01:30:00");
        assert_eq!(iv("-00:00:01.5"), "-00:00:01.5");
        assert!(parse_interval("fortnight").is_err());
    }

    #[test]
    fn month_arithmetic_clamps_to_month_end() {
        let jan31 = parse_timestamp("2024-01-31", false).unwrap();
        let month = parse_interval("1 month").unwrap();
        assert_eq!(
            format_timestamp(add_interval(jan31, &month).unwrap(), false),
            "2024-02-29 00:00:00"
        );
    }
}
