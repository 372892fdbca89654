//! Parallel decoding for a [`Compaction`](crate::compact::Compaction) given more than one
//! thread: the input is cut into blocks of whole lines, each block is decoded, validated and
//! split by partition on a worker (dealt round-robin), and the workers' results are put back
//! in block order at the end, so the lake files hold the rows in input order and are the
//! same for any thread count. Blocks in flight are bounded (one queued per worker), so memory
//! stays a few blocks above what the single-threaded path holds.

use crate::compact::Feed;
use crate::partition::PartKey;
use crate::{LakeError, Result};
use arrow::record_batch::RecordBatch;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;
use stk_eval::DeadLetter;

/// Bytes of input per block (cut at the last newline past this).
const BLOCK_BYTES: usize = 4 << 20;

/// What one block decoded to.
pub(crate) struct BlockOut {
    index: usize,
    pub parts: Vec<(PartKey, Vec<RecordBatch>, usize)>,
    pub dead_letters: Vec<DeadLetter>,
    pub records: usize,
    pub error: Option<LakeError>,
}

struct Block {
    index: usize,
    /// Lines of the object before this block.
    first_line: usize,
    bytes: Vec<u8>,
}

pub(crate) struct DecodePool {
    senders: Vec<SyncSender<Block>>,
    workers: Vec<JoinHandle<Vec<BlockOut>>>,
    /// The start of the next block.
    buf: Vec<u8>,
    next: usize,
}

impl DecodePool {
    /// One worker per feed (each with its own validator and partition builders).
    pub fn new(feeds: Vec<Feed>) -> Self {
        let (senders, workers) = feeds
            .into_iter()
            .map(|mut feed| {
                let (tx, rx) = sync_channel::<Block>(1);
                let worker = std::thread::spawn(move || {
                    let mut out = Vec::new();
                    for block in rx {
                        feed.line = block.first_line;
                        feed.push(&block.bytes);
                        feed.end_object();
                        out.push(feed.harvest(block.index));
                    }
                    out
                });
                (tx, worker)
            })
            .unzip();
        DecodePool {
            senders,
            workers,
            buf: Vec::with_capacity(BLOCK_BYTES + (1 << 20)),
            next: 0,
        }
    }

    /// More bytes of the current object; `line` counts the object's lines handed out so far.
    pub fn push(&mut self, data: &[u8], line: &mut usize) {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BLOCK_BYTES
            && let Some(nl) = memchr::memrchr(b'\n', &self.buf)
        {
            let mut block = Vec::with_capacity(BLOCK_BYTES + (1 << 20));
            block.extend_from_slice(&self.buf[nl + 1..]);
            std::mem::swap(&mut block, &mut self.buf);
            block.truncate(nl + 1);
            self.send(block, line);
        }
    }

    /// The object is complete: its last block goes out (blocks never span objects).
    pub fn end_object(&mut self, line: &mut usize) {
        if !self.buf.is_empty() {
            let block = std::mem::take(&mut self.buf);
            self.send(block, line);
        }
    }

    fn send(&mut self, bytes: Vec<u8>, line: &mut usize) {
        let first_line = *line;
        *line += memchr::memchr_iter(b'\n', &bytes).count() + usize::from(!bytes.ends_with(b"\n"));
        let index = self.next;
        self.next += 1;
        // A worker that is gone has panicked; `finish` reports it.
        let _ = self.senders[index % self.senders.len()].send(Block {
            index,
            first_line,
            bytes,
        });
    }

    /// Every block's result, in input order.
    pub fn finish(self) -> Result<Vec<BlockOut>> {
        drop(self.senders);
        let mut outs = Vec::new();
        for w in self.workers {
            outs.extend(
                w.join()
                    .map_err(|_| LakeError::Input("a decoding thread failed".into()))?,
            );
        }
        outs.sort_by_key(|o| o.index);
        Ok(outs)
    }
}

impl Feed {
    /// What the feed decoded since the last harvest, as the result of block `index`.
    fn harvest(&mut self, index: usize) -> BlockOut {
        let (parts, error) = match self.writer.take_parts() {
            Ok(parts) => (parts, self.error.take()),
            Err(e) => (Vec::new(), Some(self.error.take().unwrap_or(e))),
        };
        BlockOut {
            index,
            parts,
            dead_letters: std::mem::take(&mut self.dead_letters),
            records: std::mem::take(&mut self.records),
            error,
        }
    }
}
