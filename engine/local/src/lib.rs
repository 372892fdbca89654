//! Local mode (`stkc run`): a pipeline's sources, validation, an in-process stream, the raw
//! and Parquet sinks on disk, dead letters and alerts, in one process. The lake layout is
//! the one Firehose and the compact Lambda produce on AWS (`raw/date=.../symbol=.../`,
//! `lake/date=.../symbol=.../*.parquet`), written by the same code (`stk_lake::compact`).
//!
//! A run is resumable: after each flush a checkpoint records how far the source was read,
//! and object names are derived from the flush sequence, so an interrupted run rerun
//! continues the lake without duplicating a record.

pub mod cases;
pub mod checkpoint;
pub mod influx;
mod live;
pub mod mail;
mod mapped;
pub mod rebuild;
pub mod replay;
pub mod run;
pub mod sinks;

pub use run::{RunOptions, RunSummary, run};

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Lake(#[from] stk_lake::LakeError),
    #[error("{0}")]
    Config(String),
}

pub type Result<T> = std::result::Result<T, LocalError>;

pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> LocalError {
    LocalError::Io {
        path: path.display().to_string(),
        source,
    }
}
