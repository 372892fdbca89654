//! `stkc query "SQL"`: SQL over a local lake with DataFusion.

use crate::cli::{QueryArgs, RowFormat};
use anyhow::{Result, bail};
use std::io::Write;
use std::process::ExitCode;

pub fn run(args: &QueryArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let evaluator = stk_lake::BatchEvaluator::new(threads);
    let ctx = evaluator.session();
    let tables = rt.block_on(stk_lake::query::register_lake(ctx, &args.lake))?;
    if tables.is_empty() {
        bail!(
            "`{}` holds no lake yet (no `lake/` or `raw/` files); write one with `stkc run PIPELINE --lake {}`",
            args.lake.display(),
            args.lake.display()
        );
    }
    let batches = match rt.block_on(stk_lake::query::run(ctx, &args.sql)) {
        Ok(b) => b,
        Err(e) => bail!("{e}\n(tables: {})", tables.join(", ")),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        RowFormat::Table => writeln!(
            out,
            "{}",
            arrow::util::pretty::pretty_format_batches(&batches)?
        )?,
        RowFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            for b in &batches {
                w.write(b)?;
            }
        }
        RowFormat::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(&mut out);
            w.write_batches(&batches.iter().collect::<Vec<_>>())?;
            w.finish()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
