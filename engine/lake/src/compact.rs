//! Compaction: raw JSON objects (what Firehose delivers, or what `stkc run` writes) into
//! partitioned Parquet, the shared core of the compact Lambda and the local lake. Input
//! streams through: each object is fed in chunks (gzip detected by its magic bytes), split
//! into lines, decoded straight into records, validated, and appended to the partitions'
//! column builders ([`LakeWriter`]); nothing holds the whole object. Rejects come back as
//! dead letters with their reason. Output names derive from the source object, so a retry
//! overwrites instead of duplicating.

use crate::Result;
use crate::decode_pool::DecodePool;
pub use crate::lake_writer::{LakeWriter, writer_properties};
use std::io::{Read, Write};
use stk_dsl::ir::{LakeSink, Pipeline};
use stk_eval::{Rejection, Scratch, Validator};

/// One Parquet file of the lake.
#[derive(Debug)]
pub struct LakeFile {
    /// Relative to the lake root: `date=2026-11-27/symbol=AAPL/<stem>.parquet`.
    pub path: String,
    pub bytes: Vec<u8>,
    pub rows: usize,
}

pub use stk_eval::DeadLetter;

#[derive(Debug, Default)]
pub struct CompactOutput {
    pub files: Vec<LakeFile>,
    pub dead_letters: Vec<DeadLetter>,
    pub records: usize,
}

/// The stem output files are named after: the object's last segment without extensions.
pub fn stem(object_name: &str) -> String {
    let last = object_name.rsplit('/').next().unwrap_or(object_name);
    let base = last.split('.').next().unwrap_or(last);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() {
        "part".to_string()
    } else {
        clean
    }
}

/// Decode the JSON documents of a raw object: newline-delimited (a bad line is one dead
/// letter) or concatenated; gzip is detected by its magic bytes.
pub fn documents(
    object_name: &str,
    data: &[u8],
) -> (Vec<(Option<usize>, serde_json::Value)>, Vec<DeadLetter>) {
    let mut owned = Vec::new();
    let data = if data.starts_with(&[0x1f, 0x8b]) {
        if let Err(e) = flate2::read::MultiGzDecoder::new(data).read_to_end(&mut owned) {
            let dl = DeadLetter::new(
                object_name,
                "decode",
                format!("gzip: {e}"),
                serde_json::Value::Null,
            );
            return (Vec::new(), vec![dl]);
        }
        &owned[..]
    } else {
        data
    };
    let mut docs = Vec::new();
    let mut dead = Vec::new();
    let text_lines = data
        .split(|b| *b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    if text_lines > 1 || !data.contains(&b'}') || data.iter().filter(|b| **b == b'{').count() <= 1 {
        for (i, line) in data.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(v) => docs.push((Some(i + 1), v)),
                Err(e) => dead.push(
                    DeadLetter::new(
                        object_name,
                        "decode",
                        format!("not JSON: {e}"),
                        String::from_utf8_lossy(line).into_owned().into(),
                    )
                    .at_line(Some(i + 1)),
                ),
            }
        }
    } else {
        let mut stream =
            serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
        loop {
            match stream.next() {
                None => break,
                Some(Ok(v)) => docs.push((None, v)),
                Some(Err(e)) => {
                    let rest = &data[stream.byte_offset().min(data.len())..];
                    dead.push(DeadLetter::new(
                        object_name,
                        "decode",
                        format!("not JSON at byte {}: {e}", stream.byte_offset()),
                        String::from_utf8_lossy(rest).into_owned().into(),
                    ));
                    break;
                }
            }
        }
    }
    (docs, dead)
}

/// Compact one raw object, held in memory, into lake files.
pub fn compact(
    p: &Pipeline,
    lake: &LakeSink,
    object_name: &str,
    data: &[u8],
) -> Result<CompactOutput> {
    let mut c = Compaction::new(p, lake, object_name)?;
    c.read(data).map_err(|e| crate::LakeError::Io {
        path: object_name.to_string(),
        source: e,
    })?;
    c.finish(&stem(object_name), 1)
}

/// A compaction in progress: objects are fed in, lake files come out at [`Compaction::finish`].
pub struct Compaction {
    feed: Feed,
}

impl Compaction {
    /// `source` names the input in dead letters (the object key, or the file). Decoding runs
    /// on the caller's thread.
    pub fn new(p: &Pipeline, lake: &LakeSink, source: &str) -> Result<Self> {
        Self::with_threads(p, lake, source, 1)
    }

    /// Decoding on `threads` threads besides the caller's (none when 1): the files are the
    /// same for any thread count.
    pub fn with_threads(
        p: &Pipeline,
        lake: &LakeSink,
        source: &str,
        threads: usize,
    ) -> Result<Self> {
        let mut feed = Feed::new(p, lake, source)?;
        if threads > 1 {
            let workers = (0..threads)
                .map(|_| Feed::new(p, lake, source))
                .collect::<Result<Vec<_>>>()?;
            feed.pool = Some(DecodePool::new(workers));
        }
        Ok(Compaction { feed })
    }

    /// A writer for the bytes of one object (plain or gzip); finish it with
    /// [`ObjectWriter::end`].
    pub fn object(&mut self) -> ObjectWriter<'_> {
        self.feed.line = 0;
        ObjectWriter(Sink::Sniff(&mut self.feed, Vec::new()))
    }

    /// Feed one whole object from a reader.
    pub fn read(&mut self, mut r: impl Read) -> std::io::Result<()> {
        let mut w = self.object();
        std::io::copy(&mut r, &mut w)?;
        w.end()
    }

    /// Valid records so far.
    pub fn records(&self) -> usize {
        self.feed.records
    }

    /// The lake files (named `<partition path><stem>.parquet`, encoded on up to `threads`
    /// threads) and the dead letters.
    pub fn finish(mut self, stem: &str, threads: usize) -> Result<CompactOutput> {
        if let Some(pool) = self.feed.pool.take() {
            for block in pool.finish()? {
                self.feed.records += block.records;
                self.feed.dead_letters.extend(block.dead_letters);
                if let Some(e) = block.error {
                    self.feed.error.get_or_insert(e);
                }
                for (key, batches, rows) in block.parts {
                    self.feed.writer.absorb(key, batches, rows)?;
                }
            }
        }
        if let Some(e) = self.feed.error.take() {
            return Err(e);
        }
        Ok(CompactOutput {
            files: self.feed.writer.finish(stem, threads)?,
            dead_letters: self.feed.dead_letters,
            records: self.feed.records,
        })
    }
}

/// The bytes of one object going into a [`Compaction`]. A gzip stream that turns out to be
/// corrupt ends the object with a dead letter saying so.
pub struct ObjectWriter<'a>(Sink<'a>);

enum Sink<'a> {
    /// Fewer than two bytes seen: gzip or not is still open.
    Sniff(&'a mut Feed, Vec<u8>),
    Plain(&'a mut Feed),
    Gz(Box<flate2::write::MultiGzDecoder<&'a mut Feed>>),
    Done,
}

impl ObjectWriter<'_> {
    /// The object is complete: its last line (without a newline) is taken too.
    pub fn end(mut self) -> std::io::Result<()> {
        match std::mem::replace(&mut self.0, Sink::Done) {
            Sink::Sniff(feed, buf) => {
                feed.push(&buf);
                feed.end_object();
            }
            Sink::Plain(feed) => feed.end_object(),
            Sink::Gz(mut dec) => match dec.try_finish() {
                Ok(()) => {
                    if let Ok(feed) = dec.finish() {
                        feed.end_object();
                    }
                }
                Err(e) => {
                    let feed = dec.get_mut();
                    feed.end_object();
                    feed.gzip_failed(&e);
                }
            },
            Sink::Done => {}
        }
        Ok(())
    }
}

impl Write for ObjectWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Sink::Sniff(_, seen) = &mut self.0 {
            seen.extend_from_slice(buf);
            if seen.len() < 2 {
                return Ok(buf.len());
            }
            let Sink::Sniff(feed, seen) = std::mem::replace(&mut self.0, Sink::Done) else {
                unreachable!("matched above")
            };
            self.0 = if seen.starts_with(&[0x1f, 0x8b]) {
                Sink::Gz(Box::new(flate2::write::MultiGzDecoder::new(feed)))
            } else {
                Sink::Plain(feed)
            };
            self.write_body(&seen)?;
            return Ok(buf.len());
        }
        self.write_body(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ObjectWriter<'_> {
    fn write_body(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.0 {
            Sink::Plain(feed) => feed.push(buf),
            Sink::Gz(dec) => {
                if let Err(e) = dec.write_all(buf) {
                    let Sink::Gz(mut dec) = std::mem::replace(&mut self.0, Sink::Done) else {
                        unreachable!("matched above")
                    };
                    let feed = dec.get_mut();
                    feed.end_object();
                    feed.gzip_failed(&e);
                }
            }
            Sink::Sniff(..) | Sink::Done => {}
        }
        Ok(())
    }
}

/// Lines in, records to the lake writer, rejects to dead letters; or, with a pool, bytes
/// out to the decoding threads.
pub(crate) struct Feed {
    validator: Validator,
    /// The record being decoded and the strings seen so far.
    scratch: Scratch,
    pub(crate) writer: LakeWriter,
    source: String,
    /// The start of a line whose end has not arrived yet.
    carry: Vec<u8>,
    /// Lines of the current object so far.
    pub(crate) line: usize,
    pub(crate) records: usize,
    pub(crate) dead_letters: Vec<DeadLetter>,
    pub(crate) error: Option<crate::LakeError>,
    /// The decoding threads, when there are several.
    pool: Option<DecodePool>,
}

impl Feed {
    fn new(p: &Pipeline, lake: &LakeSink, source: &str) -> Result<Self> {
        let validator = Validator::new(p);
        Ok(Feed {
            scratch: validator.decoder.scratch(),
            validator,
            writer: LakeWriter::new(p, lake)?,
            source: source.to_string(),
            carry: Vec::new(),
            line: 0,
            records: 0,
            dead_letters: Vec::new(),
            error: None,
            pool: None,
        })
    }
}

impl Write for Feed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Feed {
    pub(crate) fn push(&mut self, mut buf: &[u8]) {
        if let Some(pool) = &mut self.pool {
            pool.push(buf, &mut self.line);
            return;
        }
        while let Some(nl) = memchr::memchr(b'\n', buf) {
            self.line += 1;
            if self.carry.is_empty() {
                self.take_line(&buf[..nl]);
            } else {
                let mut line = std::mem::take(&mut self.carry);
                line.extend_from_slice(&buf[..nl]);
                self.take_line(&line);
                line.clear();
                self.carry = line;
            }
            buf = &buf[nl + 1..];
        }
        self.carry.extend_from_slice(buf);
    }

    pub(crate) fn end_object(&mut self) {
        if let Some(pool) = &mut self.pool {
            pool.end_object(&mut self.line);
            return;
        }
        if !self.carry.is_empty() {
            self.line += 1;
            let line = std::mem::take(&mut self.carry);
            self.take_line(&line);
        }
    }

    fn gzip_failed(&mut self, e: &std::io::Error) {
        self.dead_letters.push(DeadLetter::new(
            &self.source,
            "decode",
            format!(
                "gzip: {e}; the rest of the object after line {} is not read",
                self.line
            ),
            serde_json::Value::Null,
        ));
    }

    fn take_line(&mut self, text: &[u8]) {
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let line = Some(self.line);
        match self.validator.validate_text_with(text, &mut self.scratch) {
            Ok(r) => {
                self.records += 1;
                if let Err(e) = self.writer.push(r) {
                    self.error.get_or_insert(e);
                }
            }
            Err(rej) if rej.rule == "decode" => self.concatenated(text, line),
            Err(rej) => match serde_json::from_slice::<serde_json::Value>(text) {
                // A producer may pack several ticks into one JSON array.
                Ok(serde_json::Value::Array(items)) => {
                    items.into_iter().for_each(|d| self.document(d, line))
                }
                Ok(doc) => self.reject(rej, doc, line),
                Err(_) => self.reject(rej, text_value(text), line),
            },
        }
    }

    /// A line that is not one JSON document: several written back to back (Firehose without
    /// a newline delimiter), or not JSON (a dead letter, with what could be read before it).
    fn concatenated(&mut self, text: &[u8], line: Option<usize>) {
        let mut stream =
            serde_json::Deserializer::from_slice(text).into_iter::<serde_json::Value>();
        loop {
            match stream.next() {
                None => break,
                Some(Ok(serde_json::Value::Array(items))) => {
                    items.into_iter().for_each(|d| self.document(d, line))
                }
                Some(Ok(doc)) => self.document(doc, line),
                Some(Err(e)) => {
                    let at = stream.byte_offset().min(text.len());
                    let what = if at == 0 {
                        format!("not JSON: {e}")
                    } else {
                        format!("not JSON at byte {at}: {e}")
                    };
                    self.dead_letters.push(
                        DeadLetter::new(&self.source, "decode", what, text_value(&text[at..]))
                            .at_line(line),
                    );
                    break;
                }
            }
        }
    }

    fn document(&mut self, doc: serde_json::Value, line: Option<usize>) {
        match self.validator.validate_json(&doc) {
            Ok(r) => self.accept(&r),
            Err(rej) => self.reject(rej, doc, line),
        }
    }

    fn accept(&mut self, r: &stk_eval::Record) {
        self.records += 1;
        if let Err(e) = self.writer.push(r) {
            self.error.get_or_insert(e);
        }
    }

    fn reject(&mut self, rej: Rejection, doc: serde_json::Value, line: Option<usize>) {
        self.dead_letters
            .push(DeadLetter::new(&self.source, rej.rule, rej.reason, doc).at_line(line));
    }
}

fn text_value(text: &[u8]) -> serde_json::Value {
    String::from_utf8_lossy(text).into_owned().into()
}
