//! Evaluation of a compiled pipeline on records, one at a time: decoding JSON records into
//! typed [`Record`]s, validation ([`Validator`]), and the streaming alert evaluator
//! ([`AlertEvaluator`]). The window and firing state machines in [`window`], [`admit`] and
//! [`fire`] are the single definition of the alert semantics (docs/alerts.md): the DataFusion
//! batch evaluator runs the very same code inside its window functions, so both paths fire
//! on the same instants by construction.
//!
//! Light on purpose (no Arrow, no AWS): the scraper daemon and the Lambda bootstrap use it.

pub mod admit;
pub mod alert;
pub mod cursor;
pub mod dead_letter;
pub mod expr;
pub mod fast;
pub mod fire;
pub mod firing;
pub mod record;
pub mod scan;
pub mod template;
pub mod validate;
pub mod value;
pub mod window;

pub use alert::{AlertEvaluator, AlertStats};
pub use dead_letter::DeadLetter;
pub use firing::Firing;
pub use record::{Record, RecordDecoder};
pub use scan::Scratch;
pub use validate::{Rejection, Validator};
pub use value::Value;

#[cfg(test)]
pub(crate) mod testutil {
    //! What the decoders' tests share.

    use stk_dsl::ir::{Field, FieldType, Schema};

    /// A quote record: a patterned required symbol, the event time, a float, optional int,
    /// bool and string.
    pub fn quote_schema() -> Schema {
        let f = |name: &str, ty, required, pattern: Option<&str>| Field {
            name: name.into(),
            ty,
            required,
            pattern: pattern.map(str::to_string),
        };
        Schema {
            name: "q".into(),
            fields: vec![
                f("symbol", FieldType::String, true, Some("[A-Z]{1,5}")),
                f("ts", FieldType::Timestamp, true, None),
                f("close", FieldType::Float64, true, None),
                f("volume", FieldType::Int64, false, None),
                f("halted", FieldType::Bool, false, None),
                f("currency", FieldType::String, false, None),
            ],
            event_time: "ts".into(),
        }
    }

    /// A quote's JSON text from the values' JSON (symbol, ts, close, volume), with field
    /// `drop` left out (none past the fourth) and `junk` after the object: what the
    /// decoders' property tests feed them.
    pub fn quote_text(values: [&str; 4], drop: usize, junk: &str) -> String {
        let fields: Vec<String> = ["symbol", "ts", "close", "volume"]
            .iter()
            .zip(values)
            .enumerate()
            .filter(|(i, _)| *i != drop)
            .map(|(_, (name, v))| format!("\"{name}\":{v}"))
            .collect();
        format!("{{{}}}{junk}", fields.join(","))
    }
}
