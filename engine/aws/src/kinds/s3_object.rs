//! S3 objects (`s3_object`): the files `apply` uploads to the artifacts bucket, under
//! `<pipeline>/` (the Lambda package, the scraper binary and its compiled pipeline).
//!
//! An object is read with HeadObject: the plan compares the base64 SHA-256 kept in its `sha256`
//! metadata, so an unchanged file is never uploaded again. PutObject sends the bytes with the
//! same digest as `ChecksumSHA256`, so S3 rejects a corrupted upload; and before sending, the
//! bytes are checked against the digest the plan was made with (a file rebuilt since then is
//! refused, not deployed unplanned). Objects belong to the pipeline when their bucket does;
//! strays are the keys under `<pipeline>/` in the pipeline's artifacts bucket that the graph
//! no longer has.

use super::Cx;
use super::s3::bucket_tags;
use super::support::{self, invalid, not_a};
use crate::error::{AwsError, not_found, removed, sdk};
use aws_sdk_s3::primitives::ByteStream;
use serde_json::Value;
use stk_deploy::graph::{artifacts, sha256_base64};
use stk_deploy::names::BucketRole;
use stk_deploy::resource::{NAME, ObjectSpec};
use stk_deploy::{Attrs, Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec};

/// The user metadata key holding the content's base64 SHA-256.
const SHA256_METADATA: &str = "sha256";
const ABSENT: &[&str] = &["NotFound", "NoSuchKey", "NoSuchBucket"];

fn object_spec(r: &Resource) -> Result<&ObjectSpec, AwsError> {
    match &r.spec {
        Spec::S3Object(s) => Ok(s),
        _ => Err(not_a(r, "s3_object")),
    }
}

pub async fn read(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let bucket = &object_spec(r)?.bucket;
    // The bucket's tags only once the object exists: without the bucket they are an error.
    let Some(attributes) = head_object(cx, bucket, &r.name).await? else {
        return Ok(None);
    };
    let owner = support::owner(cx, &bucket_tags(cx, bucket).await?);
    Ok(Some(live(attributes, owner)))
}

fn live(attributes: Attrs, owner: Owner) -> LiveResource {
    support::live_of(attributes, stk_deploy::Tags::new(), owner)
}

/// HeadObject: the attributes, `None` when the object (or its bucket) is absent.
async fn head_object(cx: &Cx<'_>, bucket: &str, key: &str) -> Result<Option<Attrs>, AwsError> {
    let head = cx.aws.s3.head_object().bucket(bucket).key(key).send().await;
    let out = match head {
        Ok(out) => out,
        Err(e) if not_found(&e, ABSENT) => return Ok(None),
        Err(e) => return Err(sdk("HeadObject", key, e)),
    };
    let sha256 = out
        .metadata()
        .and_then(|m| m.get(SHA256_METADATA))
        .map_or(Value::Null, |s| Value::String(s.clone()));
    Ok(Some(Attrs::from([
        (NAME.to_string(), Value::String(key.to_string())),
        ("bucket".to_string(), Value::String(bucket.to_string())),
        ("sha256".to_string(), sha256),
    ])))
}

/// The keys under `<pipeline>/` in the pipeline's artifacts bucket, when that bucket is ours.
pub async fn strays(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let Ok(bucket) = cx.graph.names.bucket(BucketRole::Artifacts) else {
        return Ok(Vec::new());
    };
    let mut pages = cx
        .aws
        .s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix(format!("{}/", cx.pipeline))
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(String::from)),
            ),
            Err(e) if not_found(&e, ABSENT) => return Ok(Vec::new()),
            Err(e) => return Err(sdk("ListObjectsV2", &bucket, e)),
        }
    }
    // The objects are ours when the bucket is: its tags are read once.
    if keys.is_empty() || support::owner(cx, &bucket_tags(cx, &bucket).await?) != Owner::Pipeline {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for key in keys {
        let Some(logical) = artifacts::logical(cx.pipeline, &key) else {
            continue;
        };
        if let Some(attributes) = head_object(cx, &bucket, &key).await? {
            let id = ResourceId::new(Kind::S3Object, logical);
            found.push((id, live(attributes, Owner::Pipeline)));
        }
    }
    Ok(found)
}

/// Uploads the file the resource names, after checking it is the one the plan was made with.
pub async fn put(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = object_spec(r)?;
    let Some(bytes) = cx.files.get(&r.id.name) else {
        return Err(invalid(
            &r.name,
            format!("the package has no file for {}", r.id),
        ));
    };
    if sha256_base64(bytes) != spec.sha256 {
        return Err(invalid(
            &r.name,
            "the file changed since the plan was made; run `stkc plan` again",
        ));
    }
    let content_type = match r.name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("zip") => "application/zip",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    cx.aws
        .s3
        .put_object()
        .bucket(&spec.bucket)
        .key(&r.name)
        .content_type(content_type)
        .checksum_sha256(&spec.sha256)
        .metadata(SHA256_METADATA, &spec.sha256)
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .map_err(|e| sdk("PutObject", &r.name, e))?;
    Ok(())
}

pub async fn update(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    put(cx, r).await
}

/// Deletes the object; absent (or its bucket gone) is fine.
pub async fn delete(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let key = support::live_name(live)?;
    let bucket = support::live_str(live, "bucket")?;
    removed(
        cx.aws
            .s3
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await,
        ABSENT,
        "DeleteObject",
        key,
    )
}
