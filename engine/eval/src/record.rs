//! Records: one value per schema field, in schema order, decoded from JSON objects with every
//! schema rule (presence, type, pattern) checked on the way in.

use crate::validate::Rejection;
use crate::value::{Value, parse_ts};
use serde_json::Map;
use std::sync::Arc;
use stk_dsl::ir::{FieldType, Schema};

/// One record: `values[i]` is the value of `schema.fields[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub values: Vec<Value>,
}

/// Decodes JSON objects into records for one schema. Fields not in the schema are ignored.
#[derive(Debug, Clone)]
pub struct RecordDecoder {
    pub(crate) fields: Vec<(String, FieldType, bool, Option<regex::Regex>)>,
    event_time: usize,
}

impl RecordDecoder {
    pub fn new(schema: &Schema) -> Self {
        let fields = schema
            .fields
            .iter()
            .map(|f| {
                // The checker compiled every pattern already; a failure here cannot happen.
                let re = f
                    .pattern
                    .as_ref()
                    .and_then(|p| regex::Regex::new(&format!("^(?:{p})$")).ok());
                (f.name.clone(), f.ty, f.required, re)
            })
            .collect();
        let event_time = schema
            .fields
            .iter()
            .position(|f| f.name == schema.event_time)
            .unwrap_or(0);
        RecordDecoder { fields, event_time }
    }

    /// Index of the event-time field.
    pub fn event_time(&self) -> usize {
        self.event_time
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(n, ..)| n == name)
    }

    /// Decode one JSON value (which must be an object).
    pub fn decode_value(&self, v: &serde_json::Value) -> Result<Record, Rejection> {
        match v {
            serde_json::Value::Object(m) => self.decode(m),
            other => Err(Rejection::schema(
                None,
                format!("a record is a JSON object, found {}", kind(other)),
            )),
        }
    }

    pub fn decode(&self, obj: &Map<String, serde_json::Value>) -> Result<Record, Rejection> {
        let mut values = Vec::with_capacity(self.fields.len());
        for (name, ty, required, re) in &self.fields {
            let raw = obj.get(name).unwrap_or(&serde_json::Value::Null);
            let value = convert(name, *ty, raw)?;
            if value.is_null() && *required {
                let what = if obj.contains_key(name) {
                    "is null"
                } else {
                    "is missing"
                };
                return Err(Rejection::schema(
                    Some(name),
                    format!("required field `{name}` {what}"),
                ));
            }
            if let (Some(re), Value::Str(s)) = (re, &value)
                && !re.is_match(s)
            {
                return Err(Rejection::schema(
                    Some(name),
                    format!("`{name}` = {s:?} does not match /{}/", re.as_str()),
                ));
            }
            values.push(value);
        }
        Ok(Record { values })
    }

    /// The record as a JSON object (the wire format: timestamps as RFC 3339 strings).
    pub fn encode(&self, r: &Record) -> serde_json::Value {
        let mut m = Map::with_capacity(self.fields.len());
        for ((name, ..), v) in self.fields.iter().zip(&r.values) {
            m.insert(name.clone(), crate::firing::value_json(v));
        }
        serde_json::Value::Object(m)
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn convert(name: &str, ty: FieldType, raw: &serde_json::Value) -> Result<Value, Rejection> {
    use serde_json::Value as J;
    let bad = |want: &str| {
        Rejection::schema(
            Some(name),
            format!("`{name}` should be {want}, found {}", kind(raw)),
        )
    };
    Ok(match (ty, raw) {
        (_, J::Null) => Value::Null,
        (FieldType::String, J::String(s)) => Value::Str(Arc::from(s.as_str())),
        (FieldType::Bool, J::Bool(b)) => Value::Bool(*b),
        (FieldType::Int64, J::Number(n)) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::Int(f as i64),
                _ => {
                    return Err(Rejection::schema(
                        Some(name),
                        format!("`{name}` should be an integer, found {n}"),
                    ));
                }
            },
        },
        (FieldType::Float64, J::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Value::Float(f),
            _ => return Err(bad("a finite number")),
        },
        (FieldType::Timestamp, J::String(s)) => match parse_ts(s) {
            Some(t) => Value::Ts(t),
            None => {
                return Err(Rejection::schema(
                    Some(name),
                    format!("`{name}` = {s:?} is not an RFC 3339 timestamp"),
                ));
            }
        },
        (FieldType::String, _) => return Err(bad("a string")),
        (FieldType::Bool, _) => return Err(bad("a boolean")),
        (FieldType::Int64, _) => return Err(bad("an integer")),
        (FieldType::Float64, _) => return Err(bad("a number")),
        (FieldType::Timestamp, _) => return Err(bad("an RFC 3339 timestamp string")),
    })
}
