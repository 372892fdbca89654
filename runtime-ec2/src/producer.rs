//! The Kinesis producer: drains the spool with PutRecords, oldest first. A batch holds at most
//! one Kinesis record per partition key (with `pack = N`, that record holds up to N consecutive
//! ticks of the key as JSON lines), so when Kinesis rejects some entries of a batch, what is
//! left of each key is still its oldest: the next batch resends it first and per-key order
//! holds without duplicating what was accepted. At most 500 records and 5 MiB per call, 1 MiB
//! per record (Kinesis' limits). Only acknowledged entries leave the spool.
//!
//! A packed record is newline-delimited JSON, not a JSON array: Firehose's JSON
//! de-aggregation, which dynamic partitioning needs, splits concatenated objects but takes an
//! array as one record (docs/architecture.md).

use crate::spool::{Entry, Spool, SpoolError};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use std::collections::HashMap;

pub const MAX_RECORDS: usize = 500;
pub const MAX_BATCH_BYTES: usize = 5 << 20;
pub const MAX_RECORD_BYTES: usize = 1 << 20;
/// How far into the spool one batch looks for keys.
const LOOKAHEAD: usize = 5000;

/// One Kinesis record of a batch and the spool entries it carries.
#[derive(Debug)]
pub struct Planned<'a> {
    pub key: &'a str,
    pub data: Vec<u8>,
    pub entries: Vec<&'a Entry>,
}

/// The next batch from the oldest spooled entries (see the module header for the rules).
pub fn plan(entries: &[Entry], pack: usize) -> Vec<Planned<'_>> {
    let pack = pack.max(1);
    let mut out: Vec<Planned> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    let mut closed: std::collections::HashSet<&str> = Default::default();
    let mut total = 0usize;
    for e in entries {
        let key = e.key.as_str();
        if closed.contains(key) {
            continue;
        }
        match by_key.get(key) {
            Some(&i) => {
                let p = &mut out[i];
                let grown = p.data.len() + e.data.len() + 1;
                if p.entries.len() >= pack
                    || grown + key.len() > MAX_RECORD_BYTES
                    || total + e.data.len() + 1 > MAX_BATCH_BYTES
                {
                    // Later entries of this key wait for a later batch, behind this one.
                    closed.insert(key);
                    continue;
                }
                p.data.extend_from_slice(&e.data);
                p.data.push(b'\n');
                p.entries.push(e);
                total += e.data.len() + 1;
            }
            None => {
                let size = e.data.len() + key.len() + 2;
                if out.len() >= MAX_RECORDS || total + size > MAX_BATCH_BYTES {
                    closed.insert(key);
                    continue;
                }
                let data = if pack > 1 {
                    let mut d = Vec::with_capacity(e.data.len() + 1);
                    d.extend_from_slice(&e.data);
                    d.push(b'\n');
                    d
                } else {
                    e.data.clone()
                };
                by_key.insert(key, out.len());
                total += size;
                out.push(Planned {
                    key,
                    data,
                    entries: vec![e],
                });
                if pack == 1 {
                    closed.insert(key);
                }
            }
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("Kinesis PutRecords to stream {stream} failed: {message}")]
    Kinesis { stream: String, message: String },
    #[error(transparent)]
    Spool(#[from] SpoolError),
}

/// What one call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Ticks acknowledged (and removed from the spool).
    pub ticks: u64,
    /// Kinesis records sent in the call.
    pub records: u64,
    /// Records Kinesis rejected (throttling, internal errors); they stay spooled.
    pub failed: u64,
}

pub struct Producer {
    client: aws_sdk_kinesis::Client,
    stream: String,
    pack: usize,
}

impl Producer {
    pub fn new(client: aws_sdk_kinesis::Client, stream: &str, pack: usize) -> Self {
        Producer {
            client,
            stream: stream.to_string(),
            pack,
        }
    }

    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Send one batch from the head of the spool. `Ok` with zero records when it is empty.
    /// The spool is locked only to read and to remove, never during the call.
    pub async fn send_once(&self, spool: &std::sync::Mutex<Spool>) -> Result<Sent, SendError> {
        let head = {
            let s = spool.lock().unwrap_or_else(|p| p.into_inner());
            s.peek(LOOKAHEAD)?
        };
        let batch = plan(&head, self.pack);
        if batch.is_empty() {
            return Ok(Sent::default());
        }
        let records: Vec<PutRecordsRequestEntry> = batch
            .iter()
            .map(|p| {
                PutRecordsRequestEntry::builder()
                    .partition_key(p.key)
                    .data(Blob::new(p.data.clone()))
                    .build()
            })
            .collect::<Result<_, _>>()
            .map_err(|e| SendError::Kinesis {
                stream: self.stream.clone(),
                message: e.to_string(),
            })?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(records))
            .send()
            .await
            .map_err(|e| SendError::Kinesis {
                stream: self.stream.clone(),
                message: match e {
                    // Kinesis' own answer ("ResourceNotFoundException: Stream ... not found.").
                    aws_sdk_kinesis::error::SdkError::ServiceError(se) => se.err().to_string(),
                    // Connection, timeout, credentials: the whole chain says what happened.
                    other => aws_sdk_kinesis::error::DisplayErrorContext(&other).to_string(),
                },
            })?;
        let results = out.records();
        let mut done: Vec<&Entry> = Vec::new();
        let mut sent = Sent {
            records: batch.len() as u64,
            ..Default::default()
        };
        for (i, p) in batch.iter().enumerate() {
            // A result missing from the answer counts as failed: it stays spooled.
            let ok = results.get(i).is_some_and(|r| r.error_code().is_none());
            if ok {
                done.extend(p.entries.iter().copied());
                sent.ticks += p.entries.len() as u64;
            } else {
                sent.failed += 1;
            }
        }
        spool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&done)?;
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<Entry> {
        keys.iter()
            .enumerate()
            .map(|(i, k)| Entry {
                seq: i as u64,
                key: k.to_string(),
                data: format!("{{\"n\":{i}}}").into_bytes(),
            })
            .collect()
    }

    #[test]
    fn one_record_per_key_without_packing() {
        let e = entries(&["A", "B", "A", "C", "B"]);
        let b = plan(&e, 1);
        let got: Vec<(&str, Vec<u64>)> = b
            .iter()
            .map(|p| (p.key, p.entries.iter().map(|e| e.seq).collect()))
            .collect();
        assert_eq!(got, vec![("A", vec![0]), ("B", vec![1]), ("C", vec![3])]);
        assert_eq!(b[0].data, br#"{"n":0}"#);
    }

    #[test]
    fn packing_makes_json_lines_of_consecutive_ticks_per_key() {
        let e = entries(&["A", "B", "A", "A", "B", "A"]);
        let b = plan(&e, 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].data, b"{\"n\":0}\n{\"n\":2}\n");
        assert_eq!(b[1].data, b"{\"n\":1}\n{\"n\":4}\n");
        // Key A's third and fourth ticks wait: nothing of A after a held-back tick is sent.
        let seqs: Vec<u64> = b
            .iter()
            .flat_map(|p| p.entries.iter().map(|e| e.seq))
            .collect();
        assert!(!seqs.contains(&3) && !seqs.contains(&5));
    }

    #[test]
    fn at_most_500_records_a_batch() {
        let keys: Vec<String> = (0..700).map(|i| format!("K{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let e = entries(&refs);
        let b = plan(&e, 1);
        assert_eq!(b.len(), MAX_RECORDS);
        assert_eq!(b.last().unwrap().key, "K499");
    }

    #[test]
    fn at_most_5_mib_a_batch() {
        let big: Vec<Entry> = (0..12)
            .map(|i| Entry {
                seq: i,
                key: format!("K{i}"),
                data: vec![b'x'; 512 << 10],
            })
            .collect();
        let b = plan(&big, 1);
        let total: usize = b.iter().map(|p| p.data.len() + p.key.len()).sum();
        assert!(total <= MAX_BATCH_BYTES);
        assert_eq!(b.len(), 9);
    }
}
