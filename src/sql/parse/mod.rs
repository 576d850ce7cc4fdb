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
pub mod sequence;
pub mod session_commands;
pub mod utility;

use sqlparser::ast::Statement;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use dialect::IsolaDialect;
use utility::{Utility, keyword_statement, utility_of};

/// One statement as parsed.
#[derive(Debug)]
pub enum Parsed {
    /// Nothing but whitespace and comments.
    Empty,
    /// A statement the session handles itself.
    Utility(Utility),
    /// A statement to plan, with the lock strength sqlparser does not know (`FOR NO KEY
    /// UPDATE`, `FOR KEY SHARE`: parsed as `FOR UPDATE` / `FOR SHARE`).
    Sql(Box<Statement>, Option<Unparsed>),
}

/// Parses one statement (a trailing semicolon allowed). The text is tokenized once: the depth
/// check and the words sqlparser does not know (`NO KEY` / `KEY` in a locking clause,
/// `[NOT] DEFERRABLE` in transaction modes) work on the tokens, whose quoted strings and
/// identifiers are never mistaken for keywords; the parser then takes the tokens.
pub fn parse_statement(sql: &str) -> Result<Parsed, SqlError> {
    let trimmed = sql.trim();
    if trimmed.trim_end_matches(';').trim().is_empty() || is_only_comments(trimmed) {
        return Ok(Parsed::Empty);
    }
    if let Some(u) = session_commands::session_command(trimmed)? {
        return Ok(Parsed::Utility(u));
    }
    let dialect = IsolaDialect::default();
    let tokens = Tokenizer::new(&dialect, trimmed)
        .tokenize_with_location()
        .map_err(|e| SqlError::syntax(e.to_string()))?;
    if tokens.iter().all(|t| matches!(t.token, Token::Whitespace(_) | Token::SemiColon)) {
        return Ok(Parsed::Empty);
    }
    if let Some(u) = keyword_statement(&tokens)? {
        return Ok(Parsed::Utility(u));
    }
    if let Some(alter) = sequence::parse_alter_sequence(trimmed) {
        return Ok(Parsed::Utility(Utility::AlterSequence(alter?, trimmed.to_string())));
    }
    check_expression_depth(trimmed, &tokens)?;
    let (mut tokens, lock, deferrable) = unknown_words(tokens)?;
    let force_quote_all = copy_force_quote_all(&mut tokens);
    let mut stmts = Parser::new(&dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| {
            let msg = e.to_string();
            SqlError::syntax(msg.strip_prefix("sql parser error: ").unwrap_or(&msg).to_string())
        })?;
    if stmts.len() != 1 {
        return Err(SqlError::syntax("cannot insert multiple commands into a prepared statement"));
    }
    let stmt = stmts.remove(0);
    Ok(match utility_of(&stmt, deferrable)? {
        Some(Utility::CopyTo { rows, mut format }) if force_quote_all => {
            format.force_quote = utility::ForceQuote::All;
            Parsed::Utility(Utility::CopyTo { rows, format })
        }
        Some(u) => Parsed::Utility(u),
        None => Parsed::Sql(Box::new(stmt), lock),
    })
}

/// Whether a token is the unquoted word `word`.
fn is_word(t: &TokenWithSpan, word: &str) -> bool {
    matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Takes out of the token stream the words sqlparser does not know, and says what they were:
/// `FOR NO KEY UPDATE` and `FOR KEY SHARE` (left as `FOR UPDATE` / `FOR SHARE`, the strength
/// returned), in BEGIN, START TRANSACTION and SET the `[NOT] DEFERRABLE` mode (with the comma
/// before it, if any), in COPY's options the booleans `on` / `off` (as TRUE / FALSE), and in
/// COMMENT a dollar-quoted string (as a quoted one).
#[allow(clippy::type_complexity)]
fn unknown_words(
    tokens: Vec<TokenWithSpan>,
) -> Result<(Vec<TokenWithSpan>, Option<Unparsed>, Option<bool>), SqlError> {
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
    let mut drop = vec![false; tokens.len()];
    let mut lock = None;
    let mut deferrable = None;
    let transaction_modes = significant
        .first()
        .is_some_and(|&i| ["BEGIN", "START", "SET"].iter().any(|w| is_word(&tokens[i], w)));
    let word = |k: usize, w: &str| significant.get(k).is_some_and(|&i| is_word(&tokens[i], w));
    for k in 0..significant.len() {
        let found =
            if word(k, "FOR") && word(k + 1, "NO") && word(k + 2, "KEY") && word(k + 3, "UPDATE") {
                Some((Unparsed::NoKeyUpdate, vec![k + 1, k + 2]))
            } else if word(k, "FOR") && word(k + 1, "KEY") && word(k + 2, "SHARE") {
                Some((Unparsed::KeyShare, vec![k + 1]))
            } else {
                None
            };
        if let Some((strength, words)) = found {
            if lock.is_some() {
                return Err(SqlError::unsupported(
                    "more than one FOR NO KEY UPDATE or FOR KEY SHARE clause",
                ));
            }
            lock = Some(strength);
            for w in words {
                drop[significant[w]] = true;
            }
        }
        let overriding = if word(k, "OVERRIDING") && word(k + 1, "SYSTEM") && word(k + 2, "VALUE") {
            Some(Unparsed::OverridingSystemValue)
        } else if word(k, "OVERRIDING") && word(k + 1, "USER") && word(k + 2, "VALUE") {
            Some(Unparsed::OverridingUserValue)
        } else {
            None
        };
        if let Some(overriding) = overriding.filter(|_| word(0, "INSERT")) {
            if lock.is_some() {
                return Err(SqlError::syntax("syntax error at or near \"OVERRIDING\""));
            }
            lock = Some(overriding);
            for w in k..k + 3 {
                drop[significant[w]] = true;
            }
        }
        if transaction_modes && word(k, "DEFERRABLE") {
            let not = k > 0 && word(k - 1, "NOT");
            deferrable = Some(!not);
            drop[significant[k]] = true;
            let mut before = k;
            if not {
                before -= 1;
                drop[significant[before]] = true;
            }
            if before > 0 && matches!(tokens[significant[before - 1]].token, Token::Comma) {
                drop[significant[before - 1]] = true;
            }
        }
    }
    // An identity's `SEQUENCE NAME name` (pg_dump writes it) is not sqlparser's: the name is
    // left out, the sequence taking the name PostgreSQL would give it (`<table>_<column>_seq`,
    // which is what pg_dump writes unless the sequence was renamed).
    let in_table_ddl = significant
        .first()
        .is_some_and(|&i| is_word(&tokens[i], "ALTER") || is_word(&tokens[i], "CREATE"));
    if in_table_ddl {
        for k in 0..significant.len() {
            if word(k, "SEQUENCE") && word(k + 1, "NAME") {
                let mut end = k + 2; // the name's first part
                while significant
                    .get(end + 1)
                    .is_some_and(|&i| matches!(tokens[i].token, Token::Period))
                {
                    end += 2;
                }
                for j in k..=end.min(significant.len() - 1) {
                    drop[significant[j]] = true;
                }
            }
        }
    }
    // COPY's boolean options (`WITH (FREEZE on, HEADER off)`): sqlparser takes only TRUE and
    // FALSE there; `on` / `off` become the words it takes (nothing else in COPY says ON).
    let mut tokens = tokens;
    if significant.first().is_some_and(|&i| is_word(&tokens[i], "COPY")) {
        for k in 1..significant.len() {
            let i = significant[k];
            let flag = ["ON", "OFF"].iter().find(|w| is_word(&tokens[i], w)).copied();
            if let Some(flag) = flag
                && matches!(tokens[significant[k - 1]].token, Token::Word(_))
            {
                let value = if flag == "ON" { "TRUE" } else { "FALSE" };
                tokens[i].token = Token::make_keyword(value);
            }
        }
    }
    // A comment's text may be dollar-quoted (`COMMENT ON TABLE t IS $$...$$`); sqlparser takes
    // only a quoted string there, which holds the same text.
    if significant.first().is_some_and(|&i| is_word(&tokens[i], "COMMENT")) {
        for &i in &significant {
            if let Token::DollarQuotedString(s) = &tokens[i].token {
                tokens[i].token = Token::SingleQuotedString(s.value.clone());
            }
        }
    }
    let kept = tokens.into_iter().zip(drop).filter(|(_, d)| !d).map(|(t, _)| t).collect();
    Ok((reorder_identity_options(kept), lock, deferrable))
}

/// An identity's options (`AS IDENTITY (START WITH 1 INCREMENT BY 1 ...)`) in the one order
/// sqlparser reads them (INCREMENT, MINVALUE, MAXVALUE, START, CACHE, CYCLE); PostgreSQL
/// takes any order, and pg_dump writes START first.
fn reorder_identity_options(tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
    let Some(k) = (1..significant.len()).find(|&k| {
        is_word(&tokens[significant[k - 1]], "IDENTITY")
            && matches!(tokens[significant[k]].token, Token::LParen)
    }) else {
        return tokens;
    };
    let Some(close) =
        (k + 1..significant.len()).find(|&j| matches!(tokens[significant[j]].token, Token::RParen))
    else {
        return tokens;
    };
    let rank = |j: usize| -> Option<usize> {
        let t = &tokens[significant[j]];
        let next = significant.get(j + 1).map(|&i| &tokens[i]);
        let starts = |w: &str| is_word(t, w);
        if starts("INCREMENT") {
            Some(0)
        } else if starts("MINVALUE")
            || (starts("NO") && next.is_some_and(|n| is_word(n, "MINVALUE")))
        {
            Some(1)
        } else if starts("MAXVALUE")
            || (starts("NO") && next.is_some_and(|n| is_word(n, "MAXVALUE")))
        {
            Some(2)
        } else if starts("START") {
            Some(3)
        } else if starts("CACHE") {
            Some(4)
        } else if starts("CYCLE") || (starts("NO") && next.is_some_and(|n| is_word(n, "CYCLE"))) {
            Some(5)
        } else {
            None
        }
    };
    // items: (rank, significant positions), split where an option begins
    let mut items: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut j = k + 1;
    while j < close {
        match rank(j) {
            Some(r) => {
                let two_words = is_word(&tokens[significant[j]], "NO");
                items.push((r, vec![j]));
                if two_words {
                    j += 1;
                    items.last_mut().expect("pushed").1.push(j);
                }
            }
            None => match items.last_mut() {
                Some(item) => item.1.push(j),
                None => return tokens,
            },
        }
        j += 1;
    }
    items.sort_by_key(|(r, _)| *r);
    let space = || TokenWithSpan::wrap(Token::Whitespace(sqlparser::tokenizer::Whitespace::Space));
    let mut out: Vec<TokenWithSpan> = tokens[..=significant[k]].to_vec();
    for (_, positions) in &items {
        for &p in positions {
            out.push(space());
            out.push(tokens[significant[p]].clone());
        }
    }
    out.push(space());
    out.extend(tokens[significant[close]..].iter().cloned());
    out
}

/// COPY's `FORCE_QUOTE *` (and the older `FORCE QUOTE *`), which sqlparser does not take: the
/// `*` is replaced by a column list sqlparser takes, whose one name stands for every column;
/// returns whether it was there.
fn copy_force_quote_all(tokens: &mut Vec<TokenWithSpan>) -> bool {
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
    if !significant.first().is_some_and(|&i| is_word(&tokens[i], "COPY")) {
        return false;
    }
    for k in 1..significant.len() {
        let star = significant[k];
        if !matches!(tokens[star].token, Token::Mul) {
            continue;
        }
        let before = |back: usize, w: &str| k >= back && is_word(&tokens[significant[k - back]], w);
        let placeholder = |span| TokenWithSpan::new(Token::make_word("all_columns", None), span);
        let span = tokens[star].span;
        if before(1, "FORCE_QUOTE") {
            tokens.splice(
                star..=star,
                [
                    TokenWithSpan::new(Token::LParen, span),
                    placeholder(span),
                    TokenWithSpan::new(Token::RParen, span),
                ],
            );
            return true;
        }
        if before(1, "QUOTE") && before(2, "FORCE") {
            tokens[star] = placeholder(span);
            return true;
        }
    }
    false
}

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

/// Splits a query string into statements at semicolons outside quotes (with the backslash
/// escapes of `E'...'` strings), comments and dollar-quoted strings. A byte loop, not the
/// tokenizer: it runs on every simple query, most of which then take a cached plan unparsed.
pub fn split_statements(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                // An escape string: E'...' where the E does not end a longer word.
                let escapes = q == b'\''
                    && i >= 1
                    && matches!(b[i - 1], b'E' | b'e')
                    && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'));
                i += 1;
                while i < b.len() {
                    if escapes && b[i] == b'\\' {
                        i += 2;
                        continue;
                    }
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

/// What a statement says in words sqlparser does not know, which [`parse_statement`] takes
/// out of the token stream and passes on here: the lock strengths `FOR NO KEY UPDATE` / `FOR
/// KEY SHARE` (`NO KEY` / `KEY` taken out), and INSERT's `OVERRIDING {SYSTEM | USER} VALUE`
/// (taken out whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unparsed {
    NoKeyUpdate,
    KeyShare,
    /// `OVERRIDING SYSTEM VALUE`: values given for a GENERATED ALWAYS identity column are
    /// taken.
    OverridingSystemValue,
    /// `OVERRIDING USER VALUE`: values given for an identity column are ignored.
    OverridingUserValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_of(sql: &str) -> (Option<Unparsed>, String) {
        match parse_statement(sql).unwrap() {
            Parsed::Sql(stmt, lock) => (lock, stmt.to_string()),
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// The lock strengths sqlparser does not know are read off the tokens: words inside a
    /// string literal or a quoted identifier are never taken for them.
    #[test]
    fn lock_strengths_come_from_tokens_not_text() {
        assert_eq!(lock_of("SELECT 'for key share'"), (None, "SELECT 'for key share'".into()));
        assert_eq!(
            lock_of("SELECT \"for no key update\" FROM t"),
            (None, "SELECT \"for no key update\" FROM t".into())
        );
        assert_eq!(
            lock_of("SELECT * FROM t WHERE id = 1 FOR NO KEY UPDATE"),
            (Some(Unparsed::NoKeyUpdate), "SELECT * FROM t WHERE id = 1 FOR UPDATE".into())
        );
        assert_eq!(
            lock_of("select 'for key share' from t for key share nowait"),
            (Some(Unparsed::KeyShare), "SELECT 'for key share' FROM t FOR SHARE NOWAIT".into())
        );
    }

    #[test]
    fn empty_and_comment_only_statements() {
        for sql in ["", "  ;", "-- nothing", "/* nothing */"] {
            assert!(matches!(parse_statement(sql), Ok(Parsed::Empty)), "{sql:?}");
        }
    }
}
