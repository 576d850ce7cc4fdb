//! The one error type of isola.
//!
//! Every error a caller can act on is a variant here, each with its PostgreSQL SQLSTATE code
//! ([`Error::sqlstate`]). Conflict errors carry a `detail` written for a person: which other
//! transactions, which table and key or range, and for a serialization failure the dependency
//! cycle. Only [`Error::SerializationFailure`] and [`Error::Deadlock`] mean "retry the whole
//! transaction" ([`Error::is_retryable`]); that rule is kept exact.

use std::fmt;

/// A result with the isola [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error a caller can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// 40001: the transaction cannot be serialized with a concurrent one; retry it.
    SerializationFailure { message: String, detail: String },
    /// 40P01: the transaction was chosen as the victim of a deadlock; retry it.
    Deadlock { detail: String },
    /// 55P03: a row lock could not be had (NOWAIT, or lock_timeout expired).
    LockNotAvailable { message: String, detail: String },
    /// 23505: a primary or unique key already exists.
    UniqueViolation { constraint: String, detail: String },
    /// 23502: a primary key column was NULL.
    NotNullViolation { column: String },
    /// 25P02: an earlier statement failed; every statement fails until ROLLBACK (or ROLLBACK TO
    /// SAVEPOINT for a statement-level error).
    TransactionAborted,
    /// 25006: a write in a READ ONLY transaction.
    ReadOnlyTransaction,
    /// 42P01: no such table or index.
    UndefinedObject(String),
    /// 42P07: a table or index of that name exists.
    DuplicateObject(String),
    /// 3B001: no savepoint of that name.
    UndefinedSavepoint(String),
    /// 22023: a malformed request (wrong column count, unknown column, ...).
    InvalidInput(String),
    /// 55006: the object is in use by another transaction.
    ObjectInUse(String),
    /// 57014: the statement was canceled (a cancel request or statement_timeout).
    QueryCanceled(String),
    /// 58030: an I/O failure (a log write or sync that failed; after one the database refuses
    /// writes until restarted).
    Io(String),
    /// XX001: durable data that does not read back (a corrupt log record or checkpoint), with
    /// the file and offset.
    Corrupt(String),
    /// The step has to wait for a row lock and the transaction runs on an async task
    /// ([`crate::Transaction::wait_as_task`]): the wait is queued for the task (or, for a wait
    /// only a thread can take, not queued) and the statement, which has written nothing, runs
    /// again once it is over. Never meant for a client (XX000 if it reached one).
    WouldWait,
    /// The statement found, once it held a row's lock, a version committed after the
    /// transaction's snapshot, before the transaction had shown anything read with that
    /// snapshot or written anything: the snapshot has been dropped and the statement runs again
    /// from the start with a new one (see `Transaction::finish_statement`). Never meant for a
    /// client (40001 if it reached one: it stands for the serialization failure it avoided).
    RestartStatement,
}

impl Error {
    /// The PostgreSQL SQLSTATE code of this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::SerializationFailure { .. } => "40001",
            Error::Deadlock { .. } => "40P01",
            Error::LockNotAvailable { .. } => "55P03",
            Error::UniqueViolation { .. } => "23505",
            Error::NotNullViolation { .. } => "23502",
            Error::TransactionAborted => "25P02",
            Error::ReadOnlyTransaction => "25006",
            Error::UndefinedObject(_) => "42P01",
            Error::DuplicateObject(_) => "42P07",
            Error::UndefinedSavepoint(_) => "3B001",
            Error::InvalidInput(_) => "22023",
            Error::QueryCanceled(_) => "57014",
            Error::ObjectInUse(_) => "55006",
            Error::Io(_) => "58030",
            Error::Corrupt(_) => "XX001",
            Error::WouldWait => "XX000",
            Error::RestartStatement => "40001",
        }
    }

    /// True for the errors that mean "run the whole transaction again": 40001 and 40P01.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::SerializationFailure { .. } | Error::Deadlock { .. })
    }

    /// The primary message, as PostgreSQL words it where PostgreSQL has the same error.
    pub fn message(&self) -> String {
        match self {
            Error::SerializationFailure { message, .. } => message.clone(),
            Error::Deadlock { .. } => "deadlock detected".into(),
            Error::LockNotAvailable { message, .. } => message.clone(),
            Error::UniqueViolation { constraint, .. } => {
                format!("duplicate key value violates unique constraint \"{constraint}\"")
            }
            Error::NotNullViolation { column } => {
                format!("null value in column \"{column}\" violates not-null constraint")
            }
            Error::TransactionAborted => {
                "current transaction is aborted, commands ignored until end of transaction block"
                    .into()
            }
            Error::ReadOnlyTransaction => {
                "cannot execute a write in a read-only transaction".into()
            }
            Error::UndefinedObject(name) => format!("\"{name}\" does not exist"),
            Error::DuplicateObject(name) => format!("\"{name}\" already exists"),
            Error::UndefinedSavepoint(name) => format!("savepoint \"{name}\" does not exist"),
            Error::InvalidInput(message) => message.clone(),
            Error::QueryCanceled(message) | Error::ObjectInUse(message) => message.clone(),
            Error::Io(message) => format!("I/O error: {message}"),
            Error::Corrupt(message) => format!("data corrupted: {message}"),
            Error::WouldWait => {
                "a statement run on an async task must wait for a row lock (internal)".into()
            }
            Error::RestartStatement => {
                "could not serialize access: the statement must run again with a new snapshot (internal)"
                    .into()
            }
        }
    }

    /// The explanation for a person, where there is one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::SerializationFailure { detail, .. }
            | Error::Deadlock { detail }
            | Error::LockNotAvailable { detail, .. }
            | Error::UniqueViolation { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// A 40001 with its message and explanation.
    pub(crate) fn serialization(message: &str, detail: String) -> Error {
        Error::SerializationFailure { message: message.into(), detail }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sqlstate(), self.message())?;
        if let Some(detail) = self.detail() {
            write!(f, " (DETAIL: {detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
