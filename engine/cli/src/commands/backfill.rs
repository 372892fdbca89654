//! `stkc backfill FILE --from-lake DIR`: disaster recovery for the InfluxDB sink, from the
//! original system's wish list. Reads the Parquet lake back (partition columns restored from
//! the paths) and writes every record as the transform Lambda would have.

use crate::cli::BackfillArgs;
use crate::load::load;
use anyhow::{Result, bail};
use std::path::Path;
use std::process::ExitCode;
use stk_local::influx::LocalInflux;

pub fn run(args: &BackfillArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    if args.from_lake.starts_with("s3://") {
        bail!(
            "reading the lake from S3 is not supported yet; copy it first \
             (`aws s3 sync {} ./lake-copy`) and pass `--from-lake ./lake-copy`",
            args.from_lake
        );
    }
    let dir = Path::new(&args.from_lake);
    if !dir.exists() {
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
    let stats = influx.backfill(ir, dir)?;
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
