//! The daemon loop: poll each Yahoo source on its interval, validate every new tick with the
//! pipeline's rules (rejects go to the dead-letter file with their reason), spool the valid
//! ones, and let the producer drain the spool into Kinesis concurrently. A stop (SIGTERM)
//! ends polling at once (a poll in flight is dropped before any of its ticks was taken), then
//! the producer drains for up to `drain_timeout`; whatever is left stays in the spool for the
//! next start. Every tick scraped is counted as emitted, rejected or duplicate.

use crate::alerts::{RealtimeAlerts, publish_loop};
use crate::metrics::Metrics;
use crate::producer::Producer;
use crate::spool::{Spool, SpoolError};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stk_dsl::ir::{Pipeline, SourceKind};
use stk_eval::Validator;
use stk_yahoo::poll::Poller;

#[derive(Debug, Clone)]
pub struct Options {
    /// The Kinesis stream's name in AWS.
    pub stream: String,
    pub spool_path: PathBuf,
    pub spool_max_bytes: u64,
    /// One JSON line per rejected tick, with the rule and reason.
    pub dead_letters: PathBuf,
    /// After a stop, how long the producer may keep sending the spool.
    pub drain_timeout: Duration,
    /// Where realtime alert firings are published (`None`: logged only).
    pub alerts: Option<(aws_sdk_sns::Client, String)>,
}

/// How a run ended.
#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub emitted: u64,
    pub rejected: u64,
    pub sent: u64,
    /// Ticks still in the spool at exit (sent on the next start).
    pub spooled: u64,
    /// Realtime alert firings, and how many reached SNS.
    pub firings: u64,
    pub published: u64,
}

pub async fn run(
    p: &Pipeline,
    producer: Producer,
    opts: &Options,
    metrics: &Metrics,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Summary> {
    let spool = Arc::new(Mutex::new(Spool::open(
        &opts.spool_path,
        opts.spool_max_bytes,
    )?));
    let left = lock(&spool).len();
    if left > 0 {
        tracing::info!(
            ticks = left,
            "sending what an earlier run left in the spool"
        );
    }
    metrics.spooled.set(left as i64);
    let draining = Arc::new(AtomicBool::new(false));
    let sender = tokio::spawn(send_loop(
        producer,
        spool.clone(),
        metrics.clone(),
        draining.clone(),
        opts.drain_timeout,
    ));

    let mut summary = Summary::default();
    let mut pollers = Vec::new();
    for s in &p.sources {
        if let SourceKind::Yahoo(y) = &s.kind {
            pollers.push((Poller::new(y)?, Instant::now(), s.name.clone()));
        }
    }
    let mut reported: Vec<Reported> = pollers.iter().map(|_| Reported::default()).collect();
    if pollers.is_empty() {
        anyhow::bail!("the pipeline has no Yahoo source for the scraper to poll");
    }
    let validator = Validator::new(p);
    let mut realtime = RealtimeAlerts::new(p);
    let (alert_tx, publisher) = match (&opts.alerts, realtime.is_empty()) {
        (Some((sns, topic)), false) => {
            let (tx, rx) = tokio::sync::mpsc::channel(1024);
            (
                Some(tx),
                Some(tokio::spawn(publish_loop(sns.clone(), topic.clone(), rx))),
            )
        }
        _ => (None, None),
    };
    let key_field = p
        .stream
        .as_ref()
        .map_or("symbol".to_string(), |s| s.partition_key.clone());
    // Ticks parsed but not yet spooled (the spool was full): kept, and polling waits.
    let mut held: Vec<(String, Vec<u8>)> = Vec::new();

    while !stop.load(Ordering::Relaxed) {
        if !held.is_empty() {
            let pushed = lock(&spool).push(&held);
            match pushed {
                Ok(()) => held.clear(),
                Err(SpoolError::Full { .. }) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let Some(i) = pollers
            .iter()
            .enumerate()
            .min_by_key(|(_, (_, due, _))| *due)
            .map(|(i, _)| i)
        else {
            break;
        };
        let wait = pollers[i].1.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(Duration::from_millis(100))).await;
            continue;
        }
        let (poller, due, name) = &mut pollers[i];
        let polled = tokio::select! {
            r = poller.poll_once() => r,
            _ = stopped(&stop) => break,
        };
        *due = Instant::now() + poller.next_delay();
        for e in &polled.errors {
            tracing::warn!(source = %name, error = %e, "fetch failed; polling goes on");
        }
        report_counters(poller, &mut reported[i], metrics);
        let mut batch = Vec::new();
        for t in polled.ticks {
            let text = t.to_json();
            let doc: serde_json::Value = serde_json::from_str(&text)?;
            match validator.validate_json(&doc) {
                Ok(record) => {
                    for f in realtime.push(&record) {
                        summary.firings += 1;
                        metrics.alerts.inc();
                        tracing::info!(alert = %f.alert, key = %f.key_text(), ts = %f.ts, message = %f.message, "alert fired");
                        if let Some(tx) = &alert_tx
                            && tx.send(f).await.is_err()
                        {
                            tracing::error!("the SNS publisher stopped; alerts are only logged");
                        }
                    }
                    let key = doc
                        .get(&key_field)
                        .and_then(|k| k.as_str().map(str::to_string).or(Some(k.to_string())))
                        .unwrap_or_else(|| t.symbol.clone());
                    batch.push((key, text.into_bytes()));
                }
                Err(rej) => {
                    summary.rejected += 1;
                    metrics.rejected.inc();
                    dead_letter(&opts.dead_letters, name, &rej.rule, &rej.reason, &doc);
                }
            }
        }
        summary.emitted += batch.len() as u64;
        metrics.emitted.inc_by(batch.len() as u64);
        let pushed = lock(&spool).push(&batch);
        match pushed {
            Ok(()) => {}
            Err(e @ SpoolError::Full { .. }) => {
                tracing::error!(error = %e, "polling waits until Kinesis takes records again");
                held = batch;
            }
            Err(e) => return Err(e.into()),
        }
        metrics.spooled.set(lock(&spool).len() as i64);
    }

    // Stop: nothing scraped may be lost, so held ticks go to the spool past its bound.
    if !held.is_empty() {
        lock(&spool).push_unbounded(&held)?;
    }
    draining.store(true, Ordering::Relaxed);
    drop(alert_tx);
    if let Some(p) = publisher {
        summary.published = tokio::time::timeout(opts.drain_timeout, p)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
    }
    summary.sent = sender.await.unwrap_or(0);
    summary.spooled = lock(&spool).len();
    metrics.spooled.set(summary.spooled as i64);
    Ok(summary)
}

/// The producer side: send while there is something to send; after `draining` is set, stop
/// when the spool is empty or `drain_timeout` has passed. Returns the ticks sent.
async fn send_loop(
    producer: Producer,
    spool: Arc<Mutex<Spool>>,
    metrics: Metrics,
    draining: Arc<AtomicBool>,
    drain_timeout: Duration,
) -> u64 {
    let mut sent_total = 0;
    let mut backoff = Duration::from_millis(100);
    let mut drain_deadline: Option<Instant> = None;
    loop {
        if draining.load(Ordering::Relaxed) {
            let deadline = *drain_deadline.get_or_insert_with(|| Instant::now() + drain_timeout);
            if lock(&spool).is_empty() || Instant::now() >= deadline {
                break;
            }
        }
        let pause = match producer.send_once(&spool).await {
            Ok(s) if s.records == 0 => Duration::from_millis(100),
            Ok(s) => {
                sent_total += s.ticks;
                metrics.sent.inc_by(s.ticks);
                if s.failed > 0 {
                    metrics.retried.inc_by(s.failed);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    backoff
                } else {
                    backoff = Duration::from_millis(100);
                    Duration::ZERO
                }
            }
            Err(e) => {
                metrics.errors.inc();
                tracing::warn!(stream = producer.stream(), error = %e, "Kinesis send failed; records stay spooled");
                backoff = (backoff * 2).min(Duration::from_secs(30));
                backoff.mul_f64(0.5 + fastrand::f64())
            }
        };
        metrics.spooled.set(lock(&spool).len() as i64);
        if !pause.is_zero() {
            let until = Instant::now() + pause;
            while Instant::now() < until {
                if draining.load(Ordering::Relaxed)
                    && drain_deadline.is_some_and(|d| Instant::now() >= d)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    sent_total
}

fn lock(s: &Mutex<Spool>) -> std::sync::MutexGuard<'_, Spool> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

async fn stopped(stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Poller and client totals as last reported, so each poll adds only what is new.
#[derive(Default)]
struct Reported([u64; 6]);

fn report_counters(p: &Poller, last: &mut Reported, m: &Metrics) {
    let c = &p.counters;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let now = [
        get(&c.polls),
        get(&c.parsed),
        get(&c.duplicates) + get(&c.stale),
        get(&c.skipped_null) + get(&c.skipped_no_time),
        get(&c.errors),
        get(&p.client().stats.retries),
    ];
    let d: Vec<u64> = now
        .iter()
        .zip(last.0)
        .map(|(n, l)| n.saturating_sub(l))
        .collect();
    m.polled.inc_by(d[0]);
    m.parsed.inc_by(d[1]);
    m.duplicates.inc_by(d[2]);
    m.skipped.inc_by(d[3]);
    m.errors.inc_by(d[4]);
    m.retried.inc_by(d[5]);
    last.0 = now;
}

fn dead_letter(path: &PathBuf, source: &str, rule: &str, reason: &str, record: &serde_json::Value) {
    let line = stk_eval::DeadLetter::new(source, rule, reason, record.clone()).to_line();
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        // The tick is still in the log, so it is not lost.
        tracing::error!(path = %path.display(), error = %e, dead_letter = %line, "cannot write the dead-letter file");
    }
}
