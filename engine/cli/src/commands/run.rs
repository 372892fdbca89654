//! `stkc run FILE`: the whole pipeline locally. Alerts print as they fire; a status line
//! shows progress when stderr is a terminal; Ctrl-C flushes everything before exit.

use crate::cli::RunArgs;
use crate::load::load;
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use stk_eval::Firing;
use stk_local::run::{Observer, firing_line};
use stk_local::{RunOptions, RunSummary};

struct Terminal {
    status: bool,
    lake: std::path::PathBuf,
}

impl Observer for Terminal {
    fn firing(&mut self, f: &Firing) {
        if self.status {
            eprint!("\r\x1b[2K");
        }
        // A closed stdout (`| head`) must not stop the run before it flushes the lake.
        let _ = writeln!(std::io::stdout(), "{}", firing_line(f));
    }

    fn progress(&mut self, s: &RunSummary) {
        if !self.status {
            return;
        }
        let secs = s.elapsed.as_secs_f64().max(1e-9);
        eprint!(
            "\r\x1b[2K{} records ({:.0}/s), {} rejected, {} alerts, lake {:.1} MiB",
            s.read,
            s.read as f64 / secs,
            s.rejected,
            s.firings,
            stk_local::sinks::size_of(&self.lake) as f64 / (1 << 20) as f64
        );
        let _ = std::io::stderr().flush();
    }
}

pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let opts = RunOptions {
        lake_dir: args.lake.clone(),
        replay: args.replay.clone(),
        speed: args.speed.map(|s| s.0),
        for_duration: args.for_duration,
        stop,
        flush_records: 1_000_000,
        smtp: args.smtp.clone(),
        influx_url: args.influx.clone(),
    };
    let dir = args.file.parent().unwrap_or(std::path::Path::new("."));
    let mut term = Terminal {
        status: std::io::stderr().is_terminal(),
        lake: args.lake.clone(),
    };
    let s = stk_local::run(ir, dir, &opts, &mut term)?;
    if term.status {
        eprint!("\r\x1b[2K");
    }
    eprintln!(
        "{}: {} records read{} in {:.2}s, {} valid, {} repeats dropped, {} rejected (dead letters in {}/errors), {} alerts{}; wrote {} raw objects and {} Parquet files under {}",
        if s.interrupted { "stopped" } else { "done" },
        s.read,
        if s.resumed_from > 0 {
            format!(" (resumed after {})", s.resumed_from)
        } else {
            String::new()
        },
        s.elapsed.as_secs_f64(),
        s.valid,
        s.duplicates,
        s.rejected,
        args.lake.display(),
        s.firings,
        if s.mails_sent + s.mails_failed > 0 {
            format!(" ({} mails sent, {} failed)", s.mails_sent, s.mails_failed)
        } else {
            String::new()
        },
        s.flushed.raw_objects,
        s.flushed.lake_files,
        args.lake.display(),
    );
    if s.source_errors > 0 {
        eprintln!(
            "source: {} failed fetches (each reported above); the run kept polling",
            s.source_errors
        );
    }
    if s.influx.points + s.influx.unwritten > 0 {
        eprintln!(
            "influxdb: {} points written, {} records not written{}",
            s.influx.points,
            s.influx.unwritten,
            if s.influx.skipped > 0 {
                format!(", {} records without a field value", s.influx.skipped)
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
