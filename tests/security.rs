//! Who may connect: the real `isola serve` binary with a password file (SCRAM-SHA-256) and with
//! a TLS certificate, driven by psql and tokio-postgres over real sockets; and the refusal to
//! listen beyond loopback without passwords.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};

mod common;

const PSQL: &str = "/usr/lib/postgresql/15/bin/psql";

/// The verifier PostgreSQL stores for password "secret" with salt "saltsaltsaltsalt".
const PG_VERIFIER_OF_SECRET: &str = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$Ce3wZiZ+yIBCjltccfRiqM0+XDsLE3qPdkEeZKe3hus=:k3q4nlLsA09ST5FLo9zNmfyXR+Ci1J4KmBK5JRVSxeI=";

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "security-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `isola serve --memory` with `extra` arguments on a port the kernel picks and waits
/// for its "listening" line (which names the port).
fn serve(extra: &[&str]) -> Server {
    let (child, port) = common::spawn_server(["--memory"].iter().chain(extra));
    Server { child, port }
}

fn psql(port: u16, user: &str, password: Option<&str>, sslmode: &str, sql: &str) -> Output {
    let mut cmd = Command::new(PSQL);
    cmd.arg(format!("host=127.0.0.1 port={port} user={user} dbname=isola sslmode={sslmode}"))
        .args(["-X", "-A", "-t", "-w", "-c", sql])
        .env_remove("PGPASSWORD")
        .env("PGCONNECT_TIMEOUT", "20");
    if let Some(p) = password {
        cmd.env("PGPASSWORD", p);
    }
    cmd.output().expect("running psql")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim().to_string()
}

#[test]
fn with_a_password_file_every_client_authenticates_with_scram() {
    let dir = TempDir::new("scram");
    let file = dir.0.join("passwords");
    std::fs::write(
        &file,
        format!("# isola users\nalice:wonderland\nbob:{PG_VERIFIER_OF_SECRET}\n"),
    )
    .unwrap();
    let server = serve(&["--password-file", file.to_str().unwrap()]);

    let ok = psql(server.port, "alice", Some("wonderland"), "disable", "select 40 + 2");
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "42");
    // A verifier copied from PostgreSQL's pg_authid works as it is.
    let ok = psql(server.port, "bob", Some("secret"), "disable", "select current_user");
    assert!(ok.status.success(), "{}", stderr(&ok));

    // Wrong password, unknown user and no password: refused, the same words for the first two.
    let wrong = psql(server.port, "alice", Some("alice"), "disable", "select 1");
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("password authentication failed for user \"alice\""),
        "{}",
        stderr(&wrong)
    );
    let unknown = psql(server.port, "mallory", Some("wonderland"), "disable", "select 1");
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("password authentication failed for user \"mallory\""),
        "{}",
        stderr(&unknown)
    );
    let none = psql(server.port, "alice", None, "disable", "select 1");
    assert!(!none.status.success());
    assert!(stderr(&none).contains("password"), "{}", stderr(&none));

    // tokio-postgres: the SQLSTATE of the refusal is 28P01, and a right password connects.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = |pw: &str| {
            format!("host=127.0.0.1 port={} user=alice password={pw} dbname=isola", server.port)
        };
        let err = tokio_postgres::connect(&url("nope"), tokio_postgres::NoTls).await.err().unwrap();
        assert_eq!(err.code().map(|c| c.code()), Some("28P01"), "{err}");
        let (client, conn) =
            tokio_postgres::connect(&url("wonderland"), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let row = client.query_one("select 1 + 1", &[]).await.unwrap();
        assert_eq!(row.get::<_, i32>(0), 2);
    });

    // The server kept serving through the refusals.
    let ok = psql(server.port, "alice", Some("wonderland"), "disable", "select 'still here'");
    assert_eq!(stdout(&ok), "still here");
}

#[test]
fn tls_is_offered_with_a_certificate_and_refused_cleanly_without() {
    let dir = TempDir::new("tls");
    let (cert, key) = (dir.0.join("server.crt"), dir.0.join("server.key"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj"])
        .arg("/CN=localhost")
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("running openssl");
    assert!(made.status.success(), "{}", stderr(&made));

    let server = serve(&["--tls-cert", cert.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    let over_tls = psql(server.port, "isola", None, "require", "select 'over tls'");
    assert_eq!(stdout(&over_tls), "over tls", "{}", stderr(&over_tls));
    let conninfo = Command::new(PSQL)
        .arg(format!("host=127.0.0.1 port={} user=isola dbname=isola sslmode=require", server.port))
        .args(["-X", "-c", "\\conninfo"])
        .output()
        .unwrap();
    assert!(conninfo.status.success(), "{}", stderr(&conninfo));
    assert!(
        stdout(&conninfo).contains("SSL connection (protocol: TLSv1."),
        "{}",
        stdout(&conninfo)
    );
    let plain = psql(server.port, "isola", None, "disable", "select 'plain'");
    assert_eq!(stdout(&plain), "plain", "{}", stderr(&plain));

    // Without a certificate: an SSLRequest gets 'N'; "prefer" falls back, "require" fails.
    let server = serve(&[]);
    let prefer = psql(server.port, "isola", None, "prefer", "select 'fallback'");
    assert_eq!(stdout(&prefer), "fallback", "{}", stderr(&prefer));
    let require = psql(server.port, "isola", None, "require", "select 1");
    assert!(!require.status.success());
    assert!(stderr(&require).contains("server does not support SSL"), "{}", stderr(&require));

    // Half a TLS configuration is refused at startup.
    let half = Command::new(env!("CARGO_BIN_EXE_isola"))
        .args(["serve", "--memory", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(half.status.code(), Some(2));
    assert!(stderr(&half).contains("--tls-key"), "{}", stderr(&half));
}

#[test]
fn beyond_loopback_the_server_refuses_to_start_without_passwords() {
    let out = Command::new(env!("CARGO_BIN_EXE_isola"))
        .args(["serve", "--memory", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--password-file"), "{}", stderr(&out));

    let dir = TempDir::new("badfile");
    let file = dir.0.join("passwords");
    std::fs::write(&file, "alice\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_isola"))
        .args(["serve", "--memory", "--listen", "127.0.0.1:0", "--password-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 1"), "{}", stderr(&out));
}
