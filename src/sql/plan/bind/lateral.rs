//! `LATERAL (subquery)` after other FROM items: the subquery is bound with the row of the
//! items before it as its enclosing query's row (level 1, the real enclosing queries one
//! level further out), and the executor runs it once per such row ([`Source::Lateral`]).

use std::sync::Arc;

use sqlparser::ast;

use crate::sql::error::SqlError;
use crate::sql::plan::Source;
use crate::sql::plan::bind::{Binder, Scope, ScopeCol, ident_name};

impl Binder<'_> {
    /// A LATERAL subquery reading the FROM items before it (`left`).
    pub(super) fn lateral_subquery(
        &mut self,
        subquery: &ast::Query,
        alias: Option<&ast::TableAlias>,
        parent: &Option<Scope>,
        left: &Scope,
    ) -> Result<(Source, Scope), SqlError> {
        let outer = Scope { parent: parent.clone().map(Box::new), ..left.clone() };
        let saved_aggs = self.aggs.take();
        let saved_windows = self.windows.take();
        let saved_corr = std::mem::replace(&mut self.correlated, false);
        self.depth += 1;
        let plan = self.query(subquery, Some(outer), None);
        self.depth -= 1;
        let correlated = std::mem::replace(&mut self.correlated, saved_corr);
        self.aggs = saved_aggs;
        self.windows = saved_windows;
        let mut plan = plan?;
        plan.correlated = correlated;
        // reading a row further out than the FROM items makes the enclosing query correlated
        // too; marking it so is only ever slower, never wrong
        if correlated && parent.is_some() {
            self.correlated = true;
        }
        let alias_name = alias.map(|a| ident_name(&a.name));
        let renames: Vec<String> = alias
            .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
            .unwrap_or_default();
        let scope = Scope {
            cols: plan
                .columns
                .iter()
                .enumerate()
                .map(|(i, (n, t))| ScopeCol {
                    qualifier: alias_name.clone(),
                    name: renames.get(i).cloned().unwrap_or_else(|| n.clone()),
                    ty: *t,
                    hidden: false,
                    name_typed: false,
                    joined: false,
                })
                .collect(),
            ..Default::default()
        };
        Ok((Source::Lateral(Arc::new(plan)), scope))
    }
}
