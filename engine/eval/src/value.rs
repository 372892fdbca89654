//! The value of one field or expression at one record.

use std::sync::Arc;

/// A typed value. Timestamps are microseconds since the Unix epoch, UTC (Arrow's and
/// Parquet's `Timestamp(Microsecond, "UTC")`); durations are milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Ts(i64),
    DurationMs(i64),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The numeric value, for ints, floats (percentages are floats), timestamps and durations.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(i) => Some(i as f64),
            Value::Float(f) => Some(f),
            Value::Ts(t) => Some(t as f64),
            Value::DurationMs(d) => Some(d as f64),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Microseconds since the epoch to RFC 3339 UTC, e.g. `2026-11-27T14:30:05Z`
/// (fractional seconds only when present).
pub fn ts_to_rfc3339(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) if micros % 1_000_000 == 0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Some(t) if micros % 1_000 == 0 => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => micros.to_string(),
    }
}

/// Parse an RFC 3339 timestamp (any offset) to microseconds since the epoch, UTC.
pub fn parse_ts(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}
