//! `stkc compile FILE --emit ir|schema`: print what a pipeline compiles to.

use crate::cli::{CompileArgs, DataFormat, Emit};
use crate::load::load;
use anyhow::{Context, Result};
use std::process::ExitCode;

pub fn run(args: &CompileArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let (text, default_name) = match args.emit {
        Emit::Ir => {
            let text = match args.format {
                DataFormat::Json => serde_json::to_string_pretty(ir)? + "\n",
                DataFormat::Yaml => serde_yaml::to_string(ir)?,
            };
            (text, None)
        }
        Emit::Schema => {
            let schema = stk_dsl::schema::json_schema(ir);
            (
                serde_json::to_string_pretty(&schema)? + "\n",
                Some(stk_dsl::schema::file_name(ir)),
            )
        }
    };
    match &args.out {
        None => print!("{text}"),
        Some(out) => {
            let target = match default_name {
                Some(name) if out.is_dir() => out.join(name),
                _ => out.clone(),
            };
            std::fs::write(&target, text)
                .with_context(|| format!("cannot write `{}`", target.display()))?;
            eprintln!("wrote {}", target.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
