//! Rebuilding the Parquet lake from the raw JSON (disaster recovery, or after the pipeline's
//! rules or partitions changed): every raw object through the same compaction the compact
//! Lambda runs. The new lake is written beside the old one and swapped in at the end, so an
//! interrupted rebuild leaves the old lake as it was.
//!
//! Raw objects a local run wrote in one flush share a name across their partitions; they are
//! compacted together, so the rebuilt files have the names (and rows) the run gave them.

use crate::sinks::write_atomic;
use crate::{LocalError, Result, io};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stk_dsl::ir::Pipeline;

#[derive(Debug, Default, Clone, Copy)]
pub struct RebuildSummary {
    pub raw_objects: usize,
    pub records: usize,
    pub lake_files: usize,
    /// Raw records the pipeline's current rules reject (written to `errors/`).
    pub dead_letters: usize,
}

/// Rebuild `dir/lake` from `dir/raw`.
pub fn rebuild_lake(p: &Pipeline, dir: &Path) -> Result<RebuildSummary> {
    let Some(lake) = p.lake_sink() else {
        return Err(LocalError::Config(
            "the pipeline has no `s3_parquet` sink, so there is no lake to rebuild".into(),
        ));
    };
    let raw_dir = dir.join("raw");
    if !raw_dir.is_dir() {
        return Err(LocalError::Config(format!(
            "`{}` does not exist; pass the `--lake DIR` that `stkc run` wrote",
            raw_dir.display()
        )));
    }
    let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in raw_objects(&raw_dir)? {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        groups.entry(name).or_default().push(f);
    }
    let building = dir.join("lake.rebuilding");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(|e| io(&building, e))?;
    }
    let mut summary = RebuildSummary::default();
    for (name, files) in &groups {
        // One compaction per flush name: the flush's partitions together make its lake files.
        let mut c = stk_lake::compact::Compaction::new(p, lake, name)?;
        for f in files {
            let file = std::fs::File::open(f).map_err(|e| io(f, e))?;
            c.read(std::io::BufReader::new(file))
                .map_err(|e| io(f, e))?;
            summary.raw_objects += 1;
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let out = c.finish(&stk_lake::compact::stem(name), threads)?;
        summary.records += out.records;
        for file in &out.files {
            write_atomic(&building.join(&file.path), &file.bytes)?;
            summary.lake_files += 1;
        }
        if !out.dead_letters.is_empty() {
            let mut body = String::new();
            for d in &out.dead_letters {
                body.push_str(&serde_json::to_string(d).unwrap_or_default());
                body.push('\n');
            }
            let stem = stk_lake::compact::stem(name);
            write_atomic(
                &dir.join("errors").join(format!("{stem}.rebuild.jsonl")),
                body.as_bytes(),
            )?;
            summary.dead_letters += out.dead_letters.len();
        }
    }
    let live = dir.join("lake");
    let old = dir.join("lake.old");
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    if live.exists() {
        std::fs::rename(&live, &old).map_err(|e| io(&live, e))?;
    }
    if building.exists() {
        std::fs::rename(&building, &live).map_err(|e| io(&building, e))?;
    }
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
    }
    Ok(summary)
}

/// Raw objects (`*.json`, `*.json.gz`, Firehose's extension-less names too) below `dir`:
/// everything but the temporary files of an interrupted write.
fn raw_objects(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(stk_lake::input::files_under(dir, |p| {
        p.extension().is_none_or(|x| x != "tmp")
    })?)
}
