//! The byte encoding of values and rows: one encoding for the log, checkpoints and rows as the
//! store keeps them ([`crate::types::PackedRow`]), so a stored row goes into a log record or a
//! checkpoint as it is.
//!
//! Little-endian, length-prefixed, no padding. A value is a tag byte and its payload; a row or
//! key is a count (u32) and its values. Decoding checks every length against the input, so
//! corrupt input gives [`DecodeError`] rather than a panic. The record-level encodings (commit
//! records, DDL) are the log's (`wal::encoding`).

use super::{Interval, Value};

/// Input that does not decode: truncated, an unknown tag, or bad UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

pub type DecodeResult<T> = std::result::Result<T, DecodeError>;

const TAG_NULL: u8 = 0;
const TAG_BOOL: u8 = 1;
const TAG_INT: u8 = 2;
const TAG_FLOAT: u8 = 3;
const TAG_NUMERIC: u8 = 4;
const TAG_TEXT: u8 = 5;
const TAG_BYTES: u8 = 6;
/// An array: its element count (u32), then each element as a value (never an array).
const TAG_ARRAY: u8 = 7;
/// An interval: months (u32), days (u32), microseconds (u64).
const TAG_INTERVAL: u8 = 8;
/// An enum value: its label's sort order (an f64's bits).
const TAG_ENUM: u8 = 9;

/// Appends encodings to a buffer.
pub struct Encoder<'a>(pub &'a mut Vec<u8>);

impl Encoder<'_> {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(TAG_NULL),
            Value::Bool(b) => {
                self.u8(TAG_BOOL);
                self.u8(*b as u8);
            }
            Value::Int(i) => {
                self.u8(TAG_INT);
                self.u64(*i as u64);
            }
            Value::Float(f) => {
                self.u8(TAG_FLOAT);
                self.u64(f.to_bits());
            }
            Value::Numeric(d) => {
                self.u8(TAG_NUMERIC);
                self.0.extend_from_slice(&d.serialize());
            }
            Value::Text(s) => {
                self.u8(TAG_TEXT);
                self.str(s);
            }
            Value::Bytes(b) => {
                self.u8(TAG_BYTES);
                self.bytes(b);
            }
            Value::Array(elements) => {
                self.u8(TAG_ARRAY);
                self.values(elements);
            }
            Value::Interval(iv) => {
                self.u8(TAG_INTERVAL);
                self.u32(iv.months as u32);
                self.u32(iv.days as u32);
                self.u64(iv.micros as u64);
            }
            Value::Enum(sort) => {
                self.u8(TAG_ENUM);
                self.u64(sort.to_bits());
            }
        }
    }

    pub fn values(&mut self, row: &[Value]) {
        self.u32(row.len() as u32);
        for v in row {
            self.value(v);
        }
    }
}

/// Reads encodings from a slice.
pub struct Decoder<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Decoder { input, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn take(&mut self, n: usize) -> DecodeResult<&'a [u8]> {
        if self.input.len() - self.pos < n {
            return Err(DecodeError(format!(
                "needs {n} bytes at offset {} but only {} remain",
                self.pos,
                self.input.len() - self.pos
            )));
        }
        let out = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self) -> DecodeResult<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> DecodeResult<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    pub fn u64(&mut self) -> DecodeResult<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    pub fn bytes(&mut self) -> DecodeResult<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn string(&mut self) -> DecodeResult<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| DecodeError("text is not UTF-8".into()))
    }

    pub fn value(&mut self) -> DecodeResult<Value> {
        Ok(match self.u8()? {
            TAG_NULL => Value::Null,
            TAG_BOOL => Value::Bool(self.u8()? != 0),
            TAG_INT => Value::Int(self.u64()? as i64),
            TAG_FLOAT => Value::Float(f64::from_bits(self.u64()?)),
            TAG_NUMERIC => {
                let raw: [u8; 16] = self.take(16)?.try_into().expect("16 bytes");
                Value::Numeric(rust_decimal::Decimal::deserialize(raw))
            }
            TAG_TEXT => Value::Text(self.string()?),
            TAG_BYTES => Value::Bytes(self.bytes()?.to_vec()),
            TAG_ARRAY => {
                let n = self.u32()? as usize;
                if n > self.input.len() - self.pos {
                    return Err(DecodeError(format!("an array of {n} values cannot fit")));
                }
                let mut elements = Vec::with_capacity(n);
                for _ in 0..n {
                    // checked before decoding, so corrupt input cannot recurse deeply
                    if self.input.get(self.pos) == Some(&TAG_ARRAY) {
                        return Err(DecodeError("an array inside an array".into()));
                    }
                    elements.push(self.value()?);
                }
                Value::Array(elements)
            }
            TAG_INTERVAL => Value::Interval(Interval {
                months: self.u32()? as i32,
                days: self.u32()? as i32,
                micros: self.u64()? as i64,
            }),
            TAG_ENUM => Value::Enum(f64::from_bits(self.u64()?)),
            tag => return Err(DecodeError(format!("unknown value tag {tag}"))),
        })
    }

    pub fn values<C: FromIterator<Value>>(&mut self) -> DecodeResult<C> {
        let n = self.u32()? as usize;
        // Every value takes at least one byte: a count beyond the input is corrupt.
        if n > self.input.len() - self.pos {
            return Err(DecodeError(format!("a row of {n} values cannot fit")));
        }
        (0..n).map(|_| self.value()).collect()
    }

    /// How far it has read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Steps over one value, checking it as [`Decoder::value`] would (lengths, tags, UTF-8),
    /// without building it.
    pub fn skip_value(&mut self) -> DecodeResult<()> {
        match self.u8()? {
            TAG_NULL => {}
            TAG_BOOL => {
                self.take(1)?;
            }
            TAG_INT | TAG_FLOAT | TAG_ENUM => {
                self.take(8)?;
            }
            TAG_NUMERIC | TAG_INTERVAL => {
                self.take(16)?;
            }
            TAG_TEXT => {
                std::str::from_utf8(self.bytes()?)
                    .map_err(|_| DecodeError("text is not UTF-8".into()))?;
            }
            TAG_BYTES => {
                self.bytes()?;
            }
            TAG_ARRAY => {
                let n = self.u32()? as usize;
                if n > self.input.len() - self.pos {
                    return Err(DecodeError(format!("an array of {n} values cannot fit")));
                }
                for _ in 0..n {
                    if self.input.get(self.pos) == Some(&TAG_ARRAY) {
                        return Err(DecodeError("an array inside an array".into()));
                    }
                    self.skip_value()?;
                }
            }
            tag => return Err(DecodeError(format!("unknown value tag {tag}"))),
        }
        Ok(())
    }

    /// A row as the store keeps it: its encoding checked and copied, no value built.
    pub fn packed_row(&mut self) -> DecodeResult<super::PackedRow> {
        Ok(super::PackedRow::from_checked(self.skip_values()?))
    }

    /// Steps over a row or key (a count and its values), checking it; returns its bytes.
    pub fn skip_values(&mut self) -> DecodeResult<&'a [u8]> {
        let start = self.pos;
        let n = self.u32()? as usize;
        if n > self.input.len() - self.pos {
            return Err(DecodeError(format!("a row of {n} values cannot fit")));
        }
        for _ in 0..n {
            self.skip_value()?;
        }
        Ok(&self.input[start..self.pos])
    }
}

/// A row an [`Encoder`] can write: its values, or a row already packed in this encoding.
pub trait EncodeRow {
    /// Appends the row's encoding (a count and its values).
    fn encode_row(&self, e: &mut Encoder<'_>);
}

impl EncodeRow for [Value] {
    fn encode_row(&self, e: &mut Encoder<'_>) {
        e.values(self);
    }
}

impl EncodeRow for Vec<Value> {
    fn encode_row(&self, e: &mut Encoder<'_>) {
        e.values(self);
    }
}

impl EncodeRow for super::PackedRow {
    fn encode_row(&self, e: &mut Encoder<'_>) {
        e.0.extend_from_slice(self.as_bytes());
    }
}

/// The length of a value's encoding ([`Encoder::value`]).
pub fn encoded_len(v: &Value) -> usize {
    1 + match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Int(_) | Value::Float(_) | Value::Enum(_) => 8,
        Value::Numeric(_) | Value::Interval(_) => 16,
        Value::Text(s) => 4 + s.len(),
        Value::Bytes(b) => 4 + b.len(),
        Value::Array(elements) => 4 + elements.iter().map(encoded_len).sum::<usize>(),
    }
}
