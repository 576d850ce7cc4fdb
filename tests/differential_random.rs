//! Random differential testing: small random tables and random queries from a small grammar,
//! run on isola and on PostgreSQL 15 (the oracle), every answer compared as
//! `tests/differential.rs` compares them (rows as text, errors by SQLSTATE).
//!
//! Each round creates three tables `t0`, `t1`, `t2` (`a int, b text, c bool, d date`, 0 to 8 rows,
//! NULLs included) and runs a batch of queries over them: projections with arithmetic,
//! comparisons, CASE, COALESCE, string concatenation, date arithmetic (`d + n`, `d - d`,
//! `d + interval 'n month'`) and `to_char`; WHERE with AND / OR / NOT / IS NULL
//! / IN / `(a, b) [NOT] IN (SELECT ...)`; inner, left, right and full joins, ON, USING
//! (the merged column then named bare too) and NATURAL; GROUP BY with count, sum, min and max; ORDER BY every output
//! column, with or without LIMIT. Only what PostgreSQL answers deterministically is
//! generated: arithmetic (which may overflow or divide by zero) only in the select list, where
//! every row is evaluated, so an error depends on the data, not on the order PostgreSQL's
//! planner evaluates WHERE conditions in; no boolean constants and no comparisons of
//! constants, which PostgreSQL folds (skipping an error beside them); lower-case strings
//! only, so the collation cannot matter. Two failures agree when both are data exceptions
//! (class 22): which failing row is met first depends on the order rows are read in.
//!
//! Seeded: the seed is printed; `DIFFERENTIAL_SEED=n` replays one, `DIFFERENTIAL_CASES=n`
//! sets the number of queries (default 3000, about 15 s in a debug build).

mod common;
#[path = "differential/harness.rs"]
mod harness;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use harness::{Answer, answer, ordered, session};

const TABLES: usize = 3;
const QUERIES_PER_ROUND: usize = 50;

#[derive(Clone, Copy, PartialEq)]
enum Ty {
    Int,
    Text,
    Bool,
    Date,
}

/// A query being generated: the random source and the columns in scope (qualified names).
struct Gen {
    rng: StdRng,
    cols: Vec<(String, Ty)>,
}

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    fn column(&mut self, ty: Ty) -> String {
        let cols: Vec<String> =
            self.cols.iter().filter(|(_, t)| *t == ty).map(|(n, _)| n.clone()).collect();
        self.pick(&cols).clone()
    }

    fn literal(&mut self, ty: Ty) -> String {
        match ty {
            Ty::Int => self.rng.gen_range(-3..=3).to_string(),
            Ty::Text => self.pick(&["'a'", "'b'", "'ab'", "''", "'ba'"]).to_string(),
            Ty::Bool => self.pick(&["true", "false"]).to_string(),
            Ty::Date => self
                .pick(&["date '2024-02-29'", "date '2023-12-31'", "date '2024-01-31'"])
                .to_string(),
        }
    }

    /// An expression of type `ty`; `select_list` allows what may fail depending on the data
    /// (division, overflow), which only the select list evaluates on every row.
    fn expr(&mut self, ty: Ty, depth: u32, select_list: bool) -> String {
        let leaf = depth == 0 || self.rng.gen_bool(0.35);
        if leaf {
            // a boolean constant would let PostgreSQL fold `x OR true` before evaluating
            // `x`, and with it an error `x` raises
            let literal = ty != Ty::Bool && self.rng.gen_bool(0.3);
            return if literal { self.literal(ty) } else { self.column(ty) };
        }
        let d = depth - 1;
        match ty {
            Ty::Int => match self.rng.gen_range(0..8) {
                0 | 1 if select_list => {
                    let op = *self.pick(&["+", "-", "*"]);
                    let (l, r) = (self.column(Ty::Int), self.expr(Ty::Int, d, select_list));
                    format!("({l} {op} {r})")
                }
                2 if select_list => {
                    let op = *self.pick(&["/", "%"]);
                    let (l, r) = (self.expr(Ty::Int, d, true), self.column(Ty::Int));
                    format!("({l} {op} {r})")
                }
                3 if select_list => format!("({} * 2147483647)", self.column(Ty::Int)),
                4 => {
                    let (c, a, b) = (
                        self.expr(Ty::Bool, d, select_list),
                        self.expr(Ty::Int, d, select_list),
                        self.expr(Ty::Int, d, select_list),
                    );
                    format!("CASE WHEN {c} THEN {a} ELSE {b} END")
                }
                5 => format!("COALESCE({}, {})", self.column(Ty::Int), self.literal(Ty::Int)),
                6 => format!("length({})", self.expr(Ty::Text, d, select_list)),
                7 => {
                    format!("({} - {})", self.column(Ty::Date), self.expr(Ty::Date, d, select_list))
                }
                _ => format!("abs({})", self.column(Ty::Int)),
            },
            // a date moved by an integer column may leave the calendar (22008): only where
            // every row is evaluated
            Ty::Date => match self.rng.gen_range(0..3) {
                0 if select_list => {
                    format!("({} + {})", self.column(Ty::Date), self.expr(Ty::Int, d, true))
                }
                1 if select_list => {
                    format!("({} - {})", self.column(Ty::Date), self.column(Ty::Int))
                }
                0 | 1 => format!("({} + {})", self.column(Ty::Date), self.literal(Ty::Int)),
                _ => format!(
                    "(({} + interval '{} month') :: date)",
                    self.column(Ty::Date),
                    self.rng.gen_range(-13..=13)
                ),
            },
            Ty::Text => match self.rng.gen_range(0..5) {
                4 => {
                    let fmt = *self.pick(&["'YYYY-MM-DD'", "'FMDD Mon YYYY Dy'", "'DDD IW Q'"]);
                    format!("to_char({}, {fmt})", self.column(Ty::Date))
                }
                0 | 1 => format!(
                    "({} || {})",
                    self.expr(Ty::Text, d, select_list),
                    self.expr(Ty::Text, d, select_list)
                ),
                2 => format!("COALESCE({}, {})", self.column(Ty::Text), self.literal(Ty::Text)),
                _ => {
                    let (c, a, b) = (
                        self.expr(Ty::Bool, d, select_list),
                        self.expr(Ty::Text, d, select_list),
                        self.expr(Ty::Text, d, select_list),
                    );
                    format!("CASE WHEN {c} THEN {a} ELSE {b} END")
                }
            },
            Ty::Bool => match self.rng.gen_range(0..9) {
                8 => {
                    let not = if self.rng.gen_bool(0.4) { " NOT" } else { "" };
                    let (a, b) = (self.column(Ty::Int), self.column(Ty::Text));
                    let t = self.rng.gen_range(0..TABLES);
                    format!("(({a}, {b}){not} IN (SELECT a, b FROM t{t}))")
                }
                7 => {
                    let op = *self.pick(&["=", "<", ">="]);
                    let (l, r) = (self.column(Ty::Date), self.expr(Ty::Date, d, select_list));
                    format!("({l} {op} {r})")
                }
                // a column on the left: a comparison of constants would be folded
                0 => {
                    let op = *self.pick(&["=", "<>", "<", "<=", ">", ">="]);
                    let (l, r) = (self.column(Ty::Int), self.expr(Ty::Int, d, select_list));
                    format!("({l} {op} {r})")
                }
                1 => {
                    let op = *self.pick(&["=", "<>", "<", ">="]);
                    let (l, r) = (self.column(Ty::Text), self.expr(Ty::Text, d, select_list));
                    format!("({l} {op} {r})")
                }
                2 => {
                    let op = *self.pick(&["AND", "OR"]);
                    let (l, r) =
                        (self.expr(Ty::Bool, d, select_list), self.expr(Ty::Bool, d, select_list));
                    format!("({l} {op} {r})")
                }
                3 => format!("(NOT {})", self.expr(Ty::Bool, d, select_list)),
                4 => {
                    let t = *self.pick(&[Ty::Int, Ty::Text, Ty::Bool, Ty::Date]);
                    let not = if self.rng.gen_bool(0.5) { " NOT" } else { "" };
                    format!("({} IS{not} NULL)", self.column(t))
                }
                5 => {
                    let n = self.rng.gen_range(1..=3);
                    let mut items: Vec<String> = (0..n).map(|_| self.literal(Ty::Int)).collect();
                    if self.rng.gen_bool(0.2) {
                        items.push("NULL".into());
                    }
                    let not = if self.rng.gen_bool(0.3) { " NOT" } else { "" };
                    format!("({}{not} IN ({}))", self.column(Ty::Int), items.join(", "))
                }
                _ => self.column(Ty::Bool),
            },
        }
    }

    /// A random query over `t0`..`t2`.
    fn query(&mut self) -> String {
        let t = self.rng.gen_range(0..TABLES);
        let mut from = format!("t{t} x");
        self.cols = scope("x");
        if self.rng.gen_bool(0.35) {
            let u = self.rng.gen_range(0..TABLES);
            let kind = *self.pick(&["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
            // USING and NATURAL merge columns, which a bare name then reads
            let (natural, on, merged) = match self.rng.gen_range(0..10) {
                0..=4 => ("", "ON x.a = y.a", &[][..]),
                5 => ("", "ON x.b = y.b", &[][..]),
                6 | 7 => ("", "USING (a)", &[("a", Ty::Int)][..]),
                8 => ("", "USING (b, a)", &[("b", Ty::Text), ("a", Ty::Int)][..]),
                _ => (
                    "NATURAL ",
                    "",
                    &[("a", Ty::Int), ("b", Ty::Text), ("c", Ty::Bool), ("d", Ty::Date)][..],
                ),
            };
            from = format!("{from} {natural}{kind} t{u} y {on}");
            self.cols.extend(scope("y"));
            self.cols.extend(merged.iter().map(|(n, t)| (n.to_string(), *t)));
        }
        let filter = if self.rng.gen_bool(0.6) {
            format!(" WHERE {}", self.expr(Ty::Bool, 3, false))
        } else {
            String::new()
        };
        let (select, group) = if self.rng.gen_bool(0.3) {
            let keys: Vec<String> = (0..self.rng.gen_range(1..=2))
                .map(|_| {
                    let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Bool]);
                    self.column(ty)
                })
                .collect();
            let mut items = keys.clone();
            for _ in 0..self.rng.gen_range(1..=3) {
                let agg = match self.rng.gen_range(0..5) {
                    0 => "count(*)".to_string(),
                    1 => format!("count({})", self.column(Ty::Text)),
                    2 => format!("sum({})", self.column(Ty::Int)),
                    3 => format!("min({})", self.expr(Ty::Int, 1, false)),
                    _ => {
                        let ty = *self.pick(&[Ty::Int, Ty::Text]);
                        format!("max({})", self.column(ty))
                    }
                };
                items.push(agg);
            }
            (items, format!(" GROUP BY {}", keys.join(", ")))
        } else {
            let items = (0..self.rng.gen_range(1..=3))
                .map(|_| {
                    let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Bool, Ty::Date]);
                    self.expr(ty, 3, true)
                })
                .collect();
            (items, String::new())
        };
        let positions: Vec<String> = (1..=select.len()).map(|i| i.to_string()).collect();
        let limit = if self.rng.gen_bool(0.3) {
            format!(" LIMIT {}", self.rng.gen_range(0..5))
        } else {
            String::new()
        };
        format!(
            "SELECT {} FROM {from}{filter}{group} ORDER BY {}{limit}",
            select.join(", "),
            positions.join(", ")
        )
    }
}

fn scope(alias: &str) -> Vec<(String, Ty)> {
    vec![
        (format!("{alias}.a"), Ty::Int),
        (format!("{alias}.b"), Ty::Text),
        (format!("{alias}.c"), Ty::Bool),
        (format!("{alias}.d"), Ty::Date),
    ]
}

/// The statements that (re)create the tables with random rows.
fn tables(rng: &mut StdRng) -> Vec<String> {
    let mut out = Vec::new();
    for t in 0..TABLES {
        out.push(format!("DROP TABLE IF EXISTS t{t}"));
        out.push(format!("CREATE TABLE t{t} (id int PRIMARY KEY, a int, b text, c bool, d date)"));
        let rows: Vec<String> = (0..rng.gen_range(0..=8))
            .map(|id| {
                let a = if rng.gen_bool(0.2) {
                    "NULL".to_string()
                } else if rng.gen_bool(0.05) {
                    "2147483647".to_string()
                } else {
                    rng.gen_range(-4..=4).to_string()
                };
                let b = ["NULL", "'a'", "'b'", "'ab'", "''", "'ba'", "'abc'"][rng.gen_range(0..7)];
                let c = ["NULL", "true", "false"][rng.gen_range(0..3)];
                let d = ["NULL", "'2024-01-31'", "'2024-02-29'", "'2023-03-31'", "'2024-12-31'"]
                    [rng.gen_range(0..5)];
                format!("({id}, {a}, {b}, {c}, {d})")
            })
            .collect();
        if !rows.is_empty() {
            out.push(format!("INSERT INTO t{t} VALUES {}", rows.join(", ")));
        }
    }
    out
}

#[test]
fn random_queries_agree_with_postgres() {
    let seed: u64 = std::env::var("DIFFERENTIAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    let cases: usize =
        std::env::var("DIFFERENTIAL_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    println!("DIFFERENTIAL_SEED={seed} DIFFERENTIAL_CASES={cases}");
    let pg = common::Postgres::start();
    let isola_port = common::start_server();
    let differences = common::run_on_own_runtime(async {
        let mut generator = Gen { rng: StdRng::seed_from_u64(seed), cols: Vec::new() };
        for port in [isola_port, pg.port] {
            let admin = session(port, "isola").await;
            admin.simple_query("CREATE DATABASE random").await.expect("CREATE DATABASE");
        }
        let isola = session(isola_port, "random").await;
        let postgres = session(pg.port, "random").await;
        let mut differences = Vec::new();
        let mut run = 0;
        while run < cases {
            let setup = tables(&mut generator.rng);
            let data = setup.join(";\n");
            for sql in &setup {
                for (client, side) in [(&isola, "isola"), (&postgres, "PostgreSQL")] {
                    client
                        .simple_query(sql)
                        .await
                        .unwrap_or_else(|e| panic!("setup on {side}: {sql}: {e}"));
                }
            }
            for _ in 0..QUERIES_PER_ROUND.min(cases - run) {
                run += 1;
                let sql = generator.query();
                let sorted = !ordered(&sql);
                let ours = answer(&isola, &sql, sorted).await;
                let theirs = answer(&postgres, &sql, sorted).await;
                let (ours, theirs) = match (ours, theirs) {
                    (Ok(o), Ok(t)) => (o, t),
                    (o, t) => {
                        panic!("{sql}\n  hung: isola {:?}, PostgreSQL {:?}", o.err(), t.err())
                    }
                };
                // two failures with data exceptions agree: which row fails first (and so
                // which of two errors is raised) depends on the order rows are read in
                let both_data_errors = matches!(
                    (&ours, &theirs),
                    (Answer::Error(a), Answer::Error(b)) if a.starts_with("22") && b.starts_with("22")
                );
                if ours != theirs && !both_data_errors {
                    differences.push(format!(
                        "{sql}\n  isola:      {}\n  PostgreSQL: {}\n  data:\n{data}",
                        ours.show(),
                        theirs.show()
                    ));
                }
            }
        }
        differences
    });
    assert!(
        differences.is_empty(),
        "seed {seed}: {} of {cases} queries differ from PostgreSQL 15 (first 10 shown):\n\n{}",
        differences.len(),
        differences.iter().take(10).cloned().collect::<Vec<_>>().join("\n\n")
    );
}
