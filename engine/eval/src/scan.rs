//! The plain-record scanner: the fastest path of record decoding, for the JSON producers
//! actually write (one flat object, keys and strings without escapes, plain numbers). It reads
//! the text once, straight into a reusable record ([`Scratch`]), and reuses the strings it has
//! seen: symbols and currencies repeat, so each distinct value of a string field is allocated
//! and checked against the field's pattern once, not once per record.
//!
//! Like [`RecordDecoder::decode_fast`] it only ever *accepts*: on anything else (an escape, a
//! nested value, a number it does not convert itself, a type mismatch, a required field
//! missing, a pattern failing) it answers `false` and the caller takes the slower paths, which
//! accept or reject with the exact reason. A property test checks that whatever it accepts the
//! reference path accepts with the same values.

use crate::cursor::Cursor;
use crate::record::{Record, RecordDecoder};
use crate::value::{Value, parse_ts};
use rustc_hash::FxHashMap;
use std::sync::Arc;
use stk_dsl::ir::FieldType;

/// Distinct values remembered per string field; past this, new values are still decoded,
/// just not remembered (a field of unbounded cardinality does not grow memory).
const MAX_REMEMBERED: usize = 4096;

/// The distinct values of one string field: the shared value, and whether it matches the
/// field's pattern.
type Seen = FxHashMap<Box<[u8]>, (Arc<str>, bool)>;

/// Reusable decoding state for one schema: the record being decoded and the distinct strings
/// seen so far (each with whether it matches its field's pattern).
#[derive(Debug)]
pub struct Scratch {
    pub record: Record,
    /// Which scan last wrote each field (`scans` then): fields a record lacks are set to
    /// null after its scan, so a field it has is written once, and a string field that holds
    /// the same shared string already is not written at all (no count of its references
    /// goes up and down per record).
    written: Vec<u32>,
    scans: u32,
    strings: Vec<Seen>,
    /// The field the next key most likely names (keys come in the same order line by line).
    guess: usize,
    /// Each field's key as it appears in JSON text, quotes included (empty when the name
    /// would need escaping): the guess is checked against the text without scanning it.
    quoted: Vec<Vec<u8>>,
}

impl RecordDecoder {
    /// Fresh decoding state for this schema.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            record: Record {
                values: vec![Value::Null; self.fields.len()],
            },
            written: vec![0; self.fields.len()],
            scans: 0,
            strings: self.fields.iter().map(|_| FxHashMap::default()).collect(),
            guess: 0,
            quoted: self
                .fields
                .iter()
                .map(|(name, ..)| {
                    let plain = name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
                    if plain {
                        [b"\"", name.as_bytes(), b"\""].concat()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
        }
    }

    /// Decode one plain JSON object into `s.record`; `false` when the text is anything but a
    /// plain, valid record (`s.record` is then unspecified and the caller decodes otherwise).
    pub fn decode_plain(&self, text: &[u8], s: &mut Scratch) -> bool {
        if s.record.values.len() != self.fields.len() || s.written.len() != self.fields.len() {
            *s = self.scratch();
        }
        s.scans = s.scans.wrapping_add(1);
        if s.scans == 0 {
            // Wrapped around: no stamp may look like this scan's.
            s.written.fill(0);
            s.scans = 1;
        }
        if self.scan(text, s).is_none() {
            return false;
        }
        let scans = s.scans;
        self.fields
            .iter()
            .zip(&mut s.record.values)
            .zip(&s.written)
            .all(|(((_, _, required, _), v), &w)| {
                if w != scans {
                    *v = Value::Null;
                }
                !(*required && v.is_null())
            })
    }

    fn scan(&self, text: &[u8], s: &mut Scratch) -> Option<()> {
        let mut c = Cursor::new(text);
        c.ws();
        c.eat(b'{')?;
        c.ws();
        if c.peek()? == b'}' {
            c.i += 1;
        } else {
            loop {
                let field = match guessed_key(&mut c, s) {
                    Some(f) => Some(f),
                    None => {
                        let (key, ascii) = c.string()?;
                        self.field_of(key, ascii, s)?
                    }
                };
                c.ws();
                c.eat(b':')?;
                c.ws();
                match field {
                    Some(f) => self.value(f, &mut c, s)?,
                    None => c.skip_value()?,
                }
                c.ws();
                match c.peek()? {
                    b',' => {
                        c.i += 1;
                        c.ws();
                    }
                    b'}' => {
                        c.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        c.ws();
        (c.i == text.len()).then_some(())
    }

    /// The schema field a key names (the guess first), `Some(None)` for other keys; `None`
    /// (the scan fails) for a key that is not UTF-8, as JSON parsing fails on it.
    fn field_of(&self, key: &[u8], ascii: bool, s: &mut Scratch) -> Option<Option<usize>> {
        let n = self.fields.len();
        let hit = if s.guess < n && self.fields[s.guess].0.as_bytes() == key {
            Some(s.guess)
        } else {
            self.fields
                .iter()
                .position(|(name, ..)| name.as_bytes() == key)
        };
        match hit {
            Some(i) => s.guess = i + 1,
            None if !ascii => {
                utf8(key)?;
            }
            None => {}
        }
        Some(hit)
    }

    /// A value of field `f`, converted to its type, written into its slot of the record;
    /// `None` (the slot unchanged) when the scanner does not own it. Written in place: a
    /// value returned through memory cost a stalled store per field.
    #[inline(always)]
    fn value(&self, f: usize, c: &mut Cursor<'_>, s: &mut Scratch) -> Option<()> {
        let ty = self.fields[f].1;
        let slot = s.record.values.get_mut(f)?;
        *s.written.get_mut(f)? = s.scans;
        match c.peek()? {
            b'"' => {
                let (text, _) = c.string()?;
                match ty {
                    FieldType::String => self.string(f, text, &mut s.strings, slot)?,
                    FieldType::Timestamp => *slot = Value::Ts(ts(text)?),
                    _ => return None,
                }
            }
            b'n' => {
                c.literal(b"null")?;
                *slot = Value::Null;
            }
            b't' if ty == FieldType::Bool => {
                c.literal(b"true")?;
                *slot = Value::Bool(true);
            }
            b'f' if ty == FieldType::Bool => {
                c.literal(b"false")?;
                *slot = Value::Bool(false);
            }
            _ => {
                let n = c.number()?;
                match ty {
                    FieldType::Int64 if n.integer => *slot = Value::Int(n.int()?),
                    FieldType::Float64 => {
                        *slot = Value::Float(n.float().filter(|x| x.is_finite())?);
                    }
                    _ => return None,
                }
            }
        }
        Some(())
    }

    /// A string field's value into its slot, shared with earlier records that had the same
    /// text (left as it is when the slot holds it already); `None` when it fails the field's
    /// pattern.
    #[inline]
    fn string(&self, f: usize, bytes: &[u8], strings: &mut [Seen], slot: &mut Value) -> Option<()> {
        let seen = strings.get_mut(f)?;
        if let Some((v, ok)) = seen.get(bytes) {
            if !ok {
                return None;
            }
            if !matches!(slot, Value::Str(old) if Arc::ptr_eq(old, v)) {
                *slot = Value::Str(v.clone());
            }
            return Some(());
        }
        let text = utf8(bytes)?;
        let ok = self.fields[f].3.as_ref().is_none_or(|re| re.is_match(text));
        let v: Arc<str> = Arc::from(text);
        if seen.len() < MAX_REMEMBERED {
            seen.insert(bytes.into(), (v.clone(), ok));
        }
        ok.then(|| *slot = Value::Str(v))
    }
}

/// The guessed field when the text at the cursor is its key (then past it).
fn guessed_key(c: &mut Cursor<'_>, s: &mut Scratch) -> Option<usize> {
    let key = s.quoted.get(s.guess).filter(|k| !k.is_empty())?;
    if !starts_with(c.b.get(c.i..)?, key) {
        return None;
    }
    c.i += key.len();
    let f = s.guess;
    s.guess += 1;
    Some(f)
}

/// `text.starts_with(prefix)`, for the short prefixes of JSON keys: up to 16 bytes compared
/// as two words, not through a call to `memcmp` (a tenth of a scan's time went there).
pub fn starts_with(text: &[u8], prefix: &[u8]) -> bool {
    let n = prefix.len();
    let (Some(head), true) = (text.get(..n), (8..=16).contains(&n)) else {
        return text.starts_with(prefix);
    };
    let word = |b: &[u8], at: usize| {
        b.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    word(head, 0) == word(prefix, 0) && word(head, n - 8) == word(prefix, n - 8)
}

fn utf8(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

/// An RFC 3339 timestamp: `YYYY-MM-DDTHH:MM:SSZ` read here, any other form by [`parse_ts`].
fn ts(b: &[u8]) -> Option<i64> {
    let shape = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z';
    let num = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |acc, d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    if shape
        && let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(sec)) = (
            num(0..4),
            num(5..7),
            num(8..10),
            num(11..13),
            num(14..16),
            num(17..19),
        )
        && sec < 60
    {
        let t = chrono::NaiveDate::from_ymd_opt(y as i32, mo, d)?.and_hms_opt(h, mi, sec)?;
        return Some(t.and_utc().timestamp_micros());
    }
    parse_ts(utf8(b)?)
}

impl<'a> Cursor<'a> {
    /// A string without escapes or control characters: its raw bytes, and whether they are
    /// all ASCII (otherwise their UTF-8 is still to be checked).
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut ascii = true;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some((&self.b[start..self.i - 1], ascii));
                }
                b'\\' | 0..0x20 => return None,
                c => {
                    ascii &= c < 0x80;
                    self.i += 1;
                }
            }
        }
    }

    /// The value of a key outside the schema: a string, number or literal (nested values
    /// are left to the other paths).
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => match self.string()? {
                (_, true) => Some(()),
                (text, false) => utf8(text).map(|_| ()),
            },
            _ => self.skip_scalar(),
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

    /// The scanner accepts only what the reference accepts, with the same values; returns
    /// whether it accepted. One scratch across calls, as the compaction uses it.
    fn agree(dec: &RecordDecoder, s: &mut super::Scratch, text: &str) -> bool {
        let plain = dec.decode_plain(text.as_bytes(), s);
        let reference = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .map(|v| dec.decode_value(&v));
        match (plain, &reference) {
            (true, Some(Ok(r))) => assert_eq!(&s.record, r, "{text}"),
            (true, other) => panic!(
                "scanner accepted {:?}, reference {other:?}: {text}",
                s.record
            ),
            (false, _) => {}
        }
        plain
    }

    proptest! {
        #[test]
        fn starts_with_is_slices_starts_with(
            text in prop::collection::vec(b'a'..b'd', 0..24),
            prefix in prop::collection::vec(b'a'..b'd', 0..20),
            cut in 0usize..24,
        ) {
            // Prefixes both taken from the text (mostly equal) and random.
            let own = &text[..cut.min(text.len())];
            prop_assert_eq!(super::starts_with(&text, own), true);
            prop_assert_eq!(super::starts_with(&text, &prefix), text.starts_with(&prefix));
        }
    }

    #[test]
    fn plain_records_are_scanned_with_the_reference_values() {
        let dec = RecordDecoder::new(&schema());
        let mut s = dec.scratch();
        for ok in [
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":118.69000244140625,"currency":"USD"}"#,
            r#"{"close":1,"ts":"2026-11-27T14:30:05.123+01:00","symbol":"X","volume":5,"halted":false,"extra":"é","é":0}"#,
            r#" {"symbol":"AB","ts":"2024-02-29T23:59:59Z","close":-0.0,"volume":null,"x":-1.5e-3} "#,
            r#"{"symbol":"AAPL","symbol":"MSFT","ts":"2026-11-27T14:30:05Z","close":2,"n":true}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":18446744073709551616}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1E2,"volume":-9223372036854775808}"#,
        ] {
            assert!(agree(&dec, &mut s, ok), "{ok}");
            // The second time the strings come from the scratch.
            assert!(agree(&dec, &mut s, ok), "{ok}");
        }
        for other in [
            r#"{"symbol":"aapl","ts":"2026-11-27T14:30:05Z","close":1}"#,
            r#"{"symbol":"AAPL","ts":"yesterday","close":1}"#,
            r#"{"symbol":"AAPL","ts":"2026-02-30T14:30:05Z","close":1}"#,
            r#"{"symbol":"AAPL","close":1}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":"1"}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,"volume":1.5}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,"volume":5e3}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1e400}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":01}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1.}"#,
            r#"{"symbol":"A\u0042","ts":"2026-11-27T14:30:05Z","close":1}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,"x":[1]}"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1,}"#,
            r#"[{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1}]"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1} trailing"#,
            r#"{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":1"#,
            "",
        ] {
            assert!(!agree(&dec, &mut s, other), "{other}");
        }
    }

    #[test]
    fn timestamps_read_as_chrono_reads_them() {
        for t in [
            "2026-11-27T14:30:05Z",
            "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2026-11-27T24:00:00Z",
            "2026-11-27T23:59:60Z",
            "2026-13-01T00:00:00Z",
            "2026-11-27t14:30:05z",
        ] {
            assert_eq!(super::ts(t.as_bytes()), crate::value::parse_ts(t), "{t}");
        }
    }

    proptest! {
        #[test]
        fn scanner_never_accepts_what_the_reference_rejects(
            symbol in prop_oneof![Just("\"AAPL\"".to_string()), "\"[A-Za-z\\\\]{0,7}\"", Just("null".into()), Just("3".into())],
            ts in prop_oneof![Just("\"2026-11-27T14:30:05Z\"".to_string()), "\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\"", "\"[0-9:TZ-]{0,22}\"", Just("1".into())],
            close in prop_oneof![any::<f64>().prop_map(|f| format!("{f:?}")), any::<f64>().prop_map(|f| format!("{f:e}")), any::<i64>().prop_map(|i| i.to_string()), any::<u64>().prop_map(|i| format!("{i}0")), Just("true".into()), Just("\"1\"".into()), "-?[0-9.eE+-]{1,6}"],
            volume in prop_oneof![any::<u64>().prop_map(|i| i.to_string()), any::<i64>().prop_map(|i| i.to_string()), any::<f64>().prop_map(|f| format!("{f:?}")), Just("null".into())],
            drop in 0usize..5,
            junk in "[ -~]{0,3}",
        ) {
            let dec = RecordDecoder::new(&schema());
            let mut s = dec.scratch();
            let text = crate::testutil::quote_text([&symbol, &ts, &close, &volume], drop, &junk);
            agree(&dec, &mut s, &text);
            // Plain valid records are scanned.
            let plain = format!(r#"{{"symbol":"AAPL","ts":"2026-11-27T14:30:05Z","close":{close}}}"#);
            let reference = serde_json::from_str::<serde_json::Value>(&plain).ok().map(|v| dec.decode_value(&v));
            let scanned = agree(&dec, &mut s, &plain);
            if matches!(reference, Some(Ok(_))) && !close.contains(['e', 'E', 't', '"']) {
                prop_assert!(scanned, "{plain}");
            }
        }
    }
}
