//! Reading a pipeline file and checking it, shared by every command that needs the IR.

use anyhow::{Context, Result};
use std::path::Path;
use stk_dsl::check::FsWorld;
use stk_dsl::{Checked, check_source};

pub struct Loaded {
    pub display: String,
    pub source: String,
    pub checked: Checked,
}

pub fn read(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "`{}` is not UTF-8 text (first bad byte at offset {}); save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

pub fn load(path: &Path) -> Result<Loaded> {
    let source = read(path)?;
    let checked = check_source(&source, &FsWorld::for_pipeline(path));
    Ok(Loaded {
        display: path.display().to_string(),
        source,
        checked,
    })
}
