//! Serializable Snapshot Isolation (Cahill, Röhm, Fekete 2008; Ports & Grittner 2012), as in
//! PostgreSQL's `predicate.c`, keyed by primary keys and key ranges instead of tuple ids.
//!
//! SERIALIZABLE runs snapshot isolation unchanged and also records rw-antidependencies between
//! concurrent serializable transactions: `R -rw-> W` when R read something of which a
//! concurrent W wrote a newer version (or W inserted into or deleted from a range R scanned).
//! Every non-serializable SI history has a cycle with two consecutive rw edges
//! `Tin -rw-> Tpivot -rw-> Tout` in which Tout commits first; we abort a transaction whenever
//! such a structure appears ([`Ssi::flag_rw_conflict`] and [`Ssi::precommit`]).
//!
//! Reads leave SIREAD locks, markers that never block: a row (table + primary key, stable across
//! versions), a key range of the table or of an index (what a range scan or a point miss
//! covered), or a whole relation (a full scan, or a promotion when one transaction holds more
//! than `max_locks_per_relation` fine locks in a table). Writers check the SIREAD holders of the
//! row, of every range covering the row's old and new keys, and of the relation ("conflict in").
//! Readers add an edge to the creator of every version they skip as too new ("conflict out"),
//! every one of them, not only the newest (the PostgreSQL 12.3 G2-item bug).
//!
//! Read-only optimisations: a `READ ONLY` serializable transaction that starts while no
//! writable serializable transaction runs is safe at once and tracked by nothing; otherwise it
//! watches the writable ones that were running (`possible_unsafe`) and becomes safe (its locks
//! dropped, never to fail) when they all finish without creating the read-only anomaly.
//! `DEFERRABLE` waits for that before running.
//!
//! Memory: records, locks and edges of a committed transaction are kept while some running
//! serializable transaction overlaps it, and dropped (in commit order) as soon as none does
//! ([`Ssi::cleanup`]). An aborted transaction's state goes at once.
//!
//! Every edge carries a sentence saying which read and which write made it, so a failure can
//! name the whole dangerous structure.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::catalog::{KeySpace, TableId};
use crate::error::{Error, Result};
use crate::storage::{CommitTs, TxnId};
use crate::types::{Key, KeyRange};

/// Most recent failures kept for [`Ssi::recent_failures`].
const FAILURE_HISTORY: usize = 100;

/// What a read covered.
#[derive(Clone, Debug)]
pub enum ReadTarget {
    Row { table: TableId, key: Key },
    Range { table: TableId, space: KeySpace, range: KeyRange },
    Relation { table: TableId },
}

/// A write as the conflict-in check sees it.
pub struct WriteTarget<'a> {
    pub table: TableId,
    pub key: &'a Key,
    /// Index keys of the old and new versions: `(index, key)`.
    pub index_keys: &'a [(KeySpace, Key)],
}

/// Serializable-transaction state.
#[derive(Debug)]
struct SerXact {
    snapshot: CommitTs,
    declared_read_only: bool,
    commit_ts: Option<CommitTs>,
    did_write: bool,
    /// Set when another transaction chose this one as the victim; the explanation.
    doomed: Option<String>,
    /// Transactions with an edge `in -rw-> self`.
    ins: HashSet<TxnId>,
    /// Transactions with an edge `self -rw-> out`.
    outs: HashSet<TxnId>,
    /// The committed transaction of `outs` that committed first, kept (with the sentence of
    /// its edge) after that transaction's own record is cleaned up: PostgreSQL's summary
    /// conflict-out.
    earliest_out: Option<EarliestOut>,
    /// For a read-only transaction: the writable ones that may still make it unsafe.
    possible_unsafe: HashSet<TxnId>,
    ro_unsafe: bool,
    /// Locks held, for release.
    locks: Vec<ReadTarget>,
    /// Fine (row and range) locks per table, for promotion.
    fine_locks: HashMap<TableId, usize>,
}

/// An out-edge to a committed transaction, remembered by its commit timestamp.
#[derive(Clone, Debug)]
struct EarliestOut {
    commit_ts: CommitTs,
    txn: TxnId,
    reason: String,
}

impl SerXact {
    fn earliest_out_commit(&self) -> Option<CommitTs> {
        self.earliest_out.as_ref().map(|e| e.commit_ts)
    }

    fn active(&self) -> bool {
        self.commit_ts.is_none()
    }

    /// Declared read-only, or committed without writing.
    fn read_only(&self) -> bool {
        self.declared_read_only || (self.commit_ts.is_some() && !self.did_write)
    }

    /// Committed at or before `ts` (never for an active transaction).
    fn committed_by(&self, ts: CommitTs) -> bool {
        self.commit_ts.is_some_and(|c| c <= ts)
    }
}

/// The shape of a found dangerous structure.
struct Structure {
    tin: TxnId,
    pivot: TxnId,
    tout: TxnId,
    first_edge: String,
    second_edge: String,
}

/// All SSI state, under the database mutex.
#[derive(Debug)]
pub struct Ssi {
    xacts: HashMap<TxnId, SerXact>,
    edges: HashMap<(TxnId, TxnId), String>,
    rows: HashMap<(TableId, Key), Vec<TxnId>>,
    ranges: HashMap<KeySpace, Vec<(KeyRange, TxnId)>>,
    relations: HashMap<TableId, Vec<TxnId>>,
    /// Committed transactions still kept, in commit order.
    committed: VecDeque<TxnId>,
    failures: VecDeque<String>,
    max_locks_per_relation: usize,
}

impl Ssi {
    pub fn new(max_locks_per_relation: usize) -> Self {
        Ssi {
            xacts: HashMap::new(),
            edges: HashMap::new(),
            rows: HashMap::new(),
            ranges: HashMap::new(),
            relations: HashMap::new(),
            committed: VecDeque::new(),
            failures: VecDeque::new(),
            max_locks_per_relation,
        }
    }

    /// Registers a serializable transaction at its first snapshot. Returns false when it needs
    /// no tracking at all: a read-only one with no writable serializable transaction running.
    pub fn register(&mut self, txn: TxnId, snapshot: CommitTs, read_only: bool) -> bool {
        let mut possible_unsafe = HashSet::new();
        if read_only {
            possible_unsafe = self
                .xacts
                .iter()
                .filter(|(_, x)| x.active() && !x.declared_read_only && x.doomed.is_none())
                .map(|(&id, _)| id)
                .collect();
            if possible_unsafe.is_empty() {
                return false;
            }
        }
        self.xacts.insert(
            txn,
            SerXact {
                snapshot,
                declared_read_only: read_only,
                commit_ts: None,
                did_write: false,
                doomed: None,
                ins: HashSet::new(),
                outs: HashSet::new(),
                earliest_out: None,
                possible_unsafe,
                ro_unsafe: false,
                locks: Vec::new(),
                fine_locks: HashMap::new(),
            },
        );
        true
    }

    /// Whether a serializable transaction other than `except` runs that is not declared read
    /// only and not doomed: while one does, the state is not a safe snapshot (a read-only
    /// transaction reading it could take part in an anomaly with it). The same set a
    /// read-only transaction starts watching in [`Ssi::register`].
    pub fn writer_running(&self, except: Option<TxnId>) -> bool {
        self.xacts.iter().any(|(&id, x)| {
            Some(id) != except && x.active() && !x.declared_read_only && x.doomed.is_none()
        })
    }

    /// Whether a transaction is tracked (serializable, and not a read-only one found safe).
    pub fn is_tracked(&self, txn: TxnId) -> bool {
        self.xacts.contains_key(&txn)
    }

    /// Whether a read-only transaction is known unsafe (DEFERRABLE must take a new snapshot).
    pub fn is_ro_unsafe(&self, txn: TxnId) -> bool {
        self.xacts.get(&txn).is_some_and(|x| x.ro_unsafe)
    }

    /// The explanation if another transaction doomed this one.
    pub fn doomed(&self, txn: TxnId) -> Option<&str> {
        self.xacts.get(&txn).and_then(|x| x.doomed.as_deref())
    }

    /// The oldest snapshot among active tracked transactions.
    pub fn oldest_active_snapshot(&self) -> Option<CommitTs> {
        self.xacts.values().filter(|x| x.active()).map(|x| x.snapshot).min()
    }

    /// Recent serialization failures, oldest first.
    pub fn recent_failures(&self) -> Vec<String> {
        self.failures.iter().cloned().collect()
    }

    /// Number of tracked transactions and SIREAD lock entries (for memory bound tests).
    pub fn footprint(&self) -> (usize, usize) {
        let locks = self.rows.values().map(Vec::len).sum::<usize>()
            + self.ranges.values().map(Vec::len).sum::<usize>()
            + self.relations.values().map(Vec::len).sum::<usize>();
        (self.xacts.len(), locks)
    }

    /// The SIREAD locks `txn` holds (none if it is not tracked).
    pub fn reads_of(&self, txn: TxnId) -> Vec<ReadTarget> {
        self.xacts.get(&txn).map(|x| x.locks.clone()).unwrap_or_default()
    }

    /// The rw-antidependencies `txn` is in, either end: `(reader, writer, why)`.
    pub fn edges_of(&self, txn: TxnId) -> Vec<(TxnId, TxnId, String)> {
        self.edges
            .iter()
            .filter(|((r, w), _)| *r == txn || *w == txn)
            .map(|((r, w), why)| (*r, *w, why.clone()))
            .collect()
    }

    // ---- SIREAD locks ----

    /// Records a read. A relation lock already held makes finer ones no-ops; too many fine
    /// locks in one table are promoted to a relation lock.
    pub fn add_read(&mut self, txn: TxnId, target: ReadTarget) {
        let Some(x) = self.xacts.get_mut(&txn) else { return };
        let table = match &target {
            ReadTarget::Row { table, .. }
            | ReadTarget::Range { table, .. }
            | ReadTarget::Relation { table } => *table,
        };
        if self.relations.get(&table).is_some_and(|h| h.contains(&txn)) {
            return;
        }
        match &target {
            ReadTarget::Row { table, key } => {
                let holders = self.rows.entry((*table, key.clone())).or_default();
                if holders.contains(&txn) {
                    return;
                }
                holders.push(txn);
            }
            ReadTarget::Range { space, range, .. } => {
                self.ranges.entry(*space).or_default().push((range.clone(), txn));
            }
            ReadTarget::Relation { table } => {
                self.relations.entry(*table).or_default().push(txn);
                x.locks.push(target);
                return;
            }
        }
        x.locks.push(target);
        let count = x.fine_locks.entry(table).or_default();
        *count += 1;
        if *count > self.max_locks_per_relation {
            self.promote(txn, table);
        }
    }

    /// Replaces a transaction's fine locks in `table` by one relation lock.
    fn promote(&mut self, txn: TxnId, table: TableId) {
        self.relations.entry(table).or_default().push(txn);
        let x = self.xacts.get_mut(&txn).expect("promoting a tracked transaction");
        x.fine_locks.remove(&table);
        let (fine, kept): (Vec<ReadTarget>, Vec<ReadTarget>) =
            x.locks.drain(..).partition(|t| match t {
                ReadTarget::Row { table: t, .. } | ReadTarget::Range { table: t, .. } => {
                    *t == table
                }
                ReadTarget::Relation { .. } => false,
            });
        x.locks = kept;
        x.locks.push(ReadTarget::Relation { table });
        for target in fine {
            self.drop_lock(txn, &target);
        }
    }

    fn drop_lock(&mut self, txn: TxnId, target: &ReadTarget) {
        match target {
            ReadTarget::Row { table, key } => {
                let k = (*table, key.clone());
                if let Some(holders) = self.rows.get_mut(&k) {
                    holders.retain(|&h| h != txn);
                    if holders.is_empty() {
                        self.rows.remove(&k);
                    }
                }
            }
            ReadTarget::Range { space, range, .. } => {
                if let Some(locks) = self.ranges.get_mut(space) {
                    if let Some(pos) = locks.iter().position(|(r, h)| *h == txn && r == range) {
                        locks.swap_remove(pos);
                    }
                    if locks.is_empty() {
                        self.ranges.remove(space);
                    }
                }
            }
            ReadTarget::Relation { table } => {
                if let Some(holders) = self.relations.get_mut(table) {
                    holders.retain(|&h| h != txn);
                    if holders.is_empty() {
                        self.relations.remove(table);
                    }
                }
            }
        }
    }

    // ---- rw edges ----

    /// Conflict out: `reader` skipped a version written by `writer` (too new for its snapshot).
    /// `reason` says what was read and what the writer did.
    pub fn on_conflict_out(&mut self, reader: TxnId, writer: TxnId, reason: String) -> Result<()> {
        let (Some(r), Some(w)) = (self.xacts.get(&reader), self.xacts.get(&writer)) else {
            return Ok(());
        };
        if reader == writer || w.doomed.is_some() {
            return Ok(());
        }
        if w.committed_by(r.snapshot) {
            return Ok(()); // not concurrent
        }
        // Read-only shortcut: a committed writer with no conflict out to a transaction that
        // committed before our snapshot lets us serialize before it.
        if r.declared_read_only
            && w.commit_ts.is_some()
            && w.earliest_out_commit().is_none_or(|c| c > r.snapshot)
        {
            return Ok(());
        }
        self.flag_rw_conflict(reader, writer, reason, reader)
    }

    /// Conflict in: `writer` (the current transaction) writes a row; every concurrent holder of
    /// a SIREAD lock covering it gets an edge `holder -rw-> writer`. `verb` says what the writer
    /// did ("updated"), `written` names the row, `describe` names a read target.
    pub fn on_write(
        &mut self,
        writer: TxnId,
        write: &WriteTarget<'_>,
        verb: &str,
        written: &str,
        describe: &dyn Fn(&ReadTarget) -> String,
    ) -> Result<()> {
        let Some(w) = self.xacts.get_mut(&writer) else { return Ok(()) };
        w.did_write = true;
        let w_snapshot = w.snapshot;
        let mut holders: Vec<(TxnId, ReadTarget)> = Vec::new();
        let row = ReadTarget::Row { table: write.table, key: write.key.clone() };
        for &h in self.rows.get(&(write.table, write.key.clone())).into_iter().flatten() {
            holders.push((h, row.clone()));
        }
        let mut spaces: Vec<(KeySpace, &Key)> = vec![(KeySpace::Table(write.table), write.key)];
        spaces.extend(write.index_keys.iter().map(|(space, key)| (*space, key)));
        for (space, key) in spaces {
            for (range, h) in self.ranges.get(&space).into_iter().flatten() {
                if std::ops::RangeBounds::contains(range, key) {
                    let target =
                        ReadTarget::Range { table: write.table, space, range: range.clone() };
                    holders.push((*h, target));
                }
            }
        }
        for &h in self.relations.get(&write.table).into_iter().flatten() {
            holders.push((h, ReadTarget::Relation { table: write.table }));
        }
        let mut seen = HashSet::new();
        for (reader, target) in holders {
            if reader == writer || !seen.insert(reader) {
                continue;
            }
            let Some(r) = self.xacts.get(&reader) else { continue };
            if r.doomed.is_some() || r.committed_by(w_snapshot) {
                continue; // doomed, or committed before the writer began: not concurrent
            }
            let reason = match target {
                ReadTarget::Row { .. } => {
                    format!("T{reader} read {}, which T{writer} {verb}", describe(&target))
                }
                _ => format!(
                    "T{reader} read {}, where T{writer} {verb} {written}",
                    describe(&target)
                ),
            };
            self.flag_rw_conflict(reader, writer, reason, writer)?;
        }
        Ok(())
    }

    /// Adds `reader -rw-> writer` after checking whether it completes a dangerous structure.
    /// `current` is the transaction running now: if it must be the victim, the error is
    /// returned; any other victim is doomed and fails at its next step.
    fn flag_rw_conflict(
        &mut self,
        reader: TxnId,
        writer: TxnId,
        reason: String,
        current: TxnId,
    ) -> Result<()> {
        if self.edges.contains_key(&(reader, writer)) {
            return Ok(());
        }
        if let Some(s) = self.find_structure(reader, writer, &reason) {
            let w = &self.xacts[&writer];
            let victim = if w.active() { writer } else { reader };
            let role = if victim == s.pivot { "pivot" } else { "Tin" };
            let tout_state = if self.xacts.get(&s.tout).is_some_and(|t| t.active()) {
                "has not committed yet"
            } else {
                "committed first"
            };
            let detail = format!(
                "rw-cycle T{} -rw-> T{} -rw-> T{}: {}; {}; T{} {}; T{} aborted as {}.",
                s.tin,
                s.pivot,
                s.tout,
                s.first_edge,
                s.second_edge,
                s.tout,
                tout_state,
                victim,
                role
            );
            self.record_failure(&detail);
            // The victim is doomed: even ROLLBACK TO SAVEPOINT cannot make it committable.
            if let Some(v) = self.xacts.get_mut(&victim) {
                v.doomed = Some(detail.clone());
            }
            if victim == current {
                return Err(failure(detail));
            }
        }
        self.edges.insert((reader, writer), reason);
        if let Some(r) = self.xacts.get_mut(&reader) {
            r.outs.insert(writer);
        }
        if let Some(c) = self.xacts.get(&writer).and_then(|w| w.commit_ts) {
            self.note_out_commit(reader, writer, c);
        }
        if let Some(w) = self.xacts.get_mut(&writer) {
            w.ins.insert(reader);
        }
        Ok(())
    }

    /// The three rules of `OnConflict_CheckForSerializationFailure` for a new edge R -> W.
    fn find_structure(&self, reader: TxnId, writer: TxnId, reason: &str) -> Option<Structure> {
        let r = &self.xacts[&reader];
        let w = &self.xacts[&writer];
        let edge = |a: TxnId, b: TxnId| self.edges.get(&(a, b)).cloned().unwrap_or_default();
        // 1 and 2: W is a pivot with an out-edge to some T2 that committed early enough. Every
        // condition is "T2 committed at or before ...", so the out-edge to the transaction that
        // committed first decides (its own record may be cleaned up already).
        if let Some(out) = &w.earliest_out {
            let c2 = out.commit_ts;
            let before_r = r.commit_ts.is_none_or(|rc| c2 <= rc);
            let before_w = w.commit_ts.is_none_or(|wc| c2 <= wc);
            let ro_ok = !r.read_only() || c2 <= r.snapshot;
            if before_r && before_w && ro_ok {
                return Some(Structure {
                    tin: reader,
                    pivot: writer,
                    tout: out.txn,
                    first_edge: reason.to_string(),
                    second_edge: out.reason.clone(),
                });
            }
        }
        // 3: R is a pivot: W has committed, R is not read-only, and some T0 -> R.
        if let Some(wc) = w.commit_ts
            && !r.read_only()
        {
            for &t0 in &r.ins {
                let Some(x0) = self.xacts.get(&t0) else { continue };
                if x0.doomed.is_none()
                    && x0.commit_ts.is_none_or(|c0| c0 >= wc)
                    && (!x0.read_only() || x0.snapshot >= wc)
                {
                    return Some(Structure {
                        tin: t0,
                        pivot: reader,
                        tout: writer,
                        first_edge: edge(t0, reader),
                        second_edge: reason.to_string(),
                    });
                }
            }
        }
        None
    }

    /// Checks at commit, with `txn` as a Tout committing first: any active pivot `P -rw-> txn`
    /// that has an in-edge from us or from another active writer is doomed.
    pub fn precommit(&mut self, txn: TxnId) -> Result<()> {
        let Some(me) = self.xacts.get(&txn) else { return Ok(()) };
        if let Some(detail) = &me.doomed {
            return Err(failure(detail.clone()));
        }
        let mut doom: Vec<(TxnId, String)> = Vec::new();
        for &pivot in &me.ins {
            let Some(p) = self.xacts.get(&pivot) else { continue };
            if !p.active() || p.doomed.is_some() {
                continue;
            }
            let tin = p.ins.iter().copied().find(|&tin| {
                tin == txn
                    || self
                        .xacts
                        .get(&tin)
                        .is_some_and(|t| t.active() && !t.read_only() && t.doomed.is_none())
            });
            if let Some(tin) = tin {
                let detail = format!(
                    "rw-cycle T{tin} -rw-> T{pivot} -rw-> T{txn}: {}; {}; T{txn} committed first; T{pivot} aborted as pivot.",
                    self.edges.get(&(tin, pivot)).cloned().unwrap_or_default(),
                    self.edges.get(&(pivot, txn)).cloned().unwrap_or_default(),
                );
                doom.push((pivot, detail));
            }
        }
        for (pivot, detail) in doom {
            self.record_failure(&detail);
            if let Some(p) = self.xacts.get_mut(&pivot) {
                p.doomed = Some(detail);
            }
        }
        Ok(())
    }

    /// Marks a transaction committed. Read-only transactions it makes safe stop being tracked:
    /// they can never fail with a serialization failure.
    pub fn on_commit(&mut self, txn: TxnId, commit_ts: CommitTs) {
        let Some(me) = self.xacts.get_mut(&txn) else { return };
        me.commit_ts = Some(commit_ts);
        let ins: Vec<TxnId> = me.ins.iter().copied().collect();
        for p in ins {
            self.note_out_commit(p, txn, commit_ts);
        }
        self.committed.push_back(txn);
        self.resolve_read_only(txn);
    }

    /// Remembers that `reader` has an out-edge to `writer`, committed at `commit_ts`, if it is
    /// the earliest such commit.
    fn note_out_commit(&mut self, reader: TxnId, writer: TxnId, commit_ts: CommitTs) {
        let reason = self.edges.get(&(reader, writer)).cloned().unwrap_or_default();
        if let Some(r) = self.xacts.get_mut(&reader)
            && r.earliest_out_commit().is_none_or(|c| commit_ts < c)
        {
            r.earliest_out = Some(EarliestOut { commit_ts, txn: writer, reason });
        }
    }

    /// Forgets an aborted transaction at once.
    pub fn on_abort(&mut self, txn: TxnId) {
        if self.xacts.contains_key(&txn) {
            self.resolve_read_only(txn);
            self.remove(txn);
        }
    }

    /// A writable transaction finished: update the read-only transactions watching it.
    /// Read-only transactions found safe are removed (no longer tracked).
    fn resolve_read_only(&mut self, finished: TxnId) {
        let f = &self.xacts[&finished];
        // Unsafe: it committed writes and has a conflict out to a transaction that committed
        // before the watcher's snapshot (the read-only anomaly becomes possible).
        let unsafe_before =
            if f.commit_ts.is_some() && f.did_write { f.earliest_out_commit() } else { None };
        let watchers: Vec<TxnId> = self
            .xacts
            .iter()
            .filter(|(_, x)| x.possible_unsafe.contains(&finished))
            .map(|(&id, _)| id)
            .collect();
        let mut safe = Vec::new();
        for id in watchers {
            let x = self.xacts.get_mut(&id).expect("watcher");
            x.possible_unsafe.remove(&finished);
            if unsafe_before.is_some_and(|c| c <= x.snapshot) {
                x.ro_unsafe = true;
                x.possible_unsafe.clear();
            } else if x.possible_unsafe.is_empty() && !x.ro_unsafe && x.active() {
                safe.push(id);
            }
        }
        for id in safe {
            self.remove(id);
        }
    }

    /// Drops committed transactions that no active serializable transaction overlaps: those
    /// that committed at or before the oldest active snapshot (`None`: nothing is active).
    /// `visible` is the last commit made visible: transactions committed after it (their log
    /// record is not yet durable) overlap every snapshot taken meanwhile, so they stay.
    pub fn cleanup(&mut self, visible: CommitTs) {
        let watermark = self.oldest_active_snapshot().unwrap_or(visible).min(visible);
        while let Some(&id) = self.committed.front() {
            let commit = self.xacts.get(&id).and_then(|x| x.commit_ts);
            match commit {
                Some(c) if c > watermark => break,
                _ => {
                    self.committed.pop_front();
                    self.remove(id);
                }
            }
        }
    }

    /// Removes a transaction, its locks and its edges.
    fn remove(&mut self, txn: TxnId) {
        let Some(x) = self.xacts.remove(&txn) else { return };
        for target in &x.locks {
            self.drop_lock(txn, target);
        }
        for out in x.outs {
            self.edges.remove(&(txn, out));
            if let Some(o) = self.xacts.get_mut(&out) {
                o.ins.remove(&txn);
            }
        }
        for inn in x.ins {
            self.edges.remove(&(inn, txn));
            if let Some(i) = self.xacts.get_mut(&inn) {
                i.outs.remove(&txn);
            }
        }
    }

    fn record_failure(&mut self, detail: &str) {
        if self.failures.len() == FAILURE_HISTORY {
            self.failures.pop_front();
        }
        self.failures.push_back(detail.to_string());
    }
}

fn failure(detail: String) -> Error {
    Error::serialization(
        "could not serialize access due to read/write dependencies among transactions",
        detail,
    )
}
