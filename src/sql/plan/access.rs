//! Access-path choice: from a WHERE clause's conjuncts, a primary-key point lookup, a
//! primary-key prefix or range, a secondary-index lookup or range, or a full scan.

use crate::sql::plan::{Access, BExpr, BinOp, Source};
use crate::sql::types::SqlType;

/// Whether a key value of type `from` can look up a column of type `col` without changing
/// meaning (same storage and ordering).
fn key_compatible(col: SqlType, from: SqlType) -> bool {
    (col.is_integer() && from.is_integer())
        || (col.is_textual() && from.is_textual() && !matches!(col, SqlType::Char(_)))
        || col == from
        || from == SqlType::Unknown
}

/// Picks the access path of the first table of `source` (at row offset `offset`) from the
/// WHERE clause's conjuncts of the form `column op value`, where value does not read the row.
pub fn choose_access(source: &mut Source, filter: &BExpr, offset: usize) {
    let (table, access) = match source {
        Source::Table { table, access, .. } => (table.clone(), access),
        // (not the nullable left side of a RIGHT or FULL join)
        Source::Join { left, right_outer: None, .. } => {
            return choose_access(left, filter, offset);
        }
        _ => return,
    };
    let width = table.columns.len();
    // (column, op, value) triples
    let mut terms: Vec<(usize, BinOp, BExpr)> = Vec::new();
    for c in filter.clone().conjuncts() {
        if let BExpr::Binary { op, left, right, operand_ty, .. } = c
            && op.is_comparison()
            && op != BinOp::NotEq
        {
            let (col, op, value) = match (*left, *right) {
                (BExpr::Column { level: 0, index, ty }, v)
                    if !v.uses_current_row() && (offset..offset + width).contains(&index) =>
                {
                    ((index - offset, ty), op, v)
                }
                (v, BExpr::Column { level: 0, index, ty })
                    if !v.uses_current_row() && (offset..offset + width).contains(&index) =>
                {
                    ((index - offset, ty), op.flipped(), v)
                }
                _ => continue,
            };
            if !key_compatible(col.1, value.ty()) || !key_compatible(col.1, operand_ty) {
                continue;
            }
            terms.push((col.0, op, value));
        }
    }
    if terms.is_empty() {
        return;
    }
    let eq_of = |col: usize| {
        terms.iter().find(|(c, op, _)| *c == col && *op == BinOp::Eq).map(|t| t.2.clone())
    };
    let bound_of = |col: usize, ops: [BinOp; 2]| {
        terms
            .iter()
            .find(|(c, op, _)| *c == col && ops.contains(op))
            .map(|t| (t.2.clone(), t.1 == ops[1]))
    };
    // (eq prefix, lower, upper) over an ordered column list
    let plan_for = |cols: &[usize]| {
        let mut eq = Vec::new();
        for &c in cols {
            match eq_of(c) {
                Some(v) => eq.push(v),
                None => break,
            }
        }
        let next = cols.get(eq.len()).copied();
        let lower = next.and_then(|c| bound_of(c, [BinOp::Gt, BinOp::GtEq]));
        let upper = next.and_then(|c| bound_of(c, [BinOp::Lt, BinOp::LtEq]));
        (eq, lower, upper)
    };
    let (pk_eq, pk_lo, pk_hi) = plan_for(&table.primary_key);
    if pk_eq.len() == table.primary_key.len() {
        *access = Access::PkPoint(pk_eq);
        return;
    }
    let mut best: Option<(usize, Access)> = None;
    if !pk_eq.is_empty() || pk_lo.is_some() || pk_hi.is_some() {
        let score = pk_eq.len() * 2 + 1;
        best = Some((score, Access::PkRange { eq: pk_eq, lower: pk_lo, upper: pk_hi }));
    }
    for index in &table.indexes {
        let (eq, lower, upper) = plan_for(&index.columns);
        if eq.is_empty() && lower.is_none() && upper.is_none() {
            continue;
        }
        let full_unique = index.unique && eq.len() == index.columns.len();
        let score = eq.len() * 2
            + usize::from(lower.is_some() || upper.is_some())
            + if full_unique { 100 } else { 0 };
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                Access::Index { index: index.id, name: index.name.clone(), eq, lower, upper },
            ));
        }
    }
    if let Some((_, a)) = best {
        *access = a;
    }
}
