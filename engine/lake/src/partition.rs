//! Hive-style partition paths (`date=2026-11-27/symbol=AAPL/`) from a sink's partition keys:
//! the same layout Firehose's dynamic partitioning writes, so local and AWS lakes match.
//!
//! [`Partitioner`] is the hot-path form: a record's partition as a small hashable key
//! (a day number, an hour, a shared string), with the path text built once per partition.

use std::sync::Arc;
use stk_dsl::ir::{PartitionKey, PartitionTransform, Schema};
use stk_eval::value::ts_to_rfc3339;
use stk_eval::{Record, Value};

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// One segment of a partition key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Days since the epoch (UTC).
    Day(i64),
    /// Hour of the day (UTC).
    Hour(i64),
    Str(Arc<str>),
    Int(i64),
    Bool(bool),
    Null,
}

/// A record's partition: one part per key of the sink.
pub type PartKey = Vec<Part>;

/// A sink's partition keys resolved against the schema once.
#[derive(Debug, Clone, PartialEq)]
pub struct Partitioner {
    keys: Vec<(String, Option<usize>, PartitionTransform)>,
}

impl Partitioner {
    pub fn new(schema: &Schema, keys: &[PartitionKey]) -> Self {
        Partitioner {
            keys: keys
                .iter()
                .map(|k| {
                    let idx = schema.fields.iter().position(|f| f.name == k.field);
                    (k.name.clone(), idx, k.transform)
                })
                .collect(),
        }
    }

    /// The partition of a record.
    pub fn key(&self, r: &Record) -> PartKey {
        let mut key = PartKey::with_capacity(self.keys.len());
        self.key_into(r, &mut key);
        key
    }

    /// The partition of a record, into a reused buffer (the hot path: no allocation).
    pub fn key_into(&self, r: &Record, key: &mut PartKey) {
        key.clear();
        key.extend(self.keys.iter().map(|(_, idx, transform)| {
            let v = idx.map_or(&Value::Null, |i| &r.values[i]);
            match (transform, v) {
                (PartitionTransform::Date, Value::Ts(t)) => Part::Day(t.div_euclid(DAY_US)),
                (PartitionTransform::Hour, Value::Ts(t)) => {
                    Part::Hour(t.rem_euclid(DAY_US) / HOUR_US)
                }
                (_, Value::Str(s)) => Part::Str(s.clone()),
                (_, Value::Int(i)) => Part::Int(*i),
                (_, Value::Bool(b)) => Part::Bool(*b),
                _ => Part::Null,
            }
        }));
    }

    /// The path of a partition (ends with `/`, empty when there are no keys).
    pub fn path(&self, key: &[Part]) -> String {
        let mut out = String::new();
        for ((name, ..), part) in self.keys.iter().zip(key) {
            let text = match part {
                Part::Day(d) => ts_to_rfc3339(d * DAY_US)[..10].to_string(),
                Part::Hour(h) => format!("{h:02}"),
                Part::Str(s) => escape(s),
                Part::Int(i) => i.to_string(),
                Part::Bool(b) => b.to_string(),
                // The checker only allows required partition fields; keep any gap visible.
                Part::Null => "__null__".to_string(),
            };
            out.push_str(name);
            out.push('=');
            out.push_str(&text);
            out.push('/');
        }
        out
    }
}

/// The partition path of a record (ends with `/`, empty when there are no keys).
pub fn path(schema: &Schema, keys: &[PartitionKey], r: &Record) -> String {
    let p = Partitioner::new(schema, keys);
    p.path(&p.key(r))
}

/// Path-safe value: `/`, `=`, `%` and control characters percent-encoded (as Hive does).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '/' || c == '=' || c == '%' || c == '\\' || c.is_control() || c == ':' {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value a path segment's text stands for: the inverse of the escaping in [`path`].
/// Malformed escapes are kept as they are.
pub fn unescape(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stk_dsl::ir::{Field, FieldType};

    #[test]
    fn unescape_inverts_escape() {
        for v in ["EURUSD=X", "a/b%c:d\\e", "plain", "50%", "%zz", "é=ü"] {
            assert_eq!(unescape(&escape(v)), v);
        }
        assert_eq!(unescape("%zz"), "%zz");
        assert_eq!(unescape("50%"), "50%");
    }

    #[test]
    fn date_hour_and_columns() {
        let schema = Schema {
            name: "q".into(),
            fields: vec![
                Field {
                    name: "symbol".into(),
                    ty: FieldType::String,
                    required: true,
                    pattern: None,
                },
                Field {
                    name: "ts".into(),
                    ty: FieldType::Timestamp,
                    required: true,
                    pattern: None,
                },
            ],
            event_time: "ts".into(),
        };
        let keys = vec![
            PartitionKey {
                name: "date".into(),
                field: "ts".into(),
                transform: PartitionTransform::Date,
            },
            PartitionKey {
                name: "hour".into(),
                field: "ts".into(),
                transform: PartitionTransform::Hour,
            },
            PartitionKey {
                name: "symbol".into(),
                field: "symbol".into(),
                transform: PartitionTransform::Identity,
            },
        ];
        let r = Record {
            values: vec![
                Value::Str(Arc::from("EURUSD=X")),
                Value::Ts(1_764_253_800_000_000),
            ],
        };
        assert_eq!(
            path(&schema, &keys, &r),
            "date=2025-11-27/hour=14/symbol=EURUSD%3DX/"
        );
        // Before the epoch, days and hours still count from midnight UTC.
        let early = Record {
            values: vec![Value::Str(Arc::from("A")), Value::Ts(-1)],
        };
        assert_eq!(
            path(&schema, &keys, &early),
            "date=1969-12-31/hour=23/symbol=A/"
        );
    }
}
