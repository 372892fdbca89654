//! One local run: read the source, validate, evaluate alerts, flush to the local sinks,
//! checkpoint. Stops at the end of a replay, after `--for`, or when `stop` is set (Ctrl-C),
//! always flushing what it has read first.

use crate::checkpoint::{self, Checkpoint};
use crate::influx::{InfluxStats, LocalInflux};
use crate::replay::{self, LineBatch, LineKind};
use crate::sinks::{Batch, Block, Flushed, LocalSinks, Text, bytes};
use crate::{LocalError, Result};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use stk_dsl::ir::{Pipeline, ReplayFormat, SourceKind};
use stk_eval::value::ts_to_rfc3339;
use stk_eval::{AlertEvaluator, Firing, Record, Rejection, Scratch, Validator, Value};
use stk_lake::compact::DeadLetter;

/// Records per flush at most (`stkc run`'s default for [`RunOptions::flush_records`]).
pub const FLUSH_RECORDS: usize = 1_000_000;

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
    /// Failed fetches of a live source (each also reported through the observer).
    pub source_errors: u64,
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
    match source(p, pipeline_dir, opts)? {
        Source::Replay(path, format, file_speed) => {
            run_replay(p, &path, format, file_speed, opts, obs)
        }
        Source::Yahoo(src) => crate::live::run_live(p, &src, opts, obs),
    }
}

fn run_replay(
    p: &Pipeline,
    path: &Path,
    format: ReplayFormat,
    file_speed: Option<f64>,
    opts: &RunOptions,
    obs: &mut dyn Observer,
) -> Result<RunSummary> {
    let speed = opts.speed.unwrap_or(file_speed);
    let batches = replay::batches(path, format, &p.schema, DECODED_CHUNK)?;
    let source_id = path
        .canonicalize()
        .unwrap_or(path.to_path_buf())
        .display()
        .to_string();
    let mut e = Engine::new(p, opts, source_id, obs)?;
    let skip = e.ck.offset;
    let mut first_ts: Option<(i64, Instant)> = None;
    // The absolute index of the next line to process: what the checkpoint records.
    let mut position = skip;
    // Lines are read, decoded and validated on a second thread, a bounded queue ahead of
    // the engine (alerts, sinks, flushes), so memory stays bounded and both cores work.
    let validator = e.validator.clone();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk>>(DECODED_CHUNKS);
    // Chunks the engine is done with go back to be refilled (records decoded in place).
    let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Chunk>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut scratch = validator.decoder.scratch();
            // Exact repeats are found here, off the engine thread (the busier one).
            let mut recent = RecentSet::new(RECENT);
            for batch in batches {
                let chunk = batch.map(|b| {
                    let mut chunk = spent_rx.try_recv().unwrap_or_default();
                    chunk.fill(&validator, &mut scratch, &mut recent, b);
                    chunk
                });
                let failed = chunk.is_err();
                if tx.send(chunk).is_err() || failed {
                    // The engine stopped (Ctrl-C, `--for`, an error), or reading did.
                    return;
                }
            }
        });
        let mut i: u64 = 0;
        'read: for chunk in rx {
            let mut chunk = chunk?;
            for (k, (span, outcome)) in chunk.lines.drain(..).enumerate() {
                let resumed = i < skip;
                if !resumed {
                    if e.should_stop(opts) {
                        e.summary.interrupted = true;
                        break 'read;
                    }
                    e.summary.read += 1;
                    position = i + 1;
                }
                let text = Text {
                    block: &chunk.text,
                    span,
                };
                let decoded = outcome.with(chunk.records.get(k));
                if let Some(Value::Ts(ts)) =
                    e.take(Some(i as usize + 1), text, decoded, resumed, obs)
                    && let Some(x) = speed
                {
                    pace(&mut first_ts, ts, x, &opts.stop);
                }
                // A paced replay flushes on the buffer interval too, as a live run does; at
                // full speed the interval means nothing and the buffer's size decides.
                let due = speed.is_some() && e.last_flush.elapsed() >= e.buffer_interval();
                if !resumed && (due || e.buffer_full(opts)) {
                    e.flush(position, obs)?;
                }
                // At full speed, not a read of the clock per record.
                if speed.is_some() || i.is_multiple_of(1024) {
                    e.progress(obs);
                }
                i += 1;
            }
            // The reading thread may have stopped already; then the chunk is just dropped.
            let _ = spent_tx.send(chunk);
        }
        e.finish(position, obs)
    })
}

/// Lines of CSV per chunk handed from the reading thread to the engine (a JSONL chunk is
/// about `replay::READ_BYTES` of whole lines), and chunks in flight.
const DECODED_CHUNK: usize = 4096;
const DECODED_CHUNKS: usize = 8;

/// Lines decoded on the reading thread: the block of text they are in (which the raw sink
/// keeps until it flushes), each line's span and outcome, and the valid lines' records
/// (`records[k]` for line `k`). The engine hands a chunk back when it is done with it, and
/// its records are decoded over in place: no allocation per record on either thread, and
/// the strings the records share are counted by one thread only.
pub(crate) struct Chunk {
    text: Block,
    lines: Vec<(Range<usize>, Outcome)>,
    records: Vec<Record>,
}

impl Default for Chunk {
    fn default() -> Self {
        Chunk {
            text: Arc::new(Vec::new()),
            lines: Vec::new(),
            records: Vec::new(),
        }
    }
}

/// Records remembered to find exact repeats.
const RECENT: usize = 1 << 20;

/// What the reading thread made of one line (its record, when valid, is the chunk's).
pub(crate) enum Outcome {
    Valid,
    Invalid(Rejection),
    Duplicate,
    Bad(String),
}

/// One line of the source as the engine takes it: its record (or why it has none), an
/// exact repeat of a recent line, or a line that could not be read.
pub(crate) enum Decoded<'r> {
    Record(std::result::Result<&'r Record, Rejection>),
    Duplicate,
    Bad { reason: String },
}

impl Outcome {
    /// The line as the engine takes it, with its record when it is valid.
    fn with(self, record: Option<&Record>) -> Decoded<'_> {
        match (self, record) {
            (Outcome::Valid, Some(r)) => Decoded::Record(Ok(r)),
            (Outcome::Valid, None) => Decoded::Bad {
                reason: "internal error: a valid line without its record".into(),
            },
            (Outcome::Invalid(rej), _) => Decoded::Record(Err(rej)),
            (Outcome::Duplicate, _) => Decoded::Duplicate,
            (Outcome::Bad(reason), _) => Decoded::Bad { reason },
        }
    }
}

impl Chunk {
    /// Decode and validate a batch of lines into this chunk (the reading thread's work): the
    /// plain-record scanner first, each record decoded over the one this chunk held before,
    /// the reference decoders for anything else.
    fn fill(
        &mut self,
        validator: &Validator,
        scratch: &mut Scratch,
        recent: &mut RecentSet,
        batch: LineBatch,
    ) {
        self.lines.clear();
        let n = batch.lines.len();
        if self.records.len() < n {
            self.records.resize(n, scratch.record.clone());
        }
        for ((span, kind), slot) in batch.lines.into_iter().zip(&mut self.records) {
            let text = bytes(&batch.text).get(span.clone()).unwrap_or_default();
            let outcome = match kind {
                _ if !matches!(kind, LineKind::Bad(_)) && !recent.insert(RecentSet::hash(text)) => {
                    Outcome::Duplicate
                }
                LineKind::Json => {
                    std::mem::swap(&mut scratch.record, slot);
                    let checked = validator.validate_text_with(text, scratch).map(|_| ());
                    std::mem::swap(&mut scratch.record, slot);
                    match checked {
                        Ok(()) => Outcome::Valid,
                        Err(rej) => Outcome::Invalid(rej),
                    }
                }
                LineKind::Csv(value) => match validator.validate_json(&value) {
                    Ok(record) => {
                        *slot = record;
                        Outcome::Valid
                    }
                    Err(rej) => Outcome::Invalid(rej),
                },
                LineKind::Bad(reason) => Outcome::Bad(reason),
            };
            self.lines.push((span, outcome));
        }
        self.text = batch.text;
    }
}

/// Decode and validate one line of a live source; `None` for an exact repeat of a recent one.
fn decode(
    validator: &Validator,
    recent: &mut RecentSet,
    text: &str,
) -> Option<std::result::Result<Record, Rejection>> {
    recent
        .insert(RecentSet::hash(text.as_bytes()))
        .then(|| validator.validate_text(text.as_bytes()))
}

/// The state of a run, whatever its source: validation, alerts, the pending flush, the
/// outputs and the checkpoint.
pub(crate) struct Engine<'p> {
    p: &'p Pipeline,
    pub(crate) validator: Validator,
    alerts: Vec<AlertEvaluator>,
    notifier: Notifier,
    pending: Batch,
    firings: Vec<Firing>,
    out: Outputs,
    pub(crate) ck: Checkpoint,
    pub(crate) summary: RunSummary,
    /// Exact repeats of a live source's lines (a replay's are found on its reading thread).
    recent: RecentSet,
    source_id: String,
    start: Instant,
    last_progress: Instant,
    pub(crate) last_flush: Instant,
    /// A sink error met while taking a record, reported at the next flush.
    failed: Option<LocalError>,
}

impl<'p> Engine<'p> {
    pub(crate) fn new(
        p: &'p Pipeline,
        opts: &RunOptions,
        source_id: String,
        obs: &mut dyn Observer,
    ) -> Result<Self> {
        std::fs::create_dir_all(&opts.lake_dir).map_err(|e| crate::io(&opts.lake_dir, e))?;
        let previous = checkpoint::load(&opts.lake_dir)?.unwrap_or_default();
        let ck = Checkpoint {
            offset: if previous.source == source_id {
                previous.offset
            } else {
                0
            },
            source: source_id.clone(),
            seq: previous.seq,
        };
        let out = Outputs {
            sinks: LocalSinks::new(p, &opts.lake_dir),
            influx: connect_influx(p, opts, obs)?,
            dir: opts.lake_dir.clone(),
        };
        Ok(Engine {
            p,
            validator: Validator::new(p),
            alerts: p
                .alerts
                .iter()
                .map(|a| AlertEvaluator::new(a, &p.schema))
                .collect(),
            notifier: Notifier::new(p, opts.smtp.as_deref().or(p.smtp.as_deref()))?,
            pending: out.sinks.batch(p, out.influx.is_some())?,
            firings: Vec::new(),
            out,
            summary: RunSummary {
                resumed_from: ck.offset,
                ..Default::default()
            },
            ck,
            recent: RecentSet::new(RECENT),
            source_id,
            start: Instant::now(),
            last_progress: Instant::now(),
            last_flush: Instant::now(),
            failed: None,
        })
    }

    pub(crate) fn should_stop(&self, opts: &RunOptions) -> bool {
        opts.stop.load(Ordering::Relaxed)
            || opts.for_duration.is_some_and(|d| self.start.elapsed() >= d)
    }

    /// Take one line of a live source.
    pub(crate) fn ingest(&mut self, text: String, obs: &mut dyn Observer) -> Option<Value> {
        let record;
        let decoded = match decode(&self.validator, &mut self.recent, &text) {
            Some(Ok(r)) => {
                record = r;
                Decoded::Record(Ok(&record))
            }
            Some(Err(rej)) => Decoded::Record(Err(rej)),
            None => Decoded::Duplicate,
        };
        let span = 0..text.len();
        let block: Block = Arc::new(text.into_bytes());
        let text = Text {
            block: &block,
            span,
        };
        self.take(None, text, decoded, false, obs)
    }

    /// Take one line (line `line_no` of the source, when it has lines), decoded, with its
    /// text. Records before the checkpoint (`resumed`) only warm the alert windows up.
    /// Returns the valid record's event time (for pacing).
    pub(crate) fn take(
        &mut self,
        line_no: Option<usize>,
        text: Text<'_>,
        line: Decoded<'_>,
        resumed: bool,
        obs: &mut dyn Observer,
    ) -> Option<Value> {
        let decoded = match line {
            Decoded::Record(checked) => checked,
            Decoded::Duplicate => {
                if !resumed {
                    self.summary.duplicates += 1;
                }
                return None;
            }
            Decoded::Bad { reason } => {
                if !resumed {
                    self.summary.rejected += 1;
                    let text = String::from_utf8_lossy(text.bytes()).into_owned();
                    self.pending.dead.push(
                        DeadLetter::new(&self.source_id, "decode", reason, text.into())
                            .at_line(line_no),
                    );
                }
                return None;
            }
        };
        match decoded {
            Ok(record) => {
                let ts = record.values[self.validator.decoder.event_time()].clone();
                if resumed {
                    self.push_alerts(record);
                    self.firings.clear();
                    return None;
                }
                if let Err(e) = self
                    .pending
                    .push(self.out.sinks.raw_partitioner(), record, text)
                {
                    self.failed.get_or_insert(e);
                }
                self.push_alerts(record);
                self.notifier
                    .report(&mut self.firings, &mut self.summary, obs);
                self.summary.valid += 1;
                Some(ts)
            }
            Err(rej) => {
                if !resumed {
                    self.summary.rejected += 1;
                    let text = text.bytes();
                    let doc = match serde_json::from_slice(text) {
                        Ok(doc) if rej.rule != "decode" => doc,
                        _ => String::from_utf8_lossy(text).into_owned().into(),
                    };
                    self.pending.dead.push(
                        DeadLetter::new(&self.source_id, rej.rule, rej.reason, doc)
                            .at_line(line_no),
                    );
                }
                None
            }
        }
    }

    fn push_alerts(&mut self, record: &Record) {
        for a in &mut self.alerts {
            a.push(record, &mut self.firings);
        }
    }

    /// Enough pending for a flush? Firehose applies the raw sink's size hint to each
    /// partition's buffer, so one partition reaching it flushes; `flush_records` bounds the
    /// memory of all partitions together (a replay at full speed, many partitions).
    pub(crate) fn buffer_full(&self, opts: &RunOptions) -> bool {
        self.pending.len >= opts.flush_records
            || self.pending.fullest_partition >= self.out.sinks.buffer_bytes()
    }

    /// The raw sink's buffer interval (Firehose's time hint), for sources that never end.
    pub(crate) fn buffer_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.out.sinks.buffer_interval_s()))
    }

    pub(crate) fn flush(&mut self, position: u64, obs: &mut dyn Observer) -> Result<()> {
        self.last_flush = Instant::now();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        flush(
            self.p,
            &mut self.pending,
            &mut self.out,
            &mut self.ck,
            position,
            &mut self.summary,
            obs,
        )
    }

    pub(crate) fn progress(&mut self, obs: &mut dyn Observer) {
        if self.last_progress.elapsed() >= Duration::from_millis(250) {
            self.summary.elapsed = self.start.elapsed();
            obs.progress(&self.summary);
            self.last_progress = Instant::now();
        }
    }

    /// End of the source or a stop: fire what the alerts still hold, flush, report.
    pub(crate) fn finish(mut self, position: u64, obs: &mut dyn Observer) -> Result<RunSummary> {
        for a in &mut self.alerts {
            a.flush(&mut self.firings);
        }
        self.notifier
            .report(&mut self.firings, &mut self.summary, obs);
        self.flush(position, obs)?;
        self.summary.elapsed = self.start.elapsed();
        obs.progress(&self.summary);
        Ok(self.summary)
    }
}

/// Write everything pending as flush `ck.seq`, then checkpoint `offset`.
fn flush(
    p: &Pipeline,
    pending: &mut Batch,
    out: &mut Outputs,
    ck: &mut Checkpoint,
    offset: u64,
    summary: &mut RunSummary,
    obs: &mut dyn Observer,
) -> Result<()> {
    if !pending.is_empty() {
        let f = out.sinks.flush(p, ck.seq, pending)?;
        if let (Some(influx), Some(records)) = (&out.influx, &pending.records)
            && let Err(e) = influx.write(records, &mut summary.influx)
        {
            obs.warn(&format!(
                "{e}\nthe run goes on without sink `{}`; every record is in the lake, and \
                     `stkc backfill FILE --from-lake {}` writes them when it is back",
                influx.sink_name(),
                out.dir.join("lake").display()
            ));
            out.influx = None;
        }
        summary.flushed.raw_objects += f.raw_objects;
        summary.flushed.lake_files += f.lake_files;
        summary.flushed.dead_letters += f.dead_letters;
        summary.flushed.bytes += f.bytes;
        summary.flushed.lake_bytes += f.lake_bytes;
        *pending = out.sinks.batch(p, out.influx.is_some())?;
        ck.seq += 1;
    } else if offset <= ck.offset {
        return Ok(());
    }
    ck.offset = offset;
    checkpoint::save(&out.dir, ck)
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

enum Source {
    Replay(PathBuf, ReplayFormat, Option<f64>),
    Yahoo(stk_dsl::ir::YahooSource),
}

fn source(p: &Pipeline, dir: &Path, opts: &RunOptions) -> Result<Source> {
    if let Some(path) = &opts.replay {
        let lower = path.to_string_lossy().to_ascii_lowercase();
        let format = if lower.ends_with(".csv") {
            ReplayFormat::Csv
        } else {
            ReplayFormat::Jsonl
        };
        return Ok(Source::Replay(path.clone(), format, None));
    }
    for s in &p.sources {
        if let SourceKind::Replay(r) = &s.kind {
            return Ok(Source::Replay(dir.join(&r.path), r.format, r.speed));
        }
    }
    for s in &p.sources {
        if let SourceKind::Yahoo(y) = &s.kind {
            return Ok(Source::Yahoo(y.clone()));
        }
    }
    Err(LocalError::Config(
        "the pipeline has no source; add a `source NAME: yahoo { ... }` or `replay` block".into(),
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
    /// The keys are already hashes: the set only spreads them (Fx), it does not rehash text.
    set: rustc_hash::FxHashSet<u64>,
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

    /// The key of a record's text: XXH3 (64 bits, several times SipHash's speed on a tick),
    /// so two different records share a key with odds of about one in 2^64.
    fn hash(text: &[u8]) -> u64 {
        twox_hash::XxHash3_64::oneshot(text)
    }

    /// False when a record with this hash was seen recently.
    fn insert(&mut self, key: u64) -> bool {
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
