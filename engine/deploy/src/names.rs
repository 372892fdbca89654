//! Deterministic AWS names, ARNs and tags of a pipeline's resources: what each resource is
//! called in an account and region. Owns the naming rules only, not what the resources are.
//!
//! Names derive from the pipeline name (`stk-<pipeline>-<suffix>`, `_` written as `-`, the
//! same rule as `Pipeline::aws_name`); S3 bucket names are global, so they also carry the
//! account and region (`stk-<pipeline>-<role>-<account>-<region>`, as `runtime-ec2`'s user
//! data derives the artifacts bucket on the instance).

use crate::resource::Tags;
use serde::{Deserialize, Serialize};
use stk_dsl::ir::{Pipeline, SecretRef, SecretStore};

/// Tag naming the pipeline a resource belongs to.
pub const TAG_PIPELINE: &str = "stk:pipeline";
/// Tag marking a resource as created by stkc.
pub const TAG_MANAGED_BY: &str = "stk:managed-by";
/// The value of [`TAG_MANAGED_BY`].
pub const MANAGED_BY: &str = "stkc";

/// S3 allows bucket names of 3 to 63 characters.
const BUCKET_MAX: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("`{0}` is not an AWS account id (12 digits)")]
    AccountId(String),
    #[error("`{0}` is not an AWS region name")]
    Region(String),
    #[error(
        "the bucket name `{name}` is {len} characters, S3 allows at most 63; shorten the pipeline name"
    )]
    BucketTooLong { name: String, len: usize },
    #[error("`{name}` is not a valid S3 bucket name: {reason}")]
    BadBucket { name: String, reason: &'static str },
}

/// What a bucket holds; also the suffix of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BucketRole {
    /// Firehose's raw JSON (and its error output).
    Raw,
    /// The Parquet lake.
    Lake,
    /// Dead letters of transform and compact, and transform's failed batches.
    Errors,
    /// The scraper binary and its compiled pipeline.
    Artifacts,
}

impl BucketRole {
    pub const fn as_str(self) -> &'static str {
        match self {
            BucketRole::Raw => "raw",
            BucketRole::Lake => "lake",
            BucketRole::Errors => "errors",
            BucketRole::Artifacts => "artifacts",
        }
    }
}

/// The Lambda functions of a pipeline; also their handler setting and name suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionRole {
    Transform,
    Compact,
    Notify,
}

impl FunctionRole {
    pub const ALL: [FunctionRole; 3] = [
        FunctionRole::Transform,
        FunctionRole::Compact,
        FunctionRole::Notify,
    ];

    /// The handler name `runtime-lambda` dispatches on (`_HANDLER`).
    pub const fn as_str(self) -> &'static str {
        match self {
            FunctionRole::Transform => "transform",
            FunctionRole::Compact => "compact",
            FunctionRole::Notify => "notify",
        }
    }
}

/// The names and ARNs of one pipeline in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub pipeline: String,
    pub account_id: String,
    pub region: String,
    /// The ARN partition: `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
}

impl Names {
    pub fn new(pipeline: &Pipeline, account_id: &str, region: &str) -> Result<Names, NameError> {
        if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NameError::AccountId(account_id.to_string()));
        }
        let region_ok = !region.is_empty()
            && region.contains('-')
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(NameError::Region(region.to_string()));
        }
        Ok(Names {
            pipeline: pipeline.name.clone(),
            account_id: account_id.to_string(),
            region: region.to_string(),
            partition: partition_of(region).to_string(),
        })
    }

    /// `stk-<pipeline>-`: every name but the Glue catalog's starts with it.
    pub fn prefix(&self) -> String {
        format!("stk-{}-", self.pipeline).replace('_', "-")
    }

    /// `stk-<pipeline>-<suffix>`, `_` written as `-` (`Pipeline::aws_name`).
    pub fn aws_name(&self, suffix: &str) -> String {
        format!("stk-{}-{}", self.pipeline, suffix).replace('_', "-")
    }

    /// `stk-<pipeline>-<role>-<account>-<region>`, checked against S3's rules.
    pub fn bucket(&self, role: BucketRole) -> Result<String, NameError> {
        let name = format!(
            "{}-{}-{}",
            self.aws_name(role.as_str()),
            self.account_id,
            self.region
        );
        check_bucket_name(&name)?;
        Ok(name)
    }

    pub fn function(&self, f: FunctionRole) -> String {
        self.aws_name(f.as_str())
    }

    /// The function's own log group (Lambda's default name, created by us with retention).
    pub fn log_group(&self, f: FunctionRole) -> String {
        format!("/aws/lambda/{}", self.function(f))
    }

    // ------------------------------------------------------------------ ARNs

    fn arn(&self, service: &str, rest: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{}:{rest}",
            self.partition, self.region, self.account_id
        )
    }

    pub fn stream_arn(&self, name: &str) -> String {
        self.arn("kinesis", &format!("stream/{name}"))
    }

    pub fn delivery_stream_arn(&self, name: &str) -> String {
        self.arn("firehose", &format!("deliverystream/{name}"))
    }

    /// S3 ARNs carry neither region nor account.
    pub fn bucket_arn(&self, bucket: &str) -> String {
        format!("arn:{}:s3:::{bucket}", self.partition)
    }

    /// Objects under `prefix` (empty: every object) of a bucket.
    pub fn objects_arn(&self, bucket: &str, prefix: &str) -> String {
        format!("{}/{prefix}*", self.bucket_arn(bucket))
    }

    /// IAM ARNs carry no region.
    pub fn role_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:role/{name}",
            self.partition, self.account_id
        )
    }

    pub fn instance_profile_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:iam::{}:instance-profile/{name}",
            self.partition, self.account_id
        )
    }

    pub fn function_arn(&self, name: &str) -> String {
        self.arn("lambda", &format!("function:{name}"))
    }

    pub fn log_group_arn(&self, name: &str) -> String {
        self.arn("logs", &format!("log-group:{name}"))
    }

    /// The log streams of a log group (what CreateLogStream and PutLogEvents act on).
    pub fn log_streams_arn(&self, name: &str) -> String {
        format!("{}:log-stream:*", self.log_group_arn(name))
    }

    pub fn topic_arn(&self, name: &str) -> String {
        self.arn("sns", name)
    }

    pub fn glue_catalog_arn(&self) -> String {
        self.arn("glue", "catalog")
    }

    pub fn glue_database_arn(&self, database: &str) -> String {
        self.arn("glue", &format!("database/{database}"))
    }

    pub fn glue_table_arn(&self, database: &str, table: &str) -> String {
        self.arn("glue", &format!("table/{database}/{table}"))
    }

    pub fn glue_crawler_arn(&self, name: &str) -> String {
        self.arn("glue", &format!("crawler/{name}"))
    }

    /// The secret the InfluxDB token is read from. A Secrets Manager ARN ends in `-` and six
    /// random characters AWS picks; `-??????` is the narrowest pattern that matches it.
    pub fn secret_arn(&self, secret: &SecretRef) -> String {
        match secret.store {
            SecretStore::SecretsManager => {
                self.arn("secretsmanager", &format!("secret:{}-??????", secret.name))
            }
            SecretStore::Ssm => self.ssm_parameter_arn(&secret.name),
        }
    }

    /// `parameter/name` for `name`, `parameter/a/b` for `/a/b` (no doubled slash).
    pub fn ssm_parameter_arn(&self, name: &str) -> String {
        let path = name.strip_prefix('/').unwrap_or(name);
        self.arn("ssm", &format!("parameter/{path}"))
    }
}

/// The ARN partition of a region.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The tags every taggable resource carries: the pipeline's own, then stkc's (`stk:` is
/// reserved by the checker, so the pipeline cannot override them).
pub fn tags(pipeline: &Pipeline) -> Tags {
    let mut tags = pipeline.tags.clone();
    tags.insert(TAG_PIPELINE.to_string(), pipeline.name.clone());
    tags.insert(TAG_MANAGED_BY.to_string(), MANAGED_BY.to_string());
    tags
}

/// S3's naming rules for general purpose buckets.
pub fn check_bucket_name(name: &str) -> Result<(), NameError> {
    let bad = |reason| {
        Err(NameError::BadBucket {
            name: name.to_string(),
            reason,
        })
    };
    if name.len() > BUCKET_MAX {
        return Err(NameError::BucketTooLong {
            name: name.to_string(),
            len: name.len(),
        });
    }
    if name.len() < 3 {
        return bad("shorter than 3 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return bad("only lowercase letters, digits, `-` and `.` are allowed");
    }
    let alnum = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !alnum(name.as_bytes().first()) || !alnum(name.as_bytes().last()) {
        return bad("it must begin and end with a letter or digit");
    }
    if name.contains("..") {
        return bad("two adjacent periods");
    }
    if name.starts_with("xn--") || name.ends_with("-s3alias") || name.ends_with("--ol-s3") {
        return bad("a prefix or suffix S3 reserves");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    fn names() -> Names {
        Names::new(
            &testutil::ir(testutil::STOCKS),
            testutil::ACCOUNT,
            testutil::REGION,
        )
        .unwrap()
    }

    #[test]
    fn names_follow_the_pipeline_rule() {
        let ir = testutil::ir(testutil::STOCKS);
        let n = names();
        for suffix in ["ticks", "alerts", "raw", "with_underscore"] {
            assert_eq!(n.aws_name(suffix), ir.aws_name(suffix));
        }
        assert_eq!(n.prefix(), "stk-stocks-");
        assert_eq!(n.function(FunctionRole::Compact), "stk-stocks-compact");
        assert_eq!(
            n.log_group(FunctionRole::Notify),
            "/aws/lambda/stk-stocks-notify"
        );
    }

    #[test]
    fn buckets_are_global_lowercase_and_fit_63() {
        let n = names();
        assert_eq!(
            n.bucket(BucketRole::Artifacts).unwrap(),
            "stk-stocks-artifacts-123456789012-eu-central-1"
        );
        // The longest pipeline name the checker allows, in the longest region name.
        let mut long = n.clone();
        long.pipeline = "a_very_long_pipeline".into();
        assert_eq!(long.pipeline.len(), 20);
        long.region = "ap-southeast-4".into();
        let b = long.bucket(BucketRole::Artifacts).unwrap();
        assert!(b.len() <= 63, "{b}");
        assert!(!b.contains('_'));
        long.pipeline = "an_even_longer_pipeline_name".into();
        assert!(matches!(
            long.bucket(BucketRole::Artifacts),
            Err(NameError::BucketTooLong { .. })
        ));
    }

    #[test]
    fn bucket_rules() {
        assert!(check_bucket_name("stk-a-raw-123456789012-eu-west-1").is_ok());
        for bad in [
            "ab",
            "Upper-case",
            "-lead",
            "trail-",
            "a..b",
            "xn--abc",
            "a_b",
        ] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn arns() {
        let n = names();
        assert_eq!(
            n.stream_arn("stk-stocks-ticks"),
            "arn:aws:kinesis:eu-central-1:123456789012:stream/stk-stocks-ticks"
        );
        assert_eq!(n.bucket_arn("b"), "arn:aws:s3:::b");
        assert_eq!(
            n.objects_arn("b", "transform/"),
            "arn:aws:s3:::b/transform/*"
        );
        assert_eq!(n.role_arn("r"), "arn:aws:iam::123456789012:role/r");
        assert_eq!(
            n.log_streams_arn("/aws/lambda/f"),
            "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/f:log-stream:*"
        );
        let sm = SecretRef {
            store: SecretStore::SecretsManager,
            name: "stocks/influx-token".into(),
        };
        assert_eq!(
            n.secret_arn(&sm),
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:stocks/influx-token-??????"
        );
        let ssm = SecretRef {
            store: SecretStore::Ssm,
            name: "/stocks/influx-token".into(),
        };
        assert_eq!(
            n.secret_arn(&ssm),
            "arn:aws:ssm:eu-central-1:123456789012:parameter/stocks/influx-token"
        );
        assert_eq!(partition_of("cn-north-1"), "aws-cn");
        assert_eq!(partition_of("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn bad_account_and_region() {
        let ir = testutil::ir(testutil::STOCKS);
        assert!(Names::new(&ir, "12345", "eu-central-1").is_err());
        assert!(Names::new(&ir, "123456789012", "EU").is_err());
    }

    #[test]
    fn tags_carry_pipeline_and_stkc() {
        let t = tags(&testutil::ir(testutil::STOCKS));
        assert_eq!(t.get("stk:pipeline").map(String::as_str), Some("stocks"));
        assert_eq!(t.get("stk:managed-by").map(String::as_str), Some("stkc"));
        assert_eq!(t.get("project").map(String::as_str), Some("stocks"));
        assert_eq!(t.get("owner").map(String::as_str), Some("data-team"));
    }
}
