//! User-defined enum types (`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`): the labels
//! of one version of a type, and how a value of it is stored, read and printed.
//!
//! A value is stored as `Value::Enum(sort)`: its label's sort order (PostgreSQL's
//! `pg_enum.enumsortorder`), a number that orders the values as the type lists its labels
//! and that never changes for a label. So rows, keys and the log compare and sort enum values
//! without the catalog, and renaming a label (`ALTER TYPE ... RENAME VALUE`) touches no row.
//!
//! Invariants:
//! - labels are unique within a type, at most 63 bytes, and kept ordered by sort order;
//!   sort orders are unique within a type and a label keeps its sort order for its lifetime;
//! - a new label gets a sort order after the last (`ADD VALUE`) or halfway between its
//!   neighbours (`BEFORE` / `AFTER`), as PostgreSQL's; the same statements give the same
//!   numbers when the log is replayed;
//! - an [`EnumType`] is one immutable version of a type, interned for the whole program so
//!   `SqlType::Enum` stays `Copy`; versions of a type share its oid and compare equal by it.
//!   A changed type is a new version that the schema puts in place of the old one, in the
//!   type itself and in every column that has it.

use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::types::Value;

/// The longest label PostgreSQL accepts (NAMEDATALEN - 1).
const MAX_LABEL_BYTES: usize = 63;

/// One version of an enum type.
pub struct EnumType {
    pub oid: u32,
    /// The oid of its array type (`_mood`).
    pub array_oid: u32,
    pub name: String,
    /// Its labels, ordered by sort order.
    pub labels: Vec<EnumLabel>,
}

/// A label of an enum type.
#[derive(Clone, Debug)]
pub struct EnumLabel {
    /// Its `pg_enum` row's oid.
    pub oid: u32,
    /// Its place in the type's order (what a stored value holds).
    pub sort: f64,
    pub label: String,
}

impl PartialEq for EnumType {
    fn eq(&self, other: &Self) -> bool {
        self.oid == other.oid
    }
}

impl Eq for EnumType {}

impl Hash for EnumType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.oid.hash(state);
    }
}

impl std::fmt::Debug for EnumType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "enum {} (oid {})", self.name, self.oid)
    }
}

/// Every version of every enum type made since the program started, newest last.
static VERSIONS: Mutex<Vec<&'static EnumType>> = Mutex::new(Vec::new());

/// Interns a version of a type for the whole program.
pub fn intern(ty: EnumType) -> &'static EnumType {
    let leaked: &'static EnumType = Box::leak(Box::new(ty));
    VERSIONS.lock().unwrap_or_else(|e| e.into_inner()).push(leaked);
    leaked
}

/// The newest version of the enum type with this oid (or of whose array type this is the
/// oid, then `true`), for the catalog functions that name a type by oid alone.
pub fn by_oid(oid: u32) -> Option<(&'static EnumType, bool)> {
    let versions = VERSIONS.lock().unwrap_or_else(|e| e.into_inner());
    versions.iter().rev().find_map(|t| {
        if t.oid == oid {
            Some((*t, false))
        } else if t.array_oid == oid {
            Some((*t, true))
        } else {
            None
        }
    })
}

/// A type's name as `format_type` shows it: quoted unless a plain lower-case identifier.
pub fn quoted_name(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

fn label_error(code: SqlState, message: String) -> SqlError {
    SqlError::new(code, message)
}

fn check_label(label: &str) -> Result<(), SqlError> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(label_error(
            SqlState::InvalidName,
            format!("invalid enum label \"{label}\"")
                + "\nDETAIL: Labels must be 63 bytes or less.",
        ));
    }
    Ok(())
}

impl EnumType {
    /// A new type with these labels, in this order (CREATE TYPE ... AS ENUM).
    pub fn new(
        name: &str,
        labels: &[String],
        mut allocate_oid: impl FnMut() -> u32,
    ) -> Result<EnumType, SqlError> {
        let oid = allocate_oid();
        let array_oid = allocate_oid();
        let mut out: Vec<EnumLabel> = Vec::with_capacity(labels.len());
        for (i, label) in labels.iter().enumerate() {
            check_label(label)?;
            if out.iter().any(|l| l.label == *label) {
                // PostgreSQL reports its catalog's unique index here
                return Err(label_error(
                    SqlState::UniqueViolation,
                    format!(
                        "duplicate key value violates unique constraint \"pg_enum_typid_label_index\"\nDETAIL: Key (enumtypid, enumlabel)=({oid}, {label}) already exists."
                    ),
                ));
            }
            out.push(EnumLabel { oid: allocate_oid(), sort: (i + 1) as f64, label: label.clone() });
        }
        Ok(EnumType { oid, array_oid, name: name.to_string(), labels: out })
    }

    /// The label a stored value stands for.
    pub fn label_of(&self, sort: f64) -> Option<&str> {
        self.labels.iter().find(|l| l.sort == sort).map(|l| l.label.as_str())
    }

    /// A label's stored value (22P02 if the type has no such label).
    pub fn value_of(&self, label: &str) -> Result<Value, SqlError> {
        match self.labels.iter().find(|l| l.label == label) {
            Some(l) => Ok(Value::Enum(l.sort)),
            None => Err(label_error(
                SqlState::InvalidTextRepresentation,
                format!("invalid input value for enum {}: \"{label}\"", self.name),
            )),
        }
    }

    fn position(&self, label: &str) -> Result<usize, SqlError> {
        self.labels.iter().position(|l| l.label == label).ok_or_else(|| {
            label_error(
                SqlState::InvalidParameterValue,
                format!("\"{label}\" is not an existing enum label"),
            )
        })
    }

    fn exists_error(label: &str) -> SqlError {
        label_error(SqlState::DuplicateObject, format!("enum label \"{label}\" already exists"))
    }

    /// This type with one label more (ALTER TYPE ... ADD VALUE [BEFORE | AFTER neighbour]).
    /// `Ok(None)`: the label exists and `if_not_exists` was given.
    pub fn with_label_added(
        &self,
        label: &str,
        before: Option<&str>,
        after: Option<&str>,
        if_not_exists: bool,
        label_oid: u32,
    ) -> Result<Option<EnumType>, SqlError> {
        check_label(label)?;
        if self.labels.iter().any(|l| l.label == label) {
            return if if_not_exists { Ok(None) } else { Err(Self::exists_error(label)) };
        }
        let sorts: Vec<f64> = self.labels.iter().map(|l| l.sort).collect();
        let (index, sort) = match (before, after) {
            (Some(neighbour), _) => {
                let i = self.position(neighbour)?;
                let low = if i == 0 { sorts[0] - 2.0 } else { sorts[i - 1] };
                (i, (low + sorts[i]) / 2.0)
            }
            (None, Some(neighbour)) => {
                let i = self.position(neighbour)?;
                let high = sorts.get(i + 1).copied().unwrap_or(sorts[i] + 2.0);
                (i + 1, (sorts[i] + high) / 2.0)
            }
            (None, None) => (sorts.len(), sorts.last().map_or(1.0, |s| s.floor() + 1.0)),
        };
        if sorts.contains(&sort) || !sort.is_finite() {
            // PostgreSQL renumbers its labels here; isola's stored values are the numbers,
            // so it refuses rather than rewrite every row
            return Err(label_error(
                SqlState::FeatureNotSupported,
                format!(
                    "no room left to place enum label \"{label}\" there: recreate the type {} with its labels in the order wanted",
                    self.name
                ),
            ));
        }
        let mut labels = self.labels.clone();
        labels.insert(index, EnumLabel { oid: label_oid, sort, label: label.to_string() });
        Ok(Some(EnumType {
            oid: self.oid,
            array_oid: self.array_oid,
            name: self.name.clone(),
            labels,
        }))
    }

    /// This type with a label renamed (ALTER TYPE ... RENAME VALUE): no stored value changes.
    pub fn with_label_renamed(&self, from: &str, to: &str) -> Result<EnumType, SqlError> {
        check_label(to)?;
        let i = self.position(from)?;
        if self.labels.iter().any(|l| l.label == to) {
            return Err(Self::exists_error(to));
        }
        let mut labels = self.labels.clone();
        labels[i].label = to.to_string();
        Ok(EnumType { oid: self.oid, array_oid: self.array_oid, name: self.name.clone(), labels })
    }

    /// This type under another name (ALTER TYPE ... RENAME TO).
    pub fn renamed(&self, name: &str) -> EnumType {
        EnumType {
            oid: self.oid,
            array_oid: self.array_oid,
            name: name.to_string(),
            labels: self.labels.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mood() -> EnumType {
        let mut next = 100;
        let labels: Vec<String> = ["sad", "ok", "happy"].iter().map(|s| s.to_string()).collect();
        EnumType::new("mood", &labels, || {
            next += 1;
            next
        })
        .unwrap()
    }

    #[test]
    fn labels_order_as_listed_and_new_ones_go_between() {
        let t = mood();
        assert_eq!(t.value_of("ok").unwrap(), Value::Enum(2.0));
        assert_eq!(t.value_of("nope").unwrap_err().code, "22P02");
        let t = t.with_label_added("meh", Some("ok"), None, false, 1).unwrap().unwrap();
        assert_eq!(t.value_of("meh").unwrap(), Value::Enum(1.5));
        let t = t.with_label_added("first", Some("sad"), None, false, 2).unwrap().unwrap();
        let t = t.with_label_added("last", None, Some("happy"), false, 3).unwrap().unwrap();
        let t = t.with_label_added("end", None, None, false, 4).unwrap().unwrap();
        let order: Vec<&str> = t.labels.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(order, ["first", "sad", "meh", "ok", "happy", "last", "end"]);
        let sorts: Vec<f64> = t.labels.iter().map(|l| l.sort).collect();
        assert!(sorts.windows(2).all(|w| w[0] < w[1]), "{sorts:?}");
        assert_eq!(t.with_label_added("ok", None, None, false, 5).unwrap_err().code, "42710");
        assert!(t.with_label_added("ok", None, None, true, 5).unwrap().is_none());
        assert_eq!(
            t.with_label_added("x", Some("nope"), None, false, 5).unwrap_err().code,
            "22023"
        );
    }

    #[test]
    fn renaming_keeps_the_stored_value() {
        let t = mood().with_label_renamed("ok", "fine").unwrap();
        assert_eq!(t.value_of("fine").unwrap(), Value::Enum(2.0));
        assert_eq!(t.label_of(2.0), Some("fine"));
        assert_eq!(t.with_label_renamed("sad", "happy").unwrap_err().code, "42710");
    }

    #[test]
    fn repeated_halving_is_refused_not_wrapped() {
        let mut t = mood();
        let mut refused = false;
        for i in 0..200 {
            match t.with_label_added(&format!("l{i}"), Some("ok"), None, false, 10) {
                Ok(Some(next)) => t = next,
                Ok(None) => unreachable!(),
                Err(e) => {
                    assert_eq!(e.code, "0A000");
                    refused = true;
                    break;
                }
            }
        }
        assert!(refused);
        let sorts: Vec<f64> = t.labels.iter().map(|l| l.sort).collect();
        assert!(sorts.windows(2).all(|w| w[0] < w[1]));
    }
}
