//! The statements the session handles itself (transaction control, SET/SHOW/RESET, COPY,
//! TRUNCATE, CHECKPOINT and the no-ops drivers send), recognised from sqlparser's AST, or, for
//! the few sqlparser does not parse (CHECKPOINT, VACUUM, ANALYZE, ABORT), from their first
//! keyword token. Names follow PostgreSQL's folding: unquoted identifiers lower-cased.

use sqlparser::ast::{
    self, CopyLegacyCsvOption, CopyLegacyOption, CopyOption, CopySource, CopyTarget, Expr,
    Statement, TransactionAccessMode, TransactionIsolationLevel, TransactionMode,
};
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::error::SqlState;
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
    /// `SET LOCAL name = value`: for the rest of the transaction block only.
    SetLocal(String, Option<String>),
    Show(String),
    /// COPY table [(columns)] FROM STDIN.
    CopyFrom {
        table: String,
        columns: Vec<String>,
        format: CopyFormat,
    },
    /// COPY table [(columns)] TO STDOUT, COPY (query) TO STDOUT.
    CopyTo {
        rows: CopyRows,
        format: CopyFormat,
    },
    /// CREATE DATABASE name.
    CreateDatabase(String),
    /// DROP DATABASE [IF EXISTS] name.
    DropDatabase {
        name: String,
        if_exists: bool,
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
    /// `ALTER TYPE name OWNER TO role` (pg_dump writes it; isola has one owner): the type's
    /// name as written, checked to exist.
    AlterTypeOwner(String),
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

/// What COPY ... TO STDOUT writes out.
#[derive(Clone, Debug, PartialEq)]
pub enum CopyRows {
    /// A table's columns (all visible ones when the list is empty), as `SELECT` reads them.
    Table { table: String, columns: Vec<String> },
    /// A query's rows.
    Query(Box<ast::Query>),
}

/// How COPY data is written and read: PostgreSQL's options with its defaults filled in
/// (text: tab, `\N`; CSV: comma, empty NULL, `"` quoting and escaping).
#[derive(Clone, Debug, PartialEq)]
pub struct CopyFormat {
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
    /// The text of a NULL.
    pub null: String,
    /// CSV only: the quote and escape characters.
    pub quote: char,
    pub escape: char,
    /// CSV and COPY TO only: the columns quoted even when they need not be.
    pub force_quote: ForceQuote,
}

impl CopyFormat {
    /// COPY's defaults: text format, tab separated.
    #[cfg(test)]
    pub fn text() -> CopyFormat {
        CopyFormat {
            csv: false,
            header: false,
            delimiter: '\t',
            null: "\\N".into(),
            quote: '"',
            escape: '"',
            force_quote: ForceQuote::None,
        }
    }
}

/// FORCE_QUOTE: which non-NULL values are quoted whatever they hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ForceQuote {
    #[default]
    None,
    /// `FORCE_QUOTE *`.
    All,
    Columns(Vec<String>),
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
pub fn keyword_statement(tokens: &[TokenWithSpan]) -> Result<Option<Utility>, SqlError> {
    if let Some(u) = set_constraints(tokens) {
        return Ok(Some(u));
    }
    let mut words = tokens.iter().filter_map(|t| match &t.token {
        Token::Whitespace(_) | Token::SemiColon => None,
        Token::Word(w) if w.quote_style.is_none() => Some(Some(w.value.to_ascii_uppercase())),
        _ => Some(None),
    });
    let Some(Some(first)) = words.next() else { return Ok(None) };
    if first == "CREATE" || first == "DROP" {
        return database_statement(tokens);
    }
    let rest: Vec<Option<String>> = words.collect();
    Ok(match first.as_str() {
        "CHECKPOINT" if rest.is_empty() => Some(Utility::Checkpoint),
        "CHECKPOINT" => Some(Utility::NoOp("CHECKPOINT")),
        "VACUUM" => Some(Utility::NoOp("VACUUM")),
        "ANALYZE" => Some(Utility::NoOp("ANALYZE")),
        "ALTER"
            if rest.len() >= 5
                && rest[0].as_deref() == Some("TYPE")
                && rest[rest.len() - 3].as_deref() == Some("OWNER")
                && rest[rest.len() - 2].as_deref() == Some("TO") =>
        {
            let text: String = tokens.iter().map(|t| t.token.to_string()).collect();
            let upper = text.to_ascii_uppercase();
            let start = upper.find("TYPE").map_or(0, |i| i + 4);
            let end = upper.rfind("OWNER").unwrap_or(text.len());
            Some(Utility::AlterTypeOwner(text[start..end].trim().to_string()))
        }
        "ABORT" if rest.iter().all(|w| matches!(w.as_deref(), Some("WORK" | "TRANSACTION"))) => {
            Some(Utility::Rollback)
        }
        _ => None,
    })
}

/// `CREATE DATABASE name [[WITH] option [=] value ...]` and `DROP DATABASE [IF EXISTS] name`,
/// read off the tokens (sqlparser does not take PostgreSQL's database options). The options of
/// CREATE are accepted and have no effect (every database is UTF8, the server's one locale),
/// but an ENCODING other than UTF8 is refused; DROP's `WITH (FORCE)` is refused. `None`: not
/// a database statement (CREATE TABLE and the rest go to the parser).
fn database_statement(tokens: &[TokenWithSpan]) -> Result<Option<Utility>, SqlError> {
    let significant: Vec<&Token> = tokens
        .iter()
        .map(|t| &t.token)
        .filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon))
        .collect();
    let keyword = |k: usize, word: &str| matches!(significant.get(k), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word));
    if !keyword(1, "DATABASE") {
        return Ok(None);
    }
    let name_at = |k: usize| match significant.get(k) {
        Some(Token::Word(w)) => Some(match w.quote_style {
            Some(_) => w.value.clone(),
            None => w.value.to_lowercase(),
        }),
        _ => None,
    };
    let refuse = |what: &str| Err(SqlError::unsupported(what));
    if keyword(0, "DROP") {
        let if_exists = keyword(2, "IF") && keyword(3, "EXISTS");
        let at = if if_exists { 4 } else { 2 };
        let Some(name) = name_at(at) else {
            return Err(SqlError::syntax("syntax error in DROP DATABASE"));
        };
        return match significant.len() - at - 1 {
            0 => Ok(Some(Utility::DropDatabase { name, if_exists })),
            _ => refuse("DROP DATABASE with options (WITH (FORCE))"),
        };
    }
    let Some(name) = name_at(2) else {
        return Err(SqlError::syntax("syntax error in CREATE DATABASE"));
    };
    for k in 3..significant.len() {
        if keyword(k, "ENCODING") {
            let value = match significant
                .get(k + 1 + usize::from(matches!(significant.get(k + 1), Some(Token::Eq))))
            {
                Some(Token::SingleQuotedString(v)) => v.clone(),
                Some(Token::Word(w)) => w.value.clone(),
                _ => String::new(),
            };
            let canonical = value.to_ascii_lowercase().replace(['-', '_'], "");
            if !matches!(canonical.as_str(), "utf8" | "unicode") {
                return refuse(&format!("CREATE DATABASE with ENCODING '{value}' (only UTF8)"));
            }
        }
    }
    Ok(Some(Utility::CreateDatabase(name)))
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
                // A custom setting: `SHOW isola.session_token` (the parser may keep the dotted
                // name as one identifier or split it at the dot).
                _ if words.iter().all(|w| !w.contains(' ')) && words.len() == 2 => {
                    Utility::Show(words.join("."))
                }
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
        ast::Set::SingleAssignment { variable, values, scope, .. } => {
            let (name, value) = (setting_name(variable), setting_value(values));
            match scope {
                Some(ast::ContextModifier::Local) => Utility::SetLocal(name, value),
                _ => Utility::Set(name, value),
            }
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

/// A COPY statement's options as written, before their defaults and checks.
#[derive(Default)]
struct CopyOptionsGiven {
    csv: bool,
    binary: bool,
    header: bool,
    delimiter: Option<char>,
    null: Option<String>,
    quote: Option<char>,
    escape: Option<char>,
    force_quote: ForceQuote,
    force_not_null: bool,
    /// Each option named so far (a second mention is 42601, as in PostgreSQL).
    seen: Vec<&'static str>,
}

impl CopyOptionsGiven {
    fn once(&mut self, name: &'static str) -> Result<(), SqlError> {
        if self.seen.contains(&name) {
            return Err(SqlError::syntax("conflicting or redundant options"));
        }
        self.seen.push(name);
        Ok(())
    }

    fn format(&mut self, name: &str) -> Result<(), SqlError> {
        self.once("format")?;
        match name.to_ascii_lowercase().as_str() {
            "text" => self.csv = false,
            "csv" => self.csv = true,
            "binary" => self.binary = true,
            other => {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    format!("COPY format \"{other}\" not recognized"),
                ));
            }
        }
        Ok(())
    }

    /// PostgreSQL's defaults and checks (its `ProcessCopyOptions`, in its order).
    fn finish(self, to: bool) -> Result<CopyFormat, SqlError> {
        let invalid = |m: String| SqlError::new(SqlState::InvalidParameterValue, m);
        let unsupported = |m: &str| SqlError::new(SqlState::FeatureNotSupported, m.to_string());
        if self.binary {
            return Err(SqlError::unsupported("COPY in binary format"));
        }
        let csv = self.csv;
        let delimiter = self.delimiter.unwrap_or(if csv { ',' } else { '\t' });
        let null = self.null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() });
        let quote = self.quote.unwrap_or('"');
        let escape = self.escape.unwrap_or(quote);
        if delimiter.len_utf8() != 1 {
            return Err(unsupported("COPY delimiter must be a single one-byte character"));
        }
        if delimiter == '\n' || delimiter == '\r' {
            return Err(invalid("COPY delimiter cannot be newline or carriage return".into()));
        }
        if null.contains(['\n', '\r']) {
            return Err(invalid(
                "COPY null representation cannot use newline or carriage return".into(),
            ));
        }
        if !csv && "\\.abcdefghijklmnopqrstuvwxyz0123456789".contains(delimiter) {
            return Err(invalid(format!("COPY delimiter cannot be \"{delimiter}\"")));
        }
        if !csv && self.quote.is_some() {
            return Err(unsupported("COPY quote available only in CSV mode"));
        }
        if quote.len_utf8() != 1 {
            return Err(unsupported("COPY quote must be a single one-byte character"));
        }
        if csv && delimiter == quote {
            return Err(invalid("COPY delimiter and quote must be different".into()));
        }
        if !csv && self.escape.is_some() {
            return Err(unsupported("COPY escape available only in CSV mode"));
        }
        if escape.len_utf8() != 1 {
            return Err(unsupported("COPY escape must be a single one-byte character"));
        }
        if !csv && self.force_quote != ForceQuote::None {
            return Err(unsupported("COPY force quote available only in CSV mode"));
        }
        if !to && self.force_quote != ForceQuote::None {
            return Err(unsupported("COPY force quote only available using COPY TO"));
        }
        if self.force_not_null {
            if !csv {
                return Err(unsupported("COPY force not null available only in CSV mode"));
            }
            if to {
                return Err(unsupported("COPY force not null only available using COPY FROM"));
            }
            return Err(SqlError::unsupported("COPY FROM with FORCE_NOT_NULL or FORCE_NULL"));
        }
        if null.contains(delimiter) {
            return Err(unsupported("COPY delimiter must not appear in the NULL specification"));
        }
        if csv && null.contains(quote) {
            return Err(unsupported(
                "CSV quote character must not appear in the NULL specification",
            ));
        }
        Ok(CopyFormat {
            csv,
            header: self.header,
            delimiter,
            null,
            quote,
            escape,
            force_quote: self.force_quote,
        })
    }
}

/// The message and hint PostgreSQL gives a client that may not use the server's files.
fn server_files_refused(to: bool, program: bool) -> SqlError {
    let (role, what) = match (program, to) {
        (true, _) => ("pg_execute_server_program", "COPY to or from an external program"),
        (false, true) => ("pg_write_server_files", "COPY to a file"),
        (false, false) => ("pg_read_server_files", "COPY from a file"),
    };
    SqlError::new(
        SqlState::InsufficientPrivilege,
        format!("must be superuser or have privileges of the {role} role to {what}"),
    )
    .with_detail(
        "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone.",
    )
}

fn copy_statement(
    source: &CopySource,
    to: bool,
    target: &CopyTarget,
    options: &[CopyOption],
    legacy_options: &[CopyLegacyOption],
) -> Result<Utility, SqlError> {
    match target {
        CopyTarget::Stdin | CopyTarget::Stdout => {}
        CopyTarget::File { .. } => return Err(server_files_refused(to, false)),
        CopyTarget::Program { .. } => return Err(server_files_refused(to, true)),
    }
    let mut given = CopyOptionsGiven::default();
    let columns = |list: &[ast::Ident]| list.iter().map(fold).collect::<Vec<_>>();
    for o in options {
        match o {
            CopyOption::Format(f) => given.format(&f.value)?,
            CopyOption::Header(h) => {
                given.once("header")?;
                given.header = *h;
            }
            CopyOption::Delimiter(d) => {
                given.once("delimiter")?;
                given.delimiter = Some(*d);
            }
            CopyOption::Null(n) => {
                given.once("null")?;
                given.null = Some(n.clone());
            }
            CopyOption::Quote(q) => {
                given.once("quote")?;
                given.quote = Some(*q);
            }
            CopyOption::Escape(e) => {
                given.once("escape")?;
                given.escape = Some(*e);
            }
            CopyOption::ForceQuote(list) => {
                given.once("force_quote")?;
                given.force_quote = ForceQuote::Columns(columns(list));
            }
            CopyOption::ForceNotNull(_) | CopyOption::ForceNull(_) => given.force_not_null = true,
            CopyOption::Encoding(e) => {
                given.once("encoding")?;
                let e = e.to_ascii_lowercase().replace(['-', '_'], "");
                if !matches!(e.as_str(), "utf8" | "unicode") {
                    return Err(SqlError::unsupported(format!("COPY ENCODING '{e}' (only UTF8)")));
                }
            }
            // FREEZE only hints that the rows may be frozen at once: nothing to do here.
            CopyOption::Freeze(_) => given.once("freeze")?,
        }
    }
    for o in legacy_options {
        match o {
            CopyLegacyOption::Binary => given.format("binary")?,
            CopyLegacyOption::Csv(csv_options) => {
                given.format("csv")?;
                for c in csv_options {
                    match c {
                        CopyLegacyCsvOption::Header => given.header = true,
                        CopyLegacyCsvOption::Quote(q) => given.quote = Some(*q),
                        CopyLegacyCsvOption::Escape(e) => given.escape = Some(*e),
                        CopyLegacyCsvOption::ForceQuote(list) => {
                            given.force_quote = ForceQuote::Columns(columns(list))
                        }
                        CopyLegacyCsvOption::ForceNotNull(_) => given.force_not_null = true,
                    }
                }
            }
            CopyLegacyOption::Header => given.header = true,
            CopyLegacyOption::Delimiter(d) => given.delimiter = Some(*d),
            CopyLegacyOption::Null(n) => given.null = Some(n.clone()),
            other => return Err(SqlError::unsupported(format!("COPY option {other}"))),
        }
    }
    let format = given.finish(to)?;
    match (source, to) {
        (CopySource::Table { table_name, columns: list }, false) => {
            Ok(Utility::CopyFrom { table: last_part(table_name), columns: columns(list), format })
        }
        (CopySource::Table { table_name, columns: list }, true) => Ok(Utility::CopyTo {
            rows: CopyRows::Table { table: last_part(table_name), columns: columns(list) },
            format,
        }),
        (CopySource::Query(q), true) => {
            Ok(Utility::CopyTo { rows: CopyRows::Query(q.clone()), format })
        }
        (CopySource::Query(_), false) => {
            Err(SqlError::syntax("syntax error at or near \"FROM\": COPY (query) only goes TO"))
        }
    }
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
            Some(Utility::CopyFrom {
                table: "t".into(),
                columns: vec!["a".into(), "B".into()],
                format: CopyFormat {
                    csv: true,
                    header: true,
                    delimiter: ';',
                    null: String::new(),
                    ..CopyFormat::text()
                },
            })
        );
        assert_eq!(
            utility("copy pgbench_accounts from stdin with (freeze on)"),
            Some(Utility::CopyFrom {
                table: "pgbench_accounts".into(),
                columns: vec![],
                format: CopyFormat::text(),
            })
        );
        assert_eq!(utility("select 1"), None);
    }

    /// COPY TO: PostgreSQL's defaults per format, its option checks (and their SQLSTATEs),
    /// `FORCE_QUOTE *` in both spellings, a query as the source.
    #[test]
    fn copy_to_options_parse_and_are_checked() {
        let csv =
            CopyFormat { csv: true, delimiter: ',', null: String::new(), ..CopyFormat::text() };
        assert_eq!(
            utility("COPY public.t (a, b) TO stdout;"),
            Some(Utility::CopyTo {
                rows: CopyRows::Table { table: "t".into(), columns: vec!["a".into(), "b".into()] },
                format: CopyFormat::text(),
            })
        );
        let all = CopyFormat { header: true, force_quote: ForceQuote::All, ..csv.clone() };
        for sql in [
            "copy t to stdout with (format csv, header, force_quote *)",
            "copy t to stdout with csv header force quote *",
        ] {
            let Some(Utility::CopyTo { format, .. }) = utility(sql) else { panic!("{sql}") };
            assert_eq!(format, all, "{sql}");
        }
        let Some(Utility::CopyTo { rows: CopyRows::Query(_), format }) = utility(
            "COPY (SELECT * FROM t WHERE a > 1) TO STDOUT (FORMAT csv, NULL 'x', QUOTE '''', ESCAPE '\\', FORCE_QUOTE (a))",
        ) else {
            panic!("a query");
        };
        assert_eq!(
            format,
            CopyFormat {
                null: "x".into(),
                quote: '\'',
                escape: '\\',
                force_quote: ForceQuote::Columns(vec!["a".into()]),
                ..csv
            }
        );
        let code = |sql: &str| parse_statement(sql).err().map(|e| e.code.code());
        for (sql, expected) in [
            ("copy t to stdout with (quote '''')", "0A000"),
            ("copy t to stdout with (format csv, delimiter '\"')", "22023"),
            ("copy t to stdout with (delimiter ',', null 'a,b')", "0A000"),
            ("copy t to stdout with (force_quote (s))", "0A000"),
            ("copy t from stdin with (format csv, force_quote (s))", "0A000"),
            ("copy t to stdout with (format binary)", "0A000"),
            ("copy t to stdout with (format xml)", "22023"),
            ("copy t to stdout with (header, header)", "42601"),
            ("copy t to stdout with (delimiter 'a')", "22023"),
            ("copy t to stdout with (format csv, null '\"')", "0A000"),
            ("copy t to '/tmp/x'", "42501"),
            ("copy t from '/tmp/x'", "42501"),
            ("copy t to program 'cat'", "42501"),
        ] {
            assert_eq!(code(sql), Some(expected), "{sql}");
        }
    }

    #[test]
    fn database_statements_parse_off_the_tokens() {
        assert_eq!(
            utility("CREATE DATABASE \"Test_X\""),
            Some(Utility::CreateDatabase("Test_X".into()))
        );
        assert_eq!(
            utility("create database shop with owner bob encoding 'UTF8' template template0;"),
            Some(Utility::CreateDatabase("shop".into()))
        );
        assert_eq!(
            utility("DROP DATABASE IF EXISTS Shop"),
            Some(Utility::DropDatabase { name: "shop".into(), if_exists: true })
        );
        assert_eq!(
            utility("drop database shop"),
            Some(Utility::DropDatabase { name: "shop".into(), if_exists: false })
        );
        let code = |sql: &str| parse_statement(sql).err().map(|e| e.code.code());
        assert_eq!(code("create database x encoding 'LATIN1'"), Some("0A000"));
        assert_eq!(code("drop database x with (force)"), Some("0A000"));
        assert_eq!(utility("create table database (a int)"), None);
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
