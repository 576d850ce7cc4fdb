//! GROUP BY keys, with `ROLLUP`, `CUBE` and `GROUPING SETS`: the keys of every element, and
//! (when one of those is used) the grouping sets as which keys each set groups by. A plain key
//! is in every set; the sets are the cross product of the elements' alternatives, as
//! PostgreSQL expands them. `GROUPING(a, ...)` is bound as an aggregate whose arguments must
//! be GROUP BY keys (42803 otherwise).

use sqlparser::ast::{Expr, Value as AstValue};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope, ident_name};
use crate::sql::plan::{AggCall, AggFunc, BExpr};
use crate::sql::types::SqlType;

/// Checks that every `GROUPING(...)` argument is a GROUP BY key, as PostgreSQL requires.
pub(super) fn check_grouping_calls(aggs: &[AggCall], keys: &[BExpr]) -> Result<(), SqlError> {
    for call in aggs.iter().filter(|c| c.func == AggFunc::Grouping) {
        if call.args.iter().any(|a| !keys.contains(a)) {
            return Err(SqlError::new(
                SqlState::GroupingError,
                "arguments to GROUPING must be grouping expressions of the associated query level",
            ));
        }
    }
    Ok(())
}

impl Binder<'_> {
    /// The GROUP BY keys and, with grouping sets, per set which keys it groups by (empty:
    /// plain grouping by every key).
    pub(super) fn group_by_keys(
        &mut self,
        exprs: &[Expr],
        scope: &Scope,
        projection: &[BExpr],
        columns: &[(String, SqlType)],
    ) -> Result<(Vec<BExpr>, Vec<Vec<bool>>), SqlError> {
        let mut keys = Vec::new();
        let mut elements: Vec<Vec<Vec<usize>>> = Vec::new();
        let mut any_sets = false;
        for e in exprs {
            match e {
                Expr::Rollup(lists) | Expr::Cube(lists) | Expr::GroupingSets(lists) => {
                    any_sets = true;
                    let mut units: Vec<Vec<usize>> = Vec::new();
                    for list in lists {
                        let mut unit = Vec::new();
                        for x in list {
                            keys.push(self.group_key(x, scope, projection, columns)?);
                            unit.push(keys.len() - 1);
                        }
                        units.push(unit);
                    }
                    let alternatives: Vec<Vec<usize>> = match e {
                        Expr::Rollup(_) => {
                            (0..=units.len()).rev().map(|n| units[..n].concat()).collect()
                        }
                        Expr::Cube(_) => {
                            if units.len() > 12 {
                                return Err(SqlError::new(
                                    SqlState::StatementTooComplex,
                                    "CUBE is limited to 12 elements",
                                ));
                            }
                            (0..1usize << units.len())
                                .rev()
                                .map(|mask| {
                                    units
                                        .iter()
                                        .enumerate()
                                        .filter(|(i, _)| mask & (1 << i) != 0)
                                        .flat_map(|(_, u)| u.iter().copied())
                                        .collect()
                                })
                                .collect()
                        }
                        _ => units,
                    };
                    elements.push(alternatives);
                }
                e => {
                    keys.push(self.group_key(e, scope, projection, columns)?);
                    elements.push(vec![vec![keys.len() - 1]]);
                }
            }
        }
        if !any_sets {
            return Ok((keys, vec![]));
        }
        let mut sets: Vec<Vec<usize>> = vec![vec![]];
        for alternatives in elements {
            sets = sets
                .iter()
                .flat_map(|s| alternatives.iter().map(move |a| [s.clone(), a.clone()].concat()))
                .collect();
            if sets.len() > 4096 {
                return Err(SqlError::new(SqlState::StatementTooComplex, "too many grouping sets"));
            }
        }
        let flags =
            sets.into_iter().map(|s| (0..keys.len()).map(|k| s.contains(&k)).collect()).collect();
        Ok((keys, flags))
    }

    /// One GROUP BY key: a select-list position, an output column name not naming an input
    /// column, or an input expression.
    fn group_key(
        &mut self,
        e: &Expr,
        scope: &Scope,
        projection: &[BExpr],
        columns: &[(String, SqlType)],
    ) -> Result<BExpr, SqlError> {
        Ok(match e {
            Expr::Value(v) if matches!(v.value, AstValue::Number(..)) => {
                let n: usize = v.value.to_string().parse().unwrap_or(0);
                projection.get(n.wrapping_sub(1)).cloned().ok_or_else(|| {
                    SqlError::new(
                        SqlState::InvalidColumnReference,
                        format!("GROUP BY position {n} is not in select list"),
                    )
                })?
            }
            Expr::Identifier(id) if !scope.cols.iter().any(|c| c.name == ident_name(id)) => {
                let n = ident_name(id);
                let i = columns
                    .iter()
                    .position(|(c, _)| *c == n)
                    .ok_or_else(|| SqlError::undefined_column(&n))?;
                projection[i].clone()
            }
            e => self.expr(e, scope, None)?,
        })
    }
}
