//! Replaying recorded ticks: a JSONL or CSV file, one record per line, streamed in batches of
//! lines, optionally paced by event time at `speed` times real time.
//!
//! A batch holds its lines' text back to back in one buffer (one copy per line, no
//! allocation per line): at `--speed max` a replay reads a million lines a second, and a
//! `String` per line, allocated on the reading thread and freed on the engine's, was a good
//! part of both threads' time.

use crate::{Result, io};
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use stk_dsl::ir::{ReplayFormat, Schema};

/// One line of a source: its JSON text, a document built from a CSV row, or the text that
/// could not be read. (A live source hands the engine one at a time.)
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

/// Lines of a replay file: their text back to back, and what each line is.
#[derive(Default)]
pub struct LineBatch {
    pub text: Vec<u8>,
    pub lines: Vec<(Range<usize>, LineKind)>,
}

pub enum LineKind {
    /// The text is one JSON record.
    Json,
    /// The text is the JSON of this document, built from a CSV row.
    Csv(serde_json::Value),
    /// The line could not be read.
    Bad(String),
}

impl LineBatch {
    fn push(&mut self, text: &[u8], kind: LineKind) {
        let at = self.text.len();
        self.text.extend_from_slice(text);
        self.lines.push((at..self.text.len(), kind));
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// The lines of a replay file, `per_batch` at a time, read as they are needed (memory does
/// not grow with the file's length). Blank lines are skipped (and not counted).
pub fn batches(
    path: &Path,
    format: ReplayFormat,
    schema: &Schema,
    per_batch: usize,
) -> Result<Box<dyn Iterator<Item = Result<LineBatch>> + Send>> {
    let per_batch = per_batch.max(1);
    match format {
        ReplayFormat::Jsonl => {
            let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
            Ok(Box::new(JsonlBatches {
                file,
                path: path.to_path_buf(),
                buf: Vec::new(),
                at: 0,
                eof: false,
                per_batch,
            }))
        }
        ReplayFormat::Csv => {
            let config =
                |e: csv::Error| crate::LocalError::Config(format!("{}: {e}", path.display()));
            let mut reader = csv::Reader::from_path(path).map_err(config)?;
            let headers = reader.headers().map_err(config)?.clone();
            let types = stk_lake::input::csv_types(schema, &headers);
            let mut rows = reader.into_records();
            Ok(Box::new(std::iter::from_fn(move || {
                let mut batch = LineBatch::default();
                for row in rows.by_ref() {
                    match row {
                        Ok(row) => {
                            let value = stk_lake::input::csv_object(&headers, &types, &row);
                            let text = value.to_string();
                            batch.push(text.as_bytes(), LineKind::Csv(value));
                        }
                        Err(e) => batch.push(b"", LineKind::Bad(format!("CSV: {e}"))),
                    }
                    if batch.len() == per_batch {
                        break;
                    }
                }
                (!batch.is_empty()).then_some(Ok(batch))
            })))
        }
    }
}

/// Bytes read from the file at a time.
const READ_BYTES: usize = 1 << 20;

/// A JSONL file cut into lines (`memchr`) as it is read.
struct JsonlBatches {
    file: std::fs::File,
    path: PathBuf,
    /// Bytes read and not yet cut into lines: `buf[at..]`.
    buf: Vec<u8>,
    at: usize,
    eof: bool,
    per_batch: usize,
}

impl JsonlBatches {
    /// The next line (without its newline, `\r\n` too), `None` at the end of the file.
    fn next_line(&mut self) -> Result<Option<Range<usize>>> {
        loop {
            if let Some(nl) = memchr::memchr(b'\n', &self.buf[self.at..]) {
                let line = self.at..self.at + nl;
                self.at += nl + 1;
                return Ok(Some(trim_cr(&self.buf, line)));
            }
            if self.eof {
                if self.at < self.buf.len() {
                    let line = self.at..self.buf.len();
                    self.at = self.buf.len();
                    return Ok(Some(trim_cr(&self.buf, line)));
                }
                return Ok(None);
            }
            // Keep the partial line, read more after it.
            self.buf.drain(..self.at);
            self.at = 0;
            let len = self.buf.len();
            self.buf.resize(len + READ_BYTES, 0);
            let n = loop {
                match self.file.read(&mut self.buf[len..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io(&self.path, e)),
                }
            };
            self.buf.truncate(len + n);
            self.eof = n == 0;
        }
    }
}

fn trim_cr(buf: &[u8], line: Range<usize>) -> Range<usize> {
    match buf.get(line.clone()) {
        Some([.., b'\r']) => line.start..line.end - 1,
        _ => line,
    }
}

impl Iterator for JsonlBatches {
    type Item = Result<LineBatch>;

    fn next(&mut self) -> Option<Result<LineBatch>> {
        let mut batch = LineBatch::default();
        while batch.len() < self.per_batch {
            match self.next_line() {
                Ok(Some(line)) => {
                    let text = &self.buf[line];
                    if !text.iter().all(u8::is_ascii_whitespace) {
                        batch.push(text, LineKind::Json);
                    }
                }
                Ok(None) => break,
                Err(e) => return Some(Err(e)),
            }
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8], per_batch: usize) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, text).unwrap();
        let schema = Schema {
            name: "q".into(),
            fields: Vec::new(),
            event_time: "ts".into(),
        };
        batches(&path, ReplayFormat::Jsonl, &schema, per_batch)
            .unwrap()
            .map(|b| {
                let b = b.unwrap();
                b.lines
                    .iter()
                    .map(|(r, _)| String::from_utf8_lossy(&b.text[r.clone()]).into_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn lines_are_cut_as_buf_read_lines_cuts_them_without_the_blank_ones() {
        assert_eq!(
            read(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}", 2),
            [vec!["{\"a\":1}", "{\"b\":2}"], vec!["{\"c\":3}"]]
        );
        assert!(read(b"", 2).is_empty());
        assert_eq!(read(b"x\n", 5), [vec!["x"]]);
        // Lines across the reads of the file: one longer than a read, and many.
        let long = "y".repeat(READ_BYTES + 10);
        let text = format!("{long}\n{}", "z\n".repeat(READ_BYTES));
        let got = read(text.as_bytes(), usize::MAX);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].len(), READ_BYTES + 1);
        assert_eq!(got[0][0], long);
        assert!(got[0][1..].iter().all(|l| l == "z"));
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_for_the_validator_to_reject() {
        assert_eq!(
            read(b"{\"a\":\"\xff\"}\n", 4),
            [vec!["{\"a\":\"\u{fffd}\"}"]]
        );
    }
}
