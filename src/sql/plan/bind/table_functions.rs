//! Functions in FROM beside `generate_series`: `unnest(...)` (also spelled
//! `pg_catalog.unnest`), `generate_subscripts(array, dim)` and `pg_partition_ancestors(oid)`
//! (no rows: isola has no partitions),
//! each bound as an unnest over arrays, optionally `WITH ORDINALITY` (what psql's `\d` queries
//! and ORMs' reflection read).
//!
//! Invariant: every one is an `unnest` source, so the executor needs nothing of its own for
//! them; their arrays may read the FROM items before them (PostgreSQL's implicit LATERAL).

use sqlparser::ast::{self, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::Source;
use crate::sql::plan::bind::{Binder, SUBSCRIPTS_ARRAY, Scope, ident_name, object_name};

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
        let arrays = match function.as_str() {
            "unnest" => exprs,
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
