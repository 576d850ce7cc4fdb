//! The SQL layer: parse (sqlparser), bind and plan, execute against the transactional core.
//!
//! Layers, top down: [`session`] (transaction blocks, settings, statement dispatch) →
//! [`plan`] (names, types, access paths) → [`exec`] (runs plans in a core transaction) →
//! [`expr`] (expression evaluation) and [`types`] (SQL types over core values); [`dialect`] is the
//! parser's dialect (PostgreSQL's, with a fast path); [`copy`] turns COPY data into rows.
//! [`engine`] holds what sessions share; [`system`] the catalog views drivers read; [`error`]
//! maps every error to a SQLSTATE.

pub mod copy;
pub mod dialect;
pub mod durable;
pub mod engine;
pub mod error;
pub mod exec;
pub mod expr;
pub mod literals;
pub mod plan;
pub mod schema;
pub mod session;
pub mod system;
pub mod types;

pub use engine::Engine;
pub use error::SqlError;
pub use session::{LockWaitPoll, Outcome, Prepared, Session, Tried, TxStatus};
pub use types::SqlType;

/// The version isola reports as `server_version` (PostgreSQL-shaped, so drivers parse it).
pub const SERVER_VERSION: &str = "15.0";

/// What `SELECT version()` answers.
pub fn server_version_string() -> String {
    format!(
        "PostgreSQL 15.0 (isola {}) on {}-linux, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}
