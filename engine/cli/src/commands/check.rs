//! `stkc check FILE...`: report every diagnostic of every file; exit 1 on errors (or on
//! warnings with `--deny warnings`).

use crate::cli::{CheckArgs, Color, DiagFormat};
use crate::load::load;
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use stk_dsl::Severity;
use stk_dsl::diag::{HumanStyle, render_github, render_human, render_json};

pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    let deny_warnings = args.deny.is_some();
    let style = human_style(args.color);
    let (mut errors, mut warnings, mut failed_files) = (0usize, 0usize, 0usize);
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let loaded = match load(path) {
            Ok(l) => l,
            Err(e) => {
                // An unreadable file is reported in the chosen format, then counted.
                let msg = format!("{e:#}");
                match args.format {
                    DiagFormat::Human => eprintln!("error: {msg}"),
                    DiagFormat::Json => writeln!(
                        stdout,
                        "{}",
                        serde_json::json!({
                            "code": "stk::io", "severity": "error", "message": msg,
                            "file": path.display().to_string(), "line": 0, "column": 0, "help": null
                        })
                    )?,
                    DiagFormat::Github => {
                        writeln!(stdout, "::error file={}::{}", path.display(), msg)?
                    }
                }
                errors += 1;
                failed_files += 1;
                continue;
            }
        };
        let diags = &loaded.checked.diagnostics;
        let e = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let w = diags.len() - e;
        errors += e;
        warnings += w;
        if e > 0 || (deny_warnings && w > 0) {
            failed_files += 1;
        }
        match args.format {
            DiagFormat::Human => eprint!(
                "{}",
                render_human(&loaded.display, &loaded.source, diags, style)
            ),
            DiagFormat::Json => write!(
                stdout,
                "{}",
                render_json(&loaded.display, &loaded.source, diags)
            )?,
            DiagFormat::Github => write!(
                stdout,
                "{}",
                render_github(&loaded.display, &loaded.source, diags)
            )?,
        }
    }
    if args.format == DiagFormat::Human {
        let files = args.files.len();
        let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
        eprintln!(
            "{}: {} checked, {}, {}",
            if failed_files == 0 { "ok" } else { "failed" },
            plural(files, "file"),
            plural(errors, "error"),
            plural(warnings, "warning"),
        );
    }
    let failed = errors > 0 || (deny_warnings && warnings > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn human_style(color: Color) -> HumanStyle {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match color {
        Color::Always => HumanStyle::Color,
        Color::Never => HumanStyle::NoColor,
        Color::Auto if no_color_env || !std::io::stderr().is_terminal() => HumanStyle::NoColor,
        Color::Auto => HumanStyle::Color,
    }
}
