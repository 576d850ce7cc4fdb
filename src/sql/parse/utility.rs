//! The statements the session handles itself (transaction control, SET/SHOW, COPY,
//! TRUNCATE, ...), recognised from the statement.

use crate::sql::error::SqlError;
use crate::sql::session::settings::level_from;
use crate::txn::IsolationLevel;

/// Statements the session handles itself.
#[derive(Clone, Debug)]
pub enum Utility {
    Begin(TxnModes),
    SetTransaction(TxnModes),
    SetSessionCharacteristics(TxnModes),
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    Set(String, Option<String>),
    Show(String),
    Copy { table: String, columns: Vec<String>, csv: bool, header: bool, delimiter: Option<char> },
    Truncate(Vec<String>),
    Checkpoint,
    NoOp(&'static str),
}

#[derive(Clone, Debug, Default)]
pub struct TxnModes {
    pub level: Option<IsolationLevel>,
    pub read_only: Option<bool>,
    pub deferrable: Option<bool>,
}

/// Lower-cased words of a utility statement (quotes kept on quoted words).
fn words(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                in_quote = !in_quote;
                cur.push(c);
            }
            c if !in_quote
                && (c.is_whitespace()
                    || c == ','
                    || c == '='
                    || c == '('
                    || c == ')'
                    || c == ';') =>
            {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                if c == '=' || c == '(' || c == ')' {
                    out.push(c.to_string());
                }
            }
            c => cur.push(if in_quote { c } else { c.to_ascii_lowercase() }),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_modes(w: &[String]) -> Result<TxnModes, SqlError> {
    let mut m = TxnModes::default();
    let mut i = 0;
    while i < w.len() {
        match w[i].as_str() {
            "isolation" if w.get(i + 1).map(String::as_str) == Some("level") => {
                let two = w.get(i + 2..i + 4).map(|s| s.join(" ")).unwrap_or_default();
                if let Some(l) = level_from(&two) {
                    m.level = Some(l);
                    i += 4;
                } else if let Some(l) = w.get(i + 2).and_then(|s| level_from(s)) {
                    m.level = Some(l);
                    i += 3;
                } else {
                    return Err(SqlError::syntax(format!(
                        "syntax error at or near \"{}\"",
                        w.get(i + 2).cloned().unwrap_or_default()
                    )));
                }
            }
            "read" if w.get(i + 1).map(String::as_str) == Some("only") => {
                m.read_only = Some(true);
                i += 2;
            }
            "read" if w.get(i + 1).map(String::as_str) == Some("write") => {
                m.read_only = Some(false);
                i += 2;
            }
            "deferrable" => {
                m.deferrable = Some(true);
                i += 1;
            }
            "not" if w.get(i + 1).map(String::as_str) == Some("deferrable") => {
                m.deferrable = Some(false);
                i += 2;
            }
            other => return Err(SqlError::syntax(format!("syntax error at or near \"{other}\""))),
        }
    }
    Ok(m)
}

/// Recognises the statements the session handles itself.
pub fn parse_utility(sql: &str) -> Result<Option<Utility>, SqlError> {
    let w = words(sql);
    let first = w.first().map(String::as_str).unwrap_or("");
    let second = w.get(1).map(String::as_str).unwrap_or("");
    Ok(Some(match first {
        "begin" => {
            let rest = if matches!(second, "transaction" | "work") { &w[2..] } else { &w[1..] };
            Utility::Begin(parse_modes(rest)?)
        }
        "start" if second == "transaction" => Utility::Begin(parse_modes(&w[2..])?),
        "commit" | "end" if w.len() <= 2 => Utility::Commit,
        "abort" => Utility::Rollback,
        "rollback" => {
            let rest: Vec<&str> = w[1..]
                .iter()
                .map(String::as_str)
                .filter(|s| !matches!(*s, "work" | "transaction"))
                .collect();
            match rest.as_slice() {
                [] => Utility::Rollback,
                ["to", "savepoint", name] | ["to", name] => Utility::RollbackTo(name.to_string()),
                _ => return Err(SqlError::syntax("syntax error in ROLLBACK")),
            }
        }
        "savepoint" if w.len() == 2 => Utility::Savepoint(w[1].clone()),
        "checkpoint" if w.len() == 1 => Utility::Checkpoint,
        "release" => match &w[1..] {
            [s, name] if s == "savepoint" => Utility::Release(name.clone()),
            [name] => Utility::Release(name.clone()),
            _ => return Err(SqlError::syntax("syntax error in RELEASE")),
        },
        "set" => {
            let mut rest: &[String] = &w[1..];
            if matches!(rest.first().map(String::as_str), Some("session") | Some("local")) {
                if rest.get(1).map(String::as_str) == Some("characteristics") {
                    // SET SESSION CHARACTERISTICS AS TRANSACTION ...
                    return Ok(Some(Utility::SetSessionCharacteristics(parse_modes(
                        rest.get(4..).unwrap_or(&[]),
                    )?)));
                }
                rest = &rest[1..];
            }
            if rest.first().map(String::as_str) == Some("transaction") {
                return Ok(Some(Utility::SetTransaction(parse_modes(&rest[1..])?)));
            }
            if rest.first().map(String::as_str) == Some("time")
                && rest.get(1).map(String::as_str) == Some("zone")
            {
                return Ok(Some(Utility::Set("timezone".into(), rest.get(2).cloned())));
            }
            if rest.first().map(String::as_str) == Some("names") {
                return Ok(Some(Utility::Set("client_encoding".into(), rest.get(1).cloned())));
            }
            let Some(name) = rest.first() else {
                return Err(SqlError::syntax("syntax error at end of input"));
            };
            let value_words: Vec<&String> =
                rest[1..].iter().filter(|s| *s != "=" && *s != "to").collect();
            let value = if value_words.len() == 1 && value_words[0] == "default" {
                None
            } else {
                Some(
                    value_words
                        .iter()
                        .map(|s| s.trim_matches('\'').to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            };
            Utility::Set(name.clone(), value)
        }
        "reset" if w.len() == 2 => Utility::Set(w[1].clone(), None),
        "show" => {
            let name = match &w[1..] {
                [t, i, l] if t == "transaction" && i == "isolation" && l == "level" => {
                    "transaction_isolation".to_string()
                }
                [n] => n.clone(),
                _ => return Err(SqlError::syntax("syntax error in SHOW")),
            };
            Utility::Show(name)
        }
        "discard" | "deallocate" | "unlisten" | "checkpoint" | "vacuum" | "analyze" => {
            Utility::NoOp(match first {
                "discard" => "DISCARD ALL",
                "deallocate" => "DEALLOCATE",
                "unlisten" => "UNLISTEN",
                "checkpoint" => "CHECKPOINT",
                "vacuum" => "VACUUM",
                _ => "ANALYZE",
            })
        }
        "truncate" => {
            let names: Vec<String> = w[1..]
                .iter()
                .filter(|s| {
                    !matches!(
                        s.as_str(),
                        "table"
                            | "only"
                            | "restart"
                            | "continue"
                            | "identity"
                            | "cascade"
                            | "restrict"
                    )
                })
                .map(|s| s.rsplit('.').next().unwrap_or(s).trim_matches('"').to_string())
                .collect();
            if names.is_empty() {
                return Err(SqlError::syntax("syntax error at end of input"));
            }
            Utility::Truncate(names)
        }
        "copy" => {
            let table = w.get(1).cloned().ok_or_else(|| SqlError::syntax("COPY needs a table"))?;
            let mut i = 2;
            let mut columns = Vec::new();
            if w.get(i).map(String::as_str) == Some("(") {
                i += 1;
                while i < w.len() && w[i] != ")" {
                    columns.push(w[i].trim_matches('"').to_string());
                    i += 1;
                }
                i += 1;
            }
            match (w.get(i).map(String::as_str), w.get(i + 1).map(String::as_str)) {
                (Some("from"), Some("stdin")) => {}
                (Some("to"), _) => return Err(SqlError::unsupported("COPY TO")),
                _ => return Err(SqlError::unsupported("COPY from a file (use FROM STDIN)")),
            }
            let opts = &w[i + 2..];
            let csv = opts.iter().any(|o| o == "csv");
            let header = opts.iter().any(|o| o == "header");
            let delimiter = opts
                .iter()
                .position(|o| o == "delimiter")
                .and_then(|p| opts.get(p + 1))
                .and_then(|d| d.trim_matches('\'').chars().next());
            Utility::Copy {
                table: table.rsplit('.').next().unwrap_or(&table).trim_matches('"').to_string(),
                columns,
                csv,
                header,
                delimiter,
            }
        }
        _ => return Ok(None),
    }))
}
