//! Replaying recorded ticks: a JSONL or CSV file, one record per line, streamed in batches of
//! lines, optionally paced by event time at `speed` times real time.
//!
//! A batch is a block of text and the spans of its lines (no allocation or copy per line): at
//! `--speed max` a replay reads a million lines a second. A regular JSONL file is mapped
//! (`mapped.rs`): its lines are never copied until the raw sink writes them; anything else
//! (a pipe) is read in blocks.

use crate::sinks::Block;
use crate::{Result, io};
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stk_dsl::ir::{ReplayFormat, Schema};

/// Lines of a replay file: the block of text they are in, and each line's span and kind.
pub struct LineBatch {
    /// A read of the file, a window of its map, or CSV rows as JSON lines.
    pub text: Block,
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

/// CSV rows as JSON lines, back to back.
#[derive(Default)]
struct Rows {
    text: Vec<u8>,
    lines: Vec<(Range<usize>, LineKind)>,
}

impl Rows {
    fn push(&mut self, text: &[u8], kind: LineKind) {
        let at = self.text.len();
        self.text.extend_from_slice(text);
        self.lines.push((at..self.text.len(), kind));
    }
}

/// The lines of a replay file in batches, read as they are needed (memory does not grow
/// with the file's length): a JSONL file's whole lines of about [`READ_BYTES`], a CSV file's
/// rows `csv_rows` at a time. Blank lines are skipped (and not counted).
pub fn batches(
    path: &Path,
    format: ReplayFormat,
    schema: &Schema,
    csv_rows: usize,
) -> Result<Box<dyn Iterator<Item = Result<LineBatch>> + Send>> {
    let csv_rows = csv_rows.max(1);
    match format {
        ReplayFormat::Jsonl => {
            let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
            let file = match crate::mapped::MappedBatches::new(file, path)? {
                Ok(mapped) => return Ok(Box::new(mapped)),
                // Not a regular file, or it cannot be mapped: read it.
                Err(file) => file,
            };
            Ok(Box::new(JsonlBatches {
                file,
                path: path.to_path_buf(),
                carry: Vec::new(),
                eof: false,
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
                let mut batch = Rows::default();
                for row in rows.by_ref() {
                    match row {
                        Ok(row) => {
                            let value = stk_lake::input::csv_object(&headers, &types, &row);
                            let text = value.to_string();
                            batch.push(text.as_bytes(), LineKind::Csv(value));
                        }
                        Err(e) => batch.push(b"", LineKind::Bad(format!("CSV: {e}"))),
                    }
                    if batch.lines.len() == csv_rows {
                        break;
                    }
                }
                (!batch.lines.is_empty()).then(|| {
                    Ok(LineBatch {
                        text: Arc::new(batch.text),
                        lines: batch.lines,
                    })
                })
            })))
        }
    }
}

/// Bytes of a JSONL file per batch (its whole lines).
pub(crate) const READ_BYTES: usize = 1 << 20;

/// A JSONL file read in blocks of whole lines: each read lands in a fresh buffer (after the
/// partial line the previous read ended with), which becomes the batch's text as it is, so a
/// line's bytes are copied once, by the kernel, and the raw sink can keep the block itself.
struct JsonlBatches {
    file: std::fs::File,
    path: PathBuf,
    /// The partial line the last read ended with.
    carry: Vec<u8>,
    eof: bool,
}

impl JsonlBatches {
    /// Read more of the file after `text`'s bytes; `false` at the end of the file.
    fn read_more(&mut self, text: &mut Vec<u8>) -> Result<bool> {
        text.reserve(READ_BYTES);
        let before = text.len();
        loop {
            // `read_to_end` reads into the spare capacity without zeroing it first.
            match (&self.file).take(READ_BYTES as u64).read_to_end(text) {
                Ok(_) => return Ok(text.len() > before),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(&self.path, e)),
            }
        }
    }

    fn next_block(&mut self) -> Result<Option<LineBatch>> {
        loop {
            if self.eof {
                return Ok(None);
            }
            let mut text = Vec::with_capacity(self.carry.len() + READ_BYTES);
            text.append(&mut self.carry);
            // Read until the block holds a whole line (a line longer than a read takes more).
            let mut scanned = 0;
            let end = loop {
                if !self.read_more(&mut text)? {
                    self.eof = true;
                    break text.len();
                }
                if let Some(nl) = memchr::memrchr(b'\n', &text[scanned..]) {
                    break scanned + nl + 1;
                }
                scanned = text.len();
            };
            self.carry.extend_from_slice(&text[end..]);
            text.truncate(end);
            let lines = lines_of(&text, 0..text.len());
            if !lines.is_empty() {
                return Ok(Some(LineBatch {
                    text: Arc::new(text),
                    lines,
                }));
            }
        }
    }
}

/// The lines of `text[within]`, whole lines (without their newlines, `\r\n` too), blank ones
/// left out; spans are into `text`.
pub(crate) fn lines_of(text: &[u8], within: Range<usize>) -> Vec<(Range<usize>, LineKind)> {
    let Some(part) = text.get(within.clone()) else {
        return Vec::new();
    };
    let mut lines = Vec::with_capacity(part.len() / 128);
    let mut at = within.start;
    // The last line may have no newline (the end of the file).
    let ends = memchr::memchr_iter(b'\n', part).map(|nl| within.start + nl);
    for nl in ends.chain([within.end]) {
        let line = trim_cr(text, at..nl);
        at = nl + 1;
        if text
            .get(line.clone())
            .is_some_and(|l| !l.iter().all(u8::is_ascii_whitespace))
        {
            lines.push((line, LineKind::Json));
        }
    }
    lines
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
        self.next_block().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(batches: impl Iterator<Item = Result<LineBatch>>) -> Vec<Vec<String>> {
        batches
            .map(|b| {
                let b = b.unwrap();
                let text = crate::sinks::bytes(&b.text);
                b.lines
                    .iter()
                    .map(|(r, _)| String::from_utf8_lossy(&text[r.clone()]).into_owned())
                    .collect()
            })
            .collect()
    }

    /// The lines of each batch of a JSONL file holding `text`, read as a pipe is; mapped, as
    /// a regular file is, the same lines come out.
    fn read(text: &[u8]) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, text).unwrap();
        let read = lines(JsonlBatches {
            file: std::fs::File::open(&path).unwrap(),
            path: path.clone(),
            carry: Vec::new(),
            eof: false,
        });
        let schema = Schema {
            name: "q".into(),
            fields: Vec::new(),
            event_time: "ts".into(),
        };
        let mapped = lines(batches(&path, ReplayFormat::Jsonl, &schema, 1).unwrap());
        assert_eq!(read.concat(), mapped.concat());
        read
    }

    #[test]
    fn lines_are_cut_as_buf_read_lines_cuts_them_without_the_blank_ones() {
        // (The last line, without a newline, is known to be whole only at the end of the
        // file, so it may come in a batch of its own.)
        assert_eq!(
            read(b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}").concat(),
            ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]
        );
        assert!(read(b"").is_empty());
        assert!(read(b"\n \r\n").is_empty());
        assert_eq!(read(b"x\n"), [vec!["x"]]);
    }

    #[test]
    fn a_batch_is_whole_lines_of_a_read_whatever_their_length() {
        // One line longer than a read, then two reads' worth of short lines.
        let long = "y".repeat(READ_BYTES + 10);
        let text = format!("{long}\n{}", "z\n".repeat(READ_BYTES));
        let got = read(text.as_bytes());
        assert!(got.len() >= 3, "{} batches", got.len());
        assert!(got.iter().all(|b| !b.is_empty()));
        let lines: Vec<&String> = got.iter().flatten().collect();
        assert_eq!(lines.len(), READ_BYTES + 1);
        assert_eq!(*lines[0], long);
        assert!(lines[1..].iter().all(|l| *l == "z"));
        // A read of nothing but blank lines is no batch; the line after it is read.
        let blank = format!("{}x\n", "\n".repeat(READ_BYTES + 5));
        assert_eq!(read(blank.as_bytes()), [vec!["x"]]);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_for_the_validator_to_reject() {
        assert_eq!(read(b"{\"a\":\"\xff\"}\n"), [vec!["{\"a\":\"\u{fffd}\"}"]]);
    }
}
