//! Session settings: their names and defaults, how their values read, and how a transaction
//! block changes them.
//!
//! TRANSACTIONAL SETTINGS, as in PostgreSQL: a `SET` in a transaction block lasts if the block
//! commits and is undone if it rolls back (or by ROLLBACK TO a savepoint set before it); a
//! `SET LOCAL` lasts only to the block's end, either way. Outside a block `SET` is at once the
//! session's, and `SET LOCAL` does nothing (PostgreSQL warns). The server's own settings
//! ([`SERVER_KEPT`], the causal token) are never undone.

use std::time::Duration;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::txn::IsolationLevel;

pub const SETTINGS: &[(&str, &str)] = &[
    ("application_name", ""),
    ("client_encoding", "UTF8"),
    ("client_min_messages", "notice"),
    ("datestyle", "ISO, MDY"),
    ("default_transaction_deferrable", "off"),
    ("default_transaction_isolation", "read committed"),
    ("default_transaction_read_only", "off"),
    ("extra_float_digits", "1"),
    ("idle_in_transaction_session_timeout", "0"),
    ("integer_datetimes", "on"),
    ("intervalstyle", "postgres"),
    ("lock_timeout", "0"),
    ("max_identifier_length", "63"),
    ("search_path", "\"$user\", public"),
    ("server_encoding", "UTF8"),
    ("server_version", crate::sql::system::SERVER_VERSION),
    ("server_version_num", "150000"),
    ("standard_conforming_strings", "on"),
    ("statement_timeout", "0"),
    ("synchronous_commit", "on"),
    ("timezone", "UTC"),
    ("transaction_deferrable", "off"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "off"),
    ("bytea_output", "hex"),
    ("jit", "off"),
    ("row_security", "on"),
    // pg_dump sets these
    ("synchronize_seqscans", "on"),
    ("quote_all_identifiers", "off"),
    ("lc_messages", "C.UTF-8"),
    // a plain pg_dump script sets these before its first CREATE (no effect here: isola has
    // no function bodies, XML, tablespaces or access methods to choose)
    ("check_function_bodies", "on"),
    ("xmloption", "content"),
    ("default_tablespace", ""),
    ("default_table_access_method", "heap"),
    // replication (docs/replication.md): the read consistency a replica serves this session
    // at, a token to read after, and the session's own token (its last commit or read)
    ("isola.read_consistency", "linearizable"),
    ("isola.read_after", ""),
    ("isola.session_token", "0/0"),
    // bounded_staleness: how old a member's data may be, and how long a read waits for it
    ("isola.max_staleness", "2s"),
    ("isola.staleness_wait", "1s"),
];

pub fn level_from(s: &str) -> Option<IsolationLevel> {
    match s.trim().trim_matches('\'').to_lowercase().replace('_', " ").as_str() {
        "read uncommitted" => Some(IsolationLevel::ReadUncommitted),
        "read committed" => Some(IsolationLevel::ReadCommitted),
        "repeatable read" => Some(IsolationLevel::RepeatableRead),
        "serializable" => Some(IsolationLevel::Serializable),
        _ => None,
    }
}

/// Parses a duration setting (`0`, `250`, `'1s'`, `'100ms'`, `'2min'`); milliseconds by default.
/// Whether a boolean setting's value is on (`on`, `true`, `yes`, `1`, any case).
pub fn setting_is_on(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "on" | "true" | "yes" | "1")
}

pub fn parse_duration(v: &str) -> Result<Option<Duration>, SqlError> {
    let v = v.trim().trim_matches('\'').trim();
    let split = v.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        SqlError::new(
            SqlState::InvalidParameterValue,
            format!("invalid value for a duration: \"{v}\""),
        )
    })?;
    let ms = match unit.trim() {
        "" | "ms" => n,
        "s" => n * 1000.0,
        "min" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        "us" => n / 1000.0,
        other => {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("invalid unit \"{other}\" for a duration"),
            ));
        }
    };
    Ok((ms > 0.0).then(|| Duration::from_micros((ms * 1000.0) as u64)))
}

/// Settings the server itself keeps up to date, never undone by a rollback.
pub const SERVER_KEPT: &[&str] = &["isola.session_token"];

/// A transaction block's view of the settings (see TRANSACTIONAL SETTINGS).
#[derive(Clone, Debug)]
pub struct SettingsTxn {
    /// The settings when the block began: what a rollback returns to.
    pub at_begin: Vec<(String, String)>,
    /// What the settings become if the block commits: `at_begin` with the block's plain SETs.
    pub at_commit: Vec<(String, String)>,
}

impl SettingsTxn {
    pub fn new(settings: &[(String, String)]) -> SettingsTxn {
        SettingsTxn { at_begin: settings.to_vec(), at_commit: settings.to_vec() }
    }

    /// The settings after the block: `at_commit` or `at_begin`, with the server's own
    /// settings as they are now.
    pub fn end(self, committed: bool, now: &[(String, String)]) -> Vec<(String, String)> {
        let mut settings = if committed { self.at_commit } else { self.at_begin };
        for name in SERVER_KEPT {
            if let Some((_, v)) = now.iter().find(|(k, _)| k == name) {
                put(&mut settings, name, v.clone());
            }
        }
        settings
    }
}

/// Sets `name` to `value` in a list of settings.
pub fn put(settings: &mut Vec<(String, String)>, name: &str, value: String) {
    match settings.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value,
        None => settings.push((name.to_string(), value)),
    }
}
