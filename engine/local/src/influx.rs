//! The InfluxDB sink in local mode: the pipeline's InfluxDB sink, written at every flush when
//! the server in the file (or `--influx URL`) answers. An unreachable server never stops a
//! run or loses data: the records are in the lake, and `stkc backfill` writes them later.
//! Also the backfill itself: the lake read back, file by file, into InfluxDB.

use crate::{LocalError, Result};
use std::path::Path;
use stk_dsl::ir::{InfluxSink, Pipeline, SinkKind};
use stk_eval::Record;
use stk_influx::{InfluxWriter, LineEncoder, WriteError};

/// A connected InfluxDB sink with its own small async runtime (local mode is synchronous).
pub struct LocalInflux {
    encoder: LineEncoder,
    writer: InfluxWriter,
    rt: tokio::runtime::Runtime,
    batch: usize,
    sink_name: String,
}

/// What happened to the records given to the sink.
#[derive(Debug, Default, Clone, Copy)]
pub struct InfluxStats {
    /// Points written.
    pub points: u64,
    /// Records with no line (no field had a value).
    pub skipped: u64,
    /// Records not written because the server was unavailable or rejected the batch.
    pub unwritten: u64,
}

/// The pipeline's InfluxDB sink, if it has one.
pub fn sink(p: &Pipeline) -> Option<(&str, &InfluxSink)> {
    p.sinks.iter().find_map(|s| match &s.kind {
        SinkKind::Influxdb(i) => Some((s.name.as_str(), i)),
        _ => None,
    })
}

impl LocalInflux {
    /// A writer for the pipeline's sink at `url_override` or the file's URL, with the token
    /// from the environment (`stk_influx::token`). `Ok(None)` when the pipeline has no sink.
    pub fn new(p: &Pipeline, url_override: Option<&str>) -> Result<Option<Self>> {
        let Some((name, s)) = sink(p) else {
            return Ok(None);
        };
        let token = stk_influx::token::from_env(&s.token);
        let url = url_override.unwrap_or(&s.url);
        let writer = InfluxWriter::new(s, url, token.as_deref())
            .map_err(|e| LocalError::Config(format!("sink `{name}`: {e}")))?
            .with_retries(3, std::time::Duration::from_millis(200));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| LocalError::Config(format!("cannot start the InfluxDB client: {e}")))?;
        Ok(Some(LocalInflux {
            encoder: LineEncoder::new(&p.schema, s),
            writer,
            rt,
            batch: (s.batch_size as usize).max(1),
            sink_name: name.to_string(),
        }))
    }

    pub fn sink_name(&self) -> &str {
        &self.sink_name
    }

    pub fn url(&self) -> &str {
        self.writer.url()
    }

    pub fn ping(&self) -> std::result::Result<(), WriteError> {
        self.rt.block_on(self.writer.ping())
    }

    /// Write `records` in batches of the sink's batch size. Stops at the first failed batch
    /// and counts the rest as unwritten.
    pub fn write<'a>(
        &self,
        records: impl IntoIterator<Item = &'a Record>,
        stats: &mut InfluxStats,
    ) -> std::result::Result<(), WriteError> {
        let mut body = Vec::new();
        let mut lines = 0usize;
        let mut records = records.into_iter();
        loop {
            let next = records.next();
            if let Some(r) = next {
                if self.encoder.encode(r, &mut body) {
                    lines += 1;
                } else {
                    stats.skipped += 1;
                }
            }
            if lines > 0 && (lines >= self.batch || next.is_none()) {
                if let Err(e) = self
                    .rt
                    .block_on(self.writer.write(std::mem::take(&mut body)))
                {
                    stats.unwritten += lines as u64 + records.count() as u64;
                    return Err(e);
                }
                stats.points += lines as u64;
                lines = 0;
            }
            if next.is_none() {
                return Ok(());
            }
        }
    }

    /// Write every record of the lake under `dir` (`stkc backfill --from-lake DIR`).
    pub fn backfill(&self, p: &Pipeline, dir: &Path) -> Result<InfluxStats> {
        let mut stats = InfluxStats::default();
        let outcome = stk_lake::input::for_each_lake_batch(p, dir, |batch| {
            self.write_batch(p, &batch, &mut stats)
        });
        self.backfill_outcome(outcome.map(|_| ()), stats)
    }

    /// Write the records of one batch of the lake (a backfill's step).
    pub fn write_batch(
        &self,
        p: &Pipeline,
        batch: &arrow::record_batch::RecordBatch,
        stats: &mut InfluxStats,
    ) -> stk_lake::Result<()> {
        let records: Vec<Record> = (0..batch.num_rows())
            .map(|row| stk_lake::convert::record_at(&p.schema, batch, row))
            .collect();
        self.write(&records, stats)
            .map_err(|e| stk_lake::LakeError::Sink(e.to_string()))
    }

    /// A backfill's result, with what to do when the server failed part-way.
    pub fn backfill_outcome(
        &self,
        outcome: stk_lake::Result<()>,
        stats: InfluxStats,
    ) -> Result<InfluxStats> {
        match outcome {
            Ok(()) => Ok(stats),
            Err(stk_lake::LakeError::Sink(e)) => Err(LocalError::Config(format!(
                "{e}\n{} points were written before that; run the backfill again when InfluxDB \
                 is available (a point with the same series and time overwrites, so nothing is \
                 duplicated)",
                stats.points
            ))),
            Err(e) => Err(e.into()),
        }
    }
}
