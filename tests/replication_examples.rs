//! The Python replication examples (`examples/replication_psycopg.py`,
//! `examples/replication_asyncpg.py`) run against a 3-member group on loopback
//! (`tests/common/cluster.rs`, `Options::loopback`): each finds the leader, writes there, and
//! reads its own write on a follower with `SET isola.read_after`; they must exit 0 and print
//! their read-your-write line. The drivers come from `common::python_packages` (pip-installed
//! into the test's target directory when missing).

mod common;

use std::path::Path;
use std::process::Command;

use common::cluster::{Cluster, Options};

/// The line each example prints once a follower showed the write made on the leader.
const READ_YOUR_WRITE: &str = "read-your-write OK: follower port";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_and_asyncpg_examples_read_their_writes_on_a_follower() {
    let pythonpath = common::python_packages();
    let cluster = Cluster::start_with(3, Options { loopback: true, ..Options::replicated() }).await;
    cluster.leader().await.expect("a leader within 20 s");
    let ports: Vec<String> =
        cluster.nodes().iter().map(|&n| cluster.sql_addr(n).port().to_string()).collect();
    for example in ["replication_psycopg.py", "replication_asyncpg.py"] {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(example);
        let out = tokio::task::block_in_place(|| {
            Command::new("python3")
                .env("PYTHONPATH", &pythonpath)
                .arg(&script)
                .args(&ports)
                .output()
                .expect("python3 runs")
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains(READ_YOUR_WRITE),
            "{example} ({}):\n{stdout}\n{stderr}",
            out.status
        );
        assert!(stdout.contains("refused the write: 25006"), "{example}:\n{stdout}");
    }
}
