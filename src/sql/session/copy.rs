//! COPY FROM STDIN in a session: the data as it arrives, then the rows parsed and inserted in
//! one statement.

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::ExecError;
use crate::sql::plan::Binder;
use crate::sql::session::{Outcome, Session};

impl Session {
    /// Receives COPY data.
    pub fn copy_data(&mut self, data: &[u8]) {
        if let Some(c) = self.copy.as_mut() {
            c.push(data);
        }
    }

    /// Abandons a COPY (CopyFail or an error): the statement failed, and is recorded so.
    pub fn copy_fail(&mut self) {
        self.copy = None;
        self.statement_failed();
    }

    /// Finishes COPY FROM STDIN: inserts every row in one statement; returns the tag. A big
    /// COPY is parsed on a second thread while this one inserts (`RowParser::parse_alongside`).
    pub fn copy_done(&mut self) -> Result<String, SqlError> {
        let Some(c) = self.copy.take() else {
            return Err(SqlError::new(SqlState::ProtocolViolation, "no COPY in progress"));
        };
        let plan = {
            let schema = self.schema();
            Binder::new(&schema, vec![]).copy_from(&c.table, &c.columns)?
        };
        // COPY only inserts, and an insert never restarts its statement (only a row lock
        // taken for a change can), so it needs no loop as `run_plan`'s.
        let outcome = self
            .run_statement(&[], "COPY", false, |ctx| {
                let txn = ctx.txn.as_mut().expect("a transaction");
                txn.lock_relation(plan.insert.table.id, false)?;
                let n = ctx.copy_from(&plan, c)?;
                ctx.settle_foreign_keys()?;
                Ok(n).map(|n| Outcome::Command(format!("COPY {n}")))
            })
            .map_err(ExecError::into_sql_error)?;
        match outcome {
            Outcome::Command(tag) => Ok(tag),
            _ => Ok("COPY".into()),
        }
    }
}
