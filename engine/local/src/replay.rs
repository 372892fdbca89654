//! Replaying recorded ticks: a JSONL or CSV file, one record per line, optionally paced by
//! event time at `speed` times real time.

use crate::{Result, io};
use std::io::BufRead;
use std::path::Path;
use stk_dsl::ir::{ReplayFormat, Schema};

/// One line of the replay file: its JSON document, or the text that did not parse.
pub enum Line {
    /// The document and its JSON text (the line as read, so it is not serialised again).
    Json {
        value: serde_json::Value,
        text: String,
    },
    Bad {
        text: String,
        reason: String,
    },
}

/// Read every record of a replay file (the demo day is a few MB; reading it whole keeps the
/// hot loop free of I/O waits).
pub fn read(path: &Path, format: ReplayFormat, schema: &Schema) -> Result<Vec<Line>> {
    match format {
        ReplayFormat::Jsonl => {
            let f = std::fs::File::open(path).map_err(|e| io(path, e))?;
            let mut out = Vec::new();
            for line in std::io::BufReader::new(f).lines() {
                let line = line.map_err(|e| io(path, e))?;
                if line.trim().is_empty() {
                    continue;
                }
                out.push(match serde_json::from_str(&line) {
                    Ok(value) => Line::Json { value, text: line },
                    Err(e) => Line::Bad {
                        text: line,
                        reason: format!("not JSON: {e}"),
                    },
                });
            }
            Ok(out)
        }
        ReplayFormat::Csv => {
            let mut reader = csv::Reader::from_path(path)
                .map_err(|e| crate::LocalError::Config(format!("{}: {e}", path.display())))?;
            let headers = reader
                .headers()
                .map_err(|e| crate::LocalError::Config(format!("{}: {e}", path.display())))?
                .clone();
            let types = stk_lake::input::csv_types(schema, &headers);
            let mut out = Vec::new();
            for row in reader.records() {
                let row = match row {
                    Ok(r) => r,
                    Err(e) => {
                        out.push(Line::Bad {
                            text: String::new(),
                            reason: format!("CSV: {e}"),
                        });
                        continue;
                    }
                };
                let value = stk_lake::input::csv_object(&headers, &types, &row);
                let text = value.to_string();
                out.push(Line::Json { value, text });
            }
            Ok(out)
        }
    }
}
