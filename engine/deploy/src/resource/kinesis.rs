//! Kinesis data stream: capacity (provisioned shards or on demand), retention, and encryption
//! with the AWS-managed key.

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};

pub(super) const STREAM: KindInfo = KindInfo {
    label: "kinesis_stream",
    // Shards (UpdateShardCount), mode (UpdateStreamMode), retention (Increase/Decrease
    // StreamRetentionPeriod) and encryption (StartStreamEncryption) change in place.
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

/// DescribeStreamSummary's `StreamModeDetails.StreamMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamMode {
    Provisioned,
    OnDemand,
}

/// DescribeStreamSummary, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSpec {
    pub mode: StreamMode,
    /// `OpenShardCount` when provisioned; `None` on demand (AWS scales it).
    pub shard_count: Option<u32>,
    pub retention_hours: u32,
    /// `EncryptionType`: `KMS`.
    pub encryption: String,
    /// `KeyId`: `alias/aws/kinesis`, the AWS-managed key (no key policy to manage, and
    /// producers and consumers need no KMS permission for it).
    pub kms_key: String,
}
