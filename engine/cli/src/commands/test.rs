//! `stkc test FILE [--cases CASES.yaml]`: a pipeline's unit tests. Prints one line per case
//! and, for a failing case, the diff between what it expects and what the pipeline did.
//! Exit 0 when every case passes, 1 when one fails, 2 when the cases file cannot be read.

use crate::cli::TestArgs;
use crate::load::{load, read};
use anyhow::Result;
use similar::{ChangeTag, TextDiff};
use std::path::PathBuf;
use std::process::ExitCode;

pub fn run(args: &TestArgs) -> Result<ExitCode> {
    let cases_path = args
        .cases
        .clone()
        .unwrap_or_else(|| default_cases(&args.file));
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let text = match read(&cases_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!(
                "error: {e:#}\nwrite the cases next to the pipeline as `{}`, or pass `--cases FILE`",
                default_cases(&args.file).display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let cases = match stk_local::cases::parse(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "error: {}: {e}\nsee `stkc test --help` for the format",
                cases_path.display()
            );
            return Ok(ExitCode::from(2));
        }
    };
    let results = stk_local::cases::run(ir, &cases);
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    for r in &results {
        match &r.failure {
            None => println!("ok      {}", r.name),
            Some((want, got)) => {
                println!("FAILED  {}", r.name);
                println!("  --- expected (cases file)\n  +++ actual (pipeline)");
                for change in TextDiff::from_lines(want, got).iter_all_changes() {
                    let sign = match change.tag() {
                        ChangeTag::Delete => '-',
                        ChangeTag::Insert => '+',
                        ChangeTag::Equal => ' ',
                    };
                    print!("  {sign} {change}");
                }
            }
        }
    }
    println!(
        "\n{}: {} cases, {} passed, {} failed ({})",
        if failed == 0 { "ok" } else { "FAILED" },
        results.len(),
        results.len() - failed,
        failed,
        cases_path.display()
    );
    Ok(ExitCode::from(u8::from(failed > 0)))
}

/// `pipelines/stocks.stk` -> `pipelines/stocks.tests.yaml`.
fn default_cases(file: &std::path::Path) -> PathBuf {
    file.with_extension("tests.yaml")
}
