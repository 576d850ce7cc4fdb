//! The SQL dialect isola parses: PostgreSQL's, as sqlparser defines it, with a faster start for
//! the commonest expressions.
//!
//! sqlparser begins every expression by trying to read a data type (for typed literals such as
//! `DATE '2020-01-01'`), and when that fails, as it does for nearly every expression, it formats
//! an error message it then throws away. For a 1,000-row `INSERT ... VALUES` that is 3,000
//! formatted errors, about a tenth of the statement's time. [`IsolaDialect::parse_prefix`]
//! answers first for the expressions that can never start a typed literal, a function call or a
//! lambda: a number, a plain string, a placeholder (`$1`), `NULL`, `TRUE`, `FALSE`, a sign
//! before one of them, and a column name that is no keyword and is followed by a token that
//! ends or continues an expression. Everything else goes to sqlparser's own path.
//!
//! Invariant: the dialect parses every statement to the same tree as `PostgreSqlDialect` (it
//! reports itself as that dialect, so sqlparser's `dialect_of!` checks still hold, and forwards
//! every method that dialect overrides); the unit test below compares the two on the statements
//! of the SQL test scripts.

use std::any::TypeId;

use sqlparser::ast::{Expr, UnaryOperator};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, Precedence};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// PostgreSQL's dialect with a fast path for literal and column-name expressions.
#[derive(Debug, Default, Clone, Copy)]
pub struct IsolaDialect {
    postgres: PostgreSqlDialect,
}

/// Tokens that may follow a plain column name without changing what the name is: the name is
/// then an identifier, exactly as sqlparser would parse it.
fn continues_an_expression(token: &Token) -> bool {
    match token {
        Token::EOF
        | Token::Comma
        | Token::RParen
        | Token::SemiColon
        | Token::Eq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::Period
        | Token::DoubleColon
        | Token::StringConcat => true,
        Token::Word(w) => w.keyword != Keyword::NoKeyword,
        _ => false,
    }
}

impl IsolaDialect {
    /// The fast path; `None` leaves the expression to sqlparser.
    fn fast_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        match &parser.peek_token_ref().token {
            Token::Number(..) | Token::SingleQuotedString(_) | Token::Placeholder(_) => {
                Some(parser.parse_value().map(Expr::Value))
            }
            Token::Word(w)
                if w.quote_style.is_none()
                    && matches!(w.keyword, Keyword::NULL | Keyword::TRUE | Keyword::FALSE) =>
            {
                Some(parser.parse_value().map(Expr::Value))
            }
            Token::Word(w)
                if w.keyword == Keyword::NoKeyword
                    && continues_an_expression(&parser.peek_nth_token_ref(1).token) =>
            {
                let word = w.clone();
                let span = parser.peek_token_ref().span;
                parser.advance_token();
                Some(Ok(Expr::Identifier(word.to_ident(span))))
            }
            sign @ (Token::Minus | Token::Plus)
                if matches!(
                    parser.peek_nth_token_ref(1).token,
                    Token::Number(..) | Token::Placeholder(_)
                ) =>
            {
                let op =
                    if *sign == Token::Minus { UnaryOperator::Minus } else { UnaryOperator::Plus };
                parser.advance_token();
                let precedence = self.prec_value(Precedence::MulDivModOp);
                Some(
                    parser
                        .parse_subexpr(precedence)
                        .map(|expr| Expr::UnaryOp { op, expr: Box::new(expr) }),
                )
            }
            _ => None,
        }
    }
}

impl Dialect for IsolaDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<PostgreSqlDialect>()
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        self.fast_prefix(parser)
    }

    fn identifier_quote_style(&self, identifier: &str) -> Option<char> {
        self.postgres.identifier_quote_style(identifier)
    }
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.postgres.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        self.postgres.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        self.postgres.is_identifier_part(ch)
    }
    fn supports_unicode_string_literal(&self) -> bool {
        self.postgres.supports_unicode_string_literal()
    }
    fn is_reserved_for_identifier(&self, kw: Keyword) -> bool {
        self.postgres.is_reserved_for_identifier(kw)
    }
    fn is_table_alias(&self, kw: &Keyword, parser: &mut Parser) -> bool {
        self.postgres.is_table_alias(kw, parser)
    }
    fn is_custom_operator_part(&self, ch: char) -> bool {
        self.postgres.is_custom_operator_part(ch)
    }
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        self.postgres.get_next_precedence(parser)
    }
    fn supports_filter_during_aggregation(&self) -> bool {
        self.postgres.supports_filter_during_aggregation()
    }
    fn supports_group_by_expr(&self) -> bool {
        self.postgres.supports_group_by_expr()
    }
    fn supports_alter_user_as_alter_role(&self) -> bool {
        self.postgres.supports_alter_user_as_alter_role()
    }
    fn prec_value(&self, prec: Precedence) -> u8 {
        self.postgres.prec_value(prec)
    }
    fn allow_extract_custom(&self) -> bool {
        self.postgres.allow_extract_custom()
    }
    fn allow_extract_single_quotes(&self) -> bool {
        self.postgres.allow_extract_single_quotes()
    }
    fn supports_create_index_with_clause(&self) -> bool {
        self.postgres.supports_create_index_with_clause()
    }
    fn supports_explain_with_utility_options(&self) -> bool {
        self.postgres.supports_explain_with_utility_options()
    }
    fn supports_listen_notify(&self) -> bool {
        self.postgres.supports_listen_notify()
    }
    fn supports_exclude_constraint(&self) -> bool {
        self.postgres.supports_exclude_constraint()
    }
    fn supports_factorial_operator(&self) -> bool {
        self.postgres.supports_factorial_operator()
    }
    fn supports_bitwise_shift_operators(&self) -> bool {
        self.postgres.supports_bitwise_shift_operators()
    }
    fn supports_comment_on(&self) -> bool {
        self.postgres.supports_comment_on()
    }
    fn supports_load_extension(&self) -> bool {
        self.postgres.supports_load_extension()
    }
    fn supports_named_fn_args_with_colon_operator(&self) -> bool {
        self.postgres.supports_named_fn_args_with_colon_operator()
    }
    fn supports_named_fn_args_with_expr_name(&self) -> bool {
        self.postgres.supports_named_fn_args_with_expr_name()
    }
    fn supports_empty_projections(&self) -> bool {
        self.postgres.supports_empty_projections()
    }
    fn supports_nested_comments(&self) -> bool {
        self.postgres.supports_nested_comments()
    }
    fn supports_string_escape_constant(&self) -> bool {
        self.postgres.supports_string_escape_constant()
    }
    fn supports_numeric_literal_underscores(&self) -> bool {
        self.postgres.supports_numeric_literal_underscores()
    }
    fn supports_array_typedef_with_brackets(&self) -> bool {
        self.postgres.supports_array_typedef_with_brackets()
    }
    fn supports_geometric_types(&self) -> bool {
        self.postgres.supports_geometric_types()
    }
    fn supports_order_by_using_operator(&self) -> bool {
        self.postgres.supports_order_by_using_operator()
    }
    fn supports_set_names(&self) -> bool {
        self.postgres.supports_set_names()
    }
    fn supports_alter_column_type_using(&self) -> bool {
        self.postgres.supports_alter_column_type_using()
    }
    fn supports_left_associative_joins_without_parens(&self) -> bool {
        self.postgres.supports_left_associative_joins_without_parens()
    }
    fn supports_notnull_operator(&self) -> bool {
        self.postgres.supports_notnull_operator()
    }
    fn supports_interval_options(&self) -> bool {
        self.postgres.supports_interval_options()
    }
    fn supports_insert_table_alias(&self) -> bool {
        self.postgres.supports_insert_table_alias()
    }
    fn supports_create_table_like_parenthesized(&self) -> bool {
        self.postgres.supports_create_table_like_parenthesized()
    }
    fn supports_select_wildcard_with_alias(&self) -> bool {
        self.postgres.supports_select_wildcard_with_alias()
    }
    fn supports_comma_separated_trim(&self) -> bool {
        self.postgres.supports_comma_separated_trim()
    }
    fn supports_xml_expressions(&self) -> bool {
        self.postgres.supports_xml_expressions()
    }
    fn supports_aliased_function_args(&self) -> bool {
        self.postgres.supports_aliased_function_args()
    }
    fn supports_comment_optimizer_hint(&self) -> bool {
        self.postgres.supports_comment_optimizer_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(dialect: &dyn Dialect, sql: &str) -> Result<String, String> {
        Parser::parse_sql(dialect, sql).map(|stmts| format!("{stmts:?}")).map_err(|e| e.to_string())
    }

    /// Every statement of the SQL test scripts, and expressions chosen to sit at the fast
    /// path's edges, parse to the same tree (or the same error) with both dialects.
    #[test]
    fn parses_exactly_as_postgres() {
        let mut statements: Vec<String> = [
            "INSERT INTO t VALUES (1, -2, +3, 'a', NULL, TRUE, false, $1, -$2, 1.5e3, 'it''s')",
            "SELECT a, b.c, d::int, e || 'x', -f, - 1 * 2, -1 - -1, 2 ^ -3, x IS NULL, y NOT IN (1)",
            "SELECT date '2020-01-01', interval '1 day', xml '<a/>', int4 '5', foo 'bar', _utf8 'x'",
            "SELECT count(*), now(), t.*, a[1], (a), ROW(1, 2), CASE WHEN a THEN b END FROM t",
            "SELECT a b, c AS d FROM t WHERE e = $1 AND f <> 2 OR NOT g ORDER BY a DESC LIMIT 5",
            "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
            "SELECT \"quoted\", \"Q\".x, E'esc\\n', $$dollar$$, B'101', U&'x' FROM \"T\"",
            "SELECT 1 FROM t WHERE a BETWEEN -1 AND +2 AND b LIKE 'x%' AND c @> ARRAY[1]",
            "SELECT - 'a', + x, -y, a -> b, a ->> 'k', a #> '{b}', a !",
            "SELECT 1 +",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for dir in ["tests/sql", "tests/scripts"] {
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            for entry in entries.flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
                // Statements one per line or split at semicolons; a statement the parser cannot
                // read must fail the same way in both.
                for line in text.lines() {
                    let line = line.trim();
                    let sql = line.split_once(':').map_or(line, |(_, rest)| rest).trim();
                    if !sql.is_empty() && !sql.starts_with("--") && !sql.starts_with('#') {
                        statements.push(sql.to_string());
                    }
                    for piece in line.split(';') {
                        statements.push(piece.trim().to_string());
                    }
                }
            }
        }
        assert!(statements.len() > 500, "found only {} statements", statements.len());
        for sql in &statements {
            assert_eq!(
                parse(&IsolaDialect::default(), sql),
                parse(&PostgreSqlDialect {}, sql),
                "dialects disagree on: {sql}"
            );
        }
    }
}
