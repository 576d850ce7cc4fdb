//! The functions of sequences, as statements call them: `nextval`, `currval`, `setval`,
//! `lastval`, `pg_get_serial_sequence`, and the values serial and identity columns draw.
//!
//! A sequence is named by text as PostgreSQL's regclass reads it: `s`, `public.s`, `"S"`.
//! Sequences are not transactional: a value handed out stays handed out when its
//! transaction rolls back (see `SequenceSchema` and `Engine::next_value`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::ExecCtx;
use crate::sql::plan::SequenceFn;
use crate::sql::schema::{SequenceSchema, TableSchema};
use crate::types::Value;

/// A relation name as regclass reads it: unquoted parts folded, `public.` dropped.
pub(crate) fn regclass_name(text: &str) -> String {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut part = String::new();
            let mut chars = quoted.char_indices().peekable();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if chars.peek().is_some_and(|(_, n)| *n == '"') {
                        part.push('"');
                        chars.next();
                        continue;
                    }
                    end = i + 1;
                    break;
                }
                part.push(c);
            }
            parts.push(part);
            rest = quoted[end..].trim_start_matches('.');
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            parts.push(rest[..end].trim().to_lowercase());
            rest = rest[end..].trim_start_matches('.');
        }
    }
    match parts.as_slice() {
        [schema, name] if schema == "public" || schema == "pg_catalog" => name.clone(),
        _ => parts.pop().unwrap_or_default(),
    }
}

impl ExecCtx<'_> {
    fn sequence_named(&self, text: &str) -> Result<Arc<SequenceSchema>, SqlError> {
        let name = regclass_name(text);
        self.schema.as_ref().and_then(|s| s.sequence(&name).cloned()).ok_or_else(|| {
            SqlError::new(SqlState::UndefinedTable, format!("relation \"{name}\" does not exist"))
        })
    }

    /// The value a serial or identity column draws for a new row: from its sequence, or
    /// (a column without one) its own counter.
    pub(crate) fn draw_serial(
        &mut self,
        table: &TableSchema,
        column: usize,
    ) -> Result<Option<i64>, SqlError> {
        let seq = self.schema.as_ref().and_then(|s| s.owned_sequence(table.id, column).cloned());
        match seq {
            Some(seq)
                if table.columns[column]
                    .sequence
                    .as_ref()
                    .is_some_and(|c| Arc::ptr_eq(c, &seq.last)) =>
            {
                self.engine.next_value(&seq, self.session_id, false).map(Some)
            }
            _ => Ok(table.next_serial(column)),
        }
    }
}

/// Calls a sequence function on non-NULL arguments.
pub(crate) fn call(
    ctx: &mut ExecCtx<'_>,
    func: SequenceFn,
    args: &[Value],
) -> Result<Value, SqlError> {
    let text = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(SqlError::new(SqlState::UndefinedFunction, "missing argument")),
    };
    Ok(match func {
        SequenceFn::NextVal => {
            let seq = ctx.sequence_named(&text(0)?)?;
            Value::Int(ctx.engine.next_value(&seq, ctx.session_id, true)?)
        }
        SequenceFn::CurrVal => {
            let seq = ctx.sequence_named(&text(0)?)?;
            Value::Int(ctx.engine.current_value(&seq.name, ctx.session_id)?)
        }
        SequenceFn::LastVal => match ctx.engine.last_value(ctx.session_id) {
            Some(v) => Value::Int(v),
            None => {
                return Err(SqlError::new(
                    SqlState::ObjectNotInPrerequisiteState,
                    "lastval is not yet defined in this session",
                ));
            }
        },
        SequenceFn::SetVal => {
            let seq = ctx.sequence_named(&text(0)?)?;
            let value = match args.get(1) {
                Some(Value::Int(v)) => *v,
                _ => {
                    return Err(SqlError::new(
                        SqlState::InvalidParameterValue,
                        "setval: bad value",
                    ));
                }
            };
            let called = !matches!(args.get(2), Some(Value::Bool(false)));
            if value < seq.min || value > seq.max {
                return Err(SqlError::new(
                    SqlState::NumericValueOutOfRange,
                    format!(
                        "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                        seq.name, seq.min, seq.max
                    ),
                ));
            }
            // The next value: after `value` if it counts as handed out, else `value` itself.
            let next = if called { value + seq.increment } else { value };
            ctx.engine.set_next_value(&seq, next)?;
            seq.called.store(called, Ordering::SeqCst);
            Value::Int(value)
        }
        SequenceFn::SerialSequence => {
            let table = regclass_name(&text(0)?);
            let column = text(1)?;
            let column = if column.starts_with('"') {
                regclass_name(&column)
            } else {
                column.to_lowercase()
            };
            let schema = ctx.schema.clone().unwrap_or_default();
            let t = schema.table(&table).ok_or_else(|| SqlError::undefined_table(&table))?;
            let c =
                t.column_index(&column).filter(|&c| !t.columns[c].dropped).ok_or_else(|| {
                    SqlError::new(
                        SqlState::UndefinedColumn,
                        format!("column \"{column}\" of relation \"{table}\" does not exist"),
                    )
                })?;
            match schema.owned_sequence(t.id, c) {
                Some(seq) => Value::Text(format!("public.{}", seq.name)),
                None => Value::Null,
            }
        }
    })
}
