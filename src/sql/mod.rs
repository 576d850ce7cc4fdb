//! The SQL layer: statement text in, rows and command tags out, over the transactional core.
//!
//! The life of a statement, along the folders of this module:
//!
//! 1. `parse`: the text is split into statements and parsed by sqlparser in isola's dialect
//!    (with the expression-depth check on its tokens); transaction control, SET, SHOW, COPY and
//!    the like are recognised as `parse::utility::Utility` statements.
//! 2. `plan`: the binder resolves names and types against the `schema` and builds a plan
//!    (`plan::SelectPlan`, `plan::InsertPlan`, `plan::ModifyPlan`) with its access path.
//! 3. `exec`: the executor runs the plan in a core transaction; expressions are evaluated by
//!    `exec::eval` through a small context trait.
//! 4. [`session`]: the transaction block around it all (autocommit, BEGIN/COMMIT, savepoints,
//!    failed blocks), the settings, the plan caches, and the one entry point both protocols use.
//!
//! Beside the pipeline: `engine` (what sessions share: the core database, the schema, DDL,
//! the session registry), `databases` (the hook to the server's other databases), `notify`
//! (LISTEN/NOTIFY's channels and mailboxes), `advisory` (advisory locks), `system` (the
//! catalog views drivers read), `types` (SQL types over core values), `error` (every error
//! with its SQLSTATE).

pub(crate) mod advisory;
pub mod databases;
pub(crate) mod ddl;
pub(crate) mod engine;
pub(crate) mod error;
pub(crate) mod exec;
pub mod notify;
pub(crate) mod parse;
pub(crate) mod plan;
pub(crate) mod schema;
pub mod session;
pub(crate) mod system;
pub(crate) mod types;

pub use engine::{Activity, Engine};
pub use error::SqlError;
pub use schema::{ColumnSchema, IndexSchema, Schema, TableSchema};
pub use session::{LockWaitPoll, Outcome, Prepared, Session, Tried, TxStatus};
pub use types::SqlType;

pub use system::{SERVER_VERSION, server_version_string};
