//! The EC2 runtime: the `stk-scraper` daemon that polls a pipeline's Yahoo sources
//! ([`stk_yahoo`]), validates and de-duplicates ticks, and streams them to Kinesis through an
//! on-disk spool, so that nothing scraped is lost when Kinesis is unreachable or the instance
//! stops. Counters on a loopback Prometheus endpoint, logs through `tracing`.
//!
//! Depends on the pipeline IR, the evaluator and the Yahoo client only, never on the AWS
//! planning code, so the daemon stays small.

pub mod alerts;
pub mod daemon;
pub mod deploy;
pub mod metrics;
pub mod producer;
pub mod spool;
