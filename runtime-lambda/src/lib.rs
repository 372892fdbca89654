//! The Lambda runtime of an stk pipeline: one `bootstrap` binary whose handler is chosen by
//! the function's handler setting (`_HANDLER`).
//!
//! - [`config`]: what a function is told at init (handler, compiled pipeline, buckets, topic),
//!   checked once before the first event.
//! - [`secret`]: the InfluxDB token from the secret the file names (Secrets Manager or SSM).
//! - [`transform`]: Kinesis records -> validate -> InfluxDB, with `batchItemFailures`.
//! - [`kinesis`]: the Kinesis event as the transform reads it (borrowed, only what it uses),
//!   with `kinesis_scan`, its fast path for plain events.
//! - [`predecode`]: the tower layer that reads a Kinesis event from the invocation's body.
//! - [`compact`]: a raw Firehose object -> partitioned Parquet in the lake bucket.
//! - [`notify`]: a new lake object (+ the lookback its alerts need) -> alert firings -> SNS.
//! - [`objects`]: S3 reads and writes shared by the handlers, and S3 event keys.
//!
//! The handlers are plain async functions over the events' types, so tests call
//! them directly against local servers; `main.rs` only wires them to `lambda_runtime`.

pub mod compact;
pub mod config;
pub mod kinesis;
mod kinesis_scan;
pub mod notify;
pub mod objects;
pub mod predecode;
pub mod secret;
pub mod transform;

pub use config::{Config, HandlerKind, InitError};

/// The error type handlers return to the runtime (which reports it to Lambda).
pub type Error = lambda_runtime::Error;
