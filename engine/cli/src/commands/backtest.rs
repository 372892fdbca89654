//! `stkc backtest FILE --input PATH`: every firing of every alert over recorded records, in
//! ts order, and a summary per alert and key.

use crate::cli::{BacktestArgs, Engine, OutputFormat};
use crate::load::load;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use stk_eval::{AlertEvaluator, Firing};
use stk_lake::input;

pub fn run(args: &BacktestArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    if ir.alerts.is_empty() {
        eprintln!(
            "`{}` declares no alerts: nothing to backtest",
            loaded.display
        );
        return Ok(ExitCode::SUCCESS);
    }
    let input = input::read(ir, &args.input)
        .with_context(|| format!("cannot read `{}`", args.input.display()))?;
    let mut firings: Vec<Firing> = Vec::new();
    match args.engine {
        Engine::Streaming => {
            let records = input::records(ir, &input.batches);
            for alert in &ir.alerts {
                let mut eval = AlertEvaluator::new(alert, &ir.schema);
                for r in &records {
                    eval.push(r, &mut firings);
                }
                eval.flush(&mut firings);
            }
        }
        Engine::Batch => {
            let threads = args
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads)
                .enable_all()
                .build()?;
            let evaluator = stk_lake::BatchEvaluator::new(threads);
            for alert in &ir.alerts {
                let f = rt.block_on(evaluator.run(ir, alert, input.batches.clone()))?;
                firings.extend(f);
            }
        }
    }
    firings
        .retain(|f| args.from.is_none_or(|t| f.ts_us >= t) && args.to.is_none_or(|t| f.ts_us < t));
    firings.sort_by_key(Firing::order_key);

    let mut out = std::io::stdout().lock();
    let mut summary: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &firings {
        *summary.entry((f.alert.clone(), f.key_text())).or_default() += 1;
    }
    match args.format {
        OutputFormat::Json => {
            for f in &firings {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<22} {:<16} {:<18} {:>12}  message",
                "ts", "alert", "key", "value"
            )?;
            for f in &firings {
                writeln!(
                    out,
                    "{:<22} {:<16} {:<18} {:>12}  {}",
                    f.ts,
                    f.alert,
                    f.key_text(),
                    value_text(&f.value),
                    f.message
                )?;
            }
            writeln!(out)?;
        }
    }
    let summary_text: String = summary
        .iter()
        .map(|((a, k), n)| format!("  {a:<16} {k:<18} {n}\n"))
        .collect();
    let head = format!(
        "{} firing(s) over {} record(s) ({} rejected by validation)\n",
        firings.len(),
        input.rows,
        input.rejected
    );
    if args.format == OutputFormat::Table {
        write!(out, "{head}{summary_text}")?;
    } else {
        eprint!("{head}{summary_text}");
    }
    Ok(ExitCode::SUCCESS)
}

fn value_text(v: &serde_json::Value) -> String {
    match v.as_f64() {
        Some(f) => format!("{f:.6}"),
        None => v.to_string(),
    }
}
