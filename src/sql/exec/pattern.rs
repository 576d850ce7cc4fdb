//! Regular expressions as PostgreSQL reads them: the `~` family of operators, `regexp_replace`,
//! `regexp_match`, `substring(s FROM pattern)` and `SIMILAR TO`, run by the `regex` crate.
//!
//! PostgreSQL's advanced regular expressions (AREs) are translated to the crate's syntax where
//! they differ in common use: `.` matches a newline (unless the `n` flag asks for
//! newline-sensitive matching), `\m \M \y` are word boundaries, `\Z` the end, `{` not starting
//! a bound is a literal, `***=` makes the rest literal, leading `(?i)`-style options apply.
//! Back-references (`\1`) have no counterpart and are refused with 0A000; a pattern the crate
//! cannot compile is 2201B, as PostgreSQL reports invalid patterns.
//!
//! Invariant: compiled patterns are cached per thread (bounded), so a pattern used on every row
//! of a scan is compiled once, and nothing here panics on any pattern or input.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Captures, Regex, RegexBuilder};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::types::Value;

/// How a pattern is matched: PostgreSQL's flags, as far as isola honours them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Flags {
    pub case_insensitive: bool,
    /// `n`: `.` and bracket expressions do not match a newline; `^` and `$` match at lines.
    pub newline_sensitive: bool,
    /// `x`: whitespace and `#` comments in the pattern are ignored.
    pub expanded: bool,
    /// `g` (regexp_replace): every match, not only the first.
    pub global: bool,
}

impl Flags {
    /// Parses a flags argument (`'gi'`); an unknown letter is 22023 as in PostgreSQL.
    pub fn parse(text: &str) -> Result<Flags, SqlError> {
        let mut flags = Flags::default();
        for c in text.chars() {
            match c {
                'g' => flags.global = true,
                'i' => flags.case_insensitive = true,
                'c' => flags.case_insensitive = false,
                'n' | 'm' => flags.newline_sensitive = true,
                's' => flags.newline_sensitive = false,
                'x' => flags.expanded = true,
                't' => flags.expanded = false,
                other => {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        format!("invalid regular expression option: \"{other}\""),
                    ));
                }
            }
        }
        Ok(flags)
    }
}

fn invalid(message: impl std::fmt::Display) -> SqlError {
    SqlError::new(
        SqlState::InvalidRegularExpression,
        format!("invalid regular expression: {message}"),
    )
}

/// Translates an ARE into the `regex` crate's syntax; `flags` may be changed by embedded
/// options at its start (`(?i)`).
fn translate(pattern: &str, flags: &mut Flags) -> Result<String, SqlError> {
    if let Some(literal) = pattern.strip_prefix("***=") {
        return Ok(regex::escape(literal));
    }
    let mut rest = pattern.strip_prefix("***:").unwrap_or(pattern);
    // embedded options: `(?letters)` at the very start
    if let Some(body) = rest.strip_prefix("(?")
        && let Some(end) = body.find(')')
        && body[..end].chars().all(|c| c.is_ascii_alphabetic())
    {
        let letters = &body[..end];
        if letters.contains('q') {
            return Ok(regex::escape(&body[end + 1..]));
        }
        for c in letters.chars() {
            match c {
                'i' => flags.case_insensitive = true,
                'c' => flags.case_insensitive = false,
                'n' | 'm' | 'w' => flags.newline_sensitive = true,
                's' | 'p' => flags.newline_sensitive = false,
                'x' => flags.expanded = true,
                't' => flags.expanded = false,
                other => {
                    return Err(invalid(format!("invalid embedded option \"{other}\"")));
                }
            }
        }
        rest = &body[end + 1..];
    }
    let chars: Vec<char> = rest.chars().collect();
    let mut out = String::with_capacity(rest.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(invalid("invalid escape \\ sequence"));
                };
                match next {
                    '1'..='9' => {
                        return Err(SqlError::new(
                            SqlState::FeatureNotSupported,
                            "back-references in regular expressions are not supported",
                        ));
                    }
                    'm' | 'M' | 'y' => out.push_str("\\b"),
                    'Y' => out.push_str("\\B"),
                    'Z' => out.push_str("\\z"),
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
                i += 2;
            }
            '[' => {
                let tail: String = chars[i..].iter().take(7).collect();
                if tail == "[[:<:]]" || tail == "[[:>:]]" {
                    out.push_str("\\b");
                    i += 7;
                    continue;
                }
                i = bracket(&chars, i, &mut out)?;
            }
            '{' if !chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                out.push_str("\\{");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Copies the bracket expression starting at `chars[start]` (`[`), escaping what the crate
/// would read as a nested class or a set operation; returns the index after its `]`.
fn bracket(chars: &[char], start: usize, out: &mut String) -> Result<usize, SqlError> {
    let mut i = start + 1;
    out.push('[');
    if chars.get(i) == Some(&'^') {
        out.push('^');
        i += 1;
    }
    // a `]` first is a literal
    if chars.get(i) == Some(&']') {
        out.push_str("\\]");
        i += 1;
    }
    while i < chars.len() {
        let c = chars[i];
        match c {
            ']' => {
                out.push(']');
                return Ok(i + 1);
            }
            '[' if matches!(chars.get(i + 1), Some(':' | '.' | '=')) => {
                let kind = chars[i + 1];
                let close = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == kind && chars[j + 1] == ']')
                    .ok_or_else(|| invalid("brackets [] not balanced"))?;
                let inner: String = chars[i + 2..close].iter().collect();
                match kind {
                    ':' => out.push_str(&format!("[:{inner}:]")),
                    _ => out.push_str(&regex::escape(&inner)),
                }
                i = close + 2;
            }
            '\\' => {
                let next = chars.get(i + 1).ok_or_else(|| invalid("invalid escape \\ sequence"))?;
                out.push('\\');
                out.push(*next);
                i += 2;
            }
            '[' | '&' | '~' => {
                out.push('\\');
                out.push(c);
                i += 1;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push_str("\\-");
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(invalid("brackets [] not balanced"))
}

/// How many compiled patterns each thread keeps.
const CACHE_CAPACITY: usize = 128;

thread_local! {
    static CACHE: RefCell<HashMap<(String, Flags), Regex>> = RefCell::new(HashMap::new());
}

/// Compiles (or finds compiled) `pattern` with `flags`.
pub fn compile(pattern: &str, flags: Flags) -> Result<Regex, SqlError> {
    let key = (pattern.to_string(), Flags { global: false, ..flags });
    if let Some(re) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(re);
    }
    let mut flags = key.1;
    let translated = translate(pattern, &mut flags)?;
    let re = RegexBuilder::new(&translated)
        .case_insensitive(flags.case_insensitive)
        .dot_matches_new_line(!flags.newline_sensitive)
        .multi_line(flags.newline_sensitive)
        .ignore_whitespace(flags.expanded)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => invalid("regular expression is too complex"),
            other => invalid(first_line(&other.to_string())),
        })?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_CAPACITY {
            c.clear();
        }
        c.insert(key, re.clone());
    });
    Ok(re)
}

/// The crate's message, without its ASCII-art pointer lines, in PostgreSQL's words where
/// the two name the same mistake.
fn first_line(message: &str) -> String {
    let line = message.lines().rfind(|l| l.starts_with("error:")).unwrap_or(message);
    let line = line.trim_start_matches("error:").trim();
    match line {
        "unclosed group" | "unopened group" => "parentheses () not balanced",
        "unclosed character class" => "brackets [] not balanced",
        "repetition operator missing expression" => "quantifier operand invalid",
        other => other,
    }
    .to_string()
}

/// `s ~ pattern` (`~*` with `case_insensitive`).
pub fn matches(s: &str, pattern: &str, case_insensitive: bool) -> Result<bool, SqlError> {
    Ok(compile(pattern, Flags { case_insensitive, ..Flags::default() })?.is_match(s))
}

/// `regexp_replace(s, pattern, replacement, flags)`: `\1`..`\9` in the replacement are the
/// groups, `\&` the whole match, `\\` a backslash.
pub fn replace(
    s: &str,
    pattern: &str,
    replacement: &str,
    flags: Flags,
) -> Result<String, SqlError> {
    let re = compile(pattern, flags)?;
    let expand = |caps: &Captures| -> String {
        let mut out = String::new();
        let mut chars = replacement.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.peek().copied() {
                Some(d @ '1'..='9') => {
                    chars.next();
                    let n = d as usize - '0' as usize;
                    out.push_str(caps.get(n).map_or("", |m| m.as_str()));
                }
                Some('&') => {
                    chars.next();
                    out.push_str(caps.get(0).map_or("", |m| m.as_str()));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            }
        }
        out
    };
    let limit = if flags.global { 0 } else { 1 };
    Ok(re.replacen(s, limit, |caps: &Captures| expand(caps)).into_owned())
}

/// `regexp_match(s, pattern, flags)`: the groups of the first match (the whole match when the
/// pattern has no groups), NULL for a group that took no part; `None` when nothing matches.
pub fn first_match(s: &str, pattern: &str, flags: Flags) -> Result<Option<Vec<Value>>, SqlError> {
    if flags.global {
        return Err(SqlError::new(
            SqlState::InvalidParameterValue,
            "regexp_match() does not support the \"global\" option",
        ));
    }
    let re = compile(pattern, flags)?;
    let Some(caps) = re.captures(s) else { return Ok(None) };
    let text = |m: Option<regex::Match>| m.map_or(Value::Null, |m| Value::Text(m.as_str().into()));
    Ok(Some(if caps.len() == 1 {
        vec![text(caps.get(0))]
    } else {
        (1..caps.len()).map(|i| text(caps.get(i))).collect()
    }))
}

/// `substring(s FROM pattern)`: the first group of the first match (the whole match when the
/// pattern has no groups); `None` when nothing matches or the group took no part.
pub fn substring(s: &str, pattern: &str) -> Result<Option<String>, SqlError> {
    let re = compile(pattern, Flags::default())?;
    let Some(caps) = re.captures(s) else { return Ok(None) };
    let m = if caps.len() > 1 { caps.get(1) } else { caps.get(0) };
    Ok(m.map(|m| m.as_str().to_string()))
}

/// `s SIMILAR TO pattern [ESCAPE escape]`: the SQL pattern as a whole-string regex (`%` any
/// string, `_` any character, the escape character (default `\`) quoting the next one).
pub fn similar(s: &str, pattern: &str, escape: Option<&str>) -> Result<bool, SqlError> {
    let escape = match escape {
        None => Some('\\'),
        Some("") => None,
        Some(e) if e.chars().count() == 1 => e.chars().next(),
        Some(_) => {
            return Err(SqlError::new(SqlState::InvalidEscapeSequence, "invalid escape string")
                .with_detail("Escape string must be empty or one character."));
        }
    };
    let mut re = String::from("^(?:");
    let mut chars = pattern.chars();
    let mut in_bracket = false;
    while let Some(c) = chars.next() {
        if Some(c) == escape {
            match chars.next() {
                Some(n) => re.push_str(&regex::escape(&n.to_string())),
                None => {
                    return Err(SqlError::new(
                        SqlState::InvalidEscapeSequence,
                        "invalid escape string",
                    ));
                }
            }
            continue;
        }
        if in_bracket {
            if c == ']' {
                in_bracket = false;
            }
            re.push(c);
            continue;
        }
        match c {
            '%' => re.push_str(".*"),
            '_' => re.push('.'),
            '[' => {
                in_bracket = true;
                re.push('[');
            }
            '.' | '^' | '$' | '\\' => {
                re.push('\\');
                re.push(c);
            }
            _ => re.push(c),
        }
    }
    re.push_str(")$");
    // the translated pattern is already in the crate's syntax: no ARE translation
    let compiled = compile(&format!("***:{re}"), Flags::default())?;
    Ok(compiled.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_follow_postgres() {
        assert!(matches("foobar", "^foo", false).unwrap());
        assert!(!matches("FOO", "foo", false).unwrap());
        assert!(matches("FOO", "foo", true).unwrap());
        assert!(matches("a\nb", "a.b", false).unwrap());
        assert!(matches("the cat", "\\mcat\\M", false).unwrap());
        assert!(matches("a{b", "a{b", false).unwrap());
        assert!(matches("x[y", "[[]", false).unwrap());
        assert!(matches("a.c", "***=.", false).unwrap());
        assert!(!matches("abc", "***=.", false).unwrap());
        assert!(matches("ABC", "(?i)abc", false).unwrap());
        assert_eq!(matches("a", "(", false).unwrap_err().code, "2201B");
        assert_eq!(matches("aa", "(a)\\1", false).unwrap_err().code, "0A000");
    }

    #[test]
    fn functions_follow_postgres() {
        let g = Flags::parse("g").unwrap();
        assert_eq!(replace("foobarbaz", "b(..)", "X\\1Y", Flags::default()).unwrap(), "fooXarYbaz");
        assert_eq!(replace("foobarbaz", "b(..)", "X\\1Y", g).unwrap(), "fooXarYXazY");
        assert_eq!(replace("abc", "b", "[\\&]\\\\", Flags::default()).unwrap(), "a[b]\\c");
        assert_eq!(
            first_match("foobarbequebaz", "(bar)(beque)", Flags::default()).unwrap(),
            Some(vec![Value::Text("bar".into()), Value::Text("beque".into())])
        );
        assert_eq!(first_match("abc", "x", Flags::default()).unwrap(), None);
        assert_eq!(substring("Thomas", "...$").unwrap().as_deref(), Some("mas"));
        assert_eq!(substring("foobar", "o(.)b").unwrap().as_deref(), Some("o"));
        assert_eq!(Flags::parse("z").unwrap_err().code, "22023");
        assert!(similar("abc", "%(b|d)%", None).unwrap());
        assert!(!similar("abc", "a", None).unwrap());
        assert!(similar("a.c", "a.c", None).unwrap());
        assert!(!similar("abc", "a.c", None).unwrap());
        assert!(similar("a%", "a#%", Some("#")).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn any_pattern_compiles_or_errors(p in "[\\\\()\\[\\]{}*+?.^$|:<>=a1mMyZ,-]{0,16}") {
            if let Err(e) = matches("a1 [b]", &p, false) {
                proptest::prop_assert!(["2201B", "0A000"].contains(&e.code.code()), "{}", e.code);
            }
            let _ = similar("a1", &p, None);
        }
    }
}
