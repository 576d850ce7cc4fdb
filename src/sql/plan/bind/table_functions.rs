//! Functions in FROM beside `generate_series`: `unnest(...)` (also spelled
//! `pg_catalog.unnest`), `generate_subscripts(array, dim)`, `pg_partition_ancestors(oid)`
//! (no rows: isola has no partitions) and `pg_options_to_table(options)` (pg_dump's),
//! each bound as an unnest over arrays, optionally `WITH ORDINALITY` (what psql's `\d` queries
//! and ORMs' reflection read).
//!
//! `unnest`, `generate_subscripts` and `generate_series` in a select list move to such a
//! FROM item ([`select_list_srfs`]); `generate_series(...)` there is the array
//! `ARRAY(SELECT g FROM generate_series(...) g)`, so its arguments may read the row.
//!
//! Invariant: every one is an `unnest` source, so the executor needs nothing of its own for
//! them; their arrays may read the FROM items before them (PostgreSQL's implicit LATERAL).

use sqlparser::ast::{self, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, SUBSCRIPTS_ARRAY, Scope, ident_name, object_name};
use crate::sql::plan::{Source, scalar};

impl Binder<'_> {
    /// A function in FROM other than `generate_series`; 42883 for one isola lacks.
    pub(super) fn table_function(
        &mut self,
        t: &ast::TableFactor,
        parent: &Option<Scope>,
        left: Option<&Scope>,
    ) -> Result<(Source, Scope), SqlError> {
        let ast::TableFactor::Table { name, alias, args: Some(args), with_ordinality, .. } = t
        else {
            return Err(SqlError::syntax("a function in FROM needs its arguments"));
        };
        let function = object_name(name);
        let mut exprs = Vec::with_capacity(args.args.len());
        for a in &args.args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e.clone()),
                _ => return Err(SqlError::syntax(format!("bad argument to {function}"))),
            }
        }
        let jsonb_columns: Option<&[&str]> = match function.as_str() {
            "jsonb_array_elements" | "jsonb_array_elements_text" => Some(&["value"]),
            "jsonb_object_keys" => Some(&["jsonb_object_keys"]),
            "jsonb_each" | "jsonb_each_text" => Some(&["key", "value"]),
            _ => None,
        };
        let arrays = match function.as_str() {
            "unnest" => exprs,
            "jsonb_array_elements" if exprs.len() == 1 => {
                vec![call(scalar::JSONB_ELEMENTS, &args.args)]
            }
            "jsonb_array_elements_text" if exprs.len() == 1 => {
                vec![call(scalar::JSONB_ELEMENTS_TEXT, &args.args)]
            }
            "jsonb_object_keys" if exprs.len() == 1 => vec![call(scalar::JSONB_KEYS, &args.args)],
            "jsonb_each" if exprs.len() == 1 => {
                vec![call(scalar::JSONB_KEYS, &args.args), call(scalar::JSONB_VALUES, &args.args)]
            }
            "jsonb_each_text" if exprs.len() == 1 => vec![
                call(scalar::JSONB_KEYS, &args.args),
                call(scalar::JSONB_VALUES_TEXT, &args.args),
            ],
            // `(option_name, option_value)` of each `name=value` of an options array
            "pg_options_to_table" if exprs.len() == 1 => {
                vec![call(OPTION_NAMES, &args.args), call(OPTION_VALUES, &args.args)]
            }
            // the array of the subscripts (1..n), unnested
            "generate_subscripts" => vec![Expr::Function(ast::Function {
                name: ast::ObjectName::from(vec![ast::Ident::new(SUBSCRIPTS_ARRAY)]),
                uses_odbc_syntax: false,
                parameters: ast::FunctionArguments::None,
                args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                    duplicate_treatment: None,
                    args: args.args.clone(),
                    clauses: vec![],
                }),
                filter: None,
                null_treatment: None,
                over: None,
                within_group: vec![],
            })],
            // isola has no partitions: a relation that is none has no ancestors (PostgreSQL
            // 15 answers no rows for it)
            "pg_partition_ancestors" if exprs.len() == 1 => {
                let dialect = sqlparser::dialect::PostgreSqlDialect {};
                let empty = sqlparser::parser::Parser::new(&dialect)
                    .try_with_sql("'{}'::oid[]")
                    .and_then(|mut p| p.parse_expr())
                    .map_err(|err| SqlError::new(SqlState::InternalError, err.to_string()))?;
                vec![empty]
            }
            _ => {
                return Err(SqlError::new(
                    SqlState::UndefinedFunction,
                    format!("function {function} does not exist"),
                ));
            }
        };
        let named_columns = alias.as_ref().is_none_or(|a| a.columns.is_empty());
        // `jsonb_array_elements(x) AS e`: `e` alone names the value too (a function of one
        // column read as a whole row is that column, in PostgreSQL), as a hidden second copy
        let whole_row = match alias {
            Some(a) if named_columns && jsonb_columns.is_some_and(|c| c.len() == 1) => {
                Some(ident_name(&a.name))
            }
            _ => None,
        };
        let arrays = match &whole_row {
            Some(_) => vec![arrays[0].clone(), arrays[0].clone()],
            None => arrays,
        };
        if function == "pg_options_to_table" || jsonb_columns.is_some() {
            let (source, mut scope) =
                self.unnest(&arrays, alias.as_ref(), *with_ordinality, parent, left)?;
            if let Some(name) = &whole_row
                && let Some(copy) = scope.cols.get_mut(1)
            {
                copy.name = name.clone();
                copy.qualifier = Some(name.clone());
                copy.hidden = true;
            }
            let qualifier = alias.as_ref().map_or(function.clone(), |a| ident_name(&a.name));
            let names = jsonb_columns.unwrap_or(&["option_name", "option_value"]);
            for (col, name) in scope.cols.iter_mut().zip(names) {
                if named_columns {
                    col.name = name.to_string();
                }
                col.qualifier = Some(qualifier.clone());
            }
            return Ok((source, scope));
        }
        let default_name = match function.as_str() {
            "pg_partition_ancestors" => Some("relid"),
            "generate_subscripts" => Some("generate_subscripts"),
            _ => None,
        };
        let (source, mut scope) =
            self.unnest(&arrays, alias.as_ref(), *with_ordinality, parent, left)?;
        if let Some(default) = default_name
            && alias.as_ref().is_none_or(|a| a.columns.is_empty())
            && let Some(col) = scope.cols.first_mut()
        {
            col.name = alias.as_ref().map_or(default.to_string(), |a| ident_name(&a.name));
            if alias.is_none() {
                col.qualifier = Some(function.clone());
            }
        }
        Ok((source, scope))
    }
}

/// The internal functions `pg_options_to_table(options)` in FROM is bound by: the names and
/// the values of an options array (`{fillfactor=70}`), unnested side by side.
pub(super) const OPTION_NAMES: &str = "isola_option_names";
pub(super) const OPTION_VALUES: &str = "isola_option_values";

/// A call of function `name` with `args`, as the parser would have made it.
fn call(name: &str, args: &[ast::FunctionArg]) -> Expr {
    Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![ast::Ident::new(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args.to_vec(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

/// The alias of the FROM item a select list's set-returning functions move to.
const SELECT_LIST_SRF: &str = "isola_select_list_srf";

/// `SELECT a, unnest(x) AS k, generate_subscripts(x, 1) AS o FROM f WHERE w` as
/// `SELECT a, s.k, s.o FROM f, unnest(x, <subscripts of x>) AS s(k, o) WHERE w`: PostgreSQL's
/// set-returning functions in a select list run in step, as many rows as the longest, the
/// shorter padded with NULL, which is what a multi-array unnest does (SQLAlchemy's reflection
/// reads `unnest(indkey)` beside `generate_subscripts(indkey, 1)`). `None` when the select list
/// has no top-level `unnest` / `generate_subscripts`, or the select groups (where they would
/// run after the aggregates).
pub(super) fn select_list_srfs(s: &ast::Select) -> Option<ast::Select> {
    let srf = |e: &Expr| -> Option<(String, Expr)> {
        let Expr::Function(f) = e else { return None };
        let name = object_name(&f.name);
        let ast::FunctionArguments::List(list) = &f.args else { return None };
        let args: Vec<&Expr> = list
            .args
            .iter()
            .filter_map(|a| match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                _ => None,
            })
            .collect();
        if args.len() != list.args.len() {
            return None;
        }
        match (name.as_str(), args.as_slice()) {
            ("unnest", [a]) => Some((name, (*a).clone())),
            ("jsonb_array_elements" | "jsonb_array_elements_text" | "jsonb_object_keys", [_]) => {
                let internal = match name.as_str() {
                    "jsonb_array_elements" => scalar::JSONB_ELEMENTS,
                    "jsonb_array_elements_text" => scalar::JSONB_ELEMENTS_TEXT,
                    _ => scalar::JSONB_KEYS,
                };
                Some((name, call(internal, &list.args)))
            }
            ("generate_series", [_, _] | [_, _, _]) => {
                let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                let sql = format!("ARRAY(SELECT g FROM generate_series({}) AS g)", args.join(", "));
                let dialect = crate::sql::parse::dialect::IsolaDialect::default();
                let parsed = sqlparser::parser::Parser::new(&dialect)
                    .try_with_sql(&sql)
                    .and_then(|mut p| p.parse_expr())
                    .ok()?;
                Some((name, parsed))
            }
            ("generate_subscripts", [_, _]) => {
                let mut f = f.clone();
                f.name = ast::ObjectName::from(vec![ast::Ident::new(SUBSCRIPTS_ARRAY)]);
                Some((name, Expr::Function(f)))
            }
            _ => None,
        }
    };
    let grouped = s.group_by != ast::GroupByExpr::Expressions(vec![], vec![]) || s.having.is_some();
    if grouped || s.distinct.is_some() {
        return None;
    }
    let mut rewritten = s.clone();
    let mut arrays = Vec::new();
    let mut columns = Vec::new();
    for item in &mut rewritten.projection {
        let (expr, alias) = match item {
            ast::SelectItem::UnnamedExpr(e) => (e.clone(), None),
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr.clone(), Some(alias.clone())),
            _ => continue,
        };
        // the function itself, or cast (`generate_series(...)::date`)
        let (found, cast) = match &expr {
            Expr::Cast { expr: inner, .. } => (srf(inner), Some(expr.clone())),
            e => (srf(e), None),
        };
        let Some((name, array)) = found else { continue };
        let column = ast::Ident::new(format!("c{}", arrays.len() + 1));
        arrays.push(array);
        columns.push(ast::TableAliasColumnDef { name: column.clone(), data_type: None });
        let reference = Expr::CompoundIdentifier(vec![ast::Ident::new(SELECT_LIST_SRF), column]);
        let expr = match cast {
            Some(Expr::Cast { kind, data_type, format, .. }) => {
                Expr::Cast { kind, expr: Box::new(reference), data_type, format }
            }
            _ => reference,
        };
        *item = ast::SelectItem::ExprWithAlias {
            expr,
            alias: alias.unwrap_or_else(|| ast::Ident::new(name)),
        };
    }
    if arrays.is_empty() {
        return None;
    }
    let unnest = ast::TableFactor::UNNEST {
        alias: Some(ast::TableAlias {
            explicit: true,
            at: None,
            name: ast::Ident::new(SELECT_LIST_SRF),
            columns,
        }),
        array_exprs: arrays,
        with_offset: false,
        with_offset_alias: None,
        with_ordinality: false,
    };
    rewritten.from.push(ast::TableWithJoins { relation: unnest, joins: vec![] });
    Some(rewritten)
}
