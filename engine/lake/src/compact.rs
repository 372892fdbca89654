//! Compaction: one raw JSON object (what Firehose delivers, or what `stkc run` writes) into
//! partitioned Parquet, the shared core of the compact Lambda and the local lake. Records are
//! validated on the way; rejects come back as dead letters with their reason. Output names
//! derive from the source object, so a retry overwrites instead of duplicating.

use crate::Result;
use crate::convert::{arrow_schema, to_batch};
use crate::partition;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::io::Read;
use stk_dsl::ir::{LakeSink, ParquetCompression, Pipeline};
use stk_eval::{Record, Rejection, Validator};

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

/// The Parquet writer settings for a lake sink.
pub fn writer_properties(lake: &LakeSink) -> WriterProperties {
    let compression = match lake.compression {
        ParquetCompression::None => Compression::UNCOMPRESSED,
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Gzip => Compression::GZIP(Default::default()),
        ParquetCompression::Lz4 => Compression::LZ4_RAW,
        ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
    };
    WriterProperties::builder()
        .set_compression(compression)
        .set_dictionary_enabled(true)
        .set_created_by("stkc".to_string())
        .build()
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

/// Compact one raw object into lake files.
pub fn compact(
    p: &Pipeline,
    lake: &LakeSink,
    object_name: &str,
    data: &[u8],
) -> Result<CompactOutput> {
    let validator = Validator::new(p);
    let (docs, mut dead_letters) = documents(object_name, data);
    let mut groups: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    let mut records = 0;
    let mut push = |line: Option<usize>, doc: serde_json::Value| match validator.validate_json(&doc)
    {
        Ok(r) => {
            records += 1;
            groups
                .entry(partition::path(&p.schema, &lake.partition, &r))
                .or_default()
                .push(r);
        }
        Err(Rejection { rule, reason, .. }) => {
            dead_letters.push(DeadLetter::new(object_name, rule, reason, doc).at_line(line))
        }
    };
    for (line, doc) in docs {
        // A producer may pack several ticks into one JSON array.
        match doc {
            serde_json::Value::Array(items) => items.into_iter().for_each(|d| push(line, d)),
            d => push(line, d),
        }
    }
    let stem = stem(object_name);
    let files = groups
        .into_iter()
        .map(|(dir, recs)| {
            Ok(LakeFile {
                path: format!("{dir}{stem}.parquet"),
                bytes: parquet_bytes(p, lake, &recs)?,
                rows: recs.len(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CompactOutput {
        files,
        dead_letters,
        records,
    })
}

/// Records as one Parquet file.
///
/// Columns that are plain partition keys (`symbol` in `symbol=AAPL/`) are left out of the
/// file, as Hive, Glue and Athena expect: their value is in the path, and a column in both
/// places is a duplicate to Glue.
pub fn parquet_bytes(p: &Pipeline, lake: &LakeSink, records: &[Record]) -> Result<Vec<u8>> {
    let in_path: Vec<&str> = lake
        .partition
        .iter()
        .filter(|k| k.transform == stk_dsl::ir::PartitionTransform::Identity)
        .map(|k| k.field.as_str())
        .collect();
    let keep: Vec<usize> = p
        .schema
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !in_path.contains(&f.name.as_str()))
        .map(|(i, _)| i)
        .collect();
    let schema = arrow_schema(&p.schema).project(&keep)?;
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(
        &mut buf,
        std::sync::Arc::new(schema),
        Some(writer_properties(lake)),
    )?;
    for chunk in records.chunks(65_536) {
        w.write(&to_batch(&p.schema, chunk, None)?.project(&keep)?)?;
    }
    w.close()?;
    Ok(buf)
}
