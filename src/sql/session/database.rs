//! CREATE DATABASE and DROP DATABASE in a session: refused inside a transaction block (25001,
//! as in PostgreSQL: they cannot be rolled back), then handed to the server's databases
//! through the engine's hook ([`crate::sql::databases::DatabaseRegistry`]).

use crate::error::SqlState;
use crate::sql::databases::{DatabaseRegistry, DropOutcome};
use crate::sql::error::SqlError;
use crate::sql::session::{Outcome, Session};

impl Session {
    pub(super) fn create_database(&mut self, name: &str) -> Result<Outcome, SqlError> {
        self.registry_outside_block("CREATE DATABASE")?.create(name)?;
        Ok(Outcome::Command("CREATE DATABASE".into()))
    }

    pub(super) fn drop_database(
        &mut self,
        name: &str,
        if_exists: bool,
    ) -> Result<Outcome, SqlError> {
        let registry = self.registry_outside_block("DROP DATABASE")?;
        match registry.drop_database(name, if_exists, &self.engine)? {
            DropOutcome::Dropped | DropOutcome::Skipped => {
                Ok(Outcome::Command("DROP DATABASE".into()))
            }
        }
    }

    fn registry_outside_block(
        &self,
        what: &str,
    ) -> Result<std::sync::Arc<dyn DatabaseRegistry>, SqlError> {
        if self.in_block {
            return Err(SqlError::new(
                SqlState::ActiveSqlTransaction,
                format!("{what} cannot run inside a transaction block"),
            ));
        }
        self.engine.databases().ok_or_else(|| {
            SqlError::unsupported(format!("{what} outside a server (one database only)"))
        })
    }
}
