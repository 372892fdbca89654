//! The Kinesis event as the transform reads it: only the fields it uses, read straight from
//! the event's JSON text, with each record's data base64-decoded into one buffer.
//!
//! `aws_lambda_events`' `KinesisEvent` owns a dozen strings per record and a buffer per
//! record's data, and `lambda_runtime` deserialises a payload type through
//! `serde_path_to_error`, which copies every object key into a new `String`: for an event of
//! thousands of records that was most of the handler's time. So the bootstrap reads the
//! invocation's body itself ([`crate::predecode`]) with [`KinesisBatch::from_json`]: the
//! plain-event scanner ([`crate::kinesis_scan`]) for events as Lambda sends them, `serde_json`
//! over borrowed fields for anything else. `KinesisBatch` also deserialises as a payload type
//! (borrowing the event's text as a raw value), for callers that have only a deserializer.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// The records of a Kinesis event (`{"Records": [...]}`), as the transform reads them.
#[derive(Debug, Default, PartialEq)]
pub struct KinesisBatch {
    /// Every record's data, base64-decoded, back to back.
    data: Vec<u8>,
    /// Every record's sequence number and source (and undecodable data), back to back.
    text: String,
    records: Vec<Entry>,
    /// The first record's shard (from its event id) and arrival time: the dead-letter key.
    shard: Option<String>,
    arrival_secs: Option<f64>,
}

#[derive(Debug, PartialEq)]
struct Entry {
    /// In `data`, or, when it was not base64, the text as it came in `text`.
    data: Result<Range<usize>, Range<usize>>,
    seq: Range<usize>,
    source: Option<Range<usize>>,
}

/// One record of a [`KinesisBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KinesisRecord<'a> {
    /// The record's data, base64-decoded; `Err` with the text as it came when it is not
    /// base64.
    pub data: Result<&'a [u8], &'a str>,
    pub sequence_number: &'a str,
    /// The stream's ARN (where a dead letter says the record came from).
    pub source: &'a str,
}

impl<'de> Deserialize<'de> for KinesisBatch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = <&RawValue>::deserialize(d)?;
        KinesisBatch::from_json(json.get().as_bytes()).map_err(de::Error::custom)
    }
}

impl KinesisBatch {
    /// Read an event's JSON text; an error when it is not a Kinesis event. The plain-event
    /// scanner ([`crate::kinesis_scan`]) reads the events Lambda sends; anything it does not
    /// accept goes through `serde_json`, which reads it the same way or says what is wrong.
    pub fn from_json(json: &[u8]) -> Result<KinesisBatch, serde_json::Error> {
        if let Some(batch) = crate::kinesis_scan::scan(json) {
            return Ok(batch);
        }
        Self::from_json_reference(json)
    }

    /// [`KinesisBatch::from_json`] through `serde_json` alone (the reference the scanner is
    /// tested against).
    pub fn from_json_reference(json: &[u8]) -> Result<KinesisBatch, serde_json::Error> {
        let event: Envelope<'_> = serde_json::from_slice(json)?;
        let encoded: usize = event.records.iter().map(|r| r.kinesis.data.0.len()).sum();
        let mut batch = KinesisBatch::with_capacity(encoded, event.records.len());
        if let Some(first) = event.records.first() {
            batch.set_first(
                first.event_id.as_ref().map(|id| &*id.0),
                first.kinesis.approximate_arrival_timestamp,
            );
        }
        for r in &event.records {
            if !batch.push_base64(
                r.kinesis.data.0.as_bytes(),
                &r.kinesis.sequence_number.0,
                r.event_source_arn.as_ref().map(|a| &*a.0),
            ) {
                batch.push_text(
                    &r.kinesis.data.0,
                    &r.kinesis.sequence_number.0,
                    r.event_source_arn.as_ref().map(|a| &*a.0),
                );
            }
        }
        Ok(batch)
    }

    /// Room for `encoded` bytes of base64 data in `records` records.
    pub(crate) fn with_capacity(encoded: usize, records: usize) -> KinesisBatch {
        KinesisBatch {
            data: Vec::with_capacity(encoded / 4 * 3 + 3),
            records: Vec::with_capacity(records),
            ..Default::default()
        }
    }

    /// The first record's event id (its shard) and arrival time: the dead letters' key.
    pub(crate) fn set_first(&mut self, event_id: Option<&str>, arrival_secs: Option<f64>) {
        self.shard = event_id
            .and_then(|id| id.split_once(':'))
            .map(|(shard, _)| shard.to_string());
        self.arrival_secs = arrival_secs;
    }

    /// Add a record whose data is base64; false (and nothing added) when it is not.
    pub(crate) fn push_base64(&mut self, data: &[u8], seq: &str, arn: Option<&str>) -> bool {
        let at = self.data.len();
        if base64_simd::STANDARD
            .decode_append(data, &mut self.data)
            .is_err()
        {
            self.data.truncate(at);
            return false;
        }
        self.push_entry(Ok(at..self.data.len()), seq, arn);
        true
    }

    /// Add a record whose data is not base64, kept as it came.
    fn push_text(&mut self, data: &str, seq: &str, arn: Option<&str>) {
        let data = push(&mut self.text, data);
        self.push_entry(Err(data), seq, arn);
    }

    fn push_entry(
        &mut self,
        data: Result<Range<usize>, Range<usize>>,
        seq: &str,
        arn: Option<&str>,
    ) {
        let seq = push(&mut self.text, seq);
        // Every record of a batch usually comes from the same stream: said once.
        let source = arn.map(
            |arn| match self.records.last().and_then(|e| e.source.clone()) {
                Some(last) if self.text.get(last.clone()) == Some(arn) => last,
                _ => push(&mut self.text, arn),
            },
        );
        self.records.push(Entry { data, seq, source });
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The bytes of all records' data.
    pub fn data_len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The `i`th record (`None` past the end).
    pub fn get(&self, i: usize) -> Option<KinesisRecord<'_>> {
        let e = self.records.get(i)?;
        let text = |r: &Range<usize>| self.text.get(r.clone()).unwrap_or_default();
        Some(KinesisRecord {
            data: match &e.data {
                Ok(r) => Ok(self.data.get(r.clone()).unwrap_or_default()),
                Err(r) => Err(text(r)),
            },
            sequence_number: text(&e.seq),
            source: e.source.as_ref().map_or("kinesis", text),
        })
    }

    pub fn records(&self) -> impl Iterator<Item = KinesisRecord<'_>> {
        (0..self.records.len()).filter_map(|i| self.get(i))
    }

    /// The first record's shard id (`shardId-000000000000`), from its event id.
    pub fn shard(&self) -> Option<&str> {
        self.shard.as_deref()
    }

    /// The first record's arrival time in Kinesis, seconds since the epoch.
    pub fn arrival_secs(&self) -> Option<f64> {
        self.arrival_secs
    }
}

fn push(text: &mut String, s: &str) -> Range<usize> {
    let at = text.len();
    text.push_str(s);
    at..text.len()
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<RawRecord<'a>>,
}

#[derive(Deserialize)]
struct RawRecord<'a> {
    #[serde(borrow)]
    kinesis: RawKinesis<'a>,
    #[serde(rename = "eventSourceARN", borrow, default)]
    event_source_arn: Option<Text<'a>>,
    #[serde(rename = "eventID", borrow, default)]
    event_id: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct RawKinesis<'a> {
    #[serde(borrow)]
    data: Text<'a>,
    #[serde(rename = "sequenceNumber", borrow)]
    sequence_number: Text<'a>,
    #[serde(
        rename = "approximateArrivalTimestamp",
        default,
        deserialize_with = "seconds"
    )]
    approximate_arrival_timestamp: Option<f64>,
}

/// Seconds since the epoch: a number as Lambda sends it, or a string of one (as
/// `aws_lambda_events` writes it); anything else is no time (it only names dead letters).
fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    struct SecondsVisitor;
    impl Visitor<'_> for SecondsVisitor {
        type Value = Option<f64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("seconds since the epoch")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<f64>, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<f64>, E> {
            Ok(Some(v as f64))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<f64>, E> {
            Ok(v.parse().ok())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<f64>, E> {
            Ok(None)
        }
    }
    d.deserialize_any(SecondsVisitor)
}

/// A JSON string, borrowed from the event's text unless it had escapes to undo.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As lambda_runtime deserialises a payload.
    fn read(text: &str) -> Result<KinesisBatch, serde_path_to_error::Error<serde_json::Error>> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(text.as_bytes()))
    }

    #[test]
    fn reads_the_fields_the_transform_uses_and_skips_the_rest() {
        let batch = read(
            r#"{"Records":[{"kinesis":{"kinesisSchemaVersion":"1.0","partitionKey":"k",
            "sequenceNumber":"4965","data":"eyJhIjoxfQ==","approximateArrivalTimestamp":1795789801.25},
            "eventSource":"aws:kinesis","eventID":"shardId-000000000000:4965",
            "eventSourceARN":"arn:aws:kinesis:eu-central-1:1:stream\/s","extra":[{"x":null}]},
            {"kinesis":{"sequenceNumber":"4966","data":"!"},"eventSourceARN":"arn:aws:kinesis:eu-central-1:1:stream/s"},
            {"kinesis":{"sequenceNumber":"4967","data":"Cg==","approximateArrivalTimestamp":"1.5"}}]}"#,
        )
        .unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.shard(), Some("shardId-000000000000"));
        assert_eq!(batch.arrival_secs(), Some(1795789801.25));
        let records: Vec<_> = batch.records().collect();
        let arn = "arn:aws:kinesis:eu-central-1:1:stream/s";
        assert_eq!(
            records,
            [
                KinesisRecord {
                    data: Ok(b"{\"a\":1}"),
                    sequence_number: "4965",
                    source: arn
                },
                KinesisRecord {
                    data: Err("!"),
                    sequence_number: "4966",
                    source: arn
                },
                KinesisRecord {
                    data: Ok(b"\n"),
                    sequence_number: "4967",
                    source: "kinesis"
                },
            ]
        );
        assert_eq!(batch.get(3), None);
    }

    #[test]
    fn what_is_not_a_kinesis_event_is_an_error() {
        for text in [
            r#"{"Records":[{"kinesis":{"data":"AA=="}}]}"#,
            r#"{"Records":[{"kinesis":{"data":1,"sequenceNumber":"1"}}]}"#,
            r#"{"records":[]}"#,
            "[]",
            "{",
        ] {
            assert!(read(text).is_err(), "{text}");
        }
        assert!(read(r#"{"Records":[]}"#).unwrap().is_empty());
    }
}
