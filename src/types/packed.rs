//! [`PackedRow`]: a row as the store keeps it, its values encoded in one heap block.
//!
//! The bytes are the row's encoding in the log and in checkpoints ([`Encoder::values`]), so a
//! stored row is written to either as it is, and read from a checkpoint without building its
//! values. A `Vec<Value>` row costs 32 bytes per value plus a heap block per string; a packed
//! row costs its encoded length (an int 9 bytes, a text 5 plus its UTF-8) in one block.
//!
//! Invariant: the bytes are always one well-formed encoding of a row (made by
//! [`PackedRow::pack`], or checked by [`PackedRow::from_encoded`]), so unpacking cannot fail.

use std::fmt;

use super::encoding::{DecodeResult, Decoder, Encoder, encoded_len};
use super::{Key, Row, Value};

/// A row's values, encoded, in one allocation.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedRow(Box<[u8]>);

impl PackedRow {
    /// Packs a row's values.
    pub fn pack(row: &[Value]) -> PackedRow {
        let len = 4 + row.iter().map(encoded_len).sum::<usize>();
        let mut buf = Vec::with_capacity(len);
        Encoder(&mut buf).values(row);
        debug_assert_eq!(buf.len(), len);
        PackedRow(buf.into_boxed_slice())
    }

    /// Takes an encoded row (a count and its values, nothing after), checking it.
    pub fn from_encoded(bytes: &[u8]) -> DecodeResult<PackedRow> {
        let mut d = Decoder::new(bytes);
        d.skip_values()?;
        if !d.is_empty() {
            return Err(super::encoding::DecodeError("trailing bytes after a row".into()));
        }
        Ok(PackedRow(bytes.into()))
    }

    /// Bytes [`Decoder::skip_values`] has checked.
    pub(super) fn from_checked(bytes: &[u8]) -> PackedRow {
        PackedRow(bytes.into())
    }

    /// The row's values.
    pub fn unpack(&self) -> Row {
        let mut d = Decoder::new(&self.0);
        let n = d.u32().expect("a packed row") as usize;
        let mut row = Vec::with_capacity(n);
        for _ in 0..n {
            row.push(d.value().expect("a packed row decodes (checked when made)"));
        }
        row
    }

    /// The values of some columns, in the order given (a primary or index key of the row).
    pub fn project(&self, columns: &[usize]) -> Key {
        match columns {
            [one] => std::iter::once(self.column(*one)).collect(),
            _ => {
                let mut d = Decoder::new(&self.0);
                let n = d.u32().expect("a packed row") as usize;
                let wanted = columns.iter().copied().max().map_or(0, |m| m + 1).min(n);
                let mut found: Vec<Value> = Vec::with_capacity(wanted);
                for i in 0..wanted {
                    if columns.contains(&i) {
                        found.push(d.value().expect("a packed row"));
                    } else {
                        d.skip_value().expect("a packed row");
                        found.push(Value::Null);
                    }
                }
                columns.iter().map(|&c| found.get(c).cloned().unwrap_or(Value::Null)).collect()
            }
        }
    }

    /// The value of one column (NULL past the row's end, as for a column added later).
    pub fn column(&self, column: usize) -> Value {
        let mut d = Decoder::new(&self.0);
        let n = d.u32().expect("a packed row") as usize;
        if column >= n {
            return Value::Null;
        }
        for _ in 0..column {
            d.skip_value().expect("a packed row");
        }
        d.value().expect("a packed row")
    }

    /// How many values the row holds (a row written before ADD COLUMN holds fewer than its
    /// table has columns).
    pub fn len(&self) -> usize {
        Decoder::new(&self.0).u32().expect("a packed row") as usize
    }

    /// Whether the row holds no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The encoding: a count and the values.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[Value]> for PackedRow {
    fn from(row: &[Value]) -> PackedRow {
        PackedRow::pack(row)
    }
}

impl fmt::Debug for PackedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.unpack().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Interval;

    fn sample() -> Row {
        vec![
            Value::Int(7),
            Value::Null,
            Value::Text("héllo".into()),
            Value::Bool(true),
            Value::Float(-1.5),
            Value::Numeric("12.345".parse().unwrap()),
            Value::Bytes(vec![0, 255]),
            Value::Array(vec![Value::Int(1), Value::Null, Value::Text("x".into())]),
            Value::Interval(Interval { months: -1, days: 2, micros: 3 }),
            Value::Enum(2.5),
        ]
    }

    #[test]
    fn packs_and_unpacks_every_kind_of_value() {
        let row = sample();
        let packed = PackedRow::pack(&row);
        assert_eq!(packed.unpack(), row);
        for (i, v) in row.iter().enumerate() {
            assert_eq!(&packed.column(i), v, "column {i}");
        }
        assert_eq!(packed.column(row.len()), Value::Null);
        assert_eq!((packed.len(), packed.is_empty()), (row.len(), false));
        assert!(PackedRow::pack(&[]).is_empty());
        let key = packed.project(&[2, 0, 9]);
        assert_eq!(key.as_slice(), &[row[2].clone(), row[0].clone(), row[9].clone()]);
        assert_eq!(packed.project(&[12, 1]).as_slice(), &[Value::Null, Value::Null]);
        let mut bytes = Vec::new();
        Encoder(&mut bytes).values(&row);
        assert_eq!(packed.as_bytes(), bytes.as_slice(), "the log's encoding");
        assert_eq!(PackedRow::from_encoded(&bytes), Ok(packed));
    }

    #[test]
    fn a_malformed_encoding_is_refused() {
        let mut bytes = Vec::new();
        Encoder(&mut bytes).values(&sample());
        for cut in 0..bytes.len() {
            assert!(PackedRow::from_encoded(&bytes[..cut]).is_err(), "prefix {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(PackedRow::from_encoded(&trailing).is_err());
        let mut bad_utf8 = Vec::new();
        Encoder(&mut bad_utf8).values(&[Value::Text("ab".into())]);
        let last = bad_utf8.len() - 1;
        bad_utf8[last] = 0xff;
        assert!(PackedRow::from_encoded(&bad_utf8).is_err());
    }
}
