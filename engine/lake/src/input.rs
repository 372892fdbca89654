//! Reading records for batch work (`stkc backtest`, `stkc query`): a JSONL or CSV file of
//! records, validated exactly as the pipeline validates them, or a directory of Parquet
//! files with hive partitions (`date=.../symbol=...`), read in path order.

use crate::convert::{SEQ, arrow_schema, to_batch};
use crate::{LakeError, Result};
use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use arrow::record_batch::RecordBatch;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use stk_dsl::ir::{FieldType, Pipeline};
use stk_eval::{Record, Validator};

/// Records read for batch evaluation.
pub struct Input {
    /// Batches in arrival order, each with a `__seq` column.
    pub batches: Vec<RecordBatch>,
    /// Records that failed validation (they never reach alerts in the pipeline either).
    pub rejected: usize,
    pub rows: usize,
}

const CHUNK: usize = 65_536;

pub fn read(p: &Pipeline, path: &Path) -> Result<Input> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    if path.is_dir() || lower.ends_with(".parquet") {
        return read_parquet_dir(p, path);
    }
    let (records, rejected) = if lower.ends_with(".csv") {
        read_csv(p, path)?
    } else {
        read_jsonl(p, path)?
    };
    let rows = records.len();
    let mut batches = Vec::new();
    for (i, chunk) in records.chunks(CHUNK).enumerate() {
        batches.push(to_batch(&p.schema, chunk, Some((i * CHUNK) as i64))?);
    }
    Ok(Input {
        batches,
        rejected,
        rows,
    })
}

fn io(path: &Path, e: std::io::Error) -> LakeError {
    LakeError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// JSON lines: one record per line; blank lines are skipped.
pub fn read_jsonl(p: &Pipeline, path: &Path) -> Result<(Vec<Record>, usize)> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let v = Validator::new(p);
    let mut records = Vec::new();
    let mut rejected = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .map(|j| v.validate_json(&j))
        {
            Some(Ok(r)) => records.push(r),
            _ => rejected += 1,
        }
    }
    Ok((records, rejected))
}

/// CSV with a header row naming the schema's fields; empty cells are null.
pub fn read_csv(p: &Pipeline, path: &Path) -> Result<(Vec<Record>, usize)> {
    let mut reader = csv::Reader::from_path(path)
        .map_err(|e| LakeError::Input(format!("{}: {e}", path.display())))?;
    let headers = reader
        .headers()
        .map_err(|e| LakeError::Input(format!("{}: {e}", path.display())))?
        .clone();
    let v = Validator::new(p);
    let types = csv_types(&p.schema, &headers);
    let mut records = Vec::new();
    let mut rejected = 0;
    for row in reader.records() {
        let Ok(row) = row else {
            rejected += 1;
            continue;
        };
        let obj = csv_object(&headers, &types, &row);
        match v.validate_json(&obj) {
            Ok(r) => records.push(r),
            Err(_) => rejected += 1,
        }
    }
    Ok((records, rejected))
}

/// The schema type of each CSV column (`None` for columns the schema does not have).
pub fn csv_types(
    schema: &stk_dsl::ir::Schema,
    headers: &csv::StringRecord,
) -> Vec<Option<FieldType>> {
    headers
        .iter()
        .map(|h| schema.field(h).map(|f| f.ty))
        .collect()
}

/// One CSV row as the JSON record it stands for: empty cells are null, cells of numeric and
/// boolean columns are parsed (and kept as text when they do not parse, so validation says why).
pub fn csv_object(
    headers: &csv::StringRecord,
    types: &[Option<FieldType>],
    row: &csv::StringRecord,
) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for ((name, cell), ty) in headers.iter().zip(row.iter()).zip(types) {
        let value = match (ty, cell) {
            (_, "") => serde_json::Value::Null,
            (Some(FieldType::Int64), c) => c.parse::<i64>().map_or_else(|_| c.into(), Into::into),
            (Some(FieldType::Float64), c) => c
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or_else(|| c.into(), serde_json::Value::Number),
            (Some(FieldType::Bool), c) => c.parse::<bool>().map_or_else(|_| c.into(), Into::into),
            (_, c) => c.into(),
        };
        obj.insert(name.to_string(), value);
    }
    serde_json::Value::Object(obj)
}

/// Every `*.parquet` below `dir`, sorted by path.
pub fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    files_under(dir, |p| p.extension().is_some_and(|x| x == "parquet"))
}

/// Every file below `dir` that `keep` accepts, sorted by path.
pub fn files_under(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| io(&d, e))? {
            let path = entry.map_err(|e| io(&d, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_parquet_dir(p: &Pipeline, dir: &Path) -> Result<Input> {
    let mut batches = Vec::new();
    let rows = for_each_lake_batch(p, dir, |b| {
        batches.push(b);
        Ok(())
    })?;
    Ok(Input {
        rows,
        batches,
        rejected: 0,
    })
}

/// Every Parquet file below `dir` (a hive-partitioned lake, or one file), batch by batch, in
/// the pipeline schema's columns (partition columns restored from the path) plus `__seq`;
/// returns the number of rows. One batch is in memory at a time.
pub fn for_each_lake_batch(
    p: &Pipeline,
    dir: &Path,
    mut f: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<usize> {
    let mut seq = 0i64;
    for file in parquet_files(dir)? {
        let rel = file
            .strip_prefix(dir)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let file_handle = std::fs::File::open(&file).map_err(|e| io(&file, e))?;
        for_each_object_batch(p, &rel, file_handle, &mut seq, &mut f)?;
    }
    Ok(seq as usize)
}

/// One Parquet object of the lake (`rel_path` like `date=2026-11-27/symbol=AAPL/x.parquet`,
/// from a file or from S3 bytes), batch by batch in the pipeline schema's columns plus
/// `__seq` numbered on from `seq`.
pub fn for_each_object_batch<R: parquet::file::reader::ChunkReader + 'static>(
    p: &Pipeline,
    rel_path: &str,
    reader: R,
    seq: &mut i64,
    f: &mut impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let target = arrow_schema(&p.schema);
    let hive: Vec<(String, String)> = rel_path
        .split('/')
        .filter_map(|c| {
            c.split_once('=')
                .map(|(k, v)| (k.to_string(), crate::partition::unescape(v)))
        })
        .collect();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader)?.build()?;
    for batch in reader {
        let batch = batch?;
        let n = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in target.fields() {
            let col = match batch.column_by_name(field.name()) {
                Some(c) => cast(c, field.data_type())?,
                None => match hive.iter().find(|(k, _)| k == field.name()) {
                    Some((_, v)) => cast(
                        &(Arc::new(StringArray::from(vec![v.as_str(); n])) as ArrayRef),
                        field.data_type(),
                    )?,
                    None => arrow::array::new_null_array(field.data_type(), n),
                },
            };
            columns.push(col);
        }
        columns.push(Arc::new(Int64Array::from_iter_values(
            *seq..*seq + n as i64,
        )));
        *seq += n as i64;
        let mut fields: Vec<Field> = target
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(SEQ, DataType::Int64, false));
        f(RecordBatch::try_new(
            Arc::new(ArrowSchema::new(fields)),
            columns,
        )?)?;
    }
    Ok(())
}

/// The records of batches (for the streaming evaluator).
pub fn records(p: &Pipeline, batches: &[RecordBatch]) -> Vec<Record> {
    let mut out = Vec::new();
    for b in batches {
        for row in 0..b.num_rows() {
            out.push(crate::convert::record_at(&p.schema, b, row));
        }
    }
    out
}
