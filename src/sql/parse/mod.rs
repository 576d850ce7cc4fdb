//! Parsing: statement text to sqlparser's AST, in isola's dialect.
//!
//! What it owns: splitting a simple-protocol query string into statements
//! ([`split_statements`]), the expression-depth check that runs on tokens before the parser
//! ([`MAX_EXPRESSION_DEPTH`]), the lock strengths sqlparser does not know, read off the token
//! stream ([`parse_statement`]), the statements the session handles itself ([`utility`]), and
//! the literal-to-parameter normalisation of the simple protocol's plan cache ([`literals`]).
//! Invariant: statement text is never rewritten; what is parsed is what the client sent.

pub mod dialect;
pub mod literals;
pub mod utility;

use crate::error::SqlState;
use sqlparser::tokenizer::{Token, TokenWithSpan};

use crate::sql::error::SqlError;

/// The deepest expression a statement may hold. The parser builds operator chains
/// (`a + b + c ...`, `x OR y OR ...`, `v::t::t ...`) iteratively, but binding, evaluating and
/// dropping them recurse, so an unbounded chain would overflow a thread's stack and take the
/// server down. PostgreSQL answers such statements with 54001 too (its max_stack_depth).
pub const MAX_EXPRESSION_DEPTH: usize = 1000;

/// Refuses, before parsing, a statement whose expressions could be deeper than
/// [`MAX_EXPRESSION_DEPTH`]. The bound is computed on tokens: at each parenthesis level, the
/// operators since the last comma or clause keyword (they nest into one left-deep chain), summed
/// over the open levels, plus the levels. It over-estimates (every operator counts one level),
/// never under-estimates; flat lists (`VALUES (1, -2), ...`, `IN (...)`) reset at each comma.
pub fn check_expression_depth(sql: &str, tokens: &[TokenWithSpan]) -> Result<(), SqlError> {
    use sqlparser::keywords::Keyword;
    // A shorter text cannot hold that many operators.
    if sql.len() < MAX_EXPRESSION_DEPTH {
        return Ok(());
    }
    let mut runs: Vec<usize> = vec![0];
    let mut total = 0usize;
    let reset = |runs: &mut Vec<usize>, total: &mut usize| {
        let top = runs.last_mut().expect("never empty");
        *total -= *top;
        *top = 0;
    };
    for token in tokens.iter().map(|t| &t.token) {
        let operator = match token {
            Token::LParen => {
                runs.push(0);
                false
            }
            Token::RParen => {
                if runs.len() > 1 {
                    total -= runs.pop().unwrap_or(0);
                }
                false
            }
            Token::Comma | Token::SemiColon => {
                reset(&mut runs, &mut total);
                false
            }
            Token::Word(w) => match w.keyword {
                Keyword::AND
                | Keyword::OR
                | Keyword::NOT
                | Keyword::IS
                | Keyword::LIKE
                | Keyword::ILIKE
                | Keyword::BETWEEN
                | Keyword::IN
                | Keyword::COLLATE
                | Keyword::AT => true,
                Keyword::SELECT
                | Keyword::FROM
                | Keyword::WHERE
                | Keyword::GROUP
                | Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::OFFSET
                | Keyword::VALUES
                | Keyword::SET
                | Keyword::RETURNING
                | Keyword::UNION
                | Keyword::EXCEPT
                | Keyword::INTERSECT => {
                    reset(&mut runs, &mut total);
                    false
                }
                _ => false,
            },
            Token::Number(..)
            | Token::Whitespace(_)
            | Token::Period
            | Token::RBracket
            | Token::Placeholder(_)
            | Token::EOF
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_) => false,
            // Quoted literals of every kind ('..', E'..', X'..', $$..$$, "ident").
            t => {
                let text = t.to_string();
                !(text.contains(['\'', '"']) || text.starts_with('$'))
            }
        };
        if operator {
            *runs.last_mut().expect("never empty") += 1;
            total += 1;
            if total + runs.len() > MAX_EXPRESSION_DEPTH {
                return Err(SqlError::new(
                    SqlState::StatementTooComplex,
                    format!(
                        "stack depth limit exceeded: an expression nested deeper than {MAX_EXPRESSION_DEPTH} operators"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Splits a query string into statements at semicolons outside quotes, comments and
/// dollar-quoted strings.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        if i + 1 < b.len() && b[i + 1] == q {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                // $tag$ ... $tag$
                if let Some(end) = sql[i + 1..].find('$') {
                    let tag = &sql[i..i + end + 2];
                    if tag[1..tag.len() - 1].chars().all(|c| c.is_alphanumeric() || c == '_')
                        && !tag[1..].starts_with(|c: char| c.is_ascii_digit())
                        && let Some(close) = sql[i + tag.len()..].find(tag)
                    {
                        i += tag.len() + close + tag.len() - 1;
                    }
                }
            }
            b';' => {
                let s = sql[start..i].trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let s = sql[start.min(sql.len())..].trim();
    if !s.is_empty() && !is_only_comments(s) {
        out.push(s.to_string());
    }
    out
}

pub fn is_only_comments(s: &str) -> bool {
    s.lines().all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
}

/// Rewrites lock strengths the parser does not know.
pub fn rewrite_lock_strength(sql: &str) -> (String, Option<LockOverride>) {
    let lower = sql.to_ascii_lowercase();
    for (pat, repl, o) in [
        ("for no key update", "FOR UPDATE", LockOverride::NoKeyUpdate),
        ("for key share", "FOR SHARE", LockOverride::KeyShare),
    ] {
        if let Some(pos) = lower.find(pat) {
            let mut s = sql.to_string();
            s.replace_range(pos..pos + pat.len(), repl);
            return (s, Some(o));
        }
    }
    (sql.to_string(), None)
}

/// `FOR NO KEY UPDATE` / `FOR KEY SHARE`, which the parser does not know: the session rewrites
/// them to `FOR UPDATE` / `FOR SHARE` and passes the real strength here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockOverride {
    NoKeyUpdate,
    KeyShare,
}
