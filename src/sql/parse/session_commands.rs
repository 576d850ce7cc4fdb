//! The statements about a session's own objects, recognised from their leading words (before
//! sqlparser, whose grammar for them is incomplete or dialect-bound): SQL-level prepared
//! statements (`PREPARE`, `EXECUTE`, `DEALLOCATE`), cursors (`DECLARE`, `FETCH`, `MOVE`,
//! `CLOSE`), `LISTEN` / `UNLISTEN` / `NOTIFY`, `DISCARD` and `RESET ALL`.
//!
//! Invariants: only the leading words are read here; the statement a `PREPARE` or `DECLARE`
//! wraps, and the arguments of an `EXECUTE`, are kept as the client's text (parsed and bound
//! later like any statement). Names fold as PostgreSQL folds identifiers.

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::parse::utility::{CursorMove, Utility};

/// One lexical item of a statement's head.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    /// An unquoted word (as written) or a number.
    Word(String),
    /// A double-quoted identifier.
    Quoted(String),
    /// A single-quoted string literal's contents.
    Str(String),
    /// Any other character.
    Punct(char),
}

/// Lexes `sql` into items with their starting byte offsets; `None` when a quote is not closed.
fn lex(sql: &str) -> Option<Vec<(Item, usize)>> {
    let mut out = Vec::new();
    let bytes: Vec<(usize, char)> = sql.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        let (at, c) = bytes[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && bytes.get(i + 1).is_some_and(|b| b.1 == '-') {
            while i < bytes.len() && bytes[i].1 != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                let (_, d) = *bytes.get(i)?;
                i += 1;
                if d == c {
                    if bytes.get(i).is_some_and(|b| b.1 == c) {
                        text.push(c);
                        i += 1;
                    } else {
                        break;
                    }
                } else {
                    text.push(d);
                }
            }
            out.push((if c == '"' { Item::Quoted(text) } else { Item::Str(text) }, at));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < bytes.len() && (bytes[i].1.is_alphanumeric() || "_$.".contains(bytes[i].1)) {
                i += 1;
            }
            let word: String = bytes[start..i].iter().map(|b| b.1).collect();
            out.push((Item::Word(word), at));
        } else {
            out.push((Item::Punct(c), at));
            i += 1;
        }
    }
    Some(out)
}

/// Reads items one at a time.
struct Head<'a> {
    sql: &'a str,
    items: Vec<(Item, usize)>,
    at: usize,
}

impl Head<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.items.get(self.at), Some((Item::Word(w), _)) if w.eq_ignore_ascii_case(word))
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self.peek_word(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn punct(&mut self, c: char) -> bool {
        let found = matches!(self.items.get(self.at), Some((Item::Punct(p), _)) if *p == c);
        if found {
            self.at += 1;
        }
        found
    }

    fn done(&self) -> bool {
        self.items[self.at..].iter().all(|(i, _)| *i == Item::Punct(';'))
    }

    /// An identifier, folded as PostgreSQL folds it.
    fn name(&mut self) -> Result<String, SqlError> {
        let name = match self.items.get(self.at) {
            Some((Item::Word(w), _)) if !w.starts_with(|c: char| c.is_ascii_digit()) => {
                w.to_lowercase()
            }
            Some((Item::Quoted(q), _)) => q.clone(),
            _ => return Err(self.syntax()),
        };
        self.at += 1;
        Ok(name)
    }

    /// A signed integer count.
    fn count(&mut self) -> Option<i64> {
        let negative = self.punct('-');
        if !negative {
            self.punct('+');
        }
        match self.items.get(self.at) {
            Some((Item::Word(w), _)) => {
                let n: i64 = w.parse().ok()?;
                self.at += 1;
                Some(if negative { -n } else { n })
            }
            _ => None,
        }
    }

    /// The text from the current item to the end, without a trailing semicolon.
    fn rest(&self) -> &str {
        let start = self.items.get(self.at).map_or(self.sql.len(), |i| i.1);
        self.sql[start..].trim().trim_end_matches(';').trim_end()
    }

    fn syntax(&self) -> SqlError {
        let near = self.items.get(self.at).map_or("end of input".to_string(), |(_, at)| {
            format!("\"{}\"", self.sql[*at..].split_whitespace().next().unwrap_or(""))
        });
        SqlError::syntax(format!("syntax error at or near {near}"))
    }

    fn end(&self) -> Result<(), SqlError> {
        if self.done() { Ok(()) } else { Err(self.syntax()) }
    }
}

/// The statement, if it is one of this module's.
pub fn session_command(sql: &str) -> Result<Option<Utility>, SqlError> {
    let Some(items) = lex(sql) else { return Ok(None) };
    let first = match items.first() {
        Some((Item::Word(w), _)) => w.to_ascii_uppercase(),
        _ => return Ok(None),
    };
    let mut h = Head { sql, items, at: 1 };
    let u = match first.as_str() {
        "RESET" if h.word("all") => {
            h.end()?;
            Utility::ResetAll
        }
        "DISCARD" => {
            let what = if h.word("all") {
                "ALL"
            } else if h.word("plans") {
                "PLANS"
            } else if h.word("sequences") {
                "SEQUENCES"
            } else if h.word("temp") || h.word("temporary") {
                "TEMP"
            } else {
                return Err(h.syntax());
            };
            h.end()?;
            Utility::Discard(what)
        }
        "LISTEN" => {
            let name = h.name()?;
            h.end()?;
            Utility::Listen(name)
        }
        "UNLISTEN" => {
            let name = if h.punct('*') { None } else { Some(h.name()?) };
            h.end()?;
            Utility::Unlisten(name)
        }
        "NOTIFY" => {
            let channel = h.name()?;
            let payload = if h.punct(',') {
                match h.items.get(h.at) {
                    Some((Item::Str(s), _)) => {
                        let s = s.clone();
                        h.at += 1;
                        s
                    }
                    _ => return Err(h.syntax()),
                }
            } else {
                String::new()
            };
            h.end()?;
            Utility::Notify(channel, payload)
        }
        "PREPARE" if h.peek_word("transaction") => {
            return Err(SqlError::unsupported("PREPARE TRANSACTION"));
        }
        "PREPARE" => {
            let name = h.name()?;
            let mut types = Vec::new();
            if h.punct('(') {
                let start = h.items.get(h.at).map_or(sql.len(), |i| i.1);
                let mut depth = 0;
                let mut piece_start = start;
                loop {
                    let Some((item, at)) = h.items.get(h.at).cloned() else {
                        return Err(h.syntax());
                    };
                    h.at += 1;
                    match item {
                        Item::Punct('(') => depth += 1,
                        Item::Punct(')') if depth > 0 => depth -= 1,
                        Item::Punct(c @ (',' | ')')) if depth == 0 => {
                            types.push(sql[piece_start..at].trim().to_string());
                            piece_start = at + 1;
                            if c == ')' {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            if !h.word("as") {
                return Err(h.syntax());
            }
            let statement = h.rest().to_string();
            if statement.is_empty() {
                return Err(h.syntax());
            }
            Utility::PrepareStatement { name, types, statement }
        }
        "EXECUTE" => {
            let name = h.name()?;
            let args = if h.punct('(') {
                let start = h.items.get(h.at).map_or(sql.len(), |i| i.1);
                let rest = h.rest();
                let offset = rest.as_ptr() as usize - sql.as_ptr() as usize;
                let end = offset + rest.len();
                let inner = sql[start..end].trim_end();
                let Some(inner) = inner.strip_suffix(')') else { return Err(h.syntax()) };
                Some(inner.to_string())
            } else {
                h.end()?;
                None
            };
            Utility::ExecuteStatement { name, args }
        }
        "DEALLOCATE" => {
            h.word("prepare");
            let name = if h.word("all") { None } else { Some(h.name()?) };
            h.end()?;
            Utility::Deallocate(name)
        }
        "DECLARE" => {
            let name = h.name()?;
            let (mut binary, mut scroll, mut hold) = (false, None, false);
            loop {
                if h.word("binary") {
                    binary = true;
                } else if h.word("insensitive") || h.word("asensitive") {
                } else if h.word("no") {
                    if !h.word("scroll") {
                        return Err(h.syntax());
                    }
                    scroll = Some(false);
                } else if h.word("scroll") {
                    scroll = Some(true);
                } else {
                    break;
                }
            }
            if !h.word("cursor") {
                return Err(h.syntax());
            }
            if h.word("with") {
                if !h.word("hold") {
                    return Err(h.syntax());
                }
                hold = true;
            } else if h.word("without") && !h.word("hold") {
                return Err(h.syntax());
            }
            if !h.word("for") {
                return Err(h.syntax());
            }
            let query = h.rest().to_string();
            Utility::DeclareCursor { name, binary, scroll, hold, query }
        }
        "FETCH" | "MOVE" => {
            let how = cursor_move(&mut h)?;
            let _ = h.word("from") || h.word("in");
            let name = h.name()?;
            h.end()?;
            Utility::Fetch { name, how, move_only: first == "MOVE" }
        }
        "CLOSE" => {
            let name = if h.word("all") { None } else { Some(h.name()?) };
            h.end()?;
            Utility::CloseCursor(name)
        }
        _ => return Ok(None),
    };
    Ok(Some(u))
}

/// FETCH's and MOVE's direction: PostgreSQL's forms (`NEXT`, `PRIOR`, `FIRST`, `LAST`,
/// `ABSOLUTE n`, `RELATIVE n`, `n`, `ALL`, `FORWARD [n | ALL]`, `BACKWARD [n | ALL]`;
/// nothing: `NEXT`).
fn cursor_move(h: &mut Head<'_>) -> Result<CursorMove, SqlError> {
    let all = i64::MAX;
    let count_or = |h: &mut Head<'_>, default: i64| -> Result<i64, SqlError> {
        if h.word("all") {
            return Ok(all);
        }
        let save = h.at;
        match h.count() {
            Some(n) => Ok(n),
            None => {
                h.at = save;
                Ok(default)
            }
        }
    };
    Ok(if h.word("next") {
        CursorMove::Forward(1)
    } else if h.word("prior") {
        CursorMove::Backward(1)
    } else if h.word("first") {
        CursorMove::Absolute(1)
    } else if h.word("last") {
        CursorMove::Absolute(-1)
    } else if h.word("absolute") {
        CursorMove::Absolute(h.count().ok_or_else(|| h.syntax())?)
    } else if h.word("relative") {
        CursorMove::Relative(h.count().ok_or_else(|| h.syntax())?)
    } else if h.word("forward") {
        CursorMove::Forward(count_or(h, 1)?)
    } else if h.word("backward") {
        CursorMove::Backward(count_or(h, 1)?)
    } else if h.word("all") {
        CursorMove::Forward(all)
    } else {
        let save = h.at;
        match h.count() {
            Some(n) => CursorMove::Forward(n),
            None => {
                h.at = save;
                CursorMove::Forward(1)
            }
        }
    })
}

/// The error for a cursor that does not exist.
pub fn no_such_cursor(name: &str) -> SqlError {
    SqlError::new(SqlState::InvalidCursorName, format!("cursor \"{name}\" does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Utility {
        session_command(sql).unwrap().unwrap()
    }

    #[test]
    fn session_commands_parse() {
        assert_eq!(parse("RESET ALL"), Utility::ResetAll);
        assert_eq!(parse("discard all;"), Utility::Discard("ALL"));
        assert_eq!(parse("UNLISTEN *"), Utility::Unlisten(None));
        assert_eq!(parse("LISTEN \"Chan\""), Utility::Listen("Chan".into()));
        assert_eq!(parse("NOTIFY c, 'it''s'"), Utility::Notify("c".into(), "it's".into()));
        assert_eq!(
            parse("PREPARE q (int, numeric(10, 2)) AS SELECT $1, $2"),
            Utility::PrepareStatement {
                name: "q".into(),
                types: vec!["int".into(), "numeric(10, 2)".into()],
                statement: "SELECT $1, $2".into(),
            }
        );
        assert_eq!(
            parse("EXECUTE q(1, 'a,b');"),
            Utility::ExecuteStatement { name: "q".into(), args: Some("1, 'a,b'".into()) }
        );
        assert_eq!(parse("DEALLOCATE PREPARE ALL"), Utility::Deallocate(None));
        assert_eq!(
            parse("DECLARE \"_django_curs_1\" NO SCROLL CURSOR WITH HOLD FOR SELECT * FROM t"),
            Utility::DeclareCursor {
                name: "_django_curs_1".into(),
                binary: false,
                scroll: Some(false),
                hold: true,
                query: "SELECT * FROM t".into(),
            }
        );
        assert_eq!(
            parse("FETCH FORWARD 2000 FROM \"c\""),
            Utility::Fetch { name: "c".into(), how: CursorMove::Forward(2000), move_only: false }
        );
        assert_eq!(
            parse("move backward all in c"),
            Utility::Fetch {
                name: "c".into(),
                how: CursorMove::Backward(i64::MAX),
                move_only: true
            }
        );
        assert_eq!(
            parse("FETCH -2 FROM c"),
            Utility::Fetch { name: "c".into(), how: CursorMove::Forward(-2), move_only: false }
        );
        assert_eq!(parse("CLOSE ALL"), Utility::CloseCursor(None));
        assert!(session_command("SELECT 1").unwrap().is_none());
        assert!(session_command("RESET lock_timeout").unwrap().is_none());
    }
}
