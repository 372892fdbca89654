//! The InfluxDB sink: a pipeline's records as line protocol ([`line`]), and a writer that
//! sends them over the v2 API (the `influxdb2` crate) or the v1 `/write` API, with retries and
//! an error that tells a retryable outage from a rejected batch ([`write`]).
//!
//! Used by local mode (`stkc run`, `stkc backfill`) and by the transform Lambda, so a tick
//! becomes the same point whichever path carries it.

pub mod line;
pub mod token;
pub mod write;

pub use line::LineEncoder;
pub use write::{InfluxWriter, WriteError};
