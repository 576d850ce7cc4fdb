//! Membership changes during a write load, on loopback: a fourth member started with `--join`
//! is added as a learner, promoted to voter, given the leadership, and a former member is
//! removed, each by another of the three ways (SQL on a follower, `isola cluster --url`,
//! `isola cluster --raft`), while a client keeps writing unique keys to whichever member
//! leads. Afterwards every acknowledged key is on every remaining member, and `isola_cluster`
//! lists exactly them. Also: the membership functions' errors (bad arguments, a single node).

use std::collections::BTreeSet;
use std::process::Child;
use std::time::{Duration, Instant};

mod common;

/// Every wait in this test is bounded by this.
const LIMIT: Duration = Duration::from_secs(30);

struct Member {
    id: u64,
    child: Child,
    port: u16,
    raft: String,
}

impl Drop for Member {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(dir: &std::path::Path, id: u64, raft: &str, peers: &str, join: bool) -> Member {
    let data = dir.join(format!("n{id}"));
    let mut args = vec![
        "--data".to_string(),
        data.display().to_string(),
        "--node-id".into(),
        id.to_string(),
        "--raft-listen".into(),
        raft.to_string(),
        "--peers".into(),
        peers.to_string(),
    ];
    if join {
        args.push("--join".into());
    }
    let (child, port) = common::spawn_server(args);
    Member { id, child, port, raft: raft.to_string() }
}

async fn client(port: u16) -> Option<tokio_postgres::Client> {
    let url = format!("host=127.0.0.1 port={port} user=isola dbname=isola connect_timeout=2");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(conn);
    Some(client)
}

/// The member that says it leads, polled until `LIMIT`.
async fn leader(members: &[&Member]) -> u64 {
    let deadline = Instant::now() + LIMIT;
    loop {
        for m in members {
            if let Some(c) = client(m.port).await {
                let sql = "SELECT role FROM isola_cluster WHERE is_self";
                if let Ok(Ok(row)) = tokio::time::timeout(LIMIT, c.query_one(sql, &[])).await
                    && row.get::<_, String>(0) == "leader"
                {
                    return m.id;
                }
            }
        }
        assert!(Instant::now() < deadline, "no leader within {LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `isola cluster ARGS --raft ADDR` or `--url URL`, run on a blocking thread.
async fn cluster_command(args: &[&str], via: &[&str]) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_isola"));
    command.arg("cluster").args(args).args(via);
    let out = tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "isola cluster {args:?}: {said}");
    eprintln!("isola cluster {args:?}: {}", said.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_promote_transfer_remove_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let rafts: Vec<String> = (0..4).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    let peers = format!("1={},2={},3={}", rafts[0], rafts[1], rafts[2]);
    let mut members: Vec<Member> =
        (1..=3).map(|id| start(dir.path(), id, &rafts[id as usize - 1], &peers, false)).collect();
    let own = format!("4={}", rafts[3]);
    members.push(start(dir.path(), 4, &rafts[3], &own, true));
    let ports: Vec<(u64, u16)> = members.iter().map(|m| (m.id, m.port)).collect();
    let first = leader(&members.iter().take(3).collect::<Vec<_>>()).await;
    let port_of = |id: u64| ports.iter().find(|(i, _)| *i == id).unwrap().1;
    let c = client(port_of(first)).await.unwrap();
    c.batch_execute("CREATE TABLE kv (k int PRIMARY KEY, v text)").await.unwrap();

    // The writer: unique keys to whichever member takes them, bounded in count and time.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let writer_ports: Vec<u16> = ports.iter().map(|(_, p)| *p).collect();
    let writer = tokio::spawn(async move {
        let mut acked = BTreeSet::new();
        let mut at = 0;
        let mut current = None;
        let started = Instant::now();
        for k in 0..20_000i32 {
            if *stop_rx.borrow() || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            if current.is_none() {
                at = (at + 1) % writer_ports.len();
                current = client(writer_ports[at]).await;
                if current.is_none() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            }
            let c = current.as_ref().unwrap();
            let key = k;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
            let insert = c.execute("INSERT INTO kv VALUES ($1, 'x')", &params);
            match tokio::time::timeout(Duration::from_secs(10), insert).await {
                Ok(Ok(_)) => {
                    acked.insert(k);
                }
                // 25006 (not the leader), 08007 (outcome unknown), 57014, a lost connection:
                // not acknowledged; try another member.
                _ => current = None,
            }
        }
        acked
    });

    let wait_applied_on = |id: u64| {
        let port = port_of(id);
        async move {
            let deadline = Instant::now() + LIMIT;
            loop {
                if let Some(c) = client(port).await {
                    let n = c.query_one("SELECT count(*) FROM kv", &[]).await;
                    if n.is_ok_and(|r| r.get::<_, i64>(0) > 0) {
                        return;
                    }
                }
                assert!(Instant::now() < deadline, "node {id} never applied a row");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Added by SQL on a member that does not lead: it passes the change to the leader.
    let follower = (1..=3).find(|id| *id != first).unwrap();
    let said: String = client(port_of(follower))
        .await
        .unwrap()
        .query_one("SELECT isola_cluster_add_learner(4, $1)", &[&rafts[3]])
        .await
        .unwrap()
        .get(0);
    eprintln!("isola_cluster_add_learner on node {follower}: {said}");
    wait_applied_on(4).await;
    let url = format!("postgresql://isola@127.0.0.1:{}/isola", port_of(members[1].id));
    cluster_command(&["promote", "4"], &["--url", &url]).await;
    cluster_command(&["transfer-leader", "4"], &["--raft", &members[2].raft.clone()]).await;
    let deadline = Instant::now() + LIMIT;
    while leader(&members.iter().collect::<Vec<_>>()).await != 4 {
        assert!(Instant::now() < deadline, "node 4 did not take the leadership");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let removed = if first == 1 { 2 } else { 1 };
    let said: String = client(port_of(4))
        .await
        .unwrap()
        .query_one(&format!("SELECT isola_cluster_remove({removed})"), &[])
        .await
        .unwrap()
        .get(0);
    eprintln!("isola_cluster_remove on node 4: {said}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_tx.send(true).unwrap();
    let acked = writer.await.unwrap();
    assert!(acked.len() > 10, "the writer got only {} writes through", acked.len());

    // A last write on the leader: its token is after every acknowledged commit.
    let remaining: Vec<u64> = (1..=4).filter(|id| *id != removed).collect();
    let lead = leader(&members.iter().filter(|m| m.id != removed).collect::<Vec<_>>()).await;
    let c = client(port_of(lead)).await.unwrap();
    c.execute("INSERT INTO kv VALUES (-1, 'last')", &[]).await.unwrap();
    let token: String = c.query_one("SHOW isola.session_token", &[]).await.unwrap().get(0);
    for id in remaining {
        let c = client(port_of(id)).await.unwrap();
        c.batch_execute(&format!("SET isola.read_after = '{token}'")).await.unwrap();
        let rows = c.query("SELECT k FROM kv WHERE k >= 0", &[]).await.unwrap();
        let present: BTreeSet<i32> = rows.iter().map(|r| r.get(0)).collect();
        let missing: Vec<_> = acked.difference(&present).take(10).collect();
        assert!(missing.is_empty(), "node {id} lacks acknowledged keys {missing:?}");
        let rows =
            c.query("SELECT node_id FROM isola_cluster ORDER BY node_id", &[]).await.unwrap();
        let listed: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
        let expected: Vec<i64> = (1..=4).filter(|i| *i != removed as i64).collect();
        assert_eq!(listed, expected, "node {id}: isola_cluster");
    }
    eprintln!("{} acknowledged writes on every remaining member", acked.len());
}

/// The membership functions' errors: a bad node id or address (22023), a single node (55000),
/// and the connection stays usable after each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_functions_refuse_bad_input_and_a_single_node() {
    let dir = tempfile::tempdir().unwrap();
    let raft = format!("127.0.0.1:{}", free_port());
    let one = start(dir.path(), 1, &raft, &format!("1={raft}"), false);
    leader(&[&one]).await;
    let c = client(one.port).await.unwrap();
    let code = |e: tokio_postgres::Error| e.code().map(|c| c.code().to_string());
    let bad = c.query_one("SELECT isola_cluster_add_learner(5, 'not an address')", &[]).await;
    assert_eq!(bad.map_err(code).unwrap_err().as_deref(), Some("22023"));
    let bad = c.query_one("SELECT isola_cluster_promote(-3)", &[]).await;
    assert_eq!(bad.map_err(code).unwrap_err().as_deref(), Some("22023"));
    // Promoting a member the group does not have: the leader's refusal, as an error.
    let bad = c.query_one("SELECT isola_cluster_promote(9)", &[]).await;
    let e = bad.unwrap_err();
    eprintln!("promote 9: {e:?}");
    assert_eq!(code(e).as_deref(), Some("55000"));
    let n: i64 = c.query_one("SELECT count(*) FROM isola_cluster", &[]).await.unwrap().get(0);
    assert_eq!(n, 1);

    let (mut single, port) = common::spawn_server(["--memory"]);
    let s = client(port).await.unwrap();
    let e = s.query_one("SELECT isola_cluster_transfer_leader(2)", &[]).await.unwrap_err();
    assert_eq!(code(e).as_deref(), Some("55000"));
    let one: i32 = s.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    let _ = single.kill();
    let _ = single.wait();
}
