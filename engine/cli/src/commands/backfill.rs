//! `stkc backfill FILE --from-lake DIR|s3://BUCKET/PREFIX`: disaster recovery for the InfluxDB
//! sink, from the original system's wish list. Reads the Parquet lake back, from a folder or
//! straight from S3 (partition columns restored from the paths), and writes every record as
//! the transform Lambda would have.

use crate::cli::BackfillArgs;
use crate::load::load;
use crate::s3_lake::S3Lake;
use anyhow::{Result, bail};
use std::path::Path;
use std::process::ExitCode;
use stk_local::influx::{InfluxStats, LocalInflux};

pub fn run(args: &BackfillArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let from_s3 = args.from_lake.starts_with("s3://");
    let dir = Path::new(&args.from_lake);
    if !from_s3 && !dir.exists() {
        bail!(
            "`{}` does not exist; pass the lake folder that `stkc run --lake DIR` wrote (DIR/lake)",
            dir.display()
        );
    }
    let Some(influx) = LocalInflux::new(ir, args.influx.as_deref())? else {
        bail!(
            "`{}` has no InfluxDB sink to backfill; add a `sink NAME: influxdb {{ ... }}` block",
            loaded.display
        );
    };
    if let Err(e) = influx.ping() {
        bail!("{e}\nstart it, or point `--influx URL` at a reachable server");
    }
    let stats = if from_s3 {
        let lake = S3Lake::new(&args.from_lake, &ir.region)?;
        let keys = lake.keys()?;
        if keys.is_empty() {
            bail!(
                "no Parquet objects under `{}`; pass the lake bucket and prefix the lake sink writes",
                args.from_lake
            );
        }
        let mut stats = InfluxStats::default();
        let mut seq = 0i64;
        let mut outcome = Ok(());
        for key in &keys {
            let bytes = lake.get(key)?;
            outcome = stk_lake::input::for_each_object_batch(
                ir,
                lake.relative(key),
                bytes,
                &mut seq,
                &mut |batch| influx.write_batch(ir, &batch, &mut stats),
            );
            if outcome.is_err() {
                break;
            }
        }
        influx.backfill_outcome(outcome, stats)?
    } else {
        influx.backfill(ir, dir)?
    };
    eprintln!(
        "backfill: {} points written to sink `{}` at {}{}",
        stats.points,
        influx.sink_name(),
        influx.url(),
        if stats.skipped > 0 {
            format!(" ({} records without a field value skipped)", stats.skipped)
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
