//! Django's test runner against isola, as a Django project runs its tests: `manage.py test`
//! connects to the database `postgres`, runs `CREATE DATABASE "test_shop"`, connects to it,
//! applies the migrations, runs the tests (`tests/django/shop/tests.py`), and drops it at the
//! end; `--keepdb` keeps it for the next run, and a run that finds it left over drops and
//! creates it again (`--noinput`). Django and psycopg are installed (pinned) into the test's
//! target directory when the machine's Python does not have them.

mod common;

use std::path::Path;
use std::process::Command;

/// `manage.py test shop ARGS` against the server at `port`: its output, after checking that
/// it ran both tests and passed.
fn manage_py_test(pythonpath: &Path, port: u16, args: &[&str]) -> String {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django");
    let out = Command::new("python3")
        .current_dir(&project)
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ISOLA_PORT", port.to_string())
        .args(["manage.py", "test", "shop", "--noinput"])
        .args(args)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("Ran 2 tests") && text.contains("OK"), "{text}");
    text
}

#[test]
fn django_manage_py_test_creates_uses_and_drops_its_test_database() {
    let pythonpath = common::python_packages();
    let port = common::start_server();
    let out = manage_py_test(&pythonpath, port, &[]);
    assert!(out.contains("Destroying test database"), "{out}");
    // Kept, found again, kept; then a run without --keepdb finds it left over: Django's
    // CREATE DATABASE gets 42P04, drops it and creates it again.
    let out = manage_py_test(&pythonpath, port, &["--keepdb"]);
    assert!(out.contains("Preserving test database"), "{out}");
    manage_py_test(&pythonpath, port, &["--keepdb"]);
    let out = manage_py_test(&pythonpath, port, &[]);
    assert!(out.contains("Destroying test database"), "{out}");
}
