//! SQL over a lake directory (`stkc query`): the Parquet lake as table `lake` and the raw JSON
//! as table `raw`, with their hive partitions (`date=`, `symbol=`, ...) as columns that
//! DataFusion prunes on, and the alert functions available as window functions.

use crate::{LakeError, Result};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::SessionContext;
use std::path::Path;
use std::sync::Arc;

/// The `k=v` directory levels under `dir`, in order (following the first directory at each level).
fn partition_keys(dir: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut here = dir.to_path_buf();
    loop {
        let Ok(entries) = std::fs::read_dir(&here) else {
            return keys;
        };
        let mut dirs: Vec<_> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        let Some(next) = dirs.into_iter().find(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains('='))
        }) else {
            return keys;
        };
        let name = next
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        keys.push(name.split('=').next().unwrap_or_default().to_string());
        here = next;
    }
}

async fn register(
    ctx: &SessionContext,
    name: &str,
    dir: &Path,
    format: Arc<dyn FileFormat>,
    ext: &str,
) -> Result<bool> {
    if !dir.is_dir() {
        return Ok(false);
    }
    let abs = dir.canonicalize().map_err(|e| LakeError::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    let url = ListingTableUrl::parse(format!("{}/", abs.display()))?;
    // Columns the files themselves carry are not also partition columns.
    let probe = ListingOptions::new(format.clone()).with_file_extension(ext);
    let file_schema = match probe.infer_schema(&ctx.state(), &url).await {
        Ok(s) => s,
        Err(_) => return Ok(false), // no files yet
    };
    let cols: Vec<(String, DataType)> = partition_keys(dir)
        .into_iter()
        .filter(|k| file_schema.field_with_name(k).is_err())
        .map(|k| (k, DataType::Utf8))
        .collect();
    let options = ListingOptions::new(format)
        .with_file_extension(ext)
        .with_table_partition_cols(cols);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(file_schema);
    ctx.register_table(name, Arc::new(ListingTable::try_new(config)?))?;
    Ok(true)
}

/// Register `lake` (DIR/lake, Parquet) and `raw` (DIR/raw, JSON lines) where they exist.
pub async fn register_lake(ctx: &SessionContext, dir: &Path) -> Result<Vec<&'static str>> {
    let mut tables = Vec::new();
    if register(
        ctx,
        "lake",
        &dir.join("lake"),
        Arc::new(ParquetFormat::default()),
        ".parquet",
    )
    .await?
    {
        tables.push("lake");
    }
    if register(
        ctx,
        "raw",
        &dir.join("raw"),
        Arc::new(JsonFormat::default()),
        ".json",
    )
    .await?
    {
        tables.push("raw");
    }
    Ok(tables)
}

/// Run one SQL statement.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(ctx.sql(sql).await?.collect().await?)
}
