//! `isola check`: run a workload against a server, analyse the history, judge it against the
//! level, and say so (text, an optional HTML report, an exit status).
//!
//! Exit status: 0 valid for the level, 1 anomalies the level forbids were found, 2 the run could
//! not decide (no connection, nothing committed, a search out of budget).

use super::analysis::{AnalysisOptions, Verdict, analyse_with};
use super::report;
use super::workload::{RunResult, Workload, WorkloadOptions, run};
use crate::IsolationLevel;
use crate::error::SqlState;

/// The result of one check.
pub struct CheckOutcome {
    /// 0, 1 or 2 (see the module doc).
    pub status: u8,
    /// What to print.
    pub text: String,
    /// The HTML report (list-append and register workloads).
    pub html: Option<String>,
    pub run: Option<RunResult>,
}

/// Runs the workload at `options.level` and judges the history against `model` (by default
/// the same level; a stricter model asks "is what this level let through serializable?").
pub async fn check(
    options: WorkloadOptions,
    model: Option<IsolationLevel>,
    analysis_options: AnalysisOptions,
) -> CheckOutcome {
    let level = model.unwrap_or(options.level);
    let workload = options.workload;
    let run_level = options.level;
    let clients = options.clients;
    let run_result = match run(options).await {
        Ok(r) => r,
        Err(e) => {
            return CheckOutcome {
                status: 2,
                text: format!("could not run the workload: {e}\nUNKNOWN: nothing decided"),
                html: None,
                run: None,
            };
        }
    };
    let mut text = summary(&run_result, clients);
    if workload == Workload::Bank {
        let bank = run_result.bank.clone().unwrap_or_default();
        let violations = bank.violations(level);
        text.push_str(&format!(
            "bank: {} balance reads, {} with a wrong total, {} with a negative balance; final total {:?} (expected {})\n",
            bank.reads,
            bank.wrong_totals.len(),
            bank.negative_balances.len(),
            bank.final_total,
            bank.expected_total
        ));
        for v in violations.iter().take(8) {
            text.push_str(&format!("  {v}\n"));
        }
        let status = if violations.is_empty() { 0 } else { 1 };
        text.push_str(&if status == 0 {
            format!("VALID for {}: the bank invariants the level promises held\n", level.sql())
        } else {
            format!("INVALID for {}: {} bank invariant violations\n", level.sql(), violations.len())
        });
        return CheckOutcome { status, text, html: None, run: Some(run_result) };
    }
    let analysis = analyse_with(&run_result.history, &analysis_options);
    text.push_str(&report::text(&run_result.history, &analysis, level));
    let (status, verdict) = match analysis.verdict(level) {
        Verdict::Valid => (0, "valid"),
        Verdict::Invalid(_) => (1, "invalid"),
        Verdict::Unknown(_) => (2, "unknown"),
    };
    // One line for scripts (bench/anomalies.sh builds docs/isolation.md's table from it).
    let counts: Vec<String> =
        analysis.counts.iter().map(|(k, n)| format!("{}:{n}", k.name())).collect();
    text.push_str(&format!(
        "summary: workload={} level={} model={} txns={} committed={} aborted={} unknown={} serialization_failures={} deadlocks={} seconds={:.2} anomalies={} verdict={verdict}\n",
        workload_name(workload),
        run_level.sql().replace(' ', "-"),
        level.sql().replace(' ', "-"),
        run_result.history.txns.len(),
        analysis.committed,
        analysis.aborted,
        analysis.unknown,
        run_result.serialization_failures,
        run_result.deadlocks,
        run_result.elapsed.as_secs_f64(),
        if counts.is_empty() { "none".to_string() } else { counts.join(",") },
    ));
    let title = format!(
        "isola check: {} run at {}, checked as {}",
        workload_name(workload),
        run_level.sql(),
        level.sql()
    );
    let html = report::html(&run_result.history, &analysis, level, &title);
    CheckOutcome { status, text, html: Some(html), run: Some(run_result) }
}

fn workload_name(w: Workload) -> &'static str {
    match w {
        Workload::ListAppend => "list-append",
        Workload::Register => "rw-register",
        Workload::Bank => "bank",
    }
}

fn summary(r: &RunResult, clients: usize) -> String {
    let (committed, aborted, unknown) = r.history.outcome_counts();
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mut s = format!(
        "ran {} transactions from {clients} clients in {secs:.1}s: {committed} committed ({:.0}/s), {aborted} aborted, {unknown} unknown; {} serialization failures (40001), {} deadlocks (40P01)\n",
        r.history.txns.len(),
        committed as f64 / secs,
        r.serialization_failures,
        r.deadlocks
    );
    for class in [SqlState::SerializationFailure, SqlState::DeadlockDetected] {
        if let Some(example) = r.error_examples.get(class.code()) {
            s.push_str(&format!("  e.g. {example}\n"));
        }
    }
    for (class, n) in &r.other_errors {
        let example = r.error_examples.get(class).cloned().unwrap_or_default();
        s.push_str(&format!("  other errors {class}: {n} (e.g. {example})\n"));
    }
    s
}
