//! [`Value`], [`Row`] and [`Key`].
//!
//! Invariant: `Value` has a total order (NULL first, then by type, floats by `total_cmp`), so rows
//! and keys can be map keys and range bounds. The SQL layer maps its types onto these.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Bound;

/// One column value.
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An exact decimal (SQL `numeric`).
    Numeric(rust_decimal::Decimal),
    Text(String),
    Bytes(Vec<u8>),
    /// A one-dimensional SQL array: its elements in order, each NULL or of the element type's
    /// storage variant (never itself an array).
    Array(Vec<Value>),
    /// A SQL `interval`.
    Interval(Interval),
    /// A value of a user-defined enum type: its label's sort order, which orders the values
    /// as the type lists its labels (the label itself is the type's: `sql::types::enums`).
    Enum(f64),
}

/// A SQL `interval`: months, days and microseconds, kept apart because a month has no fixed
/// number of days. Two intervals compare (and hash) by their length with a month counted as 30
/// days and a day as 24 hours, as PostgreSQL does: `'1 mon'` equals `'30 days'`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interval {
    pub months: i32,
    pub days: i32,
    pub micros: i64,
}

impl Interval {
    /// The length PostgreSQL compares by, in microseconds.
    pub fn span(&self) -> i128 {
        (i128::from(self.months) * 30 + i128::from(self.days)) * 86_400_000_000
            + i128::from(self.micros)
    }
}

/// A row: one value per column of its table.
pub type Row = Vec<Value>;

/// A key: the values of a primary key or an index's columns, in column order. A one-column
/// key (the common case) is stored inline, so comparing two keys in a B-tree search reads the
/// node itself rather than chasing a pointer per key compared.
pub type Key = smallvec::SmallVec<[Value; 1]>;

/// Builds a [`Key`] from values: `key![1.into()]`, `key![a, b]`.
#[macro_export]
macro_rules! key {
    ($($value:expr),* $(,)?) => {
        <$crate::types::Key as ::std::iter::FromIterator<$crate::types::Value>>::from_iter([$($value),*])
    };
}

/// A range of keys, as a pair of bounds.
pub type KeyRange = (Bound<Key>, Bound<Key>);

impl Value {
    fn type_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Numeric(_) => 4,
            Value::Text(_) => 5,
            Value::Bytes(_) => 6,
            Value::Array(_) => 7,
            Value::Interval(_) => 8,
            Value::Enum(_) => 9,
        }
    }

    /// The integer in this value, if it is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl Ord for Value {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Numeric(a), Value::Numeric(b)) => a.cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            (Value::Array(a), Value::Array(b)) => a.cmp(b),
            (Value::Interval(a), Value::Interval(b)) => a.span().cmp(&b.span()),
            (Value::Enum(a), Value::Enum(b)) => a.total_cmp(b),
            _ => self.type_rank().cmp(&other.type_rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.type_rank().hash(state);
        match self {
            Value::Null => {}
            Value::Bool(b) => b.hash(state),
            Value::Int(i) => i.hash(state),
            Value::Float(f) => f.to_bits().hash(state),
            Value::Numeric(d) => d.normalize().hash(state),
            Value::Text(s) => s.hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Array(a) => a.hash(state),
            Value::Interval(i) => i.span().hash(state),
            Value::Enum(sort) => sort.to_bits().hash(state),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "NULL"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Numeric(d) => write!(f, "{d}"),
            Value::Text(s) => write!(f, "'{s}'"),
            Value::Bytes(b) => {
                write!(f, "\\x")?;
                b.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
            }
            Value::Array(a) => write!(f, "ARRAY[{}]", format_key(a)),
            Value::Interval(i) => write!(f, "{} mons {} days {} us", i.months, i.days, i.micros),
            Value::Enum(sort) => write!(f, "enum #{sort}"),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Formats values as `a, b, c`.
pub fn format_key(values: &[Value]) -> String {
    values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_total_across_types() {
        let mut values = [
            Value::Text("b".into()),
            Value::Int(3),
            Value::Null,
            Value::Float(f64::NAN),
            Value::Float(-1.5),
            Value::Bool(true),
            Value::Int(-7),
        ];
        values.sort();
        let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        assert_eq!(shown, ["NULL", "true", "-7", "3", "-1.5", "NaN", "'b'"]);
    }
}
