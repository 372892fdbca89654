//! Firehose: the delivery stream that reads the Kinesis stream and writes raw JSON into the
//! raw bucket, dynamically partitioned (JQ metadata extraction) with the file's buffer.

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};

pub(super) const DELIVERY_STREAM: KindInfo = KindInfo {
    label: "firehose_delivery_stream",
    // The Kinesis source (stream and role) cannot be changed after creation, and neither can
    // dynamic partitioning (AWS allows turning it on only at creation); the rest of the S3
    // destination can (UpdateDestination), which also uses the role.
    replace_on: ReplaceOn::Attributes(&[
        "name",
        "source_stream_arn",
        "role_arn",
        "dynamic_partitioning",
    ]),
    taggable: true,
};

/// The destination's `CompressionFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FirehoseCompression {
    Uncompressed,
    Gzip,
}

/// DescribeDeliveryStream: the Kinesis source and the one extended S3 destination, with its
/// processors folded into the flags below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStreamSpec {
    pub source_stream_arn: String,
    pub role_arn: String,
    pub bucket_arn: String,
    pub prefix: String,
    pub error_output_prefix: String,
    pub buffer_interval_s: u32,
    pub buffer_size_mib: u32,
    pub compression: FirehoseCompression,
    /// `DynamicPartitioningConfiguration.Enabled`.
    pub dynamic_partitioning: bool,
    /// The `MetadataExtraction` processor's JQ query (JQ-1.6); `None` without partitioning.
    pub partition_query: Option<String>,
    /// The `RecordDeAggregation` processor (JSON): a Kinesis record packing several ticks as
    /// JSON lines (`pack > 1`) is split before partitioning.
    pub deaggregate_json: bool,
    /// The `AppendDelimiterToRecord` processor: one record per line in the raw objects.
    pub newline_delimiter: bool,
}
