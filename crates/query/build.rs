//! Compiles the views in the workspace's `queries/` directory into the crate, so that the
//! `botlake` binary carries them and works from any directory: `queries/*.sql` as
//! `BUILTIN`, and the variants that read the rollups, `queries/rollup/*.sql`, as
//! `BUILTIN_ROLLUP`. It reads them through `crates/query/queries`, a link to the
//! workspace's directory inside the package, so that nothing outside the package is read
//! (`cargo package` copies what the link points to).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("readable queries/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
}

fn list(out: &mut String, name: &str, doc: &str, files: &[PathBuf]) {
    writeln!(out, "/// {doc}: (name, SQL text).").unwrap();
    writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
        let stem = f.file_stem().expect("a file name").to_string_lossy();
        let path = f.canonicalize().expect("a canonical path");
        writeln!(
            out,
            "    ({stem:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
}

fn main() {
    let dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("queries");
    let mut out = String::new();
    list(
        &mut out,
        "BUILTIN",
        "The built-in queries",
        &sql_files(&dir),
    );
    list(
        &mut out,
        "BUILTIN_ROLLUP",
        "The built-in views' variants over the rollups",
        &sql_files(&dir.join("rollup")),
    );
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("builtin.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
