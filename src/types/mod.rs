//! Values, rows and keys: the data the transactional core stores.

mod value;

pub use value::{Key, KeyRange, Row, Value, format_key};
