//! Literal normalization for the simple protocol's plan cache.
//!
//! Clients of the simple protocol (psql, `pgbench -M simple`, psycopg2 and the ORMs above it)
//! send every statement as text with its values spelled out as literals, so the same statement
//! shape arrives again and again with other numbers and strings, and each would be parsed and
//! planned anew. [`normalize`] turns such a text into its shape, each literal replaced by a
//! parameter (`$1`, `$2`, ...), and the literals' values: the session prepares the shape once
//! and runs it with the values as parameters (`Session::prepare_single`).
//!
//! Only texts whose meaning cannot change by the replacement are normalized; anything else is
//! left to the ordinary path (`None`): statements other than SELECT, INSERT, UPDATE and DELETE;
//! texts with comments, quoted identifiers, `$`, `::` casts, escapes or brackets; a string
//! right after a word (a typed literal such as `DATE '...'`, or `LIKE 'a%'`); a number right
//! after a `.` or inside a word; and clauses where a number is not a value (ORDER BY and GROUP BY
//! positions, LIMIT, OFFSET, FETCH, type modifiers in CAST). The session also checks that the
//! shape plans to the same result columns as the text itself before it trusts the shape.

use crate::sql::types::{SqlType, number_literal};

/// A literal taken out of a statement text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Literal {
    /// Digits only: typed `int4` when it fits, `int8` when that fits, else `numeric`, as a
    /// literal is.
    Integer(String),
    /// A number with a point or an exponent: `numeric`.
    Decimal(String),
    /// A single-quoted string, unescaped: untyped, its type decided by where it is used.
    Text(String),
}

/// The type a literal declares for the parameter that replaces it: a number's own type (as
/// the binder types the literal), none for a string (its use decides, as for the literal).
pub fn declared_type(literal: &Literal) -> Option<SqlType> {
    match literal {
        Literal::Integer(n) | Literal::Decimal(n) => number_literal(n).ok().map(|(_, t)| t),
        Literal::Text(_) => None,
    }
}

impl Normalized {
    /// The key of the shape's plan: the shape and each literal's kind, since a number and a
    /// string in the same place plan differently (`SELECT 1` is an int4, `SELECT '1'` a text).
    pub fn plan_key(&self) -> String {
        let mut key = String::with_capacity(self.shape.len() + self.literals.len() + 1);
        key.push_str(&self.shape);
        key.push('\0');
        key.extend(self.literals.iter().map(|l| match l {
            Literal::Integer(_) => 'i',
            Literal::Decimal(_) => 'd',
            Literal::Text(_) => 't',
        }));
        key
    }
}

/// A statement's shape and the literals taken out of it, in parameter order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Normalized {
    pub shape: String,
    pub literals: Vec<Literal>,
}

/// Statements whose literals may become parameters.
const STATEMENTS: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];

/// Words after which a number may not be a value, or that take literals of their own syntax.
const REFUSED_WORDS: [&str; 10] = [
    "ORDER", "GROUP", "LIMIT", "OFFSET", "FETCH", "CAST", "INTERVAL", "COLLATE", "ARRAY", "ESCAPE",
];

/// Characters that make a text too unusual to normalize.
const REFUSED_CHARS: [u8; 7] = [b'$', b'"', b'[', b'\\', b';', b'?', b'&'];

/// The most literals one text may have (a 1,000-row INSERT has a few thousand).
const MAX_LITERALS: usize = 65_535;

/// The shape of `sql` (one statement, no trailing semicolon) and its literals, or `None` when
/// the text is not one this cache may normalize.
pub fn normalize(sql: &str) -> Option<Normalized> {
    let b = sql.as_bytes();
    let first_word: String =
        sql.trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    if !STATEMENTS.iter().any(|s| first_word.eq_ignore_ascii_case(s)) {
        return None;
    }
    if b.iter().any(|c| REFUSED_CHARS.contains(c) || !c.is_ascii())
        || sql.contains("--")
        || sql.contains("/*")
        || sql.contains("::")
    {
        return None;
    }
    let mut shape = String::with_capacity(sql.len());
    let mut literals = Vec::new();
    // What the last significant token was: a word (identifier or keyword), or something else.
    let mut after_word = false;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &sql[start..i];
            if REFUSED_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) {
                return None;
            }
            shape.push_str(word);
            after_word = true;
        } else if c.is_ascii_digit() {
            if shape.ends_with('.') {
                return None; // `.5`, or `t.1`
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut decimal = false;
            if i < b.len() && b[i] == b'.' {
                decimal = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
                decimal = true;
                i += 1;
                if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                    i += 1;
                }
                let digits = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if digits == i {
                    return None;
                }
            }
            if i < b.len() && (b[i].is_ascii_alphabetic() || b[i] == b'_' || b[i] == b'.') {
                return None; // `1abc`, `1.2.3`: leave the error to the parser
            }
            let text = sql[start..i].to_string();
            literals.push(if decimal { Literal::Decimal(text) } else { Literal::Integer(text) });
            push_placeholder(&mut shape, literals.len());
            after_word = false;
        } else if c == b'\'' {
            if after_word {
                return None; // a typed literal (`DATE '...'`), `LIKE '...'`, `E'...'`
            }
            let mut value = String::new();
            i += 1;
            let mut start = i;
            loop {
                if i >= b.len() {
                    return None; // unterminated: leave the error to the parser
                }
                if b[i] == b'\'' {
                    value.push_str(&sql[start..i]);
                    if b.get(i + 1) == Some(&b'\'') {
                        value.push('\'');
                        i += 2;
                        start = i;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            if b.get(i) == Some(&b'\'') {
                return None;
            }
            literals.push(Literal::Text(value));
            push_placeholder(&mut shape, literals.len());
            after_word = false;
        } else {
            shape.push(c as char);
            if !c.is_ascii_whitespace() {
                after_word = false;
            }
            i += 1;
        }
        if literals.len() > MAX_LITERALS {
            return None;
        }
    }
    Some(Normalized { shape, literals })
}

/// Appends `$n` (without the formatting machinery: a big INSERT has thousands).
fn push_placeholder(shape: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let (mut at, mut rest) = (digits.len(), n);
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    shape.push('$');
    shape.extend(digits[at..].iter().map(|&d| d as char));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(sql: &str) -> Option<String> {
        normalize(sql).map(|n| n.shape)
    }

    #[test]
    fn literals_become_parameters_in_order() {
        let n = normalize("UPDATE t SET v = v + -12 WHERE id = 5 AND s = 'it''s' OR x > 1.5e3")
            .unwrap();
        assert_eq!(n.shape, "UPDATE t SET v = v + -$1 WHERE id = $2 AND s = $3 OR x > $4");
        assert_eq!(
            n.literals,
            vec![
                Literal::Integer("12".into()),
                Literal::Integer("5".into()),
                Literal::Text("it's".into()),
                Literal::Decimal("1.5e3".into()),
            ]
        );
        let n = normalize("INSERT INTO t VALUES (1,2,'a'),(3,4,'')").unwrap();
        assert_eq!(n.shape, "INSERT INTO t VALUES ($1,$2,$3),($4,$5,$6)");
        assert_eq!(n.literals[5], Literal::Text(String::new()));
        let rows: Vec<String> = (0..40).map(|i| format!("({i},'x')")).collect();
        let n = normalize(&format!("INSERT INTO t VALUES {}", rows.join(","))).unwrap();
        let placeholders: Vec<String> =
            (0..40).map(|i| format!("(${},${})", 2 * i + 1, 2 * i + 2)).collect();
        assert_eq!(n.shape, format!("INSERT INTO t VALUES {}", placeholders.join(",")));
        assert_eq!(
            shape("select abalance from t1 where aid = 7").unwrap(),
            "select abalance from t1 where aid = $1"
        );
        assert_eq!(shape("SELECT 1").unwrap(), "SELECT $1");
        assert_eq!(shape("SELECT now()").unwrap(), "SELECT now()");
    }

    #[test]
    fn texts_whose_meaning_could_change_are_left_alone() {
        for sql in [
            "SELECT * FROM t ORDER BY 1",
            "SELECT a, count(*) FROM t GROUP BY 1",
            "SELECT * FROM t LIMIT 5",
            "SELECT * FROM t OFFSET 5",
            "SELECT DATE '2020-01-01'",
            "SELECT * FROM t WHERE s LIKE 'a%'",
            "SELECT E'a\\n'",
            "SELECT CAST(x AS numeric(10, 2)) FROM t",
            "SELECT x::numeric(10,2) FROM t",
            "SELECT $1",
            "SELECT \"a b\" FROM t",
            "SELECT 1 -- comment",
            "SELECT /* c */ 1",
            "SELECT a[1] FROM t",
            "SELECT 'unterminated",
            "SELECT .5",
            "SELECT t.1 FROM t",
            "SELECT 1abc",
            "SELECT 1; SELECT 2",
            "BEGIN",
            "SET x = 1",
            "CREATE TABLE t (c char(84))",
            "SHOW x",
            "SELECT 'é'",
        ] {
            assert_eq!(shape(sql), None, "{sql}");
        }
    }
}
