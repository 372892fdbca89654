//! `stkc fmt [--check] FILE...`: rewrite files in canonical form, or report (with a diff)
//! which are not.

use crate::cli::FmtArgs;
use crate::load::read;
use anyhow::{Context, Result};
use std::io::{Read, Write};
use std::process::ExitCode;
use stk_dsl::diag::render_json;
use stk_dsl::fmt::format_source;

pub fn run(args: &FmtArgs) -> Result<ExitCode> {
    let mut failed = false;
    for path in &args.files {
        let stdin = path.as_os_str() == "-";
        let (name, source) = if stdin {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read standard input")?;
            ("<stdin>".to_string(), s)
        } else {
            (path.display().to_string(), read(path)?)
        };
        let formatted = match format_source(&source) {
            Ok(f) => f,
            Err(diags) => {
                // A file that does not parse cannot be formatted; say where it breaks.
                eprint!("{}", render_json(&name, &source, &diags));
                eprintln!("error: `{name}` does not parse; run `stkc check {name}` for details");
                failed = true;
                continue;
            }
        };
        if stdin && !args.check {
            std::io::stdout().write_all(formatted.as_bytes())?;
            continue;
        }
        if formatted == source {
            continue;
        }
        if args.check {
            failed = true;
            print!("{}", diff(&name, &source, &formatted));
        } else {
            std::fs::write(path, &formatted).with_context(|| format!("cannot write `{name}`"))?;
            eprintln!("formatted {name}");
        }
    }
    if failed && args.check {
        eprintln!("some files are not formatted; run `stkc fmt FILE...` to fix them");
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn diff(name: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(2)
        .header(&format!("{name} (current)"), &format!("{name} (formatted)"))
        .to_string()
}
