//! Helpers shared by the dsl integration tests: where the repository's test inputs live.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dsl/ has a parent")
        .to_path_buf()
}

/// `*.stk` files directly inside `dir`, sorted.
pub fn stk_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "stk"))
        .collect();
    files.sort();
    files
}

pub fn diagnostics_inputs() -> Vec<PathBuf> {
    stk_files(&repo_root().join("tests/diagnostics"))
}

pub fn pipelines() -> Vec<PathBuf> {
    stk_files(&repo_root().join("pipelines"))
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}
