//! The statements the session handles itself (transaction control, SET/SHOW/RESET, COPY,
//! TRUNCATE, CHECKPOINT and the no-ops drivers send), recognised from sqlparser's AST, or, for
//! the few sqlparser does not parse (CHECKPOINT, VACUUM, ANALYZE, ABORT), from their first
//! keyword token. Names follow PostgreSQL's folding: unquoted identifiers lower-cased.

use sqlparser::ast::{
    self, CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Expr,
    Statement, TransactionAccessMode, TransactionIsolationLevel, TransactionMode,
};
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::sql::error::SqlError;
use crate::txn::IsolationLevel;

/// Statements the session handles itself.
#[derive(Clone, Debug, PartialEq)]
pub enum Utility {
    Begin(TxnModes),
    SetTransaction(TxnModes),
    SetSessionCharacteristics(TxnModes),
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
    /// A setting and its new value (`None`: back to its default).
    Set(String, Option<String>),
    Show(String),
    Copy {
        table: String,
        columns: Vec<String>,
        csv: bool,
        header: bool,
        delimiter: Option<char>,
    },
    /// TRUNCATE: the tables, RESTART IDENTITY, CASCADE.
    Truncate {
        tables: Vec<String>,
        restart_identity: bool,
        cascade: bool,
    },
    /// ALTER SEQUENCE (parsed by isola), with its text (logged as DDL).
    AlterSequence(crate::sql::parse::sequence::AlterSequence, String),
    /// `SET CONSTRAINTS {ALL | name, ...} {DEFERRED | IMMEDIATE}` (`None`: ALL).
    SetConstraints {
        names: Option<Vec<String>>,
        deferred: bool,
    },
    Checkpoint,
    NoOp(&'static str),
    /// `RESET ALL`: every setting back to its default.
    ResetAll,
    /// `DISCARD ALL | PLANS | SEQUENCES | TEMP`.
    Discard(&'static str),
    Listen(String),
    /// `UNLISTEN name`, or `UNLISTEN *` (`None`).
    Unlisten(Option<String>),
    /// `NOTIFY channel [, 'payload']`.
    Notify(String, String),
    /// `PREPARE name [(types)] AS statement`: the types and the statement as written.
    PrepareStatement {
        name: String,
        types: Vec<String>,
        statement: String,
    },
    /// `EXECUTE name [(args)]`: the arguments' text (a select list).
    ExecuteStatement {
        name: String,
        args: Option<String>,
    },
    /// `DEALLOCATE [PREPARE] name | ALL` (`None`).
    Deallocate(Option<String>),
    /// `DECLARE name [BINARY] [NO] [SCROLL] CURSOR [WITH HOLD] FOR query`.
    DeclareCursor {
        name: String,
        binary: bool,
        scroll: Option<bool>,
        hold: bool,
        query: String,
    },
    /// `FETCH` (or `MOVE`: `move_only`) `how FROM name`.
    Fetch {
        name: String,
        how: CursorMove,
        move_only: bool,
    },
    /// `CLOSE name`, or `CLOSE ALL` (`None`).
    CloseCursor(Option<String>),
}

/// Where a FETCH or MOVE goes, in rows (`i64::MAX`: ALL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorMove {
    Forward(i64),
    Backward(i64),
    Absolute(i64),
    Relative(i64),
}

/// The transaction modes of BEGIN, SET TRANSACTION and SET SESSION CHARACTERISTICS.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnModes {
    pub level: Option<IsolationLevel>,
    pub read_only: Option<bool>,
    pub deferrable: Option<bool>,
}

/// An identifier as PostgreSQL folds it: unquoted ones lower-cased.
pub fn fold(ident: &ast::Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

/// The last part of a qualified name, folded.
fn last_part(name: &ast::ObjectName) -> String {
    name.0.last().and_then(|p| p.as_ident()).map(fold).unwrap_or_default()
}

/// A statement sqlparser does not parse, recognised by its keyword: `CHECKPOINT`, `VACUUM
/// [...]`, `ANALYZE [...]`, `ABORT [WORK | TRANSACTION]`.
pub fn keyword_statement(tokens: &[TokenWithSpan]) -> Option<Utility> {
    if let Some(u) = set_constraints(tokens) {
        return Some(u);
    }
    let mut words = tokens.iter().filter_map(|t| match &t.token {
        Token::Whitespace(_) | Token::SemiColon => None,
        Token::Word(w) if w.quote_style.is_none() => Some(Some(w.value.to_ascii_uppercase())),
        _ => Some(None),
    });
    let first = words.next()??;
    let rest: Vec<Option<String>> = words.collect();
    match first.as_str() {
        "CHECKPOINT" if rest.is_empty() => Some(Utility::Checkpoint),
        "CHECKPOINT" => Some(Utility::NoOp("CHECKPOINT")),
        "VACUUM" => Some(Utility::NoOp("VACUUM")),
        "ANALYZE" => Some(Utility::NoOp("ANALYZE")),
        "ABORT" if rest.iter().all(|w| matches!(w.as_deref(), Some("WORK" | "TRANSACTION"))) => {
            Some(Utility::Rollback)
        }
        _ => None,
    }
}

/// `SET CONSTRAINTS {ALL | name [, ...]} {DEFERRED | IMMEDIATE}`, which sqlparser does not
/// parse.
fn set_constraints(tokens: &[TokenWithSpan]) -> Option<Utility> {
    let words: Vec<(String, bool)> = tokens
        .iter()
        .filter_map(|t| match &t.token {
            Token::Word(w) if w.quote_style.is_some() => Some((w.value.clone(), true)),
            Token::Word(w) => Some((w.value.to_lowercase(), false)),
            _ => None,
        })
        .collect();
    let [(set, false), (constraints, false), names @ .., (mode, false)] = words.as_slice() else {
        return None;
    };
    if set != "set" || constraints != "constraints" || names.is_empty() {
        return None;
    }
    let deferred = match mode.as_str() {
        "deferred" => true,
        "immediate" => false,
        _ => return None,
    };
    let names = match names {
        [(all, false)] if all == "all" => None,
        // a qualified name keeps its last part
        _ => Some(names.iter().map(|(n, _)| n.clone()).collect()),
    };
    Some(Utility::SetConstraints { names, deferred })
}

/// The utility a parsed statement is, if it is one. `deferrable`: the `[NOT] DEFERRABLE`
/// transaction mode, which sqlparser does not know and [`super::parse_statement`] reads off the
/// tokens.
pub fn utility_of(stmt: &Statement, deferrable: Option<bool>) -> Result<Option<Utility>, SqlError> {
    let modes = |list: &[TransactionMode]| TxnModes { deferrable, ..txn_modes(list) };
    Ok(Some(match stmt {
        Statement::StartTransaction { modes: list, statements, exception, .. }
            if statements.is_empty() && exception.is_none() =>
        {
            Utility::Begin(modes(list))
        }
        Statement::Commit { chain: false, .. } => Utility::Commit,
        Statement::Rollback { chain: false, savepoint: None } => Utility::Rollback,
        Statement::Rollback { chain: false, savepoint: Some(name) } => {
            Utility::RollbackTo(fold(name))
        }
        Statement::Savepoint { name } => Utility::Savepoint(fold(name)),
        Statement::ReleaseSavepoint { name } => Utility::Release(fold(name)),
        Statement::Set(set) => return set_statement(set, modes).map(Some),
        Statement::Reset(reset) => match &reset.reset {
            ast::Reset::ALL => Utility::Set("all".into(), None),
            ast::Reset::SessionAuthorization => Utility::Set("session_authorization".into(), None),
            ast::Reset::ConfigurationParameter(name) => Utility::Set(setting_name(name), None),
        },
        Statement::ShowVariable { variable } => {
            let words: Vec<String> = variable.iter().map(fold).collect();
            match words.join(" ").as_str() {
                "transaction isolation level" => Utility::Show("transaction_isolation".into()),
                _ if words.len() == 1 => Utility::Show(words[0].clone()),
                _ => return Err(SqlError::syntax("syntax error in SHOW")),
            }
        }
        Statement::Truncate(t) => Utility::Truncate {
            tables: t.table_names.iter().map(|t| last_part(&t.name)).collect(),
            restart_identity: matches!(t.identity, Some(ast::TruncateIdentityOption::Restart)),
            cascade: matches!(t.cascade, Some(ast::CascadeOption::Cascade)),
        },
        Statement::Copy { source, to, target, options, legacy_options, .. } => {
            copy_statement(source, *to, target, options, legacy_options)?
        }
        Statement::Discard { .. } => Utility::NoOp("DISCARD ALL"),
        Statement::Deallocate { .. } => Utility::NoOp("DEALLOCATE"),
        Statement::UNLISTEN { .. } => Utility::NoOp("UNLISTEN"),
        _ => return Ok(None),
    }))
}

fn txn_modes(list: &[TransactionMode]) -> TxnModes {
    let mut m = TxnModes::default();
    for mode in list {
        match mode {
            TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => {
                m.read_only = Some(true)
            }
            TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => {
                m.read_only = Some(false)
            }
            TransactionMode::IsolationLevel(level) => {
                m.level = Some(match level {
                    TransactionIsolationLevel::ReadUncommitted => IsolationLevel::ReadUncommitted,
                    TransactionIsolationLevel::ReadCommitted => IsolationLevel::ReadCommitted,
                    TransactionIsolationLevel::RepeatableRead => IsolationLevel::RepeatableRead,
                    // PostgreSQL has no SNAPSHOT level; sqlparser's dialect-neutral grammar
                    // accepts it: the nearest is snapshot isolation, Repeatable Read.
                    TransactionIsolationLevel::Snapshot => IsolationLevel::RepeatableRead,
                    TransactionIsolationLevel::Serializable => IsolationLevel::Serializable,
                })
            }
        }
    }
    m
}

/// A setting's name: the parts of the name, folded, joined by dots (`isola.x`).
fn setting_name(name: &ast::ObjectName) -> String {
    name.0.iter().filter_map(|p| p.as_ident()).map(fold).collect::<Vec<_>>().join(".")
}

/// A SET value as PostgreSQL reads it: a string literal's contents, a number's text, an
/// unquoted word folded; a list joined with ", ". `None` for DEFAULT.
fn setting_value(values: &[Expr]) -> Option<String> {
    if let [Expr::Identifier(id)] = values
        && id.quote_style.is_none()
        && id.value.eq_ignore_ascii_case("default")
    {
        return None;
    }
    let one = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => s.clone(),
            ast::Value::Number(n, _) => n.to_string(),
            ast::Value::Boolean(b) => if *b { "on" } else { "off" }.to_string(),
            other => other.to_string(),
        },
        Expr::Identifier(id) => fold(id),
        other => other.to_string(),
    };
    Some(values.iter().map(one).collect::<Vec<_>>().join(", "))
}

fn set_statement(
    set: &ast::Set,
    modes: impl Fn(&[TransactionMode]) -> TxnModes,
) -> Result<Utility, SqlError> {
    Ok(match set {
        ast::Set::SingleAssignment { variable, values, .. } => {
            Utility::Set(setting_name(variable), setting_value(values))
        }
        ast::Set::SetTimeZone { value, .. } => {
            Utility::Set("timezone".into(), setting_value(std::slice::from_ref(value)))
        }
        ast::Set::SetNames { charset_name, .. } => {
            Utility::Set("client_encoding".into(), Some(charset_name.value.clone()))
        }
        ast::Set::SetNamesDefault {} => Utility::Set("client_encoding".into(), None),
        ast::Set::SetTransaction { modes: list, snapshot: None, session: false } => {
            Utility::SetTransaction(modes(list))
        }
        ast::Set::SetTransaction { modes: list, snapshot: None, session: true } => {
            Utility::SetSessionCharacteristics(modes(list))
        }
        ast::Set::SetRole { role_name, .. } => {
            Utility::Set("role".into(), role_name.as_ref().map(fold))
        }
        other => {
            let text = other.to_string();
            let words: Vec<&str> = text.split_whitespace().take(2).collect();
            return Err(SqlError::unsupported(words.join(" ")));
        }
    })
}

fn copy_statement(
    source: &CopySource,
    to: bool,
    target: &CopyTarget,
    options: &[CopyOption],
    legacy_options: &[CopyLegacyOption],
) -> Result<Utility, SqlError> {
    let CopySource::Table { table_name, columns } = source else {
        return Err(SqlError::unsupported("COPY (query) TO"));
    };
    if to {
        return Err(SqlError::unsupported("COPY TO"));
    }
    if !matches!(target, CopyTarget::Stdin) {
        return Err(SqlError::unsupported("COPY from a file (use FROM STDIN)"));
    }
    let (mut csv, mut header, mut delimiter) = (false, false, None);
    for o in options {
        match o {
            CopyOption::Format(f) if f.value.eq_ignore_ascii_case("csv") => csv = true,
            CopyOption::Format(f) if f.value.eq_ignore_ascii_case("text") => csv = false,
            CopyOption::Header(h) => header = *h,
            CopyOption::Delimiter(d) => delimiter = Some(*d),
            // FREEZE only hints that the rows may be frozen at once: nothing to do here.
            CopyOption::Freeze(_) => {}
            other => return Err(SqlError::unsupported(format!("COPY option {other}"))),
        }
    }
    for o in legacy_options {
        match o {
            CopyLegacyOption::Csv(csv_options) => {
                csv = true;
                for c in csv_options {
                    match c {
                        CopyLegacyCsvOption::Header => header = true,
                        other => {
                            return Err(SqlError::unsupported(format!("COPY option {other}")));
                        }
                    }
                }
            }
            CopyLegacyOption::Header => header = true,
            CopyLegacyOption::Delimiter(d) => delimiter = Some(*d),
            other => return Err(SqlError::unsupported(format!("COPY option {other}"))),
        }
    }
    Ok(Utility::Copy {
        table: last_part(table_name),
        columns: columns.iter().map(fold).collect(),
        csv,
        header,
        delimiter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::parse::{Parsed, parse_statement};

    fn utility(sql: &str) -> Option<Utility> {
        match parse_statement(sql).unwrap() {
            Parsed::Utility(u) => Some(u),
            _ => None,
        }
    }

    #[test]
    fn utility_statements_parse() {
        let serializable = TxnModes {
            level: Some(IsolationLevel::Serializable),
            read_only: Some(true),
            deferrable: Some(true),
        };
        for sql in [
            "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE",
            "start transaction isolation level serializable, read only, deferrable;",
        ] {
            assert_eq!(utility(sql), Some(Utility::Begin(serializable.clone())), "{sql}");
        }
        assert_eq!(
            utility("SET TRANSACTION READ WRITE, NOT DEFERRABLE"),
            Some(Utility::SetTransaction(TxnModes {
                read_only: Some(false),
                deferrable: Some(false),
                ..TxnModes::default()
            }))
        );
        assert_eq!(utility("rollback to savepoint A"), Some(Utility::RollbackTo("a".into())));
        assert_eq!(utility("ROLLBACK"), Some(Utility::Rollback));
        assert_eq!(utility("abort work"), Some(Utility::Rollback));
        assert_eq!(utility("END"), Some(Utility::Commit));
        assert_eq!(
            utility("SET lock_timeout = '1s'"),
            Some(Utility::Set("lock_timeout".into(), Some("1s".into())))
        );
        assert_eq!(
            utility("SET datestyle TO ISO, MDY"),
            Some(Utility::Set("datestyle".into(), Some("iso, mdy".into())))
        );
        assert_eq!(
            utility("SET statement_timeout TO DEFAULT"),
            Some(Utility::Set("statement_timeout".into(), None))
        );
        assert_eq!(utility("RESET lock_timeout"), Some(Utility::Set("lock_timeout".into(), None)));
        assert_eq!(
            utility("SHOW transaction isolation level"),
            Some(Utility::Show("transaction_isolation".into()))
        );
        assert_eq!(utility("checkpoint"), Some(Utility::Checkpoint));
        assert_eq!(
            utility("TRUNCATE public.t, u"),
            Some(Utility::Truncate {
                tables: vec!["t".into(), "u".into()],
                restart_identity: false,
                cascade: false
            })
        );
        assert_eq!(
            utility("COPY t (a, \"B\") FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER ';')"),
            Some(Utility::Copy {
                table: "t".into(),
                columns: vec!["a".into(), "B".into()],
                csv: true,
                header: true,
                delimiter: Some(';'),
            })
        );
        assert_eq!(
            utility("copy pgbench_accounts from stdin with (freeze on)"),
            Some(Utility::Copy {
                table: "pgbench_accounts".into(),
                columns: vec![],
                csv: false,
                header: false,
                delimiter: None,
            })
        );
        assert_eq!(utility("select 1"), None);
    }

    /// A SET value is the string literal's contents: a doubled quote is one quote (the text is
    /// not split into words, so `''` is not kept as written).
    #[test]
    fn set_values_are_unescaped() {
        assert_eq!(
            utility("SET application_name = 'It''s Me'"),
            Some(Utility::Set("application_name".into(), Some("It's Me".into())))
        );
        assert_eq!(
            utility("SET application_name = E'tab\\there'"),
            Some(Utility::Set("application_name".into(), Some("tab\there".into())))
        );
    }
}
