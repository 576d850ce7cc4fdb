//! [`SqlError`]: every error the SQL layer reports, with its SQLSTATE. Core errors map here in one
//! place ([`From<crate::Error>`]); the server turns a `SqlError` into an ErrorResponse.

use std::fmt;

use crate::error::SqlState;

/// An error with a SQLSTATE code, a message, an optional DETAIL and the object it is about.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    pub code: SqlState,
    pub message: String,
    pub detail: Option<String>,
    /// The schema, table, column and constraint a constraint violation names (PostgreSQL's
    /// ErrorResponse fields `s`, `t`, `c`, `n`; drivers show them, e.g. psycopg's
    /// `diag.constraint_name`).
    pub object: Option<Box<ErrorObject>>,
}

/// What an error is about, as PostgreSQL's error fields name it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ErrorObject {
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
}

impl SqlError {
    pub fn new(code: SqlState, message: impl Into<String>) -> Self {
        SqlError { code, message: message.into(), detail: None, object: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Names the table (in `public`) the error is about, and the column or constraint.
    pub fn on_table(mut self, table: &str, column: Option<&str>, constraint: Option<&str>) -> Self {
        let object = self.object.get_or_insert_with(Default::default);
        object.schema = Some("public".into());
        object.table = Some(table.to_string());
        object.column = column.map(str::to_string).or(object.column.take());
        object.constraint = constraint.map(str::to_string).or(object.constraint.take());
        self
    }

    /// 42601.
    pub fn syntax(message: impl Into<String>) -> Self {
        SqlError::new(SqlState::SyntaxError, message)
    }

    /// 0A000.
    pub fn unsupported(what: impl fmt::Display) -> Self {
        SqlError::new(SqlState::FeatureNotSupported, format!("{what} is not supported"))
    }

    /// 42P01.
    pub fn undefined_table(name: &str) -> Self {
        SqlError::new(SqlState::UndefinedTable, format!("relation \"{name}\" does not exist"))
    }

    /// 42703.
    pub fn undefined_column(name: &str) -> Self {
        SqlError::new(SqlState::UndefinedColumn, format!("column \"{name}\" does not exist"))
    }

    /// 42804.
    pub fn datatype_mismatch(message: impl Into<String>) -> Self {
        SqlError::new(SqlState::DatatypeMismatch, message)
    }

    /// 25P02.
    pub fn in_failed_transaction() -> Self {
        SqlError::new(
            SqlState::InFailedSqlTransaction,
            "current transaction is aborted, commands ignored until end of transaction block",
        )
    }

    /// 40001 for an upsert whose conflicting row vanished under it.
    pub fn serialization_conflict() -> Self {
        SqlError::new(
            SqlState::SerializationFailure,
            "could not serialize access due to concurrent update",
        )
    }

    /// Whether the client should retry the whole transaction (40001, 40P01).
    pub fn is_retryable(&self) -> bool {
        self.code == SqlState::SerializationFailure || self.code == SqlState::DeadlockDetected
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " (DETAIL: {d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SqlError {}

impl From<crate::Error> for SqlError {
    fn from(e: crate::Error) -> Self {
        let object = match &e {
            crate::Error::UniqueViolation { constraint, .. } => Some(Box::new(ErrorObject {
                constraint: Some(constraint.clone()),
                ..Default::default()
            })),
            _ => None,
        };
        SqlError {
            code: e.sqlstate(),
            message: e.message(),
            detail: e.detail().map(str::to_string),
            object,
        }
    }
}
