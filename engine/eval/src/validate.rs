//! Validation: the schema's rules (checked while decoding) and the pipeline's named rules.
//! A rejected record carries the rule that failed and why, for the dead-letter location.

use crate::expr::Compiled;
use crate::record::{Record, RecordDecoder};
use crate::scan::Scratch;
use crate::value::Value;
use serde::Serialize;
use stk_dsl::ir::{OnFail, Pipeline};

/// Why a record was rejected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// The rule's name, or `schema` for presence, type and pattern violations.
    pub rule: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Rejection {
    pub fn schema(field: Option<&str>, reason: String) -> Self {
        Rejection {
            rule: "schema".into(),
            reason,
            field: field.map(str::to_string),
        }
    }
}

/// Decodes and validates records of one pipeline.
#[derive(Debug, Clone)]
pub struct Validator {
    pub decoder: RecordDecoder,
    rules: Vec<(String, String, Compiled)>,
    pub on_fail: OnFail,
}

impl Validator {
    pub fn new(p: &Pipeline) -> Self {
        let decoder = RecordDecoder::new(&p.schema);
        let rules = p
            .validation
            .rules
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.text.clone(),
                    Compiled::new(&r.expr, &p.schema),
                )
            })
            .collect();
        Validator {
            decoder,
            rules,
            on_fail: p.validation.on_fail,
        }
    }

    /// Decode a JSON record and check every rule. A rule whose condition is null (an optional
    /// field is missing) passes, as in SQL CHECK constraints.
    pub fn validate_json(&self, v: &serde_json::Value) -> Result<Record, Rejection> {
        let record = self.decoder.decode_value(v)?;
        self.check(&record)?;
        Ok(record)
    }

    /// Decode and check one JSON text: the fast path for plain records, the reference path
    /// (through `serde_json::Value`) for anything else, so rejections read the same.
    pub fn validate_text(&self, text: &[u8]) -> Result<Record, Rejection> {
        let record = match self.decoder.decode_fast(text) {
            Some(r) => r,
            None => match serde_json::from_slice::<serde_json::Value>(text) {
                Ok(v) => self.decoder.decode_value(&v)?,
                Err(e) => {
                    return Err(Rejection {
                        rule: "decode".into(),
                        reason: format!("not JSON: {e}"),
                        field: None,
                    });
                }
            },
        };
        self.check(&record)?;
        Ok(record)
    }

    /// [`Validator::validate_text`] with reusable state, for many records in a row: the
    /// plain-record scanner first, the record left in (and borrowed from) the scratch.
    pub fn validate_text_with<'s>(
        &self,
        text: &[u8],
        s: &'s mut Scratch,
    ) -> Result<&'s Record, Rejection> {
        if self.decoder.decode_plain(text, s) {
            self.check(&s.record)?;
        } else {
            s.record = self.validate_text(text)?;
        }
        Ok(&s.record)
    }

    pub fn check(&self, record: &Record) -> Result<(), Rejection> {
        for (name, text, expr) in &self.rules {
            if let Value::Bool(false) = expr.eval(record, &[]) {
                return Err(Rejection {
                    rule: name.clone(),
                    reason: format!("`{text}` is false"),
                    field: None,
                });
            }
        }
        Ok(())
    }
}
