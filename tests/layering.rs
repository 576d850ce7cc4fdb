//! The crate's layering, checked: no module of `src/` (but `src/bin/`) refers to a module of a
//! higher layer. Layers are listed bottom up in [`LAYERS`]; a reference to the same layer or a
//! lower one is fine. The references are read from the source text: `use` trees
//! (`use crate::a::b`, `use crate::{a, b::{c, self}}`, `use super::x`, and in a file that
//! declares `mod m`, `use m::x`), and paths in code (`crate::a::b`, `super::super::c`,
//! `self::d`), with `super::` and `self::` resolved against the file's module path (inline
//! `mod m { ... }` blocks included). Comments and string and character literals are skipped.
//!
//! The crate root (`src/lib.rs`) is exempt: it declares and re-exports everything. A reference
//! to a re-exported name (`crate::Error`, `crate::Database`) counts as a reference to where
//! `lib.rs` re-exports it from. A path that maps to no layer (a root macro, say) is ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom up: a layer's name and the module path prefixes (below `crate::`) that
/// belong to it. A module belongs to the layer of the most specific (longest) prefix that
/// matches it, so `sql::exec::group` is in `sql::exec` and a module of `sql` that no sublayer
/// lists (`sql::copy`, `sql/mod.rs` itself) is in `sql`. Edit this table to move a boundary.
const LAYERS: &[(&str, &[&str])] = &[
    ("error", &["error"]),
    ("types", &["types"]),
    ("catalog", &["catalog"]),
    ("storage", &["storage"]),
    ("wal", &["wal"]),
    ("txn", &["txn"]),
    ("durable", &["durable"]),
    ("replication", &["replication"]),
    (
        "sql foundation",
        &["sql::error", "sql::types", "sql::schema", "sql::system", "sql::notify", "sql::advisory"],
    ),
    ("sql::parse", &["sql::parse"]),
    ("sql::plan", &["sql::plan"]),
    ("sql::engine", &["sql::engine", "sql::databases"]),
    ("sql::exec", &["sql::exec", "sql::pg_catalog"]),
    ("sql::ddl", &["sql::ddl"]),
    ("sql::session", &["sql::session"]),
    ("sql", &["sql"]),
    ("server", &["server"]),
    ("check", &["check"]),
];

/// A module path below `crate::`, as segments (`["sql", "exec"]`).
type ModPath = Vec<String>;

/// One path a file refers to: the line it is on and the absolute path it resolves to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Reference {
    line: usize,
    path: ModPath,
}

/// The index in [`LAYERS`] of the layer `path` belongs to, through `lib.rs`'s re-exports
/// (`reexports`: a root name to the path it is re-exported from) for a root name.
fn layer_of(path: &[String], reexports: &BTreeMap<String, ModPath>) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (prefix length, layer)
    for (layer, (_, prefixes)) in LAYERS.iter().enumerate() {
        for prefix in *prefixes {
            let prefix: Vec<&str> = prefix.split("::").collect();
            let matches = prefix.len() <= path.len()
                && prefix.iter().zip(path).all(|(p, s)| *p == s.as_str());
            if matches && best.is_none_or(|(len, _)| prefix.len() > len) {
                best = Some((prefix.len(), layer));
            }
        }
    }
    if let Some((_, layer)) = best {
        return Some(layer);
    }
    let target = reexports.get(path.first()?)?;
    let mut resolved = target.clone();
    resolved.extend(path[1..].iter().cloned());
    if resolved.first() == path.first() {
        return None; // a re-export of itself: nothing to learn
    }
    layer_of(&resolved, reexports)
}

/// `src/sql/exec.rs` → `["sql", "exec"]`, `src/sql/mod.rs` → `["sql"]`, `src/lib.rs` → `[]`.
fn module_path(relative: &Path) -> ModPath {
    let mut segments: Vec<String> =
        relative.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let file = segments.pop().unwrap();
    let stem = file.strip_suffix(".rs").unwrap_or(&file);
    if !matches!(stem, "mod" | "lib" | "main") {
        segments.push(stem.to_string());
    }
    segments
}

/// The source with comments and the insides of string and character literals replaced by
/// spaces (line breaks kept, so line numbers stay right). Rough, as the test may be: raw
/// strings, byte strings, nested block comments and escapes are handled; lifetimes are kept.
fn blank_comments_and_literals(source: &str) -> String {
    let c: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let is_ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (i == 0
                || !is_ident(c[i - 1])
                || (c[i - 1] == 'b' && (i < 2 || !is_ident(c[i - 2]))))
            && matches!(next, Some('"') | Some('#'))
        {
            // r"...", r#"..."#, br"...": the closing quote needs as many #s.
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]); // r#ident, say
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            out.push('r');
            for _ in 0..=hashes {
                out.push(' ');
            }
            i = j + 1;
            while i < c.len() {
                if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                    for _ in 0..=hashes {
                        out.push(' ');
                    }
                    i += 1 + hashes;
                    break;
                }
                blank(&mut out, c[i]);
                i += 1;
            }
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{7f}'), or a lifetime ('a), which is kept.
            let end = if next == Some('\\') {
                (i + 2..c.len()).find(|&k| c[k] == '\'' && k > i + 2)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    for &ch in &c[i..=end] {
                        blank(&mut out, ch);
                    }
                    i = end + 1;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// A cursor over blanked source text, counting lines.
struct Cursor {
    c: Vec<char>,
    i: usize,
}

impl Cursor {
    fn line(&self) -> usize {
        1 + self.c[..self.i].iter().filter(|&&ch| ch == '\n').count()
    }

    fn skip_ws(&mut self) {
        while self.i < self.c.len() && self.c[self.i].is_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.c.get(self.i).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, ch)| self.c.get(self.i + k) == Some(&ch))
    }

    fn ident(&mut self) -> Option<String> {
        let start = self.i;
        while self.i < self.c.len() && (self.c[self.i].is_alphanumeric() || self.c[self.i] == '_') {
            self.i += 1;
        }
        (self.i > start).then(|| self.c[start..self.i].iter().collect())
    }

    /// Parses a path or `use` tree from here, below `prefix`: `a::b`, `a::{b, c::*}`,
    /// `a::{self, b}`, `a::b as c`; stops before a turbofish or anything that is not part of
    /// a path. Appends each leaf with its line.
    fn tree(&mut self, prefix: Vec<String>, leaves: &mut Vec<(usize, Vec<String>)>) {
        let mut path = prefix;
        loop {
            self.skip_ws();
            match self.peek() {
                Some('{') => {
                    self.i += 1;
                    loop {
                        self.skip_ws();
                        match self.peek() {
                            Some('}') => {
                                self.i += 1;
                                return;
                            }
                            Some(',') => self.i += 1,
                            None => return,
                            Some(_) => {
                                let before = self.i;
                                self.tree(path.clone(), leaves);
                                if self.i == before {
                                    self.i += 1; // not a path: step over it
                                }
                            }
                        }
                    }
                }
                Some('*') => {
                    self.i += 1;
                    leaves.push((self.line(), path));
                    return;
                }
                _ => {}
            }
            let line = self.line();
            let Some(segment) = self.ident() else {
                if !path.is_empty() {
                    leaves.push((line, path));
                }
                return;
            };
            if segment == "self" && !path.is_empty() {
                // `a::{self, ...}`: `a` itself.
            } else {
                path.push(segment);
            }
            let after_segment = self.i;
            self.skip_ws();
            if self.starts_with("::") {
                self.i += 2;
                self.skip_ws();
                if self.peek() == Some('<') {
                    leaves.push((line, path)); // a turbofish: the path ends here
                    return;
                }
                continue;
            }
            self.i = after_segment;
            leaves.push((line, path));
            // `a::b as c`: the alias is not a path.
            self.skip_ws();
            if self.starts_with("as")
                && self.c.get(self.i + 2).is_some_and(|ch| !(ch.is_alphanumeric() || *ch == '_'))
            {
                self.i += 2;
                self.skip_ws();
                self.ident();
            } else {
                self.i = after_segment;
            }
            return;
        }
    }
}

/// Resolves a raw path against the module it is written in: `crate::a` → `a`,
/// `super::b` → the parent's `b`, `self::c` and a declared child module `m::d` → the module's.
/// `None` for anything else (an extern crate, a local name).
fn resolve(raw: &[String], module: &[String], children: &BTreeSet<String>) -> Option<ModPath> {
    let first = raw.first()?;
    let mut base: ModPath;
    let mut rest = raw;
    match first.as_str() {
        "crate" => {
            base = Vec::new();
            rest = &raw[1..];
        }
        "self" => {
            base = module.to_vec();
            rest = &raw[1..];
        }
        "super" => {
            base = module.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        name if children.contains(name) => base = module.to_vec(),
        _ => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Every crate path a file refers to, resolved, with its line (deduplicated, in order).
fn references(source: &str, module: &[String]) -> Vec<Reference> {
    let blanked = blank_comments_and_literals(source);
    let mut cur = Cursor { c: blanked.chars().collect(), i: 0 };
    // Child modules the file declares (`mod m;` or `mod m { ... }`): `use m::x` refers to one.
    let children: BTreeSet<String> = {
        let words: Vec<&str> = blanked
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        words.windows(2).filter(|w| w[0] == "mod").map(|w| w[1].to_string()).collect()
    };
    // Inline modules open at this point: their names and the brace depth inside them.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut found = BTreeSet::new();
    let mut pending_mod: Option<String> = None;
    let scope = |inline: &[(String, usize)]| -> ModPath {
        let mut m = module.to_vec();
        m.extend(inline.iter().map(|(n, _)| n.clone()));
        m
    };
    while let Some(ch) = cur.peek() {
        let prev = if cur.i == 0 { ' ' } else { cur.c[cur.i - 1] };
        if ch == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((name, depth));
            }
            cur.i += 1;
            continue;
        }
        if ch == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            cur.i += 1;
            continue;
        }
        if ch == ';' {
            pending_mod = None;
        }
        let starts_word = (ch.is_alphabetic() || ch == '_')
            && !(prev.is_alphanumeric() || prev == '_' || prev == '\'');
        if !starts_word {
            cur.i += 1;
            continue;
        }
        let start = cur.i;
        let word = cur.ident().unwrap();
        match word.as_str() {
            "mod" => {
                cur.skip_ws();
                pending_mod = cur.ident();
            }
            "use" => {
                let mut leaves = Vec::new();
                cur.tree(Vec::new(), &mut leaves);
                let here = scope(&inline);
                for (line, raw) in leaves {
                    if let Some(path) = resolve(&raw, &here, &children) {
                        found.insert(Reference { line, path });
                    }
                }
            }
            "crate" | "super" | "self" => {
                let after_word = cur.i;
                cur.skip_ws();
                let is_path = cur.starts_with("::");
                cur.i = after_word;
                if is_path {
                    cur.i = start;
                    let mut leaves = Vec::new();
                    cur.tree(Vec::new(), &mut leaves);
                    let here = scope(&inline);
                    for (line, raw) in leaves {
                        if let Some(path) = resolve(&raw, &here, &children) {
                            found.insert(Reference { line, path });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    found.into_iter().collect()
}

/// Every `.rs` file under `dir`, but `src/bin`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names `lib.rs` re-exports (`pub use txn::{Database, ...}`), to where they come from.
fn root_reexports(src: &Path) -> BTreeMap<String, ModPath> {
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    references(&lib, &[])
        .into_iter()
        .filter(|r| r.path.len() > 1)
        .map(|r| (r.path.last().unwrap().clone(), r.path))
        .collect()
}

/// Every reference from a lower layer to a higher one, as `file:line: crate::path (layer ->
/// higher layer)`.
fn violations(src: &Path) -> Vec<String> {
    let reexports = root_reexports(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap();
        let module = module_path(relative);
        if module.is_empty() {
            continue; // lib.rs: the crate root is exempt
        }
        let Some(own) = layer_of(&module, &reexports) else { continue };
        let source = std::fs::read_to_string(&file).unwrap();
        for r in references(&source, &module) {
            let Some(theirs) = layer_of(&r.path, &reexports) else { continue };
            if theirs > own {
                out.push(format!(
                    "src/{}:{}: crate::{} ({} -> {})",
                    relative.display(),
                    r.line,
                    r.path.join("::"),
                    LAYERS[own].0,
                    LAYERS[theirs].0
                ));
            }
        }
    }
    out
}

#[test]
fn no_module_refers_to_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(
        found.is_empty(),
        "{} references from a lower layer to a higher one (layers bottom up: {}):\n{}",
        found.len(),
        LAYERS.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(" < "),
        found.join("\n")
    );
}

/// The extraction itself, on a sample with every form it must handle and the text it must
/// ignore.
#[test]
fn references_are_read_from_use_trees_and_paths_but_not_comments_or_strings() {
    let sample = r##"//! Mentions crate::server in a doc comment.
use crate::{error::Error, txn::{self, CommitBatch}};
use super::schema::TableSchema;
/// crate::check in a doc comment
fn f<'a>(x: &'a str) -> crate::types::Value {
    let s = "crate::check in a string, with a \" quote";
    let c = '{';
    let r = r#"crate::server "in" a raw string"#;
    crate::storage::memory::open::<u8>(); // crate::wal in a comment
    /* crate::catalog /* nested */ in a block comment */
    super::super::error::Error::new()
}
mod tests {
    use super::*;
    use self::helpers::h;
    fn g() -> Vec<crate::sql::plan::Plan> { self::helpers::h() }
}
use plan::{Binder, Plan as P};
use std::collections::BTreeMap;
mod plan;
"##;
    let module: ModPath = vec!["sql".into(), "exec".into()];
    let got: Vec<(usize, String)> =
        references(sample, &module).into_iter().map(|r| (r.line, r.path.join("::"))).collect();
    let expected: Vec<(usize, String)> = [
        (2, "error::Error"),
        (2, "txn"),
        (2, "txn::CommitBatch"),
        (3, "sql::schema::TableSchema"),
        (5, "types::Value"),
        (9, "storage::memory::open"),
        (11, "error::Error::new"),
        (14, "sql::exec"),
        (15, "sql::exec::tests::helpers::h"),
        (16, "sql::exec::tests::helpers::h"),
        (16, "sql::plan::Plan"),
        (18, "sql::exec::plan::Binder"),
        (18, "sql::exec::plan::Plan"),
    ]
    .into_iter()
    .map(|(l, p)| (l, p.to_string()))
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn modules_map_to_the_most_specific_layer() {
    let reexports: BTreeMap<String, ModPath> = [
        ("Error".to_string(), vec!["error".to_string(), "Error".to_string()]),
        ("Database".to_string(), vec!["txn".to_string(), "Database".to_string()]),
    ]
    .into_iter()
    .collect();
    let layer = |p: &str| {
        let path: ModPath = p.split("::").map(String::from).collect();
        layer_of(&path, &reexports).map(|l| LAYERS[l].0)
    };
    assert_eq!(layer("sql::exec::group"), Some("sql::exec"));
    assert_eq!(layer("sql::schema::TableSchema"), Some("sql foundation"));
    assert_eq!(layer("sql::copy"), Some("sql"));
    assert_eq!(layer("sql"), Some("sql"));
    assert_eq!(layer("sqlx"), None);
    assert_eq!(layer("wal::log::Log"), Some("wal"));
    assert_eq!(layer("Error"), Some("error"));
    assert_eq!(layer("Database::new"), Some("txn"));
    assert_eq!(layer("key"), None);
    assert_eq!(module_path(Path::new("sql/mod.rs")), vec!["sql"]);
    assert_eq!(module_path(Path::new("sql/exec.rs")), vec!["sql", "exec"]);
    assert!(module_path(Path::new("lib.rs")).is_empty());
}
