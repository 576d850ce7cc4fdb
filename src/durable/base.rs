//! A checkpoint written into the on-disk base (`storage::Base`): the rows changed since the
//! last one, their index entries, whole new tables and indexes, and the checkpoint's meta, in
//! one redb transaction.
//!
//! The rows are read through the checkpoint's own Repeatable Read transaction, so what goes
//! into the base is exactly the cut's snapshot; a row that snapshot does not see (deleted, or
//! never committed by then) is removed from the base. Index entries follow the rows: for a
//! changed row, the entries of the row the base held go and those of the new row come.

use std::ops::Bound;
use std::path::PathBuf;

use crate::catalog::{IndexDef, IndexId, TableId};
use crate::error::Result;
use crate::storage::{BaseName, BaseWrite};
use crate::txn::{BaseCut, Transaction};
use crate::types::{Key, PackedRow};
use crate::wal::{BaseNames, CheckpointMeta, DdlRecord, base_checkpoint_blob};

/// Rows read per hold of the database mutex.
const BATCH: usize = 4096;

/// Writes the checkpoint of `cut` into the base; returns the base's path and how many rows
/// were written or removed. Nothing of it is visible unless it returns `Ok`.
pub(crate) fn write_into_base(
    txn: &mut Transaction,
    cut: &BaseCut,
    meta: CheckpointMeta,
    history: &[DdlRecord],
    sequences: &[(TableId, u32, i64)],
) -> Result<(PathBuf, u64)> {
    let plan = &cut.plan;
    let write = plan.base.write()?;
    for &(name, index) in &plan.dropped {
        write.drop_name(name, index)?;
    }
    let named = |id: IndexId, list: &[(IndexId, TableId, BaseName)]| {
        list.iter().find(|(i, _, _)| *i == id).map(|&(_, _, n)| n)
    };
    let mut rows_written = 0u64;
    for part in &plan.tables {
        let defs = cut.indexes.get(&part.table).map(Vec::as_slice).unwrap_or_default();
        match &part.keys {
            None => {
                // New to the base: every row, and every index whole.
                write.drop_name(part.name, false)?;
                let indexes: Vec<(&IndexDef, BaseName)> = defs
                    .iter()
                    .filter_map(|d| Some((d, named(d.id, &plan.build_indexes)?)))
                    .collect();
                for &(_, name) in &indexes {
                    write.drop_name(name, true)?;
                }
                rows_written += copy_table(txn, &write, part.table, part.name, &indexes, true)?;
            }
            Some(keys) => {
                let kept: Vec<(&IndexDef, BaseName)> = defs
                    .iter()
                    .filter_map(|d| Some((d, named(d.id, &plan.kept_indexes)?)))
                    .collect();
                for chunk in keys.chunks(BATCH) {
                    let rows = txn.read_packed(part.table, chunk)?;
                    let puts: Vec<(Key, Option<&[u8]>)> = chunk
                        .iter()
                        .zip(&rows)
                        .map(|(k, r)| (k.clone(), r.as_ref().map(PackedRow::as_bytes)))
                        .collect();
                    let old = write.put_rows(part.name, &puts)?;
                    rows_written += chunk.len() as u64;
                    for &(def, name) in &kept {
                        let mut changes = Vec::new();
                        for ((key, new), old) in chunk.iter().zip(&rows).zip(&old) {
                            let old_key = old.as_ref().map(|r| def.key_of_packed(r));
                            let new_key = new.as_ref().map(|r| def.key_of_packed(r));
                            if old_key == new_key {
                                continue;
                            }
                            if let Some(ik) = old_key {
                                changes.push((ik, key.clone(), false));
                            }
                            if let Some(ik) = new_key {
                                changes.push((ik, key.clone(), true));
                            }
                        }
                        write.change_entries(name, &changes)?;
                    }
                }
            }
        }
    }
    // Indexes new on tables the base held already: built whole from the snapshot's rows.
    for &(index, table, name) in &plan.build_indexes {
        if plan.tables.iter().any(|p| p.table == table && p.keys.is_none()) {
            continue; // built with its table above
        }
        let Some(def) = cut.indexes.get(&table).and_then(|d| d.iter().find(|d| d.id == index))
        else {
            continue;
        };
        write.drop_name(name, true)?;
        copy_table(txn, &write, table, name, &[(def, name)], false)?;
    }
    let names = BaseNames { tables: plan.table_names.clone(), indexes: plan.index_names.clone() };
    write.set_checkpoint(&base_checkpoint_blob(meta, history, sequences, &names))?;
    write.commit()?;
    Ok((plan.base.path().to_path_buf(), rows_written))
}

/// Copies every row of `table` the snapshot sees (into the base's table `name` if
/// `with_rows`) and their entries into each of `indexes`; returns how many rows.
fn copy_table(
    txn: &mut Transaction,
    write: &BaseWrite<'_>,
    table: TableId,
    name: BaseName,
    indexes: &[(&IndexDef, BaseName)],
    with_rows: bool,
) -> Result<u64> {
    let mut from = Bound::Unbounded;
    let mut copied = 0u64;
    loop {
        let rows = txn.scan_limited_packed(table, (from, Bound::Unbounded), BATCH)?;
        let Some((last, _)) = rows.last() else { break };
        from = Bound::Excluded(last.clone());
        copied += rows.len() as u64;
        if with_rows {
            let puts: Vec<(Key, Option<&[u8]>)> =
                rows.iter().map(|(k, r)| (k.clone(), Some(r.as_bytes()))).collect();
            write.put_rows(name, &puts)?;
        }
        for &(def, index_name) in indexes {
            let entries: Vec<(Key, Key, bool)> =
                rows.iter().map(|(k, r)| (def.key_of_packed(r), k.clone(), true)).collect();
            write.change_entries(index_name, &entries)?;
        }
    }
    Ok(copied)
}
