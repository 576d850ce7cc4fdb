//! The log's records (commits, DDL) and their byte encoding, on top of the value and row
//! encoding of `types::encoding` (shared with checkpoints and with rows as the store keeps
//! them).
//!
//! Little-endian, length-prefixed, no padding. Decoding checks every length against the input,
//! so a corrupt record gives [`DecodeError`] rather than a panic. Checksums are not here: they
//! frame whole frames and blocks (see `log.rs` and `checkpoint.rs`).

use crate::catalog::TableId;
use crate::storage::{CommitTs, TxnId};
pub use crate::types::encoding::{DecodeError, DecodeResult, Decoder, EncodeRow, Encoder};
use crate::types::{Key, Row, Value};

/// A DDL statement in the log: its SQL text, and for a CREATE TABLE the id the table had when
/// the statement ran, so later records naming that id can be mapped to the id it gets on replay.
#[derive(Clone, Debug, PartialEq)]
pub struct DdlRecord {
    pub text: String,
    pub created_table: Option<TableId>,
}

/// The writes of one committed transaction, as a commit record holds them: the schema changes
/// it made (DDL is transactional: it commits with the rows, in one record), then one entry per
/// row written, with its final row (`None`: deleted). The log's type; the core builds one only
/// for a commit hook and replays them at recovery (DDL first, then rows).
#[derive(Clone, Debug, PartialEq)]
pub struct CommitBatch {
    pub txn: TxnId,
    pub commit_ts: CommitTs,
    pub writes: Vec<(TableId, Key, Option<Row>)>,
    pub ddl: Vec<DdlRecord>,
}

/// One record of the log.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A committed transaction's writes (final row per key; `None`: deleted).
    Commit(CommitBatch),
    /// A schema change, applied in log order between commits (written by versions before DDL
    /// became transactional; still read).
    Ddl(DdlRecord),
}

const RECORD_COMMIT: u8 = 1;
const RECORD_DDL: u8 = 2;
/// A commit that changed the schema: its DDL records, then a commit body.
const RECORD_COMMIT_DDL: u8 = 3;

/// Whether an encoded record is a commit without DDL (only row writes): replaying one takes
/// the database's lock and never waits for anything else.
pub fn is_plain_commit(bytes: &[u8]) -> bool {
    bytes.first() == Some(&RECORD_COMMIT)
}

/// A commit of many rows sizes its record's buffer from its first this many rows.
const SIZING_ROWS: usize = 1024;

impl Encoder<'_> {
    /// A record: kind byte, body length, body.
    pub fn record(&mut self, record: &Record) {
        let kind = match record {
            Record::Commit(batch) if batch.ddl.is_empty() => RECORD_COMMIT,
            Record::Commit(_) => RECORD_COMMIT_DDL,
            Record::Ddl(_) => RECORD_DDL,
        };
        let start = self.0.len();
        self.u8(kind);
        self.u32(0); // body length, patched below
        let body = self.0.len();
        match record {
            Record::Commit(batch) => {
                if !batch.ddl.is_empty() {
                    self.ddl_list(&batch.ddl);
                }
                let writes = batch.writes.iter().map(|(t, k, r)| (*t, k.as_slice(), r.as_deref()));
                self.commit_body(batch.txn, batch.commit_ts, writes)
            }
            Record::Ddl(ddl) => self.ddl(ddl),
        }
        let len = (self.0.len() - body) as u32;
        self.0[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
    }

    /// A DDL record's body (also a checkpoint's DDL block).
    pub fn ddl(&mut self, ddl: &DdlRecord) {
        match ddl.created_table {
            Some(id) => {
                self.u8(1);
                self.u32(id);
            }
            None => self.u8(0),
        }
        self.str(&ddl.text);
    }

    fn ddl_list(&mut self, ddl: &[DdlRecord]) {
        self.u32(ddl.len() as u32);
        for record in ddl {
            self.ddl(record);
        }
    }

    fn commit_body<'a, R: EncodeRow + ?Sized + 'a>(
        &mut self,
        txn: u64,
        commit_ts: CommitTs,
        writes: impl ExactSizeIterator<Item = (TableId, &'a [Value], Option<&'a R>)>,
    ) {
        self.u64(txn);
        self.u64(commit_ts);
        let total = writes.len();
        self.u32(total as u32);
        let start = self.0.len();
        for (n, (table, key, row)) in writes.enumerate() {
            if n == SIZING_ROWS && total >= 4 * SIZING_ROWS {
                // A big commit (a COPY): room for the rest at the first rows' size, plus a
                // margin, so the buffer is not grown and copied again and again.
                let per_row = (self.0.len() - start) / SIZING_ROWS;
                self.0.reserve((total - n) * per_row / 16 * 17);
            }
            self.u32(table);
            self.values(key);
            match row {
                Some(row) => {
                    self.u8(1);
                    row.encode_row(self);
                }
                None => self.u8(0),
            }
        }
    }
}

/// Appends a commit record for a batch (the same bytes as `Encoder::record(&Record::Commit)`,
/// without cloning the batch): what the tests compare the row-by-row encoding with.
#[cfg(test)]
pub fn encode_commit(buf: &mut Vec<u8>, batch: &CommitBatch) {
    let writes =
        batch.writes.iter().map(|(table, key, row)| (*table, key.as_slice(), row.as_deref()));
    encode_commit_rows(buf, batch.txn, batch.commit_ts, &batch.ddl, writes);
}

/// Appends a commit record from borrowed rows: the transaction's DDL (usually none), then
/// `(table, key, final row or None for a deletion)` per written row: the one encoding of a
/// commit record.
pub fn encode_commit_rows<'a, R: EncodeRow + ?Sized + 'a>(
    buf: &mut Vec<u8>,
    txn: u64,
    commit_ts: CommitTs,
    ddl: &[DdlRecord],
    writes: impl ExactSizeIterator<Item = (TableId, &'a [Value], Option<&'a R>)>,
) {
    let mut e = Encoder(buf);
    let start = e.0.len();
    e.u8(if ddl.is_empty() { RECORD_COMMIT } else { RECORD_COMMIT_DDL });
    e.u32(0);
    let body = e.0.len();
    if !ddl.is_empty() {
        e.ddl_list(ddl);
    }
    e.commit_body(txn, commit_ts, writes);
    let len = (e.0.len() - body) as u32;
    e.0[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
}

impl Decoder<'_> {
    /// A DDL record's body (see [`Encoder::ddl`]).
    pub fn ddl(&mut self) -> DecodeResult<DdlRecord> {
        let created_table = match self.u8()? {
            0 => None,
            _ => Some(self.u32()?),
        };
        Ok(DdlRecord { text: self.string()?, created_table })
    }

    pub fn record(&mut self) -> DecodeResult<Record> {
        let kind = self.u8()?;
        let body = self.bytes()?;
        let mut d = Decoder::new(body);
        let record = match kind {
            RECORD_COMMIT | RECORD_COMMIT_DDL => {
                let mut ddl = Vec::new();
                if kind == RECORD_COMMIT_DDL {
                    let n = d.u32()? as usize;
                    if n > body.len() {
                        return Err(DecodeError(format!("{n} DDL records cannot fit")));
                    }
                    for _ in 0..n {
                        ddl.push(d.ddl()?);
                    }
                }
                let txn = d.u64()?;
                let commit_ts = d.u64()?;
                let n = d.u32()? as usize;
                let mut writes = Vec::with_capacity(n.min(body.len()));
                for _ in 0..n {
                    let table = d.u32()?;
                    let key = d.values()?;
                    let row = match d.u8()? {
                        0 => None,
                        1 => Some(d.values()?),
                        b => return Err(DecodeError(format!("bad row marker {b}"))),
                    };
                    writes.push((table, key, row));
                }
                Record::Commit(CommitBatch { txn, commit_ts, writes, ddl })
            }
            RECORD_DDL => Record::Ddl(d.ddl()?),
            k => return Err(DecodeError(format!("unknown record kind {k}"))),
        };
        if !d.is_empty() {
            return Err(DecodeError("trailing bytes in a record".into()));
        }
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A commit that changed the schema carries its DDL in the same record, and reads back
    /// whole.
    #[test]
    fn a_commit_with_ddl_round_trips() {
        let batch = CommitBatch {
            txn: 9,
            commit_ts: 12,
            writes: vec![(4, crate::key![Value::Int(1)], Some(vec![Value::Int(1)]))],
            ddl: vec![
                DdlRecord {
                    text: "CREATE TABLE t (id int PRIMARY KEY)".into(),
                    created_table: Some(4),
                },
                DdlRecord { text: "ALTER TABLE t ADD COLUMN n int".into(), created_table: None },
            ],
        };
        let mut buf = Vec::new();
        Encoder(&mut buf).record(&Record::Commit(batch.clone()));
        assert_eq!(buf[0], RECORD_COMMIT_DDL);
        assert_eq!(Decoder::new(&buf).record(), Ok(Record::Commit(batch.clone())));
        let mut from_batch = Vec::new();
        encode_commit(&mut from_batch, &batch);
        assert_eq!(from_batch, buf);
    }

    #[test]
    fn a_commit_encodes_alike_from_a_batch_and_from_borrowed_rows() {
        let batch = CommitBatch {
            txn: 3,
            commit_ts: 5,
            writes: vec![
                (1, crate::key![Value::Int(1)], Some(vec![Value::Int(1), Value::Text("a".into())])),
                (2, crate::key![Value::Text("k".into())], None),
            ],
            ddl: vec![],
        };
        let (mut from_batch, mut from_rows, mut from_record) = (Vec::new(), Vec::new(), Vec::new());
        encode_commit(&mut from_batch, &batch);
        let writes = batch.writes.iter().map(|(t, k, r)| (*t, k.as_slice(), r.as_deref()));
        encode_commit_rows(&mut from_rows, 3, 5, &[], writes);
        Encoder(&mut from_record).record(&Record::Commit(batch.clone()));
        assert_eq!(from_batch, from_rows);
        assert_eq!(from_batch, from_record);
    }

    #[test]
    fn records_round_trip() {
        let rows = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-42),
            Value::Float(1.5),
            Value::Numeric("12.345".parse().unwrap()),
            Value::Text("héllo".into()),
            Value::Bytes(vec![0, 255]),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Text("x".into())]),
            Value::Array(vec![]),
            Value::Interval(crate::types::Interval { months: -14, days: 3, micros: -5 }),
            Value::Enum(1.5),
        ];
        let records = vec![
            Record::Commit(CommitBatch {
                txn: 7,
                commit_ts: 9,
                writes: vec![
                    (1, crate::key![Value::Int(1)], Some(rows.clone())),
                    (2, rows.into(), None),
                ],
                ddl: vec![],
            }),
            Record::Ddl(DdlRecord {
                text: "CREATE TABLE t (a int)".into(),
                created_table: Some(3),
            }),
        ];
        let mut buf = Vec::new();
        for r in &records {
            Encoder(&mut buf).record(r);
        }
        let mut d = Decoder::new(&buf);
        for r in &records {
            assert_eq!(&d.record().unwrap(), r);
        }
        assert!(d.is_empty());
        // Every strict prefix of a record fails to decode, without panicking.
        for cut in 0..buf.len() {
            let mut d = Decoder::new(&buf[..cut]);
            let all = (0..2).map(|_| d.record()).collect::<Vec<_>>();
            assert!(all.iter().any(|r| r.is_err()), "prefix {cut} decoded");
        }
    }
}
