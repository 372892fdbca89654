//! Records to InfluxDB line protocol, as the sink declares: the measurement, the tags and the
//! fields named in the file, and the event time in nanoseconds. [`LineEncoder::point`] maps a
//! record onto the `influxdb2` crate's `DataPoint` (the reference); [`LineEncoder::encode`]
//! writes the very same bytes straight into the request body, with the names escaped once
//! up front instead of a map and several strings per point (the transform Lambda encodes
//! every tick; a property test holds the two to byte equality).

use influxdb2::models::{DataPoint, FieldValue};
use std::io::Write;
use stk_dsl::ir::{InfluxSink, Schema};
use stk_eval::{Record, Value};

/// Encodes records of one schema for one InfluxDB sink.
#[derive(Debug, Clone)]
pub struct LineEncoder {
    measurement: String,
    tags: Vec<(String, usize)>,
    fields: Vec<(String, usize)>,
    ts: usize,
    /// The measurement, escaped as line protocol wants it.
    measurement_escaped: Vec<u8>,
    /// Tags and fields in key order (as `DataPoint` writes them), each with `,KEY=` or
    /// `KEY=` already escaped, and its column.
    tags_sorted: Vec<(Vec<u8>, usize)>,
    fields_sorted: Vec<(Vec<u8>, usize)>,
}

/// Characters line protocol escapes with a backslash, per element (the `influxdb2` crate's
/// sets).
const MEASUREMENT_ESCAPES: &[u8] = b", ";
const KEY_ESCAPES: &[u8] = b",= ";
const STRING_FIELD_ESCAPES: &[u8] = b"\"";

fn escape_into(text: &str, escapes: &[u8], out: &mut Vec<u8>) {
    // Most names and values have nothing to escape: one copy.
    if !text.bytes().any(|b| escapes.contains(&b)) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for &b in text.as_bytes() {
        if escapes.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// In key order, a repeated name keeping its last column (as a map insert does).
fn sorted_keys(named: &[(String, usize)]) -> Vec<(Vec<u8>, usize)> {
    let sorted: std::collections::BTreeMap<&str, usize> =
        named.iter().map(|(n, i)| (n.as_str(), *i)).collect();
    sorted
        .into_iter()
        .map(|(name, i)| {
            let mut key = Vec::new();
            escape_into(name, KEY_ESCAPES, &mut key);
            key.push(b'=');
            (key, i)
        })
        .collect()
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
        let (tags, fields) = (index(&sink.tags), index(&sink.fields));
        let mut measurement_escaped = Vec::new();
        escape_into(
            &sink.measurement,
            MEASUREMENT_ESCAPES,
            &mut measurement_escaped,
        );
        LineEncoder {
            measurement: sink.measurement.clone(),
            tags_sorted: sorted_keys(&tags),
            fields_sorted: sorted_keys(&fields),
            measurement_escaped,
            tags,
            fields,
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

    /// Append the record's line (with its newline) to `out`, byte for byte what
    /// [`LineEncoder::point`] writes; false (and `out` unchanged) when it has none.
    pub fn encode(&self, r: &Record, out: &mut Vec<u8>) -> bool {
        let Some(Value::Ts(ts_us)) = r.values.get(self.ts) else {
            return false;
        };
        let Some(ts_ns) = ts_us.checked_mul(1000) else {
            return false;
        };
        let start = out.len();
        out.extend_from_slice(&self.measurement_escaped);
        for (key, i) in &self.tags_sorted {
            if let Some(v) = r.values.get(*i) {
                let mark = out.len();
                out.push(b',');
                out.extend_from_slice(key);
                let value_at = out.len();
                write_tag_value(v, out);
                if out.len() == value_at {
                    // Null, non-finite or empty: no tag.
                    out.truncate(mark);
                }
            }
        }
        let mut any = false;
        for (key, i) in &self.fields_sorted {
            if let Some(v) = r.values.get(*i).filter(|v| has_field_value(v)) {
                out.push(if any { b',' } else { b' ' });
                out.extend_from_slice(key);
                write_field_value(v, out);
                any = true;
            }
        }
        if !any {
            out.truncate(start);
            return false;
        }
        out.push(b' ');
        out.extend_from_slice(itoa::Buffer::new().format(ts_ns).as_bytes());
        out.push(b'\n');
        true
    }
}

fn write_tag_value(v: &Value, out: &mut Vec<u8>) {
    let _ = match v {
        Value::Null => Ok(()),
        Value::Str(s) => {
            escape_into(s, KEY_ESCAPES, out);
            Ok(())
        }
        Value::Bool(b) => write!(out, "{b}"),
        Value::Int(i) | Value::Ts(i) | Value::DurationMs(i) => write!(out, "{i}"),
        Value::Float(f) if f.is_finite() => {
            let text = f.to_string();
            escape_into(&text, KEY_ESCAPES, out);
            Ok(())
        }
        Value::Float(_) => Ok(()),
    };
}

fn has_field_value(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Float(f) => f.is_finite(),
        _ => true,
    }
}

fn write_field_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Int(i) | Value::Ts(i) | Value::DurationMs(i) => {
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            out.push(b'i');
        }
        Value::Float(f) => write_float(*f, out),
        Value::Str(s) => {
            out.push(b'"');
            escape_into(s, STRING_FIELD_ESCAPES, out);
            out.push(b'"');
        }
        Value::Null => {}
    }
}

/// A finite float as `Display` writes it (what `DataPoint` writes): the shortest digits that
/// read back to the same number, never an exponent, no `.0` on whole numbers. `ryu` finds
/// the same shortest digits several times faster, except where two candidates of 16 or 17
/// digits both read back (ryu wrote -255577025473353.62 where `Display` writes ...63): so
/// `Display` writes those, and whatever ryu would write with an exponent (very large and very
/// small magnitudes). Prices and volumes have far fewer digits and take the fast path.
fn write_float(f: f64, out: &mut Vec<u8>) {
    /// Fewer significant digits than this have one shortest form.
    const AMBIGUOUS_DIGITS: usize = 16;
    if write_decimal(f, out) {
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f);
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if text.contains('e') || digits >= AMBIGUOUS_DIGITS {
        // Writing into a Vec cannot fail.
        let _ = write!(out, "{f}");
    } else {
        out.extend_from_slice(text.strip_suffix(".0").unwrap_or(text).as_bytes());
    }
}

/// The fastest path of [`write_float`], for prices as markets quote them: a float that is a
/// whole number of hundredths (or ten-thousandths), `n / 10^k` rounded to the nearest float,
/// is written as that decimal with its trailing zeros cut, which is what `Display` writes.
/// (Below 1e9 a float's spacing is far under half of 10^-4, so no other decimal of at most
/// k places reads back to the same float, and none of fewer digits: that decimal is the
/// shortest, and the nearest.) False, with nothing written, for anything else (and zero,
/// whose sign `Display` keeps).
fn write_decimal(f: f64, out: &mut Vec<u8>) -> bool {
    const LIMIT: f64 = 1e9;
    if f.abs() >= LIMIT || f.is_nan() || f == 0.0 {
        return false;
    }
    for (scale, places) in [(100.0, 2usize), (10_000.0, 4)] {
        // Rounded to the nearest whole number in integers (`f64::round` is a libm call).
        // |f * scale| < 1e13: exact in an i64.
        let x = f * scale;
        let mut n = x as i64;
        if (x - n as f64).abs() >= 0.5 {
            n += if x < 0.0 { -1 } else { 1 };
        }
        if n as f64 / scale != f {
            continue;
        }
        let scale = scale as i64;
        if n < 0 {
            out.push(b'-');
        }
        let (whole, mut fraction) = (
            n.unsigned_abs() / scale as u64,
            n.unsigned_abs() % scale as u64,
        );
        out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
        if fraction != 0 {
            let mut digits = places;
            while fraction % 10 == 0 {
                fraction /= 10;
                digits -= 1;
            }
            out.push(b'.');
            let mut buf = itoa::Buffer::new();
            let text = buf.format(fraction);
            out.extend(std::iter::repeat_n(b'0', digits.saturating_sub(text.len())));
            out.extend_from_slice(text.as_bytes());
        }
        return true;
    }
    false
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

    proptest::proptest! {
        /// The direct encoder writes exactly the bytes of the `influxdb2` crate's DataPoint.
        #[test]
        fn encode_writes_what_the_crates_data_point_writes(
            symbol in proptest::option::of("[ -~]{0,12}"),
            exchange in proptest::option::of("[ ,=a-zA-Z\\\\]{0,6}"),
            note in proptest::option::of("[ -~]{0,12}"),
            price in proptest::option::of(proptest::num::f64::ANY),
            volume in proptest::option::of(proptest::num::i64::ANY),
            ts in -4_000_000_000_000_000i64..4_000_000_000_000_000,
        ) {
            let (p, enc, _) = setup();
            let field = |name: &str| p.schema.fields.iter().position(|f| f.name == name).unwrap();
            let mut values = vec![Value::Null; p.schema.fields.len()];
            let text = |s: Option<String>| s.map_or(Value::Null, |s| Value::Str(s.as_str().into()));
            values[field("symbol")] = text(symbol);
            values[field("exchange")] = text(exchange);
            values[field("note")] = text(note);
            values[field("price")] = price.map_or(Value::Null, Value::Float);
            values[field("volume")] = volume.map_or(Value::Null, Value::Int);
            values[field("ts")] = Value::Ts(ts);
            let r = Record { values };
            let mut reference = Vec::new();
            if let Some(point) = enc.point(&r) {
                use influxdb2::models::WriteDataPoint;
                point.write_data_point_to(&mut reference).unwrap();
            }
            let mut direct = b"kept".to_vec();
            let wrote = enc.encode(&r, &mut direct);
            proptest::prop_assert_eq!(wrote, !reference.is_empty());
            proptest::prop_assert_eq!(&direct[4..], &reference[..]);
        }
    }

    /// The float writer against `Display` where `ryu` does not fall back to it: whole
    /// numbers, prices, tiny and huge magnitudes around the notation switch, and the sign.
    #[test]
    fn floats_are_written_as_display_writes_them() {
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.3,
            100.0,
            229.75,
            1e15,
            1e16,
            1e17,
            // Two shortest forms; Display (and ryu) take the closer one, zmij did not.
            (-2_617_108_740_847_139_841_i64 >> 10) as f64 * 10f64.powi(-1),
        ];
        for i in 0..20_000 {
            let f = f64::from(i);
            values.extend([
                f * 0.01,
                f * 0.37 + 100.0,
                -f * 1.25,
                f * 1e-7,
                f * 1e11,
                f * 1e14,
            ]);
        }
        for e in -330..310 {
            for m in [1.0, 1.5, 9.999_999_999_999_99, 2.225_073_858_507_201_4] {
                values.push(m * 10f64.powi(e));
            }
        }
        for f in values.into_iter().filter(|f| f.is_finite()) {
            let mut out = Vec::new();
            write_float(f, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), f.to_string(), "{f:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_float_is_written_as_display_writes_it(
            digits in proptest::num::i64::ANY,
            shift in 0u32..64,
            scale in -25i32..25,
        ) {
            // Any number of significant digits, at any magnitude around the notation switch.
            let f = (digits >> shift) as f64 * 10f64.powi(scale);
            proptest::prop_assume!(f.is_finite());
            let mut out = Vec::new();
            write_float(f, &mut out);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), f.to_string());
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]
        #[test]
        fn prices_in_hundredths_and_ten_thousandths_are_written_as_display_writes_them(
            n in proptest::prop_oneof![
                -1_000_000i64..1_000_000,
                -100_000_000_000_000i64..100_000_000_000_000,
            ],
            places in 0i32..6,
        ) {
            // As a price parsed from its text is: n / 10^places, rounded to a float.
            let f = n as f64 / 10f64.powi(places);
            let mut out = Vec::new();
            write_float(f, &mut out);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), f.to_string());
        }
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
