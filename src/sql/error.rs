//! [`SqlError`]: every error the SQL layer reports, with its SQLSTATE. Core errors map here in one
//! place ([`From<crate::Error>`]); the server turns a `SqlError` into an ErrorResponse.

use std::fmt;

/// An error with a SQLSTATE code, a message and an optional DETAIL.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlError {
    pub code: String,
    pub message: String,
    pub detail: Option<String>,
}

impl SqlError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        SqlError { code: code.to_string(), message: message.into(), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Whether this is the core's [`crate::Error::WouldWait`] (a statement run on an async task
    /// must wait for a row lock; see `Session::try_execute_as_task`).
    pub fn is_would_wait(&self) -> bool {
        self.code == crate::Error::WouldWait.sqlstate()
            && self.message == crate::Error::WouldWait.message()
    }

    /// Whether this is the core's [`crate::Error::RestartStatement`]: the statement must run
    /// again from the start with the transaction's new snapshot.
    pub fn is_restart(&self) -> bool {
        self.code == crate::Error::RestartStatement.sqlstate()
            && self.message == crate::Error::RestartStatement.message()
    }

    /// 42601.
    pub fn syntax(message: impl Into<String>) -> Self {
        SqlError::new("42601", message)
    }

    /// 0A000.
    pub fn unsupported(what: impl fmt::Display) -> Self {
        SqlError::new("0A000", format!("{what} is not supported"))
    }

    /// 42P01.
    pub fn undefined_table(name: &str) -> Self {
        SqlError::new("42P01", format!("relation \"{name}\" does not exist"))
    }

    /// 42703.
    pub fn undefined_column(name: &str) -> Self {
        SqlError::new("42703", format!("column \"{name}\" does not exist"))
    }

    /// 42804.
    pub fn datatype_mismatch(message: impl Into<String>) -> Self {
        SqlError::new("42804", message)
    }

    /// 25P02.
    pub fn in_failed_transaction() -> Self {
        SqlError::new(
            "25P02",
            "current transaction is aborted, commands ignored until end of transaction block",
        )
    }

    /// 40001 for an upsert whose conflicting row vanished under it.
    pub fn serialization_conflict() -> Self {
        SqlError::new("40001", "could not serialize access due to concurrent update")
    }

    /// Whether the client should retry the whole transaction (40001, 40P01).
    pub fn is_retryable(&self) -> bool {
        self.code == "40001" || self.code == "40P01"
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
        SqlError {
            code: e.sqlstate().to_string(),
            message: e.message(),
            detail: e.detail().map(str::to_string),
        }
    }
}
