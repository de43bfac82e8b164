//! The project's own rules, checked in its sources (rust-analyzer's `tidy.rs` is the
//! model): the crates' dependencies as `crates/README.md` draws them, no flag of the command
//! line in a library's messages, a `//!` line opening every source file, lake writes in the
//! query crate only from its rollups, `rejected_records` from ingest's quarantine only,
//! modules that import one way, and every dependency pinned in the workspace. A failure
//! names the file and line.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The library crates.
const LIBRARIES: [&str; 4] = ["lake", "ingest", "query", "sim"];

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn rust_files(dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in dirs {
        files(&Path::new(ROOT).join(dir), "rs", &mut out);
    }
    out.sort();
    out
}

/// `path` relative to the workspace, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The lines of `path` that are code, numbered from 1: comments and tests left out (a file's
/// tests start at its first `#[cfg(test)]`; `fuzz.rs` is tests whole).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    if path.file_name().is_some_and(|n| n == "fuzz.rs") {
        return Vec::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect()
}

/// The `[dependencies]` of a manifest (with the dev- and build- ones when `all`), as
/// (line number, name, the whole line).
fn dependencies(manifest: &Path, all: bool) -> Vec<(usize, String, String)> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let wanted = section == "[dependencies]"
            || all
                && matches!(
                    section.as_str(),
                    "[dev-dependencies]" | "[build-dependencies]"
                );
        if !wanted || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line.split_once('=').map_or(line, |(name, _)| name);
        let name = name.trim().trim_end_matches(".workspace").to_string();
        out.push((i + 1, name, line.to_string()));
    }
    out
}

#[test]
fn the_crates_depend_on_each_other_as_the_map_says() {
    // Who may use whom: the lake is the only contract between ingest and query.
    let allowed: [(&str, &[&str]); 4] = [
        ("lake", &[]),
        ("ingest", &["botlake-lake"]),
        ("query", &["botlake-lake"]),
        ("sim", &[]),
    ];
    let mut wrong = Vec::new();
    for (krate, may) in allowed {
        let manifest = Path::new(ROOT).join(format!("crates/{krate}/Cargo.toml"));
        for (line, name, _) in dependencies(&manifest, false) {
            let ours = name.starts_with("botlake");
            let cli_only = matches!(name.as_str(), "clap" | "anyhow" | "indicatif" | "rustyline");
            if ours && !may.contains(&name.as_str()) || cli_only {
                wrong.push(format!(
                    "{}:{line}: {krate} must not depend on {name}",
                    shown(&manifest)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_library_names_a_flag_of_the_command_line() {
    let dirs: Vec<String> = LIBRARIES
        .iter()
        .map(|c| format!("crates/{c}/src"))
        .collect();
    let dirs: Vec<&str> = dirs.iter().map(String::as_str).collect();
    let mut wrong = Vec::new();
    for path in rust_files(&dirs) {
        for (n, line) in code_lines(&path) {
            // A flag is `--` then a letter, in a string: the libraries' messages say what is
            // wrong, and the CLI's hints say which flag mends it.
            let flagged = line.match_indices("--").any(|(at, _)| {
                line[at + 2..].starts_with(|c: char| c.is_ascii_lowercase())
                    && line[..at].contains('"')
            });
            if flagged {
                wrong.push(format!("{}:{n}: {}", shown(&path), line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "library messages name CLI flags:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_source_file_says_what_it_is_for() {
    let mut wrong = Vec::new();
    for path in rust_files(&["crates", "tests", "benches"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        if !text.starts_with("//!") {
            wrong.push(format!("{}:1: no //! line first", shown(&path)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn only_the_rollups_write_the_lake_from_the_query_crate() {
    const WRITES: [&str; 6] = [
        ".upsert(",
        ".overwrite(",
        ".append(",
        ".compact(",
        ".vacuum(",
        ".create_empty(",
    ];
    let mut wrong = Vec::new();
    for path in rust_files(&["crates/query/src"]) {
        if path.ends_with("rollup.rs") {
            continue;
        }
        for (n, line) in code_lines(&path) {
            if WRITES.iter().any(|w| line.contains(w)) {
                wrong.push(format!("{}:{n}: {}", shown(&path), line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "lake writes outside query's rollups:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_dependency_is_pinned_in_the_workspace() {
    let mut manifests = vec![Path::new(ROOT).join("Cargo.toml")];
    for krate in LIBRARIES {
        manifests.push(Path::new(ROOT).join(format!("crates/{krate}/Cargo.toml")));
    }
    let mut wrong = Vec::new();
    for manifest in manifests {
        for (line, name, spec) in dependencies(&manifest, true) {
            if !spec.contains("workspace = true") && !spec.contains(".workspace") {
                wrong.push(format!(
                    "{}:{line}: {name} is not `workspace = true`",
                    shown(&manifest)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_query_crates_build_reads_only_its_package() {
    let build = Path::new(ROOT).join("crates/query/build.rs");
    for (n, line) in code_lines(&build) {
        assert!(
            !line.contains("\"..") && !line.contains("../"),
            "{}:{n}: reads outside the package: {}",
            shown(&build),
            line.trim()
        );
    }
}

#[test]
fn the_command_line_runs_sql_only_through_the_policy() {
    let mut wrong = Vec::new();
    for path in rust_files(&["crates/cli"]) {
        for (n, line) in code_lines(&path) {
            if line.contains(".sql(") {
                wrong.push(format!("{}:{n}: {}", shown(&path), line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "SQL run around the query crate's policy (use Session::run or run_sql):\n{}",
        wrong.join("\n")
    );
}

/// The module of a crate a source file is in: its first folder or file under `src`
/// (`crates/cli` has no `src`).
fn top_module(crate_dir: &Path, path: &Path) -> String {
    let first = path.strip_prefix(crate_dir).unwrap().components().next();
    let name = first.unwrap().as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

#[test]
fn the_modules_of_each_crate_import_one_way() {
    let mut wrong = Vec::new();
    for dir in LIBRARIES
        .map(|l| format!("crates/{l}/src"))
        .into_iter()
        .chain(["crates/cli".to_string()])
    {
        let crate_dir = Path::new(ROOT).join(&dir);
        // module -> (module it uses, where it first does)
        let mut uses: std::collections::BTreeMap<String, Vec<(String, String)>> =
            Default::default();
        for path in rust_files(&[&dir]) {
            let from = top_module(&crate_dir, &path);
            for (n, line) in code_lines(&path) {
                for (at, _) in line.match_indices("crate::") {
                    let to: String = line[at + 7..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    let edges = uses.entry(from.clone()).or_default();
                    if to != from && !to.is_empty() && edges.iter().all(|(t, _)| *t != to) {
                        edges.push((to, format!("{}:{n}", shown(&path))));
                    }
                }
            }
        }
        // A path back to `start` from each module, depth first.
        fn back(
            uses: &std::collections::BTreeMap<String, Vec<(String, String)>>,
            start: &str,
            at: &str,
            path: &mut Vec<String>,
        ) -> bool {
            for (to, wher) in uses.get(at).into_iter().flatten() {
                if path.iter().any(|p| p.starts_with(&format!("{to} "))) {
                    continue;
                }
                path.push(format!("{to} ({wher})"));
                if to == start || back(uses, start, to, path) {
                    return true;
                }
                path.pop();
            }
            false
        }
        for module in uses.keys() {
            let mut path = Vec::new();
            if back(&uses, module, module, &mut path) {
                wrong.push(format!("{dir}: {module} -> {}", path.join(" -> ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules that import each other:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_quarantine_writes_rejected_records() {
    let mut wrong = Vec::new();
    for path in rust_files(&["crates/ingest/src"]) {
        if path.ends_with("quarantine.rs") {
            continue;
        }
        for (n, line) in code_lines(&path) {
            if line.contains("REJECTED_RECORDS") {
                wrong.push(format!("{}:{n}: {}", shown(&path), line.trim()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "rejected_records written outside ingest's quarantine module:\n{}",
        wrong.join("\n")
    );
}
