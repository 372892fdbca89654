//! The scraper's spool: every record it will send, on disk, in order, until Kinesis has
//! acknowledged it. A write-ahead queue on `redb` (one durable commit per poll), so a crash,
//! a SIGTERM or a Kinesis outage loses nothing: the next start sends what is left. Bounded:
//! when it holds `max_bytes`, [`Spool::push`] refuses and the daemon stops polling until it
//! drains (nothing scraped is dropped to make room).

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;

/// seq -> (partition key, record bytes)
const RECORDS: TableDefinition<u64, (&str, &[u8])> = TableDefinition::new("records");

/// redb's page cache (its default is 1 GiB, which a spool filling up during a long Kinesis
/// outage would grow into: the daemon must stay small). The spool is written at the tail and
/// read at the head, so a few MiB keep both hot; the rest is the kernel's page cache.
const CACHE_BYTES: usize = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool {path}: {message}")]
    Db { path: String, message: String },
    #[error(
        "the spool is full ({bytes} bytes of at most {max}); Kinesis has not taken records for a while"
    )]
    Full { bytes: u64, max: u64 },
}

/// One spooled record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    pub key: String,
    pub data: Vec<u8>,
}

pub struct Spool {
    db: Database,
    path: String,
    next_seq: u64,
    len: u64,
    bytes: u64,
    max_bytes: u64,
}

impl Spool {
    pub fn open(path: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        let p = path.display().to_string();
        let err = |e: &dyn std::fmt::Display| SpoolError::Db {
            path: p.clone(),
            message: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|e| err(&e))?;
        let (mut next_seq, mut len, mut bytes) = (0, 0, 0);
        {
            let w = db.begin_write().map_err(|e| err(&e))?;
            w.open_table(RECORDS).map_err(|e| err(&e))?;
            w.commit().map_err(|e| err(&e))?;
            let r = db.begin_read().map_err(|e| err(&e))?;
            let t = r.open_table(RECORDS).map_err(|e| err(&e))?;
            for item in t.iter().map_err(|e| err(&e))? {
                let (k, v) = item.map_err(|e| err(&e))?;
                let (key, data) = v.value();
                next_seq = k.value() + 1;
                len += 1;
                bytes += (key.len() + data.len()) as u64;
            }
        }
        Ok(Spool {
            db,
            path: p,
            next_seq,
            len,
            bytes,
            max_bytes,
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> SpoolError {
        SpoolError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Records waiting to be sent.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Append records (durably, in one commit), or refuse all of them when the spool is full.
    pub fn push(&mut self, records: &[(String, Vec<u8>)]) -> Result<(), SpoolError> {
        let add: u64 = records
            .iter()
            .map(|(k, d)| (k.len() + d.len()) as u64)
            .sum();
        if self.bytes + add > self.max_bytes && !records.is_empty() {
            return Err(SpoolError::Full {
                bytes: self.bytes,
                max: self.max_bytes,
            });
        }
        self.append(records, add)
    }

    /// Append past the bound: at shutdown, what was scraped goes to disk whatever the size.
    pub fn push_unbounded(&mut self, records: &[(String, Vec<u8>)]) -> Result<(), SpoolError> {
        let add = records
            .iter()
            .map(|(k, d)| (k.len() + d.len()) as u64)
            .sum();
        self.append(records, add)
    }

    fn append(&mut self, records: &[(String, Vec<u8>)], add: u64) -> Result<(), SpoolError> {
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(RECORDS).map_err(|e| self.err(e))?;
            for (seq, (k, d)) in (self.next_seq..).zip(records) {
                t.insert(seq, (k.as_str(), d.as_slice()))
                    .map_err(|e| self.err(e))?;
            }
        }
        w.commit().map_err(|e| self.err(e))?;
        self.next_seq += records.len() as u64;
        self.len += records.len() as u64;
        self.bytes += add;
        Ok(())
    }

    /// The oldest `n` records, oldest first.
    pub fn peek(&self, n: usize) -> Result<Vec<Entry>, SpoolError> {
        let r = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = r.open_table(RECORDS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.iter().map_err(|e| self.err(e))?.take(n) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            let (key, data) = v.value();
            out.push(Entry {
                seq: k.value(),
                key: key.to_string(),
                data: data.to_vec(),
            });
        }
        Ok(out)
    }

    /// Forget records Kinesis has acknowledged.
    pub fn remove(&mut self, done: &[&Entry]) -> Result<(), SpoolError> {
        if done.is_empty() {
            return Ok(());
        }
        let w = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = w.open_table(RECORDS).map_err(|e| self.err(e))?;
            for e in done {
                t.remove(e.seq).map_err(|err| self.err(err))?;
            }
        }
        w.commit().map_err(|e| self.err(e))?;
        self.len -= done.len() as u64;
        self.bytes -= done
            .iter()
            .map(|e| (e.key.len() + e.data.len()) as u64)
            .sum::<u64>();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(k: &str, d: &str) -> (String, Vec<u8>) {
        (k.into(), d.as_bytes().to_vec())
    }

    #[test]
    fn survives_reopening_in_order_and_refuses_when_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.redb");
        {
            let mut s = Spool::open(&path, 1000).unwrap();
            s.push(&[rec("AAPL", "1"), rec("MSFT", "2"), rec("AAPL", "3")])
                .unwrap();
            let first = s.peek(1).unwrap();
            s.remove(&first.iter().collect::<Vec<_>>()).unwrap();
            assert_eq!(s.len(), 2);
        }
        let mut s = Spool::open(&path, 20).unwrap();
        let left = s.peek(10).unwrap();
        let data: Vec<(&str, &[u8])> = left
            .iter()
            .map(|e| (e.key.as_str(), e.data.as_slice()))
            .collect();
        assert_eq!(data, vec![("MSFT", &b"2"[..]), ("AAPL", &b"3"[..])]);
        assert_eq!(s.bytes(), 10);
        // New records get sequence numbers after the old ones, even after a restart.
        s.push(&[rec("TSLA", "4")]).unwrap();
        assert_eq!(s.peek(10).unwrap().last().unwrap().data, b"4");
        assert!(matches!(
            s.push(&[rec("XXXXXXXXXX", "yyyy")]),
            Err(SpoolError::Full { .. })
        ));
        assert_eq!(s.len(), 3, "a refused push adds nothing");
    }
}
