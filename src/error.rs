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
    /// 25006: a write on a replica that is not the leader (hot standby); the message names
    /// the leader where it is known.
    StandbyRefusesWrite(String),
    /// 08007: a commit whose outcome is unknown: its leader lost leadership before a majority
    /// of the replicas acknowledged the commit record. It may or may not be committed; never
    /// retryable as such (retrying could apply it twice).
    OutcomeUnknown(String),
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

/// Every SQLSTATE isola reports, named as PostgreSQL names its conditions (`errcodes.txt`).
/// The five-character codes are written here and nowhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SqlState {
    /// 08P01
    ProtocolViolation,
    /// 0A000
    FeatureNotSupported,
    /// 21000
    CardinalityViolation,
    /// 22001
    StringDataRightTruncation,
    /// 22003
    NumericValueOutOfRange,
    /// 22007
    InvalidDatetimeFormat,
    /// 22008
    DatetimeFieldOverflow,
    /// 22011
    SubstringError,
    /// 22012
    DivisionByZero,
    /// 2201B
    InvalidRegularExpression,
    /// 2201E
    InvalidArgumentForLogarithm,
    /// 2201F
    InvalidArgumentForPowerFunction,
    /// 2201W
    InvalidRowCountInLimitClause,
    /// 22021
    CharacterNotInRepertoire,
    /// 22023
    InvalidParameterValue,
    /// 22025
    InvalidEscapeSequence,
    /// 22004
    NullValueNotAllowed,
    /// 22009
    InvalidTimeZoneDisplacementValue,
    /// 2202E
    ArraySubscriptError,
    /// 2200H
    SequenceGeneratorLimitExceeded,
    /// 22P02
    InvalidTextRepresentation,
    /// 22P03
    InvalidBinaryRepresentation,
    /// 22P05
    UntranslatableCharacter,
    /// 22P04
    BadCopyFileFormat,
    /// 23502
    NotNullViolation,
    /// 23503
    ForeignKeyViolation,
    /// 23505
    UniqueViolation,
    /// 23514
    CheckViolation,
    /// 2BP01
    DependentObjectsStillExist,
    /// 25001
    ActiveSqlTransaction,
    /// 25006
    ReadOnlySqlTransaction,
    /// 08007
    TransactionResolutionUnknown,
    /// 25P01
    NoActiveSqlTransaction,
    /// 25P02
    InFailedSqlTransaction,
    /// 25P03
    IdleInTransactionSessionTimeout,
    /// 26000
    InvalidSqlStatementName,
    /// 28000
    InvalidAuthorizationSpecification,
    /// 28P01
    InvalidPassword,
    /// 34000
    InvalidCursorName,
    /// 3B001
    InvalidSavepointSpecification,
    /// 3D000
    InvalidCatalogName,
    /// 428C9
    GeneratedAlways,
    /// 3F000
    InvalidSchemaName,
    /// 40001
    SerializationFailure,
    /// 40P01
    DeadlockDetected,
    /// 42501
    InsufficientPrivilege,
    /// 42601
    SyntaxError,
    /// 42701
    DuplicateColumn,
    /// 42702
    AmbiguousColumn,
    /// 42703
    UndefinedColumn,
    /// 42725
    AmbiguousFunction,
    /// 42704
    UndefinedObject,
    /// 42803
    GroupingError,
    /// 42804
    DatatypeMismatch,
    /// 42846
    CannotCoerce,
    /// 42883
    UndefinedFunction,
    /// 42710
    DuplicateObject,
    /// 42602
    InvalidName,
    /// 42809
    WrongObjectType,
    /// 42830
    InvalidForeignKey,
    /// 42P01
    UndefinedTable,
    /// 42P02
    UndefinedParameter,
    /// 42P03
    DuplicateCursor,
    /// 42P05
    DuplicatePreparedStatement,
    /// 42P04
    DuplicateDatabase,
    /// 42P07
    DuplicateTable,
    /// 42P10
    InvalidColumnReference,
    /// 42P18
    IndeterminateDatatype,
    /// 22014 / 22016: ntile's / nth_value's argument not positive.
    InvalidArgumentForNtile,
    InvalidArgumentForNthValue,
    /// 22013: a window frame offset below zero.
    InvalidPrecedingOrFollowingSize,
    /// 42P19: a recursive query not of the form `anchor UNION [ALL] step`.
    InvalidRecursion,
    /// 42P20: a window function where it is not allowed.
    WindowingError,
    /// 42712: a name given twice (WITH query names).
    DuplicateAlias,
    /// 42P16
    InvalidTableDefinition,
    /// 53300
    TooManyConnections,
    /// 54000
    ProgramLimitExceeded,
    /// 54001
    StatementTooComplex,
    /// 54023
    TooManyArguments,
    /// 55000
    ObjectNotInPrerequisiteState,
    /// 55006
    ObjectInUse,
    /// 55P02
    CantChangeRuntimeParam,
    /// 55P03
    LockNotAvailable,
    /// 57014
    QueryCanceled,
    /// 58030
    IoError,
    /// XX000
    InternalError,
    /// XX001
    DataCorrupted,
}

impl SqlState {
    /// The five-character code sent to clients.
    pub const fn code(self) -> &'static str {
        match self {
            SqlState::ProtocolViolation => "08P01",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::CardinalityViolation => "21000",
            SqlState::StringDataRightTruncation => "22001",
            SqlState::NullValueNotAllowed => "22004",
            SqlState::InvalidTimeZoneDisplacementValue => "22009",
            SqlState::NumericValueOutOfRange => "22003",
            SqlState::InvalidDatetimeFormat => "22007",
            SqlState::DatetimeFieldOverflow => "22008",
            SqlState::SubstringError => "22011",
            SqlState::DivisionByZero => "22012",
            SqlState::InvalidRegularExpression => "2201B",
            SqlState::InvalidArgumentForLogarithm => "2201E",
            SqlState::InvalidArgumentForPowerFunction => "2201F",
            SqlState::InvalidRowCountInLimitClause => "2201W",
            SqlState::CharacterNotInRepertoire => "22021",
            SqlState::InvalidParameterValue => "22023",
            SqlState::InvalidEscapeSequence => "22025",
            SqlState::ArraySubscriptError => "2202E",
            SqlState::InvalidTextRepresentation => "22P02",
            SqlState::UntranslatableCharacter => "22P05",
            SqlState::InvalidBinaryRepresentation => "22P03",
            SqlState::BadCopyFileFormat => "22P04",
            SqlState::NotNullViolation => "23502",
            SqlState::UniqueViolation => "23505",
            SqlState::CheckViolation => "23514",
            SqlState::ActiveSqlTransaction => "25001",
            SqlState::ReadOnlySqlTransaction => "25006",
            SqlState::TransactionResolutionUnknown => "08007",
            SqlState::NoActiveSqlTransaction => "25P01",
            SqlState::InFailedSqlTransaction => "25P02",
            SqlState::IdleInTransactionSessionTimeout => "25P03",
            SqlState::InvalidSqlStatementName => "26000",
            SqlState::InvalidAuthorizationSpecification => "28000",
            SqlState::InvalidPassword => "28P01",
            SqlState::InvalidCursorName => "34000",
            SqlState::InvalidSavepointSpecification => "3B001",
            SqlState::InvalidSchemaName => "3F000",
            SqlState::InvalidCatalogName => "3D000",
            SqlState::GeneratedAlways => "428C9",
            SqlState::SerializationFailure => "40001",
            SqlState::DeadlockDetected => "40P01",
            SqlState::InsufficientPrivilege => "42501",
            SqlState::SyntaxError => "42601",
            SqlState::DuplicateColumn => "42701",
            SqlState::AmbiguousColumn => "42702",
            SqlState::UndefinedColumn => "42703",
            SqlState::AmbiguousFunction => "42725",
            SqlState::UndefinedObject => "42704",
            SqlState::DuplicateObject => "42710",
            SqlState::InvalidName => "42602",
            SqlState::WrongObjectType => "42809",
            SqlState::InvalidForeignKey => "42830",
            SqlState::ForeignKeyViolation => "23503",
            SqlState::DependentObjectsStillExist => "2BP01",
            SqlState::GroupingError => "42803",
            SqlState::DatatypeMismatch => "42804",
            SqlState::CannotCoerce => "42846",
            SqlState::UndefinedFunction => "42883",
            SqlState::UndefinedTable => "42P01",
            SqlState::UndefinedParameter => "42P02",
            SqlState::DuplicateCursor => "42P03",
            SqlState::DuplicatePreparedStatement => "42P05",
            SqlState::DuplicateDatabase => "42P04",
            SqlState::DuplicateTable => "42P07",
            SqlState::InvalidColumnReference => "42P10",
            SqlState::IndeterminateDatatype => "42P18",
            SqlState::InvalidRecursion => "42P19",
            SqlState::InvalidArgumentForNtile => "22014",
            SqlState::InvalidArgumentForNthValue => "22016",
            SqlState::InvalidPrecedingOrFollowingSize => "22013",
            SqlState::WindowingError => "42P20",
            SqlState::DuplicateAlias => "42712",
            SqlState::InvalidTableDefinition => "42P16",
            SqlState::TooManyConnections => "53300",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::StatementTooComplex => "54001",
            SqlState::TooManyArguments => "54023",
            SqlState::ObjectNotInPrerequisiteState => "55000",
            SqlState::SequenceGeneratorLimitExceeded => "2200H",
            SqlState::ObjectInUse => "55006",
            SqlState::CantChangeRuntimeParam => "55P02",
            SqlState::LockNotAvailable => "55P03",
            SqlState::QueryCanceled => "57014",
            SqlState::IoError => "58030",
            SqlState::InternalError => "XX000",
            SqlState::DataCorrupted => "XX001",
        }
    }

    /// Whether the client should run the whole transaction again (40001, 40P01).
    pub const fn is_retryable(self) -> bool {
        matches!(self, SqlState::SerializationFailure | SqlState::DeadlockDetected)
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Comparing with a code as text (`err.code == "23505"`), as tests and clients do.
impl PartialEq<&str> for SqlState {
    fn eq(&self, other: &&str) -> bool {
        self.code() == *other
    }
}

impl Error {
    /// The PostgreSQL SQLSTATE code of this error.
    pub fn sqlstate(&self) -> SqlState {
        match self {
            Error::SerializationFailure { .. } => SqlState::SerializationFailure,
            Error::Deadlock { .. } => SqlState::DeadlockDetected,
            Error::LockNotAvailable { .. } => SqlState::LockNotAvailable,
            Error::UniqueViolation { .. } => SqlState::UniqueViolation,
            Error::NotNullViolation { .. } => SqlState::NotNullViolation,
            Error::TransactionAborted => SqlState::InFailedSqlTransaction,
            Error::ReadOnlyTransaction | Error::StandbyRefusesWrite(_) => {
                SqlState::ReadOnlySqlTransaction
            }
            Error::OutcomeUnknown(_) => SqlState::TransactionResolutionUnknown,
            Error::UndefinedObject(_) => SqlState::UndefinedTable,
            Error::DuplicateObject(_) => SqlState::DuplicateTable,
            Error::UndefinedSavepoint(_) => SqlState::InvalidSavepointSpecification,
            Error::InvalidInput(_) => SqlState::InvalidParameterValue,
            Error::QueryCanceled(_) => SqlState::QueryCanceled,
            Error::ObjectInUse(_) => SqlState::ObjectInUse,
            Error::Io(_) => SqlState::IoError,
            Error::Corrupt(_) => SqlState::DataCorrupted,
            Error::WouldWait => SqlState::InternalError,
            Error::RestartStatement => SqlState::SerializationFailure,
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
            Error::QueryCanceled(message)
            | Error::ObjectInUse(message)
            | Error::StandbyRefusesWrite(message)
            | Error::OutcomeUnknown(message) => message.clone(),
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
