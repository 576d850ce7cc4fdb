//! Values, rows and keys: the data the transactional core stores.

mod value;

pub use value::{Interval, Key, KeyRange, Row, Value, format_key};
