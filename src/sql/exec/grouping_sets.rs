//! ROLLUP / CUBE / GROUPING SETS at run time: the rows grouped once per grouping set, the keys
//! a set does not group by NULL in its rows; a set grouping by no key answers one row even
//! over no input, as a plain aggregate does.

use crate::sql::exec::{ExecCtx, ExecError};
use crate::sql::plan::{AggFunc, BExpr, Grouping};
use crate::types::{Row, Value};

impl ExecCtx<'_> {
    pub(super) fn group_sets(
        &mut self,
        rows: Vec<Row>,
        g: &Grouping,
    ) -> Result<Vec<Row>, ExecError> {
        let mut out = Vec::new();
        for set in &g.sets {
            let before = out.len();
            if set.iter().all(|active| !active) {
                let plain = Grouping { keys: vec![], aggs: g.aggs.clone(), sets: vec![] };
                for r in self.group(rows.clone(), &plain)? {
                    let mut row = vec![Value::Null; g.keys.len()];
                    row.extend(r);
                    out.push(row);
                }
            } else {
                let keys = g
                    .keys
                    .iter()
                    .zip(set)
                    .map(
                        |(k, active)| {
                            if *active { k.clone() } else { BExpr::Const(Value::Null, k.ty()) }
                        },
                    )
                    .collect();
                let masked = Grouping { keys, aggs: g.aggs.clone(), sets: vec![] };
                out.extend(self.group(rows.clone(), &masked)?);
            }
            // GROUPING(...): this set's bits, in the rows it made
            let made = out.len() - before;
            for (j, call) in g.aggs.iter().enumerate() {
                if call.func != AggFunc::Grouping {
                    continue;
                }
                let bits = call.args.iter().fold(0i64, |acc, arg| {
                    let grouped = g.keys.iter().zip(set).any(|(k, active)| *active && k == arg);
                    (acc << 1) | i64::from(!grouped)
                });
                let at = g.keys.len() + j;
                let from = out.len() - made;
                for row in &mut out[from..] {
                    row[at] = Value::Int(bits);
                }
            }
        }
        Ok(out)
    }
}
