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
    /// Records read and the time at the previous status line, for the current rate.
    last: (u64, std::time::Duration),
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
        eprint!("\r\x1b[2K{}", self.status_line(s));
        let _ = std::io::stderr().flush();
    }
}

impl Terminal {
    /// `1,204,000 records (1.1M/s now), 2,340 rejected, 12 repeats, 3 alerts, lake +41.2 MiB`
    fn status_line(&mut self, s: &RunSummary) -> String {
        let (read0, t0) = self.last;
        let dt = s.elapsed.saturating_sub(t0).as_secs_f64();
        let rate = if dt > 0.0 {
            (s.read.saturating_sub(read0)) as f64 / dt
        } else {
            0.0
        };
        self.last = (s.read, s.elapsed);
        format!(
            "{} records ({}/s now), {} rejected, {} repeats, {} alerts, lake +{:.1} MiB",
            s.read,
            human(rate),
            s.rejected,
            s.duplicates,
            s.firings,
            s.flushed.lake_bytes as f64 / (1 << 20) as f64
        )
    }
}

/// 950, 12.3k, 1.05M
fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e4 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
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
        flush_records: stk_local::run::FLUSH_RECORDS,
        smtp: args.smtp.clone(),
        influx_url: args.influx.clone(),
    };
    let dir = args.file.parent().unwrap_or(std::path::Path::new("."));
    let mut term = Terminal {
        status: std::io::stderr().is_terminal(),
        last: Default::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_status_line_shows_the_current_rate_and_what_was_written() {
        let mut t = Terminal {
            status: true,
            last: Default::default(),
        };
        let mut s = RunSummary {
            read: 500_000,
            rejected: 12,
            duplicates: 3,
            firings: 2,
            elapsed: Duration::from_millis(500),
            ..Default::default()
        };
        s.flushed.lake_bytes = 3 << 20;
        assert_eq!(
            t.status_line(&s),
            "500000 records (1.00M/s now), 12 rejected, 3 repeats, 2 alerts, lake +3.0 MiB"
        );
        // The rate is the last interval's, not the run's average.
        s.read = 510_000;
        s.elapsed = Duration::from_millis(1500);
        assert!(
            t.status_line(&s).contains("(10.0k/s now)"),
            "{}",
            t.status_line(&s)
        );
        assert_eq!(human(950.4), "950");
    }
}
