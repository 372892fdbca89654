//! Lambda: the transform, compact and notify functions (one bootstrap, provided.al2023), the
//! Kinesis event source mapping of transform, and the permissions that let S3 invoke compact
//! and notify.

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(super) const FUNCTION: KindInfo = KindInfo {
    label: "lambda_function",
    // Code (UpdateFunctionCode, also the architecture) and configuration
    // (UpdateFunctionConfiguration) change in place.
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

pub(super) const EVENT_SOURCE_MAPPING: KindInfo = KindInfo {
    label: "lambda_event_source_mapping",
    // UpdateEventSourceMapping changes neither the source nor the starting position.
    replace_on: ReplaceOn::Attributes(&["name", "event_source_arn", "starting_position"]),
    // Ownership follows the function's (mapping tags are recent and not in every emulator).
    taggable: false,
};

pub(super) const PERMISSION: KindInfo = KindInfo {
    label: "lambda_permission",
    // A policy statement is added or removed, never edited.
    replace_on: ReplaceOn::AnyChange,
    taggable: false,
};

/// GetFunction's `Configuration`, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// `provided.al2023`.
    pub runtime: String,
    /// `transform`, `compact` or `notify`: the bootstrap dispatches on it.
    pub handler: String,
    /// `Architectures[0]`: `x86_64` or `arm64`, as the bootstrap was built.
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub role_arn: String,
    /// `CodeSha256`: base64 of the SHA-256 of the zip (`stkc package` builds it reproducibly).
    pub code_sha256: String,
    /// `Environment.Variables`.
    pub environment: BTreeMap<String, String>,
    /// `LoggingConfig.LogGroup`.
    pub log_group: String,
}

/// GetEventSourceMapping (found by ListEventSourceMappings on function and source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSourceMappingSpec {
    pub event_source_arn: String,
    /// `TRIM_HORIZON`: records put before the mapping existed are processed too.
    pub starting_position: String,
    pub batch_size: u32,
    pub maximum_batching_window_s: u32,
    pub bisect_batch_on_function_error: bool,
    /// `ReportBatchItemFailures`.
    pub function_response_types: Vec<String>,
    /// `-1`: retried until the record is too old (below).
    pub maximum_retry_attempts: i32,
    pub maximum_record_age_s: i32,
    /// `DestinationConfig.OnFailure.Destination`: the errors bucket.
    pub on_failure_destination: Option<String>,
    /// `State` is `Enabled` (or `Enabling`/`Updating` towards it).
    pub enabled: bool,
}

/// One statement of GetPolicy (the function's resource policy), by its `Sid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionSpec {
    pub function_name: String,
    /// `lambda:InvokeFunction`.
    pub action: String,
    /// `s3.amazonaws.com`.
    pub principal: String,
    /// The bucket whose notifications invoke the function (`aws:SourceArn`).
    pub source_arn: String,
    /// The bucket owner (`aws:SourceAccount`): bucket names are global.
    pub source_account: String,
}
