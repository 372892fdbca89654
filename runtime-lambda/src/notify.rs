//! The notify handler: a new Parquet object in the lake (an S3 ObjectCreated event on the lake
//! bucket) -> the pipeline's near-real-time alerts evaluated over it plus the lookback their
//! windows need -> each firing published to the alerts topic.
//!
//! The lookback comes from earlier objects of the partitions the new records fall in, and of
//! the partitions their lookback reaches into (the previous day's, near midnight), limited to
//! objects written shortly before the new one. The records are evaluated in event-time order
//! with the streaming evaluator (the same window and firing state machines the batch
//! evaluator runs in DataFusion, which the bootstrap leaves out to stay small), and only
//! firings of records in the new object are published, so every firing is published by the
//! invocation of the object that holds its record.

use crate::config::Config;
use crate::objects::{self, ObjectError};
use aws_config::SdkConfig;
use aws_lambda_events::s3::S3Event;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use stk_dsl::ir::{Alert, Delivery, PartitionKey, Pipeline};
use stk_eval::firing::value_json;
use stk_eval::{AlertEvaluator, Firing, Record, Value};

pub struct Notify {
    pipeline: Pipeline,
    alerts: Vec<Alert>,
    s3: aws_sdk_s3::Client,
    sns: aws_sdk_sns::Client,
    topic_arn: String,
    /// The lake's partition keys (where earlier objects of a record's series are).
    partition: Vec<PartitionKey>,
    /// The event-time column.
    ts_idx: usize,
    /// The longest lookback of the alerts (microseconds).
    lookback_us: i64,
    /// How long before the new object earlier objects may have been written and still hold
    /// its lookback (ms).
    window_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Object(#[from] ObjectError),
    #[error("s3://{bucket}/{key}: {reason}")]
    Read {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("cannot publish to {topic}: {reason}")]
    Publish { topic: String, reason: String },
    #[error("an event record without a bucket or key")]
    NoKey,
}

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NotifyStats {
    pub objects: usize,
    /// Records of the new objects.
    pub records: usize,
    /// Records read from earlier objects for the alerts' lookback.
    pub lookback_records: usize,
    pub firings: Vec<Firing>,
}

impl Notify {
    pub fn new(cfg: &Config, aws: &SdkConfig) -> Option<Notify> {
        let alerts: Vec<Alert> = cfg
            .pipeline
            .alerts
            .iter()
            .filter(|a| a.delivery == Delivery::NearRealTime)
            .cloned()
            .collect();
        let lookback_ms = alerts.iter().map(|a| a.lookback_ms).max().unwrap_or(0) as i64;
        let buffer_ms = cfg
            .pipeline
            .raw_sink()
            .map_or(900_000, |r| r.buffer_interval_s as i64 * 1000);
        Some(Notify {
            pipeline: cfg.pipeline.clone(),
            alerts,
            s3: objects::s3_client(aws),
            sns: aws_sdk_sns::Client::new(aws),
            topic_arn: cfg.alerts_topic_arn.clone()?,
            partition: cfg
                .lake_sink()
                .map(|l| l.partition.clone())
                .unwrap_or_default(),
            lookback_us: lookback_ms * 1000,
            ts_idx: stk_eval::RecordDecoder::new(&cfg.pipeline.schema).event_time(),
            // Records reach the lake one raw buffer and one compaction after their event time;
            // allow two buffers and ten minutes of slack on top of the lookback.
            window_ms: lookback_ms + 2 * buffer_ms + 600_000,
        })
    }

    pub async fn handle(&self, event: &S3Event) -> Result<NotifyStats, NotifyError> {
        let mut stats = NotifyStats::default();
        if self.alerts.is_empty() {
            return Ok(stats);
        }
        for rec in &event.records {
            let (bucket, key) = objects::bucket_and_key(rec).ok_or(NotifyError::NoKey)?;
            if !key.ends_with(".parquet") {
                continue;
            }
            let firings = self.evaluate(&bucket, &key, &mut stats).await?;
            for f in &firings {
                self.publish(f).await?;
            }
            stats.objects += 1;
            stats.firings.extend(firings);
        }
        tracing::info!(
            objects = stats.objects,
            records = stats.records,
            lookback_records = stats.lookback_records,
            firings = stats.firings.len(),
            "notify"
        );
        Ok(stats)
    }

    async fn evaluate(
        &self,
        bucket: &str,
        key: &str,
        stats: &mut NotifyStats,
    ) -> Result<Vec<Firing>, NotifyError> {
        let schema = &self.pipeline.schema;
        let ts_idx = self.ts_idx;
        let ts_of = |r: &Record| match r.values[ts_idx] {
            Value::Ts(t) => t,
            _ => i64::MIN,
        };
        let (data, modified) = objects::get(&self.s3, bucket, key).await?;
        let new = self.records(bucket, key, data)?;
        stats.records += new.len();
        let Some(min_ts) = new.iter().map(ts_of).min() else {
            return Ok(Vec::new());
        };
        let max_ts = new.iter().map(ts_of).max().unwrap_or(min_ts);
        let (lookback_us, partition) = (self.lookback_us, &self.partition);

        // Earlier objects of the partitions the new records and their lookback fall in.
        let mut lookback: Vec<Record> = Vec::new();
        if lookback_us > 0 {
            let mut prefixes = BTreeSet::new();
            for r in &new {
                prefixes.insert(stk_lake::partition::path(schema, partition, r));
                let mut earlier = r.clone();
                earlier.values[ts_idx] = Value::Ts(ts_of(r).saturating_sub(lookback_us));
                prefixes.insert(stk_lake::partition::path(schema, partition, &earlier));
            }
            for prefix in prefixes {
                for (other, at) in objects::list(&self.s3, bucket, &prefix).await? {
                    let recent =
                        modified.is_none_or(|m| at <= m + 1_000 && at >= m - self.window_ms);
                    if other == key || !other.ends_with(".parquet") || !recent {
                        continue;
                    }
                    let (bytes, _) = objects::get(&self.s3, bucket, &other).await?;
                    for r in self.records(bucket, &other, bytes)? {
                        let t = ts_of(&r);
                        if t >= min_ts - lookback_us && t <= max_ts {
                            lookback.push(r);
                        }
                    }
                }
            }
        }
        stats.lookback_records += lookback.len();

        let mut firings = Vec::new();
        for alert in &self.alerts {
            let key_idx: Vec<(String, usize)> = alert
                .per
                .iter()
                .filter_map(|n| Some((n.clone(), schema.fields.iter().position(|f| &f.name == n)?)))
                .collect();
            let series = |r: &Record| -> BTreeMap<String, serde_json::Value> {
                key_idx
                    .iter()
                    .map(|(n, i)| (n.clone(), value_json(&r.values[*i])))
                    .collect()
            };
            let wanted: HashSet<(String, i64)> = new
                .iter()
                .map(|r| {
                    (
                        serde_json::to_string(&series(r)).unwrap_or_default(),
                        ts_of(r),
                    )
                })
                .collect();
            let mut all: Vec<&Record> = lookback.iter().chain(new.iter()).collect();
            all.sort_by_key(|r| ts_of(r));
            let mut ev = AlertEvaluator::new(alert, schema);
            let mut out = Vec::new();
            for r in all {
                ev.push(r, &mut out);
            }
            ev.flush(&mut out);
            firings.extend(out.into_iter().filter(|f| {
                wanted.contains(&(serde_json::to_string(&f.key).unwrap_or_default(), f.ts_us))
            }));
        }
        firings.sort_by_key(Firing::order_key);
        Ok(firings)
    }

    /// The records of one lake object (partition columns restored from its key).
    fn records(
        &self,
        bucket: &str,
        key: &str,
        data: bytes::Bytes,
    ) -> Result<Vec<Record>, NotifyError> {
        let mut batches = Vec::new();
        stk_lake::input::for_each_object_batch(&self.pipeline, key, data, &mut 0, &mut |b| {
            batches.push(b);
            Ok(())
        })
        .map_err(|e| NotifyError::Read {
            bucket: bucket.into(),
            key: key.into(),
            reason: e.to_string(),
        })?;
        Ok(stk_lake::input::records(&self.pipeline, &batches))
    }

    async fn publish(&self, f: &Firing) -> Result<(), NotifyError> {
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(f.subject())
            .message(f.body())
            .send()
            .await
            .map_err(|e| NotifyError::Publish {
                topic: self.topic_arn.clone(),
                reason: aws_sdk_sns::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }
}
