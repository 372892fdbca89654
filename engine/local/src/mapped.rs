//! A regular JSONL replay file read through memory maps, in windows: a batch's lines are spans
//! of the window they are in, so a line is never copied before the raw sink writes it, and
//! no fresh memory is zeroed for it (reading into new buffers cost the reading thread, the
//! busier one, a fifth of its time in page faults). Windows start at an aligned offset at or
//! before the first line they are for, so a line is always whole in one window; a window is
//! unmapped once no batch and no pending raw object uses it (memory stays bounded by what is
//! pending, as with reads). Anything that cannot be mapped (a pipe) is read instead.

use crate::replay::{LineBatch, READ_BYTES, lines_of};
use crate::sinks::{Block, bytes};
use crate::{Result, io};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes mapped at once (at least; more for a line longer than that).
const WINDOW: u64 = 64 << 20;
/// Windows start at a multiple of this: a multiple of the page size (or allocation
/// granularity) everywhere.
const ALIGN: u64 = 1 << 16;

pub(crate) struct MappedBatches {
    file: File,
    path: PathBuf,
    /// The file's length when it was opened: what is replayed.
    len: u64,
    /// The current window: its offset in the file, and the map.
    window: (u64, Block),
    /// The offset of the next line.
    at: u64,
}

impl MappedBatches {
    /// A mapped reader of `file`, or the file back when it is not a regular, non-empty file
    /// that maps.
    pub(crate) fn new(file: File, path: &Path) -> Result<std::result::Result<Self, File>> {
        let meta = file.metadata().map_err(|e| io(path, e))?;
        if !meta.is_file() || meta.len() == 0 {
            return Ok(Err(file));
        }
        let len = meta.len();
        let Ok(first) = map(&file, 0, WINDOW.min(len)) else {
            return Ok(Err(file));
        };
        Ok(Ok(MappedBatches {
            file,
            path: path.to_path_buf(),
            len,
            window: (0, first),
            at: 0,
        }))
    }

    fn next_batch(&mut self) -> Result<Option<LineBatch>> {
        let mut want = READ_BYTES as u64;
        while self.at < self.len {
            let end = self.at.saturating_add(want).min(self.len);
            let (off, block) = &self.window;
            let covered = *off <= self.at && off + bytes(block).len() as u64 >= end;
            if !covered {
                let off = self.at - self.at % ALIGN;
                let size = (end - off).max(WINDOW).min(self.len - off);
                self.window = (
                    off,
                    map(&self.file, off, size).map_err(|e| io(&self.path, e))?,
                );
            }
            let (off, block) = &self.window;
            let text = bytes(block);
            let (start, stop) = ((self.at - off) as usize, (end - off) as usize);
            // Whole lines: up to the last newline, or to the end of the file.
            let cut = if end == self.len {
                Some(stop)
            } else {
                text.get(start..stop)
                    .and_then(|t| memchr::memrchr(b'\n', t))
                    .map(|nl| start + nl + 1)
            };
            let Some(cut) = cut else {
                // A line longer than `want`: look further.
                want = want.saturating_mul(2);
                continue;
            };
            self.at = off + cut as u64;
            want = READ_BYTES as u64;
            let lines = lines_of(text, start..cut);
            if !lines.is_empty() {
                return Ok(Some(LineBatch {
                    text: block.clone(),
                    lines,
                }));
            }
        }
        Ok(None)
    }
}

impl Iterator for MappedBatches {
    type Item = Result<LineBatch>;

    fn next(&mut self) -> Option<Result<LineBatch>> {
        self.next_batch().transpose()
    }
}

fn map(file: &File, offset: u64, len: u64) -> std::io::Result<Block> {
    let len = usize::try_from(len).map_err(|_| std::io::ErrorKind::InvalidInput)?;
    // SAFETY: the map is read only, and stkc never writes the replay file. Another process
    // truncating it while it is replayed would make reading the lost pages fault (SIGBUS),
    // as with any reader that maps files (ripgrep, for one); the length replayed is the
    // length at open, so a file growing meanwhile is fine.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .offset(offset)
            .len(len)
            .map(file)?
    };
    Ok(Arc::new(map))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line of `text` through a mapped reader with tiny windows and batches, as the
    /// read-based reader cuts them.
    fn mapped_lines(text: &[u8]) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(&path, text).unwrap();
        let file = File::open(&path).unwrap();
        let Ok(mapped) = MappedBatches::new(file, &path).unwrap() else {
            return Vec::new();
        };
        mapped
            .flat_map(|b| {
                let b = b.unwrap();
                let text = bytes(&b.text).to_vec();
                b.lines
                    .into_iter()
                    .map(move |(r, _)| String::from_utf8_lossy(&text[r]).into_owned())
            })
            .collect()
    }

    #[test]
    fn lines_across_windows_and_batches_are_whole() {
        assert!(mapped_lines(b"").is_empty());
        assert_eq!(mapped_lines(b"a\r\n\n b \nc"), ["a", " b ", "c"]);
        // Lines longer than a batch, many short ones, across several windows.
        let long = "y".repeat(READ_BYTES * 3 + 7);
        let mut text = format!("{long}\n");
        let short = (WINDOW as usize / 10) + 3;
        for i in 0..short {
            text.push_str(&format!("{}\n", i % 7));
        }
        text.push_str(&long);
        let got = mapped_lines(text.as_bytes());
        assert_eq!(got.len(), short + 2);
        assert_eq!(got[0], long);
        assert!(
            got[1..=short]
                .iter()
                .enumerate()
                .all(|(i, l)| *l == (i % 7).to_string())
        );
        assert_eq!(got[short + 1], long);
    }

    #[test]
    fn a_pipe_is_not_mapped() {
        let file = File::open("/dev/null").unwrap();
        assert!(
            MappedBatches::new(file, Path::new("/dev/null"))
                .unwrap()
                .is_err()
        );
    }
}
