//! EXPLAIN: a bound statement rendered as PostgreSQL-shaped plan lines.

use crate::sql::plan::{Access, Bound, Source};

fn describe_access(table: &str, access: &Access) -> String {
    match access {
        Access::Scan => format!("Seq Scan on {table}"),
        Access::PkPoint(_) => {
            format!("Index Scan using {table}_pkey on {table} (primary key lookup)")
        }
        Access::PkRange { .. } => {
            format!("Index Scan using {table}_pkey on {table} (primary key range)")
        }
        Access::Index { name, eq, lower, upper, .. } => {
            let kind = if lower.is_some() || upper.is_some() {
                "range"
            } else if eq.is_empty() {
                "scan"
            } else {
                "lookup"
            };
            format!("Index Scan using {name} on {table} ({kind})")
        }
    }
}

fn explain_source(s: &Source, depth: usize, out: &mut Vec<String>) {
    let pad = "  ".repeat(depth);
    match s {
        Source::Single => out.push(format!("{pad}Result")),
        Source::Table { table, access, .. } => {
            out.push(format!("{pad}{}", describe_access(&table.name, access)))
        }
        Source::System(v) => out.push(format!("{pad}System View {v:?}")),
        Source::Sequence(s) => out.push(format!("{pad}Seq Scan on {}", s.name)),
        Source::Derived(p) => {
            out.push(format!("{pad}Subquery Scan"));
            explain_source(&p.source, depth + 1, out);
        }
        Source::Cte(p) => {
            out.push(format!("{pad}CTE Scan"));
            explain_source(&p.source, depth + 1, out);
        }
        Source::Recursive { anchor, step, .. } => {
            out.push(format!("{pad}Recursive Union"));
            explain_source(&anchor.source, depth + 1, out);
            explain_source(&step.source, depth + 1, out);
        }
        Source::WorkTable(_) => out.push(format!("{pad}WorkTable Scan")),
        Source::Lateral(p) => {
            out.push(format!("{pad}Subquery Scan (lateral)"));
            explain_source(&p.source, depth + 1, out);
        }
        Source::Series(_) => out.push(format!("{pad}Function Scan on generate_series")),
        Source::Unnest(_) => out.push(format!("{pad}Function Scan on unnest")),
        Source::Join { left, right, left_outer, right_outer, .. } => {
            let kind = match (*left_outer, right_outer.is_some()) {
                (true, true) => " Full Join",
                (true, false) => " Left Join",
                (false, true) => " Right Join",
                (false, false) => "",
            };
            out.push(format!("{pad}Nested Loop{kind}"));
            explain_source(left, depth + 1, out);
            explain_source(right, depth + 1, out);
        }
    }
}

pub fn explain(b: &Bound) -> Vec<String> {
    let mut out = Vec::new();
    match b {
        Bound::Select(p) => {
            let mut depth = 0;
            if p.limit.is_some() {
                out.push("Limit".into());
                depth += 1;
            }
            if let Some(l) = &p.locking {
                out.push(format!("{}LockRows ({:?}, {:?})", "  ".repeat(depth), l.mode, l.policy));
                depth += 1;
            }
            if !p.order_by.is_empty() {
                out.push(format!("{}Sort", "  ".repeat(depth)));
                depth += 1;
            }
            if p.grouping.is_some() {
                out.push(format!("{}HashAggregate", "  ".repeat(depth)));
                depth += 1;
            }
            explain_source(&p.source, depth, &mut out);
            if p.filter.is_some() {
                out.push(format!("{}  Filter: WHERE clause", "  ".repeat(depth)));
            }
        }
        Bound::Insert(p) => out.push(format!("Insert on {}", p.table.name)),
        Bound::Modify(p) => {
            out.push(format!(
                "{} on {}",
                if p.assignments.is_some() { "Update" } else { "Delete" },
                p.table.name
            ));
            out.push(format!("  {}", describe_access(&p.table.name, &p.access)));
        }
        _ => out.push("Utility Statement".into()),
    }
    out
}
