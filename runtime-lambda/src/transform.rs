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
use crate::kinesis::{KinesisBatch, KinesisRecord};
use crate::objects;
use aws_config::SdkConfig;
use aws_lambda_events::streams::KinesisEventResponse;
use std::ops::Range;
use stk_dsl::ir::OnFail;
use stk_eval::{DeadLetter, Scratch, Validator};
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

/// One valid tick's line in the body, with the Kinesis record it came from.
struct Pending {
    record: usize,
    line: Range<usize>,
    doc: Doc,
}

/// Where a tick's JSON is, for its dead letter should InfluxDB refuse it.
enum Doc {
    /// Bytes of the Kinesis record's data (the fast path keeps no copy).
    Span(Range<usize>),
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

/// An event's records decoded: the line-protocol body of every valid tick, and the rest.
pub struct Decoded {
    /// The lines of [`Decoded::pending`], back to back.
    pub body: Vec<u8>,
    pending: Vec<Pending>,
    /// (record index, dead letter)
    dead: Vec<(usize, DeadLetter)>,
    pub stats: TransformStats,
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

    pub async fn handle(&self, batch: &KinesisBatch) -> (KinesisEventResponse, TransformStats) {
        let Decoded {
            mut body,
            pending,
            dead,
            mut stats,
        } = self.decoder.decode_batch(batch);
        // The first record that must be retried; everything from it on is reported.
        let mut first_failed = batch.len();

        if !dead.is_empty() {
            let key = dead_letter_key(batch, "");
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
            // The chunk's lines are contiguous in the body; one chunk for the whole body
            // (the common case) takes it without a copy.
            let lines = chunk[0].line.start..chunk[chunk.len() - 1].line.end;
            let chunk_body = if lines == (0..body.len()) {
                std::mem::take(&mut body)
            } else {
                body.get(lines).unwrap_or_default().to_vec()
            };
            match self.writer.write(chunk_body).await {
                Ok(()) => stats.written += chunk.len(),
                Err(WriteError::Rejected {
                    status: 400, body, ..
                }) => {
                    // The lines themselves are wrong: retrying cannot help, so they become
                    // dead letters (and are retried only if those cannot be written).
                    let letters: Vec<(usize, DeadLetter)> = chunk
                        .iter()
                        .map(|p| {
                            let rec = batch.get(p.record);
                            let dl = DeadLetter::new(
                                rec.map_or("kinesis", |r| r.source),
                                "influxdb",
                                format!("InfluxDB rejected the batch: {body}"),
                                p.doc
                                    .json(rec.and_then(|r| r.data.ok()).unwrap_or_default()),
                            )
                            .with_sequence_number(rec.map_or("", |r| r.sequence_number));
                            (p.record, dl)
                        })
                        .collect();
                    let key = dead_letter_key(batch, &format!("-influx-{start}"));
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
        for rec in batch.records().skip(first_failed) {
            response.add_failure(rec.sequence_number.to_string());
        }
        stats.failed = batch.len() - first_failed.min(batch.len());
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

    /// Decode, validate and encode every record of an event: the handler's CPU work (which
    /// the benchmark measures).
    pub fn decode_batch(&self, batch: &KinesisBatch) -> Decoded {
        let mut out = Decoded {
            // A tick's line is a little shorter than its JSON.
            body: Vec::with_capacity(batch.data_len()),
            pending: Vec::with_capacity(batch.len()),
            dead: Vec::new(),
            stats: TransformStats {
                records: batch.len(),
                ..Default::default()
            },
        };
        let mut scratch = self.validator.decoder.scratch();
        for (i, rec) in batch.records().enumerate() {
            match rec.data {
                Ok(data) => {
                    if !self.decode_fast(i, data, &mut scratch, &mut out) {
                        self.decode_general(i, &rec, data, &mut out);
                    }
                }
                Err(text) => {
                    let dl = DeadLetter::new(rec.source, "decode", "not base64", text.into())
                        .with_sequence_number(rec.sequence_number);
                    out.dead.push((i, dl));
                }
            }
        }
        out.stats.dead_letters = out.dead.len();
        out
    }

    fn decode_general(&self, i: usize, rec: &KinesisRecord<'_>, data: &[u8], out: &mut Decoded) {
        let seq = rec.sequence_number;
        let (docs, bad) = documents(rec.source, data);
        for d in bad {
            out.dead.push((i, d.with_sequence_number(seq)));
        }
        let mut one = |doc: serde_json::Value| {
            out.stats.ticks += 1;
            match self.validator.validate_json(&doc) {
                Ok(r) => {
                    let start = out.body.len();
                    if self.encoder.encode(&r, &mut out.body) {
                        out.pending.push(Pending {
                            record: i,
                            line: start..out.body.len(),
                            doc: Doc::Value(doc),
                        });
                    } else {
                        // No field of the sink has a value: there is no point to write.
                        out.stats.dropped += 1;
                    }
                }
                Err(rej) if self.validator.on_fail == OnFail::Drop => {
                    tracing::debug!(rule = %rej.rule, reason = %rej.reason, "dropped");
                    out.stats.dropped += 1;
                }
                Err(rej) => out.dead.push((
                    i,
                    DeadLetter::new(rec.source, rej.rule, rej.reason, doc)
                        .with_sequence_number(seq),
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

    /// The common case without building JSON trees: plain (not gzip) data of one tick or JSON
    /// lines, every line a valid record. Anything else (a rejection, an array, gzip) returns
    /// false having changed nothing, and the general path takes the record.
    fn decode_fast(&self, i: usize, data: &[u8], s: &mut Scratch, out: &mut Decoded) -> bool {
        if data.starts_with(&[0x1f, 0x8b]) {
            return false;
        }
        let (body_start, pending_start) = (out.body.len(), out.pending.len());
        let (mut ticks, mut dropped) = (0, 0);
        let mut at = 0;
        // The lines (`memchr`: most records are one line of a hundred bytes or more).
        let ends = memchr::memchr_iter(b'\n', data).chain([data.len()]);
        for end in ends {
            let span = at..end;
            let line = &data[span.clone()];
            at = end + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // The plain-record scanner into the reused record, then the fast decoder (escapes
            // and the like); the general path takes anything neither accepts, and words the
            // rejection.
            let decoder = &self.validator.decoder;
            let decoded = decoder.decode_plain(line, s)
                || decoder.decode_fast(line).map(|r| s.record = r).is_some();
            if !(decoded && self.validator.check(&s.record).is_ok()) {
                out.body.truncate(body_start);
                out.pending.truncate(pending_start);
                return false;
            }
            ticks += 1;
            let start = out.body.len();
            if self.encoder.encode(&s.record, &mut out.body) {
                out.pending.push(Pending {
                    record: i,
                    line: start..out.body.len(),
                    doc: Doc::Span(span),
                });
            } else {
                dropped += 1;
            }
        }
        out.stats.ticks += ticks;
        out.stats.dropped += dropped;
        true
    }
}

/// `transform/<date>/<shard>-<first sequence number><suffix>.jsonl`: one object per batch,
/// the same key when Lambda retries the same batch.
fn dead_letter_key(batch: &KinesisBatch, suffix: &str) -> String {
    let shard = batch.shard().unwrap_or("shard");
    let seq = batch.get(0).map_or("0", |r| r.sequence_number);
    let date = batch
        .arrival_secs()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs.floor() as i64, 0))
        .unwrap_or_default()
        .format("%Y-%m-%d");
    format!("transform/{date}/{shard}-{seq}{suffix}.jsonl")
}
