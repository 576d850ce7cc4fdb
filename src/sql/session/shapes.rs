//! The simple protocol's plan cache: a statement text whose literals may become parameters
//! (`sql::parse::literals`) is planned once per shape, its values passed as parameters.

use std::sync::Arc;

use crate::sql::parse::literals::{self, Literal};
use crate::sql::parse::split_statements;
use crate::sql::session::{Prepared, Session};
use crate::sql::types::{SqlType, cast, number_literal};
use crate::types::Value;

/// How many statement shapes a session keeps plans for (all are dropped when it is full).
const SHAPE_PLANS: usize = 256;

/// The values of a text's literals as the parameters of its shape's plan, converted as the
/// literals themselves would be; `None` if one does not convert.
fn literal_values(found: Vec<Literal>, types: &[SqlType]) -> Option<Vec<Value>> {
    found
        .into_iter()
        .zip(types)
        .map(|(literal, &ty)| match literal {
            Literal::Integer(n) | Literal::Decimal(n) => {
                number_literal(&n).ok().filter(|(_, t)| *t == ty).map(|(v, _)| v)
            }
            Literal::Text(s) => cast(Value::Text(s), SqlType::Text, ty, false).ok(),
        })
        .collect()
}

impl Session {
    /// Prepares a simple-protocol query string holding exactly one statement, so the server can
    /// decide where to run it (see [`Prepared::runs_inline`]). `None` for several statements (a
    /// later one may need an earlier one's DDL) or one that does not prepare: then
    /// [`Session::execute_simple`] runs the string and reports the error.
    ///
    /// A statement whose literals may become parameters (`crate::sql::parse::literals::normalize`) is
    /// planned once per shape: the values come back as the statement's parameters. A shape is
    /// trusted only after it planned to the same result columns as a text of it did; a text
    /// whose values do not convert takes the ordinary path (which reports the error).
    pub fn prepare_single(&mut self, sql: &str) -> Option<(Arc<Prepared>, Vec<Value>)> {
        let mut statements = split_statements(sql);
        if statements.len() != 1 {
            return None;
        }
        let one = statements.pop().expect("one");
        let Some(normalized) = literals::normalize(one.trim()) else {
            return self.prepare_simple(&one, &[]).ok().map(|p| (p, Vec::new()));
        };
        // the session's own view (its transaction's DDL included): a shape planned against a
        // change that ROLLBACK (TO SAVEPOINT) took back must not be used again
        let schema = self.schema_version();
        if self.shape_plans_schema != schema {
            self.shape_plans.clear();
            self.shape_plans_schema = schema;
        }
        let key = normalized.plan_key();
        match self.shape_plans.get(&key) {
            Some(Some(shape)) => {
                let shape = shape.clone();
                match literal_values(normalized.literals, &shape.param_types) {
                    Some(values) => {
                        self.shape_text = Some((shape.clone(), one));
                        Some((shape, values))
                    }
                    None => self.prepare_simple(&one, &[]).ok().map(|p| (p, Vec::new())),
                }
            }
            Some(None) => self.prepare_simple(&one, &[]).ok().map(|p| (p, Vec::new())),
            None => {
                let exact = self.prepare_simple(&one, &[]).ok()?;
                let declared: Vec<Option<SqlType>> =
                    normalized.literals.iter().map(literals::declared_type).collect();
                let shape =
                    self.prepare_simple(&normalized.shape, &declared).ok().filter(|shape| {
                        shape.columns == exact.columns
                            && shape.param_types.len() == declared.len()
                            && literal_values(normalized.literals.clone(), &shape.param_types)
                                .is_some()
                    });
                if self.shape_plans.len() >= SHAPE_PLANS {
                    self.shape_plans.clear();
                }
                self.shape_plans.insert(key, shape);
                Some((exact, Vec::new()))
            }
        }
    }
}
