//! The history checker on hand-written histories (each anomaly class found, valid histories
//! pass) and on histories of simulated stores: a snapshot-isolation store shows write skew when
//! checked as serializable and nothing when checked as snapshot isolation; a serial store shows
//! nothing at all.

use std::collections::HashMap;

use isola::IsolationLevel::{self, *};
use isola::check::{AnomalyKind, History, Op, Outcome, Verdict, analyse};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn append(key: i64, value: i64) -> Op {
    Op::Append { key, value }
}
fn read(key: i64, value: &[i64]) -> Op {
    Op::Read { key, value: value.to_vec() }
}
fn write(key: i64, value: i64) -> Op {
    Op::Write { key, value }
}
fn read_reg(key: i64, value: Option<i64>) -> Op {
    Op::ReadRegister { key, value }
}

fn history(txns: Vec<(Vec<Op>, Outcome)>) -> History {
    let mut h = History::default();
    for (i, (ops, outcome)) in txns.into_iter().enumerate() {
        h.push(i, ops, outcome);
    }
    h
}

const C: Outcome = Outcome::Committed;
const A: Outcome = Outcome::Aborted;

/// Asserts the history shows `kind`, is invalid at every level in `invalid_at` and valid at the
/// others.
fn expect(h: &History, kind: AnomalyKind, invalid_at: &[IsolationLevel]) {
    let analysis = analyse(h);
    assert!(
        analysis.counts.contains_key(&kind),
        "expected {kind}, found {:?}\n{}",
        analysis.counts,
        isola::check::report::text(h, &analysis, Serializable)
    );
    for level in [ReadUncommitted, ReadCommitted, RepeatableRead, Serializable] {
        let verdict = analysis.verdict(level);
        if invalid_at.contains(&level) {
            assert!(matches!(verdict, Verdict::Invalid(_)), "{kind} at {level:?}: {verdict:?}");
        } else {
            assert_eq!(verdict, Verdict::Valid, "{kind} at {level:?}: {:?}", analysis.counts);
        }
    }
}

const ALL_LEVELS: [IsolationLevel; 4] =
    [ReadUncommitted, ReadCommitted, RepeatableRead, Serializable];
const RC_UP: [IsolationLevel; 3] = [ReadCommitted, RepeatableRead, Serializable];
const RR_UP: [IsolationLevel; 2] = [RepeatableRead, Serializable];

#[test]
fn a_serial_history_is_valid_at_every_level() {
    let h = history(vec![
        (vec![append(1, 1), read(2, &[])], C),
        (vec![read(1, &[1]), append(1, 2), append(2, 3)], C),
        (vec![append(3, 4)], A),
        (vec![read(1, &[1, 2]), read(2, &[3]), read(3, &[])], C),
    ]);
    let analysis = analyse(&h);
    assert!(analysis.counts.is_empty(), "{:?}", analysis.counts);
    assert!(analysis.edges >= 3);
    for level in ALL_LEVELS {
        assert_eq!(analysis.verdict(level), Verdict::Valid);
    }
}

#[test]
fn g0_dirty_write_cycle() {
    let h = history(vec![
        (vec![append(1, 1), append(2, 2)], C),
        (vec![append(1, 3), append(2, 4)], C),
        (vec![read(1, &[1, 3]), read(2, &[4, 2])], C),
    ]);
    expect(&h, AnomalyKind::G0, &ALL_LEVELS);
    let analysis = analyse(&h);
    let g0 = analysis.findings.iter().find(|f| f.kind == AnomalyKind::G0).unwrap();
    assert_eq!(g0.cycle.len(), 2);
    assert!(g0.detail.contains("-ww->"), "{}", g0.detail);
}

#[test]
fn g1a_aborted_read() {
    let h = history(vec![(vec![append(1, 1)], A), (vec![read(1, &[1])], C)]);
    expect(&h, AnomalyKind::G1a, &RC_UP);
}

#[test]
fn g1b_intermediate_read() {
    let h = history(vec![
        (vec![append(1, 1), append(1, 2)], C),
        (vec![read(1, &[1])], C),
        (vec![read(1, &[1, 2])], C),
    ]);
    expect(&h, AnomalyKind::G1b, &RC_UP);
}

#[test]
fn g1c_circular_information_flow() {
    let h = history(vec![
        (vec![append(1, 1), read(2, &[2])], C),
        (vec![append(2, 2), read(1, &[1])], C),
    ]);
    expect(&h, AnomalyKind::G1c, &RC_UP);
}

#[test]
fn g_single_read_skew() {
    let h = history(vec![
        (vec![append(1, 1), append(2, 2)], C),
        (vec![read(1, &[]), read(2, &[2])], C),
        (vec![read(1, &[1])], C),
    ]);
    expect(&h, AnomalyKind::GSingle, &RR_UP);
}

#[test]
fn g2_item_write_skew() {
    let h = history(vec![
        (vec![read(1, &[]), append(2, 1)], C),
        (vec![read(2, &[]), append(1, 2)], C),
        (vec![read(1, &[2]), read(2, &[1])], C),
    ]);
    expect(&h, AnomalyKind::G2Item, &[Serializable]);
    let analysis = analyse(&h);
    let f = analysis.findings.iter().find(|f| f.kind == AnomalyKind::G2Item).unwrap();
    assert_eq!(f.txns.len(), 2);
    let html = isola::check::report::html(&h, &analysis, Serializable, "write skew");
    assert!(html.contains("<svg") && html.contains("T0") && html.contains("rw (key 1)"), "{html}");
}

#[test]
fn g2_through_predicate_reads() {
    let range = |lo, hi| Op::ReadRange { lo, hi, rows: vec![] };
    let h = history(vec![
        (vec![range(1, 1), append(2, 1)], C),
        (vec![range(2, 2), append(1, 2)], C),
        (vec![read(1, &[2]), read(2, &[1])], C),
    ]);
    expect(&h, AnomalyKind::G2, &[Serializable]);
}

#[test]
fn lost_update() {
    let h = history(vec![
        (vec![read(1, &[]), append(1, 1)], C),
        (vec![read(1, &[]), append(1, 2)], C),
        (vec![read(1, &[1, 2])], C),
    ]);
    expect(&h, AnomalyKind::LostUpdate, &RR_UP);
}

#[test]
fn internal_inconsistency() {
    let h = history(vec![(vec![append(1, 1), read(1, &[])], C)]);
    expect(&h, AnomalyKind::Internal, &ALL_LEVELS);
}

#[test]
fn incompatible_orders() {
    let h = history(vec![
        (vec![append(1, 1)], C),
        (vec![append(1, 2)], C),
        (vec![read(1, &[1, 2])], C),
        (vec![read(1, &[2, 1])], C),
    ]);
    expect(&h, AnomalyKind::IncompatibleOrder, &ALL_LEVELS);
}

#[test]
fn garbage_read() {
    let h = history(vec![(vec![append(1, 1)], C), (vec![read(1, &[1, 99])], C)]);
    expect(&h, AnomalyKind::GarbageRead, &ALL_LEVELS);
}

#[test]
fn lost_acknowledged_write() {
    let h =
        history(vec![(vec![append(1, 1)], C), (vec![append(1, 2)], C), (vec![read(1, &[2])], C)]);
    expect(&h, AnomalyKind::LostWrite, &ALL_LEVELS);
}

/// What `isola check` expects at the `bounded_staleness` and `eventual` read levels (and runs
/// there without `--realtime`): a read that began after a commit was acknowledged may miss it
/// (its member is behind). That is no anomaly, and no lost write while a later read holds the
/// write: lost writes are judged by the latest read of each key, the checker's final read, which
/// is linearizable. Only a final read without the write is a lost write.
#[test]
fn a_stale_read_is_no_lost_write_while_a_later_read_holds_the_write() {
    let stale = vec![
        (vec![append(1, 1)], C),
        (vec![read(1, &[])], C), // began after T0 was acknowledged, on a member behind
        (vec![append(1, 2)], C),
        (vec![read(1, &[1])], C),    // behind again
        (vec![read(1, &[1, 2])], C), // the final read
    ];
    let h = history(stale.clone());
    let analysis = analyse(&h);
    for level in ALL_LEVELS {
        assert_eq!(analysis.verdict(level), Verdict::Valid, "{level:?}: {:?}", analysis.counts);
    }
    let mut lost = stale;
    lost[4] = (vec![read(1, &[1])], C); // T2's acknowledged append missing at the end
    expect(&history(lost), AnomalyKind::LostWrite, &ALL_LEVELS);
}

/// Registers too: the latest read of a key must not hold a version an acknowledged write had
/// overwritten before that read began (the workload writes a register only after reading it,
/// so the version it overwrote is known); a stale read before it is none.
#[test]
fn a_register_write_missing_from_the_final_read_is_lost() {
    let stale = vec![
        (vec![read_reg(1, None), write(1, 1)], C),
        (vec![read_reg(1, Some(1)), write(1, 2)], C),
        (vec![read_reg(1, Some(1))], C), // behind
        (vec![read_reg(1, Some(2))], C), // the final read
    ];
    let h = history(stale.clone());
    let analysis = analyse(&h);
    for level in ALL_LEVELS {
        assert_eq!(analysis.verdict(level), Verdict::Valid, "{level:?}: {:?}", analysis.counts);
    }
    let mut lost = stale.clone();
    lost[3] = (vec![read_reg(1, Some(1))], C); // T1's acknowledged write missing at the end
    expect(&history(lost), AnomalyKind::LostWrite, &ALL_LEVELS);
    let mut never = stale;
    never[3] = (vec![read_reg(1, None)], C); // no write at all at the end
    expect(&history(never), AnomalyKind::LostWrite, &ALL_LEVELS);
}

#[test]
fn registers_write_skew_and_lost_update() {
    let h = history(vec![
        (vec![read_reg(1, None), read_reg(2, None), write(1, 1)], C),
        (vec![read_reg(1, None), read_reg(2, None), write(2, 2)], C),
    ]);
    expect(&h, AnomalyKind::G2Item, &[Serializable]);
    let h = history(vec![
        (vec![read_reg(1, None), write(1, 1)], C),
        (vec![read_reg(1, None), write(1, 2)], C),
    ]);
    expect(&h, AnomalyKind::LostUpdate, &RR_UP);
    let h = history(vec![(vec![write(1, 1)], A), (vec![read_reg(1, Some(1))], C)]);
    expect(&h, AnomalyKind::G1a, &RC_UP);
    let h = history(vec![(vec![write(1, 1), read_reg(1, Some(2))], C), (vec![write(1, 2)], C)]);
    expect(&h, AnomalyKind::Internal, &ALL_LEVELS);
    // Read-then-write chains give a full order: valid.
    let h = history(vec![
        (vec![read_reg(1, None), write(1, 1)], C),
        (vec![read_reg(1, Some(1)), write(1, 2)], C),
        (vec![read_reg(1, Some(2))], C),
    ]);
    let analysis = analyse(&h);
    assert!(analysis.counts.is_empty(), "{:?}", analysis.counts);
    assert_eq!(analysis.verdict(Serializable), Verdict::Valid);
}

#[test]
fn an_unknown_outcome_whose_write_was_read_counts_as_committed() {
    let h = history(vec![(vec![append(1, 1)], Outcome::Unknown), (vec![read(1, &[1])], C)]);
    let analysis = analyse(&h);
    assert!(analysis.counts.is_empty(), "{:?}", analysis.counts);
    assert_eq!(analysis.edges, 1);
    // Its own read of its append proves nothing: lost in a crash, it is simply not committed.
    let h = history(vec![
        (vec![append(1, 1)], C),
        (vec![append(1, 2), read(1, &[1, 2])], Outcome::Unknown),
        (vec![append(1, 3)], C),
        (vec![read(1, &[1, 3])], C),
    ]);
    let analysis = analyse(&h);
    assert!(analysis.counts.is_empty(), "{:?}", analysis.counts);
}

/// A tiny multi-version store: `snapshot` = one snapshot per transaction with
/// first-committer-wins (snapshot isolation); otherwise transactions run one at a time.
struct SimulatedStore {
    versions: HashMap<i64, Vec<(u64, Vec<i64>)>>,
    clock: u64,
}

impl SimulatedStore {
    fn read(&self, key: i64, at: u64) -> Vec<i64> {
        self.versions
            .get(&key)
            .and_then(|vs| vs.iter().rev().find(|(ts, _)| *ts <= at))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }
}

/// Runs `count` random transactions, `concurrency` at a time, interleaving their steps at random.
fn simulate(seed: u64, count: usize, concurrency: usize, snapshot: bool) -> History {
    struct Running {
        client: usize,
        snapshot: u64,
        plan: Vec<(bool, i64)>,
        done: usize,
        ops: Vec<Op>,
        writes: HashMap<i64, Vec<i64>>,
        begun: u64,
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut store = SimulatedStore { versions: HashMap::new(), clock: 0 };
    let mut history = History::default();
    let mut running: Vec<Option<Running>> = (0..concurrency).map(|_| None).collect();
    let (mut started, mut next_value) = (0, 0);
    let concurrency = if snapshot { concurrency } else { 1 };
    let mut step = 0;
    while started < count || running.iter().any(|r| r.is_some()) {
        step += 1;
        let slot = rng.gen_range(0..concurrency);
        match &mut running[slot] {
            None if started < count => {
                started += 1;
                let plan = (0..rng.gen_range(1..=4))
                    .map(|_| (rng.gen_bool(0.5), rng.gen_range(0..3)))
                    .collect();
                running[slot] = Some(Running {
                    client: slot,
                    snapshot: store.clock,
                    plan,
                    done: 0,
                    ops: vec![],
                    writes: HashMap::new(),
                    begun: step,
                });
            }
            None => {}
            Some(t) if t.done < t.plan.len() => {
                let (is_read, key) = t.plan[t.done];
                t.done += 1;
                if is_read {
                    let mut value = store.read(key, t.snapshot);
                    value.extend(t.writes.get(&key).cloned().unwrap_or_default());
                    t.ops.push(Op::Read { key, value });
                } else {
                    next_value += 1;
                    t.writes.entry(key).or_default().push(next_value);
                    t.ops.push(Op::Append { key, value: next_value });
                }
            }
            Some(t) => {
                // First committer wins: abort if a written key changed since the snapshot.
                let conflict = t.writes.keys().any(|k| {
                    store
                        .versions
                        .get(k)
                        .and_then(|v| v.last())
                        .is_some_and(|(ts, _)| *ts > t.snapshot)
                });
                let outcome = if conflict {
                    Outcome::Aborted
                } else {
                    store.clock += 1;
                    for (k, appended) in &t.writes {
                        let mut list = store.read(*k, store.clock);
                        list.extend(appended);
                        store.versions.entry(*k).or_default().push((store.clock, list));
                    }
                    Outcome::Committed
                };
                let t = running[slot].take().unwrap();
                let id = history.push(t.client, t.ops, outcome);
                // Real time: began at `begun`, ended now (lost-write detection relies on it).
                history.txns[id].start_us = t.begun;
                history.txns[id].end_us = step;
            }
        }
    }
    history
}

#[test]
fn a_simulated_snapshot_isolation_store_shows_write_skew_only() {
    let h = simulate(7, 3_000, 4, true);
    let analysis = analyse(&h);
    assert!(analysis.committed > 500, "{:?}", h.outcome_counts());
    assert!(
        analysis.counts.get(&AnomalyKind::G2Item).copied().unwrap_or(0) > 0,
        "checked as serializable, snapshot isolation must show write skew: {:?}",
        analysis.counts
    );
    assert!(matches!(analysis.verdict(Serializable), Verdict::Invalid(_)));
    assert_eq!(analysis.verdict(RepeatableRead), Verdict::Valid, "{:?}", analysis.counts);
}

#[test]
fn a_simulated_serial_store_shows_nothing() {
    let h = simulate(11, 2_000, 4, false);
    let analysis = analyse(&h);
    assert!(analysis.counts.is_empty(), "{:?}", analysis.counts);
    assert_eq!(analysis.verdict(Serializable), Verdict::Valid);
}

#[test]
fn real_time_order_turns_a_stale_read_into_a_cycle_when_asked() {
    // T1 is acknowledged, then T2 begins and does not see T1's append.
    let h = history(vec![
        (vec![append(1, 1), append(2, 5)], C),
        (vec![read(2, &[])], C),
        (vec![read(1, &[1]), read(2, &[5])], C),
    ]);
    // Serializable without real time: T2 can be ordered before T1.
    let plain = analyse(&h);
    assert_eq!(plain.verdict(Serializable), Verdict::Valid, "{:?}", plain.counts);
    // Strict serializability: T1 -rt-> T2 -rw-> T1.
    let options = isola::check::AnalysisOptions { realtime: true, ..Default::default() };
    let strict = isola::check::analyse_with(&h, &options);
    assert!(strict.counts.contains_key(&AnomalyKind::GSingle), "{:?}", strict.counts);
    let f = strict.findings.iter().find(|f| f.kind == AnomalyKind::GSingle).unwrap();
    assert!(f.detail.contains("-rt->") && f.detail.contains("real-time"), "{}", f.detail);
    // Transactions that overlap in time get no real-time edge.
    let mut h = h;
    h.txns[1].start_us = h.txns[0].start_us;
    let strict = isola::check::analyse_with(&h, &options);
    assert_eq!(strict.verdict(Serializable), Verdict::Valid, "{:?}", strict.counts);
}

#[test]
fn an_unknown_outcome_precedes_nothing_in_real_time() {
    // T0's COMMIT got 08007 (a deposed leader), then T1 began and missed T0's append, and T2
    // saw it: T0 took effect after T1, which real time allows, as T0 was never acknowledged.
    let h = history(vec![
        (vec![append(1, 1), append(2, 5)], Outcome::Unknown),
        (vec![read(2, &[])], C),
        (vec![read(1, &[1]), read(2, &[5])], C),
    ]);
    let options = isola::check::AnalysisOptions { realtime: true, ..Default::default() };
    let strict = isola::check::analyse_with(&h, &options);
    assert_eq!(strict.verdict(Serializable), Verdict::Valid, "{:?}", strict.counts);
    // Had T0 been acknowledged, T1's read would be stale.
    let mut h = h;
    h.txns[0].outcome = C;
    let strict = isola::check::analyse_with(&h, &options);
    assert!(strict.counts.contains_key(&AnomalyKind::GSingle), "{:?}", strict.counts);
}
