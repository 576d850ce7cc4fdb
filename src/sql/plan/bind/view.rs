//! A view named in FROM: its stored query text parsed and bound again here, as a subquery
//! of its own (no enclosing row, no WITH query of the reading statement in scope), its
//! columns named as the view has them.

use std::sync::Arc;

use sqlparser::ast::{self, Statement};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::parse::dialect::IsolaDialect;
use crate::sql::plan::Source;
use crate::sql::plan::bind::{Binder, Scope, ScopeCol, ident_name};
use crate::sql::schema::ViewSchema;

impl Binder<'_> {
    pub(super) fn view_reference(
        &mut self,
        view: &ViewSchema,
        alias: Option<&ast::TableAlias>,
    ) -> Result<(Source, Scope), SqlError> {
        if self.view_nesting >= 32 {
            return Err(SqlError::new(
                SqlState::StatementTooComplex,
                format!("views nested too deeply (or in a cycle) reading \"{}\"", view.name),
            ));
        }
        if !self.views.contains(&view.name) {
            self.views.push(view.name.clone());
        }
        let stmts =
            sqlparser::parser::Parser::parse_sql(&IsolaDialect::default(), &view.definition)
                .map_err(|e| {
                    SqlError::new(SqlState::InternalError, format!("view \"{}\": {e}", view.name))
                })?;
        let [Statement::Query(query)] = stmts.as_slice() else {
            return Err(SqlError::new(
                SqlState::InternalError,
                format!("view \"{}\" is not one query", view.name),
            ));
        };
        let saved_ctes = std::mem::take(&mut self.ctes);
        let saved_aggs = self.aggs.take();
        let saved_windows = self.windows.take();
        let saved_corr = std::mem::replace(&mut self.correlated, false);
        self.view_nesting += 1;
        let plan = self.query(query, None, None);
        self.view_nesting -= 1;
        self.ctes = saved_ctes;
        self.aggs = saved_aggs;
        self.windows = saved_windows;
        self.correlated = saved_corr;
        let mut plan = plan?;
        if plan.columns.len() != view.columns.len() {
            return Err(SqlError::unsupported(format!(
                "reading view \"{}\" after its tables' columns changed",
                view.name
            )));
        }
        for (c, (name, _)) in plan.columns.iter_mut().zip(&view.columns) {
            c.0.clone_from(name);
        }
        let qualifier = alias.map(|a| ident_name(&a.name)).unwrap_or_else(|| view.name.clone());
        let renames: Vec<String> = alias
            .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
            .unwrap_or_default();
        let scope = Scope {
            cols: plan
                .columns
                .iter()
                .enumerate()
                .map(|(i, (n, t))| ScopeCol {
                    qualifier: Some(qualifier.clone()),
                    name: renames.get(i).cloned().unwrap_or_else(|| n.clone()),
                    ty: *t,
                    hidden: false,
                    name_typed: false,
                    joined: false,
                })
                .collect(),
            ..Default::default()
        };
        Ok((Source::Derived(Arc::new(plan)), scope))
    }
}
