//! The fast path of record decoding: JSON text straight into a [`Record`], without building a
//! `serde_json::Value` tree first. Keys are matched against the schema's field names as they
//! are read and values converted to their field's type on the spot; unknown keys are skipped.
//!
//! It only ever *accepts*: whenever the text is not a plain, valid record (not an object, a
//! type mismatch, a required field missing, a pattern failing), it answers `None` and the
//! caller takes the reference path ([`RecordDecoder::decode_value`]), which produces the
//! precise rejection. So both paths accept the same records with the same values and reject
//! with the same reasons by construction; a property test checks the first half.

use crate::record::{Record, RecordDecoder};
use crate::value::{Value, parse_ts};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;
use std::sync::Arc;
use stk_dsl::ir::FieldType;

impl RecordDecoder {
    /// Decode one JSON object from `text`, or `None` when it is anything but a valid record
    /// (the caller then decodes through `serde_json::Value` for the exact rejection).
    pub fn decode_fast(&self, text: &[u8]) -> Option<Record> {
        let mut values = vec![Value::Null; self.fields.len()];
        let mut de = serde_json::Deserializer::from_slice(text);
        de.deserialize_map(RecordVisitor {
            dec: self,
            values: &mut values,
        })
        .ok()?;
        de.end().ok()?;
        for ((_, _, required, re), v) in self.fields.iter().zip(&values) {
            if *required && v.is_null() {
                return None;
            }
            if let (Some(re), Value::Str(s)) = (re, v)
                && !re.is_match(s)
            {
                return None;
            }
        }
        Some(Record { values })
    }
}

struct RecordVisitor<'a> {
    dec: &'a RecordDecoder,
    values: &'a mut [Value],
}

impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(KeySeed(self.dec))? {
            match slot {
                Some(i) => {
                    self.values[i] = map.next_value_seed(FieldSeed(self.dec.fields[i].1))?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key: the index of the schema field it names, if any.
struct KeySeed<'a>(&'a RecordDecoder);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.fields.iter().position(|(name, ..)| name == key))
    }
}

/// A value, converted to its field's type (any mismatch is an error: the reference path
/// words the rejection).
struct FieldSeed(FieldType);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {:?}", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        match self.0 {
            FieldType::Bool => Ok(Value::Bool(b)),
            _ => Err(E::custom("type")),
        }
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        match self.0 {
            FieldType::Int64 => Ok(Value::Int(i)),
            FieldType::Float64 => Ok(Value::Float(i as f64)),
            _ => Err(E::custom("type")),
        }
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        match (self.0, i64::try_from(u)) {
            (FieldType::Int64, Ok(i)) => Ok(Value::Int(i)),
            (FieldType::Float64, _) => Ok(Value::Float(u as f64)),
            _ => Err(E::custom("type")),
        }
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        match self.0 {
            FieldType::Float64 if f.is_finite() => Ok(Value::Float(f)),
            FieldType::Int64 if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::Int(f as i64)),
            _ => Err(E::custom("type")),
        }
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        match self.0 {
            FieldType::String => Ok(Value::Str(Arc::from(s))),
            FieldType::Timestamp => parse_ts(s).map(Value::Ts).ok_or_else(|| E::custom("ts")),
            _ => Err(E::custom("type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::record::RecordDecoder;
    use proptest::prelude::*;
    use stk_dsl::ir::Schema;

    fn schema() -> Schema {
        crate::testutil::quote_schema()
    }

    /// Both paths on one text: the fast one accepts only what the reference accepts, with
    /// the same values; and it does accept plain valid records.
    fn agree(dec: &RecordDecoder, text: &str) -> Option<bool> {
        let fast = dec.decode_fast(text.as_bytes());
        let reference = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .map(|v| dec.decode_value(&v));
        match (&fast, &reference) {
            (Some(f), Some(Ok(r))) => assert_eq!(f, r, "{text}"),
            (Some(f), other) => panic!("fast accepted {f:?}, reference {other:?}: {text}"),
            (None, _) => {}
        }
        Some(fast.is_some())
    }

    #[test]
    fn plain_records_take_the_fast_path_with_the_reference_values() {
        let dec = RecordDecoder::new(&schema());
        for ok in [
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":118.69000244140625}"#,
            r#"{"close":1,"ts":"2026-11-27T14:30:05.123+01:00","symbol":"X","volume":5e3,"halted":false,"extra":[1,{"a":null}]}"#,
            r#" {"symbol":"A\u0042","ts":"2026-11-27T14:30:05Z","close":-0.0,"volume":null} "#,
            r#"{"symbol":"AAPL","symbol":"MSFT","ts":"2026-11-27T14:30:05Z","close":2}"#,
        ] {
            assert_eq!(agree(&dec, ok), Some(true), "{ok}");
        }
        for bad in [
            r#"{"symbol":"aapl","ts":"2026-11-27T14:30:05Z","close":1}"#,
            r#"{"symbol":"AAPL","ts":"yesterday","close":1}"#,
            r#"{"symbol":"AAPL","close":1}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":"1"}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,"volume":1.5}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,"volume":18446744073709551615}"#,
            r#"[{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1}]"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1} trailing"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1"#,
        ] {
            assert_eq!(agree(&dec, bad), Some(false), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn fast_path_never_accepts_what_the_reference_rejects(
            symbol in prop_oneof![Just("\"AAPL\"".to_string()), "\"[A-Za-z]{0,7}\"", Just("null".into()), Just("3".into())],
            ts in prop_oneof![Just("\"2026-11-27T14:30:05Z\"".to_string()), "\"[0-9:TZ-]{0,22}\"", Just("1".into())],
            close in prop_oneof![any::<f64>().prop_map(|f| format!("{f:?}")), any::<i64>().prop_map(|i| i.to_string()), Just("true".into()), Just("\"1\"".into())],
            volume in prop_oneof![any::<u64>().prop_map(|i| i.to_string()), any::<f64>().prop_map(|f| format!("{f:?}")), Just("null".into())],
            drop in 0usize..5,
            junk in "[ -~]{0,3}",
        ) {
            let dec = RecordDecoder::new(&schema());
            let text = crate::testutil::quote_text([&symbol, &ts, &close, &volume], drop, &junk);
            agree(&dec, &text);
        }
    }
}
