//! S3 buckets (`s3_bucket`) and their notification configurations
//! (`s3_bucket_notification`).
//!
//! A bucket is read by name with one call per setting (HeadBucket, then in parallel
//! GetPublicAccessBlock, GetBucketEncryption, GetBucketVersioning,
//! GetBucketLifecycleConfiguration's `stk-retention` rule, GetBucketPolicy normalised like
//! the desired policies, GetBucketTagging, and ListObjectVersions of one key for
//! `holds_data`); a bucket another account owns reads as unmanaged. Create converges every
//! setting; delete refuses a bucket holding data unless `--force-delete-data`, and then
//! removes the policy first (a TLS-only policy can deny the deletes), every object version
//! and delete marker, and the bucket.
//!
//! A notification configuration is a sub-resource of its bucket (same name, owned by the
//! bucket's owner). Its Lambda configurations are ours: put replaces them and keeps any
//! queue, topic and EventBridge configuration someone else added.

use super::Cx;
use super::support::{self, TagChanges, invalid, not_a};
use crate::error::{AwsError, SdkError, not_found, removed, sdk};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, Delete, Event, ExpirationStatus, FilterRule, FilterRuleName,
    LambdaFunctionConfiguration, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    NoncurrentVersionExpiration, NotificationConfiguration, NotificationConfigurationFilter,
    ObjectIdentifier, PublicAccessBlockConfiguration, S3KeyFilter, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use stk_deploy::iam::normalise_document;
use stk_deploy::names::BucketRole;
use stk_deploy::resource::{BucketNotificationSpec, BucketSpec, LambdaNotification};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

/// The lifecycle rule stkc owns; other rules on the bucket are kept.
const RETENTION_RULE: &str = "stk-retention";
const NO_BUCKET: &[&str] = &["NoSuchBucket"];
/// DeleteObjects takes at most 1,000 keys.
const DELETE_BATCH: i32 = 1000;
/// The region whose buckets take no LocationConstraint.
const US_EAST_1: &str = "us-east-1";

// ------------------------------------------------------------------ buckets

/// The bucket by its name, every setting in the spec's shape, and `holds_data`.
pub async fn read_bucket(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    read_bucket_named(cx, &r.name).await
}

/// The pipeline's buckets (`stk-<pipeline>-<role>-<account>-<region>`, tagged as ours), by
/// role.
pub async fn stray_buckets(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    ours_by_role(cx, Kind::S3Bucket, async |name| {
        read_bucket_named(cx, name).await
    })
    .await
}

/// Creates the bucket (with a LocationConstraint outside us-east-1), waits until it answers,
/// then sets public access block, encryption, versioning, lifecycle, policy and tags.
pub async fn create_bucket(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = bucket_spec(r)?;
    let mut req = cx.aws.s3.create_bucket().bucket(&r.name);
    if cx.aws.region != US_EAST_1 {
        let location = BucketLocationConstraint::from(cx.aws.region.as_str());
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(location)
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => return Err(sdk("CreateBucket", &r.name, e)),
    }
    let live = support::wait_for(&r.name, "available", support::WAIT, || {
        Box::pin(read_bucket_named(cx, &r.name))
    })
    .await?;
    converge_bucket(cx, r, spec, &live).await
}

/// Converges every setting that differs from `live` (the caller's fresh read).
pub async fn update_bucket(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    converge_bucket(cx, r, bucket_spec(r)?, live).await
}

/// Deletes the bucket. One holding objects is refused unless `--force-delete-data`; then
/// the policy goes first, then every object version and delete marker, then the bucket.
/// Absent is fine.
pub async fn delete_bucket(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    let holds = match holds_data(cx, name).await {
        Ok(h) => h,
        Err(e) if e.is(NO_BUCKET) => return Ok(()),
        Err(e) => return Err(e),
    };
    if holds && !cx.force_delete_data {
        return Err(invalid(
            name,
            "the bucket holds objects; `stkc destroy --force-delete-data` deletes them with the \
             bucket (they cannot be recovered)",
        ));
    }
    delete_policy(cx, name).await?;
    empty(cx, name).await?;
    removed(
        cx.aws.s3.delete_bucket().bucket(name).send().await,
        NO_BUCKET,
        "DeleteBucket",
        name,
    )
}

fn bucket_spec(r: &Resource) -> Result<&BucketSpec, AwsError> {
    match &r.spec {
        Spec::S3Bucket(s) => Ok(s),
        _ => Err(not_a(r, "s3_bucket")),
    }
}

/// What HeadBucket says about a name.
enum Head {
    Absent,
    /// Ours to read.
    Readable,
    /// Another account's (403), or in another region (301): not stkc's to touch.
    Foreign,
}

async fn head(cx: &Cx<'_>, name: &str) -> Result<Head, AwsError> {
    match cx.aws.s3.head_bucket().bucket(name).send().await {
        Ok(_) => Ok(Head::Readable),
        Err(e) => match status(&e) {
            Some(404) => Ok(Head::Absent),
            Some(301 | 403) => Ok(Head::Foreign),
            _ => Err(sdk("HeadBucket", name, e)),
        },
    }
}

fn status<E>(e: &SdkError<E>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A name someone else holds: unmanaged, with nothing but its name (the diff reports it).
fn foreign(name: &str) -> LiveResource {
    let attributes = stk_deploy::Attrs::from([(
        stk_deploy::resource::NAME.to_string(),
        Value::String(name.to_string()),
    )]);
    support::live_of(attributes, Tags::new(), Owner::Unmanaged)
}

async fn read_bucket_named(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    match head(cx, name).await? {
        Head::Absent => return Ok(None),
        Head::Foreign => return Ok(Some(foreign(name))),
        Head::Readable => {}
    }
    // Boxed: seven SDK futures side by side overflow a 2 MiB stack in debug builds.
    let (block_public_access, encryption, versioning, rules, policy, tags, holds) = tokio::try_join!(
        Box::pin(public_access_blocked(cx, name)),
        Box::pin(encryption(cx, name)),
        Box::pin(versioning(cx, name)),
        Box::pin(lifecycle_rules(cx, name)),
        Box::pin(policy(cx, name)),
        Box::pin(bucket_tags(cx, name)),
        Box::pin(holds_data(cx, name)),
    )?;
    let spec = BucketSpec {
        block_public_access,
        encryption,
        versioning,
        expire_after_days: retention_days(&rules),
        policy: None,
    };
    let owner = support::owner(cx, &tags);
    let mut live = support::live(name, Spec::S3Bucket(spec), tags, owner);
    // The normalised JSON as is: a document stkc would not write still compares (unequal).
    live.attributes.insert("policy".to_string(), policy);
    live.holds_data = Some(holds);
    Ok(Some(live))
}

/// A read that answers "not configured" with one of `codes`: the default instead.
fn or_default<T: Default, E>(
    result: Result<T, SdkError<E>>,
    codes: &[&str],
    op: &'static str,
    name: &str,
) -> Result<T, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(v) => Ok(v),
        Err(e) if e.code().is_some_and(|c| codes.contains(&c)) => Ok(T::default()),
        Err(e) => Err(sdk(op, name, e)),
    }
}

/// All four block flags on.
async fn public_access_blocked(cx: &Cx<'_>, name: &str) -> Result<bool, AwsError> {
    let out = cx
        .aws
        .s3
        .get_public_access_block()
        .bucket(name)
        .send()
        .await;
    let blocked = out.map(|o| {
        o.public_access_block_configuration().is_some_and(|c| {
            [
                c.block_public_acls(),
                c.ignore_public_acls(),
                c.block_public_policy(),
                c.restrict_public_buckets(),
            ]
            .iter()
            .all(|f| *f == Some(true))
        })
    });
    or_default(
        blocked,
        &["NoSuchPublicAccessBlockConfiguration"],
        "GetPublicAccessBlock",
        name,
    )
}

/// The default rule's algorithm (`AES256`); empty without default encryption.
async fn encryption(cx: &Cx<'_>, name: &str) -> Result<String, AwsError> {
    let out = cx.aws.s3.get_bucket_encryption().bucket(name).send().await;
    let algorithm = out.map(|o| {
        o.server_side_encryption_configuration()
            .and_then(|c| c.rules().first())
            .and_then(|r| r.apply_server_side_encryption_by_default())
            .map(|d| d.sse_algorithm().as_str().to_string())
            .unwrap_or_default()
    });
    or_default(
        algorithm,
        &["ServerSideEncryptionConfigurationNotFoundError"],
        "GetBucketEncryption",
        name,
    )
}

async fn versioning(cx: &Cx<'_>, name: &str) -> Result<bool, AwsError> {
    let out = cx
        .aws
        .s3
        .get_bucket_versioning()
        .bucket(name)
        .customize()
        .interceptor(MotoXmlRoot::VERSIONING)
        .send()
        .await
        .map_err(|e| sdk("GetBucketVersioning", name, e))?;
    Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
}

async fn lifecycle_rules(cx: &Cx<'_>, name: &str) -> Result<Vec<LifecycleRule>, AwsError> {
    let out = cx
        .aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await;
    or_default(
        out.map(|o| o.rules.unwrap_or_default()),
        &["NoSuchLifecycleConfiguration"],
        "GetBucketLifecycleConfiguration",
        name,
    )
}

/// The enabled `stk-retention` rule's expiry in days.
fn retention_days(rules: &[LifecycleRule]) -> Option<u32> {
    rules
        .iter()
        .find(|r| r.id() == Some(RETENTION_RULE) && *r.status() == ExpirationStatus::Enabled)
        .and_then(|r| r.expiration())
        .and_then(|e| e.days())
        .and_then(|d| u32::try_from(d).ok())
}

/// The policy through `normalise_document` (unparsable text as a string); `null` without.
async fn policy(cx: &Cx<'_>, name: &str) -> Result<Value, AwsError> {
    let out = cx.aws.s3.get_bucket_policy().bucket(name).send().await;
    let text = or_default(
        out.map(|o| o.policy),
        &["NoSuchBucketPolicy"],
        "GetBucketPolicy",
        name,
    )?;
    Ok(match text {
        None => Value::Null,
        Some(t) => match serde_json::from_str::<Value>(&t) {
            Ok(doc) => normalise_document(&doc),
            Err(_) => Value::String(t),
        },
    })
}

pub(super) async fn bucket_tags(cx: &Cx<'_>, name: &str) -> Result<Tags, AwsError> {
    let out = cx.aws.s3.get_bucket_tagging().bucket(name).send().await;
    let tags = out.map(|o| {
        o.tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect::<Tags>()
    });
    or_default(tags, &["NoSuchTagSet"], "GetBucketTagging", name)
}

/// Whether any object version or delete marker is left (ListObjectVersions of one key), not
/// counting, in the artifacts bucket, the pipeline's own files under `<pipeline>/` (apply put
/// them there and they go with the bucket).
async fn holds_data(cx: &Cx<'_>, name: &str) -> Result<bool, AwsError> {
    let artifacts = cx.graph.names.bucket(BucketRole::Artifacts).ok();
    let ours = (artifacts.as_deref() == Some(name)).then(|| format!("{}/", cx.pipeline));
    let out = cx
        .aws
        .s3
        .list_object_versions()
        .bucket(name)
        .max_keys(if ours.is_some() { DELETE_BATCH } else { 1 })
        .send()
        .await
        .map_err(|e| sdk("ListObjectVersions", name, e))?;
    let mut keys = out
        .versions()
        .iter()
        .filter_map(|v| v.key())
        .chain(out.delete_markers().iter().filter_map(|m| m.key()));
    Ok(match ours {
        None => keys.next().is_some(),
        Some(prefix) => out.is_truncated() == Some(true) || keys.any(|k| !k.starts_with(&prefix)),
    })
}

/// The buckets named like this pipeline's in this account and region, with their role.
async fn pipeline_buckets(cx: &Cx<'_>) -> Result<Vec<(String, String)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let suffix = format!("-{}-{}", cx.aws.account_id, cx.aws.region);
    let mut found = Vec::new();
    let mut pages = cx
        .aws
        .s3
        .list_buckets()
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListBuckets", prefix.clone(), e))?;
        for name in page.buckets().iter().filter_map(|b| b.name()) {
            let role = name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(&suffix));
            if let Some(role) = role.filter(|r| !r.is_empty()) {
                found.push((role.to_string(), name.to_string()));
            }
        }
    }
    Ok(found)
}

/// What `read` finds of each bucket named like this pipeline's ([`pipeline_buckets`]) and
/// tagged as ours, as a resource of `kind` named by the bucket's role.
async fn ours_by_role(
    cx: &Cx<'_>,
    kind: Kind,
    read: impl AsyncFn(&str) -> Result<Option<LiveResource>, AwsError>,
) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for (role, name) in pipeline_buckets(cx).await? {
        if let Some(live) = read(&name).await?
            && live.owner == Owner::Pipeline
        {
            found.push((ResourceId::new(kind, role), live));
        }
    }
    Ok(found)
}

/// Puts each setting whose live value differs from the spec (and the tags).
async fn converge_bucket(
    cx: &Cx<'_>,
    r: &Resource,
    spec: &BucketSpec,
    live: &LiveResource,
) -> Result<(), AwsError> {
    let want = r.attributes();
    let differs =
        |attr: &str| want.get(attr) != Some(live.attributes.get(attr).unwrap_or(&Value::Null));
    let name = r.name.as_str();
    if differs("block_public_access") {
        put_public_access_block(cx, name, spec.block_public_access).await?;
    }
    if differs("encryption") {
        put_encryption(cx, name, &spec.encryption).await?;
    }
    if differs("versioning") {
        put_versioning(cx, name, spec.versioning).await?;
    }
    // Noncurrent versions expire with the rule only on a versioned bucket.
    if differs("expire_after_days") || differs("versioning") {
        put_lifecycle(cx, name, spec).await?;
    }
    if differs("policy") {
        put_policy(cx, name, want.get("policy").unwrap_or(&Value::Null)).await?;
    }
    if !TagChanges::between(&live.tags, &r.tags).is_empty() {
        put_tags(cx, name, &r.tags).await?;
    }
    Ok(())
}

async fn put_public_access_block(cx: &Cx<'_>, name: &str, block: bool) -> Result<(), AwsError> {
    if !block {
        return cx
            .aws
            .s3
            .delete_public_access_block()
            .bucket(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("DeletePublicAccessBlock", name, e));
    }
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    cx.aws
        .s3
        .put_public_access_block()
        .bucket(name)
        .public_access_block_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutPublicAccessBlock", name, e))
}

async fn put_encryption(cx: &Cx<'_>, name: &str, algorithm: &str) -> Result<(), AwsError> {
    let default = support::built(
        name,
        ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(algorithm))
            .build(),
    )?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .build();
    let config = support::built(
        name,
        ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build(),
    )?;
    cx.aws
        .s3
        .put_bucket_encryption()
        .bucket(name)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketEncryption", name, e))
}

/// `Enabled`, or `Suspended` (a bucket once versioned cannot go back to never-versioned).
async fn put_versioning(cx: &Cx<'_>, name: &str, enabled: bool) -> Result<(), AwsError> {
    let status = if enabled {
        BucketVersioningStatus::Enabled
    } else {
        BucketVersioningStatus::Suspended
    };
    cx.aws
        .s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketVersioning", name, e))
}

/// Replaces the `stk-retention` rule (or removes it), keeping every other rule; no rule
/// left deletes the configuration.
async fn put_lifecycle(cx: &Cx<'_>, name: &str, spec: &BucketSpec) -> Result<(), AwsError> {
    let mut rules: Vec<LifecycleRule> = lifecycle_rules(cx, name)
        .await?
        .into_iter()
        .filter(|r| r.id() != Some(RETENTION_RULE))
        .collect();
    if let Some(days) = spec.expire_after_days {
        rules.push(retention_rule(name, days, spec.versioning)?);
    }
    if rules.is_empty() {
        return cx
            .aws
            .s3
            .delete_bucket_lifecycle()
            .bucket(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("DeleteBucketLifecycle", name, e));
    }
    let config = support::built(
        name,
        BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build(),
    )?;
    cx.aws
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketLifecycleConfiguration", name, e))
}

/// Every object expires `days` after it was written; on a versioned bucket, a version also
/// `days` after it stopped being current.
fn retention_rule(name: &str, days: u32, versioned: bool) -> Result<LifecycleRule, AwsError> {
    let days = support::int(days);
    let mut rule = LifecycleRule::builder()
        .id(RETENTION_RULE)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(days).build());
    if versioned {
        rule = rule.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    support::built(name, rule.build())
}

async fn put_policy(cx: &Cx<'_>, name: &str, policy: &Value) -> Result<(), AwsError> {
    if policy.is_null() {
        return delete_policy(cx, name).await;
    }
    cx.aws
        .s3
        .put_bucket_policy()
        .bucket(name)
        .policy(policy.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketPolicy", name, e))
}

async fn delete_policy(cx: &Cx<'_>, name: &str) -> Result<(), AwsError> {
    removed(
        cx.aws.s3.delete_bucket_policy().bucket(name).send().await,
        NO_BUCKET,
        "DeleteBucketPolicy",
        name,
    )
}

/// PutBucketTagging replaces the whole set; no tags deletes it.
async fn put_tags(cx: &Cx<'_>, name: &str, tags: &Tags) -> Result<(), AwsError> {
    if tags.is_empty() {
        return cx
            .aws
            .s3
            .delete_bucket_tagging()
            .bucket(name)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk("DeleteBucketTagging", name, e));
    }
    let set = support::built_tags(name, tags, |k, v| Tag::builder().key(k).value(v).build())?;
    let tagging = support::built(name, Tagging::builder().set_tag_set(Some(set)).build())?;
    cx.aws
        .s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketTagging", name, e))
}

/// Deletes every object version and delete marker, 1,000 at a time, listing from the start
/// after each batch until nothing is left.
async fn empty(cx: &Cx<'_>, name: &str) -> Result<(), AwsError> {
    loop {
        let out = cx
            .aws
            .s3
            .list_object_versions()
            .bucket(name)
            .max_keys(DELETE_BATCH)
            .send()
            .await
            .map_err(|e| sdk("ListObjectVersions", name, e))?;
        let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = out
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let objects = versions
            .chain(markers)
            .filter_map(|(key, version)| {
                key.map(|k| {
                    support::built(
                        name,
                        ObjectIdentifier::builder()
                            .key(k)
                            .set_version_id(version.map(str::to_string))
                            .build(),
                    )
                })
            })
            .collect::<Result<Vec<_>, AwsError>>()?;
        if objects.is_empty() {
            return Ok(());
        }
        delete_objects(cx, name, objects).await?;
    }
}

async fn delete_objects(
    cx: &Cx<'_>,
    name: &str,
    objects: Vec<ObjectIdentifier>,
) -> Result<(), AwsError> {
    let delete = support::built(
        name,
        Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build(),
    )?;
    let out = cx
        .aws
        .s3
        .delete_objects()
        .bucket(name)
        .delete(delete)
        .send()
        .await
        .map_err(|e| sdk("DeleteObjects", name, e))?;
    match out.errors().first() {
        None => Ok(()),
        Some(err) => Err(AwsError::Call {
            operation: "DeleteObjects",
            resource: format!("{name}/{}", err.key().unwrap_or_default()),
            code: err.code().map(str::to_string),
            message: err
                .message()
                .unwrap_or("the object was not deleted")
                .to_string(),
        }),
    }
}

// ------------------------------------------------------------ notifications

/// The bucket's Lambda notification configurations; `None` when the bucket is gone or has
/// none.
pub async fn read_notification(
    cx: &Cx<'_>,
    r: &Resource,
) -> Result<Option<LiveResource>, AwsError> {
    read_notification_named(cx, &r.name).await
}

/// The notification configurations of the pipeline's buckets, by the bucket's role.
pub async fn stray_notifications(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let read = async |name: &str| read_notification_named(cx, name).await;
    ours_by_role(cx, Kind::S3BucketNotification, read).await
}

/// Replaces the bucket's Lambda configurations with the spec's, keeping the others.
pub async fn put_notification(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = match &r.spec {
        Spec::S3BucketNotification(s) => s,
        _ => return Err(not_a(r, "s3_bucket_notification")),
    };
    let lambda = spec
        .lambda
        .iter()
        .map(|n| lambda_configuration(&r.name, n))
        .collect::<Result<Vec<_>, AwsError>>()?;
    put_lambda_configurations(cx, &r.name, lambda).await
}

/// Removes the bucket's Lambda configurations, keeping the others; no bucket is fine.
pub async fn delete_notification(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    match put_lambda_configurations(cx, name, Vec::new()).await {
        Err(e) if e.is(NO_BUCKET) => Ok(()),
        other => other,
    }
}

/// GetBucketNotificationConfiguration, also when moto names the XML root its own way.
async fn get_notifications(
    cx: &Cx<'_>,
    name: &str,
) -> Result<
    aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationOutput,
    SdkError<aws_sdk_s3::operation::get_bucket_notification_configuration::GetBucketNotificationConfigurationError>,
>{
    cx.aws
        .s3
        .get_bucket_notification_configuration()
        .bucket(name)
        .customize()
        .interceptor(MotoXmlRoot::NOTIFICATION)
        .send()
        .await
}

async fn read_notification_named(
    cx: &Cx<'_>,
    name: &str,
) -> Result<Option<LiveResource>, AwsError> {
    let out = match get_notifications(cx, name).await {
        Ok(out) => out,
        Err(e) if not_found(&e, NO_BUCKET) => return Ok(None),
        Err(e) if status(&e) == Some(403) => return Ok(Some(foreign(name))),
        Err(e) => return Err(sdk("GetBucketNotificationConfiguration", name, e)),
    };
    let mut lambda: Vec<LambdaNotification> = out
        .lambda_function_configurations()
        .iter()
        .map(notification_of)
        .collect();
    if lambda.is_empty() {
        return Ok(None);
    }
    lambda.sort_by(|a, b| a.id.cmp(&b.id));
    let owner = support::owner(cx, &bucket_tags(cx, name).await?);
    let spec = BucketNotificationSpec { lambda };
    Ok(Some(support::live(
        name,
        Spec::S3BucketNotification(spec),
        Tags::new(),
        owner,
    )))
}

/// A configuration in the spec's shape; AWS writes the rule names `Prefix`/`Suffix`.
fn notification_of(c: &LambdaFunctionConfiguration) -> LambdaNotification {
    let rules = c
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default();
    let rule = |wanted: &str| {
        rules
            .iter()
            .find(|r| {
                r.name()
                    .is_some_and(|n| n.as_str().eq_ignore_ascii_case(wanted))
            })
            .and_then(|r| r.value())
            .map(str::to_string)
    };
    LambdaNotification {
        id: c.id().unwrap_or_default().to_string(),
        function_arn: c.lambda_function_arn().to_string(),
        events: c.events().iter().map(|e| e.as_str().to_string()).collect(),
        prefix: rule("prefix"),
        suffix: rule("suffix"),
    }
}

fn lambda_configuration(
    bucket: &str,
    n: &LambdaNotification,
) -> Result<LambdaFunctionConfiguration, AwsError> {
    let rule = |name: FilterRuleName, value: &Option<String>| {
        value
            .as_ref()
            .map(|v| FilterRule::builder().name(name).value(v).build())
    };
    let rules: Vec<FilterRule> = [
        rule(FilterRuleName::Prefix, &n.prefix),
        rule(FilterRuleName::Suffix, &n.suffix),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut c = LambdaFunctionConfiguration::builder()
        .id(&n.id)
        .lambda_function_arn(&n.function_arn)
        .set_events(Some(
            n.events.iter().map(|e| Event::from(e.as_str())).collect(),
        ));
    if !rules.is_empty() {
        let key = S3KeyFilter::builder().set_filter_rules(Some(rules)).build();
        c = c.filter(NotificationConfigurationFilter::builder().key(key).build());
    }
    support::built(bucket, c.build())
}

/// Puts the bucket's notification configuration with these Lambda configurations and the
/// live queue, topic and EventBridge ones.
async fn put_lambda_configurations(
    cx: &Cx<'_>,
    name: &str,
    lambda: Vec<LambdaFunctionConfiguration>,
) -> Result<(), AwsError> {
    let live = get_notifications(cx, name)
        .await
        .map_err(|e| sdk("GetBucketNotificationConfiguration", name, e))?;
    let config = NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(lambda))
        .set_queue_configurations(live.queue_configurations.clone())
        .set_topic_configurations(live.topic_configurations.clone())
        .set_event_bridge_configuration(live.event_bridge_configuration.clone())
        .build();
    cx.aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(name)
        .notification_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| sdk("PutBucketNotificationConfiguration", name, e))
}

// ------------------------------------------------------------- moto's XML

/// moto 5.2.5 writes some S3 answers under a root element named after the operation
/// (`<GetBucketVersioningResponse>`, and `<GetBucketNotificationResponse>` when no
/// notification is configured) where AWS writes the output's own element
/// (`<VersioningConfiguration>`, `<NotificationConfiguration>`); the SDK rejects the body.
/// When the SDK failed on a 200 whose root is moto's, this renames the root and lets the
/// SDK's own deserializer read it again. Against AWS it never acts.
#[derive(Debug)]
struct MotoXmlRoot {
    moto: &'static str,
    aws: &'static str,
}

impl MotoXmlRoot {
    const VERSIONING: MotoXmlRoot = MotoXmlRoot {
        moto: "GetBucketVersioningResponse",
        aws: "VersioningConfiguration",
    };
    const NOTIFICATION: MotoXmlRoot = MotoXmlRoot {
        moto: "GetBucketNotificationResponse",
        aws: "NotificationConfiguration",
    };

    /// The body with the root renamed, when it is a 200 under moto's root.
    fn fixed(&self, response: &HttpResponse) -> Option<String> {
        let text = std::str::from_utf8(response.body().bytes()?).ok()?;
        let open = format!("<{}", self.moto);
        if response.status().as_u16() != 200 || !text.contains(&open) {
            return None;
        }
        Some(text.replacen(&open, &format!("<{}", self.aws), 1).replacen(
            &format!("</{}>", self.moto),
            &format!("</{}>", self.aws),
            1,
        ))
    }
}

impl Intercept for MotoXmlRoot {
    fn name(&self) -> &'static str {
        "MotoXmlRoot"
    }

    fn modify_before_attempt_completion(
        &self,
        ctx: &mut FinalizerInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if !matches!(ctx.output_or_error(), Some(Err(_))) {
            return Ok(());
        }
        let cfg: &ConfigBag = cfg;
        let Some(deserializer) = cfg.load::<SharedResponseDeserializer>() else {
            return Ok(());
        };
        let Some(response) = ctx.response_mut() else {
            return Ok(());
        };
        let Some(body) = self.fixed(response) else {
            return Ok(());
        };
        *response.body_mut() = SdkBody::from(body);
        let again = deserializer.deserialize_nonstreaming_with_config(response, cfg);
        if let Some(slot) = ctx.output_or_error_mut() {
            *slot = again;
        }
        Ok(())
    }
}
