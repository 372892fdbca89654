//! A dead letter: a record that did not pass, with where it came from and why. Every path
//! (`stkc run`, the scraper daemon, the transform and compact Lambdas) writes the same JSON
//! line, so one tool reads them all.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Where it came from (object name, stream, source).
    pub source: String,
    /// The line of the object, when known.
    pub line: Option<usize>,
    /// The Kinesis sequence number, for records read from a stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// The rule that failed (`schema`, `decode`, or a `validate` rule's name).
    pub rule: String,
    pub reason: String,
    /// The record as received (or the text that did not parse).
    pub record: serde_json::Value,
}

impl DeadLetter {
    /// A dead letter from `source` (no line, no sequence number).
    pub fn new(
        source: impl Into<String>,
        rule: impl Into<String>,
        reason: impl Into<String>,
        record: serde_json::Value,
    ) -> Self {
        DeadLetter {
            source: source.into(),
            line: None,
            sequence_number: None,
            rule: rule.into(),
            reason: reason.into(),
            record,
        }
    }

    pub fn at_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    pub fn with_sequence_number(mut self, seq: impl Into<String>) -> Self {
        self.sequence_number = Some(seq.into());
        self
    }

    /// One JSON line (with the newline).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"rule\":\"encode\",\"reason\":\"cannot encode a dead letter: {e}\"}}")
        });
        s.push('\n');
        s
    }
}
