//! SQL text of catalog objects as PostgreSQL prints it: column defaults (`pg_get_expr`),
//! constraints (`pg_get_constraintdef`) and indexes (`pg_get_indexdef`).
//!
//! PostgreSQL prints an expression from its parsed tree: without `pretty`, every operator
//! expression is parenthesised (`((n > 0) AND (m > 0))`); with it, only where precedence needs
//! it. A string literal carries its type (`'x'::text`), and an integer compared with a numeric
//! column is cast (`(0)::numeric`), as is a written cast (`'2020-01-01'::date`, `'s'::regclass`
//! in a function's arguments). Expressions beyond these forms print as sqlparser does.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, UnaryOperator,
    Value as AstValue,
};

use crate::sql::pg_catalog::model::{self, ConstraintEntry, ConstraintKind, IndexEntry};
use crate::sql::schema::{FkAction, Schema, TableSchema};
use crate::sql::types::SqlType;

/// An identifier, quoted when PostgreSQL would quote it.
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RESERVED.contains(&name);
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

/// A string literal as PostgreSQL's `quote_literal` writes it: quotes doubled, and `E'...'`
/// with backslashes doubled when the text holds one.
pub fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// Reserved words PostgreSQL quotes as identifiers (the common ones).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "default",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "false",
    "for",
    "foreign",
    "from",
    "grant",
    "group",
    "having",
    "in",
    "initially",
    "into",
    "leading",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "when",
    "where",
    "with",
];

/// The type name a literal's cast shows (`format_type` without the modifier); a user-defined
/// type qualified with `public.` when `qualify` (`public` is not on the search path).
fn cast_name(t: SqlType, qualify: bool) -> String {
    match t {
        SqlType::Char(_) => "bpchar".into(),
        t => {
            let (oid, _) = model::type_of(t);
            let name = model::format_type(oid, None).unwrap_or_else(|| "text".into());
            match t {
                SqlType::Enum(_) | SqlType::Array(SqlType::Enum(_)) if qualify => {
                    format!("public.{name}")
                }
                _ => name,
            }
        }
    }
}

/// Prints an expression over `table`'s columns.
pub struct Deparser<'a> {
    pub table: &'a TableSchema,
    pub pretty: bool,
    /// User-defined type names print qualified (`public.mood`), as under pg_dump's empty
    /// search path.
    pub qualify: bool,
}

impl Deparser<'_> {
    fn column_type(&self, e: &Expr) -> Option<SqlType> {
        let name = match e {
            Expr::Identifier(id) => id.value.to_lowercase(),
            Expr::CompoundIdentifier(ids) => ids.last()?.value.to_lowercase(),
            Expr::Nested(inner) => return self.column_type(inner),
            _ => return None,
        };
        self.table.columns.iter().find(|c| c.name == name && !c.dropped).map(|c| c.ty)
    }

    /// An expression whose value has type `context` when known (a literal takes it).
    pub fn expr(&self, e: &Expr, context: Option<SqlType>) -> String {
        match e {
            Expr::Identifier(id) => quote_ident(&column_name(id)),
            Expr::CompoundIdentifier(ids) => {
                ids.last().map(|id| quote_ident(&column_name(id))).unwrap_or_default()
            }
            Expr::Nested(inner) => self.expr(inner, context),
            Expr::Value(v) => self.literal(&v.value, context, false),
            Expr::UnaryOp { op: UnaryOperator::Minus, expr } => match expr.as_ref() {
                // a negative number keeps its own type: `'-1'::integer`
                Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => {
                    let n = v.value.to_string();
                    let t = match n.parse::<i64>() {
                        Ok(i) if i <= i32::MAX as i64 + 1 => SqlType::Int4,
                        Ok(_) => SqlType::Int8,
                        Err(_) => SqlType::Numeric(None),
                    };
                    format!("'-{n}'::{}", cast_name(t, self.qualify))
                }
                inner => self.wrap(format!("- {}", self.operand(inner, None, 10))),
            },
            Expr::UnaryOp { op: UnaryOperator::Not, expr } => {
                self.wrap(format!("NOT {}", self.operand(expr, Some(SqlType::Bool), 2)))
            }
            Expr::IsNull(inner) => self.wrap(format!("{} IS NULL", self.operand(inner, None, 5))),
            Expr::IsNotNull(inner) => {
                self.wrap(format!("{} IS NOT NULL", self.operand(inner, None, 5)))
            }
            Expr::BinaryOp { left, op, right } => self.binary(left, op, right),
            Expr::InList { expr, list, negated } => self.in_list(expr, list, *negated),
            Expr::Between { expr, negated: false, low, high } => {
                let ge = Expr::BinaryOp {
                    left: expr.clone(),
                    op: BinaryOperator::GtEq,
                    right: low.clone(),
                };
                let le = Expr::BinaryOp {
                    left: expr.clone(),
                    op: BinaryOperator::LtEq,
                    right: high.clone(),
                };
                self.binary(&ge, &BinaryOperator::And, &le)
            }
            Expr::Function(f) => {
                let name = f.name.to_string().to_lowercase();
                match name.as_str() {
                    "current_timestamp" | "current_date" | "localtimestamp" | "current_user" => {
                        name.to_uppercase()
                    }
                    _ => match &f.args {
                        // each argument printed as an expression (its casts as PostgreSQL
                        // prints them: `nextval('s'::regclass)`)
                        FunctionArguments::List(list)
                            if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
                        {
                            let args: Option<Vec<String>> = list
                                .args
                                .iter()
                                .map(|a| match a {
                                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => {
                                        Some(self.expr(e, None))
                                    }
                                    _ => None,
                                })
                                .collect();
                            match args {
                                Some(args) => format!("{name}({})", args.join(", ")),
                                None => format!("{name}{}", f.args),
                            }
                        }
                        FunctionArguments::None => format!("{name}()"),
                        other => format!("{name}{other}"),
                    },
                }
            }
            Expr::Cast { expr: inner, data_type, .. } => self.cast(inner, data_type),
            Expr::Array(a) if a.named => {
                let items: Vec<String> = a.elem.iter().map(|e| self.expr(e, None)).collect();
                format!("ARRAY[{}]", items.join(", "))
            }
            Expr::AnyOp { left, compare_op, right, .. } => {
                self.quantified(left, compare_op, right, "ANY")
            }
            Expr::AllOp { left, compare_op, right } => {
                self.quantified(left, compare_op, right, "ALL")
            }
            other => other.to_string(),
        }
    }

    /// `x IN (a, b)` as PostgreSQL's parser leaves it: `x = ANY (ARRAY[a, b])` (`<> ALL` for
    /// NOT IN), the elements typed as `x`; a varchar `x` compared as text (`(x)::text = ANY
    /// ((ARRAY['a'::character varying, ...])::text[])`); one element is a plain `=` / `<>`.
    fn in_list(&self, expr: &Expr, list: &[Expr], negated: bool) -> String {
        if let [only] = list {
            let op = if negated { BinaryOperator::NotEq } else { BinaryOperator::Eq };
            return self.binary(expr, &op, only);
        }
        let ty = self.column_type(expr);
        let varchar = matches!(ty, Some(SqlType::Varchar(_)));
        let left = self.text_cast(expr, varchar, self.operand(expr, ty, 5));
        // the array takes the column's type: integers meet a bigint column as `(5)::bigint`
        let element = |e: &Expr| match (ty, strip_nested(e)) {
            (Some(SqlType::Int8), Expr::Value(v)) if matches!(v.value, AstValue::Number(..)) => {
                let n = self.expr(e, ty);
                if self.pretty { format!("{n}::bigint") } else { format!("({n})::bigint") }
            }
            _ => self.typed_operand(e, ty, 0),
        };
        let elements: Vec<String> = list.iter().map(element).collect();
        let array = format!("ARRAY[{}]", elements.join(", "));
        let array = match (varchar, self.pretty) {
            (false, _) => array,
            (true, true) => format!("{array}::text[]"),
            (true, false) => format!("({array})::text[]"),
        };
        let op = if negated { "<> ALL" } else { "= ANY" };
        self.wrap(format!("{left} {op} ({array})"))
    }

    /// `expr::type`, as PostgreSQL prints a cast: the type's SQL name (`timestamp without time
    /// zone`, `numeric`, `regclass`), a string literal quoted, anything else parenthesised
    /// unless pretty (`(0)::numeric`, `0::numeric`).
    fn cast(&self, inner: &Expr, data_type: &sqlparser::ast::DataType) -> String {
        let written = data_type.to_string().to_lowercase();
        let reg = written.strip_prefix("pg_catalog.").unwrap_or(&written);
        let (ty, name) = match SqlType::parse(&written) {
            _ if reg.starts_with("reg") => (None, reg.to_string()),
            Ok((t, false)) => (Some(t), cast_name(t, self.qualify)),
            // a user-defined type, named as the reader's search path has it
            _ => {
                let bare = written.strip_prefix("public.").unwrap_or(&written);
                (None, if self.qualify { format!("public.{bare}") } else { bare.to_string() })
            }
        };
        match strip_nested(inner) {
            Expr::Value(v)
                if matches!(
                    v.value,
                    AstValue::SingleQuotedString(_) | AstValue::EscapedStringLiteral(_)
                ) =>
            {
                match ty {
                    Some(t) => self.literal(&v.value, Some(t), false),
                    None => format!("{}::{name}", v.value),
                }
            }
            inner => {
                let text = self.expr(inner, ty);
                if self.pretty { format!("{text}::{name}") } else { format!("({text})::{name}") }
            }
        }
    }

    /// `left op ANY (right)` / `ALL` (what an IN list is stored as).
    fn quantified(&self, left: &Expr, op: &BinaryOperator, right: &Expr, which: &str) -> String {
        let op = match op {
            BinaryOperator::NotEq => "<>".to_string(),
            other => other.to_string(),
        };
        let right = self.expr(strip_nested(right), None);
        self.wrap(format!("{} {op} {which} ({right})", self.operand(left, None, 4)))
    }

    fn wrap(&self, s: String) -> String {
        if self.pretty { s } else { format!("({s})") }
    }

    /// An operand of an operator of precedence `parent`: parenthesised in pretty mode when
    /// it binds more loosely.
    fn operand(&self, e: &Expr, context: Option<SqlType>, parent: u8) -> String {
        let text = self.expr(e, context);
        let e = strip_nested(e);
        match e {
            Expr::BinaryOp { op, .. } if self.pretty && precedence(op) < parent => {
                format!("({text})")
            }
            // PostgreSQL parenthesises `x = ANY (...)` wherever it is an operand
            Expr::InList { list, .. } if self.pretty && list.len() > 1 => format!("({text})"),
            _ => text,
        }
    }

    fn binary(&self, left: &Expr, op: &BinaryOperator, right: &Expr) -> String {
        let string = |e: &Expr| {
            matches!(strip_nested(e), Expr::Value(v)
                if matches!(v.value, AstValue::SingleQuotedString(_)))
        };
        // varchar has no operators of its own: PostgreSQL compares it as text
        let as_text = |e: &Expr, other: &Expr| {
            matches!(self.column_type(e), Some(SqlType::Varchar(_))) && string(other)
        };
        let lt = if as_text(left, right) { Some(SqlType::Text) } else { self.column_type(left) };
        let rt = if as_text(right, left) { Some(SqlType::Text) } else { self.column_type(right) };
        let p = precedence(op);
        let l = self.text_cast(left, as_text(left, right), self.typed_operand(left, rt, p));
        let r = self.text_cast(right, as_text(right, left), self.typed_operand(right, lt, p + 1));
        let op = match op {
            BinaryOperator::NotEq => "<>".to_string(),
            other => other.to_string(),
        };
        self.wrap(format!("{l} {op} {r}"))
    }

    /// A varchar column read as text: `(s)::text` (`s::text` when pretty).
    fn text_cast(&self, _e: &Expr, cast: bool, text: String) -> String {
        match (cast, self.pretty) {
            (false, _) => text,
            (true, true) => format!("{text}::text"),
            (true, false) => format!("({text})::text"),
        }
    }

    /// An operand that meets a column of type `other` on the operator's other side.
    fn typed_operand(&self, e: &Expr, other: Option<SqlType>, parent: u8) -> String {
        if let (Expr::Value(v), Some(t)) = (strip_nested(e), other)
            && let AstValue::Number(n, _) = &v.value
        {
            let integer = !n.contains(['.', 'e', 'E']);
            let cast = match t {
                SqlType::Numeric(_) if integer => Some("numeric"),
                SqlType::Float4 => Some("real"),
                SqlType::Float8 => Some("double precision"),
                _ => None,
            };
            if let Some(c) = cast {
                return if self.pretty { format!("{n}::{c}") } else { format!("({n})::{c}") };
            }
        }
        self.operand(e, other, parent)
    }

    fn literal(&self, v: &AstValue, context: Option<SqlType>, _neg: bool) -> String {
        match v {
            AstValue::SingleQuotedString(s) | AstValue::EscapedStringLiteral(s) => {
                let t = context.unwrap_or(SqlType::Text);
                format!("'{}'::{}", s.replace('\'', "''"), cast_name(t, self.qualify))
            }
            AstValue::Boolean(b) => b.to_string(),
            AstValue::Null => "NULL".into(),
            other => other.to_string(),
        }
    }
}

fn column_name(id: &sqlparser::ast::Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

fn strip_nested(e: &Expr) -> &Expr {
    match e {
        Expr::Nested(inner) => strip_nested(inner),
        other => other,
    }
}

/// How tightly an operator binds (higher binds tighter).
fn precedence(op: &BinaryOperator) -> u8 {
    use BinaryOperator as B;
    match op {
        B::Or => 1,
        B::And => 2,
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => 4,
        B::StringConcat => 6,
        B::Plus | B::Minus => 7,
        B::Multiply | B::Divide | B::Modulo => 8,
        _ => 6,
    }
}

/// A relation's name as `regclass` prints it: qualified with `public.` when `qualify` (the
/// reader's search path does not reach `public`, as pg_dump's empty one).
pub fn relation_name(name: &str, qualify: bool) -> String {
    if qualify { format!("public.{}", quote_ident(name)) } else { quote_ident(name) }
}

/// A column's default as `pg_get_expr(adbin, adrelid)` prints it, if it has one (a serial
/// column's: `nextval('<its sequence>'::regclass)`; `qualify`: see [`relation_name`]).
pub fn column_default(
    schema: &Schema,
    t: &TableSchema,
    position: usize,
    qualify: bool,
) -> Option<String> {
    let c = t.columns.get(position)?;
    if c.sequence.is_some() && c.identity.is_none() && !c.hidden {
        let seq = schema
            .owned_sequence(t.id, position)
            .map_or_else(|| format!("{}_{}_seq", t.name, c.name), |s| s.name.clone());
        let seq = relation_name(&seq, qualify);
        return Some(format!("nextval('{}'::regclass)", seq.replace('\'', "''")));
    }
    let d = c.default.as_ref()?;
    // `nextval('public.s'::regclass)` as a restore sets it: the sequence named as the
    // reader's search path has it
    if let Some(seq) = nextval_of(d)
        && schema.sequence(&seq).is_some()
    {
        return Some(format!("nextval('{}'::regclass)", relation_name(&seq, qualify)));
    }
    Some(Deparser { table: t, pretty: false, qualify }.expr(d, Some(c.ty)))
}

/// The sequence `nextval('name'::regclass)` (or `nextval('name')`) names, without `public.`
/// (a plain name, unquoted).
fn nextval_of(e: &Expr) -> Option<String> {
    let Expr::Function(f) = e else { return None };
    if !f.name.to_string().eq_ignore_ascii_case("nextval") {
        return None;
    }
    let FunctionArguments::List(list) = &f.args else { return None };
    let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else {
        return None;
    };
    let literal = match strip_nested(arg) {
        Expr::Cast { expr, data_type, .. }
            if data_type.to_string().to_lowercase().ends_with("regclass") =>
        {
            strip_nested(expr)
        }
        other => other,
    };
    let Expr::Value(v) = literal else { return None };
    let AstValue::SingleQuotedString(name) = &v.value else { return None };
    let name = name.strip_prefix("public.").unwrap_or(name);
    let plain = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    plain.then(|| name.to_string())
}

fn column_list(t: &TableSchema, positions: &[usize]) -> String {
    positions
        .iter()
        .map(|&p| t.columns.get(p).map_or("?".to_string(), |c| quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `pg_get_constraintdef(oid, pretty)` (`qualify`: see [`relation_name`]).
pub fn constraint_def(
    schema: &Schema,
    t: &TableSchema,
    c: &ConstraintEntry,
    pretty: bool,
    qualify: bool,
) -> String {
    match &c.kind {
        ConstraintKind::Key(index) => {
            let kind = if index.primary { "PRIMARY KEY" } else { "UNIQUE" };
            format!("{kind} ({})", column_list(t, &index.columns))
        }
        ConstraintKind::Check(e) => {
            let d = Deparser { table: t, pretty, qualify: false };
            format!("CHECK ({})", d.expr(e, Some(SqlType::Bool)))
        }
        ConstraintKind::Foreign(fk) => {
            let parent = schema.table_by_id(fk.parent);
            let (pname, pcols) = match parent {
                Some(p) => (relation_name(&p.name, qualify), column_list(p, &fk.parent_columns)),
                None => ("?".to_string(), String::new()),
            };
            let mut s = format!(
                "FOREIGN KEY ({}) REFERENCES {pname}({pcols})",
                column_list(t, &fk.columns)
            );
            if fk.on_update != FkAction::NoAction {
                s.push_str(&format!(" ON UPDATE {}", fk.on_update.sql()));
            }
            if fk.on_delete != FkAction::NoAction {
                s.push_str(&format!(" ON DELETE {}", fk.on_delete.sql()));
            }
            if fk.deferrable {
                s.push_str(" DEFERRABLE");
            }
            if fk.initially_deferred {
                s.push_str(" INITIALLY DEFERRED");
            }
            s
        }
    }
}

/// `pg_get_indexdef(oid, column, pretty)`: the CREATE INDEX statement (the table named
/// without its schema when `pretty`, as it is visible), or with `column` > 0 that column's
/// name.
pub fn index_def(t: &TableSchema, index: &IndexEntry, column: i64, pretty: bool) -> String {
    if column > 0 {
        return index
            .columns
            .get(column as usize - 1)
            .and_then(|&p| t.columns.get(p))
            .map_or(String::new(), |c| quote_ident(&c.name));
    }
    format!(
        "CREATE {}INDEX {} ON {}{} USING btree ({})",
        if index.unique { "UNIQUE " } else { "" },
        quote_ident(&index.name),
        if pretty { "" } else { "public." },
        quote_ident(&t.name),
        index
            .columns
            .iter()
            .enumerate()
            .map(|(k, &p)| {
                let name = t.columns.get(p).map_or("?".to_string(), |c| quote_ident(&c.name));
                // DESC implies NULLS FIRST; each is printed only where it is not implied
                let order = match index.option(k) {
                    0 => "",
                    1 => " DESC NULLS LAST",
                    2 => " NULLS FIRST",
                    _ => " DESC",
                };
                format!("{name}{order}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    )
}

#[cfg(test)]
mod tests {
    //! Constraint and default texts over a schema built by hand (foreign keys included, which
    //! CREATE TABLE does not keep yet), checked against what PostgreSQL 15 prints for the same
    //! declarations.

    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    use super::*;
    use crate::sql::pg_catalog::model;
    use crate::sql::schema::{ColumnSchema, FkAction, ForeignKey, Identity, SequenceSchema};
    use crate::types::Value;

    fn expr(sql: &str) -> Expr {
        Parser::new(&PostgreSqlDialect {}).try_with_sql(sql).unwrap().parse_expr().unwrap()
    }

    fn column(name: &str, ty: SqlType) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            ty,
            not_null: false,
            default: None,
            sequence: None,
            hidden: false,
            pad: Value::Null,
            dropped: false,
            identity: None,
            comment: None,
        }
    }

    fn table(name: &str, id: u32, columns: Vec<ColumnSchema>, key: Vec<usize>) -> TableSchema {
        TableSchema {
            name: name.into(),
            id,
            columns,
            primary_key: key,
            hidden_key: false,
            indexes: vec![],
            primary_key_name: format!("{name}_pkey"),
            checks: vec![],
            foreign_keys: vec![],
            oid: 16_385 + id,
            comment: None,
        }
    }

    /// `p (id serial primary key, code text)`, `c (a int, b int, n numeric, s varchar(5),
    /// t text, ident bigint generated always as identity)` with checks and foreign keys.
    fn schema() -> Schema {
        let mut id = column("id", SqlType::Int4);
        id.sequence = Some(Arc::new(AtomicI64::new(0)));
        let p = table("p", 1, vec![id, column("code", SqlType::Text)], vec![0]);
        let mut s = column("s", SqlType::Varchar(Some(5)));
        s.default = Some(expr("'x'"));
        let mut t = column("t", SqlType::Text);
        t.default = Some(expr("'it''s'"));
        let mut n = column("n", SqlType::Numeric(Some((10, 2))));
        n.default = Some(expr("-1"));
        let mut ident = column("ident", SqlType::Int8);
        ident.sequence = Some(Arc::new(AtomicI64::new(0)));
        ident.identity = Some(Identity::Always);
        let mut c = table(
            "c",
            2,
            vec![column("a", SqlType::Int4), column("b", SqlType::Int4), n, s, t, ident],
            vec![0],
        );
        c.checks = vec![
            ("c_n_check".into(), expr("n > 0")),
            ("c_ab_check".into(), expr("a > 0 AND (b < 10 OR b IS NULL)")),
            ("c_s_check".into(), expr("s <> 'bad'")),
        ];
        c.foreign_keys = vec![
            ForeignKey {
                name: "c_a_fkey".into(),
                columns: vec![0],
                parent: 1,
                parent_columns: vec![0],
                on_delete: FkAction::Cascade,
                on_update: FkAction::NoAction,
                deferrable: false,
                initially_deferred: false,
            },
            ForeignKey {
                name: "c_b_fkey".into(),
                columns: vec![1],
                parent: 1,
                parent_columns: vec![0],
                on_delete: FkAction::SetNull,
                on_update: FkAction::Restrict,
                deferrable: true,
                initially_deferred: true,
            },
        ];
        let mut schema = Schema::default();
        let mut sequence = SequenceSchema::new("p_id_seq", SqlType::Int4);
        sequence.owned_by = Some((1, 0));
        schema.sequences.insert("p_id_seq".into(), Arc::new(sequence));
        schema.tables.insert("p".into(), Arc::new(p));
        schema.tables.insert("c".into(), Arc::new(c));
        schema
    }

    fn defs(schema: &Schema, table: &str, pretty: bool) -> Vec<(String, String, String)> {
        let t = schema.table(table).unwrap();
        model::constraints(t)
            .iter()
            .map(|c| {
                (c.name.clone(), c.contype().into(), constraint_def(schema, t, c, pretty, false))
            })
            .collect()
    }

    #[test]
    fn constraints_print_as_postgresql_prints_them() {
        let schema = schema();
        let want = |v: &[(&str, &str, &str)]| {
            v.iter()
                .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
                .collect::<Vec<_>>()
        };
        let got: Vec<(String, String, String)> = defs(&schema, "c", false);
        assert_eq!(
            got,
            want(&[
                ("c_n_check", "c", "CHECK ((n > (0)::numeric))"),
                ("c_ab_check", "c", "CHECK (((a > 0) AND ((b < 10) OR (b IS NULL))))"),
                ("c_s_check", "c", "CHECK (((s)::text <> 'bad'::text))"),
                ("c_pkey", "p", "PRIMARY KEY (a)"),
                ("c_a_fkey", "f", "FOREIGN KEY (a) REFERENCES p(id) ON DELETE CASCADE"),
                (
                    "c_b_fkey",
                    "f",
                    "FOREIGN KEY (b) REFERENCES p(id) ON UPDATE RESTRICT ON DELETE SET NULL \
                     DEFERRABLE INITIALLY DEFERRED"
                ),
            ])
        );
        let pretty: Vec<String> = defs(&schema, "c", true).into_iter().map(|d| d.2).collect();
        assert_eq!(pretty[0], "CHECK (n > 0::numeric)");
        assert_eq!(pretty[1], "CHECK (a > 0 AND (b < 10 OR b IS NULL))");
        assert_eq!(pretty[2], "CHECK (s::text <> 'bad'::text)");
    }

    /// `x IN (...)` as PostgreSQL 15 prints it (read from its pg_get_constraintdef).
    #[test]
    fn in_lists_print_as_postgresql_prints_them() {
        let columns = vec![
            column("n", SqlType::Int4),
            column("s", SqlType::Text),
            column("v", SqlType::Varchar(Some(10))),
            column("x", SqlType::Numeric(Some((5, 2)))),
            column("c", SqlType::Char(3)),
        ];
        let t = table("tin", 3, columns, vec![0]);
        let print = |sql: &str, pretty: bool| {
            Deparser { table: &t, pretty, qualify: false }.expr(&expr(sql), None)
        };
        for (sql, plain, pretty) in [
            ("n in (1,2,3)", "(n = ANY (ARRAY[1, 2, 3]))", "n = ANY (ARRAY[1, 2, 3])"),
            ("n not in (4,5)", "(n <> ALL (ARRAY[4, 5]))", "n <> ALL (ARRAY[4, 5])"),
            ("n in (1)", "(n = 1)", "n = 1"),
            (
                "s in ('a','b')",
                "(s = ANY (ARRAY['a'::text, 'b'::text]))",
                "s = ANY (ARRAY['a'::text, 'b'::text])",
            ),
            (
                "v in ('p','q')",
                "((v)::text = ANY ((ARRAY['p'::character varying, 'q'::character varying])::text[]))",
                "v::text = ANY (ARRAY['p'::character varying, 'q'::character varying]::text[])",
            ),
            ("v not in ('z')", "((v)::text <> 'z'::text)", "v::text <> 'z'::text"),
            (
                "x in (1, 2.5)",
                "(x = ANY (ARRAY[(1)::numeric, 2.5]))",
                "x = ANY (ARRAY[1::numeric, 2.5])",
            ),
            (
                "c in ('aa','bb')",
                "(c = ANY (ARRAY['aa'::bpchar, 'bb'::bpchar]))",
                "c = ANY (ARRAY['aa'::bpchar, 'bb'::bpchar])",
            ),
            (
                "n in (1,2) and v in ('p')",
                "((n = ANY (ARRAY[1, 2])) AND ((v)::text = 'p'::text))",
                "(n = ANY (ARRAY[1, 2])) AND v::text = 'p'::text",
            ),
        ] {
            assert_eq!((sql, print(sql, false)), (sql, plain.to_string()));
            assert_eq!((sql, print(sql, true)), (sql, pretty.to_string()));
        }
    }

    #[test]
    fn defaults_print_as_postgresql_prints_them() {
        let schema = schema();
        let p = schema.table("p").unwrap();
        let c = schema.table("c").unwrap();
        assert_eq!(
            column_default(&schema, p, 0, false).as_deref(),
            Some("nextval('p_id_seq'::regclass)")
        );
        assert_eq!(column_default(&schema, p, 1, false), None);
        assert_eq!(column_default(&schema, c, 2, false).as_deref(), Some("'-1'::integer"));
        assert_eq!(column_default(&schema, c, 3, false).as_deref(), Some("'x'::character varying"));
        assert_eq!(column_default(&schema, c, 4, false).as_deref(), Some("'it''s'::text"));
        // an identity column has no default: its values come from its sequence
        assert_eq!(column_default(&schema, c, 5, false), None);
    }

    #[test]
    fn foreign_keys_are_found_by_oid_and_reference_their_parent() {
        let schema = schema();
        let c = schema.table("c").unwrap();
        let fk = model::constraints(c).into_iter().find(|k| k.name == "c_b_fkey").unwrap();
        let Some(model::Object::Constraint(t, found)) = model::object(&schema, fk.oid) else {
            panic!("constraint {} not found by its oid", fk.oid)
        };
        assert_eq!((t.name.as_str(), found.name.as_str()), ("c", "c_b_fkey"));
        assert_eq!(model::relation_oid(&schema, "public.p"), Some(16_386));
        assert_eq!(model::relation_oid(&schema, "\"p\""), Some(16_386));
        assert_eq!(
            model::relation_oid(&schema, "p_id_seq"),
            model::sequences(&schema, schema.table("p").unwrap()).first().map(|s| s.3)
        );
        assert_eq!(model::relation_oid(&schema, "nope"), None);
    }
}
