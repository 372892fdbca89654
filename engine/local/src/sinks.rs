//! The local stand-ins for the AWS sinks: raw JSON objects in the layout Firehose writes,
//! Parquet lake files as the compact Lambda writes them, and dead letters. Every file is
//! written to a temporary name and renamed, so an interrupted flush leaves nothing partial.

use crate::{Result, io};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use stk_dsl::ir::{LakeSink, Pipeline, RawSink, SinkKind};
use stk_eval::Record;
use stk_lake::compact::{DeadLetter, parquet_bytes};
use stk_lake::partition;

/// What one flush wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Flushed {
    pub raw_objects: usize,
    pub lake_files: usize,
    pub dead_letters: usize,
    pub bytes: u64,
}

pub struct LocalSinks {
    dir: PathBuf,
    raw: Option<RawSink>,
    lake: Option<LakeSink>,
}

impl LocalSinks {
    pub fn new(p: &Pipeline, dir: &Path) -> Self {
        let raw = p.sinks.iter().find_map(|s| match &s.kind {
            SinkKind::S3Json(r) => Some(r.clone()),
            _ => None,
        });
        let lake = p.sinks.iter().find_map(|s| match &s.kind {
            SinkKind::S3Parquet(l) => Some(l.clone()),
            _ => None,
        });
        LocalSinks {
            dir: dir.to_path_buf(),
            raw,
            lake,
        }
    }

    /// How long the raw sink buffers before delivering (Firehose's time hint), in seconds.
    pub fn buffer_interval_s(&self) -> u32 {
        self.raw.as_ref().map_or(60, |r| r.buffer_interval_s)
    }

    /// How many bytes of raw JSON the raw sink buffers before delivering (Firehose's size hint).
    pub fn buffer_bytes(&self) -> u64 {
        self.raw.as_ref().map_or(64 << 20, |r| r.buffer_size_bytes)
    }

    /// Write one flush: `records` (with their JSON text) and `dead` letters, named by `seq`.
    pub fn flush(
        &self,
        p: &Pipeline,
        seq: u64,
        records: &[(Record, String)],
        dead: &[DeadLetter],
    ) -> Result<Flushed> {
        let mut out = Flushed::default();
        let stem = format!("{}-raw-{seq:08}", p.name);
        if let Some(raw) = &self.raw {
            let mut groups: BTreeMap<String, String> = BTreeMap::new();
            for (r, text) in records {
                let g = groups
                    .entry(partition::path(&p.schema, &raw.partition, r))
                    .or_default();
                g.push_str(text);
                g.push('\n');
            }
            for (part, body) in groups {
                out.bytes += body.len() as u64;
                write_atomic(
                    &self
                        .dir
                        .join("raw")
                        .join(&part)
                        .join(format!("{stem}.json")),
                    body.as_bytes(),
                )?;
                out.raw_objects += 1;
            }
        }
        if let Some(lake) = &self.lake {
            let mut groups: BTreeMap<String, Vec<Record>> = BTreeMap::new();
            for (r, _) in records {
                groups
                    .entry(partition::path(&p.schema, &lake.partition, r))
                    .or_default()
                    .push(r.clone());
            }
            for (part, recs) in groups {
                let bytes = parquet_bytes(p, lake, &recs)?;
                out.bytes += bytes.len() as u64;
                write_atomic(
                    &self
                        .dir
                        .join("lake")
                        .join(&part)
                        .join(format!("{stem}.parquet")),
                    &bytes,
                )?;
                out.lake_files += 1;
            }
        }
        if !dead.is_empty() {
            let body: String = dead.iter().map(DeadLetter::to_line).collect();
            write_atomic(
                &self.dir.join("errors").join(format!("{stem}.jsonl")),
                body.as_bytes(),
            )?;
            out.dead_letters = dead.len();
        }
        Ok(out)
    }
}

/// Write to a temporary name and rename, so a reader never sees a partial file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Total size of the files under `dir` (for the status line).
pub fn size_of(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                size_of(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}
