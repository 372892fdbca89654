//! Arrow, Parquet and DataFusion for stk pipelines.
//!
//! - [`convert`]: the pipeline schema as an Arrow schema; records to and from record batches.
//! - [`udwf`]: the alert functions as DataFusion window functions (`pct_change`, `prev`,
//!   `stk_avg`, ..., and the `stk_admit` / `stk_fire` state machines). They run the same
//!   state machines as the streaming evaluator (`stk_eval::window`, `admit`, `fire`).
//! - [`batch`]: an alert compiled to a DataFusion plan over record batches.
//! - [`compact`], [`lake_writer`], [`partition`]: raw JSON objects into the partitioned
//!   Parquet lake (decoded on several threads by `decode_pool` when asked).
//! - [`input`]: reading JSONL, CSV and hive-partitioned Parquet into record batches.

#[cfg(feature = "sql")]
pub mod batch;
pub mod compact;
pub mod convert;
mod decode_pool;
pub mod input;
pub mod lake_writer;
pub mod partition;
#[cfg(feature = "sql")]
pub mod query;
#[cfg(feature = "sql")]
pub mod udwf;

#[cfg(feature = "sql")]
pub use batch::BatchEvaluator;

/// Errors of the lake layer.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[cfg(feature = "sql")]
    #[error(transparent)]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Input(String),
    /// A sink fed from the lake (a backfill) failed.
    #[error("{0}")]
    Sink(String),
    #[error("the batch evaluator does not support {0} yet")]
    Unsupported(String),
}

pub type Result<T> = std::result::Result<T, LakeError>;
