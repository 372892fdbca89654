//! A firing: one notification of one alert for one series, in the shape every path emits
//! (`{"alert", "key", "ts", "value", "message", "severity"}`).

use crate::value::{Value, ts_to_rfc3339};
use serde::Serialize;
use std::collections::BTreeMap;
use stk_dsl::ir::Severity;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Firing {
    pub alert: String,
    /// The series: the alert's `per` fields and their values.
    pub key: BTreeMap<String, serde_json::Value>,
    /// The firing record's event time, RFC 3339 UTC.
    pub ts: String,
    /// The condition's left-hand side at the firing record (ratios for percentages).
    pub value: serde_json::Value,
    pub message: String,
    pub severity: Severity,
    /// The event time in microseconds, for ordering.
    #[serde(skip)]
    pub ts_us: i64,
}

impl Firing {
    /// Sort order of reports: time, then alert, then series.
    /// The series as `symbol=AAPL,exchange=NMS` (`(all)` for an alert without `per`).
    pub fn key_text(&self) -> String {
        if self.key.is_empty() {
            return "(all)".into();
        }
        let parts: Vec<String> = self
            .key
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                )
            })
            .collect();
        parts.join(",")
    }

    /// The subject of a notification (SNS, mail): at most 100 characters, as SNS requires.
    pub fn subject(&self) -> String {
        let s = format!("[{:?}] {} {}", self.severity, self.alert, self.key_text());
        s.chars().take(100).collect()
    }

    /// The body of a notification: the rendered message, then the firing as JSON for machines.
    pub fn body(&self) -> String {
        format!(
            "{}\n\n{}",
            self.message,
            serde_json::to_string_pretty(self).unwrap_or_default()
        )
    }

    pub fn order_key(&self) -> (i64, String, String) {
        (
            self.ts_us,
            self.alert.clone(),
            serde_json::to_string(&self.key).unwrap_or_default(),
        )
    }
}

/// A value as JSON: timestamps as RFC 3339 strings, durations in milliseconds, non-finite
/// numbers as null.
pub fn value_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Str(s) => s.as_ref().into(),
        Value::Ts(t) => ts_to_rfc3339(*t).into(),
        Value::DurationMs(d) => (*d).into(),
    }
}
