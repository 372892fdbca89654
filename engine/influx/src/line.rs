//! Records to InfluxDB line protocol, as the sink declares: the measurement, the tags and the
//! fields named in the file, and the event time in nanoseconds. Escaping is the `influxdb2`
//! crate's (`DataPoint`); this module only maps schema values onto it.

use influxdb2::models::{DataPoint, FieldValue, WriteDataPoint};
use stk_dsl::ir::{InfluxSink, Schema};
use stk_eval::{Record, Value};

/// Encodes records of one schema for one InfluxDB sink.
#[derive(Debug, Clone)]
pub struct LineEncoder {
    measurement: String,
    tags: Vec<(String, usize)>,
    fields: Vec<(String, usize)>,
    ts: usize,
}

impl LineEncoder {
    /// Tags and fields the schema does not have are left out (the checker reports them).
    pub fn new(schema: &Schema, sink: &InfluxSink) -> Self {
        let index = |names: &[String]| -> Vec<(String, usize)> {
            names
                .iter()
                .filter_map(|n| {
                    let i = schema.fields.iter().position(|f| &f.name == n)?;
                    Some((n.clone(), i))
                })
                .collect()
        };
        LineEncoder {
            measurement: sink.measurement.clone(),
            tags: index(&sink.tags),
            fields: index(&sink.fields),
            ts: schema
                .fields
                .iter()
                .position(|f| f.name == schema.event_time)
                .unwrap_or(0),
        }
    }

    /// The point for one record, or `None` when it has no field with a value (line protocol
    /// needs at least one) or no event time. Null tags and fields are left out, and so are
    /// non-finite floats, which line protocol cannot carry.
    pub fn point(&self, r: &Record) -> Option<DataPoint> {
        let Some(Value::Ts(ts_us)) = r.values.get(self.ts) else {
            return None;
        };
        let mut b = DataPoint::builder(self.measurement.as_str());
        for (name, i) in &self.tags {
            if let Some(v) = r.values.get(*i).and_then(tag_text)
                && !v.is_empty()
            {
                b = b.tag(name.as_str(), v);
            }
        }
        let mut any = false;
        for (name, i) in &self.fields {
            if let Some(v) = r.values.get(*i).and_then(field_value) {
                b = b.field(name.as_str(), v);
                any = true;
            }
        }
        if !any {
            return None;
        }
        b.timestamp(ts_us.checked_mul(1000)?).build().ok()
    }

    /// Append the record's line (with its newline) to `out`; false when it has none.
    pub fn encode(&self, r: &Record, out: &mut Vec<u8>) -> bool {
        match self.point(r) {
            // Writing into a Vec cannot fail.
            Some(p) => p.write_data_point_to(&mut *out).is_ok(),
            None => false,
        }
    }
}

fn tag_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Str(s) => Some(s.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(i) | Value::Ts(i) | Value::DurationMs(i) => Some(i.to_string()),
        Value::Float(f) if f.is_finite() => Some(f.to_string()),
        Value::Float(_) => None,
    }
}

fn field_value(v: &Value) -> Option<FieldValue> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(FieldValue::Bool(*b)),
        Value::Int(i) | Value::Ts(i) | Value::DurationMs(i) => Some(FieldValue::I64(*i)),
        Value::Float(f) if f.is_finite() => Some(FieldValue::F64(*f)),
        Value::Float(_) => None,
        Value::Str(s) => Some(FieldValue::String(s.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stk_dsl::check::NoWorld;
    use stk_dsl::ir::{Pipeline, SinkKind};
    use stk_eval::RecordDecoder;

    const SRC: &str = r#"
pipeline lp { region = "eu-west-1" }
source q: replay { path = "ticks.jsonl" }
schema quote {
  symbol: string required
  ts: timestamp required
  price: float64 required
  volume: int64
  exchange: string
  note: string
}
sink tsdb: influxdb {
  url = "http://127.0.0.1:8086"
  bucket = "quotes"
  org = "o"
  token = secret("t")
  measurement = "my quote"
  tags = [symbol, exchange]
  fields = [price, volume, note]
}
"#;

    fn setup() -> (Pipeline, LineEncoder, RecordDecoder) {
        let checked = stk_dsl::check_source(SRC, &NoWorld);
        let p = checked.ir.expect("pipeline compiles");
        let SinkKind::Influxdb(sink) = &p.sinks[0].kind else {
            panic!("first sink is InfluxDB")
        };
        let enc = LineEncoder::new(&p.schema, sink);
        let dec = RecordDecoder::new(&p.schema);
        (p, enc, dec)
    }

    fn line(json: &str) -> String {
        let (_, enc, dec) = setup();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let r = dec.decode_value(&v).expect("valid record");
        let mut out = Vec::new();
        assert!(enc.encode(&r, &mut out), "a line for {json}");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn types_escaping_and_nanoseconds() {
        assert_eq!(
            line(
                r#"{"symbol":"BRK B","ts":"2026-11-27T14:30:05.25Z","price":412.5,"volume":1200,
                   "exchange":"NYQ","note":"say \"hi\""}"#
            ),
            "my\\ quote,exchange=NYQ,symbol=BRK\\ B note=\"say \\\"hi\\\"\",price=412.5,volume=1200i 1795789805250000000\n"
        );
    }

    #[test]
    fn nulls_are_left_out() {
        assert_eq!(
            line(r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","price":1,"volume":null}"#),
            "my\\ quote,symbol=AAPL price=1 1795789805000000000\n"
        );
    }

    #[test]
    fn a_record_without_fields_has_no_line() {
        let (p, enc, _) = setup();
        let mut values = vec![Value::Null; p.schema.fields.len()];
        values[0] = Value::Str("AAPL".into());
        values[1] = Value::Ts(1);
        values[2] = Value::Float(f64::NAN);
        assert!(enc.point(&Record { values }).is_none());
    }
}
