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

/// The pipeline's IR; or, when it has errors, its diagnostics printed and `None` (the
/// caller exits 1).
pub fn ir_or_report(loaded: &Loaded) -> Option<&stk_dsl::ir::Pipeline> {
    if loaded.checked.ir.is_none() {
        let report = stk_dsl::diag::render_human(
            &loaded.display,
            &loaded.source,
            &loaded.checked.diagnostics,
            stk_dsl::diag::HumanStyle::NoColor,
        );
        eprint!("{report}");
        eprintln!(
            "error: `{}` has errors; run `stkc check {}` and fix them first",
            loaded.display, loaded.display
        );
    }
    loaded.checked.ir.as_ref()
}
