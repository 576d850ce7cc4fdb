//! CREATE [OR REPLACE] VIEW and DROP VIEW.
//!
//! A view is its query's text plus what binding it answered when it was created: its columns
//! (renamed by the view's column list) and the tables and views it reads. It lives in the
//! schema beside the tables, so it is transactional DDL like CREATE TABLE: made in the
//! transaction's working schema (ROLLBACK forgets it), logged as its statement text at commit
//! and replayed from the log at recovery. Readers bind the text again (`plan::bind`), so a
//! view always reads its tables as they are now.
//!
//! Invariants: a view's name is unique among relations (42P07); OR REPLACE keeps the old
//! columns' names and types and may only add columns at the end (42P16), as PostgreSQL
//! requires; a table or view another view reads is dropped only with CASCADE, which drops
//! those views too (2BP01 otherwise). Views are read-only: writes to them are refused
//! (`plan::bind`).

use std::sync::Arc;

use sqlparser::ast;

use crate::error::SqlState;
use crate::sql::ddl::{Ddl, duplicate_relation, ident};
use crate::sql::error::SqlError;
use crate::sql::plan::{Binder, object_name};
use crate::sql::schema::{ViewSchema, allocate_oid};

impl Ddl<'_, '_> {
    pub(super) fn create_view(&mut self, cv: &ast::CreateView) -> Result<(), SqlError> {
        if cv.materialized {
            return Err(SqlError::unsupported("CREATE MATERIALIZED VIEW"));
        }
        if cv.temporary {
            return Err(SqlError::unsupported("CREATE TEMPORARY VIEW"));
        }
        let name = object_name(&cv.name);
        let existing = self.schema.views.get(&name).cloned();
        if self.schema.tables.contains_key(&name) && cv.or_replace {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("\"{name}\" is not a view"),
            ));
        }
        if existing.is_none() && self.relation_exists(&name) || existing.is_some() && !cv.or_replace
        {
            return Err(duplicate_relation(&name));
        }
        if self.schema.types.contains_key(&name) {
            return Err(super::enum_type::duplicate_type(&name));
        }
        let mut binder = Binder::new(self.schema, Vec::new());
        let plan = binder.query(&cv.query, None, None)?;
        if !binder.params.is_empty() {
            return Err(SqlError::new(
                SqlState::UndefinedParameter,
                "there is no parameter $1".to_string(),
            ));
        }
        let mut columns = plan.columns.clone();
        if cv.columns.len() > columns.len() {
            return Err(SqlError::syntax("CREATE VIEW specifies more column names than columns"));
        }
        for (c, def) in columns.iter_mut().zip(&cv.columns) {
            c.0 = ident(&def.name);
        }
        for (i, (n, _)) in columns.iter().enumerate() {
            if columns[..i].iter().any(|(m, _)| m == n) {
                return Err(SqlError::new(
                    SqlState::DuplicateColumn,
                    format!("column \"{n}\" specified more than once"),
                ));
            }
        }
        let oid = match &existing {
            Some(old) => {
                if columns.len() < old.columns.len() {
                    return Err(SqlError::new(
                        SqlState::InvalidTableDefinition,
                        "cannot drop columns from view",
                    ));
                }
                for ((new_name, new_ty), (old_name, old_ty)) in columns.iter().zip(&old.columns) {
                    if new_name != old_name {
                        return Err(SqlError::new(
                            SqlState::InvalidTableDefinition,
                            format!(
                                "cannot change name of view column \"{old_name}\" to \"{new_name}\""
                            ),
                        ));
                    }
                    if new_ty != old_ty {
                        return Err(SqlError::new(
                            SqlState::InvalidTableDefinition,
                            format!(
                                "cannot change data type of view column \"{old_name}\" from {} to {}",
                                old_ty.name(),
                                new_ty.name()
                            ),
                        ));
                    }
                }
                old.oid
            }
            None => allocate_oid(),
        };
        let view = ViewSchema {
            name: name.clone(),
            oid,
            definition: cv.query.to_string(),
            columns,
            tables: binder.tables_used(),
            views: binder.views_used(),
        };
        if view.views.contains(&name) {
            return Err(SqlError::unsupported("a view reading itself"));
        }
        self.schema.views.insert(name.clone(), Arc::new(view));
        self.fx.touched_views.push(name.clone());
        Ok(())
    }

    pub(super) fn drop_view(
        &mut self,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        if !self.schema.views.contains_key(name) {
            if self.schema.tables.contains_key(name) {
                return Err(SqlError::new(
                    SqlState::WrongObjectType,
                    format!("\"{name}\" is not a view"),
                ));
            }
            if if_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                SqlState::UndefinedTable,
                format!("view \"{name}\" does not exist"),
            ));
        }
        self.drop_views_reading(None, name, "view", cascade)?;
        self.schema.views.remove(name);
        self.fx.touched_views.push(name.to_string());
        Ok(())
    }

    /// The views that read table `table` (or, without it, view `name`): with `cascade`
    /// dropped (and the views reading them), otherwise 2BP01.
    pub(super) fn drop_views_reading(
        &mut self,
        table: Option<crate::catalog::TableId>,
        name: &str,
        kind: &str,
        cascade: bool,
    ) -> Result<(), SqlError> {
        let mut readers: Vec<String> = self
            .schema
            .views
            .values()
            .filter(|v| match table {
                Some(id) => v.tables.contains(&id),
                None => v.views.iter().any(|n| n == name),
            })
            .map(|v| v.name.clone())
            .collect();
        readers.sort();
        let Some(first) = readers.first() else { return Ok(()) };
        if !cascade {
            return Err(SqlError::new(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop {kind} {name} because other objects depend on it"),
            )
            .with_detail(format!("view {first} depends on {kind} {name}")));
        }
        for reader in readers {
            if self.schema.views.contains_key(&reader) {
                self.drop_view(&reader, true, true)?;
            }
        }
        Ok(())
    }

    /// DROP TABLE of a view: 42809, as PostgreSQL answers.
    pub(super) fn not_a_view(&self, name: &str) -> Result<(), SqlError> {
        if self.schema.views.contains_key(name) {
            return Err(SqlError::new(
                SqlState::WrongObjectType,
                format!("\"{name}\" is not a table"),
            ));
        }
        Ok(())
    }
}
