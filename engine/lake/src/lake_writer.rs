//! Records into the partitioned Parquet lake, column by column: each partition appends its
//! records to typed Arrow builders (no per-record allocation beyond the strings), cuts a
//! batch every [`BATCH_ROWS`] rows, and becomes one Parquet file when the writer finishes.
//! Partitions encode independently, so `finish` spreads them over threads when asked.
//!
//! The same writer serves the compact Lambda, `stkc run`'s lake and `stkc rebuild-lake`,
//! so the three write byte-identical files for the same records in the same order.

use crate::compact::LakeFile;
use crate::convert::arrow_schema;
use crate::partition::{PartKey, Partitioner};
use crate::{LakeError, Result};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Schema as ArrowSchema, SchemaRef};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rustc_hash::FxHashMap;
use std::sync::Arc;
use stk_dsl::ir::{FieldType, LakeSink, ParquetCompression, PartitionTransform, Pipeline};
use stk_eval::{Record, Value};

/// Rows per Arrow batch handed to the Parquet writer.
pub const BATCH_ROWS: usize = 65_536;

/// Rows a partition's builders have room for at first (they grow as needed): small, since a
/// decoding thread's block holds a few rows of each of many partitions.
const ROWS_AT_FIRST: usize = 64;

/// The Parquet writer settings for a lake sink's files: its compression, and dictionary
/// encoding on the string columns only (symbols and currencies repeat; prices, volumes and
/// timestamps hardly ever do within a partition, so a dictionary there is work for nothing).
pub fn writer_properties(lake: &LakeSink, file_schema: &ArrowSchema) -> WriterProperties {
    let compression = match lake.compression {
        ParquetCompression::None => Compression::UNCOMPRESSED,
        ParquetCompression::Snappy => Compression::SNAPPY,
        ParquetCompression::Gzip => Compression::GZIP(Default::default()),
        ParquetCompression::Lz4 => Compression::LZ4_RAW,
        ParquetCompression::Zstd => Compression::ZSTD(ZstdLevel::default()),
    };
    let mut b = WriterProperties::builder()
        .set_compression(compression)
        .set_dictionary_enabled(true)
        .set_created_by("stkc".to_string());
    for f in file_schema.fields() {
        if !matches!(f.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
            b = b.set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), false);
        }
    }
    b.build()
}

/// Builds the lake files of one flush or one raw object.
pub struct LakeWriter {
    partitioner: Partitioner,
    /// The schema fields stored in the files (plain partition keys live in the path only,
    /// as Hive, Glue and Athena expect).
    keep: Vec<usize>,
    file_schema: SchemaRef,
    types: Vec<FieldType>,
    props: WriterProperties,
    parts: FxHashMap<PartKey, Part>,
    /// The current record's partition (a reused buffer).
    key: PartKey,
    rows: usize,
}

struct Part {
    builders: Vec<Column>,
    /// Rows in the builders, not yet cut into a batch.
    pending: usize,
    batches: Vec<RecordBatch>,
    rows: usize,
}

impl LakeWriter {
    pub fn new(p: &Pipeline, lake: &LakeSink) -> Result<Self> {
        let in_path: Vec<&str> = lake
            .partition
            .iter()
            .filter(|k| k.transform == PartitionTransform::Identity)
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
        let file_schema = Arc::new(arrow_schema(&p.schema).project(&keep)?);
        let props = writer_properties(lake, &file_schema);
        Ok(LakeWriter {
            partitioner: Partitioner::new(&p.schema, &lake.partition),
            types: keep.iter().map(|&i| p.schema.fields[i].ty).collect(),
            keep,
            file_schema,
            props,
            parts: FxHashMap::default(),
            key: PartKey::new(),
            rows: 0,
        })
    }

    /// Records added since the last `finish`.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Add one (valid) record to its partition.
    pub fn push(&mut self, r: &Record) -> Result<()> {
        let mut key = std::mem::take(&mut self.key);
        self.partitioner.key_into(r, &mut key);
        let pushed = self.push_keyed(r, &key);
        self.key = key;
        pushed
    }

    /// [`LakeWriter::push`] with the record's key already computed (by a `Partitioner` of the
    /// same keys: a caller that keys another sink the same way computes it once).
    pub fn push_keyed(&mut self, r: &Record, key: &[crate::partition::Part]) -> Result<()> {
        let part = match self.parts.get_mut(key) {
            Some(part) => part,
            None => self.parts.entry(key.to_vec()).or_insert_with(|| Part {
                builders: self.types.iter().map(|t| Column::new(*t)).collect(),
                pending: 0,
                batches: Vec::new(),
                rows: 0,
            }),
        };
        for (b, &i) in part.builders.iter_mut().zip(&self.keep) {
            b.append(&r.values[i]);
        }
        part.rows += 1;
        part.pending += 1;
        self.rows += 1;
        if part.pending >= BATCH_ROWS {
            let batch = finish_batch(&self.file_schema, &mut part.builders, part.pending)?;
            part.batches.push(batch);
            part.pending = 0;
        }
        Ok(())
    }

    /// Every partition's rows so far as batches (with its key and row count); the writer is
    /// empty afterwards. For a decoding thread handing its block back.
    pub(crate) fn take_parts(&mut self) -> Result<Vec<(PartKey, Vec<RecordBatch>, usize)>> {
        self.rows = 0;
        std::mem::take(&mut self.parts)
            .into_iter()
            .map(|(key, mut part)| {
                if part.pending > 0 {
                    let batch = finish_batch(&self.file_schema, &mut part.builders, part.pending)?;
                    part.batches.push(batch);
                }
                Ok((key, part.batches, part.rows))
            })
            .collect()
    }

    /// Rows of a partition decoded elsewhere, after the rows it has.
    pub(crate) fn absorb(
        &mut self,
        key: PartKey,
        batches: Vec<RecordBatch>,
        rows: usize,
    ) -> Result<()> {
        let part = self.parts.entry(key).or_insert_with(|| Part {
            builders: self.types.iter().map(|t| Column::new(*t)).collect(),
            pending: 0,
            batches: Vec::new(),
            rows: 0,
        });
        if part.pending > 0 {
            let batch = finish_batch(&self.file_schema, &mut part.builders, part.pending)?;
            part.batches.push(batch);
            part.pending = 0;
        }
        part.batches.extend(batches);
        part.rows += rows;
        self.rows += rows;
        Ok(())
    }

    /// One Parquet file per partition, `<partition path><stem>.parquet`, in path order,
    /// encoded on up to `threads` threads. The writer is empty afterwards.
    pub fn finish(&mut self, stem: &str, threads: usize) -> Result<Vec<LakeFile>> {
        self.finish_each(stem, threads, Ok)
    }

    /// [`LakeWriter::finish`], each file handed to `sink` on the thread that encoded it, as
    /// soon as it is encoded (a caller writing files to disk overlaps the writes with the
    /// encoding, and holds no more than one file per thread); `sink`'s results in path order.
    pub fn finish_each<T: Send>(
        &mut self,
        stem: &str,
        threads: usize,
        sink: impl Fn(LakeFile) -> Result<T> + Sync,
    ) -> Result<Vec<T>> {
        let mut parts: Vec<(String, Part)> = std::mem::take(&mut self.parts)
            .into_iter()
            .map(|(k, part): (PartKey, Part)| (self.partitioner.path(&k), part))
            .collect();
        self.rows = 0;
        parts.sort_by(|a, b| a.0.cmp(&b.0));
        let encode = |(dir, mut part): (String, Part)| -> Result<T> {
            if part.pending > 0 {
                let batch = finish_batch(&self.file_schema, &mut part.builders, part.pending)?;
                part.batches.push(batch);
            }
            let mut bytes = Vec::new();
            let mut w = ArrowWriter::try_new(
                &mut bytes,
                self.file_schema.clone(),
                Some(self.props.clone()),
            )?;
            // Many small batches (one per decoded block) are joined first: the encoder's
            // fixed cost is per batch.
            if part.batches.len() > 1 && part.rows < part.batches.len() * 1024 {
                let joined = arrow::compute::concat_batches(&self.file_schema, &part.batches)?;
                part.batches = vec![joined];
            }
            for b in &part.batches {
                w.write(b)?;
            }
            w.close()?;
            sink(LakeFile {
                path: format!("{dir}{stem}.parquet"),
                bytes,
                rows: part.rows,
            })
        };
        let threads = threads.clamp(1, parts.len().max(1));
        if threads == 1 {
            return parts.into_iter().map(encode).collect();
        }
        // Partitions dealt round-robin to the threads, results put back in path order.
        let mut hands: Vec<Vec<(usize, (String, Part))>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, part) in parts.into_iter().enumerate() {
            hands[i % threads].push((i, part));
        }
        let mut done: Vec<(usize, Result<T>)> = std::thread::scope(|s| {
            let workers: Vec<_> = hands
                .into_iter()
                .map(|hand| {
                    s.spawn(|| {
                        hand.into_iter()
                            .map(|(i, part)| (i, encode(part)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join().unwrap_or_else(|_| {
                        vec![(
                            0,
                            Err(LakeError::Input("a Parquet encoder thread failed".into())),
                        )]
                    })
                })
                .collect()
        });
        done.sort_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }
}

fn finish_batch(schema: &SchemaRef, builders: &mut [Column], rows: usize) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = builders.iter_mut().map(Column::finish).collect();
    let options = arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &options,
    )?)
}

/// A typed Arrow builder for one column of the schema.
enum Column {
    Str(StringBuilder),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampMicrosecondBuilder),
}

impl Column {
    fn new(t: FieldType) -> Self {
        match t {
            FieldType::String => Column::Str(StringBuilder::with_capacity(ROWS_AT_FIRST, 0)),
            FieldType::Int64 => Column::Int(Int64Builder::with_capacity(ROWS_AT_FIRST)),
            FieldType::Float64 => Column::Float(Float64Builder::with_capacity(ROWS_AT_FIRST)),
            FieldType::Bool => Column::Bool(BooleanBuilder::with_capacity(ROWS_AT_FIRST)),
            FieldType::Timestamp => Column::Ts(
                TimestampMicrosecondBuilder::with_capacity(ROWS_AT_FIRST).with_timezone("UTC"),
            ),
        }
    }

    /// Append a value; anything not of the column's type (only null, for a valid record)
    /// is null.
    fn append(&mut self, v: &Value) {
        match (self, v) {
            (Column::Str(b), Value::Str(s)) => b.append_value(s),
            (Column::Str(b), _) => b.append_null(),
            (Column::Int(b), Value::Int(i)) => b.append_value(*i),
            (Column::Int(b), _) => b.append_null(),
            (Column::Float(b), Value::Float(f)) => b.append_value(*f),
            (Column::Float(b), Value::Int(i)) => b.append_value(*i as f64),
            (Column::Float(b), _) => b.append_null(),
            (Column::Bool(b), Value::Bool(x)) => b.append_value(*x),
            (Column::Bool(b), _) => b.append_null(),
            (Column::Ts(b), Value::Ts(t)) => b.append_value(*t),
            (Column::Ts(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Str(b) => Arc::new(b.finish()),
            Column::Int(b) => Arc::new(b.finish()),
            Column::Float(b) => Arc::new(b.finish()),
            Column::Bool(b) => Arc::new(b.finish()),
            Column::Ts(b) => Arc::new(b.finish()),
        }
    }
}
