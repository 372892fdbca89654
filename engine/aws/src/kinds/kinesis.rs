//! Kinesis data streams (`kinesis_stream`): read by name (DescribeStreamSummary,
//! ListTagsForStream) into the `StreamSpec` shape; strays by ListStreams and the pipeline's
//! name prefix; create; converge capacity mode, shard count (UpdateShardCount at most doubles
//! or halves the open shards per call, so it steps), retention, encryption and tags in place,
//! waiting for `ACTIVE` after every change; delete, waiting until the stream is gone.

use super::Cx;
use super::support::{self, TagChanges, int, invalid, uint};
use crate::error::{AwsError, not_found, sdk};
use aws_sdk_kinesis::types::{
    EncryptionType, StreamDescriptionSummary, StreamMode as AwsStreamMode, StreamModeDetails,
    StreamStatus,
};
use std::time::Duration;
use stk_deploy::resource::{StreamMode, StreamSpec};
use stk_deploy::{Kind, LiveResource, Resource, ResourceChange, ResourceId, Spec, Tags};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];
/// Resharding and encryption changes take minutes on AWS.
const WAIT: Duration = Duration::from_secs(600);
/// The stream's logical name: one stream per pipeline.
const LOGICAL: &str = "stream";
/// AddTagsToStream and RemoveTagsFromStream take at most 10 tags a call.
const TAGS_PER_CALL: usize = 10;
/// UpdateShardCount calls a converge may make (each at most doubles or halves).
const MAX_RESHARD_STEPS: usize = 16;

/// The stream by its name; `None` when absent or being deleted.
pub async fn read(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    read_named(cx, &r.name).await
}

/// The pipeline's streams (name prefix `stk-<pipeline>-`, tagged as ours).
pub async fn strays(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let mut found = Vec::new();
    let mut pages = cx.aws.kinesis.list_streams().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListStreams", prefix.clone(), e))?;
        for name in page
            .stream_names()
            .iter()
            .filter(|n| n.starts_with(&prefix))
        {
            if let Some(live) = read_named(cx, name).await?
                && live.owner == stk_deploy::Owner::Pipeline
            {
                found.push((ResourceId::new(Kind::KinesisStream, LOGICAL), live));
            }
        }
    }
    Ok(found)
}

/// Creates the stream (tagged), then converges every setting; waits for `ACTIVE`.
pub async fn create(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = stream_spec(r)?;
    let exists = match describe(cx, &r.name).await? {
        Some(s) if *s.stream_status() == StreamStatus::Deleting => {
            wait_gone(cx, &r.name).await?;
            false
        }
        found => found.is_some(),
    };
    if !exists {
        let mut req = cx
            .aws
            .kinesis
            .create_stream()
            .stream_name(&r.name)
            .stream_mode_details(mode_details(&r.name, spec.mode)?)
            .set_tags(Some(r.tags.clone().into_iter().collect()));
        if let (StreamMode::Provisioned, Some(shards)) = (spec.mode, spec.shard_count) {
            req = req.shard_count(int(shards));
        }
        req.send()
            .await
            .map_err(|e| sdk("CreateStream", &r.name, e))?;
    }
    converge(cx, r, spec).await
}

/// Converges mode, shards, retention, encryption and tags against a fresh read.
pub async fn update(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    converge(cx, r, stream_spec(r)?).await
}

/// Deletes the stream (and its consumers) and waits until it is gone; absent is fine.
pub async fn delete(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    let deleted = cx
        .aws
        .kinesis
        .delete_stream()
        .stream_name(name)
        .enforce_consumer_deletion(true)
        .send()
        .await;
    match deleted {
        Ok(_) => {}
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(sdk("DeleteStream", name, e)),
    }
    wait_gone(cx, name).await
}

async fn wait_gone(cx: &Cx<'_>, name: &str) -> Result<(), AwsError> {
    support::wait_gone(name, WAIT, || describe(cx, name)).await
}

fn stream_spec(r: &Resource) -> Result<&StreamSpec, AwsError> {
    match &r.spec {
        Spec::KinesisStream(s) => Ok(s),
        _ => Err(support::not_a(r, "kinesis_stream")),
    }
}

async fn read_named(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    let Some(s) = describe(cx, name).await? else {
        return Ok(None);
    };
    if *s.stream_status() == StreamStatus::Deleting {
        return Ok(None);
    }
    let tags = tags(cx, name).await?;
    let owner = support::owner(cx, &tags);
    Ok(Some(support::live(
        name,
        Spec::KinesisStream(spec_of(&s)),
        tags,
        owner,
    )))
}

/// DescribeStreamSummary; `None` when the stream does not exist (a deleting one does).
async fn describe(cx: &Cx<'_>, name: &str) -> Result<Option<StreamDescriptionSummary>, AwsError> {
    match cx
        .aws
        .kinesis
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.stream_description_summary),
        Err(e) if not_found(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(sdk("DescribeStreamSummary", name, e)),
    }
}

/// The summary in the spec's shape. A stream without mode details predates on-demand mode,
/// so it is provisioned; the shard count is only meaningful when provisioned.
fn spec_of(s: &StreamDescriptionSummary) -> StreamSpec {
    let mode = match s.stream_mode_details().map(StreamModeDetails::stream_mode) {
        Some(AwsStreamMode::OnDemand) => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    };
    StreamSpec {
        mode,
        shard_count: (mode == StreamMode::Provisioned).then(|| uint(s.open_shard_count())),
        retention_hours: uint(s.retention_period_hours()),
        encryption: s
            .encryption_type()
            .map_or("NONE", EncryptionType::as_str)
            .to_string(),
        kms_key: s.key_id().unwrap_or_default().to_string(),
    }
}

async fn tags(cx: &Cx<'_>, name: &str) -> Result<Tags, AwsError> {
    support::tags_by_start_key(async |start| {
        let out = cx
            .aws
            .kinesis
            .list_tags_for_stream()
            .stream_name(name)
            .set_exclusive_start_tag_key(start)
            .send()
            .await
            .map_err(|e| sdk("ListTagsForStream", name, e))?;
        let tags = out.tags().iter().map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        });
        Ok((tags.collect(), out.has_more_tags()))
    })
    .await
}

/// Waits for `ACTIVE` and returns the summary then.
async fn wait_active(cx: &Cx<'_>, name: &str) -> Result<StreamDescriptionSummary, AwsError> {
    support::wait_for(name, "ACTIVE", WAIT, || async {
        match describe(cx, name).await? {
            Some(s) if *s.stream_status() == StreamStatus::Active => Ok(Some(s)),
            Some(_) => Ok(None),
            None => Err(invalid(
                name,
                "the stream disappeared while waiting for it to become ACTIVE",
            )),
        }
    })
    .await
}

/// Makes the stream match `spec` and `r.tags`, one change at a time (Kinesis takes one
/// update at a time), waiting for `ACTIVE` after each.
async fn converge(cx: &Cx<'_>, r: &Resource, spec: &StreamSpec) -> Result<(), AwsError> {
    let name = r.name.as_str();
    let mut s = wait_active(cx, name).await?;
    if spec_of(&s).mode != spec.mode {
        cx.aws
            .kinesis
            .update_stream_mode()
            .stream_arn(s.stream_arn())
            .stream_mode_details(mode_details(name, spec.mode)?)
            .send()
            .await
            .map_err(|e| sdk("UpdateStreamMode", name, e))?;
        s = wait_active(cx, name).await?;
    }
    if let (StreamMode::Provisioned, Some(want)) = (spec.mode, spec.shard_count) {
        s = reshard(cx, name, s, want).await?;
    }
    if spec_of(&s).retention_hours != spec.retention_hours {
        set_retention(cx, name, s.retention_period_hours(), spec.retention_hours).await?;
        s = wait_active(cx, name).await?;
    }
    let live = spec_of(&s);
    if (live.encryption.as_str(), live.kms_key.as_str())
        != (spec.encryption.as_str(), spec.kms_key.as_str())
    {
        set_encryption(cx, name, &live, spec).await?;
        wait_active(cx, name).await?;
    }
    converge_tags(cx, name, &r.tags).await
}

/// UpdateShardCount towards `want`, at most doubling or halving per call.
async fn reshard(
    cx: &Cx<'_>,
    name: &str,
    mut s: StreamDescriptionSummary,
    want: u32,
) -> Result<StreamDescriptionSummary, AwsError> {
    for _ in 0..MAX_RESHARD_STEPS {
        let open = uint(s.open_shard_count());
        if open == want {
            return Ok(s);
        }
        cx.aws
            .kinesis
            .update_shard_count()
            .stream_name(name)
            .target_shard_count(int(next_shard_count(open, want)))
            .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
            .send()
            .await
            .map_err(|e| sdk("UpdateShardCount", name, e))?;
        s = wait_active(cx, name).await?;
    }
    Err(invalid(
        name,
        format!("the stream did not reach {want} shards in {MAX_RESHARD_STEPS} steps"),
    ))
}

/// The next UpdateShardCount target from `open` towards `want`: AWS allows at most twice
/// or half the open shards per call.
fn next_shard_count(open: u32, want: u32) -> u32 {
    if want > open {
        want.min(open.max(1).saturating_mul(2))
    } else {
        want.max(open.div_ceil(2))
    }
}

async fn set_retention(cx: &Cx<'_>, name: &str, live: i32, want: u32) -> Result<(), AwsError> {
    let hours = int(want);
    if hours > live {
        cx.aws
            .kinesis
            .increase_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(|e| sdk("IncreaseStreamRetentionPeriod", name, e))?;
    } else {
        cx.aws
            .kinesis
            .decrease_stream_retention_period()
            .stream_name(name)
            .retention_period_hours(hours)
            .send()
            .await
            .map_err(|e| sdk("DecreaseStreamRetentionPeriod", name, e))?;
    }
    Ok(())
}

/// StartStreamEncryption (which also changes the key), or StopStreamEncryption with the
/// live key when the spec says `NONE`.
async fn set_encryption(
    cx: &Cx<'_>,
    name: &str,
    live: &StreamSpec,
    spec: &StreamSpec,
) -> Result<(), AwsError> {
    if spec.encryption == EncryptionType::None.as_str() {
        cx.aws
            .kinesis
            .stop_stream_encryption()
            .stream_name(name)
            .encryption_type(EncryptionType::from(live.encryption.as_str()))
            .key_id(&live.kms_key)
            .send()
            .await
            .map_err(|e| sdk("StopStreamEncryption", name, e))?;
    } else {
        cx.aws
            .kinesis
            .start_stream_encryption()
            .stream_name(name)
            .encryption_type(EncryptionType::from(spec.encryption.as_str()))
            .key_id(&spec.kms_key)
            .send()
            .await
            .map_err(|e| sdk("StartStreamEncryption", name, e))?;
    }
    Ok(())
}

async fn converge_tags(cx: &Cx<'_>, name: &str, want: &Tags) -> Result<(), AwsError> {
    let tag = async |set: Tags| {
        let set: Vec<(String, String)> = set.into_iter().collect();
        for chunk in set.chunks(TAGS_PER_CALL) {
            cx.aws
                .kinesis
                .add_tags_to_stream()
                .stream_name(name)
                .set_tags(Some(chunk.iter().cloned().collect()))
                .send()
                .await
                .map_err(|e| sdk("AddTagsToStream", name, e))?;
        }
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        for chunk in remove.chunks(TAGS_PER_CALL) {
            cx.aws
                .kinesis
                .remove_tags_from_stream()
                .stream_name(name)
                .set_tag_keys(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| sdk("RemoveTagsFromStream", name, e))?;
        }
        Ok(())
    };
    TagChanges::between(&tags(cx, name).await?, want)
        .apply(tag, untag)
        .await
}

fn mode_details(name: &str, mode: StreamMode) -> Result<StreamModeDetails, AwsError> {
    let mode = match mode {
        StreamMode::Provisioned => AwsStreamMode::Provisioned,
        StreamMode::OnDemand => AwsStreamMode::OnDemand,
    };
    support::built(name, StreamModeDetails::builder().stream_mode(mode).build())
}

#[cfg(test)]
mod tests {
    use super::next_shard_count;

    #[test]
    fn resharding_steps_at_most_double_or_half() {
        assert_eq!(next_shard_count(1, 5), 2);
        assert_eq!(next_shard_count(2, 5), 4);
        assert_eq!(next_shard_count(4, 5), 5);
        assert_eq!(next_shard_count(10, 1), 5);
        assert_eq!(next_shard_count(5, 1), 3);
        assert_eq!(next_shard_count(3, 1), 2);
        assert_eq!(next_shard_count(2, 1), 1);
        assert_eq!(next_shard_count(3, 3), 3);
    }
}
