//! CloudWatch Logs log groups (`log_group`, each function's own): read by name
//! (DescribeLogGroups by prefix, the exact name kept; ListTagsForResource) into the
//! `LogGroupSpec` shape; strays under `/aws/lambda/stk-<pipeline>-`; create (tagged) with its
//! retention; converge retention and tags; delete.

use super::Cx;
use super::support::{self, TagChanges, int, invalid, uint};
use crate::error::{AwsError, removed, sdk};
use aws_sdk_cloudwatchlogs::types::LogGroup;
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;
use serde_json::Value;
use stk_deploy::resource::LogGroupSpec;
use stk_deploy::{Kind, LiveResource, Resource, ResourceChange, ResourceId, Spec, Tags};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
const EXISTS: &[&str] = &["ResourceAlreadyExistsException"];
const RETENTION: &str = "retention_days";

/// The log group by its exact name.
pub async fn read(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let found = describe(cx, &r.name).await?;
    match found
        .into_iter()
        .find(|g| g.log_group_name() == Some(r.name.as_str()))
    {
        Some(g) => Ok(Some(live_of(cx, &g).await?)),
        None => Ok(None),
    }
}

/// The pipeline's function log groups (`/aws/lambda/stk-<pipeline>-*`, tagged as ours), by
/// the function they belong to.
pub async fn strays(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let prefix = format!("/aws/lambda/{}", cx.graph.names.prefix());
    let mut found = Vec::new();
    for g in describe(cx, &prefix).await? {
        let Some(logical) = g.log_group_name().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let live = live_of(cx, &g).await?;
        if live.owner == stk_deploy::Owner::Pipeline {
            found.push((ResourceId::new(Kind::LogGroup, logical), live));
        }
    }
    Ok(found)
}

/// Creates the log group with its tags, then sets its retention.
pub async fn create(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let created = cx
        .aws
        .logs
        .create_log_group()
        .log_group_name(&r.name)
        .set_tags(Some(r.tags.clone().into_iter().collect()))
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.code().is_some_and(|c| EXISTS.contains(&c)) => {}
        Err(e) => return Err(sdk("CreateLogGroup", &r.name, e)),
    }
    converge(cx, r).await
}

/// Converges retention and tags against a fresh read.
pub async fn update(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    converge(cx, r).await
}

/// Deletes the log group (and the logs in it); absent is fine.
pub async fn delete(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    removed(
        cx.aws
            .logs
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await,
        NOT_FOUND,
        "DeleteLogGroup",
        name,
    )
}

fn group_spec(r: &Resource) -> Result<&LogGroupSpec, AwsError> {
    match &r.spec {
        Spec::LogGroup(s) => Ok(s),
        _ => Err(support::not_a(r, "log_group")),
    }
}

/// Every log group whose name starts with `prefix`.
async fn describe(cx: &Cx<'_>, prefix: &str) -> Result<Vec<LogGroup>, AwsError> {
    let mut groups = Vec::new();
    let mut pages = cx
        .aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("DescribeLogGroups", prefix, e))?;
        groups.extend(page.log_groups().iter().cloned());
    }
    Ok(groups)
}

/// A described log group with its tags; no retention (logs kept forever) is `null`.
async fn live_of(cx: &Cx<'_>, g: &LogGroup) -> Result<LiveResource, AwsError> {
    let name = g.log_group_name().unwrap_or_default();
    let tags = tags(cx, name).await?;
    let owner = support::owner(cx, &tags);
    let retention = g.retention_in_days();
    let spec = LogGroupSpec {
        retention_days: uint(retention),
    };
    let mut live = support::live(name, Spec::LogGroup(spec), tags, owner);
    if retention.is_none() {
        live.attributes.insert(RETENTION.to_string(), Value::Null);
    }
    Ok(live)
}

async fn tags(cx: &Cx<'_>, name: &str) -> Result<Tags, AwsError> {
    let arn = cx.graph.names.log_group_arn(name);
    let out = cx
        .aws
        .logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| sdk("ListTagsForResource", name, e))?;
    Ok(support::tags_of_map(out.tags()))
}

/// Sets the retention when it differs, then tags and untags.
async fn converge(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = group_spec(r)?;
    let live = read(cx, r).await?.ok_or_else(|| {
        invalid(
            &r.name,
            "the log group disappeared while it was being configured",
        )
    })?;
    if live.attributes.get(RETENTION) != Some(&Value::from(spec.retention_days)) {
        cx.aws
            .logs
            .put_retention_policy()
            .log_group_name(&r.name)
            .retention_in_days(int(spec.retention_days))
            .send()
            .await
            .map_err(|e| sdk("PutRetentionPolicy", &r.name, e))?;
    }
    converge_tags(cx, &r.name, &live.tags, &r.tags).await
}

async fn converge_tags(cx: &Cx<'_>, name: &str, live: &Tags, want: &Tags) -> Result<(), AwsError> {
    let arn = cx.graph.names.log_group_arn(name);
    let tag = async |set: Tags| {
        cx.aws
            .logs
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(set.into_iter().collect()))
            .send()
            .await
            .map_err(|e| sdk("TagResource", name, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        cx.aws
            .logs
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagResource", name, e))?;
        Ok(())
    };
    TagChanges::between(live, want).apply(tag, untag).await
}
