//! COMMENT ON TABLE / COMMENT ON COLUMN: a description kept in the table's schema (read back by
//! `pg_description`, `obj_description` and `col_description`).
//!
//! A comment is DDL like any other: it changes the transaction's working copy of the schema
//! (seen by that transaction alone until it commits, taken back by a rollback), takes the
//! table's exclusive lock, and is logged in the commit record as the statement's text, which
//! recovery replays and checkpoints keep with the rest of the DDL history. The logged text is
//! written here ([`log_text`]): sqlparser prints a comment's string without doubling its
//! quotes, which would not parse again.
//!
//! As in PostgreSQL, `IS NULL` and `IS ''` remove the comment, and a dropped column loses its
//! comment. Other objects (indexes, sequences, schemas, ...) are refused with 0A000;
//! `COMMENT IF EXISTS` (not PostgreSQL's syntax) with 42601.

use sqlparser::ast::{CommentObject, ObjectName, ObjectNamePart, Statement};

use super::{Ddl, ident};
use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::object_name;

/// The table a COMMENT ON TABLE or COMMENT ON COLUMN names (for its lock), if it names one.
pub(crate) fn table_of(kind: CommentObject, name: &ObjectName) -> Option<String> {
    match kind {
        CommentObject::Table => Some(object_name(name)),
        CommentObject::Column => column_target(name).ok().map(|(table, _)| table),
        _ => None,
    }
}

/// `[schema.]table.column` → (table, column).
fn column_target(name: &ObjectName) -> Result<(String, String), SqlError> {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(id) => ident(id),
            other => other.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [.., table, column] => Ok((table.clone(), column.clone())),
        _ => Err(SqlError::syntax("column name must be qualified")),
    }
}

/// What the log keeps of a DDL statement: its text as sqlparser prints it, except a COMMENT,
/// whose string is written with its quotes doubled.
pub(crate) fn log_text(stmt: &Statement) -> String {
    match stmt {
        Statement::Comment { object_type, object_name, comment, if_exists: false } => {
            let value = match comment {
                Some(c) => format!("'{}'", c.replace('\'', "''")),
                None => "NULL".into(),
            };
            format!("COMMENT ON {object_type} {object_name} IS {value}")
        }
        other => other.to_string(),
    }
}

impl Ddl<'_, '_> {
    /// COMMENT ON TABLE / COLUMN: sets (or, with NULL or '', removes) the description.
    pub(super) fn comment(
        &mut self,
        kind: CommentObject,
        name: &ObjectName,
        comment: Option<&str>,
        if_exists: bool,
    ) -> Result<(), SqlError> {
        if if_exists {
            return Err(SqlError::syntax("syntax error at or near \"IF\""));
        }
        let comment = comment.filter(|c| !c.is_empty()).map(str::to_string);
        match kind {
            CommentObject::Table => {
                let table_name = object_name(name);
                if self.schema.table(&table_name).is_none() && self.relation_exists(&table_name) {
                    return Err(SqlError::new(
                        SqlState::WrongObjectType,
                        format!("\"{table_name}\" is not a table"),
                    ));
                }
                let mut t = (*self.table(&table_name)?).clone();
                t.comment = comment;
                self.put(t);
            }
            CommentObject::Column => {
                let (table_name, column) = column_target(name)?;
                let mut t = (*self.table(&table_name)?).clone();
                let position = t
                    .column_index(&column)
                    .filter(|&p| !t.columns[p].hidden && !t.columns[p].dropped)
                    .ok_or_else(|| {
                        SqlError::new(
                            SqlState::UndefinedColumn,
                            format!(
                                "column \"{column}\" of relation \"{table_name}\" does not exist"
                            ),
                        )
                    })?;
                t.columns[position].comment = comment;
                self.put(t);
            }
            other => return Err(SqlError::unsupported(format!("COMMENT ON {other}"))),
        }
        Ok(())
    }
}
