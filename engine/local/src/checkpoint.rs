//! How far a local run got: written atomically (temp file + rename) after every flush.

use crate::{Result, io};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The replay file the offsets refer to.
    pub source: String,
    /// Records of the source consumed and flushed to disk.
    pub offset: u64,
    /// The next flush's sequence number (object names derive from it).
    pub seq: u64,
}

pub fn path(lake_dir: &Path) -> PathBuf {
    lake_dir.join(".stk-run.json")
}

pub fn load(lake_dir: &Path) -> Result<Option<Checkpoint>> {
    let p = path(lake_dir);
    match std::fs::read(&p) {
        Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&p, e)),
    }
}

pub fn save(lake_dir: &Path, c: &Checkpoint) -> Result<()> {
    let p = path(lake_dir);
    let tmp = p.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(c).unwrap_or_default())
        .map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &p).map_err(|e| io(&p, e))
}
