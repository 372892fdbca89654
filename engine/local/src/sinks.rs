//! The local stand-ins for the AWS sinks: raw JSON objects in the layout Firehose writes,
//! Parquet lake files as the compact Lambda writes them, and dead letters. Every file is
//! written to a temporary name and renamed, so an interrupted flush leaves nothing partial.

use crate::{LocalError, Result, io};
use rustc_hash::FxHashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stk_dsl::ir::{LakeSink, Pipeline, RawSink};
use stk_eval::Record;
use stk_lake::compact::{DeadLetter, LakeWriter};
use stk_lake::partition::{PartKey, Partitioner};

/// What one flush wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Flushed {
    pub raw_objects: usize,
    pub lake_files: usize,
    pub dead_letters: usize,
    /// Bytes written, raw and lake.
    pub bytes: u64,
    /// Bytes of Parquet written.
    pub lake_bytes: u64,
}

pub struct LocalSinks {
    dir: PathBuf,
    raw: Option<(RawSink, Partitioner)>,
    lake: Option<LakeSink>,
    /// The lake partitions as the raw sink does, so it takes the raw sink's key.
    lake_takes_raw_key: bool,
    /// Threads that encode the lake's partitions at a flush.
    threads: usize,
}

/// A block of source text (a read of a replay file, a window of its map, a live source's
/// line), shared by the lines in it: the raw sink keeps their blocks until it flushes
/// instead of copying each line.
pub type Block = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// The bytes of a block.
pub fn bytes(block: &Block) -> &[u8] {
    (**block).as_ref()
}

/// A record's JSON text: a span of a block.
pub struct Text<'a> {
    pub block: &'a Block,
    pub span: Range<usize>,
}

impl Text<'_> {
    pub fn bytes(&self) -> &[u8] {
        bytes(self.block).get(self.span.clone()).unwrap_or_default()
    }
}

/// Everything waiting for the next flush, already laid out as the sinks write it: raw JSON
/// lines per raw partition, the lake's column builders, dead letters, and (for InfluxDB)
/// the records themselves.
pub struct Batch {
    raw: FxHashMap<PartKey, RawPart>,
    /// The blocks of text the raw partitions' lines are in.
    blocks: Vec<Block>,
    /// The current record's raw partition (a reused buffer).
    key: PartKey,
    /// The lake partitions as the raw sink does, so it takes the raw sink's key.
    lake_takes_raw_key: bool,
    lake: Option<LakeWriter>,
    pub records: Option<Vec<Record>>,
    pub dead: Vec<DeadLetter>,
    /// Valid records in the batch.
    pub len: usize,
    /// Raw JSON bytes in the batch.
    pub bytes: u64,
    /// Raw JSON bytes of the largest partition (what Firehose's size hint counts: it buffers
    /// each partition on its own).
    pub fullest_partition: u64,
}

/// One raw partition's lines: where each is, and their bytes with newlines.
#[derive(Default)]
struct RawPart {
    pieces: Vec<Piece>,
    bytes: u64,
}

/// Bytes of one of the batch's blocks, then a newline unless they end with one. Lines of a
/// partition next to each other in the block (a replay sorted by partition) are one piece.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Piece {
    block: u32,
    start: u32,
    end: u32,
    newline: bool,
}

impl RawPart {
    /// Add a line, as a piece of its own or (right after the last one in the same block)
    /// joined to the last.
    fn push(&mut self, piece: Piece) {
        self.bytes += piece.len();
        match self.pieces.last_mut() {
            Some(last) if last.block == piece.block && last.end == piece.start && !last.newline => {
                last.end = piece.end;
                last.newline = piece.newline;
            }
            _ => self.pieces.push(piece),
        }
    }

    /// The object's bytes, gathered from `blocks` into `body`.
    fn gather(&self, blocks: &[Block], body: &mut Vec<u8>) {
        body.clear();
        for p in &self.pieces {
            let block = blocks.get(p.block as usize).map_or(&[][..], bytes);
            body.extend_from_slice(
                block
                    .get(p.start as usize..p.end as usize)
                    .unwrap_or_default(),
            );
            if p.newline {
                body.push(b'\n');
            }
        }
    }
}

impl Piece {
    fn new(block: usize, span: Range<usize>, text: &[u8]) -> Result<Piece> {
        // The newline after the line in the block, when there is one (not after `\r` or
        // at the end of a file), is written with it.
        let ends_line = text.get(span.end) == Some(&b'\n');
        let end = span.end + usize::from(ends_line);
        let n = |x: usize| {
            u32::try_from(x).map_err(|_| {
                LocalError::Config("a block of the source over 4 GiB (a line that long?)".into())
            })
        };
        Ok(Piece {
            block: n(block)?,
            start: n(span.start)?,
            end: n(end)?,
            newline: !ends_line,
        })
    }

    fn len(&self) -> u64 {
        u64::from(self.end - self.start) + u64::from(self.newline)
    }
}

impl Batch {
    /// Add one valid record with its JSON text.
    pub fn push(&mut self, raw: Option<&Partitioner>, r: &Record, text: Text<'_>) -> Result<()> {
        // The raw partition's key in a reused buffer (a new partition's is copied once), and
        // handed to the lake too when it partitions the same way (as `from = raw` usually does).
        if let Some(partitioner) = raw {
            partitioner.key_into(r, &mut self.key);
            let block = match self.blocks.last() {
                Some(last) if Arc::ptr_eq(last, text.block) => self.blocks.len() - 1,
                _ => {
                    self.blocks.push(text.block.clone());
                    self.blocks.len() - 1
                }
            };
            let piece = Piece::new(block, text.span.clone(), bytes(text.block))?;
            let part = match self.raw.get_mut(self.key.as_slice()) {
                Some(part) => part,
                None => self.raw.entry(self.key.clone()).or_default(),
            };
            part.push(piece);
            self.fullest_partition = self.fullest_partition.max(part.bytes);
        }
        if let Some(lake) = &mut self.lake {
            if self.lake_takes_raw_key && raw.is_some() {
                lake.push_keyed(r, &self.key)?;
            } else {
                lake.push(r)?;
            }
        }
        if let Some(records) = &mut self.records {
            records.push(r.clone());
        }
        self.len += 1;
        self.bytes += text.span.len() as u64 + 1;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.dead.is_empty()
    }
}

impl LocalSinks {
    pub fn new(p: &Pipeline, dir: &Path) -> Self {
        let raw = p
            .raw_sink()
            .map(|r| (r.clone(), Partitioner::new(&p.schema, &r.partition)));
        let lake = p.lake_sink().cloned();
        let lake_takes_raw_key = raw.as_ref().is_some_and(|(_, raw)| {
            lake.as_ref()
                .is_some_and(|l| Partitioner::new(&p.schema, &l.partition) == *raw)
        });
        LocalSinks {
            dir: dir.to_path_buf(),
            raw,
            lake,
            lake_takes_raw_key,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// An empty batch for these sinks (`keep_records` when another sink needs the records).
    pub fn batch(&self, p: &Pipeline, keep_records: bool) -> Result<Batch> {
        Ok(Batch {
            raw: FxHashMap::default(),
            blocks: Vec::new(),
            key: PartKey::default(),
            lake_takes_raw_key: self.lake_takes_raw_key,
            lake: self
                .lake
                .as_ref()
                .map(|l| LakeWriter::new(p, l))
                .transpose()?,
            records: keep_records.then(Vec::new),
            dead: Vec::new(),
            len: 0,
            bytes: 0,
            fullest_partition: 0,
        })
    }

    /// The raw sink's partitioning, for [`Batch::push`].
    pub fn raw_partitioner(&self) -> Option<&Partitioner> {
        self.raw.as_ref().map(|(_, p)| p)
    }

    /// How long the raw sink buffers before delivering (Firehose's time hint), in seconds.
    pub fn buffer_interval_s(&self) -> u32 {
        self.raw.as_ref().map_or(60, |(r, _)| r.buffer_interval_s)
    }

    /// How many bytes of raw JSON the raw sink buffers before delivering (Firehose's size hint).
    pub fn buffer_bytes(&self) -> u64 {
        self.raw
            .as_ref()
            .map_or(64 << 20, |(r, _)| r.buffer_size_bytes)
    }

    /// Write one flush, named by `seq`. The raw objects are written on a thread of their own
    /// while the lake's partitions are encoded and written (creating a thousand files and
    /// folders is most of a flush).
    pub fn flush(&self, p: &Pipeline, seq: u64, batch: &mut Batch) -> Result<Flushed> {
        let mut out = Flushed::default();
        let stem = format!("{}-raw-{seq:08}", p.name);
        let raw = std::mem::take(&mut batch.raw);
        let blocks = std::mem::take(&mut batch.blocks);
        let write_raw = || -> Result<(usize, u64)> {
            let Some((_, partitioner)) = &self.raw else {
                return Ok((0, 0));
            };
            let mut groups: Vec<(String, RawPart)> = raw
                .into_iter()
                .map(|(k, part)| (partitioner.path(&k), part))
                .collect();
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            let (mut objects, mut written) = (0, 0);
            // Each object's lines gathered into one buffer: `writev` of a line per slice
            // costs the kernel several times a plain write of the same bytes.
            let mut body = Vec::new();
            for (path, part) in groups {
                written += part.bytes;
                part.gather(&blocks, &mut body);
                let path = self
                    .dir
                    .join("raw")
                    .join(&path)
                    .join(format!("{stem}.json"));
                write_atomic(&path, &body)?;
                objects += 1;
            }
            Ok((objects, written))
        };
        // Each lake file is written by the thread that encoded it, as soon as it is encoded.
        let write_lake = |lake: &mut LakeWriter, out: &mut Flushed| -> Result<()> {
            let write = |f: stk_lake::compact::LakeFile| match write_atomic(
                &self.dir.join("lake").join(&f.path),
                &f.bytes,
            ) {
                Ok(()) => Ok(f.bytes.len() as u64),
                Err(LocalError::Io { path, source }) => {
                    Err(stk_lake::LakeError::Io { path, source })
                }
                Err(e) => Err(stk_lake::LakeError::Sink(e.to_string())),
            };
            for bytes in lake.finish_each(&stem, self.threads, write)? {
                out.bytes += bytes;
                out.lake_bytes += bytes;
                out.lake_files += 1;
            }
            Ok(())
        };
        let (objects, bytes) = std::thread::scope(|s| -> Result<(usize, u64)> {
            let raw = s.spawn(write_raw);
            let lake = match &mut batch.lake {
                Some(lake) => write_lake(lake, &mut out),
                None => Ok(()),
            };
            let raw = raw
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            lake?;
            raw
        })?;
        out.raw_objects += objects;
        out.bytes += bytes;
        if !batch.dead.is_empty() {
            let body: String = batch.dead.iter().map(DeadLetter::to_line).collect();
            write_atomic(
                &self.dir.join("errors").join(format!("{stem}.jsonl")),
                body.as_bytes(),
            )?;
            out.dead_letters = batch.dead.len();
        }
        Ok(out)
    }
}

/// Write to a temporary name and rename, so a reader never sees a partial file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}
