//! Django 5.2's management commands and ORM against isola, unchanged, with PostgreSQL 15 side
//! by side as the reference: the project `tests/django_tools/` (django.contrib's auth, admin,
//! contenttypes, sessions, messages and staticfiles, and the app `catalog`: foreign keys with
//! CASCADE and PROTECT, unique_together, a UniqueConstraint, CheckConstraints, indexes,
//! decimal, boolean, date-time and JSON fields) is copied to a temporary directory, where the commands may write
//! migrations, and driven with `python3 manage.py ...` against both servers.
//!
//! - `migrations_and_inspectdb`: `migrate` from scratch; `inspectdb` prints the same models on
//!   both; the models changed (`models_v2.py`: fields added, removed, renamed, a length
//!   changed, a model, a constraint and an index added), `makemigrations` + `migrate`, and
//!   `inspectdb` agrees again; `migrate catalog 0001` takes isola back to the first schema,
//!   `migrate catalog zero` drops the app's tables, `migrate` brings them back.
//! - `orm_and_fixtures`: `orm.py` (bulk_create through `UNNEST`, `.iterator()`'s server-side
//!   cursors, `__regex`, aggregates with `filter=`, JSONField and date lookups,
//!   `select_for_update` (also over joins), PROTECT / CASCADE, constraint violations) prints the same answers on both; `dumpdata`
//!   prints the same fixture on both; after `flush` + `loaddata` isola dumps it again byte
//!   for byte, and new rows get ids past the loaded ones; the admin site (through Django's
//!   test client) answers as on PostgreSQL.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A copy of `tests/django_tools/` in a temporary directory, removed when dropped.
struct Project {
    dir: PathBuf,
    pythonpath: PathBuf,
}

impl Project {
    fn new(name: &str) -> Project {
        let dir =
            std::env::temp_dir().join(format!("isola-tools-django-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_tools"), &dir);
        Project { dir, pythonpath: common::python_packages() }
    }

    /// `python3 SCRIPT ARGS` in the project against the server at `port` (database `isola`),
    /// with `stdin` as its input: its stdout, after checking that it succeeded.
    fn python(&self, port: u16, script: &str, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new("python3")
            .current_dir(&self.dir)
            .env("PYTHONPATH", &self.pythonpath)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("DB_PORT", port.to_string())
            .env("DB_NAME", "isola")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script} {args:?} on port {port} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `manage.py ARGS` against the server at `port`: its stdout.
    fn manage(&self, port: u16, args: &[&str]) -> String {
        self.python(port, "manage.py", args, "")
    }

    /// `manage.py inspectdb`, checked to have inspected every table.
    fn inspectdb(&self, port: u16) -> String {
        let models = self.manage(port, &["inspectdb"]);
        assert!(!models.contains("Unable to inspect"), "inspectdb on port {port}:\n{models}");
        models
    }

    /// Puts `models_v2.py` in place of the app's models and makes the migration for it
    /// (answering yes to "Was product.stock renamed to product.quantity?").
    fn change_models(&self, port: u16) {
        std::fs::copy(self.dir.join("models_v2.py"), self.dir.join("catalog/models.py")).unwrap();
        let out = self.python(port, "manage.py", &["makemigrations", "catalog"], "y\n");
        assert!(out.contains("Rename field stock on product to quantity"), "{out}");
        let made = std::fs::read_dir(self.dir.join("catalog/migrations"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("0002_"))
            .count();
        assert_eq!(made, 1, "{out}");
    }

    /// `dumpdata` of everything but what `migrate` makes by itself, as JSON.
    fn dumpdata(&self, port: u16) -> String {
        let args = [
            "dumpdata",
            "--indent",
            "1",
            "--natural-foreign",
            "-e",
            "contenttypes",
            "-e",
            "auth.permission",
            "-e",
            "sessions",
            "-e",
            "admin.logentry",
        ];
        self.manage(port, &args)
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fails with the lines that differ unless `isola` (what isola gave) equals `reference`.
fn assert_same(reference: &str, isola: &str, what: &str) {
    assert!(
        reference == isola,
        "{what} differs (- reference, + isola):\n{}",
        common::golden::diff(reference, isola)
    );
}

/// Copies a directory tree (without Python's caches).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn migrations_and_inspectdb() {
    let project = Project::new("migrations");
    let isola = common::start_server();
    let pg = common::Postgres::start();
    for port in [isola, pg.port] {
        let out = project.manage(port, &["migrate"]);
        for applied in ["contenttypes.0001_initial", "auth.0012", "admin.0003", "catalog.0001"] {
            assert!(out.contains(&format!("Applying {applied}")), "{out}");
        }
    }
    let first = project.inspectdb(pg.port);
    assert!(first.contains("class CatalogProduct(models.Model):"), "{first}");
    assert!(first.contains("price = models.DecimalField(max_digits=10, decimal_places=2)"));
    assert_same(&first, &project.inspectdb(isola), "inspectdb");

    project.change_models(isola);
    for port in [isola, pg.port] {
        let out = project.manage(port, &["migrate"]);
        assert!(out.contains("Applying catalog.0002"), "{out}");
    }
    let second = project.inspectdb(pg.port);
    assert!(second.contains("class CatalogReview(models.Model):"), "{second}");
    assert_same(&second, &project.inspectdb(isola), "inspectdb after the change");

    // backwards to the first migration (a column removed comes back last), to none, and
    // forwards again, on both
    for (target, gone) in [("0001", "0002"), ("zero", "0001_initial")] {
        let mut reference = String::new();
        for port in [pg.port, isola] {
            let out = project.manage(port, &["migrate", "catalog", target]);
            assert!(out.contains(&format!("Unapplying catalog.{gone}")), "{out}");
            let models = project.inspectdb(port);
            if port == pg.port {
                reference = models;
            } else {
                assert_same(
                    &reference,
                    &models,
                    &format!("inspectdb after migrate catalog {target}"),
                );
            }
        }
    }
    for port in [pg.port, isola] {
        let out = project.manage(port, &["migrate"]);
        assert!(out.contains("Applying catalog.0001") && out.contains("Applying catalog.0002"));
    }
    assert_same(
        &project.inspectdb(pg.port),
        &project.inspectdb(isola),
        "inspectdb, migrated again",
    );
    let out = project.manage(isola, &["migrate", "admin", "zero"]);
    assert!(out.contains("Unapplying admin.0001_initial... OK"), "{out}");
    project.manage(isola, &["migrate"]);
    assert_same(&second, &project.inspectdb(isola), "inspectdb after migrate admin zero");
}

#[test]
fn orm_and_fixtures() {
    let project = Project::new("orm");
    let isola = common::start_server();
    let pg = common::Postgres::start();
    project.change_models(isola);
    let steps = ["populate", "queries", "locking", "constraints", "people"];
    let mut answers = Vec::new();
    for port in [isola, pg.port] {
        project.manage(port, &["migrate"]);
        answers.push(project.python(port, "orm.py", &steps, ""));
    }
    let (on_isola, on_pg) = (&answers[0], &answers[1]);
    for line in ["bulk_create categories unnest true", "bulk_create products unnest 3"] {
        assert!(on_pg.contains(line), "{on_pg}");
    }
    assert!(on_pg.contains("aggregate filter {") && on_pg.contains("\"n_active\": 90"));
    assert!(on_pg.contains("select_for_update of, over a join [\"SKU-0001\", \"SKU-0006\"]"));
    assert!(on_pg.contains("iterator server-side cursor [\"SKU-0000\", 1]"), "{on_pg}");
    for (i, (a, b)) in on_isola.lines().zip(on_pg.lines()).enumerate() {
        assert_eq!(a, b, "line {} of orm.py's answers: isola, then PostgreSQL", i + 1);
    }
    assert_eq!(on_isola.lines().count(), on_pg.lines().count(), "{on_isola}\n---\n{on_pg}");

    let dump = project.dumpdata(isola);
    assert_same(&project.dumpdata(pg.port), &dump, "dumpdata");
    assert!(dump.contains("\"model\": \"catalog.product\"") && dump.contains("\"alice\""));
    std::fs::write(project.dir.join("dump.json"), &dump).unwrap();
    project.manage(isola, &["flush", "--noinput"]);
    assert!(!project.dumpdata(isola).contains("catalog.product"));
    let out = project.manage(isola, &["loaddata", "dump.json"]);
    assert!(out.contains("Installed 110 object(s) from 1 fixture(s)"), "{out}");
    assert_same(&dump, &project.dumpdata(isola), "dumpdata after flush and loaddata");
    let after = project.python(isola, "orm.py", &["after_load"], "");
    assert_eq!(after.trim(), r#"after load {"max ids": [5, 119], "new ids": [6, 120]}"#);

    // the admin site (login, change lists with search, filters and the date hierarchy, a
    // change form, a delete confirmation) answers as on PostgreSQL
    let on_isola = project.python(isola, "orm.py", &["admin"], "");
    let on_pg = project.python(pg.port, "orm.py", &["admin"], "");
    assert!(on_pg.contains("admin pages [200, 200, 200, 200, 200, 200]"), "{on_pg}");
    assert_same(&on_pg, &on_isola, "orm.py admin");
}
