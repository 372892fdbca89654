//! One local run: read the source, validate, evaluate alerts, flush to the local sinks,
//! checkpoint. Stops at the end of a replay, after `--for`, or when `stop` is set (Ctrl-C),
//! always flushing what it has read first.

use crate::checkpoint::{self, Checkpoint};
use crate::influx::{InfluxStats, LocalInflux};
use crate::replay::{self, Line};
use crate::sinks::{Flushed, LocalSinks};
use crate::{LocalError, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use stk_dsl::ir::{Pipeline, ReplayFormat, SourceKind};
use stk_eval::value::ts_to_rfc3339;
use stk_eval::{AlertEvaluator, Firing, Validator, Value};
use stk_lake::compact::DeadLetter;

pub struct RunOptions {
    pub lake_dir: PathBuf,
    /// A replay file instead of the pipeline's sources.
    pub replay: Option<PathBuf>,
    /// Playback speed: `Some(None)` as fast as possible, `None` as the pipeline says.
    pub speed: Option<Option<f64>>,
    /// Stop after this much wall-clock time.
    pub for_duration: Option<Duration>,
    pub stop: Arc<AtomicBool>,
    /// Flush at most this many records at once (besides the raw sink's size hint).
    pub flush_records: usize,
    /// SMTP server (`host:port`) for alert mail; overrides the pipeline's `smtp`.
    pub smtp: Option<String>,
    /// InfluxDB URL; overrides the URL of the pipeline's InfluxDB sink.
    pub influx_url: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct RunSummary {
    /// Records read from the source in this run (after the checkpoint).
    pub read: u64,
    /// Records skipped because an earlier run already flushed them.
    pub resumed_from: u64,
    pub valid: u64,
    /// Exact repeats of a recent record (a producer's retry), dropped before the lake.
    pub duplicates: u64,
    pub rejected: u64,
    pub firings: u64,
    pub mails_sent: u64,
    pub mails_failed: u64,
    pub flushed: Flushed,
    /// The InfluxDB sink: points written, records without a line, records not written.
    pub influx: InfluxStats,
    pub interrupted: bool,
    pub elapsed: Duration,
}

/// Progress reported to the caller (status line, alert printing).
pub trait Observer {
    fn firing(&mut self, f: &Firing);
    /// Something the user should know that does not stop the run (a mail that failed).
    fn warn(&mut self, message: &str) {
        eprintln!("warning: {message}");
    }
    fn progress(&mut self, _s: &RunSummary) {}
}

pub fn run(
    p: &Pipeline,
    pipeline_dir: &Path,
    opts: &RunOptions,
    obs: &mut dyn Observer,
) -> Result<RunSummary> {
    let start = Instant::now();
    let (path, format, file_speed) = source(p, pipeline_dir, opts)?;
    let speed = opts.speed.unwrap_or(file_speed);
    let lines = replay::read(&path, format, &p.schema)?;
    std::fs::create_dir_all(&opts.lake_dir).map_err(|e| crate::io(&opts.lake_dir, e))?;
    let source_id = path
        .canonicalize()
        .unwrap_or(path.clone())
        .display()
        .to_string();
    let previous = checkpoint::load(&opts.lake_dir)?.unwrap_or_default();
    let mut ck = Checkpoint {
        source: source_id.clone(),
        offset: if previous.source == source_id {
            previous.offset
        } else {
            0
        },
        seq: previous.seq,
    };
    let mut out = Outputs {
        sinks: LocalSinks::new(p, &opts.lake_dir),
        influx: connect_influx(p, opts, obs)?,
        dir: opts.lake_dir.clone(),
    };
    let notifier = Notifier::new(p, opts.smtp.as_deref().or(p.smtp.as_deref()))?;
    let validator = Validator::new(p);
    let mut alerts: Vec<AlertEvaluator> = p
        .alerts
        .iter()
        .map(|a| AlertEvaluator::new(a, &p.schema))
        .collect();
    let mut summary = RunSummary {
        resumed_from: ck.offset,
        ..Default::default()
    };
    let mut pending = Pending::default();
    let mut firings = Vec::new();
    let ts_idx = validator.decoder.event_time();
    let mut first_ts: Option<(i64, Instant)> = None;
    let mut last_progress = Instant::now();
    // The absolute index of the next line to process: what the checkpoint records.
    let mut position = ck.offset;
    let mut recent = RecentSet::new(1 << 20);

    for (i, line) in lines.into_iter().enumerate() {
        let i = i as u64;
        let resumed = i < ck.offset;
        if !resumed {
            if opts.stop.load(Ordering::Relaxed)
                || opts.for_duration.is_some_and(|d| start.elapsed() >= d)
            {
                summary.interrupted = true;
                break;
            }
            summary.read += 1;
            position = i + 1;
        }
        let (doc, text) = match line {
            Line::Json { value: v, text } => {
                if !recent.insert(&text) {
                    if !resumed {
                        summary.duplicates += 1;
                    }
                    continue;
                }
                (v, text)
            }
            Line::Bad { text, reason } => {
                if !resumed {
                    summary.rejected += 1;
                    pending.dead.push(DeadLetter {
                        source: source_id.clone(),
                        line: Some(i as usize + 1),
                        rule: "decode".into(),
                        reason,
                        record: text.into(),
                    });
                }
                continue;
            }
        };
        match validator.validate_json(&doc) {
            Ok(record) => {
                // Records before the checkpoint only warm the alert windows up.
                for a in &mut alerts {
                    a.push(record.clone(), &mut firings);
                }
                if resumed {
                    firings.clear();
                    continue;
                }
                notifier.report(&mut firings, &mut summary, obs);
                if let (Some(x), Value::Ts(ts)) = (speed, &record.values[ts_idx]) {
                    pace(&mut first_ts, *ts, x, &opts.stop);
                }
                summary.valid += 1;
                pending.bytes += text.len() as u64 + 1;
                pending.records.push((record, text));
            }
            Err(rej) if !resumed => {
                summary.rejected += 1;
                pending.dead.push(DeadLetter {
                    source: source_id.clone(),
                    line: Some(i as usize + 1),
                    rule: rej.rule,
                    reason: rej.reason,
                    record: doc,
                });
            }
            Err(_) => {}
        }
        if !resumed
            && (pending.records.len() >= opts.flush_records
                || pending.bytes >= out.sinks.buffer_bytes())
        {
            pending.flush(p, &mut out, &mut ck, position, &mut summary, obs)?;
        }
        if last_progress.elapsed() >= Duration::from_millis(250) {
            summary.elapsed = start.elapsed();
            obs.progress(&summary);
            last_progress = Instant::now();
        }
    }
    for a in &mut alerts {
        a.flush(&mut firings);
    }
    notifier.report(&mut firings, &mut summary, obs);
    pending.flush(p, &mut out, &mut ck, position, &mut summary, obs)?;
    summary.elapsed = start.elapsed();
    obs.progress(&summary);
    Ok(summary)
}

/// What has been read but not yet written: valid records with their JSON text, and dead
/// letters.
#[derive(Default)]
struct Pending {
    records: Vec<(stk_eval::Record, String)>,
    dead: Vec<DeadLetter>,
    bytes: u64,
}

impl Pending {
    /// Write everything pending as flush `ck.seq`, then checkpoint `offset`.
    fn flush(
        &mut self,
        p: &Pipeline,
        out: &mut Outputs,
        ck: &mut Checkpoint,
        offset: u64,
        summary: &mut RunSummary,
        obs: &mut dyn Observer,
    ) -> Result<()> {
        if !(self.records.is_empty() && self.dead.is_empty()) {
            let f = out.sinks.flush(p, ck.seq, &self.records, &self.dead)?;
            if let Some(influx) = &out.influx {
                let records = self.records.iter().map(|(r, _)| r);
                if let Err(e) = influx.write(records, &mut summary.influx) {
                    obs.warn(&format!(
                        "{e}\nthe run goes on without sink `{}`; every record is in the lake, and \
                         `stkc backfill FILE --from-lake {}` writes them when it is back",
                        influx.sink_name(),
                        out.dir.join("lake").display()
                    ));
                    out.influx = None;
                }
            }
            summary.flushed.raw_objects += f.raw_objects;
            summary.flushed.lake_files += f.lake_files;
            summary.flushed.dead_letters += f.dead_letters;
            summary.flushed.bytes += f.bytes;
            *self = Pending::default();
            ck.seq += 1;
        } else if offset <= ck.offset {
            return Ok(());
        }
        ck.offset = offset;
        checkpoint::save(&out.dir, ck)
    }
}

/// Where flushed records go: the files of the lake directory, and InfluxDB while it answers.
struct Outputs {
    sinks: LocalSinks,
    influx: Option<LocalInflux>,
    dir: PathBuf,
}

/// The pipeline's InfluxDB sink when its server answers; otherwise a clear warning and none.
fn connect_influx(
    p: &Pipeline,
    opts: &RunOptions,
    obs: &mut dyn Observer,
) -> Result<Option<LocalInflux>> {
    let Some(influx) = LocalInflux::new(p, opts.influx_url.as_deref())? else {
        return Ok(None);
    };
    match influx.ping() {
        Ok(()) => Ok(Some(influx)),
        Err(e) => {
            obs.warn(&format!(
                "sink `{}`: {e}\nthe run goes on without it (every record is still in the lake); \
                 point `--influx URL` at a server, or run `stkc backfill FILE --from-lake {}` \
                 once it is reachable",
                influx.sink_name(),
                opts.lake_dir.join("lake").display()
            ));
            Ok(None)
        }
    }
}

/// Sleep so that event time advances `speed` times faster than wall time.
fn pace(first: &mut Option<(i64, Instant)>, ts: i64, speed: f64, stop: &AtomicBool) {
    let (t0, w0) = *first.get_or_insert((ts, Instant::now()));
    let due = Duration::from_secs_f64(((ts - t0).max(0) as f64 / 1e6) / speed);
    while let Some(wait) = due.checked_sub(w0.elapsed()) {
        if stop.load(Ordering::Relaxed) || wait.is_zero() {
            break;
        }
        std::thread::sleep(wait.min(Duration::from_millis(100)));
    }
}

fn source(
    p: &Pipeline,
    dir: &Path,
    opts: &RunOptions,
) -> Result<(PathBuf, ReplayFormat, Option<f64>)> {
    if let Some(path) = &opts.replay {
        let lower = path.to_string_lossy().to_ascii_lowercase();
        let format = if lower.ends_with(".csv") {
            ReplayFormat::Csv
        } else {
            ReplayFormat::Jsonl
        };
        return Ok((path.clone(), format, None));
    }
    for s in &p.sources {
        if let SourceKind::Replay(r) = &s.kind {
            return Ok((dir.join(&r.path), r.format, r.speed));
        }
    }
    Err(LocalError::Config(
        "this pipeline has only live Yahoo sources, and the live scraper is not part of local mode yet; \
         replay recorded ticks with `--replay FILE.jsonl`"
            .into(),
    ))
}

/// When a firing happened, for printing.
pub fn firing_line(f: &Firing) -> String {
    format!(
        "ALERT {} [{:?}] {} {}: {}",
        f.alert,
        f.severity,
        ts_to_rfc3339(f.ts_us),
        f.key_text(),
        f.message
    )
}

/// The hashes of the last `capacity` records, to drop exact repeats (at-least-once producers
/// resend) with bounded memory.
struct RecentSet {
    set: std::collections::HashSet<u64>,
    order: std::collections::VecDeque<u64>,
    capacity: usize,
}

impl RecentSet {
    fn new(capacity: usize) -> Self {
        RecentSet {
            set: Default::default(),
            order: Default::default(),
            capacity,
        }
    }

    /// False when `text` was seen recently.
    fn insert(&mut self, text: &str) -> bool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let key = h.finish();
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// Mails firings to their alert's addresses when an SMTP server is configured.
struct Notifier {
    mailer: Option<crate::mail::Mailer>,
    targets: std::collections::HashMap<String, Vec<String>>,
}

impl Notifier {
    fn new(p: &Pipeline, smtp: Option<&str>) -> Result<Self> {
        let mailer = smtp
            .map(crate::mail::Mailer::new)
            .transpose()
            .map_err(LocalError::Config)?;
        let targets = p
            .alerts
            .iter()
            .map(|a| {
                let to = a.notify.iter().map(|t| match t {
                    stk_dsl::ir::NotifyTarget::Email(e) => e.clone(),
                });
                (a.name.clone(), to.collect())
            })
            .collect();
        Ok(Notifier { mailer, targets })
    }

    /// Print (through the observer) and mail every firing in `firings`, emptying it.
    fn report(&self, firings: &mut Vec<Firing>, summary: &mut RunSummary, obs: &mut dyn Observer) {
        for f in firings.drain(..) {
            summary.firings += 1;
            obs.firing(&f);
            self.deliver(&f, summary, obs);
        }
    }

    fn deliver(&self, f: &Firing, summary: &mut RunSummary, obs: &mut dyn Observer) {
        let (Some(mailer), Some(to)) = (&self.mailer, self.targets.get(&f.alert)) else {
            return;
        };
        if to.is_empty() {
            return;
        }
        match mailer.send(f, to) {
            Ok(()) => summary.mails_sent += to.len() as u64,
            Err(e) => {
                summary.mails_failed += 1;
                obs.warn(&format!("alert mail not sent: {e}"));
            }
        }
    }
}
