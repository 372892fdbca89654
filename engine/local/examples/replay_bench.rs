//! `stkc run --replay FILE --speed max` without building the whole `stkc` binary (issue:
//! local mode, BENCHMARKS.md "Local mode"): the same `stk_local::run` the CLI calls, with
//! the CLI's options, so the figures are the command's.
//!
//!   replay_bench PIPELINE.stk TICKS.jsonl LAKE_DIR
//!
//! Prints one line: records read, valid, files written, seconds, records/s.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use stk_dsl::check::FsWorld;
use stk_eval::Firing;
use stk_local::run::Observer;
use stk_local::{RunOptions, run};

/// Alerts are counted, not printed (the CLI prints them to a redirected stdout).
struct Quiet;

impl Observer for Quiet {
    fn firing(&mut self, _f: &Firing) {}
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, pipeline, ticks, lake] = args.as_slice() else {
        eprintln!("usage: replay_bench PIPELINE.stk TICKS.jsonl LAKE_DIR");
        std::process::exit(2);
    };
    let pipeline = Path::new(pipeline);
    let source = std::fs::read_to_string(pipeline).expect("read the pipeline");
    let checked = stk_dsl::check_source(&source, &FsWorld::for_pipeline(pipeline));
    let Some(ir) = checked.ir else {
        eprintln!("{pipeline:?} has errors; run `stkc check` on it");
        std::process::exit(1);
    };
    let opts = RunOptions {
        lake_dir: lake.into(),
        replay: Some(ticks.into()),
        speed: Some(None),
        for_duration: None,
        stop: Arc::new(AtomicBool::new(false)),
        flush_records: stk_local::run::FLUSH_RECORDS,
        smtp: None,
        influx_url: None,
    };
    let dir = pipeline.parent().unwrap_or(Path::new("."));
    let s = run(&ir, dir, &opts, &mut Quiet).expect("the run");
    let secs = s.elapsed.as_secs_f64();
    println!(
        "stkc run --replay --speed max: read={} valid={} rejected={} alerts={} raw_objects={} lake_files={} {secs:.3} s {:.0} records/s",
        s.read,
        s.valid,
        s.rejected,
        s.firings,
        s.flushed.raw_objects,
        s.flushed.lake_files,
        s.read as f64 / secs
    );
}
