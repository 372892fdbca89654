//! The plain Kinesis event scanner: the transform's fast path for reading an event, the way
//! `stk_eval::scan` is the fast path for reading a tick.
//!
//! A Kinesis event of thousands of records is megabytes of JSON of which the transform needs
//! four strings per record. `serde_json` reads every key and value through its visitors; this
//! scanner first checks the whole text in one vectorised pass (compact UTF-8 JSON without
//! escapes or control characters, as Lambda sends it), so that every string ends at the next
//! quote (`memchr`), then walks it once, compares keys as bytes, and base64-decodes each
//! record's data straight into the batch.
//!
//! It only ever *accepts*: on anything unusual (an escape or a newline anywhere, a duplicate
//! or missing
//! field, a value of another type, data that is not base64, a number it would have to convert
//! differently, nesting deeper than [`MAX_DEPTH`]) it answers `None` and
//! [`KinesisBatch::from_json`] reads the event with `serde_json`, which reads it the same way or
//! says what is wrong. A property test holds what it accepts equal to `serde_json`'s reading.

use crate::kinesis::KinesisBatch;

/// Deeper nesting than this (in fields the transform skips) goes to `serde_json`.
const MAX_DEPTH: usize = 32;

/// Read a plain Kinesis event; `None` for anything the reference reader must take.
pub(crate) fn scan(json: &[u8]) -> Option<KinesisBatch> {
    let text = plain_text(json)?;
    let mut c = Cursor {
        c: stk_eval::cursor::Cursor::new(json),
        text,
    };
    // Over-estimates: all of the event as base64 data; a record every 500 bytes.
    let mut batch = KinesisBatch::with_capacity(json.len(), json.len() / 500);
    let mut records = false;
    let mut first = true;
    let mut keys = (Keys::learn(), Keys::learn());
    c.ws();
    c.object(0, &mut Keys::none(), |c, key| match key {
        b"Records" if !records => {
            records = true;
            c.array(|c| {
                record(c, &mut batch, &mut keys, first)?;
                first = false;
                // Later records are expected to have the first one's keys in its order.
                keys.0.learning = false;
                keys.1.learning = false;
                Some(())
            })
        }
        b"Records" => None,
        _ => c.skip_value(0),
    })?;
    c.ws();
    (records && c.i == json.len()).then_some(batch)
}

/// The event as text when it is compact JSON as Lambda sends it: UTF-8 without control
/// characters (no newlines: inside strings they are an error, outside only whitespace) and
/// without backslashes (no escapes). Then every string ends at the next quote.
fn plain_text(json: &[u8]) -> Option<&str> {
    // One pass the compiler vectorises (no early exit); `from_utf8` is fast on ASCII.
    let unusual = json
        .iter()
        .fold(false, |seen, &b| seen | (b < 0x20) | (b == b'\\'));
    if unusual {
        return None;
    }
    std::str::from_utf8(json).ok()
}

/// One record: `{"kinesis": {"data", "sequenceNumber", "approximateArrivalTimestamp", ..},
/// "eventSourceARN", "eventID", ..}`.
fn record<'a>(
    c: &mut Cursor<'a>,
    batch: &mut KinesisBatch,
    (record_keys, kinesis_keys): &mut (Keys<'a>, Keys<'a>),
    first: bool,
) -> Option<()> {
    let (mut kinesis, mut data, mut seq, mut arrival) = (false, None, None, None);
    let (mut arn, mut id) = (None, None);
    c.object(0, record_keys, |c, key| match key {
        b"kinesis" if !kinesis => {
            kinesis = true;
            c.object(1, kinesis_keys, |c, key| match key {
                b"data" => once(&mut data, c.string()?),
                b"sequenceNumber" => once(&mut seq, c.string()?),
                b"approximateArrivalTimestamp" => once(&mut arrival, c.seconds(first)?),
                _ => c.skip_value(2),
            })
        }
        b"kinesis" => None,
        b"eventSourceARN" => once(&mut arn, c.optional_string()?),
        b"eventID" => once(&mut id, c.optional_string()?),
        _ => c.skip_value(1),
    })?;
    let (data, seq) = (data?, seq?);
    if first {
        batch.set_first(id.flatten(), arrival.flatten());
    }
    // Data that is not base64 becomes a dead letter with its text: the reference path
    // words it.
    batch
        .push_base64(data.as_bytes(), seq, arn.flatten())
        .then_some(())
}

/// The keys of the first object of a kind, in their order, quotes included: the keys of the
/// next ones are checked against them before the text is scanned (Lambda writes every record
/// with the same keys in the same order).
struct Keys<'a> {
    quoted: Vec<&'a [u8]>,
    learning: bool,
}

impl Keys<'_> {
    fn learn() -> Self {
        Keys {
            quoted: Vec::new(),
            learning: true,
        }
    }

    fn none() -> Self {
        Keys {
            quoted: Vec::new(),
            learning: false,
        }
    }
}

/// Set a field once: a second time is a duplicate field (an error to `serde`).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// A position in the event's text: `stk_eval`'s JSON cursor, and the text as `str`.
struct Cursor<'a> {
    c: stk_eval::cursor::Cursor<'a>,
    text: &'a str,
}

impl<'a> std::ops::Deref for Cursor<'a> {
    type Target = stk_eval::cursor::Cursor<'a>;
    fn deref(&self) -> &Self::Target {
        &self.c
    }
}

impl std::ops::DerefMut for Cursor<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.c
    }
}

impl<'a> Cursor<'a> {
    /// `{ key: value, .. }`, `each` reading every value (the cursor on it).
    fn object(
        &mut self,
        depth: usize,
        keys: &mut Keys<'a>,
        mut each: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        for k in 0.. {
            let rest = self.b.get(self.i..)?;
            let key = match keys.quoted.get(k) {
                Some(quoted) if stk_eval::scan::starts_with(rest, quoted) => {
                    self.i += quoted.len();
                    quoted.get(1..quoted.len().saturating_sub(1))?
                }
                _ => {
                    let start = self.i;
                    let key = self.string()?.as_bytes();
                    if keys.learning {
                        keys.quoted.truncate(k);
                        keys.quoted.push(self.b.get(start..self.i)?);
                    }
                    key
                }
            };
            self.ws();
            self.eat(b':')?;
            self.ws();
            each(self, key)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
        None
    }

    /// `[ value, .. ]`, `each` reading every value.
    fn array(&mut self, mut each: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.ws();
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            each(self)?;
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string: its bytes up to the next quote (the event was checked to have no escapes,
    /// no control characters and to be UTF-8).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let rest = self.text.get(self.i..)?;
        let end = memchr::memchr(b'"', rest.as_bytes())?;
        self.i += end + 1;
        rest.get(..end)
    }

    fn optional_string(&mut self) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            _ => self.string().map(Some),
        }
    }

    /// Seconds since the epoch as `kinesis::seconds` reads them: a number, a string of one,
    /// or null. The value is converted only for the first record (the only one used); a
    /// number with an exponent or many digits goes to the reference reader (which might
    /// find it out of range).
    fn seconds(&mut self, convert: bool) -> Option<Option<f64>> {
        match self.peek()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.string().map(|s| s.parse().ok()),
            _ => {
                let text = self.number()?.text;
                if text.len() > 20 || text.iter().any(|b| matches!(b, b'e' | b'E')) {
                    return None;
                }
                if convert {
                    serde_json::from_slice::<f64>(text).ok().map(Some)
                } else {
                    Some(None)
                }
            }
        }
    }

    /// Any value, checked and skipped.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' => self.object(depth + 1, &mut Keys::none(), |c, _| c.skip_value(depth + 1)),
            b'[' if depth < MAX_DEPTH => self.array(|c| c.skip_value(depth + 1)),
            b'[' => None,
            _ => self.skip_scalar(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whatever the scanner accepts, `serde_json` reads the same way.
    fn agree(json: &str) -> bool {
        let reference = KinesisBatch::from_json_reference(json.as_bytes());
        match scan(json.as_bytes()) {
            Some(batch) => {
                assert_eq!(Some(&batch), reference.as_ref().ok(), "{json}");
                true
            }
            None => false,
        }
    }

    const PLAIN: &str = r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"k",
        "sequenceNumber":"4965","data":"eyJhIjoxfQ==","approximateArrivalTimestamp":1795789801.25},
        "eventSource":"aws:kinesis","eventID":"shardId-000000000000:4965","eventVersion":"1.0",
        "eventSourceARN":"arn:aws:kinesis:eu-central-1:1:stream/s","extra":[{"x":null},[1,-2.5e3,true,false,"é"]]},
        {"kinesis":{"sequenceNumber":"4966","data":"Cg=="},"eventSourceARN":"arn:aws:kinesis:eu-central-1:1:stream/s"},
        {"eventID":null,"kinesis":{"data":"","sequenceNumber":"4967","approximateArrivalTimestamp":"1.5"}}]}"#;

    #[test]
    fn plain_events_are_read_as_serde_json_reads_them() {
        let compact = PLAIN.replace("\n        ", "");
        assert!(agree(&compact));
        // Pretty-printed (newlines) is the reference reader's, with the same result.
        assert!(!agree(PLAIN));
        assert_eq!(
            KinesisBatch::from_json(PLAIN.as_bytes()).unwrap(),
            scan(compact.as_bytes()).unwrap()
        );
        assert!(agree(r#" {"Records" : [ ] , "other": {"a": [ ]} } "#));
        assert!(agree(
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1","approximateArrivalTimestamp":null}}]}"#
        ));
    }

    #[test]
    fn anything_unusual_goes_to_the_reference_reader() {
        for other in [
            // Escapes, data that is not base64, a duplicate or missing field.
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1\/2"}}]}"#,
            r#"{"Records":[{"kinesis":{"data":"!","sequenceNumber":"1"}}]}"#,
            r#"{"Records":[{"kinesis":{"data":"AA==","data":"AA==","sequenceNumber":"1"}}]}"#,
            r#"{"Records":[{"kinesis":{"data":"AA=="}}]}"#,
            r#"{"Records":[{"eventID":"a","eventID":"b","kinesis":{"data":"AA==","sequenceNumber":"1"}}]}"#,
            r#"{"Records":[],"Records":[]}"#,
            // Other types, an exponent, bad JSON.
            r#"{"Records":[{"kinesis":{"data":1,"sequenceNumber":"1"}}]}"#,
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1","approximateArrivalTimestamp":1e400}}]}"#,
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1","approximateArrivalTimestamp":true}}]}"#,
            "{\"Records\":[{\"kinesis\":{\"data\":\"AA==\",\"sequenceNumber\":\"1\u{1}\"}}]}",
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1"}},]}"#,
            r#"{"Records":[{"kinesis":{"data":"AA==","sequenceNumber":"1"}}]} x"#,
            r#"{"records":[]}"#,
            "[]",
            "{",
            "",
        ] {
            assert!(!agree(other), "{other}");
        }
        let deep = format!(
            r#"{{"Records":[],"x":{}1{}}}"#,
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        assert!(!agree(&deep));
    }

    /// Pieces of events, plain and not: the scanner must never accept what `serde_json`
    /// reads otherwise.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(r#""data":"eyJhIjoxfQ==""#.to_string()),
            Just(r#""data":"!!""#.to_string()),
            Just(r#""data":"eyJh\u0049joxfQ==""#.to_string()),
            Just(r#""sequenceNumber":"4965""#.to_string()),
            Just(r#""sequenceNumber":"4\"965""#.to_string()),
            Just(r#""sequenceNumber":null"#.to_string()),
            Just(r#""approximateArrivalTimestamp":1795789801.25"#.to_string()),
            Just(r#""approximateArrivalTimestamp":"17.5""#.to_string()),
            Just(r#""approximateArrivalTimestamp":-0"#.to_string()),
            Just(r#""approximateArrivalTimestamp":01"#.to_string()),
            Just(r#""eventID":"shardId-1:2""#.to_string()),
            Just(r#""eventID":null"#.to_string()),
            Just(r#""eventSourceARN":"arn:x""#.to_string()),
            Just(r#""eventSourceARN":"arn:y""#.to_string()),
            Just(r#""x":[1,{"y":"é"},null]"#.to_string()),
            Just(r#""x":1."#.to_string()),
            Just(" ".to_string()),
        ]
    }

    fn object(pieces: Vec<String>) -> String {
        format!("{{{}}}", pieces.join(","))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn never_accepts_what_serde_reads_otherwise(
            records in prop::collection::vec(
                (prop::collection::vec(piece(), 0..5), prop::collection::vec(piece(), 0..4)),
                0..4,
            )
        ) {
            let records: Vec<String> = records
                .into_iter()
                .map(|(kinesis, outer)| {
                    let mut fields = vec![format!(r#""kinesis":{}"#, object(kinesis))];
                    fields.extend(outer);
                    object(fields)
                })
                .collect();
            let json = format!(r#"{{"Records":[{}]}}"#, records.join(","));
            agree(&json);
        }
    }
}
