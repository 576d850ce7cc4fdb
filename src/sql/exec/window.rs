//! The window stage: after grouping and HAVING, each window call's value is computed for
//! every row and appended to it (in call order), before the final ORDER BY and projection.
//!
//! Per call, the rows are sorted by PARTITION BY then the window's ORDER BY (stably, so rows
//! equal in both keep their input order); a partition is a run of rows equal in the
//! partition keys, peers are rows equal in the ORDER BY keys too. The frame of a row is a
//! range of its partition's positions: ROWS bounds count rows, RANGE bounds (UNBOUNDED or
//! CURRENT ROW) take whole peer groups. Invariant: the stage never reorders or drops rows;
//! it only widens them.

use std::cmp::Ordering;

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::exec::eval::{AggState, compare};
use crate::sql::exec::{ExecCtx, ExecError, sort_rows};
use crate::sql::plan::{AggCall, Frame, FrameBound, SortKey, WindowCall, WindowFunc};
use crate::types::{Row, Value};

/// One partition, as positions into the stage's rows, in window order, with each
/// position's peer group `[peer_start, peer_end)`.
struct Partition {
    rows: Vec<usize>,
    peer_start: Vec<usize>,
    peer_end: Vec<usize>,
}

impl ExecCtx<'_> {
    /// Appends each window call's value to every row.
    pub(super) fn window_stage(
        &mut self,
        mut rows: Vec<Row>,
        calls: &[WindowCall],
    ) -> Result<Vec<Row>, ExecError> {
        let mut values: Vec<Vec<Value>> = vec![Vec::with_capacity(calls.len()); rows.len()];
        for call in calls {
            let column = self.window_column(&rows, call)?;
            for (v, out) in column.into_iter().zip(values.iter_mut()) {
                out.push(v);
            }
        }
        for (r, v) in rows.iter_mut().zip(values) {
            r.extend(v);
        }
        Ok(rows)
    }

    /// One window call's value for every row (in the rows' order).
    fn window_column(&mut self, rows: &[Row], call: &WindowCall) -> Result<Vec<Value>, ExecError> {
        let nparts = call.partition_by.len();
        let mut keys: Vec<SortKey> = call
            .partition_by
            .iter()
            .map(|e| SortKey { expr: e.clone(), desc: false, nulls_first: false })
            .collect();
        keys.extend(call.order_by.iter().cloned());
        let mut keyed: Vec<(Vec<Value>, usize)> = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            self.tick()?;
            let mut k = Vec::with_capacity(keys.len());
            for key in &keys {
                k.push(key.expr.eval(r, self)?);
            }
            keyed.push((k, i));
        }
        sort_rows(&mut keyed, &keys);
        let (offset_start, offset_end) = self.frame_offsets(&call.frame)?;
        let mut out = vec![Value::Null; rows.len()];
        let mut start = 0;
        while start < keyed.len() {
            let mut end = start + 1;
            while end < keyed.len()
                && same_keys(&keyed[start].0[..nparts], &keyed[end].0[..nparts], &keys[..nparts])
            {
                end += 1;
            }
            let run = &keyed[start..end];
            let m = run.len();
            let mut peer_start = vec![0; m];
            let mut peer_end = vec![0; m];
            let mut g = 0;
            while g < m {
                let mut h = g + 1;
                while h < m && same_keys(&run[g].0[nparts..], &run[h].0[nparts..], &keys[nparts..])
                {
                    h += 1;
                }
                for j in g..h {
                    peer_start[j] = g;
                    peer_end[j] = h;
                }
                g = h;
            }
            let part =
                Partition { rows: run.iter().map(|(_, i)| *i).collect(), peer_start, peer_end };
            let frames: Vec<(usize, usize)> = (0..m)
                .map(|j| frame_range(&call.frame, j, m, &part, offset_start, offset_end))
                .collect();
            let vals = self.window_partition(rows, &part, &frames, call)?;
            for (j, v) in vals.into_iter().enumerate() {
                out[part.rows[j]] = v;
            }
            start = end;
        }
        Ok(out)
    }

    /// The frame's offsets (`n PRECEDING` / `n FOLLOWING`), evaluated once: 22004 for NULL,
    /// 22013 below zero, as PostgreSQL answers.
    fn frame_offsets(&mut self, frame: &Frame) -> Result<(usize, usize), ExecError> {
        let mut offset = |b: &FrameBound, what: &str| -> Result<usize, ExecError> {
            let (FrameBound::Preceding(e) | FrameBound::Following(e)) = b else { return Ok(0) };
            match e.eval(&[], self)?.as_int() {
                None => Err(SqlError::new(
                    SqlState::NullValueNotAllowed,
                    format!("frame {what} offset must not be null"),
                )
                .into()),
                Some(n) if n < 0 => Err(SqlError::new(
                    SqlState::InvalidPrecedingOrFollowingSize,
                    format!("frame {what} offset must not be negative"),
                )
                .into()),
                Some(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            }
        };
        Ok((offset(&frame.start, "starting")?, offset(&frame.end, "ending")?))
    }

    /// The call's values over one partition, by position.
    fn window_partition(
        &mut self,
        rows: &[Row],
        part: &Partition,
        frames: &[(usize, usize)],
        call: &WindowCall,
    ) -> Result<Vec<Value>, ExecError> {
        let m = part.rows.len();
        let row = |j: usize| &rows[part.rows[j]];
        let mut out = Vec::with_capacity(m);
        match &call.func {
            WindowFunc::RowNumber => out.extend((1..=m).map(|j| Value::Int(j as i64))),
            WindowFunc::Rank => {
                out.extend(part.peer_start.iter().map(|s| Value::Int(*s as i64 + 1)));
            }
            WindowFunc::DenseRank => {
                let mut rank = 0;
                for j in 0..m {
                    if part.peer_start[j] == j {
                        rank += 1;
                    }
                    out.push(Value::Int(rank));
                }
            }
            WindowFunc::PercentRank => out.extend(
                part.peer_start
                    .iter()
                    .map(|s| Value::Float(if m > 1 { *s as f64 / (m - 1) as f64 } else { 0.0 })),
            ),
            WindowFunc::CumeDist => {
                out.extend(part.peer_end.iter().map(|e| Value::Float(*e as f64 / m as f64)));
            }
            WindowFunc::Ntile => {
                let buckets = call.args[0].eval(row(0), self)?.as_int();
                let Some(buckets) = buckets else {
                    return Ok(vec![Value::Null; m]);
                };
                if buckets <= 0 {
                    return Err(SqlError::new(
                        SqlState::InvalidArgumentForNtile,
                        "argument of ntile must be greater than zero",
                    )
                    .into());
                }
                let buckets = usize::try_from(buckets).unwrap_or(usize::MAX);
                let per = m / buckets;
                let extra = m % buckets;
                let mut bucket = 1;
                let mut left_in_bucket = per + usize::from(extra > 0);
                for _ in 0..m {
                    if left_in_bucket == 0 {
                        bucket += 1;
                        left_in_bucket = per + usize::from(bucket <= extra);
                    }
                    out.push(Value::Int(bucket as i64));
                    left_in_bucket -= 1;
                }
            }
            WindowFunc::Lag | WindowFunc::Lead => {
                for j in 0..m {
                    let offset = match call.args.get(1) {
                        Some(e) => e.eval(row(j), self)?.as_int(),
                        None => Some(1),
                    };
                    let Some(offset) = offset else {
                        out.push(Value::Null);
                        continue;
                    };
                    let target = if call.func == WindowFunc::Lag {
                        j as i64 - offset
                    } else {
                        j as i64 + offset
                    };
                    let v = if (0..m as i64).contains(&target) {
                        call.args[0].eval(row(target as usize), self)?
                    } else {
                        match call.args.get(2) {
                            Some(d) => d.eval(row(j), self)?,
                            None => Value::Null,
                        }
                    };
                    out.push(v);
                }
            }
            WindowFunc::FirstValue | WindowFunc::LastValue | WindowFunc::NthValue => {
                for (j, &(s, e)) in frames.iter().enumerate() {
                    let at = match call.func {
                        WindowFunc::FirstValue => (s < e).then_some(s),
                        WindowFunc::LastValue => (s < e).then(|| e - 1),
                        _ => match call.args[1].eval(row(j), self)?.as_int() {
                            None => None,
                            Some(n) if n <= 0 => {
                                return Err(SqlError::new(
                                    SqlState::InvalidArgumentForNthValue,
                                    "argument of nth_value must be greater than zero",
                                )
                                .into());
                            }
                            Some(n) => {
                                let at = s.saturating_add(usize::try_from(n - 1).unwrap_or(0));
                                (at < e).then_some(at)
                            }
                        },
                    };
                    out.push(match at {
                        Some(at) => call.args[0].eval(row(at), self)?,
                        None => Value::Null,
                    });
                }
            }
            WindowFunc::Agg(agg) => {
                let mut inputs: Vec<Option<Vec<Value>>> = Vec::with_capacity(m);
                for j in 0..m {
                    self.tick()?;
                    let r = row(j);
                    if let Some(f) = &agg.filter
                        && !f.holds(r, self)?
                    {
                        inputs.push(None);
                        continue;
                    }
                    let mut args = Vec::with_capacity(agg.args.len());
                    for a in &agg.args {
                        args.push(a.eval(r, self)?);
                    }
                    inputs.push(Some(args));
                }
                out = aggregate_frames(agg, &inputs, frames)?;
            }
        }
        Ok(out)
    }
}

/// An aggregate over each position's frame; frames that all start at the partition's start
/// are aggregated incrementally (their ends never decrease).
fn aggregate_frames(
    agg: &AggCall,
    inputs: &[Option<Vec<Value>>],
    frames: &[(usize, usize)],
) -> Result<Vec<Value>, SqlError> {
    let mut out = Vec::with_capacity(frames.len());
    let incremental =
        frames.iter().all(|(s, _)| *s == 0) && frames.windows(2).all(|w| w[0].1 <= w[1].1);
    let mut running = AggState::new(agg);
    let mut added = 0;
    let mut last: Option<((usize, usize), Value)> = None;
    for &(s, e) in frames {
        if let Some((range, v)) = &last
            && *range == (s, e)
        {
            out.push(v.clone());
            continue;
        }
        let value = if incremental {
            while added < e {
                if let Some(args) = &inputs[added] {
                    running.add(agg, args)?;
                }
                added += 1;
            }
            running.clone().finish(agg)?
        } else {
            let mut state = AggState::new(agg);
            for args in inputs[s..e.max(s)].iter().flatten() {
                state.add(agg, args)?;
            }
            state.finish(agg)?
        };
        last = Some(((s, e), value.clone()));
        out.push(value);
    }
    Ok(out)
}

/// Position `j`'s frame `[start, end)` in a partition of `m` rows.
fn frame_range(
    frame: &Frame,
    j: usize,
    m: usize,
    part: &Partition,
    offset_start: usize,
    offset_end: usize,
) -> (usize, usize) {
    let start = match frame.start {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::Preceding(_) => j.saturating_sub(offset_start),
        FrameBound::CurrentRow if frame.rows => j,
        FrameBound::CurrentRow => part.peer_start[j],
        FrameBound::Following(_) => j.saturating_add(offset_start).min(m),
        FrameBound::UnboundedFollowing => m,
    };
    let end = match frame.end {
        FrameBound::UnboundedPreceding => 0,
        FrameBound::Preceding(_) => (j + 1).saturating_sub(offset_end),
        FrameBound::CurrentRow if frame.rows => j + 1,
        FrameBound::CurrentRow => part.peer_end[j],
        FrameBound::Following(_) => j.saturating_add(offset_end).saturating_add(1).min(m),
        FrameBound::UnboundedFollowing => m,
    };
    (start, end.max(start))
}

/// Whether two rows' keys are equal (NULLs equal to each other, as grouping has them).
fn same_keys(a: &[Value], b: &[Value], keys: &[SortKey]) -> bool {
    a.iter().zip(b).zip(keys).all(|((x, y), k)| match (x, y) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => compare(x, y, k.expr.ty()).ok().flatten() == Some(Ordering::Equal),
    })
}
