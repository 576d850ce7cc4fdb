//! COPY FROM STDIN: collecting the client's data and turning its lines into rows; COPY TO
//! STDOUT: turning rows into PostgreSQL's text or CSV lines ([`CopyWriter`]).
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
use crate::sql::parse::utility::CopyFormat;
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
    pub format: CopyFormat,
    /// Whole lines, in order.
    chunks: Vec<Vec<u8>>,
    /// What arrived after the last chunk's cut.
    pending: Vec<u8>,
    /// How much of `pending` ends with its last newline (0: none yet). Kept as data arrives,
    /// so each byte is searched once, however long a line is.
    pending_lines: usize,
}

impl CopyIn {
    pub fn new(table: String, columns: Vec<String>, format: CopyFormat) -> Self {
        CopyIn { table, columns, format, chunks: Vec::new(), pending: Vec::new(), pending_lines: 0 }
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
            format: data.format.clone(),
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
    pub format: CopyFormat,
}

impl RowParser {
    /// Every row of `chunks` in order, parsed on this thread as they are taken.
    pub fn rows<'a>(
        &'a self,
        chunks: &'a [String],
    ) -> impl Iterator<Item = Result<Row, SqlError>> + 'a {
        // the end marker `\.` ends the data: what follows it is ignored, as PostgreSQL does
        // (pg_restore sends the marker and blank lines after it)
        chunks
            .iter()
            .flat_map(|c| c.lines())
            .take_while(|line| *line != "\\.")
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
        let f = &self.format;
        if (f.header && lineno == 0) || line == "\\." {
            return None;
        }
        let fields: Vec<Option<Cow<'_, str>>> = if f.csv {
            split_csv(line, f).into_iter().map(|f| f.map(Cow::Owned)).collect()
        } else {
            split_copy_text(line, f.delimiter, &f.null)
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

/// The fields of a COPY text line (a field written as `null` is NULL, compared before
/// unescaping, as PostgreSQL does); a field without a backslash is borrowed from the line.
pub fn split_copy_text<'a>(line: &'a str, delim: char, null: &str) -> Vec<Option<Cow<'a, str>>> {
    line.split(delim)
        .map(|f| {
            if f == null {
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

/// The fields of a CSV line: quotes group; inside them the escape character (the quote
/// itself by default, so a doubled quote is one) makes the quote or escape after it literal;
/// an unquoted field equal to the NULL text (empty by default) is NULL.
pub fn split_csv(line: &str, format: &CopyFormat) -> Vec<Option<String>> {
    let (delim, quote, escape) = (format.delimiter, format.quote, format.escape);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = line.chars().peekable();
    let field = |cur: &mut String, was_quoted: bool| {
        if !was_quoted && *cur == format.null {
            cur.clear();
            None
        } else {
            Some(std::mem::take(cur))
        }
    };
    while let Some(ch) = chars.next() {
        if quoted {
            let next = chars.peek().copied();
            if ch == escape && (next == Some(quote) || (next == Some(escape) && escape != quote)) {
                cur.push(chars.next().unwrap_or(ch));
            } else if ch == quote {
                quoted = false;
            } else {
                cur.push(ch);
            }
        } else if ch == quote {
            quoted = true;
            was_quoted = true;
        } else if ch == delim {
            out.push(field(&mut cur, was_quoted));
            was_quoted = false;
        } else {
            cur.push(ch);
        }
    }
    out.push(field(&mut cur, was_quoted));
    out
}

/// Writes rows as COPY TO STDOUT lines, byte for byte as PostgreSQL does (its
/// `CopyAttributeOutText` and `CopyAttributeOutCSV`): each line ends with `\n`; in text format
/// a backslash, the delimiter and the control characters `\b \f \n \r \t \v` are
/// backslash-escaped and NULL is written as the NULL text unescaped; in CSV a value is quoted
/// when it holds the delimiter, the quote, a newline or a carriage return, when it equals the
/// NULL text, when it is `\.` alone on its line, or when FORCE_QUOTE names its column, and
/// inside quotes the quote and escape characters are preceded by the escape; NULL is the NULL
/// text, never quoted.
pub struct CopyWriter<'a> {
    pub format: &'a CopyFormat,
    /// Per column: quote every non-NULL value (FORCE_QUOTE).
    pub force_quote: Vec<bool>,
}

impl CopyWriter<'_> {
    /// The header line: the column names, written as values are.
    pub fn header(&self, names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                push_char(&mut out, self.format.delimiter);
            }
            if self.format.csv {
                self.csv_value(&mut out, name, false, names.len() == 1);
            } else {
                self.text_value(&mut out, name);
            }
        }
        out.push(b'\n');
        out
    }

    /// One row's line; `texts[i]` is column i in its text form, `None` for NULL.
    pub fn line(&self, texts: &[Option<String>]) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(texts.iter().map(|t| t.as_ref().map_or(2, String::len) + 1).sum());
        for (i, text) in texts.iter().enumerate() {
            if i > 0 {
                push_char(&mut out, self.format.delimiter);
            }
            match text {
                None => out.extend_from_slice(self.format.null.as_bytes()),
                Some(t) if self.format.csv => {
                    let forced = self.force_quote.get(i).copied().unwrap_or(false);
                    self.csv_value(&mut out, t, forced, texts.len() == 1)
                }
                Some(t) => self.text_value(&mut out, t),
            }
        }
        out.push(b'\n');
        out
    }

    fn text_value(&self, out: &mut Vec<u8>, value: &str) {
        let delim = self.format.delimiter;
        for ch in value.chars() {
            let escaped = match ch {
                '\u{8}' => Some('b'),
                '\u{c}' => Some('f'),
                '\n' => Some('n'),
                '\r' => Some('r'),
                '\t' => Some('t'),
                '\u{b}' => Some('v'),
                '\\' => Some('\\'),
                c if c == delim => Some(c),
                _ => None,
            };
            if let Some(e) = escaped {
                out.push(b'\\');
                push_char(out, e);
            } else {
                push_char(out, ch);
            }
        }
    }

    fn csv_value(&self, out: &mut Vec<u8>, value: &str, forced: bool, single_column: bool) {
        let f = self.format;
        let quote = forced
            || value == f.null
            || (single_column && value == "\\.")
            || value.contains([f.delimiter, f.quote, '\n', '\r']);
        if !quote {
            out.extend_from_slice(value.as_bytes());
            return;
        }
        push_char(out, f.quote);
        for ch in value.chars() {
            if ch == f.quote || ch == f.escape {
                push_char(out, f.escape);
            }
            push_char(out, ch);
        }
        push_char(out, f.quote);
    }
}

fn push_char(out: &mut Vec<u8>, ch: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
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
        let mut copy = CopyIn::new("t".into(), vec![], CopyFormat::text());
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
        let fields = split_copy_text("plain\ta\\tb\\\\c\\x\t\\N\t\t\\Nx", '\t', "\\N");
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
        let fields = split_copy_text("NULL\t\\N", '\t', "NULL");
        assert_eq!(fields, vec![None, Some(Cow::Owned("N".into()))]);
    }

    /// CSV input: quoting, the escape character (the quote by default), the NULL text.
    #[test]
    fn csv_fields_follow_quote_escape_and_null() {
        let csv =
            CopyFormat { csv: true, delimiter: ',', null: String::new(), ..CopyFormat::text() };
        assert_eq!(
            split_csv("1,,\"\",\"a \"\"q\"\", b\"", &csv),
            vec![Some("1".into()), None, Some(String::new()), Some("a \"q\", b".into())]
        );
        let custom = CopyFormat { null: "NULL".into(), quote: '\'', escape: '\\', ..csv };
        assert_eq!(
            split_csv("NULL,'NULL','it\\'s \\\\ x',", &custom),
            vec![None, Some("NULL".into()), Some("it's \\ x".into()), Some(String::new())]
        );
    }

    /// Output as PostgreSQL 15 writes it (the bytes checked against its COPY TO).
    #[test]
    fn copy_lines_escape_and_quote_as_postgres() {
        let text = CopyFormat::text();
        let writer = CopyWriter { format: &text, force_quote: vec![] };
        let line = writer.line(&[Some("a\tb\nc\\d".into()), None, Some("x\ry\u{1}z".into())]);
        assert_eq!(line, b"a\\tb\\nc\\\\d\t\\N\tx\\ry\x01z\n");
        let csv =
            CopyFormat { csv: true, delimiter: ',', null: String::new(), ..CopyFormat::text() };
        let writer = CopyWriter { format: &csv, force_quote: vec![false, false, false, true] };
        let line = writer.line(&[
            Some("he said \"hi\", ok".into()),
            Some(String::new()),
            None,
            Some("1".into()),
        ]);
        assert_eq!(line, b"\"he said \"\"hi\"\", ok\",\"\",,\"1\"\n");
        assert_eq!(writer.line(&[Some("\\.".into())]), b"\"\\.\"\n");
        assert_eq!(writer.line(&[Some("\\.".into()), None]), b"\\.,\n");
        assert_eq!(writer.header(&["id", "a,b"]), b"id,\"a,b\"\n");
    }
}
