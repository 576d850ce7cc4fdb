//! From a history to anomalies: version orders, dependencies, cycles, and a verdict per level.
//!
//! List-append (after Elle): every read returns a whole list, so the longest read of a key is
//! its version order and every other read must be a prefix of it. Registers: the initial nil
//! precedes every write, and a committed transaction that read `v` then wrote `w` puts `w`
//! directly after `v`. From the orders come ww, wr and rw edges between the transactions that
//! committed (or whose outcome is unknown but whose writes were read); cycles are then
//! classified as in Adya's thesis: G0 (ww only), G1c (ww + wr), G-single (exactly one rw),
//! G2-item / G2 (two or more rw; G2 when a predicate read is involved). Non-cycle anomalies:
//! G1a (aborted read), G1b (intermediate read), lost update, internal inconsistency,
//! incompatible orders, garbage reads and lost acknowledged writes (judged by the latest read
//! of each key, the workload's final read: an earlier read may be stale at the read levels that
//! allow it; for registers, the latest read-only read).
//!
//! Invariants: every reported edge is implied by what clients observed (so every reported cycle
//! is real); G0, G1c and "any cycle" are decided exactly (strongly connected components); the
//! G-single search is exact unless its budget runs out, which the analysis says.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use super::graph::{ALL, Edge, EdgeKind, Graph, REALTIME, WW, WW_WR, nontrivial};
use super::history::{Elem, History, Key, Op, Outcome};
use crate::IsolationLevel;

/// The kinds of anomaly the checker reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyKind {
    G0,
    G1a,
    G1b,
    G1c,
    GSingle,
    G2Item,
    G2,
    LostUpdate,
    Internal,
    IncompatibleOrder,
    GarbageRead,
    LostWrite,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 12] = [
        AnomalyKind::G0,
        AnomalyKind::G1a,
        AnomalyKind::G1b,
        AnomalyKind::G1c,
        AnomalyKind::GSingle,
        AnomalyKind::G2Item,
        AnomalyKind::G2,
        AnomalyKind::LostUpdate,
        AnomalyKind::Internal,
        AnomalyKind::IncompatibleOrder,
        AnomalyKind::GarbageRead,
        AnomalyKind::LostWrite,
    ];

    /// The short name used in reports and tables.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "G0",
            AnomalyKind::G1a => "G1a",
            AnomalyKind::G1b => "G1b",
            AnomalyKind::G1c => "G1c",
            AnomalyKind::GSingle => "G-single",
            AnomalyKind::G2Item => "G2-item",
            AnomalyKind::G2 => "G2",
            AnomalyKind::LostUpdate => "lost-update",
            AnomalyKind::Internal => "internal",
            AnomalyKind::IncompatibleOrder => "incompatible-order",
            AnomalyKind::GarbageRead => "garbage-read",
            AnomalyKind::LostWrite => "lost-write",
        }
    }

    /// One line on what it means.
    pub fn meaning(self) -> &'static str {
        match self {
            AnomalyKind::G0 => "dirty write: a cycle of write-write dependencies",
            AnomalyKind::G1a => {
                "aborted read: a committed transaction read a write of an aborted one"
            }
            AnomalyKind::G1b => {
                "intermediate read: a transaction read a value its writer later overwrote"
            }
            AnomalyKind::G1c => "circular information flow: a cycle of ww and wr dependencies",
            AnomalyKind::GSingle => "read skew: a cycle with exactly one anti-dependency (rw)",
            AnomalyKind::G2Item => "write skew: a cycle with two or more item anti-dependencies",
            AnomalyKind::G2 => "anti-dependency cycle through a predicate read (phantom)",
            AnomalyKind::LostUpdate => {
                "two committed transactions read the same version of a key and both wrote it"
            }
            AnomalyKind::Internal => "a transaction did not see its own earlier writes",
            AnomalyKind::IncompatibleOrder => {
                "two reads of a key disagree on the order of its versions"
            }
            AnomalyKind::GarbageRead => "a read returned a value nobody wrote",
            AnomalyKind::LostWrite => {
                "an acknowledged write is missing from a read that began after its commit"
            }
        }
    }

    /// Whether `level` forbids it (PostgreSQL's reading of the standard levels, after Adya:
    /// Read Uncommitted = PL-1, Read Committed = PL-2, Repeatable Read = snapshot isolation,
    /// Serializable = PL-3).
    pub fn forbidden_at(self, level: IsolationLevel) -> bool {
        use AnomalyKind::*;
        match self {
            G0 | Internal | IncompatibleOrder | GarbageRead | LostWrite => true,
            G1a | G1b | G1c => level >= IsolationLevel::ReadCommitted,
            GSingle | LostUpdate => level >= IsolationLevel::RepeatableRead,
            G2Item | G2 => level >= IsolationLevel::Serializable,
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomaly, with the evidence.
#[derive(Clone, Debug)]
pub struct Finding {
    pub kind: AnomalyKind,
    /// The transactions involved (for a cycle, in cycle order).
    pub txns: Vec<usize>,
    /// For a cycle: its edges, in order (each edge's `to` is the next edge's `from`).
    pub cycle: Vec<Edge>,
    /// What was observed, in words.
    pub detail: String,
}

/// How hard the analysis may work.
#[derive(Clone, Copy, Debug)]
pub struct AnalysisOptions {
    /// Edge visits allowed to the cycle searches in total.
    pub search_budget: u64,
    /// Examples kept per anomaly kind (all are counted).
    pub examples_per_kind: usize,
    /// Starting edges tried per component when looking for the shortest cycle of a class.
    pub tries_per_component: usize,
    /// Add real-time edges (a transaction acknowledged before another began precedes it):
    /// checks strict serializability / strong snapshot isolation instead of the plain models.
    pub realtime: bool,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        AnalysisOptions {
            search_budget: 200_000_000,
            examples_per_kind: 8,
            tries_per_component: 64,
            realtime: false,
        }
    }
}

/// What the analysis found.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    /// Examples, at most `examples_per_kind` per kind, shortest cycles first.
    pub findings: Vec<Finding>,
    /// How many of each kind were found (cycles: per strongly connected component).
    pub counts: BTreeMap<AnomalyKind, usize>,
    pub committed: usize,
    pub aborted: usize,
    pub unknown: usize,
    pub edges: usize,
    /// Searches that ran out of budget (their classes may be under-reported).
    pub incomplete: Vec<String>,
}

/// The answer for one isolation level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing the level forbids was observed.
    Valid,
    /// These forbidden kinds were observed.
    Invalid(Vec<AnomalyKind>),
    /// The history cannot decide (why).
    Unknown(String),
}

impl Analysis {
    /// Whether the history is valid for `level`.
    pub fn verdict(&self, level: IsolationLevel) -> Verdict {
        let forbidden: Vec<AnomalyKind> =
            self.counts.keys().copied().filter(|k| k.forbidden_at(level)).collect();
        if !forbidden.is_empty() {
            return Verdict::Invalid(forbidden);
        }
        if self.committed == 0 {
            return Verdict::Unknown("no transaction committed".into());
        }
        if level == IsolationLevel::RepeatableRead && !self.incomplete.is_empty() {
            return Verdict::Unknown(format!(
                "the search for G-single cycles ran out of budget ({})",
                self.incomplete.join("; ")
            ));
        }
        Verdict::Valid
    }

    fn record(&mut self, finding: Finding, options: &AnalysisOptions) {
        let count = self.counts.entry(finding.kind).or_insert(0);
        *count += 1;
        if *count <= options.examples_per_kind {
            self.findings.push(finding);
        }
    }
}

/// A register version: a key and the value read there (`None`: never written).
type Version = (Key, Option<Elem>);

/// What every dependency pass needs: who wrote each value, each transaction's last write per
/// key, and which transactions count as committed.
struct Known<'a> {
    writer: &'a HashMap<(Key, Elem), usize>,
    last_write: &'a HashMap<(usize, Key), Elem>,
    effective: &'a [bool],
}

/// An operation with range reads expanded into one read per key.
enum Step {
    Append(Key, Elem),
    Read { key: Key, list: Vec<Elem>, predicate: bool },
    Write(Key, Elem),
    ReadRegister(Key, Option<Elem>),
}

fn list(items: &[Elem]) -> String {
    let items: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    format!("[{}]", items.join(" "))
}

/// Analyses a history with default options.
pub fn analyse(history: &History) -> Analysis {
    analyse_with(history, &AnalysisOptions::default())
}

/// Analyses a history.
pub fn analyse_with(history: &History, options: &AnalysisOptions) -> Analysis {
    let txns = &history.txns;
    let mut analysis = Analysis::default();
    (analysis.committed, analysis.aborted, analysis.unknown) = history.outcome_counts();

    // Keys that lists were appended to: what a range read covers.
    let mut list_keys: Vec<Key> = txns
        .iter()
        .flat_map(|t| t.ops.iter())
        .filter_map(|op| match op {
            Op::Append { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    list_keys.sort_unstable();
    list_keys.dedup();
    let steps: Vec<Vec<Step>> = txns.iter().map(|t| expand(&t.ops, &list_keys)).collect();

    // Who wrote what, and each transaction's last write per key.
    let mut writer: HashMap<(Key, Elem), usize> = HashMap::new();
    let mut last_write: HashMap<(usize, Key), Elem> = HashMap::new();
    for (t, steps) in steps.iter().enumerate() {
        for step in steps {
            if let Step::Append(k, v) | Step::Write(k, v) = step {
                if let Some(other) = writer.insert((*k, *v), t) {
                    analysis.record(
                        Finding {
                            kind: AnomalyKind::IncompatibleOrder,
                            txns: vec![other, t],
                            cycle: vec![],
                            detail: format!(
                                "value {v} was written to key {k} twice (T{other} and T{t}): the workload must write unique values"
                            ),
                        },
                        options,
                    );
                }
                last_write.insert((t, *k), *v);
            }
        }
    }

    // Committed, or outcome unknown but seen by a transaction that did not abort.
    let mut effective: Vec<bool> = txns.iter().map(|t| t.outcome == Outcome::Committed).collect();
    for (t, steps) in steps.iter().enumerate() {
        if txns[t].outcome == Outcome::Aborted {
            continue;
        }
        for step in steps {
            let seen: Vec<(Key, Elem)> = match step {
                Step::Read { key, list, .. } => list.iter().map(|e| (*key, *e)).collect(),
                Step::ReadRegister(k, Some(v)) => vec![(*k, *v)],
                _ => vec![],
            };
            for kv in seen {
                // Seen by another transaction: its own reads prove nothing about its commit.
                if let Some(&w) = writer.get(&kv)
                    && w != t
                    && txns[w].outcome == Outcome::Unknown
                {
                    effective[w] = true;
                }
            }
        }
    }

    check_internal(&steps, &mut analysis, options);

    let mut graph = Graph::new(txns.len());
    let known = Known { writer: &writer, last_write: &last_write, effective: &effective };
    list_dependencies(history, &steps, &known, &mut graph, &mut analysis, options);
    register_dependencies(history, &steps, &known, &mut graph, &mut analysis, options);
    if options.realtime {
        realtime_edges(history, &effective, &mut graph);
    }
    analysis.edges = graph.edges.len();
    find_cycles(&graph, &mut analysis, options);
    analysis.findings.sort_by_key(|f| (f.kind, f.cycle.len()));
    analysis
}

fn expand(ops: &[Op], list_keys: &[Key]) -> Vec<Step> {
    let mut steps = Vec::new();
    for op in ops {
        match op {
            Op::Append { key, value } => steps.push(Step::Append(*key, *value)),
            Op::Read { key, value } => {
                steps.push(Step::Read { key: *key, list: value.clone(), predicate: false })
            }
            Op::Write { key, value } => steps.push(Step::Write(*key, *value)),
            Op::ReadRegister { key, value } => steps.push(Step::ReadRegister(*key, *value)),
            Op::ReadRange { lo, hi, rows } => {
                let found: HashMap<Key, &Vec<Elem>> = rows.iter().map(|(k, v)| (*k, v)).collect();
                let start = list_keys.partition_point(|k| k < lo);
                let mut keys: Vec<Key> =
                    list_keys[start..].iter().copied().take_while(|k| k <= hi).collect();
                // A row outside the history's keys (or outside the range) still counts.
                for k in found.keys() {
                    if !keys.contains(k) {
                        keys.push(*k);
                    }
                }
                keys.sort_unstable();
                for key in keys {
                    match found.get(&key) {
                        Some(list) => {
                            steps.push(Step::Read { key, list: (*list).clone(), predicate: false })
                        }
                        None => steps.push(Step::Read { key, list: vec![], predicate: true }),
                    }
                }
            }
        }
    }
    steps
}

/// Each read must show the transaction's own earlier writes to that key.
fn check_internal(steps: &[Vec<Step>], analysis: &mut Analysis, options: &AnalysisOptions) {
    for (t, steps) in steps.iter().enumerate() {
        let mut own_appends: HashMap<Key, Vec<Elem>> = HashMap::new();
        let mut own_write: HashMap<Key, Elem> = HashMap::new();
        for step in steps {
            let problem = match step {
                Step::Append(k, v) => {
                    own_appends.entry(*k).or_default().push(*v);
                    None
                }
                Step::Write(k, v) => {
                    own_write.insert(*k, *v);
                    None
                }
                Step::Read { key, list: read, .. } => match own_appends.get(key) {
                    Some(own) if !read.ends_with(own) => Some(format!(
                        "T{t} appended {} to key {key}, then read it as {}",
                        list(own),
                        list(read)
                    )),
                    _ => None,
                },
                Step::ReadRegister(k, v) => match own_write.get(k) {
                    Some(w) if *v != Some(*w) => Some(format!(
                        "T{t} wrote {w} to key {k}, then read {}",
                        v.map_or("nil".to_string(), |v| v.to_string())
                    )),
                    _ => None,
                },
            };
            if let Some(detail) = problem {
                analysis.record(
                    Finding { kind: AnomalyKind::Internal, txns: vec![t], cycle: vec![], detail },
                    options,
                );
            }
        }
    }
}

/// A read of a value: G1a if its writer aborted, garbage if nobody wrote it, G1b if its writer
/// overwrote it. Returns the writer when the value may be used for dependencies.
#[allow(clippy::too_many_arguments)]
fn classify_read(
    history: &History,
    reader: usize,
    key: Key,
    value: Elem,
    writer: &HashMap<(Key, Elem), usize>,
    last_write: &HashMap<(usize, Key), Elem>,
    check_intermediate: bool,
    analysis: &mut Analysis,
    options: &AnalysisOptions,
) -> Option<usize> {
    let Some(&w) = writer.get(&(key, value)) else {
        analysis.record(
            Finding {
                kind: AnomalyKind::GarbageRead,
                txns: vec![reader],
                cycle: vec![],
                detail: format!("T{reader} read {value} at key {key}, which no transaction wrote"),
            },
            options,
        );
        return None;
    };
    if history.txns[w].outcome == Outcome::Aborted && w != reader {
        analysis.record(
            Finding {
                kind: AnomalyKind::G1a,
                txns: vec![w, reader],
                cycle: vec![],
                detail: format!(
                    "T{reader} (committed) read {value} at key {key}, written by T{w}, which aborted"
                ),
            },
            options,
        );
        return None;
    }
    if check_intermediate && w != reader && last_write.get(&(w, key)) != Some(&value) {
        analysis.record(
            Finding {
                kind: AnomalyKind::G1b,
                txns: vec![w, reader],
                cycle: vec![],
                detail: format!(
                    "T{reader} read key {key} as ending in {value}, an intermediate write of T{w} (whose final write there is {})",
                    last_write[&(w, key)]
                ),
            },
            options,
        );
    }
    Some(w)
}

fn list_dependencies(
    history: &History,
    steps: &[Vec<Step>],
    known: &Known,
    graph: &mut Graph,
    analysis: &mut Analysis,
    options: &AnalysisOptions,
) {
    let Known { writer, last_write, effective } = *known;
    struct ListRead {
        txn: usize,
        /// The list without aborted or unknown values.
        clean: Vec<Elem>,
        /// `clean` without the reader's own trailing appends: the version it observed.
        observed: Vec<Elem>,
        predicate: bool,
        /// Read before the transaction's first append to the key, which follows later.
        before_own_append: bool,
    }
    let mut reads: BTreeMap<Key, Vec<ListRead>> = BTreeMap::new();
    for (t, txn_steps) in steps.iter().enumerate() {
        if !effective[t] {
            continue;
        }
        let mut own: HashMap<Key, Vec<Elem>> = HashMap::new();
        for (i, step) in txn_steps.iter().enumerate() {
            match step {
                Step::Append(k, v) => own.entry(*k).or_default().push(*v),
                Step::Read { key, list: read, predicate } => {
                    let mut clean = Vec::with_capacity(read.len());
                    for &e in read {
                        let w = classify_read(
                            history, t, *key, e, writer, last_write, false, analysis, options,
                        );
                        if w.is_some_and(|w| effective[w]) {
                            clean.push(e);
                        }
                    }
                    let mut unique = HashSet::new();
                    if let Some(dup) = clean.iter().find(|e| !unique.insert(**e)) {
                        analysis.record(
                            Finding {
                                kind: AnomalyKind::IncompatibleOrder,
                                txns: vec![t],
                                cycle: vec![],
                                detail: format!(
                                    "T{t} read key {key} as {}, with {dup} twice",
                                    list(read)
                                ),
                            },
                            options,
                        );
                        continue;
                    }
                    let own_here = own.get(key).map_or(&[][..], |v| &v[..]);
                    let observed = if clean.ends_with(own_here) {
                        clean[..clean.len() - own_here.len()].to_vec()
                    } else {
                        clean.clone()
                    };
                    // G1b: the observed version ends in a write its writer overwrote.
                    if let Some(&last) = observed.last() {
                        let w = writer[&(*key, last)];
                        if w != t && last_write.get(&(w, *key)) != Some(&last) {
                            analysis.record(
                                Finding {
                                    kind: AnomalyKind::G1b,
                                    txns: vec![w, t],
                                    cycle: vec![],
                                    detail: format!(
                                        "T{t} read key {key} as {}, ending in {last}, an intermediate append of T{w} (its last append there is {})",
                                        list(read),
                                        last_write[&(w, *key)]
                                    ),
                                },
                                options,
                            );
                        }
                    }
                    let appends_later = own_here.is_empty()
                        && txn_steps[i + 1..]
                            .iter()
                            .any(|s| matches!(s, Step::Append(k, _) if k == key));
                    reads.entry(*key).or_default().push(ListRead {
                        txn: t,
                        clean,
                        observed,
                        predicate: *predicate,
                        before_own_append: appends_later,
                    });
                }
                _ => {}
            }
        }
    }

    // Appends per key by effective transactions, to find lost writes.
    let mut appends: BTreeMap<Key, Vec<(usize, Elem)>> = BTreeMap::new();
    for (t, txn_steps) in steps.iter().enumerate() {
        if history.txns[t].outcome == Outcome::Committed {
            for step in txn_steps {
                if let Step::Append(k, v) = step {
                    appends.entry(*k).or_default().push((t, *v));
                }
            }
        }
    }

    for (key, key_reads) in &reads {
        let key = *key;
        let longest = key_reads.iter().max_by_key(|r| r.clean.len()).expect("non-empty");
        let order = longest.clean.clone();
        for r in key_reads {
            if !order.starts_with(&r.clean) {
                analysis.record(
                    Finding {
                        kind: AnomalyKind::IncompatibleOrder,
                        txns: vec![r.txn, longest.txn],
                        cycle: vec![],
                        detail: format!(
                            "key {key}: T{} read {} but T{} read {}; neither is a prefix of the other",
                            r.txn,
                            list(&r.clean),
                            longest.txn,
                            list(&order)
                        ),
                    },
                    options,
                );
            }
        }
        // Lost acknowledged appends: missing from the latest-starting read that began after
        // the appender's commit was acknowledged.
        let latest =
            key_reads.iter().max_by_key(|r| history.txns[r.txn].start_us).expect("non-empty");
        let in_latest: HashSet<Elem> = latest.clean.iter().copied().collect();
        for &(w, e) in appends.get(&key).map_or(&[][..], |v| &v[..]) {
            if w != latest.txn
                && history.txns[w].end_us < history.txns[latest.txn].start_us
                && !in_latest.contains(&e)
            {
                analysis.record(
                    Finding {
                        kind: AnomalyKind::LostWrite,
                        txns: vec![w, latest.txn],
                        cycle: vec![],
                        detail: format!(
                            "T{w} committed append({key}, {e}); T{} began after that and read key {key} as {}",
                            latest.txn,
                            list(&latest.clean)
                        ),
                    },
                    options,
                );
            }
        }

        for pair in order.windows(2) {
            let (a, b) = (writer[&(key, pair[0])], writer[&(key, pair[1])]);
            graph.add(Edge {
                from: a,
                to: b,
                kind: EdgeKind::Ww,
                key,
                predicate: false,
                detail: format!("T{b} appended {} after T{a}'s {} to key {key}", pair[1], pair[0]),
            });
        }
        let mut by_version: HashMap<usize, Vec<usize>> = HashMap::new();
        for r in key_reads {
            if !order.starts_with(&r.observed) {
                continue;
            }
            if let Some(&last) = r.observed.last() {
                let w = writer[&(key, last)];
                graph.add(Edge {
                    from: w,
                    to: r.txn,
                    kind: EdgeKind::Wr,
                    key,
                    predicate: false,
                    detail: format!(
                        "T{} read key {key} as {}, which ends in T{w}'s append of {last}",
                        r.txn,
                        list(&r.observed)
                    ),
                });
            }
            if let Some(&next) = order.get(r.observed.len()) {
                let w = writer[&(key, next)];
                let what = if r.predicate {
                    format!("T{} found no row for key {key} in a range read", r.txn)
                } else {
                    format!("T{} read key {key} as {}", r.txn, list(&r.observed))
                };
                graph.add(Edge {
                    from: r.txn,
                    to: w,
                    kind: EdgeKind::Rw,
                    key,
                    predicate: r.predicate,
                    detail: format!("{what}; T{w} appended {next} next"),
                });
            }
            if r.before_own_append {
                by_version.entry(r.observed.len()).or_default().push(r.txn);
            }
        }
        for (len, mut txns) in by_version {
            txns.sort_unstable();
            txns.dedup();
            if txns.len() > 1 {
                let names: Vec<String> = txns.iter().map(|t| format!("T{t}")).collect();
                analysis.record(
                    Finding {
                        kind: AnomalyKind::LostUpdate,
                        txns: txns.clone(),
                        cycle: vec![],
                        detail: format!(
                            "{} all read key {key} as {} and then appended to it",
                            names.join(", "),
                            list(&order[..len.min(order.len())])
                        ),
                    },
                    options,
                );
            }
        }
    }
}

fn register_dependencies(
    history: &History,
    steps: &[Vec<Step>],
    known: &Known,
    graph: &mut Graph,
    analysis: &mut Analysis,
    options: &AnalysisOptions,
) {
    let Known { writer, last_write, effective } = *known;
    // (key, value read) -> readers; (key, value read) -> transactions that then wrote the key.
    let mut readers: HashMap<(Key, Option<Elem>), Vec<usize>> = HashMap::new();
    let mut successors: HashMap<Version, Vec<(usize, Elem)>> = HashMap::new();
    let mut writers_of: HashMap<Key, Vec<(usize, Elem)>> = HashMap::new();
    for (t, txn_steps) in steps.iter().enumerate() {
        if !effective[t] {
            continue;
        }
        let mut wrote: HashSet<Key> = HashSet::new();
        let mut first_read: HashMap<Key, Option<Elem>> = HashMap::new();
        for step in txn_steps {
            match step {
                Step::Write(k, v) if wrote.insert(*k) => {
                    writers_of.entry(*k).or_default().push((t, *v));
                    if let Some(read) = first_read.get(k) {
                        successors.entry((*k, *read)).or_default().push((t, *v));
                    }
                }
                Step::ReadRegister(k, v) => {
                    if wrote.contains(k) {
                        continue; // its own write (checked by check_internal)
                    }
                    let usable = match v {
                        None => true,
                        Some(value) => classify_read(
                            history, t, *k, *value, writer, last_write, true, analysis, options,
                        )
                        .is_some_and(|w| effective[w]),
                    };
                    if usable {
                        first_read.entry(*k).or_insert(*v);
                        readers.entry((*k, *v)).or_default().push(t);
                    }
                }
                _ => {}
            }
        }
    }
    for ((key, read), txns) in &successors {
        let mut distinct: Vec<usize> = txns.iter().map(|(t, _)| *t).collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() > 1 {
            let names: Vec<String> = distinct.iter().map(|t| format!("T{t}")).collect();
            analysis.record(
                Finding {
                    kind: AnomalyKind::LostUpdate,
                    txns: distinct.clone(),
                    cycle: vec![],
                    detail: format!(
                        "{} all read key {key} as {} and then wrote it",
                        names.join(", "),
                        read.map_or("nil".into(), |v| v.to_string())
                    ),
                },
                options,
            );
        }
        if let Some(prev) = read {
            let a = writer[&(*key, *prev)];
            for &(b, w) in txns {
                graph.add(Edge {
                    from: a,
                    to: b,
                    kind: EdgeKind::Ww,
                    key: *key,
                    predicate: false,
                    detail: format!("T{b} read {prev} (T{a}'s) at key {key} and wrote {w} over it"),
                });
            }
        }
    }
    for ((key, read), txns) in &readers {
        if let Some(v) = read {
            let w = writer[&(*key, *v)];
            for &r in txns {
                graph.add(Edge {
                    from: w,
                    to: r,
                    kind: EdgeKind::Wr,
                    key: *key,
                    predicate: false,
                    detail: format!("T{r} read {v} at key {key}, written by T{w}"),
                });
            }
        }
        // Versions known to follow the one read: every write after nil, or the direct
        // successors found by read-then-write.
        let later: Vec<(usize, Elem)> = match read {
            None => writers_of.get(key).cloned().unwrap_or_default(),
            Some(_) => successors.get(&(*key, *read)).cloned().unwrap_or_default(),
        };
        for &r in txns {
            for &(w, value) in &later {
                graph.add(Edge {
                    from: r,
                    to: w,
                    kind: EdgeKind::Rw,
                    key: *key,
                    predicate: false,
                    detail: format!(
                        "T{r} read key {key} as {}; T{w} wrote {value} after it",
                        read.map_or("nil".into(), |v| v.to_string())
                    ),
                });
            }
        }
    }

    // Lost acknowledged writes, as for lists: judged by the latest-starting read-only
    // transaction that read the key (the workload's final read, linearizable), so that a stale
    // read at `eventual` is none, nor a read in a transaction that writes (write skew orders it
    // before the other writer). A write known to follow the version that read saw (nil: any
    // write; else a direct successor, which read it and wrote over it), acknowledged before the
    // read began, is lost.
    let read_only =
        |t: usize| !steps[t].iter().any(|s| matches!(s, Step::Write(..) | Step::Append(..)));
    let mut latest: HashMap<Key, (usize, Option<Elem>)> = HashMap::new();
    for ((key, read), txns) in &readers {
        for &r in txns.iter().filter(|&&r| read_only(r)) {
            let later = match latest.get(key) {
                None => true,
                Some(&(l, _)) => history.txns[r].start_us > history.txns[l].start_us,
            };
            if later {
                latest.insert(*key, (r, *read));
            }
        }
    }
    for (key, (r, read)) in latest {
        let after = match read {
            None => writers_of.get(&key),
            Some(_) => successors.get(&(key, read)),
        };
        for &(w, value) in after.map_or(&[][..], |v| &v[..]) {
            if w != r
                && history.txns[w].outcome == Outcome::Committed
                && history.txns[w].end_us < history.txns[r].start_us
            {
                let seen = read.map_or("nil".into(), |v| v.to_string());
                analysis.record(
                    Finding {
                        kind: AnomalyKind::LostWrite,
                        txns: vec![w, r],
                        cycle: vec![],
                        detail: format!(
                            "T{w} committed write({key}, {value}) over {seen}; T{r} began after that and read key {key} as {seen}"
                        ),
                    },
                    options,
                );
            }
        }
    }
}

/// Finds and classifies cycles.
fn find_cycles(graph: &Graph, analysis: &mut Analysis, options: &AnalysisOptions) {
    let mut budget = options.search_budget;
    // Real-time edges order like ww edges: they join every class's search.
    let rt = if options.realtime { REALTIME } else { 0 };
    let all = graph.components(ALL);
    if nontrivial(&all).is_empty() {
        return;
    }
    let mut cycles: Vec<(AnomalyKind, Vec<usize>)> = Vec::new();

    // G0: cycles of ww edges.
    let ww = graph.components(WW | rt);
    cycles.extend(
        shortest_per_component(graph, EdgeKind::Ww, WW | rt, &ww, options, &mut budget)
            .into_iter()
            .map(|c| (AnomalyKind::G0, c)),
    );
    // G1c: cycles of ww and wr edges with at least one wr.
    let wwwr = graph.components(WW_WR | rt);
    cycles.extend(
        shortest_per_component(graph, EdgeKind::Wr, WW_WR | rt, &wwwr, options, &mut budget)
            .into_iter()
            .map(|c| (AnomalyKind::G1c, c)),
    );
    // G-single: one rw edge a -> b and a way back from b to a over ww and wr. Tried for every
    // rw edge inside a component until one is found there (exact unless out of budget).
    let mut found_in: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut tries: HashMap<usize, usize> = HashMap::new();
    let mut ran_out = false;
    for e in graph.edges_within(EdgeKind::Rw, &all) {
        let edge = &graph.edges[e];
        let component = all[edge.from];
        let have = found_in.contains_key(&component);
        let tried = tries.entry(component).or_insert(0);
        if have && *tried >= options.tries_per_component {
            continue;
        }
        *tried += 1;
        match graph.shortest_path(edge.to, edge.from, WW_WR | rt, &all, &mut budget) {
            Some(path) => {
                let mut cycle = vec![e];
                cycle.extend(path);
                let entry = found_in.entry(component).or_insert_with(|| cycle.clone());
                if cycle.len() < entry.len() {
                    *entry = cycle;
                }
            }
            None if budget == 0 => {
                ran_out = true;
                break;
            }
            None => {}
        }
    }
    if ran_out {
        analysis.incomplete.push("G-single search".into());
    }
    cycles.extend(found_in.into_values().map(|c| (AnomalyKind::GSingle, c)));
    // G2 / G2-item: an rw edge and a way back that uses another rw edge.
    let mut g2: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut tries: HashMap<usize, usize> = HashMap::new();
    for e in graph.edges_within(EdgeKind::Rw, &all) {
        let edge = &graph.edges[e];
        let component = all[edge.from];
        let tried = tries.entry(component).or_insert(0);
        if *tried >= options.tries_per_component || budget == 0 {
            continue;
        }
        *tried += 1;
        if let Some(path) = graph.shortest_path(edge.to, edge.from, ALL, &all, &mut budget)
            && path.iter().any(|&p| graph.edges[p].kind == EdgeKind::Rw)
        {
            let mut cycle = vec![e];
            cycle.extend(path);
            let entry = g2.entry(component).or_insert_with(|| cycle.clone());
            if cycle.len() < entry.len() {
                *entry = cycle;
            }
        }
    }
    for cycle in g2.into_values() {
        let predicate = cycle.iter().any(|&e| graph.edges[e].predicate);
        cycles.push((if predicate { AnomalyKind::G2 } else { AnomalyKind::G2Item }, cycle));
    }
    // A component with a cycle none of the searches classified (only if out of budget):
    // report its shortest cycle through some edge, classified by its edges.
    let classified: HashSet<usize> =
        cycles.iter().map(|(_, c)| all[graph.edges[c[0]].from]).collect();
    let mut fallback: HashMap<usize, Vec<usize>> = HashMap::new();
    for (e, edge) in graph.edges.iter().enumerate() {
        let component = all[edge.from];
        if component != all[edge.to]
            || classified.contains(&component)
            || fallback.contains_key(&component)
        {
            continue;
        }
        let mut unlimited = u64::MAX;
        if let Some(path) = graph.shortest_path(edge.to, edge.from, ALL, &all, &mut unlimited) {
            let mut cycle = vec![e];
            cycle.extend(path);
            fallback.insert(component, cycle);
        }
    }
    for cycle in fallback.into_values() {
        cycles.push((classify(graph, &cycle), cycle));
    }

    cycles.sort_by_key(|(kind, c)| (*kind, c.len()));
    for (kind, cycle) in cycles {
        let edges: Vec<Edge> = cycle.iter().map(|&e| graph.edges[e].clone()).collect();
        let txns: Vec<usize> = edges.iter().map(|e| e.from).collect();
        let mut path = format!("T{}", txns[0]);
        for e in &edges {
            path.push_str(&format!(" -{}-> T{}", e.kind, e.to));
        }
        if edges.iter().any(|e| e.kind == EdgeKind::Realtime) {
            path.push_str(" (with real-time order)");
        }
        analysis.record(Finding { kind, txns, cycle: edges, detail: path }, options);
    }
}

/// The class of a cycle from its edges.
fn classify(graph: &Graph, cycle: &[usize]) -> AnomalyKind {
    let kinds: Vec<EdgeKind> = cycle.iter().map(|&e| graph.edges[e].kind).collect();
    let rw = kinds.iter().filter(|k| **k == EdgeKind::Rw).count();
    let predicate = cycle.iter().any(|&e| graph.edges[e].predicate);
    match rw {
        0 if kinds.iter().all(|k| matches!(k, EdgeKind::Ww | EdgeKind::Realtime)) => {
            AnomalyKind::G0
        }
        0 => AnomalyKind::G1c,
        1 => AnomalyKind::GSingle,
        _ if predicate => AnomalyKind::G2,
        _ => AnomalyKind::G2Item,
    }
}

/// For each component of `components` holding an edge of `through`, the shortest cycle found
/// through such an edge over edges of `kinds`.
fn shortest_per_component(
    graph: &Graph,
    through: EdgeKind,
    kinds: u8,
    components: &[usize],
    options: &AnalysisOptions,
    budget: &mut u64,
) -> Vec<Vec<usize>> {
    let mut best: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut tries: HashMap<usize, usize> = HashMap::new();
    for e in graph.edges_within(through, components) {
        let edge = &graph.edges[e];
        let component = components[edge.from];
        let tried = tries.entry(component).or_insert(0);
        if *tried >= options.tries_per_component {
            continue;
        }
        *tried += 1;
        // The component is strongly connected over `kinds`: a way back always exists.
        let mut unlimited = u64::MAX;
        let spend: &mut u64 =
            if best.contains_key(&component) { &mut *budget } else { &mut unlimited };
        if let Some(path) = graph.shortest_path(edge.to, edge.from, kinds, components, spend) {
            let mut cycle = vec![e];
            cycle.extend(path);
            let entry = best.entry(component).or_insert_with(|| cycle.clone());
            if cycle.len() < entry.len() {
                *entry = cycle;
            }
        }
    }
    best.into_values().collect()
}

/// Real-time edges: T1 -> T2 when T1's commit was acknowledged before T2 began. Only the
/// frontier is linked (a transaction's predecessors are dropped from the frontier once it ends,
/// being reachable through it), so the edges stay about (transactions x concurrency).
///
/// A transaction of unknown outcome never ends here: it may have taken effect at any moment
/// after it began, even after its client gave up on it (a commit a deposed leader replicated to
/// a majority is applied when the next leader commits its first entry), so nothing follows it
/// in real time, though it may follow others.
fn realtime_edges(history: &History, effective: &[bool], graph: &mut Graph) {
    let mut events: Vec<(u64, bool, usize)> = Vec::new(); // (time, is_end, txn)
    for (t, txn) in history.txns.iter().enumerate() {
        if effective[t] {
            events.push((txn.start_us, false, t));
            if txn.outcome == Outcome::Committed {
                events.push((txn.end_us, true, t));
            }
        }
    }
    // At equal times starts come first: an end at the same instant does not precede them.
    events.sort_unstable();
    let mut frontier: HashSet<usize> = HashSet::new();
    let mut predecessors: HashMap<usize, Vec<usize>> = HashMap::new();
    for (_, is_end, t) in events {
        if is_end {
            for p in predecessors.remove(&t).unwrap_or_default() {
                frontier.remove(&p);
            }
            frontier.insert(t);
        } else {
            let before: Vec<usize> = frontier.iter().copied().collect();
            for &p in &before {
                graph.add(Edge {
                    from: p,
                    to: t,
                    kind: EdgeKind::Realtime,
                    key: 0,
                    predicate: false,
                    detail: format!("T{p} was acknowledged before T{t} began"),
                });
            }
            predecessors.insert(t, before);
        }
    }
}
