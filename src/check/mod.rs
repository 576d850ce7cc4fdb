//! Proof of isolation: randomized transactional workloads, their histories, and a checker that
//! finds the anomalies in them (in the style of Elle, Kingsbury & Alvaro, VLDB 2020).
//!
//! - [`history`]: what clients observed (transactions, operations, outcomes).
//! - [`graph`]: the dependency graph and its cycle searches.
//! - [`analysis`]: version orders, dependencies, anomaly classes and the verdict per level.
//! - [`report`]: the findings in words, and as an HTML page with a drawing of each cycle.
//! - [`workload`]: the driver that runs list-append, register and bank workloads over the
//!   PostgreSQL wire protocol against any server (`isola check`).
//!
//! The checker is written here rather than taken from a crate: no maintained Rust crate checks
//! transactional histories (Elle itself is Clojure), and the classification is the product.

pub mod analysis;
pub mod command;
pub mod graph;
pub mod history;
pub mod report;
pub mod workload;

pub use analysis::{
    Analysis, AnalysisOptions, AnomalyKind, Finding, Verdict, analyse, analyse_with,
};
pub use history::{Elem, History, Key, Op, Outcome, Txn};
