//! CREATE SEQUENCE and ALTER SEQUENCE, which sqlparser does not parse as PostgreSQL writes
//! them (options in any order, as pg_dump prints them): read off the tokens into
//! [`AlterSequence`] (applied by `sql::ddl`).

use sqlparser::ast;

use crate::sql::error::SqlError;
use crate::sql::parse::dialect::IsolaDialect;

/// An ALTER SEQUENCE statement (which sqlparser does not parse).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlterSequence {
    /// CREATE SEQUENCE rather than ALTER.
    pub create: bool,
    /// CREATE: IF NOT EXISTS; ALTER: IF EXISTS.
    pub if_exists: bool,
    /// AS type.
    pub data_type: Option<String>,
    pub name: String,
    pub options: Vec<ast::SequenceOptions>,
    pub owned_by: Option<ast::ObjectName>,
    /// RESTART [WITH n]: `Some(None)` restarts at START.
    pub restart: Option<Option<i64>>,
    pub rename_to: Option<String>,
}

/// Parses `ALTER SEQUENCE [IF EXISTS] name option ...` (INCREMENT [BY] n, MINVALUE n | NO
/// MINVALUE, MAXVALUE n | NO MAXVALUE, START [WITH] n, RESTART [[WITH] n], CACHE n, [NO]
/// CYCLE, AS type (ignored beyond bounds), OWNED BY t.c | NONE, OWNER TO x, RENAME TO x).
/// `None` if the text is not an ALTER SEQUENCE.
pub fn parse_alter_sequence(sql: &str) -> Option<Result<AlterSequence, SqlError>> {
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = IsolaDialect::default();
    let tokens = Tokenizer::new(&dialect, sql).tokenize().ok()?;
    let mut words =
        tokens.into_iter().filter(|t| !matches!(t, Token::Whitespace(_) | Token::SemiColon));
    let word = |t: &Option<Token>, w: &str| matches!(t, Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    let first = words.next();
    let create = word(&first, "create");
    if !(create || word(&first, "alter")) || !word(&words.next(), "sequence") {
        return None;
    }
    let rest: Vec<Token> = words.collect();
    Some(parse_alter_sequence_tokens(&rest, create))
}

fn parse_alter_sequence_tokens(
    tokens: &[sqlparser::tokenizer::Token],
    create: bool,
) -> Result<AlterSequence, SqlError> {
    use sqlparser::tokenizer::Token;
    let bad = || SqlError::syntax("syntax error in ALTER SEQUENCE");
    let mut i = 0;
    let is = |i: usize, w: &str| matches!(tokens.get(i), Some(Token::Word(x)) if x.quote_style.is_none() && x.value.eq_ignore_ascii_case(w));
    // a possibly qualified name: its parts, folded
    let name_at = |i: &mut usize| -> Result<Vec<String>, SqlError> {
        let mut parts = Vec::new();
        loop {
            match tokens.get(*i) {
                Some(Token::Word(w)) => {
                    parts.push(if w.quote_style.is_some() {
                        w.value.clone()
                    } else {
                        w.value.to_lowercase()
                    });
                    *i += 1;
                }
                _ => return Err(bad()),
            }
            if matches!(tokens.get(*i), Some(Token::Period)) {
                *i += 1;
            } else {
                return Ok(parts);
            }
        }
    };
    let number_at = |i: &mut usize| -> Result<i64, SqlError> {
        let negative = matches!(tokens.get(*i), Some(Token::Minus));
        if negative {
            *i += 1;
        }
        match tokens.get(*i) {
            Some(Token::Number(n, _)) => {
                *i += 1;
                let v: i64 = n.parse().map_err(|_| bad())?;
                Ok(if negative { -v } else { v })
            }
            _ => Err(bad()),
        }
    };
    let number_expr = |v: i64| ast::Expr::Value(ast::Value::Number(v.to_string(), false).into());
    let mut alter = AlterSequence { create, ..Default::default() };
    if is(i, "if") && is(i + 1, "exists") {
        alter.if_exists = true;
        i += 2;
    } else if create && is(i, "if") && is(i + 1, "not") && is(i + 2, "exists") {
        alter.if_exists = true;
        i += 3;
    }
    alter.name = name_at(&mut i)?.pop().ok_or_else(bad)?;
    while i < tokens.len() {
        if is(i, "increment") {
            i += 1;
            if is(i, "by") {
                i += 1;
            }
            let n = number_at(&mut i)?;
            alter.options.push(ast::SequenceOptions::IncrementBy(number_expr(n), true));
        } else if is(i, "minvalue") {
            i += 1;
            let n = number_at(&mut i)?;
            alter.options.push(ast::SequenceOptions::MinValue(Some(number_expr(n))));
        } else if is(i, "maxvalue") {
            i += 1;
            let n = number_at(&mut i)?;
            alter.options.push(ast::SequenceOptions::MaxValue(Some(number_expr(n))));
        } else if is(i, "no") && is(i + 1, "minvalue") {
            i += 2;
            alter.options.push(ast::SequenceOptions::MinValue(None));
        } else if is(i, "no") && is(i + 1, "maxvalue") {
            i += 2;
            alter.options.push(ast::SequenceOptions::MaxValue(None));
        } else if is(i, "no") && is(i + 1, "cycle") {
            i += 2;
            alter.options.push(ast::SequenceOptions::Cycle(true));
        } else if is(i, "cycle") {
            i += 1;
            alter.options.push(ast::SequenceOptions::Cycle(false));
        } else if is(i, "start") {
            i += 1;
            if is(i, "with") {
                i += 1;
            }
            let n = number_at(&mut i)?;
            alter.options.push(ast::SequenceOptions::StartWith(number_expr(n), true));
        } else if is(i, "restart") {
            i += 1;
            if is(i, "with") {
                i += 1;
            }
            alter.restart = Some(match tokens.get(i) {
                Some(Token::Number(..) | Token::Minus) => Some(number_at(&mut i)?),
                _ => None,
            });
        } else if is(i, "cache") {
            i += 1;
            let n = number_at(&mut i)?;
            alter.options.push(ast::SequenceOptions::Cache(number_expr(n)));
        } else if is(i, "as") {
            i += 1;
            alter.data_type = name_at(&mut i)?.pop();
        } else if is(i, "owned") && is(i + 1, "by") {
            i += 2;
            let parts = name_at(&mut i)?;
            alter.owned_by = Some(ast::ObjectName::from(
                parts.into_iter().map(ast::Ident::new).collect::<Vec<_>>(),
            ));
        } else if is(i, "owner") && is(i + 1, "to") {
            i += 2;
            name_at(&mut i)?;
        } else if is(i, "rename") && is(i + 1, "to") {
            i += 2;
            alter.rename_to = name_at(&mut i)?.pop();
        } else {
            return Err(SqlError::unsupported(format!("ALTER SEQUENCE option {}", tokens[i])));
        }
    }
    Ok(alter)
}
