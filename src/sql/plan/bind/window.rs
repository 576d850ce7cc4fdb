//! Window functions: `f(...) OVER (PARTITION BY ... ORDER BY ... frame)` and named windows.
//!
//! A window call in the select list or ORDER BY is bound into a [`WindowCall`] of the select
//! and stands in the expression as [`BExpr::WindowRef`]; once grouping has placed the other
//! columns, [`place_window_refs`] turns each reference into the column the executor's window
//! stage appends to the row (after the FROM row, or after the grouped row's keys and
//! aggregates). Window calls elsewhere (WHERE, GROUP BY, HAVING, inside another window
//! call's arguments) are PostgreSQL's 42P20.
//!
//! Frames: ROWS with UNBOUNDED / n PRECEDING / CURRENT ROW / n FOLLOWING bounds; RANGE only
//! with UNBOUNDED or CURRENT ROW bounds (the current row's peers included); GROUPS, RANGE
//! with an offset and EXCLUDE are refused (0A000).

use sqlparser::ast::{self, Expr};

use crate::error::SqlState;
use crate::sql::error::SqlError;
use crate::sql::plan::bind::{Binder, Scope, ident_name, sort_key};
use crate::sql::plan::{AggCall, AggFunc, BExpr, Frame, FrameBound, WindowCall, WindowFunc};
use crate::sql::types::SqlType;

fn windowing_error(msg: impl Into<String>) -> SqlError {
    SqlError::new(SqlState::WindowingError, msg.into())
}

impl Binder<'_> {
    /// Binds `name(args) OVER window` as a window call of the select being bound.
    pub(super) fn window_function(
        &mut self,
        f: &ast::Function,
        name: &str,
        arg_exprs: &[Expr],
        star: bool,
        distinct: bool,
        scope: &Scope,
    ) -> Result<BExpr, SqlError> {
        let Some(over) = &f.over else {
            return Err(SqlError::new(SqlState::InternalError, "window function without OVER"));
        };
        let Some(windows) = self.windows.take() else {
            return Err(windowing_error("window functions are not allowed here"));
        };
        let bound = self.window_call(f, name, arg_exprs, star, distinct, over, scope);
        let mut windows = windows;
        let result = bound.map(|call| {
            let ty = call.ty;
            windows.push(call);
            BExpr::WindowRef(windows.len() - 1, ty)
        });
        self.windows = Some(windows);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn window_call(
        &mut self,
        f: &ast::Function,
        name: &str,
        arg_exprs: &[Expr],
        star: bool,
        distinct: bool,
        over: &ast::WindowType,
        scope: &Scope,
    ) -> Result<WindowCall, SqlError> {
        let spec = self.window_spec(over)?;
        if distinct {
            return Err(SqlError::unsupported("DISTINCT for window functions"));
        }
        let mut args = Vec::with_capacity(arg_exprs.len());
        for a in arg_exprs {
            args.push(self.expr(a, scope, None)?);
        }
        let signature = args.iter().map(|a| a.ty().name()).collect::<Vec<_>>().join(", ");
        let wrong_args = || {
            SqlError::new(
                SqlState::UndefinedFunction,
                format!("function {name}({signature}) does not exist"),
            )
        };
        let (func, ty) = match (name, args.len()) {
            ("row_number", 0) => (WindowFunc::RowNumber, SqlType::Int8),
            ("rank", 0) => (WindowFunc::Rank, SqlType::Int8),
            ("dense_rank", 0) => (WindowFunc::DenseRank, SqlType::Int8),
            ("percent_rank", 0) => (WindowFunc::PercentRank, SqlType::Float8),
            ("cume_dist", 0) => (WindowFunc::CumeDist, SqlType::Float8),
            ("ntile", 1) => {
                args[0] = self.coerce(args[0].clone(), SqlType::Int4)?;
                (WindowFunc::Ntile, SqlType::Int4)
            }
            ("lag" | "lead", 1..=3) => {
                let mut ty = args[0].ty();
                if let Some(d) = args.get(2) {
                    ty = SqlType::unify(ty, d.ty());
                }
                let ty = if ty == SqlType::Unknown { SqlType::Text } else { ty };
                args[0] = self.coerce(args[0].clone(), ty)?;
                if args.len() > 1 {
                    args[1] = self.coerce(args[1].clone(), SqlType::Int4)?;
                }
                if args.len() > 2 {
                    args[2] = self.coerce(args[2].clone(), ty)?;
                }
                let func = if name == "lag" { WindowFunc::Lag } else { WindowFunc::Lead };
                (func, ty)
            }
            ("first_value", 1) => (WindowFunc::FirstValue, output(args[0].ty())),
            ("last_value", 1) => (WindowFunc::LastValue, output(args[0].ty())),
            ("nth_value", 2) => {
                args[1] = self.coerce(args[1].clone(), SqlType::Int4)?;
                (WindowFunc::NthValue, output(args[0].ty()))
            }
            _ => match aggregate(name, star || (name == "count" && args.is_empty())) {
                Some(agg) => {
                    let ty = aggregate_type(agg, args.first().map(|a| a.ty()), name)?;
                    let filter = match &f.filter {
                        Some(cond) => Some(self.aggregate_filter(cond, scope)?),
                        None => None,
                    };
                    let call = AggCall {
                        func: agg,
                        args: std::mem::take(&mut args),
                        distinct: false,
                        ty,
                        order_by: vec![],
                        filter,
                    };
                    (WindowFunc::Agg(call), ty)
                }
                None => return Err(wrong_args()),
            },
        };
        if f.filter.is_some() && !matches!(func, WindowFunc::Agg(_)) {
            return Err(SqlError::unsupported("FILTER for non-aggregate window functions"));
        }
        let mut partition_by = Vec::new();
        for e in &spec.partition_by {
            partition_by.push(self.expr(e, scope, None)?);
        }
        let mut order_by = Vec::new();
        for o in &spec.order_by {
            order_by.push(sort_key(self.expr(&o.expr, scope, None)?, &o.options));
        }
        let frame = self.frame(spec.window_frame.as_ref())?;
        Ok(WindowCall { func, args, partition_by, order_by, frame, ty })
    }

    /// The window an OVER clause names or spells (a named window refined by ORDER BY and a
    /// frame, as PostgreSQL allows).
    fn window_spec(&self, over: &ast::WindowType) -> Result<ast::WindowSpec, SqlError> {
        let named = |name: &ast::Ident| -> Result<ast::WindowSpec, SqlError> {
            let n = ident_name(name);
            self.named_windows
                .iter()
                .rev()
                .find(|(w, _)| *w == n)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| {
                    SqlError::new(
                        SqlState::UndefinedObject,
                        format!("window \"{n}\" does not exist"),
                    )
                })
        };
        match over {
            ast::WindowType::NamedWindow(name) => named(name),
            ast::WindowType::WindowSpec(spec) => match &spec.window_name {
                None => Ok(spec.clone()),
                Some(name) => {
                    let base = named(name)?;
                    if !spec.partition_by.is_empty() {
                        return Err(windowing_error(format!(
                            "cannot override PARTITION BY clause of window \"{}\"",
                            ident_name(name)
                        )));
                    }
                    if !spec.order_by.is_empty() && !base.order_by.is_empty() {
                        return Err(windowing_error(format!(
                            "cannot override ORDER BY clause of window \"{}\"",
                            ident_name(name)
                        )));
                    }
                    if base.window_frame.is_some() {
                        return Err(windowing_error(format!(
                            "cannot copy window \"{}\" because it has a frame clause",
                            ident_name(name)
                        )));
                    }
                    Ok(ast::WindowSpec {
                        window_name: None,
                        partition_by: base.partition_by,
                        order_by: if spec.order_by.is_empty() {
                            base.order_by
                        } else {
                            spec.order_by.clone()
                        },
                        window_frame: spec.window_frame.clone(),
                    })
                }
            },
        }
    }

    /// The frame clause, or the default (RANGE UNBOUNDED PRECEDING to CURRENT ROW: with no
    /// ORDER BY every row is a peer, so the whole partition).
    fn frame(&mut self, frame: Option<&ast::WindowFrame>) -> Result<Frame, SqlError> {
        let Some(frame) = frame else {
            return Ok(Frame {
                rows: false,
                start: FrameBound::UnboundedPreceding,
                end: FrameBound::CurrentRow,
            });
        };
        let rows = match frame.units {
            ast::WindowFrameUnits::Rows => true,
            ast::WindowFrameUnits::Range => false,
            ast::WindowFrameUnits::Groups => {
                return Err(SqlError::unsupported("GROUPS window frames"));
            }
        };
        let start = self.frame_bound(&frame.start_bound, rows)?;
        let end = match &frame.end_bound {
            Some(b) => self.frame_bound(b, rows)?,
            None => FrameBound::CurrentRow,
        };
        match (&start, &end) {
            (FrameBound::UnboundedFollowing, _) => {
                return Err(windowing_error("frame start cannot be UNBOUNDED FOLLOWING"));
            }
            (_, FrameBound::UnboundedPreceding) => {
                return Err(windowing_error("frame end cannot be UNBOUNDED PRECEDING"));
            }
            (FrameBound::CurrentRow, FrameBound::Preceding(_)) => {
                return Err(windowing_error(
                    "frame starting from current row cannot have preceding rows",
                ));
            }
            (FrameBound::Following(_), FrameBound::Preceding(_) | FrameBound::CurrentRow) => {
                return Err(windowing_error(
                    "frame starting from following row cannot have preceding rows",
                ));
            }
            _ => {}
        }
        Ok(Frame { rows, start, end })
    }

    fn frame_bound(
        &mut self,
        b: &ast::WindowFrameBound,
        rows: bool,
    ) -> Result<FrameBound, SqlError> {
        let offset = |binder: &mut Self, e: &Expr| -> Result<BExpr, SqlError> {
            if !rows {
                return Err(SqlError::unsupported("RANGE window frames with an offset"));
            }
            let bound = binder.expr(e, &Scope::default(), Some(SqlType::Int8))?;
            binder.coerce(bound, SqlType::Int8)
        };
        Ok(match b {
            ast::WindowFrameBound::CurrentRow => FrameBound::CurrentRow,
            ast::WindowFrameBound::Preceding(None) => FrameBound::UnboundedPreceding,
            ast::WindowFrameBound::Following(None) => FrameBound::UnboundedFollowing,
            ast::WindowFrameBound::Preceding(Some(e)) => FrameBound::Preceding(offset(self, e)?),
            ast::WindowFrameBound::Following(Some(e)) => FrameBound::Following(offset(self, e)?),
        })
    }
}

fn output(t: SqlType) -> SqlType {
    if t == SqlType::Unknown { SqlType::Text } else { t }
}

fn aggregate(name: &str, star: bool) -> Option<AggFunc> {
    Some(match name {
        "count" if star => AggFunc::CountStar,
        "count" => AggFunc::Count,
        "sum" => AggFunc::Sum,
        "avg" => AggFunc::Avg,
        "min" => AggFunc::Min,
        "max" => AggFunc::Max,
        "bool_and" | "every" => AggFunc::BoolAnd,
        "bool_or" => AggFunc::BoolOr,
        "string_agg" => AggFunc::StringAgg,
        "array_agg" => AggFunc::ArrayAgg,
        "jsonb_agg" => AggFunc::JsonbAgg,
        _ => return None,
    })
}

/// An aggregate's result type over its first argument's type (as the grouped aggregates').
fn aggregate_type(func: AggFunc, arg: Option<SqlType>, name: &str) -> Result<SqlType, SqlError> {
    let arg = arg.unwrap_or(SqlType::Int8);
    let missing = || {
        SqlError::new(
            SqlState::UndefinedFunction,
            format!("function {name}({}) does not exist", arg.name()),
        )
    };
    Ok(match func {
        AggFunc::CountStar | AggFunc::Count => SqlType::Int8,
        AggFunc::Sum => match arg {
            SqlType::Int2 | SqlType::Int4 => SqlType::Int8,
            SqlType::Int8 | SqlType::Numeric(_) => SqlType::Numeric(None),
            SqlType::Float4 | SqlType::Float8 => SqlType::Float8,
            _ => return Err(missing()),
        },
        AggFunc::Avg => match arg {
            SqlType::Float4 | SqlType::Float8 => SqlType::Float8,
            t if t.is_numeric() => SqlType::Numeric(None),
            _ => return Err(missing()),
        },
        AggFunc::Min | AggFunc::Max => arg,
        AggFunc::BoolAnd | AggFunc::BoolOr => SqlType::Bool,
        AggFunc::StringAgg => SqlType::Text,
        AggFunc::ArrayAgg => crate::sql::types::array_of(arg),
        AggFunc::JsonbAgg => SqlType::Jsonb,
        AggFunc::Grouping => return Err(missing()),
    })
}

/// Rewrites window references into the columns the window stage appends at `base`.
pub(super) fn place_window_refs(e: BExpr, base: usize) -> BExpr {
    let place = |b: Box<BExpr>| Box::new(place_window_refs(*b, base));
    let place_all = |v: Vec<BExpr>| v.into_iter().map(|a| place_window_refs(a, base)).collect();
    match e {
        BExpr::WindowRef(i, ty) => BExpr::Column { level: 0, index: base + i, ty },
        BExpr::Neg(a, t) => BExpr::Neg(place(a), t),
        BExpr::Binary { op, left, right, operand_ty, ty } => {
            BExpr::Binary { op, left: place(left), right: place(right), operand_ty, ty }
        }
        BExpr::And(a, b) => BExpr::And(place(a), place(b)),
        BExpr::Or(a, b) => BExpr::Or(place(a), place(b)),
        BExpr::Not(a) => BExpr::Not(place(a)),
        BExpr::IsNull { expr, negated } => BExpr::IsNull { expr: place(expr), negated },
        BExpr::IsBool { expr, value, negated } => {
            BExpr::IsBool { expr: place(expr), value, negated }
        }
        BExpr::IsDistinct { left, right, operand_ty, negated } => {
            BExpr::IsDistinct { left: place(left), right: place(right), operand_ty, negated }
        }
        BExpr::Cast { expr, to, explicit } => BExpr::Cast { expr: place(expr), to, explicit },
        BExpr::Func { func, args, ty } => BExpr::Func { func, args: place_all(args), ty },
        BExpr::Case { operand, whens, otherwise, ty } => BExpr::Case {
            operand: operand.map(place),
            whens: whens
                .into_iter()
                .map(|(w, t)| (place_window_refs(w, base), place_window_refs(t, base)))
                .collect(),
            otherwise: otherwise.map(place),
            ty,
        },
        BExpr::InList { expr, list, operand_ty, negated } => {
            BExpr::InList { expr: place(expr), list: place_all(list), operand_ty, negated }
        }
        BExpr::Like { expr, pattern, negated, case_insensitive } => {
            BExpr::Like { expr: place(expr), pattern: place(pattern), negated, case_insensitive }
        }
        BExpr::InSubquery { exprs, plan, operand_tys, op, all } => {
            BExpr::InSubquery { exprs: place_all(exprs), plan, operand_tys, op, all }
        }
        BExpr::RowSubquery { exprs, plan, operand_tys, op } => {
            BExpr::RowSubquery { exprs: place_all(exprs), plan, operand_tys, op }
        }
        other => other,
    }
}

/// Whether a window reference was left where [`place_window_refs`] does not reach.
pub(super) fn has_window_ref(e: &BExpr) -> bool {
    let mut found = false;
    e.visit(&mut |n| found |= matches!(n, BExpr::WindowRef(..)));
    found
}

/// A window call's expressions placed over the grouped row (see `place_grouped`).
pub(super) fn place_window_call(
    w: WindowCall,
    keys: &[BExpr],
    nkeys: usize,
) -> Result<WindowCall, SqlError> {
    let place = |e: BExpr| super::place_grouped(e, keys, nkeys);
    let place_all = |v: Vec<BExpr>| v.into_iter().map(place).collect::<Result<Vec<_>, _>>();
    let func = match w.func {
        WindowFunc::Agg(call) => WindowFunc::Agg(AggCall {
            args: place_all(call.args)?,
            filter: call.filter.map(place).transpose()?,
            ..call
        }),
        other => other,
    };
    let bound = |b: FrameBound| -> Result<FrameBound, SqlError> {
        Ok(match b {
            FrameBound::Preceding(e) => FrameBound::Preceding(place(e)?),
            FrameBound::Following(e) => FrameBound::Following(place(e)?),
            other => other,
        })
    };
    Ok(WindowCall {
        func,
        args: place_all(w.args)?,
        partition_by: place_all(w.partition_by)?,
        order_by: w
            .order_by
            .into_iter()
            .map(|k| Ok(crate::sql::plan::SortKey { expr: place(k.expr)?, ..k }))
            .collect::<Result<Vec<_>, SqlError>>()?,
        frame: Frame { start: bound(w.frame.start)?, end: bound(w.frame.end)?, ..w.frame },
        ty: w.ty,
    })
}

/// The select's `WINDOW name AS (...)` definitions (a definition naming an earlier one
/// takes its clauses).
pub(super) fn named_windows(s: &ast::Select) -> Vec<(String, ast::WindowSpec)> {
    let mut out: Vec<(String, ast::WindowSpec)> = Vec::new();
    for ast::NamedWindowDefinition(name, expr) in &s.named_window {
        let spec = match expr {
            ast::NamedWindowExpr::WindowSpec(spec) => match &spec.window_name {
                Some(base) => {
                    let base_name = ident_name(base);
                    match out.iter().find(|(n, _)| *n == base_name) {
                        Some((_, b)) => ast::WindowSpec {
                            window_name: None,
                            partition_by: b.partition_by.clone(),
                            order_by: if spec.order_by.is_empty() {
                                b.order_by.clone()
                            } else {
                                spec.order_by.clone()
                            },
                            window_frame: spec.window_frame.clone(),
                        },
                        None => spec.clone(),
                    }
                }
                None => spec.clone(),
            },
            ast::NamedWindowExpr::NamedWindow(base) => {
                let base_name = ident_name(base);
                match out.iter().find(|(n, _)| *n == base_name) {
                    Some((_, b)) => b.clone(),
                    None => ast::WindowSpec {
                        window_name: Some(base.clone()),
                        partition_by: vec![],
                        order_by: vec![],
                        window_frame: None,
                    },
                }
            }
        };
        out.push((ident_name(name), spec));
    }
    out
}
