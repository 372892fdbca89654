//! The transform handler: a Kinesis batch -> decoded, validated ticks -> InfluxDB line
//! protocol, with invalid records as dead letters in the errors bucket.
//!
//! Nothing is acknowledged before it is stored. Lambda checkpoints a Kinesis batch at the
//! lowest sequence number reported in `batchItemFailures` and retries from there, so when a
//! write (to InfluxDB, or of the dead letters) fails, the record it belongs to and every record
//! after it are reported, and nothing after that point is written in this invocation. InfluxDB
//! overwrites a point with the same series and time, so a retried write does not duplicate.
//!
//! A record's data is one JSON tick, JSON lines of ticks (the scraper's packing), a JSON
//! array of ticks, or any of those gzipped.

use crate::config::{Config, InitError};
use crate::objects;
use aws_config::SdkConfig;
use aws_lambda_events::kinesis::{KinesisEvent, KinesisEventRecord};
use aws_lambda_events::streams::KinesisEventResponse;
use stk_dsl::ir::OnFail;
use stk_eval::{DeadLetter, Validator};
use stk_influx::{InfluxWriter, LineEncoder, WriteError};
use stk_lake::compact::documents;

pub struct Transform {
    decoder: Decoder,
    writer: InfluxWriter,
    s3: aws_sdk_s3::Client,
    errors_bucket: Option<String>,
    batch_size: usize,
}

/// What one invocation did (logged, and returned to tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TransformStats {
    pub records: usize,
    pub ticks: usize,
    pub written: usize,
    pub dead_letters: usize,
    pub dropped: usize,
    /// Records reported back for a retry.
    pub failed: usize,
}

/// One valid tick's line, with the Kinesis record it came from.
struct Pending {
    record: usize,
    line: Vec<u8>,
    doc: Doc,
}

/// Where a tick's JSON is, for its dead letter should InfluxDB refuse it.
enum Doc {
    /// Bytes of the Kinesis record's data (the fast path keeps no copy).
    Span(std::ops::Range<usize>),
    Value(serde_json::Value),
}

impl Doc {
    fn json(&self, data: &[u8]) -> serde_json::Value {
        match self {
            Doc::Value(v) => v.clone(),
            Doc::Span(r) => {
                let text = data.get(r.clone()).unwrap_or_default();
                serde_json::from_slice(text)
                    .unwrap_or_else(|_| String::from_utf8_lossy(text).into_owned().into())
            }
        }
    }
}

impl Transform {
    /// Reads the token from the pipeline's secret and builds the clients (once, at init).
    pub async fn new(cfg: &Config, aws: &SdkConfig) -> Result<Transform, InitError> {
        let sink = cfg.influx_sink().ok_or_else(|| InitError::Missing {
            handler: "transform",
            what: "an influxdb sink".into(),
            help: "add one to the pipeline".into(),
        })?;
        let token = crate::secret::read(aws, &sink.token)
            .await
            .map_err(InitError::Secret)?;
        let url = cfg.influx_url.as_deref().unwrap_or(&sink.url);
        let writer = InfluxWriter::new(sink, url, Some(&token))?;
        Ok(Transform {
            decoder: Decoder::new(&cfg.pipeline, sink),
            writer,
            s3: objects::s3_client(aws),
            errors_bucket: cfg.errors_bucket.clone(),
            batch_size: (sink.batch_size as usize).max(1),
        })
    }

    /// Fewer, shorter retries of InfluxDB outages (tests).
    pub fn with_influx_retries(mut self, attempts: u32, backoff: std::time::Duration) -> Self {
        self.writer = self.writer.with_retries(attempts, backoff);
        self
    }

    pub async fn handle(&self, event: &KinesisEvent) -> (KinesisEventResponse, TransformStats) {
        let records = &event.records;
        let mut stats = TransformStats {
            records: records.len(),
            ..Default::default()
        };
        let mut pending: Vec<Pending> = Vec::new();
        // (record index, dead letter)
        let mut dead: Vec<(usize, DeadLetter)> = Vec::new();
        for (i, rec) in records.iter().enumerate() {
            self.decoder
                .decode(i, rec, &mut pending, &mut dead, &mut stats);
        }
        // The first record that must be retried; everything from it on is reported.
        let mut first_failed = records.len();

        if !dead.is_empty() {
            stats.dead_letters = dead.len();
            let key = dead_letter_key(records, "");
            if let Err(e) = self.put_dead_letters(&key, &dead).await {
                tracing::error!(error = %e, "cannot write dead letters; their records will be retried");
                first_failed = dead.iter().map(|(i, _)| *i).min().unwrap_or(first_failed);
            }
        }

        let mut start = 0;
        while start < pending.len() {
            let end = (start + self.batch_size).min(pending.len());
            let chunk = &pending[start..end];
            let chunk_first = chunk[0].record;
            if chunk_first >= first_failed {
                break;
            }
            let body = chunk
                .iter()
                .map(|p| p.line.as_slice())
                .collect::<Vec<_>>()
                .concat();
            match self.writer.write(body).await {
                Ok(()) => stats.written += chunk.len(),
                Err(WriteError::Rejected {
                    status: 400, body, ..
                }) => {
                    // The lines themselves are wrong: retrying cannot help, so they become
                    // dead letters (and are retried only if those cannot be written).
                    let letters: Vec<(usize, DeadLetter)> = chunk
                        .iter()
                        .map(|p| {
                            let seq = &records[p.record].kinesis.sequence_number;
                            let dl = DeadLetter::new(
                                source_of(&records[p.record]),
                                "influxdb",
                                format!("InfluxDB rejected the batch: {body}"),
                                p.doc.json(&records[p.record].kinesis.data.0),
                            )
                            .with_sequence_number(seq.clone());
                            (p.record, dl)
                        })
                        .collect();
                    let key = dead_letter_key(records, &format!("-influx-{start}"));
                    match self.put_dead_letters(&key, &letters).await {
                        Ok(()) => stats.dead_letters += letters.len(),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot write dead letters; their records will be retried");
                            first_failed = first_failed.min(chunk_first);
                            break;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "InfluxDB write failed; the rest of the batch will be retried");
                    first_failed = first_failed.min(chunk_first);
                    break;
                }
            }
            start = end;
        }

        let mut response = KinesisEventResponse::default();
        for rec in &records[first_failed.min(records.len())..] {
            response.add_failure(rec.kinesis.sequence_number.clone());
        }
        stats.failed = records.len() - first_failed.min(records.len());
        tracing::info!(
            records = stats.records,
            ticks = stats.ticks,
            written = stats.written,
            dead_letters = stats.dead_letters,
            dropped = stats.dropped,
            failed = stats.failed,
            "transform"
        );
        (response, stats)
    }

    async fn put_dead_letters(
        &self,
        key: &str,
        dead: &[(usize, DeadLetter)],
    ) -> Result<(), objects::ObjectError> {
        let Some(bucket) = &self.errors_bucket else {
            // Config::check makes sure a bucket is set when the pipeline dead-letters.
            for (_, d) in dead {
                tracing::error!(dead_letter = %d.to_line().trim_end(), "no errors bucket");
            }
            return Ok(());
        };
        objects::put_dead_letters(&self.s3, bucket, key, dead.iter().map(|(_, d)| d)).await
    }
}

/// Kinesis records to line protocol: decoding, validation, encoding (no I/O).
pub struct Decoder {
    validator: Validator,
    encoder: LineEncoder,
}

impl Decoder {
    pub fn new(p: &stk_dsl::ir::Pipeline, sink: &stk_dsl::ir::InfluxSink) -> Decoder {
        Decoder {
            validator: Validator::new(p),
            encoder: LineEncoder::new(&p.schema, sink),
        }
    }

    /// The line-protocol body of a whole event, and what happened to its ticks (the
    /// handler's CPU work, for benchmarks).
    pub fn encode_event(&self, event: &KinesisEvent) -> (Vec<u8>, TransformStats) {
        let mut pending = Vec::new();
        let mut dead = Vec::new();
        let mut stats = TransformStats::default();
        for (i, rec) in event.records.iter().enumerate() {
            self.decode(i, rec, &mut pending, &mut dead, &mut stats);
        }
        stats.records = event.records.len();
        stats.dead_letters = dead.len();
        let body = pending
            .iter()
            .map(|p| p.line.as_slice())
            .collect::<Vec<_>>()
            .concat();
        (body, stats)
    }

    fn decode(
        &self,
        i: usize,
        rec: &KinesisEventRecord,
        pending: &mut Vec<Pending>,
        dead: &mut Vec<(usize, DeadLetter)>,
        stats: &mut TransformStats,
    ) {
        if self.decode_fast(i, rec, pending, stats) {
            return;
        }
        let seq = &rec.kinesis.sequence_number;
        let source = source_of(rec);
        let (docs, bad) = documents(&source, &rec.kinesis.data.0);
        for d in bad {
            dead.push((i, d.with_sequence_number(seq.clone())));
        }
        let mut one = |doc: serde_json::Value| {
            stats.ticks += 1;
            match self.validator.validate_json(&doc) {
                Ok(r) => {
                    let mut line = Vec::new();
                    if self.encoder.encode(&r, &mut line) {
                        pending.push(Pending {
                            record: i,
                            line,
                            doc: Doc::Value(doc),
                        });
                    } else {
                        // No field of the sink has a value: there is no point to write.
                        stats.dropped += 1;
                    }
                }
                Err(rej) if self.validator.on_fail == OnFail::Drop => {
                    tracing::debug!(rule = %rej.rule, reason = %rej.reason, "dropped");
                    stats.dropped += 1;
                }
                Err(rej) => dead.push((
                    i,
                    DeadLetter::new(&source, rej.rule, rej.reason, doc)
                        .with_sequence_number(seq.clone()),
                )),
            }
        };
        for (_, doc) in docs {
            match doc {
                serde_json::Value::Array(items) => items.into_iter().for_each(&mut one),
                d => one(d),
            }
        }
    }
}

impl Decoder {
    /// The common case without building JSON trees: plain (not gzip) data of one tick or JSON
    /// lines, every line a valid record. Anything else (a rejection, an array, gzip) returns
    /// false having changed nothing, and the general path takes the record.
    fn decode_fast(
        &self,
        i: usize,
        rec: &KinesisEventRecord,
        pending: &mut Vec<Pending>,
        stats: &mut TransformStats,
    ) -> bool {
        let data = &rec.kinesis.data.0;
        if data.starts_with(&[0x1f, 0x8b]) {
            return false;
        }
        let start = pending.len();
        let (mut ticks, mut dropped) = (0, 0);
        let mut at = 0;
        for line in data.split(|b| *b == b'\n') {
            let span = at..at + line.len();
            at += line.len() + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Some(r) = self
                .validator
                .decoder
                .decode_fast(line)
                .filter(|r| self.validator.check(r).is_ok())
            else {
                pending.truncate(start);
                return false;
            };
            ticks += 1;
            let mut out = Vec::new();
            if self.encoder.encode(&r, &mut out) {
                pending.push(Pending {
                    record: i,
                    line: out,
                    doc: Doc::Span(span),
                });
            } else {
                dropped += 1;
            }
        }
        stats.ticks += ticks;
        stats.dropped += dropped;
        true
    }
}

fn source_of(rec: &KinesisEventRecord) -> String {
    rec.event_source_arn
        .clone()
        .unwrap_or_else(|| "kinesis".to_string())
}

/// `transform/<date>/<shard>-<first sequence number><suffix>.jsonl`: one object per batch,
/// the same key when Lambda retries the same batch.
fn dead_letter_key(records: &[KinesisEventRecord], suffix: &str) -> String {
    let first = records.first();
    let shard = first
        .and_then(|r| r.event_id.as_deref())
        .and_then(|id| id.split_once(':'))
        .map_or("shard", |(s, _)| s);
    let seq = first.map_or("0", |r| r.kinesis.sequence_number.as_str());
    let date = first
        .map(|r| r.kinesis.approximate_arrival_timestamp.0)
        .unwrap_or_default()
        .format("%Y-%m-%d");
    format!("transform/{date}/{shard}-{seq}{suffix}.jsonl")
}
