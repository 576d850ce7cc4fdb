//! Values, rows and keys: the data the transactional core stores, and their byte encoding.

pub mod encoding;
mod packed;
mod value;

pub use packed::PackedRow;
pub use value::{Interval, Key, KeyRange, Row, Value, format_key};
