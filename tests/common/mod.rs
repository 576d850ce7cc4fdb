//! What the end-to-end tests share: servers (in-process, or `isola serve` processes on ports
//! the kernel picks), clients, and the golden-file machinery (error format, answers, one test
//! per file).

pub mod cluster;

/// Starts an in-process server in a background runtime on a port the kernel picks; returns the
/// port. The listener is bound here and handed to the server, so no one else can take the port.
#[allow(dead_code)] // not every test file starts an in-memory server
pub fn start_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(isola::server::THREAD_STACK_BYTES)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let engine = isola::sql::Engine::new(isola::Database::new());
            let _ = isola::server::serve(engine, listener, isola::server::ServerConfig::default())
                .await;
        });
    });
    port
}

/// The lines of a golden file as written by hand (expected output, `> ...`, left out), each
/// with the command it holds: `None` for a blank line or a `#` comment.
#[allow(dead_code)]
pub fn script_lines(text: &str) -> Vec<(&str, Option<&str>)> {
    text.lines()
        .filter(|line| !(line.starts_with("> ") || *line == ">"))
        .map(|line| {
            let trimmed = line.trim();
            let command = !(trimmed.is_empty() || trimmed.starts_with('#'));
            (line, command.then_some(trimmed))
        })
        .collect()
}

/// Runs `work` to completion on a runtime of its own (two workers), for a golden runner that
/// drives one file's clients.
#[allow(dead_code)]
pub fn run_on_own_runtime<T>(work: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(work)
}

/// A tokio-postgres client on the server at `port` (user and database `isola`); its connection
/// task runs on the caller's runtime.
#[allow(dead_code)] // not every test file connects this way
pub async fn connect(port: u16) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!("host=127.0.0.1 port={port} user=isola dbname=isola"),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// An error's SQLSTATE, or a description when it has none (a closed connection, say).
#[allow(dead_code)]
pub fn code(e: &tokio_postgres::Error) -> String {
    e.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no code: {e}"))
}

/// A client on a server process just started on `port`, waiting (bounded: 30 s) for it to
/// finish recovery and listen; panics if the process exits meanwhile.
#[allow(dead_code)]
pub async fn connect_when_up(
    port: u16,
    server: &mut std::process::Child,
) -> tokio_postgres::Client {
    let url = format!("host=127.0.0.1 port={port} user=isola dbname=isola");
    for _ in 0..600 {
        if let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            return client;
        }
        if let Some(status) = server.try_wait().unwrap() {
            panic!("isola serve exited during startup: {status}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("isola serve did not come up");
}

/// An error as the golden files show it, one string per line: `error CODE message`, then
/// `DETAIL: detail` when there is one. Core scripts (`tests/scripts/`), SQL scripts
/// (`tests/sql/`) and planner files (`tests/planner/`) all print errors this way.
#[allow(dead_code)]
pub fn error_lines(code: &str, message: &str, detail: Option<&str>) -> Vec<String> {
    let mut lines = vec![format!("error {code} {message}")];
    lines.extend(detail.map(|d| format!("DETAIL: {d}")));
    lines
}

/// A simple-query answer as golden lines: rows as `(v, ...)` (SQL NULL as `null`), or
/// `no rows`; a command as `ok [N]` (N rows affected); an error as [`error_lines`] (its
/// message with transaction numbers written `T#`, and without its detail). EXPLAIN's lines
/// (a `QUERY PLAN` column) have their transaction numbers written `T#` too.
#[allow(dead_code)]
pub fn render(
    result: Result<Vec<tokio_postgres::SimpleQueryMessage>, tokio_postgres::Error>,
) -> Vec<String> {
    use tokio_postgres::SimpleQueryMessage;
    let messages = match result {
        Ok(m) => m,
        Err(e) => {
            return match e.as_db_error() {
                Some(db) => error_lines(db.code().code(), &normalize_ids(db.message()), None),
                None => error_lines("(no SQLSTATE)", &e.to_string(), None),
            };
        }
    };
    let mut lines = Vec::new();
    let mut described = false;
    let mut plan = false;
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(columns) => {
                described = true;
                plan = columns.len() == 1 && columns[0].name() == "QUERY PLAN";
            }
            SimpleQueryMessage::Row(row) => {
                let values: Vec<String> = (0..row.len())
                    .map(|i| match row.get(i) {
                        Some(v) if plan => normalize_ids(v),
                        Some(v) => v.to_string(),
                        None => "null".into(),
                    })
                    .collect();
                lines.push(format!("({})", values.join(", ")));
            }
            SimpleQueryMessage::CommandComplete(n) => {
                if described {
                    if lines.is_empty() {
                        lines.push("no rows".into());
                    }
                } else if n == 0 {
                    lines.push("ok".into());
                } else {
                    lines.push(format!("ok {n}"));
                }
                described = false;
            }
            _ => {}
        }
    }
    lines
}

/// `T123` → `T#`: transaction numbers depend on how many transactions ran before.
#[allow(dead_code)]
pub fn normalize_ids(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    let mut prev_alnum = false;
    while let Some(c) = chars.next() {
        if c == 'T' && !prev_alnum && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
            }
            out.push_str("T#");
            prev_alnum = true;
            continue;
        }
        prev_alnum = c.is_alphanumeric();
        out.push(c);
    }
    out
}

/// Golden files: a runner reads a file, runs its input lines and returns the file as it should
/// be (input lines kept, `> ` output lines regenerated); the test fails if that differs from
/// the file. `UPDATE_GOLDENFILES=1` rewrites the files instead (then read the diff: a golden
/// file is only as good as its review).
#[allow(dead_code)]
pub mod golden {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// Whether `UPDATE_GOLDENFILES` asks for the files to be rewritten (set, and not `0`).
    pub fn update_requested() -> bool {
        std::env::var_os("UPDATE_GOLDENFILES").is_some_and(|v| !v.is_empty() && v != "0")
    }

    /// `tests/FOLDER` in the package.
    pub fn folder(folder: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(folder)
    }

    /// Runs `tests/FOLDER/FILE` with `run` and compares (or, when asked, rewrites). With
    /// `SCRIPT=text` set, a file whose name does not contain `text` is skipped (passes); cargo's
    /// own filter (`cargo test --test scripts text`) does the same by test name.
    pub fn check(folder_name: &str, file: &str, run: fn(&Path) -> String) {
        if std::env::var("SCRIPT").is_ok_and(|only| !file.contains(only.as_str())) {
            return;
        }
        let path = folder(folder_name).join(file);
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let actual = run(&path);
        if actual == expected {
            return;
        }
        if update_requested() {
            std::fs::write(&path, &actual).unwrap();
            return;
        }
        panic!(
            "{} differs from what it ran to (UPDATE_GOLDENFILES=1 rewrites it):\n{}",
            path.display(),
            diff(&expected, &actual)
        );
    }

    /// Fails unless the files `tests/FOLDER/*.EXT` are exactly the `listed` names (without
    /// the extension): a file without a test would be skipped silently.
    pub fn check_listed(folder_name: &str, extension: &str, listed: &[&str]) {
        let on_disk: BTreeSet<String> = std::fs::read_dir(folder(folder_name))
            .unwrap_or_else(|e| panic!("tests/{folder_name}: {e}"))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        let listed: BTreeSet<String> = listed.iter().map(|s| s.to_string()).collect();
        let without_test: Vec<_> = on_disk.difference(&listed).collect();
        let without_file: Vec<_> = listed.difference(&on_disk).collect();
        assert!(
            without_test.is_empty() && without_file.is_empty(),
            "tests/{folder_name}/*.{extension} and the golden_tests! list differ: files without \
             a test (add them to the list): {without_test:?}; tests without a file: \
             {without_file:?}"
        );
    }

    /// The lines that differ (a longest-common-subsequence diff), numbered: `-` expected,
    /// `+` produced; at most 80 lines.
    pub fn diff(expected: &str, actual: &str) -> String {
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        // lcs[i][j]: the longest common subsequence of e[i..] and a[j..].
        let mut lcs = vec![vec![0u32; a.len() + 1]; e.len() + 1];
        for i in (0..e.len()).rev() {
            for j in (0..a.len()).rev() {
                lcs[i][j] = if e[i] == a[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < e.len() || j < a.len() {
            if i < e.len() && j < a.len() && e[i] == a[j] {
                i += 1;
                j += 1;
            } else if i < e.len() && (j == a.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.push(format!("{:>5} - {}", i + 1, e[i]));
                i += 1;
            } else {
                out.push(format!("{:>5} + {}", j + 1, a[j]));
                j += 1;
            }
        }
        if expected.ends_with('\n') != actual.ends_with('\n') {
            out.push("(the files differ in their final newline)".into());
        }
        let shown = out.len().min(80);
        let mut text = out[..shown].join("\n");
        if out.len() > shown {
            text.push_str(&format!("\n... and {} more", out.len() - shown));
        }
        text
    }
}

/// One `#[test]` per golden file `tests/FOLDER/NAME.EXT`, named after it, that runs it with
/// `RUN` (`fn(&Path) -> String`: the file as it should be) through [`golden::check`]; and
/// `every_file_is_listed`, which fails when a file in the folder has no test here or a name
/// here has no file, so that a new file cannot be skipped silently.
///
/// `golden_tests!("FOLDER", "EXT", RUN, [name, ...]);`
#[allow(unused_macros)]
macro_rules! golden_tests {
    ($folder:literal, $extension:literal, $run:expr, [$($name:ident),+ $(,)?]) => {
        $(
            #[test]
            fn $name() {
                $crate::common::golden::check(
                    $folder,
                    concat!(stringify!($name), ".", $extension),
                    $run,
                );
            }
        )+

        #[test]
        fn every_file_is_listed() {
            $crate::common::golden::check_listed($folder, $extension, &[$(stringify!($name)),+]);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use golden_tests;

/// `isola serve ARGS` as a child process on a port the kernel picks (`--listen 127.0.0.1:0`);
/// returns it with the port it printed. See [`spawn_server_at`].
#[allow(dead_code)]
pub fn spawn_server<I, S>(args: I) -> (std::process::Child, u16)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    spawn_server_at("127.0.0.1:0", args)
}

/// How long a server process may take to listen (recovery included) before a test gives up.
#[allow(dead_code)]
const STARTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// `isola serve --listen LISTEN ARGS` as a child process; returns it once it listens, with the
/// port from the line it prints then (`isola listening on 127.0.0.1:PORT, ...`). Its stdout
/// is drained by a thread for as long as it runs (it never blocks on a full pipe); its stderr
/// is passed on to the test's (captured) stderr and kept: if it exits before listening, or
/// does not listen within [`STARTUP_TIMEOUT`], this panics with it.
///
/// Blocking: from a multi-threaded tokio runtime it runs in `block_in_place`, so the runtime's
/// other tasks go on meanwhile.
#[allow(dead_code)]
pub fn spawn_server_at<I, S>(listen: &str, args: I) -> (std::process::Child, u16)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex, mpsc};
    use std::time::{Duration, Instant};

    let args: Vec<std::ffi::OsString> =
        args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
    let described = format!("isola serve --listen {listen} {args:?}");
    let start = move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_isola"))
            .args(["serve", "--listen", listen])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {described}: {e}"));
        let stderr_text = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = stderr_text.clone();
        let stderr_thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        let (port_tx, port_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
            }
        });
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            match port_rx.recv_timeout(Duration::from_millis(20)) {
                Ok(port) => return (child, port),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // Stdout closed: the process is ending; wait for its status below.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
            }
            if let Some(status) = child.try_wait().unwrap() {
                let _ = stderr_thread.join();
                panic!(
                    "{described} exited before listening ({status}); its stderr:\n{}",
                    stderr_text.lock().unwrap()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let _ = stderr_thread.join();
                panic!(
                    "{described} did not listen within {STARTUP_TIMEOUT:?}; its stderr:\n{}",
                    stderr_text.lock().unwrap()
                );
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(start)
        }
        _ => start(),
    }
}

/// The port in `isola listening on 127.0.0.1:PORT, ...`, the line `isola serve` prints once it
/// listens.
#[allow(dead_code)]
fn listening_port(line: &str) -> Option<u16> {
    let address = line.strip_prefix("isola listening on ")?.split(',').next()?;
    address.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

/// The Python packages the end-to-end tests drive, each pinned to an exact version.
#[allow(dead_code)]
pub const PYTHON_PACKAGES: &[&str] = &[
    "psycopg[binary]==3.3.9",
    "psycopg2-binary==2.9.13",
    "asyncpg==0.32.0",
    "sqlalchemy==2.1.9",
    "alembic==1.20.1",
    "django==5.2.19",
];

/// The modules [`PYTHON_PACKAGES`] provide, imported to tell whether they are installed.
#[allow(dead_code)]
const PYTHON_MODULES: &str = "psycopg, psycopg2, asyncpg, sqlalchemy, alembic, django";

/// A PYTHONPATH under which every one of [`PYTHON_PACKAGES`] imports: the test target's
/// `python-deps` folder, installed there with pip the first time (so `cargo test` needs no more
/// than python3 with pip). Tests of one binary that ask at once install it once.
#[allow(dead_code)]
pub fn python_packages() -> std::path::PathBuf {
    use std::process::Command;
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-deps");
    let imports = |dir: &std::path::Path| {
        Command::new("python3")
            .env("PYTHONPATH", dir)
            .args(["-c", &format!("import {PYTHON_MODULES}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !imports(&dir) {
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"])
            .arg("--target")
            .arg(&dir)
            .args(PYTHON_PACKAGES)
            .output()
            .expect("python3 -m pip runs");
        assert!(out.status.success(), "pip install: {}", String::from_utf8_lossy(&out.stderr));
        assert!(imports(&dir), "the Python packages do not import after installing them");
    }
    dir
}

/// Where PostgreSQL 15's programs are on every machine.
#[allow(dead_code)]
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A throwaway PostgreSQL 15 cluster on a free loopback port, with a database `isola` owned by
/// user `isola` (trust auth); run as `postgres` when the tests run as root. Stopped and
/// removed when dropped.
#[allow(dead_code)]
pub struct Postgres {
    pub dir: std::path::PathBuf,
    pub port: u16,
}

/// `command` in a shell, as the `postgres` user when this process is root (initdb refuses root).
#[allow(dead_code)]
pub fn as_postgres(command: &str) -> std::process::Output {
    use std::process::Command;
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if root {
        Command::new("su").args(["postgres", "-c", command]).output().unwrap()
    } else {
        Command::new("bash").args(["-c", command]).output().unwrap()
    }
}

#[allow(dead_code)]
impl Postgres {
    pub fn start() -> Postgres {
        use std::process::Command;
        // PostgreSQL cannot be told to take a port the kernel picks and report it, so this picks
        // a free one and hands it over: another process could take it in between (pg_ctl then
        // fails, and so does the assert below), a window of milliseconds.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("isola-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres", dir.to_str().unwrap()]).output();
        let d = dir.display();
        let out = as_postgres(&format!("{PG_BIN}/initdb -D {d}/data -U isola --auth=trust"));
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        // A short deadlock_timeout: PostgreSQL's default waits 1 s before looking for a
        // deadlock, which would make behaviour checks slow, not different.
        let out = as_postgres(&format!(
            "{PG_BIN}/pg_ctl -D {d}/data -l {d}/log -w -o '-p {port} -k {d} \
             -c listen_addresses=127.0.0.1 -c deadlock_timeout=20ms -c fsync=off' start"
        ));
        assert!(out.status.success(), "pg_ctl: {}", String::from_utf8_lossy(&out.stderr));
        let pg = Postgres { dir, port };
        pg.psql("postgres", "CREATE DATABASE isola");
        pg
    }

    /// `psql -c SQL` on database `db` as user `isola`, asserting it succeeds; its stdout.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = std::process::Command::new(format!("{PG_BIN}/psql"))
            .args(["-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "isola"])
            .args(["-p", &self.port.to_string(), "-d", db, "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        as_postgres(&format!("{PG_BIN}/pg_ctl -D {}/data -m immediate stop", self.dir.display()));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// greenlet, which SQLAlchemy's asyncio extension needs (not among [`PYTHON_PACKAGES`]).
#[allow(dead_code)]
pub const PYTHON_ASYNCIO_PACKAGES: &[&str] = &["greenlet==3.5.6"];

/// A PYTHONPATH with [`python_packages`] and [`PYTHON_ASYNCIO_PACKAGES`] (installed with pip
/// into the test target's `python-asyncio-deps` the first time), for SQLAlchemy's asyncio
/// extension over asyncpg.
#[allow(dead_code)]
pub fn python_asyncio_packages() -> std::ffi::OsString {
    use std::process::Command;
    let base = python_packages();
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-asyncio-deps");
    let joined = std::env::join_paths([&base, &dir]).unwrap();
    let imports = || {
        Command::new("python3")
            .env("PYTHONPATH", &joined)
            .args(["-c", "import greenlet, sqlalchemy.ext.asyncio"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !imports() {
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade"])
            .arg("--target")
            .arg(&dir)
            .args(PYTHON_ASYNCIO_PACKAGES)
            .output()
            .expect("python3 -m pip runs");
        assert!(out.status.success(), "pip install: {}", String::from_utf8_lossy(&out.stderr));
        assert!(imports(), "greenlet does not import after installing it");
    }
    joined
}
