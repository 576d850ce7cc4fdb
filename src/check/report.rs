//! The findings for people: a text report and an HTML page with a drawing (SVG) of each cycle.
//!
//! Both name transactions `T<id>` as in the history, show every edge of a cycle with what was
//! observed to make it, and list the operations of the transactions involved, so a reader can
//! check each claim by hand.

use std::fmt::Write;

use super::analysis::{Analysis, AnomalyKind, Finding, Verdict};
use super::graph::EdgeKind;
use super::history::History;
use crate::IsolationLevel;

/// The verdict in words.
pub fn verdict_line(analysis: &Analysis, level: IsolationLevel) -> String {
    match analysis.verdict(level) {
        Verdict::Valid => format!("VALID for {}: no anomaly the level forbids", level.sql()),
        Verdict::Invalid(kinds) => {
            let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            format!("INVALID for {}: found {}", level.sql(), names.join(", "))
        }
        Verdict::Unknown(why) => format!("UNKNOWN for {}: {why}", level.sql()),
    }
}

/// The whole report as text.
pub fn text(history: &History, analysis: &Analysis, level: IsolationLevel) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} transactions: {} committed, {} aborted, {} with unknown outcome; {} dependency edges",
        history.txns.len(),
        analysis.committed,
        analysis.aborted,
        analysis.unknown,
        analysis.edges
    );
    if analysis.counts.is_empty() {
        let _ = writeln!(out, "anomalies: none");
    } else {
        let _ = writeln!(out, "anomalies:");
        for (kind, count) in &analysis.counts {
            let _ = writeln!(
                out,
                "  {:<18} {:>6}  {}{}",
                kind.name(),
                count,
                kind.meaning(),
                if kind.forbidden_at(level) { "  [forbidden at this level]" } else { "" }
            );
        }
    }
    for why in &analysis.incomplete {
        let _ = writeln!(out, "incomplete: {why} ran out of budget");
    }
    for finding in &analysis.findings {
        let _ = writeln!(out);
        write_finding(&mut out, history, finding, level);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", verdict_line(analysis, level));
    out
}

fn write_finding(out: &mut String, history: &History, finding: &Finding, level: IsolationLevel) {
    let allowed = if finding.kind.forbidden_at(level) { "" } else { " (allowed at this level)" };
    let _ = writeln!(out, "{}{}: {}", finding.kind.name(), allowed, finding.detail);
    for edge in &finding.cycle {
        let _ = writeln!(out, "  T{} -{}-> T{}: {}", edge.from, edge.kind, edge.to, edge.detail);
    }
    let mut txns = finding.txns.clone();
    txns.sort_unstable();
    txns.dedup();
    for t in txns {
        if let Some(txn) = history.txns.get(t) {
            let _ = writeln!(out, "    {txn}");
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report as a self-contained HTML page.
pub fn html(history: &History, analysis: &Analysis, level: IsolationLevel, title: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}\
         .bad{{color:#b00020;font-weight:bold}}.ok{{color:#1b7f3b;font-weight:bold}}\
         pre{{background:#f6f6f6;padding:8px;overflow-x:auto}}\
         </style></head><body>\n<h1>{}</h1>\n",
        escape(title),
        escape(title)
    );
    let verdict = verdict_line(analysis, level);
    let class = if matches!(analysis.verdict(level), Verdict::Valid) { "ok" } else { "bad" };
    let _ = writeln!(out, "<p class=\"{class}\">{}</p>", escape(&verdict));
    let _ = writeln!(
        out,
        "<p>{} transactions: {} committed, {} aborted, {} unknown; {} dependency edges.</p>",
        history.txns.len(),
        analysis.committed,
        analysis.aborted,
        analysis.unknown,
        analysis.edges
    );
    let _ = writeln!(
        out,
        "<table><tr><th>anomaly</th><th>count</th><th>meaning</th><th>at {}</th></tr>",
        level.sql()
    );
    for kind in AnomalyKind::ALL {
        let count = analysis.counts.get(&kind).copied().unwrap_or(0);
        let status = if kind.forbidden_at(level) { "forbidden" } else { "allowed" };
        let cell = if count > 0 && kind.forbidden_at(level) { " class=\"bad\"" } else { "" };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td{cell}>{count}</td><td>{}</td><td>{status}</td></tr>",
            kind.name(),
            escape(kind.meaning())
        );
    }
    let _ = writeln!(out, "</table>");
    for (i, finding) in analysis.findings.iter().enumerate() {
        let _ = writeln!(
            out,
            "<h2 id=\"f{i}\">{}: {}</h2>",
            finding.kind.name(),
            escape(&finding.detail)
        );
        if !finding.cycle.is_empty() {
            out.push_str(&cycle_svg(finding));
        }
        let mut text = String::new();
        write_finding(&mut text, history, finding, level);
        let _ = writeln!(out, "<pre>{}</pre>", escape(&text));
    }
    out.push_str("</body></html>\n");
    out
}

fn edge_colour(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Ww => "#333333",
        EdgeKind::Wr => "#1f5fbf",
        EdgeKind::Rw => "#c0392b",
        EdgeKind::Realtime => "#8e44ad",
    }
}

/// The cycle drawn as transactions on a circle with labelled, curved arrows.
pub fn cycle_svg(finding: &Finding) -> String {
    let n = finding.cycle.len().max(1);
    let radius = (60.0 * n as f64 / std::f64::consts::PI).max(90.0);
    let size = 2.0 * radius + 200.0;
    let centre = size / 2.0;
    let position = |i: usize| {
        let angle = -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        (centre + radius * angle.cos(), centre + radius * angle.sin())
    };
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size:.0}\" height=\"{size:.0}\" viewBox=\"0 0 {size:.0} {size:.0}\" font-family=\"sans-serif\" font-size=\"13\">"
    );
    svg.push_str("<defs>");
    for kind in [EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw, EdgeKind::Realtime] {
        let _ = write!(
            svg,
            "<marker id=\"arrow-{kind}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"{}\"/></marker>",
            edge_colour(kind)
        );
    }
    svg.push_str("</defs>\n");
    let node_radius = 24.0;
    for (i, edge) in finding.cycle.iter().enumerate() {
        let (x1, y1) = position(i);
        let (x2, y2) = position((i + 1) % n);
        let (dx, dy) = (x2 - x1, y2 - y1);
        let length = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / length, dy / length);
        // Start and end on the node circles; bend outwards so 2-cycles do not overlap.
        let (sx, sy) = (x1 + ux * node_radius, y1 + uy * node_radius);
        let (ex, ey) = (x2 - ux * node_radius, y2 - uy * node_radius);
        let bend = 0.25 * length;
        let (mx, my) = ((sx + ex) / 2.0 - uy * bend, (sy + ey) / 2.0 + ux * bend);
        let dash = if edge.kind == EdgeKind::Rw { " stroke-dasharray=\"6 4\"" } else { "" };
        let _ = writeln!(
            svg,
            "<path d=\"M {sx:.1} {sy:.1} Q {mx:.1} {my:.1} {ex:.1} {ey:.1}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{dash} marker-end=\"url(#arrow-{})\"><title>{}</title></path>",
            edge_colour(edge.kind),
            edge.kind,
            escape(&edge.detail)
        );
        let (lx, ly) = ((sx + ex) / 4.0 + mx / 2.0, (sy + ey) / 4.0 + my / 2.0);
        let _ = writeln!(
            svg,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" fill=\"{}\">{} (key {})</text>",
            edge_colour(edge.kind),
            edge.kind,
            edge.key
        );
    }
    for (i, edge) in finding.cycle.iter().enumerate() {
        let (x, y) = position(i);
        let _ = writeln!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{node_radius}\" fill=\"#fff8e1\" stroke=\"#555\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">T{}</text>",
            y + 4.0,
            edge.from
        );
    }
    svg.push_str("</svg>\n");
    svg
}
