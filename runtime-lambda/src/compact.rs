//! The compact handler: each raw object Firehose delivers (an S3 ObjectCreated event on the
//! raw bucket) -> partitioned Parquet in the lake bucket, named after the source object so a
//! retry overwrites instead of duplicating (`stk_lake::compact` does the work, the same code
//! as the local lake). Invalid rows go to `compact/<source key>.jsonl` in the errors bucket.
//!
//! Any failure is returned as the invocation's error, so Lambda retries the event (S3
//! notifications are asynchronous invocations: two retries, then the on-failure destination).

use crate::config::Config;
use crate::objects::{self, ObjectError};
use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use std::io::Write;
use stk_dsl::ir::{LakeSink, Pipeline};
use stk_lake::compact::Compaction;

pub struct Compact {
    pipeline: Pipeline,
    lake: LakeSink,
    s3: aws_sdk_s3::Client,
    lake_bucket: String,
    errors_bucket: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("s3://{bucket}/{key}: {reason}")]
    Convert {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("an event record without a bucket or key")]
    NoKey,
}

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CompactStats {
    pub objects: usize,
    pub records: usize,
    /// Lake keys written.
    pub files: Vec<String>,
    pub dead_letters: usize,
}

impl Compact {
    pub fn new(cfg: &Config, aws: &SdkConfig) -> Option<Compact> {
        Some(Compact {
            pipeline: cfg.pipeline.clone(),
            lake: cfg.lake_sink()?.clone(),
            s3: objects::s3_client(aws),
            lake_bucket: cfg.lake_bucket.clone()?,
            errors_bucket: cfg.errors_bucket.clone(),
        })
    }

    pub async fn handle(&self, event: &S3Event) -> Result<CompactStats, CompactError> {
        let mut stats = CompactStats::default();
        for rec in &event.records {
            let (bucket, key) = objects::bucket_and_key(rec).ok_or(CompactError::NoKey)?;
            if key.ends_with('/') {
                continue; // a "folder" made in the console
            }
            let convert = |reason: String| CompactError::Convert {
                bucket: bucket.clone(),
                key: key.clone(),
                reason,
            };
            // The object streams through: only its current chunk, the partitions' column
            // builders and the finished Parquet files are in memory, never the whole object.
            let mut body = objects::open(&self.s3, &bucket, &key).await?;
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let mut c = Compaction::with_threads(&self.pipeline, &self.lake, &key, threads)
                .map_err(|e| convert(e.to_string()))?;
            let mut w = c.object();
            while let Some(chunk) = body
                .try_next()
                .await
                .map_err(|e| convert(format!("reading the object: {e}")))?
            {
                w.write_all(&chunk).map_err(|e| convert(e.to_string()))?;
            }
            w.end().map_err(|e| convert(e.to_string()))?;
            let out = c
                .finish(&stk_lake::compact::stem(&key), threads)
                .map_err(|e| convert(e.to_string()))?;
            // Dead letters first: if they cannot be written the event is retried before any
            // lake file exists for it.
            if let Some(errors) = &self.errors_bucket {
                let dl_key = format!("compact/{key}.jsonl");
                objects::put_dead_letters(&self.s3, errors, &dl_key, &out.dead_letters).await?;
            }
            for f in out.files {
                objects::put(
                    &self.s3,
                    &self.lake_bucket,
                    &f.path,
                    f.bytes,
                    "application/vnd.apache.parquet",
                )
                .await?;
                stats.files.push(f.path);
            }
            stats.objects += 1;
            stats.records += out.records;
            stats.dead_letters += out.dead_letters.len();
            tracing::info!(
                source = %format!("s3://{bucket}/{key}"), records = out.records,
                dead_letters = out.dead_letters.len(), "compacted"
            );
        }
        Ok(stats)
    }
}
