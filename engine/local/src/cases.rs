//! Pipeline unit tests (`stkc test`): a YAML file of cases, each a few input records and what
//! the pipeline must make of them: the validation outcome (and the rule that failed), the
//! partition path in each S3 sink, the InfluxDB line, and the alert firings. Like `vector
//! test`, but across the whole pipeline, with the same code the runtimes use.
//!
//! Only what a case states is checked: the actual result is projected onto the expected
//! one's keys, both are rendered as YAML, and a failure is the diff of the two.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use stk_dsl::ir::{Pipeline, SinkKind};
use stk_eval::value::ts_to_rfc3339;
use stk_eval::{AlertEvaluator, Firing, Validator};
use stk_influx::LineEncoder;

/// A cases file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cases {
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// Records in arrival order, as the source would emit them (JSON objects written in YAML).
    pub input: Vec<serde_yaml::Value>,
    #[serde(default)]
    pub expect: Expect,
}

/// What a case expects. Every key is optional; absent keys are not checked.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One entry per input record, in order (fewer entries check only the first records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordExpect>,
    /// Every firing over the case's records, in order; `[]` means none may fire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertExpect>>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordExpect {
    /// `valid` or `rejected`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// For a rejected record: the rule that failed (`schema` for presence, type, pattern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The reason, as the dead letter carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Partition path per S3 sink (`raw: "date=2026-11-27/symbol=AAPL/"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<BTreeMap<String, String>>,
    /// The InfluxDB line (without its newline); null when the record has none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub influx: Option<Option<String>>,
}

/// A key that is present, even as `null`, is `Some` (absent keys stay `None` by `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Valid,
    Rejected,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertExpect {
    pub alert: String,
    /// The firing record's event time (RFC 3339 UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The series, as `symbol=AAPL` (fields of the alert's `per`, comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The rendered message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The outcome of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub name: String,
    /// `None` when it passed; otherwise the expected and the actual YAML.
    pub failure: Option<(String, String)>,
}

/// Parse a cases file; errors carry the line and column.
pub fn parse(text: &str) -> Result<Cases, String> {
    serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(l) => format!("line {}, column {}: {e}", l.line(), l.column()),
        None => e.to_string(),
    })
}

/// Run every case through the pipeline.
pub fn run(p: &Pipeline, cases: &Cases) -> Vec<CaseResult> {
    cases.cases.iter().map(|c| run_case(p, c)).collect()
}

fn run_case(p: &Pipeline, case: &Case) -> CaseResult {
    let actual = actual(p, case);
    let projected = project(&case.expect, &actual);
    let render = |e: &Expect| serde_yaml::to_string(e).unwrap_or_else(|e| e.to_string());
    let failure = (projected != case.expect).then(|| (render(&case.expect), render(&projected)));
    CaseResult {
        name: case.name.clone(),
        failure,
    }
}

/// Everything the pipeline makes of the case's records.
fn actual(p: &Pipeline, case: &Case) -> Expect {
    let validator = Validator::new(p);
    let influx = p.influx_sink().map(|i| LineEncoder::new(&p.schema, i));
    let mut alerts: Vec<AlertEvaluator> = p
        .alerts
        .iter()
        .map(|a| AlertEvaluator::new(a, &p.schema))
        .collect();
    let mut firings: Vec<Firing> = Vec::new();
    let mut records = Vec::new();
    for input in &case.input {
        let doc = serde_json::to_value(input).unwrap_or(serde_json::Value::Null);
        let r = match validator.validate_json(&doc) {
            Err(rej) => RecordExpect {
                outcome: Some(Outcome::Rejected),
                rule: Some(rej.rule),
                reason: Some(rej.reason),
                ..Default::default()
            },
            Ok(record) => {
                let partition = p
                    .sinks
                    .iter()
                    .filter_map(|s| {
                        let keys = match &s.kind {
                            SinkKind::S3Json(r) => &r.partition,
                            SinkKind::S3Parquet(l) => &l.partition,
                            SinkKind::Influxdb(_) => return None,
                        };
                        let path = stk_lake::partition::path(&p.schema, keys, &record);
                        Some((s.name.clone(), path))
                    })
                    .collect();
                let line = influx.as_ref().map(|enc| {
                    let mut out = Vec::new();
                    enc.encode(&record, &mut out)
                        .then(|| String::from_utf8_lossy(&out).trim_end().to_string())
                });
                for a in &mut alerts {
                    a.push(&record, &mut firings);
                }
                RecordExpect {
                    outcome: Some(Outcome::Valid),
                    partition: Some(partition),
                    influx: line,
                    ..Default::default()
                }
            }
        };
        records.push(r);
    }
    for a in &mut alerts {
        a.flush(&mut firings);
    }
    firings.sort_by_key(|a| a.order_key());
    let alerts = firings
        .iter()
        .map(|f| AlertExpect {
            alert: f.alert.clone(),
            at: Some(ts_to_rfc3339(f.ts_us)),
            key: Some(f.key_text()),
            message: Some(f.message.clone()),
        })
        .collect();
    Expect {
        records,
        alerts: Some(alerts),
    }
}

/// The actual result, reduced to the keys the expectation states.
fn project(expect: &Expect, actual: &Expect) -> Expect {
    let records = expect
        .records
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let Some(a) = actual.records.get(i) else {
                return RecordExpect {
                    reason: Some(format!("(no input record #{})", i + 1)),
                    ..Default::default()
                };
            };
            RecordExpect {
                outcome: e.outcome.and(a.outcome),
                rule: e
                    .rule
                    .as_ref()
                    .and(a.rule.clone().or(Some("(none)".into()))),
                reason: e
                    .reason
                    .as_ref()
                    .and(a.reason.clone().or(Some("(none)".into()))),
                partition: e.partition.as_ref().map(|want| {
                    want.keys()
                        .map(|sink| {
                            let got = a
                                .partition
                                .as_ref()
                                .map_or("(rejected: no partition)", |m| {
                                    m.get(sink).map_or("(no such S3 sink)", String::as_str)
                                });
                            (sink.clone(), got.to_string())
                        })
                        .collect()
                }),
                influx: e.influx.as_ref().and(a.influx.clone().or(Some(None))),
            }
        })
        .collect();
    let alerts = expect.alerts.as_ref().map(|want| {
        let got = actual.alerts.clone().unwrap_or_default();
        // Project each firing onto the keys of the expected firing at the same position
        // (extra firings keep every key, so they show in full).
        got.into_iter()
            .enumerate()
            .map(|(i, a)| match want.get(i) {
                Some(w) => AlertExpect {
                    alert: a.alert,
                    at: w.at.as_ref().and(a.at),
                    key: w.key.as_ref().and(a.key),
                    message: w.message.as_ref().and(a.message),
                },
                None => a,
            })
            .collect()
    });
    Expect { records, alerts }
}
