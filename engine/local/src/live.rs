//! A live run: the pipeline's Yahoo source polled on its interval (the same client and poller
//! the scraper daemon uses), each new tick through validation, alerts and the local sinks.
//! Flushes on the raw sink's buffer interval or size, and on stop (Ctrl-C, `--for`). Fetch
//! failures are reported and counted, and polling goes on.

use crate::run::{Engine, Observer, RunOptions, RunSummary};
use crate::{LocalError, Result};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use stk_dsl::ir::{Pipeline, YahooSource};
use stk_yahoo::poll::Poller;

pub(crate) fn run_live(
    p: &Pipeline,
    src: &YahooSource,
    opts: &RunOptions,
    obs: &mut dyn Observer,
) -> Result<RunSummary> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LocalError::Config(format!("cannot start the HTTP runtime: {e}")))?;
    let mut poller =
        Poller::new(src).map_err(|e| LocalError::Config(format!("yahoo source: {e}")))?;
    let mut e = Engine::new(p, opts, "yahoo".into(), obs)?;
    loop {
        if e.should_stop(opts) {
            e.summary.interrupted = true;
            break;
        }
        // A poll may wait out Yahoo's backoff; a stop (Ctrl-C, `--for`) must not wait for it.
        // Dropping the poll loses nothing: no tick of it has been taken yet.
        let polled = rt.block_on(async {
            tokio::select! {
                r = poller.poll_once() => Some(r),
                _ = stopped(&e, opts) => None,
            }
        });
        let Some(polled) = polled else {
            e.summary.interrupted = true;
            break;
        };
        for err in &polled.errors {
            e.summary.source_errors += 1;
            obs.warn(&format!("yahoo: {err}"));
        }
        for t in polled.ticks {
            e.summary.read += 1;
            e.ingest(t.to_json(), obs);
        }
        if e.buffer_full(opts) || e.last_flush.elapsed() >= e.buffer_interval() {
            e.flush(0, obs)?;
        }
        e.progress(obs);
        let wake = Instant::now() + poller.next_delay();
        while Instant::now() < wake && !e.should_stop(opts) {
            std::thread::sleep(
                Duration::from_millis(50).min(wake.saturating_duration_since(Instant::now())),
            );
        }
        if opts.stop.load(Ordering::Relaxed) {
            e.summary.interrupted = true;
            break;
        }
    }
    e.finish(0, obs)
}

/// Resolves when the run should stop.
async fn stopped(e: &Engine<'_>, opts: &RunOptions) {
    while !e.should_stop(opts) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
