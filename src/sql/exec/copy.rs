//! COPY FROM STDIN: collecting the client's data and turning its lines into rows.
//!
//! [`CopyIn`] holds a COPY between its start and CopyDone. Data arrives in arbitrary pieces;
//! it is kept as chunks of whole lines (about [`CHUNK_BYTES`] each, cut after a newline, so a
//! chunk never splits a line or a UTF-8 sequence), never as one buffer grown and copied again
//! and again. [`RowParser`] turns one line into a row of the table (text or CSV format).
//!
//! A big COPY is parsed on a second thread while the session's thread inserts
//! ([`RowParser::parse_alongside`]): rows flow in order through a bounded channel, the parser
//! stops at its first error (sent in the row's place) or when the inserter stops taking rows,
//! so the statement still reports the first failing row's error, and nothing is parsed far
//! ahead of what is inserted.
//!
//! Invariants: every chunk but the last ends with a newline; rows reach the inserter in line
//! order; line numbers in errors count from 1 over the whole input.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::{ExecCtx, ExecError};
use crate::sql::plan::CopyPlan;
use crate::sql::schema::TableSchema;
use crate::sql::types::parse_text;
use crate::types::{Row, Value};

/// Data is cut into chunks of whole lines once this much has arrived.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Rows handed from the parsing thread to the inserting one at a time.
const ROWS_PER_HANDOFF: usize = 1024;

/// Hand-offs the parser may be ahead of the inserter.
const HANDOFFS_AHEAD: usize = 4;

/// A COPY FROM STDIN in progress.
pub struct CopyIn {
    pub table: String,
    pub columns: Vec<String>,
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
    /// Whole lines, in order.
    chunks: Vec<Vec<u8>>,
    /// What arrived after the last chunk's cut.
    pending: Vec<u8>,
    /// How much of `pending` ends with its last newline (0: none yet). Kept as data arrives,
    /// so each byte is searched once, however long a line is.
    pending_lines: usize,
}

impl CopyIn {
    pub fn new(
        table: String,
        columns: Vec<String>,
        csv: bool,
        header: bool,
        delimiter: char,
    ) -> Self {
        CopyIn {
            table,
            columns,
            csv,
            header,
            delimiter,
            chunks: Vec::new(),
            pending: Vec::new(),
            pending_lines: 0,
        }
    }

    /// Receives a piece of the client's data.
    pub fn push(&mut self, data: &[u8]) {
        if let Some(last_newline) = data.iter().rposition(|&b| b == b'\n') {
            self.pending_lines = self.pending.len() + last_newline + 1;
        }
        self.pending.extend_from_slice(data);
        if self.pending.len() < CHUNK_BYTES || self.pending_lines == 0 {
            return;
        }
        let mut rest = Vec::with_capacity(CHUNK_BYTES + data.len());
        rest.extend_from_slice(&self.pending[self.pending_lines..]);
        self.pending.truncate(self.pending_lines);
        self.pending_lines = 0;
        self.chunks.push(std::mem::replace(&mut self.pending, rest));
    }

    /// The data as text chunks of whole lines; 22021 if any of it is not UTF-8.
    pub fn into_text(mut self) -> Result<Vec<String>, SqlError> {
        if !self.pending.is_empty() {
            self.chunks.push(std::mem::take(&mut self.pending));
        }
        self.chunks
            .into_iter()
            .map(|c| {
                String::from_utf8(c).map_err(|_| {
                    SqlError::new(
                        SqlState::CharacterNotInRepertoire,
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })
            })
            .collect()
    }

    /// Whether the data is big enough to be worth parsing on a second thread.
    pub fn is_big(&self) -> bool {
        !self.chunks.is_empty()
    }
}

impl ExecCtx<'_> {
    /// COPY FROM STDIN: parses `data` into rows and inserts them as `plan` says; a big COPY is
    /// parsed on a second thread alongside the inserts. Returns the rows inserted.
    pub fn copy_from(&mut self, plan: &CopyPlan, data: CopyIn) -> Result<usize, ExecError> {
        let parser = RowParser {
            table: plan.insert.table.clone(),
            targets: plan.insert.targets.clone(),
            csv: data.csv,
            header: data.header,
            delimiter: data.delimiter,
        };
        let alongside = data.is_big();
        let text = data.into_text()?;
        let mut insert = |rows: &mut dyn Iterator<Item = Result<Row, SqlError>>| {
            self.insert_rows(&plan.insert, &plan.given, rows)
        };
        if alongside {
            parser.parse_alongside(&text, insert)
        } else {
            insert(&mut parser.rows(&text))
        }
    }
}

/// Turns COPY lines into rows of a table.
pub struct RowParser {
    pub table: Arc<TableSchema>,
    /// The table column each field goes to, in field order.
    pub targets: Vec<usize>,
    pub csv: bool,
    pub header: bool,
    pub delimiter: char,
}

impl RowParser {
    /// Every row of `chunks` in order, parsed on this thread as they are taken.
    pub fn rows<'a>(
        &'a self,
        chunks: &'a [String],
    ) -> impl Iterator<Item = Result<Row, SqlError>> + 'a {
        chunks
            .iter()
            .flat_map(|c| c.lines())
            .enumerate()
            .filter_map(|(lineno, line)| self.line(lineno, line))
    }

    /// Parses `chunks` on a second thread while `consume` takes the rows here, in order.
    /// The parser stops after the first error (handed over in its row's place) or once
    /// `consume` returns and drops what it did not take.
    pub fn parse_alongside<T>(
        &self,
        chunks: &[String],
        consume: impl FnOnce(&mut dyn Iterator<Item = Result<Row, SqlError>>) -> T,
    ) -> T {
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel::<Vec<Result<Row, SqlError>>>(HANDOFFS_AHEAD);
            scope.spawn(move || {
                let mut batch = Vec::with_capacity(ROWS_PER_HANDOFF);
                for row in self.rows(chunks) {
                    let failed = row.is_err();
                    batch.push(row);
                    if failed || batch.len() == ROWS_PER_HANDOFF {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(ROWS_PER_HANDOFF));
                        if sender.send(full).is_err() || failed {
                            return;
                        }
                    }
                }
                let _ = sender.send(batch);
            });
            let mut rows = receiver.into_iter().flatten();
            let out = consume(&mut rows);
            drop(rows);
            out
        })
    }

    /// One line: `None` for the header and the end marker.
    fn line(&self, lineno: usize, line: &str) -> Option<Result<Row, SqlError>> {
        if (self.header && lineno == 0) || line == "\\." {
            return None;
        }
        let fields: Vec<Option<Cow<'_, str>>> = if self.csv {
            split_csv(line, self.delimiter).into_iter().map(|f| f.map(Cow::Owned)).collect()
        } else {
            split_copy_text(line, self.delimiter)
        };
        if fields.len() != self.targets.len() {
            return Some(Err(SqlError::new(
                SqlState::BadCopyFileFormat,
                format!(
                    "COPY {}, line {}: expected {} columns, got {}",
                    self.table.name,
                    lineno + 1,
                    self.targets.len(),
                    fields.len()
                ),
            )));
        }
        let mut row = vec![Value::Null; self.table.columns.len()];
        for (f, &col) in fields.into_iter().zip(&self.targets) {
            if let Some(s) = f {
                match parse_text(&s, self.table.columns[col].ty) {
                    Ok(v) => row[col] = v,
                    Err(e) => {
                        let message =
                            format!("COPY {}, line {}: {}", self.table.name, lineno + 1, e.message);
                        return Some(Err(SqlError::new(e.code, message)));
                    }
                }
            }
        }
        Some(Ok(row))
    }
}

/// The fields of a COPY text line; a field without a backslash is borrowed from the line.
pub fn split_copy_text(line: &str, delim: char) -> Vec<Option<Cow<'_, str>>> {
    line.split(delim)
        .map(|f| {
            if f == "\\N" {
                return None;
            }
            if !f.contains('\\') {
                return Some(Cow::Borrowed(f));
            }
            let mut out = String::with_capacity(f.len());
            let mut chars = f.chars();
            while let Some(ch) = chars.next() {
                if ch == '\\' {
                    match chars.next() {
                        Some('t') => out.push('\t'),
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('\\') => out.push('\\'),
                        Some(o) => out.push(o),
                        None => {}
                    }
                } else {
                    out.push(ch);
                }
            }
            Some(Cow::Owned(out))
        })
        .collect()
}

/// The fields of a CSV line: quotes group, a doubled quote is one, an unquoted empty field
/// is NULL.
pub fn split_csv(line: &str, delim: char) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cur.push(ch);
            }
        } else if ch == '"' {
            quoted = true;
            was_quoted = true;
        } else if ch == delim {
            out.push(if cur.is_empty() && !was_quoted {
                None
            } else {
                Some(std::mem::take(&mut cur))
            });
            was_quoted = false;
        } else {
            cur.push(ch);
        }
    }
    out.push(if cur.is_empty() && !was_quoted { None } else { Some(cur) });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks are whole lines, in order, whatever the pieces: a line longer than a chunk
    /// (arriving without a newline for a long while) included.
    #[test]
    fn data_is_cut_into_chunks_of_whole_lines() {
        let long = format!("1\t{}\n", "é".repeat(CHUNK_BYTES));
        let short: String = (2..70_000).map(|i| format!("{i}\tshort line\n")).collect();
        let input = format!("{short}{long}{short}{long}9\tlast, no newline");
        let mut copy = CopyIn::new("t".into(), vec![], false, false, '\t');
        for piece in input.as_bytes().chunks(8191) {
            copy.push(piece);
        }
        assert!(copy.is_big());
        let chunks = copy.into_text().expect("UTF-8");
        assert!(chunks.len() >= 4, "{} chunks", chunks.len());
        assert!(chunks[..chunks.len() - 1].iter().all(|c| c.ends_with('\n')));
        assert_eq!(chunks.concat(), input);
    }

    #[test]
    fn copy_text_fields_unescape_and_borrow_plain_ones() {
        let fields = split_copy_text("plain\ta\\tb\\\\c\\x\t\\N\t\t\\Nx", '\t');
        let owned: Vec<Option<String>> =
            fields.iter().map(|f| f.as_ref().map(|c| c.to_string())).collect();
        assert_eq!(
            owned,
            vec![
                Some("plain".into()),
                Some("a\tb\\cx".into()),
                None,
                Some(String::new()),
                Some("Nx".into())
            ]
        );
        assert!(matches!(fields[0], Some(Cow::Borrowed(_))), "no escape: borrowed");
        assert!(matches!(fields[1], Some(Cow::Owned(_))), "escapes: unescaped copy");
    }
}
