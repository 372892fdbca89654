//! S3: the raw, lake, errors and artifacts buckets (public access blocked, default
//! encryption, versioning on raw and lake, a TLS-only bucket policy, lifecycle expiry where the
//! pipeline asks for retention), the bucket notifications that invoke compact and notify, and
//! the objects `apply` uploads to the artifacts bucket (the Lambda package, the scraper and its
//! compiled pipeline).

use super::{KindInfo, ReplaceOn};
use crate::iam::PolicyDocument;
use serde::{Deserialize, Serialize};

pub(super) const BUCKET: KindInfo = KindInfo {
    label: "s3_bucket",
    // Every setting has its own Put call; only the name is fixed.
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

pub(super) const BUCKET_NOTIFICATION: KindInfo = KindInfo {
    label: "s3_bucket_notification",
    // PutBucketNotificationConfiguration replaces the whole configuration in place.
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: false,
};

pub(super) const OBJECT: KindInfo = KindInfo {
    label: "s3_object",
    // New content is a new PutObject under the same key; another key or bucket is another object.
    replace_on: ReplaceOn::Attributes(&["name", "bucket"]),
    // Objects belong to the pipeline when their bucket does.
    taggable: false,
};

/// An uploaded file (its key is the resource's name), known by its content's digest: apply
/// uploads it again exactly when the digest differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectSpec {
    pub bucket: String,
    /// Base64 SHA-256 of the content (as S3's `ChecksumSHA256` and Lambda's `CodeSha256`
    /// print it); HeadObject reads it back from the object's `sha256` metadata.
    pub sha256: String,
}

/// A bucket's settings, each read with its own call and normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BucketSpec {
    /// GetPublicAccessBlock: all four flags true (`false` if any is off or none is set).
    pub block_public_access: bool,
    /// GetBucketEncryption: the default rule's `SSEAlgorithm` (`AES256`).
    pub encryption: String,
    /// GetBucketVersioning: `Enabled` is true; `Suspended` and never-enabled are false.
    pub versioning: bool,
    /// GetBucketLifecycleConfiguration: the rule `stk-retention`'s expiry in days (and, on a
    /// versioned bucket, the same days for noncurrent versions); `None` without that rule.
    pub expire_after_days: Option<u32>,
    /// GetBucketPolicy, normalised (`None`: no policy).
    pub policy: Option<PolicyDocument>,
}

/// GetBucketNotificationConfiguration: the Lambda configurations (queue and topic
/// configurations are not ours and are reported as drift by the reader).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketNotificationSpec {
    pub lambda: Vec<LambdaNotification>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LambdaNotification {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    /// The key filter rules, `None` when absent.
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}
