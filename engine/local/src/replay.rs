//! Replaying recorded ticks: a JSONL or CSV file, one record per line, streamed, optionally
//! paced by event time at `speed` times real time.

use crate::{Result, io};
use std::io::BufRead;
use std::path::Path;
use stk_dsl::ir::{ReplayFormat, Schema};

/// One line of the replay file: its JSON text, a document built from a CSV row, or the text
/// that could not be read.
pub enum Line {
    /// One JSON line, decoded by the validator.
    Text(String),
    /// A CSV row as the JSON record it stands for, and that record's text.
    Json {
        value: serde_json::Value,
        text: String,
    },
    Bad {
        text: String,
        reason: String,
    },
}

/// The records of a replay file, read as they are needed (memory does not grow with the
/// file's length).
pub fn open(
    path: &Path,
    format: ReplayFormat,
    schema: &Schema,
) -> Result<Box<dyn Iterator<Item = Result<Line>> + Send>> {
    match format {
        ReplayFormat::Jsonl => {
            let f = std::fs::File::open(path).map_err(|e| io(path, e))?;
            let path = path.to_path_buf();
            let lines = std::io::BufReader::with_capacity(1 << 20, f)
                .lines()
                .filter_map(move |line| match line {
                    Ok(l) if l.trim().is_empty() => None,
                    Ok(l) => Some(Ok(Line::Text(l))),
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Some(Ok(Line::Bad {
                        text: String::new(),
                        reason: format!("not UTF-8 text: {e}"),
                    })),
                    Err(e) => Some(Err(io(&path, e))),
                });
            Ok(Box::new(lines))
        }
        ReplayFormat::Csv => {
            let config =
                |e: csv::Error| crate::LocalError::Config(format!("{}: {e}", path.display()));
            let mut reader = csv::Reader::from_path(path).map_err(config)?;
            let headers = reader.headers().map_err(config)?.clone();
            let types = stk_lake::input::csv_types(schema, &headers);
            let rows = reader.into_records().map(move |row| {
                Ok(match row {
                    Ok(row) => {
                        let value = stk_lake::input::csv_object(&headers, &types, &row);
                        let text = value.to_string();
                        Line::Json { value, text }
                    }
                    Err(e) => Line::Bad {
                        text: String::new(),
                        reason: format!("CSV: {e}"),
                    },
                })
            });
            Ok(Box::new(rows))
        }
    }
}
