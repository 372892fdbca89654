//! `stkc rebuild-lake FILE --lake DIR`: the Parquet lake rebuilt from the raw JSON.

use crate::load::load;
use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

pub fn run(file: &Path, lake: &Path) -> Result<ExitCode> {
    let loaded = load(file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let s = stk_local::rebuild::rebuild_lake(ir, lake)?;
    eprintln!(
        "rebuilt {}: {} records from {} raw objects into {} Parquet files{}",
        lake.join("lake").display(),
        s.records,
        s.raw_objects,
        s.lake_files,
        if s.dead_letters > 0 {
            format!(
                "; {} raw records fail the current rules (dead letters in {})",
                s.dead_letters,
                lake.join("errors").display()
            )
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
