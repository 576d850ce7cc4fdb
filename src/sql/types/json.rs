//! `json` and `jsonb` input: a value is checked to be JSON (22P02 "invalid input syntax for
//! type json" otherwise, as PostgreSQL), a `json` kept as written, a `jsonb` stored in
//! PostgreSQL's canonical text: object keys ordered shorter first, then bytewise, a repeated
//! key keeping its last value, `", "` and `": "` between items, numbers as numerics print
//! (`1.50` stays, `1e2` is `100`), strings re-escaped. So a `jsonb` reads back (and
//! `dumpdata` prints it) as PostgreSQL's would.
//!
//! Invariant: [`normalize`] of its own output is that output.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::error::SqlState;
use crate::sql::error::SqlError;

/// A parsed JSON value; numbers keep their text.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
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
            // the last of a repeated key wins; keys shorter first, then bytewise
            let mut keyed: Vec<(&String, &Json)> = Vec::with_capacity(items.len());
            for (k, v) in items {
                match keyed.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1 = v,
                    None => keyed.push((k, v)),
                }
            }
            keyed.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(b.0)));
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
