//! CREATE TYPE ... AS ENUM, ALTER TYPE (ADD VALUE, RENAME VALUE, RENAME TO) and DROP TYPE.
//!
//! An enum type lives in the schema beside the tables (`Schema::types`), so it is
//! transactional DDL like CREATE TABLE: made in the transaction's working schema (ROLLBACK
//! forgets it), logged as its statement text at commit and replayed from the log at recovery
//! (the replayed statements give every label the sort order it had, which is what rows hold).
//!
//! Invariants: a type's name is unique among types and relations (a table or view has a row
//! type of its name in PostgreSQL; 42710 either way); a changed type is a new version put in
//! the schema in place of the old one, and in every column (of a table or view) that has it or
//! an array of it, so no column keeps a stale list of labels; those tables are locked
//! exclusively by the statement (`ddl_locks`), as their definitions change. A type a column
//! has is dropped only with CASCADE, which drops those columns (and views) too (2BP01
//! otherwise).

use sqlparser::ast;

use crate::error::SqlState;
use crate::sql::ddl::{Ddl, ident};
use crate::sql::error::SqlError;
use crate::sql::plan::object_name;
use crate::sql::schema::{Schema, allocate_oid};
use crate::sql::types::SqlType;
use crate::sql::types::array_of;
use crate::sql::types::enums::{self, EnumType};

/// Whether a column type is the enum type named `name` or an array of it.
fn has_type(ty: SqlType, name: &str) -> bool {
    match ty {
        SqlType::Enum(e) => e.name == name,
        SqlType::Array(SqlType::Enum(e)) => e.name == name,
        _ => false,
    }
}

/// The column type `ty` with the enum type `new` in place of any version of it.
fn retyped(ty: SqlType, new: &'static EnumType) -> SqlType {
    match ty {
        SqlType::Enum(e) if e.oid == new.oid => SqlType::Enum(new),
        SqlType::Array(SqlType::Enum(e)) if e.oid == new.oid => array_of(SqlType::Enum(new)),
        other => other,
    }
}

/// The tables with a column of the enum type `name` (their definitions change with it).
pub(crate) fn tables_using(schema: &Schema, name: &str) -> Vec<String> {
    let mut out: Vec<String> = schema
        .tables
        .values()
        .filter(|t| t.columns.iter().any(|c| !c.dropped && has_type(c.ty, name)))
        .map(|t| t.name.clone())
        .collect();
    out.sort();
    out
}

pub(crate) fn duplicate_type(name: &str) -> SqlError {
    SqlError::new(SqlState::DuplicateObject, format!("type \"{name}\" already exists"))
}

fn undefined_type(name: &str) -> SqlError {
    SqlError::new(SqlState::UndefinedObject, format!("type \"{name}\" does not exist"))
}

impl Ddl<'_, '_> {
    /// CREATE TYPE name AS ENUM (labels).
    pub(super) fn create_type(
        &mut self,
        name: &ast::ObjectName,
        representation: Option<&ast::UserDefinedTypeRepresentation>,
    ) -> Result<(), SqlError> {
        let labels = match representation {
            Some(ast::UserDefinedTypeRepresentation::Enum { labels }) => labels,
            Some(ast::UserDefinedTypeRepresentation::Composite { .. }) => {
                return Err(SqlError::unsupported("composite types (CREATE TYPE ... AS (...))"));
            }
            _ => return Err(SqlError::unsupported("CREATE TYPE other than AS ENUM")),
        };
        let name = object_name(name);
        if self.schema.types.contains_key(&name)
            || self.schema.tables.contains_key(&name)
            || self.schema.views.contains_key(&name)
        {
            return Err(duplicate_type(&name));
        }
        let labels: Vec<String> = labels.iter().map(|l| l.value.clone()).collect();
        let ty = EnumType::new(&name, &labels, allocate_oid)?;
        self.put_type(enums::intern(ty));
        Ok(())
    }

    fn put_type(&mut self, ty: &'static EnumType) {
        if !self.fx.touched_types.contains(&ty.name) {
            self.fx.touched_types.push(ty.name.clone());
        }
        self.schema.types.insert(ty.name.clone(), ty);
    }

    fn enum_type(&self, name: &str) -> Result<&'static EnumType, SqlError> {
        self.schema.types.get(name).copied().ok_or_else(|| undefined_type(name))
    }

    /// Puts a new version of a type in place of the old, in the type and in every column
    /// that has it.
    fn replace_type(&mut self, new: &'static EnumType) {
        let old_name = self
            .schema
            .types
            .iter()
            .find(|(_, t)| t.oid == new.oid)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| new.name.clone());
        for table in tables_using(self.schema, &old_name) {
            let Some(t) = self.schema.tables.get(&table) else { continue };
            let mut t = (**t).clone();
            for c in &mut t.columns {
                c.ty = retyped(c.ty, new);
            }
            self.put(t);
        }
        let views: Vec<String> = self
            .schema
            .views
            .values()
            .filter(|v| v.columns.iter().any(|(_, ty)| has_type(*ty, &old_name)))
            .map(|v| v.name.clone())
            .collect();
        for name in views {
            let Some(v) = self.schema.views.get(&name) else { continue };
            let mut v = (**v).clone();
            for (_, ty) in &mut v.columns {
                *ty = retyped(*ty, new);
            }
            self.schema.views.insert(name.clone(), std::sync::Arc::new(v));
            if !self.fx.touched_views.contains(&name) {
                self.fx.touched_views.push(name);
            }
        }
        if old_name != new.name {
            self.schema.types.remove(&old_name);
            if !self.fx.touched_types.contains(&old_name) {
                self.fx.touched_types.push(old_name);
            }
        }
        self.put_type(new);
    }

    /// ALTER TYPE name ADD VALUE / RENAME VALUE / RENAME TO.
    pub(super) fn alter_type(&mut self, at: &ast::AlterType) -> Result<(), SqlError> {
        let name = object_name(&at.name);
        let old = self.enum_type(&name)?;
        let new = match &at.operation {
            ast::AlterTypeOperation::AddValue(add) => {
                let (before, after) = match &add.position {
                    Some(ast::AlterTypeAddValuePosition::Before(n)) => (Some(&n.value), None),
                    Some(ast::AlterTypeAddValuePosition::After(n)) => (None, Some(&n.value)),
                    None => (None, None),
                };
                match old.with_label_added(
                    &add.value.value,
                    before.map(String::as_str),
                    after.map(String::as_str),
                    add.if_not_exists,
                    allocate_oid(),
                )? {
                    Some(t) => t,
                    None => return Ok(()),
                }
            }
            ast::AlterTypeOperation::RenameValue(r) => {
                old.with_label_renamed(&r.from.value, &r.to.value)?
            }
            ast::AlterTypeOperation::Rename(r) => {
                let to = ident(&r.new_name);
                if self.schema.types.contains_key(&to)
                    || self.schema.tables.contains_key(&to)
                    || self.schema.views.contains_key(&to)
                {
                    return Err(duplicate_type(&to));
                }
                old.renamed(&to)
            }
        };
        self.replace_type(enums::intern(new));
        Ok(())
    }

    /// DROP TYPE name [CASCADE].
    pub(super) fn drop_type(
        &mut self,
        name: &str,
        if_exists: bool,
        cascade: bool,
    ) -> Result<(), SqlError> {
        if !self.schema.types.contains_key(name) {
            if if_exists {
                return Ok(());
            }
            return Err(undefined_type(name));
        }
        let mut columns = Vec::new();
        for table in tables_using(self.schema, name) {
            let t = self.table(&table)?;
            for c in t.columns.iter().filter(|c| !c.dropped && has_type(c.ty, name)) {
                columns.push((table.clone(), c.name.clone()));
            }
        }
        let mut views: Vec<String> = self
            .schema
            .views
            .values()
            .filter(|v| v.columns.iter().any(|(_, ty)| has_type(*ty, name)))
            .map(|v| v.name.clone())
            .collect();
        views.sort();
        if !cascade && (!columns.is_empty() || !views.is_empty()) {
            let mut detail: Vec<String> = columns
                .iter()
                .map(|(t, c)| format!("column {c} of table {t} depends on type {name}"))
                .collect();
            detail.extend(views.iter().map(|v| format!("view {v} depends on type {name}")));
            return Err(SqlError::new(
                SqlState::DependentObjectsStillExist,
                format!("cannot drop type {name} because other objects depend on it"),
            )
            .with_detail(detail.join("\n")));
        }
        for view in views {
            if self.schema.views.contains_key(&view) {
                self.drop_view(&view, true, true)?;
            }
        }
        for (table, column) in columns {
            self.drop_column(&table, &column, false, true)?;
        }
        self.schema.types.remove(name);
        if !self.fx.touched_types.iter().any(|n| n == name) {
            self.fx.touched_types.push(name.to_string());
        }
        Ok(())
    }
}
