//! The catalog functions' values ([`CatalogFn`]), read from the schema when evaluated.
//!
//! Invariant: a NULL object id or name gives NULL (PostgreSQL's functions are strict), except
//! `format_type`'s typmod, which may be NULL; an unknown object id gives NULL, except where
//! PostgreSQL answers otherwise (`format_type` of an unknown type is `???`).

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::pg_catalog::model::{self, OWNER, Object};
use crate::sql::pg_catalog::{deparse, views::Viewer};
use crate::sql::plan::CatalogFn;
use crate::sql::schema::Schema;
use crate::sql::types::SqlType;
use crate::types::Value;

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Int(i) => Some(*i),
        Value::Text(s) => s.trim().parse().ok(),
        Value::Numeric(d) => d.to_string().parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Text(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Null => None,
        other => Some(format!("{other:?}")),
    }
}

fn boolean(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

fn opt_text(s: Option<String>) -> Value {
    s.map_or(Value::Null, Value::Text)
}

/// A value as JSON (`as_key`: always a string).
fn json(v: &Value, as_key: bool) -> String {
    let quote = |s: &str| {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    match v {
        Value::Null if as_key => quote(""),
        Value::Null => "null".into(),
        Value::Bool(b) if !as_key => b.to_string(),
        Value::Int(i) if !as_key => i.to_string(),
        Value::Float(f) if !as_key => f.to_string(),
        Value::Numeric(d) if !as_key => d.to_string(),
        Value::Text(s) => quote(s),
        other => quote(&text(Some(other)).unwrap_or_default()),
    }
}

/// The oid of a type named as in SQL (`int4`, `integer`, `character varying`, `_int4`,
/// `integer[]`).
fn type_oid(name: &str) -> Option<i64> {
    let name = name.trim().to_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name).to_string();
    if let Some(elem) = name.strip_suffix("[]") {
        let oid = type_oid(elem)?;
        return model::type_by_oid(oid).map(|(t, _)| t.array);
    }
    if let Some(t) = model::TYPES.iter().find(|t| t.name == name || format!("_{}", t.name) == name)
    {
        return Some(if t.name == name { t.oid } else { t.array });
    }
    let (ty, _) = SqlType::parse(&name).ok()?;
    Some(model::type_of(ty).0)
}

/// `set_config(name, value, is_local)`: the setting to change and its value (the executor
/// hands the change to the session, which keeps it as SET would).
pub fn set_config(
    args: &[Value],
    settings: &[(String, String)],
) -> Result<(String, String, bool), SqlError> {
    let name = text(args.first()).ok_or_else(|| {
        SqlError::new(SqlState::InvalidParameterValue, "SET requires parameter name")
    })?;
    let name = name.to_lowercase();
    let local = boolean(args.get(2));
    if !name.contains('.') && !settings.iter().any(|(n, _)| *n == name) {
        return Err(SqlError::new(
            SqlState::UndefinedObject,
            format!("unrecognized configuration parameter \"{name}\""),
        ));
    }
    Ok((name, text(args.get(1)).unwrap_or_default(), local))
}

/// A catalog function's value.
pub fn call(
    schema: &Schema,
    func: CatalogFn,
    args: &[Value],
    who: &Viewer,
) -> Result<Value, SqlError> {
    use CatalogFn as F;
    let first_null = args.first().is_none_or(|v| *v == Value::Null);
    if first_null
        && !matches!(
            func,
            F::CurrentSchemas
                | F::False
                | F::True
                | F::InRecovery
                | F::JsonBuildObject
                | F::Ordinals
        )
    {
        return Ok(Value::Null);
    }
    Ok(match func {
        F::FormatType => {
            let Some(oid) = int(args.first()) else { return Ok(Value::Null) };
            let name = model::format_type(oid, int(args.get(1)));
            // a user-defined type off the search path prints qualified
            let user_type = u32::try_from(oid).ok().and_then(crate::sql::types::enums::by_oid);
            match name {
                Some(n) if user_type.is_some() && who.qualifies() => {
                    Value::Text(format!("public.{n}"))
                }
                other => opt_text(other),
            }
        }
        F::GetUserById => {
            let oid = int(args.first()).unwrap_or(0);
            Value::Text(if oid == OWNER {
                who.user.to_string()
            } else if oid == model::DATABASE_OWNER {
                "pg_database_owner".to_string()
            } else {
                format!("unknown (OID={oid})")
            })
        }
        // The stored expression is already its text (see `views`: adbin, conbin).
        F::GetExpr => opt_text(text(args.first())),
        F::GetConstraintDef => {
            let pretty = boolean(args.get(1));
            match int(args.first()).and_then(|oid| model::object(schema, oid)) {
                Some(Object::Constraint(t, c)) => {
                    Value::Text(deparse::constraint_def(schema, t, &c, pretty, who.qualifies()))
                }
                _ => Value::Null,
            }
        }
        F::GetIndexDef => {
            let column = int(args.get(1)).unwrap_or(0);
            let pretty = boolean(args.get(2));
            match int(args.first()).and_then(|oid| model::object(schema, oid)) {
                Some(Object::Index(t, i)) => Value::Text(deparse::index_def(t, &i, column, pretty)),
                _ => Value::Null,
            }
        }
        F::ObjDescription => {
            // Only pg_class objects have comments (a catalog name other than pg_class: NULL).
            let catalog = text(args.get(1));
            if catalog.as_deref().is_some_and(|c| c != "pg_class" && c != "pg_catalog.pg_class") {
                return Ok(Value::Null);
            }
            match int(args.first()).and_then(|oid| model::object(schema, oid)) {
                Some(Object::Table(t)) => opt_text(t.comment.clone()),
                _ => Value::Null,
            }
        }
        F::ColDescription => {
            let table = int(args.first()).and_then(|oid| model::object(schema, oid));
            let (Some(Object::Table(t)), Some(attnum)) = (table, int(args.get(1))) else {
                return Ok(Value::Null);
            };
            let position = model::column_at(t, attnum);
            opt_text(position.and_then(|p| t.columns[p].comment.clone()))
        }
        F::EncodingToChar => Value::Text(match int(args.first()) {
            Some(6) => "UTF8".into(),
            Some(0) => "SQL_ASCII".into(),
            _ => String::new(),
        }),
        F::CurrentSchemas => {
            let mut names = who.search_path();
            if boolean(args.first()) && !names.contains(&"pg_catalog") {
                names.insert(0, "pg_catalog");
            }
            Value::Array(names.iter().map(|n| Value::Text(n.to_string())).collect())
        }
        F::SetConfig => opt_text(text(args.get(1))),
        F::RelationSize => Value::Int(0),
        F::Subscripts => match (args.first(), int(args.get(1))) {
            (Some(Value::Array(a)), Some(1)) => {
                // from the array's lower bound: 1, or 0 for a vector (a third argument)
                let lower = int(args.get(2)).unwrap_or(1);
                Value::Array((0..a.len() as i64).map(|i| Value::Int(lower + i)).collect())
            }
            (Some(Value::Array(_)), _) => Value::Array(vec![]),
            _ => Value::Null,
        },
        F::CurrentSetting => {
            let name = text(args.first()).unwrap_or_default().to_ascii_lowercase();
            let fixed = match name.as_str() {
                "server_version" => Some(crate::sql::system::SERVER_VERSION),
                "server_encoding" | "client_encoding" => Some("UTF8"),
                "standard_conforming_strings" | "integer_datetimes" => Some("on"),
                "default_table_access_method" => Some("heap"),
                _ => None,
            };
            let found = who
                .settings
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, v)| v.clone())
                .or(fixed.map(str::to_string));
            match found {
                Some(v) => Value::Text(v),
                None if boolean(args.get(1)) => Value::Null,
                None => {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("unrecognized configuration parameter \"{name}\""),
                    ));
                }
            }
        }
        F::QuoteIdent => Value::Text(deparse::quote_ident(&text(args.first()).unwrap_or_default())),
        F::QuoteLiteral => match text(args.first()) {
            Some(s) => Value::Text(deparse::quote_literal(&s)),
            None => Value::Null,
        },
        F::SizePretty => Value::Text(size_pretty(int(args.first()).unwrap_or(0))),
        F::Ordinals => ordinals(
            args.iter()
                .map(|a| if let Value::Array(a) = a { a.len() } else { 0 })
                .max()
                .unwrap_or(0),
        ),
        F::RegclassIn | F::ToRegclass => {
            let name = text(args.first()).unwrap_or_default();
            if let Ok(oid) = name.trim().parse::<i64>() {
                return Ok(Value::Int(oid));
            }
            match model::relation_oid(schema, &name) {
                Some(oid) => Value::Int(oid),
                None if func == F::ToRegclass => Value::Null,
                None => {
                    return Err(SqlError::new(
                        SqlState::UndefinedTable,
                        format!("relation \"{name}\" does not exist"),
                    ));
                }
            }
        }
        F::RegclassOut => {
            let oid = int(args.first()).unwrap_or(0);
            Value::Text(model::relation_name(schema, oid).unwrap_or_else(|| oid.to_string()))
        }
        F::RegtypeIn | F::ToRegtype => {
            let name = text(args.first()).unwrap_or_default();
            if let Ok(oid) = name.trim().parse::<i64>() {
                return Ok(Value::Int(oid));
            }
            let user_type = match schema.parse_type(&name) {
                Ok((ty @ (SqlType::Enum(_) | SqlType::Array(SqlType::Enum(_))), _)) => {
                    Some(model::type_of(ty).0)
                }
                _ => None,
            };
            match user_type.or_else(|| type_oid(&name)) {
                Some(oid) => Value::Int(oid),
                None if func == F::ToRegtype => Value::Null,
                None => {
                    return Err(SqlError::new(
                        SqlState::UndefinedObject,
                        format!("type \"{name}\" does not exist"),
                    ));
                }
            }
        }
        F::RegtypeOut => {
            let oid = int(args.first()).unwrap_or(0);
            let user_type = u32::try_from(oid).ok().and_then(crate::sql::types::enums::by_oid);
            match model::type_by_oid(oid) {
                Some(_) => opt_text(model::format_type(oid, None)),
                None if user_type.is_some() => opt_text(model::format_type(oid, None)),
                None => Value::Text(oid.to_string()),
            }
        }
        F::OptionNames | F::OptionValues => match args.first() {
            Some(Value::Array(items)) => Value::Array(
                items
                    .iter()
                    .map(|item| {
                        let item = text(Some(item)).unwrap_or_default();
                        let (name, value) = item.split_once('=').unwrap_or((&item, ""));
                        Value::Text(if func == F::OptionNames { name } else { value }.to_string())
                    })
                    .collect(),
            ),
            _ => Value::Null,
        },
        F::RegnamespaceIn => {
            let name = text(args.first()).unwrap_or_default();
            if let Ok(oid) = name.trim().parse::<i64>() {
                return Ok(Value::Int(oid));
            }
            let oid = match name.as_str() {
                "pg_catalog" => model::PG_CATALOG_NS,
                "pg_toast" => model::PG_TOAST_NS,
                "public" => model::PUBLIC_NS,
                "information_schema" => model::INFORMATION_SCHEMA_NS,
                _ => {
                    return Err(SqlError::new(
                        SqlState::InvalidSchemaName,
                        format!("schema \"{name}\" does not exist"),
                    ));
                }
            };
            Value::Int(oid)
        }
        F::RegnamespaceOut => {
            let oid = int(args.first()).unwrap_or(0);
            Value::Text(match oid {
                model::PG_CATALOG_NS => "pg_catalog".into(),
                model::PUBLIC_NS => "public".into(),
                model::INFORMATION_SCHEMA_NS => "information_schema".into(),
                other => other.to_string(),
            })
        }
        F::PartitionAncestors => Value::Null,
        F::False => Value::Bool(false),
        F::InRecovery => Value::Bool(who.in_recovery),
        F::True => Value::Bool(true),
        F::JsonBuildObject => {
            if !args.len().is_multiple_of(2) {
                return Err(SqlError::new(
                    SqlState::InvalidParameterValue,
                    "argument list must have even number of elements",
                ));
            }
            let pairs: Vec<String> = args
                .chunks(2)
                .map(|kv| format!("{} : {}", json(&kv[0], true), json(&kv[1], false)))
                .collect();
            Value::Text(format!("{{{}}}", pairs.join(", ")))
        }
    })
}

/// The array 1..=n.
fn ordinals(n: usize) -> Value {
    Value::Array((1..=n as i64).map(Value::Int).collect())
}

/// `pg_size_pretty`, as PostgreSQL 15 computes it: bytes below 10 kB, then the first of kB,
/// MB, GB, TB whose value (kept with one extra bit, rounded half away from zero) is below
/// 20479, else PB.
fn size_pretty(bytes: i64) -> String {
    const LIMIT: i64 = 10 * 1024;
    const LIMIT2: i64 = LIMIT * 2 - 1;
    if bytes.abs() < LIMIT {
        return format!("{bytes} bytes");
    }
    let half_rounded = |x: i64| (x + if x < 0 { -1 } else { 1 }) / 2;
    let mut size = bytes >> 9;
    for unit in ["kB", "MB", "GB", "TB"] {
        if size.abs() < LIMIT2 {
            return format!("{} {unit}", half_rounded(size));
        }
        size >>= 10;
    }
    format!("{} PB", half_rounded(size))
}
