//! SQLAlchemy 2 and Alembic against isola, unchanged, with PostgreSQL 15 side by side.
//!
//! The Alembic project `tests/alembic/` (its models: three tables with foreign keys ON DELETE
//! CASCADE / SET NULL, unique and check constraints, unique and multi-column indexes, server
//! defaults, NOT NULL, table and column comments) is copied into a temporary directory per
//! server and driven there: `alembic revision --autogenerate` against the empty database,
//! `upgrade head`, `check` (autogenerate against the upgraded database finds nothing), then
//! SQLAlchemy's inspector (`tests/python/inspect_schema.py`: columns, keys, foreign keys,
//! indexes, unique and check constraints, comments; through psycopg 3 and, the same, through
//! the asyncpg dialect of SQLAlchemy's asyncio extension). Then the same to the models' second
//! version (`ISOLA_MODELS=v2`: a second migration of ALTERs: a new table and foreign key,
//! columns added, dropped, retyped, made NOT NULL, new defaults and comments, indexes), then a
//! hand-written migration of the `op.*` calls autogenerate does not write
//! (`tests/alembic/handwritten/ops.py`: bulk_insert, rename_table, a column renamed, check and
//! unique constraints, ALTER TYPE ... USING, execute), then `downgrade -1` twice (each
//! inspected: as before the step it undoes) and `downgrade base` (no user table left but
//! `alembic_version`). isola runs as a process on a data directory and is SIGKILLed
//! and restarted after each upgrade, so what is checked and inspected was recovered from the
//! log. The migration files (without revision ids and date) and the inspections must be equal
//! on both servers.
//!
//! SQLAlchemy's ORM over the same models, through psycopg 3, psycopg2 and asyncpg (the asyncio
//! extension) (`tests/python/sqla_orm.py`: a unit of work with server defaults, selectinload, joins and
//! aggregates, bulk UPDATE, SAVEPOINT, ON DELETE CASCADE / SET NULL, constraint errors with
//! their SQLSTATE and the table, column and constraint they name) writes the same transcript
//! on both servers.
//!
//! `sa.Enum` columns (`tests/python/sqla_enums.py`: CREATE TYPE ... AS ENUM, values as Python
//! enum members, label order, the inspector's `get_enums` and reflected columns, `drop_all`)
//! write the same transcript on both servers, through psycopg 3 and psycopg2.
//!
//! COMMENT ON is checked apart: the same statements answer alike on both servers (errors
//! included), and on isola a comment is transactional and survives a SIGKILL, with and
//! without a checkpoint. So are the statement shapes asyncpg and its SQLAlchemy dialect send
//! that psycopg does not.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// A fresh temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("isola-sqla-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn url(port: u16) -> String {
    format!("postgresql://isola@127.0.0.1:{port}/isola")
}

/// `python3 ARGS` in `dir` with the pinned packages and the models of version `models`
/// (`ISOLA_MODELS`); its stdout, after asserting success.
fn python(pythonpath: &Path, dir: &Path, port: u16, models: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .current_dir(dir)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ISOLA_TEST_URL", url(port).replace("postgresql://", "postgresql+psycopg://"))
        .env("ISOLA_MODELS", models)
        .args(args)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python3 {args:?} on port {port}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The Alembic project copied into `dir` (with an empty `versions/`).
fn copy_project(dir: &Path) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alembic");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(dir.join("versions")).unwrap();
}

/// The migration autogenerate wrote with message `slug`, without what differs between runs
/// (revision ids, date).
fn migration(project: &Path, slug: &str) -> String {
    let files: Vec<PathBuf> = std::fs::read_dir(project.join("versions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(&format!("_{slug}.py")))
        .collect();
    assert_eq!(files.len(), 1, "one migration {slug}: {files:?}");
    let varies = ["Revision ID:", "Revises:", "Create Date:", "revision:", "down_revision:"];
    std::fs::read_to_string(&files[0])
        .unwrap()
        .lines()
        .filter(|l| !varies.iter().any(|v| l.starts_with(v)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The tables in `public`, by psql.
fn user_tables(port: u16) -> String {
    let out = Command::new(format!("{}/psql", common::PG_BIN))
        .args(["-X", "-At", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola"])
        .args(["-d", "isola", "-c"])
        .arg("SELECT relname FROM pg_class WHERE relnamespace = 2200 AND relkind = 'r' ORDER BY 1")
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The Alembic project in a temporary directory, against one server.
struct Project {
    dir: TempDir,
    pythonpath: PathBuf,
    name: &'static str,
    port: u16,
}

impl Project {
    /// `alembic ARGS` with the models of version `models`.
    fn alembic(&self, models: &str, args: &[&str]) -> String {
        let mut all = vec!["-m", "alembic", "-c", "alembic.ini"];
        all.extend_from_slice(args);
        python(&self.pythonpath, &self.dir.0, self.port, models, &all)
    }

    /// `alembic check`: the database is what the models of version `models` declare.
    fn check(&self, models: &str) {
        let out = self.alembic(models, &["check"]);
        let name = self.name;
        assert!(out.contains("No new upgrade operations detected"), "{name} {models}: {out}");
    }

    /// SQLAlchemy's inspector over every table, as JSON; through psycopg 3, and the same
    /// through the asyncpg dialect (SQLAlchemy's asyncio extension).
    fn inspect(&self) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/inspect_schema.py");
        let script = script.to_str().unwrap();
        let psycopg =
            python(&self.pythonpath, &self.dir.0, self.port, "", &[script, &url(self.port)]);
        let asyncpg = python(
            &self.pythonpath,
            &self.dir.0,
            self.port,
            "",
            &[script, &url(self.port), "--asyncpg"],
        );
        if psycopg != asyncpg {
            panic!(
                "{}: the inspection through asyncpg differs (- psycopg, + asyncpg):\n{}",
                self.name,
                common::golden::diff(&psycopg, &asyncpg)
            );
        }
        psycopg
    }
}

/// What one server went through: the migrations autogenerate wrote, and SQLAlchemy's
/// inspection at each step (named).
#[derive(Debug, PartialEq)]
struct Run {
    migrations: [String; 2],
    inspected: Vec<(&'static str, String)>,
}

/// The revision id a migration file declares (`revision: str = 'abc'` or `revision = "abc"`).
fn revision_of(project: &Path, slug: &str) -> String {
    let versions = project.join("versions");
    let file = std::fs::read_dir(&versions)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(&format!("_{slug}.py")))
        .unwrap_or_else(|| panic!("no migration {slug}"));
    let text = std::fs::read_to_string(file).unwrap();
    let line = text.lines().find(|l| l.starts_with("revision")).expect("a revision line");
    line.rsplit('=').next().unwrap().trim().trim_matches(['\'', '"']).to_string()
}

/// The Alembic cycle on the server at `port`: revision and upgrade to the models' first
/// version, check, inspect; the same to the second version; the hand-written migration
/// (`tests/alembic/handwritten/ops.py`) upgraded, inspected; then `downgrade -1` twice, each
/// inspected (it must read as before the step it undoes), and `downgrade base`. `restart` is
/// called after each upgrade and returns the port to go on with.
fn alembic_cycle(
    pythonpath: &Path,
    name: &'static str,
    port: u16,
    mut restart: impl FnMut() -> u16,
) -> Run {
    let mut p = Project {
        dir: TempDir::new(&format!("alembic-{name}")),
        pythonpath: pythonpath.to_path_buf(),
        name,
        port,
    };
    copy_project(&p.dir.0);
    let mut inspected = Vec::new();
    for (models, slug) in [("v1", "schema"), ("v2", "v2")] {
        p.alembic(models, &["revision", "--autogenerate", "-m", slug]);
        p.alembic(models, &["upgrade", "head"]);
        p.port = restart();
        p.check(models);
        inspected.push((slug, p.inspect()));
    }
    let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alembic/handwritten/ops.py");
    let ops =
        std::fs::read_to_string(ops).unwrap().replace("__HEAD__", &revision_of(&p.dir.0, "v2"));
    std::fs::write(p.dir.0.join("versions/ops3_ops.py"), ops).unwrap();
    p.alembic("v2", &["upgrade", "head"]);
    p.port = restart();
    inspected.push(("ops", p.inspect()));
    for (back_to, index) in [("v2 again", 1), ("schema again", 0)] {
        p.alembic("v2", &["downgrade", "-1"]);
        let now = p.inspect();
        assert_eq!(now, inspected[index].1, "{name}: the downgrade to {back_to} differs");
        inspected.push((back_to, now));
    }
    p.alembic("v1", &["downgrade", "base"]);
    assert_eq!(user_tables(p.port), "alembic_version\n", "{name}: tables left after downgrade");
    Run { migrations: [migration(&p.dir.0, "schema"), migration(&p.dir.0, "v2")], inspected }
}

fn start_isola(data: &Path) -> (Child, u16) {
    common::spawn_server(["--data", data.to_str().unwrap()])
}

#[test]
fn alembic_autogenerates_upgrades_checks_and_downgrades_as_on_postgres_15() {
    let pythonpath = PathBuf::from(common::python_asyncio_packages());
    let pg = common::Postgres::start();
    let expected = alembic_cycle(&pythonpath, "pg", pg.port, || pg.port);

    let data = TempDir::new("data");
    let (mut server, port) = start_isola(&data.0);
    let actual = alembic_cycle(&pythonpath, "isola", port, || {
        // SIGKILL: what is checked and inspected next was recovered from the log
        server.kill().unwrap();
        server.wait().unwrap();
        let (restarted, port) = start_isola(&data.0);
        server = restarted;
        port
    });
    let _ = server.kill();
    let _ = server.wait();
    for (i, (e, a)) in expected.migrations.iter().zip(&actual.migrations).enumerate() {
        if e != a {
            panic!(
                "migration {} differs (- PostgreSQL, + isola):\n{}",
                i + 1,
                common::golden::diff(e, a)
            );
        }
    }
    for ((when, e), (_, a)) in expected.inspected.iter().zip(&actual.inspected) {
        if e != a {
            panic!(
                "SQLAlchemy's inspector differs at {when} (- PostgreSQL, + isola):\n{}",
                common::golden::diff(e, a)
            );
        }
    }
}

/// `tests/python/sqla_orm.py` (SQLAlchemy's ORM over the project's models) on the server at
/// `port`, through `driver` (`psycopg`, `psycopg2` or `asyncpg`): its transcript.
fn orm_transcript(pythonpath: &Path, port: u16, driver: &str) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sqla_orm.py");
    let mut args = vec![script.to_str().unwrap().to_string(), url(port)];
    if driver != "psycopg" {
        args.push(format!("--{driver}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    python(pythonpath, Path::new(env!("CARGO_MANIFEST_DIR")), port, "", &args)
}

#[test]
fn the_orm_reads_writes_and_fails_as_on_postgres_15() {
    let pythonpath = PathBuf::from(common::python_asyncio_packages());
    let pg = common::Postgres::start();
    let isola = common::start_server();
    for driver in ["psycopg", "psycopg2", "asyncpg"] {
        let expected = orm_transcript(&pythonpath, pg.port, driver);
        let actual = orm_transcript(&pythonpath, isola, driver);
        if expected != actual {
            panic!(
                "the ORM's transcript through {driver} differs:\n{}",
                common::golden::diff(&expected, &actual)
            );
        }
    }
}

/// `tests/python/sqla_enums.py` (sa.Enum columns: CREATE TYPE, values, order, reflection,
/// drop_all) through psycopg and psycopg2: the same transcript on both servers.
#[test]
fn enum_columns_round_trip_and_reflect_as_on_postgres_15() {
    let pythonpath = common::python_packages();
    let pg = common::Postgres::start();
    let isola = common::start_server();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sqla_enums.py");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for driver in [None, Some("--psycopg2")] {
        let transcript = |port: u16| {
            let mut args = vec![script.to_str().unwrap().to_string(), url(port)];
            args.extend(driver.map(str::to_string));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            python(&pythonpath, dir, port, "", &args)
        };
        let (expected, actual) = (transcript(pg.port), transcript(isola));
        assert!(expected.contains("reflected labels"), "{expected}");
        if expected != actual {
            panic!(
                "enums through SQLAlchemy ({}) differ (- PostgreSQL, + isola):\n{}",
                driver.unwrap_or("psycopg"),
                common::golden::diff(&expected, &actual)
            );
        }
    }
}

/// What SQLAlchemy's asyncpg dialect and asyncpg itself send that psycopg does not (bind
/// casts, asyncpg's `jit` dance inside a transaction, vector types' elements), each answered
/// alike by both servers.
const ASYNCPG_SHAPES: &[&str] = &[
    "BEGIN",
    "SELECT current_setting('jit') IS NOT NULL, set_config('jit', 'off', false)",
    "SELECT current_setting('no.such_setting', true), current_setting('statement_timeout')",
    "SELECT oid, typname, typelem, typcategory FROM pg_type WHERE oid IN (19, 22, 30) \
     ORDER BY oid",
    "COMMIT",
    "CREATE TABLE shapes (id serial PRIMARY KEY, c char(4), v varchar(4))",
    "INSERT INTO shapes (c, v) VALUES ('ab', 'ab'), ('', '')",
    "SELECT c = v, c || '|', length(c), octet_length(c), c = 'ab', c::text, v = 'ab'::char(4) \
     FROM shapes ORDER BY id",
    "SELECT a.attname, a.attidentity != ''::CHAR, a.attidentity = ''::char FROM pg_attribute a \
     WHERE a.attrelid = 'shapes'::regclass AND a.attnum > 0 ORDER BY a.attnum",
    "SELECT CAST('shapes'::REGCLASS AS REGCLASS) = 'shapes'::regclass, \
     CAST('pg_catalog.pg_constraint'::REGCLASS AS REGCLASS) = 'pg_constraint'::regclass::oid",
    "DROP TABLE shapes",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_asyncpg_sends_answers_as_on_postgres_15() {
    let run = |port: u16| async move {
        let client = common::connect(port).await;
        let mut out = Vec::new();
        for sql in ASYNCPG_SHAPES {
            out.push(sql.to_string());
            out.extend(
                common::render(client.simple_query(sql).await).iter().map(|l| format!("> {l}")),
            );
        }
        out.join("\n")
    };
    let pg = common::Postgres::start();
    let expected = run(pg.port).await;
    let actual = run(common::start_server()).await;
    if expected != actual {
        panic!("differs (- PostgreSQL, + isola):\n{}", common::golden::diff(&expected, &actual));
    }
}

/// COMMENT ON statements and the reads of comments, as run by two sessions (`a:` / `b:`).
const COMMENT_SCRIPT: &[&str] = &[
    "a: CREATE TABLE cm (id int PRIMARY KEY, body text, gone int)",
    "a: CREATE INDEX cm_body_idx ON cm (body)",
    "a: COMMENT ON TABLE cm IS 'it''s a table \\ with a backslash'",
    "a: COMMENT ON COLUMN cm.body IS 'the body'",
    "a: COMMENT ON COLUMN public.cm.id IS $$key$$",
    "a: COMMENT ON COLUMN cm.gone IS 'soon gone'",
    "a: SELECT obj_description('cm'::regclass, 'pg_class'), obj_description('cm'::regclass), \
     col_description('cm'::regclass, 1), col_description('cm'::regclass, 2), \
     col_description('cm'::regclass, 9), obj_description('cm'::regclass, 'pg_type')",
    "a: SELECT objsubid, description, classoid = 'pg_class'::regclass FROM pg_description \
     WHERE objoid = 'cm'::regclass ORDER BY objsubid",
    "a: ALTER TABLE cm DROP COLUMN gone",
    "a: SELECT objsubid, description FROM pg_description WHERE objoid = 'cm'::regclass \
     ORDER BY objsubid",
    "a: COMMENT ON COLUMN cm.body IS ''",
    "a: COMMENT ON COLUMN cm.id IS NULL",
    "a: SELECT objsubid, description FROM pg_description WHERE objoid = 'cm'::regclass \
     ORDER BY objsubid",
    // transactional: the block's own until it commits, undone by rollbacks
    "a: BEGIN",
    "a: COMMENT ON TABLE cm IS 'in a block'",
    "a: SELECT obj_description('cm'::regclass)",
    "b: SELECT obj_description('cm'::regclass)",
    "a: ROLLBACK",
    "a: SELECT obj_description('cm'::regclass)",
    "a: BEGIN",
    "a: COMMENT ON COLUMN cm.body IS 'kept'",
    "a: SAVEPOINT s",
    "a: COMMENT ON TABLE cm IS 'after s'",
    "a: ROLLBACK TO SAVEPOINT s",
    "a: COMMIT",
    "b: SELECT obj_description('cm'::regclass), col_description('cm'::regclass, 2)",
    // errors
    "a: COMMENT ON TABLE nope IS 'x'",
    "a: COMMENT ON COLUMN cm.nope IS 'x'",
    "a: COMMENT ON COLUMN nope.x IS 'x'",
    "a: COMMENT ON COLUMN cm IS 'x'",
    "a: COMMENT ON TABLE cm_body_idx IS 'x'",
];

/// Runs [`COMMENT_SCRIPT`] on the server at `port`: each line with its answer.
async fn comment_script(port: u16) -> Vec<String> {
    let a = common::connect(port).await;
    let b = common::connect(port).await;
    let mut out = Vec::new();
    for line in COMMENT_SCRIPT {
        let (who, sql) = line.split_once(": ").unwrap();
        let client = if who == "a" { &a } else { &b };
        out.push(line.to_string());
        out.extend(common::render(client.simple_query(sql).await).iter().map(|l| format!("> {l}")));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_answer_as_on_postgres_15() {
    let pg = common::Postgres::start();
    let expected = comment_script(pg.port).await.join("\n");
    let actual = comment_script(common::start_server()).await.join("\n");
    if expected != actual {
        panic!("COMMENT ON differs:\n{}", common::golden::diff(&expected, &actual));
    }
}

/// One value read by a simple query.
async fn value(client: &tokio_postgres::Client, sql: &str) -> Option<String> {
    let messages = client.simple_query(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    messages.into_iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => Some(r.get(0).map(str::to_string)),
        _ => None,
    })?
}

/// The comments of table `cm` as one line: the table's, then its columns'.
const COMMENTS: &str = "SELECT coalesce(obj_description('cm'::regclass), '-') || ' / ' || \
                        coalesce(col_description('cm'::regclass, 1), '-') || ' / ' || \
                        coalesce(col_description('cm'::regclass, 2), '-')";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_survive_a_sigkill_and_uncommitted_ones_do_not() {
    let data = TempDir::new("comments");
    let (mut server, port) = start_isola(&data.0);
    let client = common::connect_when_up(port, &mut server).await;
    client
        .batch_execute(
            "CREATE TABLE cm (id int PRIMARY KEY, body text); \
             COMMENT ON TABLE cm IS 'it''s \\ the table'; \
             BEGIN; COMMENT ON COLUMN cm.body IS 'line one\nline two'; COMMIT",
        )
        .await
        .unwrap();
    let before = value(&client, COMMENTS).await;
    assert_eq!(before.as_deref(), Some("it's \\ the table / - / line one\nline two"));
    // left uncommitted at the kill
    let open = common::connect(port).await;
    open.batch_execute("BEGIN; COMMENT ON COLUMN cm.id IS 'never committed'").await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, port) = start_isola(&data.0);
    let client = common::connect_when_up(port, &mut server).await;
    assert_eq!(value(&client, COMMENTS).await, before, "after recovery from the log");
    client
        .batch_execute("CHECKPOINT; COMMENT ON COLUMN cm.id IS 'after the checkpoint'")
        .await
        .unwrap();
    let after = value(&client, COMMENTS).await;
    assert_eq!(
        after.as_deref(),
        Some("it's \\ the table / after the checkpoint / line one\nline two")
    );
    server.kill().unwrap();
    server.wait().unwrap();

    let (mut server, port) = start_isola(&data.0);
    let client = common::connect_when_up(port, &mut server).await;
    assert_eq!(value(&client, COMMENTS).await, after, "after a checkpoint and the log after it");
    let _ = server.kill();
    let _ = server.wait();
}
