//! COPY in a session. FROM STDIN: the data as it arrives, then the rows parsed and inserted in
//! one statement. TO STDOUT: the rows read as a SELECT reads them (the same plan, snapshot and
//! transaction handling, so every isolation level holds), then written as COPY lines.

use std::sync::Arc;

use sqlparser::ast::Statement;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::copy::CopyWriter;
use crate::sql::exec::{ExecError, Interrupt};
use crate::sql::parse::utility::{CopyFormat, CopyRows, ForceQuote};
use crate::sql::parse::{Parsed, parse_statement};
use crate::sql::plan::{Binder, Bound, bind_statement};
use crate::sql::session::prepared::PlanEntry;
use crate::sql::session::{Outcome, Session};
use crate::sql::types::{SqlType, format_text};

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

    /// COPY ... TO STDOUT: runs the table's or the query's SELECT as any SELECT runs, and
    /// returns its rows as COPY lines (the header first, if asked for).
    pub(super) fn copy_to(
        &mut self,
        rows: CopyRows,
        format: CopyFormat,
    ) -> Result<Outcome, SqlError> {
        let (statement, lock, text, table) = match rows {
            CopyRows::Table { table, columns } => {
                self.check_copy_columns(&table, &columns)?;
                let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
                let list = match columns.is_empty() {
                    true => "*".to_string(),
                    false => columns.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(", "),
                };
                let select = format!("SELECT {list} FROM {}", quoted(&table));
                let Parsed::Sql(stmt, lock) = parse_statement(&select)? else {
                    return Err(SqlError::new(SqlState::InternalError, "COPY: not a SELECT"));
                };
                (stmt, lock, select, Some(table))
            }
            CopyRows::Query(q) => {
                let text = q.to_string();
                (Box::new(Statement::Query(q)), None, text, None)
            }
        };
        // Bound and run as a SELECT is (its tables' shared locks first), bound again if DDL
        // committed while it waited for them.
        let (columns, force_quote, outcome) = loop {
            let entry = {
                let schema = self.schema();
                let mut binder = Binder::new(&schema, vec![]);
                let bound = bind_statement(&mut binder, &statement, lock)?;
                let tables = binder.tables_used().into();
                PlanEntry { version: schema.version, bound: Arc::new(bound), tables }
            };
            let Bound::Select(plan) = &*entry.bound else {
                return Err(SqlError::new(SqlState::InternalError, "COPY: not a SELECT"));
            };
            let columns = plan.columns.clone();
            let force_quote = self.force_quote(&format.force_quote, &columns, table.as_deref())?;
            match self.run_plan(&entry, &columns, &[], &text) {
                Err(ExecError::Interrupted(Interrupt::Replan)) => continue,
                result => break (columns, force_quote, result.map_err(ExecError::into_sql_error)?),
            }
        };
        let Outcome::Rows { rows, .. } = outcome else {
            return Err(SqlError::new(SqlState::InternalError, "COPY: the SELECT gave no rows"));
        };
        let writer = CopyWriter { format: &format, force_quote };
        let mut data = Vec::with_capacity(rows.len() + 1);
        if format.header {
            let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
            data.push(writer.header(&names));
        }
        let count = rows.len();
        for row in rows {
            let texts: Vec<Option<String>> =
                row.iter().zip(&columns).map(|(v, (_, ty))| format_text(v, *ty)).collect();
            data.push(writer.line(&texts));
        }
        Ok(Outcome::CopyOut { columns: columns.len(), data, tag: format!("COPY {count}") })
    }

    /// Per result column, whether FORCE_QUOTE names it: 42703 for a column `table` lacks,
    /// 42P10 for one the COPY does not write.
    fn force_quote(
        &self,
        force_quote: &ForceQuote,
        columns: &[(String, SqlType)],
        table: Option<&str>,
    ) -> Result<Vec<bool>, SqlError> {
        let names = match force_quote {
            ForceQuote::None => return Ok(vec![false; columns.len()]),
            ForceQuote::All => return Ok(vec![true; columns.len()]),
            ForceQuote::Columns(names) => names,
        };
        let mut forced = vec![false; columns.len()];
        for name in names {
            if let Some(table) = table {
                self.check_copy_columns(table, std::slice::from_ref(name))?;
            }
            let Some(i) = columns.iter().position(|(c, _)| c == name) else {
                return Err(SqlError::new(
                    SqlState::InvalidColumnReference,
                    format!("FORCE_QUOTE column \"{name}\" not referenced by COPY"),
                ));
            };
            forced[i] = true;
        }
        Ok(forced)
    }

    /// COPY's table and column list: 42P01 and 42703 with PostgreSQL's messages.
    pub(super) fn check_copy_columns(
        &self,
        table: &str,
        columns: &[String],
    ) -> Result<usize, SqlError> {
        let schema = self.schema();
        let t = schema.table(table).ok_or_else(|| SqlError::undefined_table(table))?;
        for c in columns {
            if t.column_index(c).is_none_or(|i| t.columns[i].hidden) {
                return Err(SqlError::new(
                    SqlState::UndefinedColumn,
                    format!("column \"{c}\" of relation \"{table}\" does not exist"),
                ));
            }
        }
        Ok(if columns.is_empty() { t.visible().count() } else { columns.len() })
    }
}
