//! SNS: the alerts topic (`sns_topic`: GetTopicAttributes `DisplayName`, tags) and one
//! email subscription per address (`sns_subscription`: ListSubscriptionsByTopic, the
//! subscription ARN as `physical_id`). A subscription belongs to the pipeline when its topic
//! does. One still pending confirmation exists (AWS lists its ARN as `PendingConfirmation`),
//! and AWS cannot unsubscribe it: deleting it is skipped with a note (AWS drops unconfirmed
//! subscriptions after three days, and every subscription with its topic).

use super::Cx;
use super::support::{self, TagChanges, not_a};
use crate::error::{AwsError, not_found, removed, sdk};
use aws_sdk_sns::types::{Subscription, Tag};
use stk_deploy::resource::{SubscriptionSpec, TopicSpec};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

const NOT_FOUND: &[&str] = &["NotFound", "NotFoundException", "ResourceNotFound"];
const DISPLAY_NAME: &str = "DisplayName";
/// What ListSubscriptionsByTopic shows instead of an ARN for a subscription not yet confirmed
/// (and, briefly, for one just removed).
const PENDING: &str = "PendingConfirmation";
const DELETED: &str = "Deleted";
/// The one protocol stkc subscribes with.
const EMAIL: &str = "email";

/// The topic by its name (its ARN derives from the name).
pub async fn read_topic(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    read_topic_named(cx, &r.name).await
}

/// The subscription of the address `r.name` to the spec's topic, confirmed or pending.
pub async fn read_subscription(
    cx: &Cx<'_>,
    r: &Resource,
) -> Result<Option<LiveResource>, AwsError> {
    let spec = subscription_spec(r)?;
    let Some(subs) = subscriptions(cx, &spec.topic_arn).await? else {
        return Ok(None);
    };
    let Some(sub) = subs
        .into_iter()
        .find(|s| s.protocol() == Some(spec.protocol.as_str()) && s.endpoint() == Some(&r.name))
    else {
        return Ok(None);
    };
    let owner = topic_owner(cx, &spec.topic_arn).await?;
    Ok(Some(subscription_live(&sub, owner)))
}

/// The pipeline's topics (name prefix `stk-<pipeline>-`, tagged as ours).
pub async fn stray_topics(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let mut found = Vec::new();
    for name in topic_names(cx).await? {
        let Some(logical) = name.strip_prefix(&prefix) else {
            continue;
        };
        if let Some(live) = read_topic_named(cx, &name).await?
            && live.owner == Owner::Pipeline
        {
            found.push((ResourceId::new(Kind::SnsTopic, logical), live));
        }
    }
    Ok(found)
}

/// The email subscriptions of the pipeline's topics, by address. Other protocols (an SQS
/// queue someone subscribed to read the alerts) are not stkc's and are left alone.
pub async fn stray_subscriptions(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for (_, topic) in stray_topics(cx).await? {
        let name = support::live_name(&topic)?;
        let arn = cx.graph.names.topic_arn(name);
        for sub in subscriptions(cx, &arn).await?.unwrap_or_default() {
            if sub.subscription_arn() == Some(DELETED) || sub.protocol() != Some(EMAIL) {
                continue;
            }
            let live = subscription_live(&sub, Owner::Pipeline);
            let address = sub.endpoint().unwrap_or_default();
            found.push((ResourceId::new(Kind::SnsSubscription, address), live));
        }
    }
    Ok(found)
}

/// Creates the topic with its display name and tags (or converges an existing one).
pub async fn create_topic(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = topic_spec(r)?;
    if read_topic_named(cx, &r.name).await?.is_some() {
        return converge_topic(cx, r).await;
    }
    cx.aws
        .sns
        .create_topic()
        .name(&r.name)
        .attributes(DISPLAY_NAME, &spec.display_name)
        .set_tags(Some(sns_tags(&r.name, &r.tags)?))
        .send()
        .await
        .map_err(|e| sdk("CreateTopic", &r.name, e))?;
    Ok(())
}

/// Subscribes the address, unless it is subscribed already (confirmed or pending: a second
/// Subscribe would send another confirmation mail).
pub async fn subscribe(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    if read_subscription(cx, r).await?.is_some() {
        return Ok(());
    }
    let spec = subscription_spec(r)?;
    cx.aws
        .sns
        .subscribe()
        .topic_arn(&spec.topic_arn)
        .protocol(&spec.protocol)
        .endpoint(&spec.endpoint)
        .return_subscription_arn(true)
        .send()
        .await
        .map_err(|e| sdk("Subscribe", r.id.to_string(), e))?;
    Ok(())
}

/// Converges the display name and tags.
pub async fn update_topic(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    converge_topic(cx, r).await
}

/// Deletes the topic (and with it every subscription); absent is fine.
pub async fn delete_topic(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    let arn = cx.graph.names.topic_arn(name);
    removed(
        cx.aws.sns.delete_topic().topic_arn(&arn).send().await,
        NOT_FOUND,
        "DeleteTopic",
        name,
    )
}

/// Unsubscribes by the subscription ARN. A subscription pending confirmation has no ARN
/// AWS accepts: skipped with a note.
pub async fn unsubscribe(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let address = support::live_name(live)?;
    let Some(arn) = live.physical_id.as_deref().filter(|a| confirmed(a)) else {
        tracing::warn!(
            "the subscription of {address} is pending confirmation, and AWS cannot remove a \
             pending subscription: it expires unconfirmed after three days, or goes with its topic"
        );
        return Ok(());
    };
    removed(
        cx.aws.sns.unsubscribe().subscription_arn(arn).send().await,
        NOT_FOUND,
        "Unsubscribe",
        address,
    )
}

/// Whether a listed subscription ARN is a real one (not pending or just deleted).
fn confirmed(arn: &str) -> bool {
    arn != PENDING && arn != DELETED && arn.starts_with("arn:")
}

fn topic_spec(r: &Resource) -> Result<&TopicSpec, AwsError> {
    match &r.spec {
        Spec::SnsTopic(s) => Ok(s),
        _ => Err(not_a(r, "sns_topic")),
    }
}

fn subscription_spec(r: &Resource) -> Result<&SubscriptionSpec, AwsError> {
    match &r.spec {
        Spec::SnsSubscription(s) => Ok(s),
        _ => Err(not_a(r, "sns_subscription")),
    }
}

async fn read_topic_named(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    let arn = cx.graph.names.topic_arn(name);
    let attrs = match cx
        .aws
        .sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
    {
        Ok(out) => out.attributes.unwrap_or_default(),
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(sdk("GetTopicAttributes", name, e)),
    };
    let tags = topic_tags(cx, &arn).await?;
    let owner = support::owner(cx, &tags);
    let spec = TopicSpec {
        display_name: attrs.get(DISPLAY_NAME).cloned().unwrap_or_default(),
    };
    Ok(Some(support::live(name, Spec::SnsTopic(spec), tags, owner)))
}

async fn topic_tags(cx: &Cx<'_>, arn: &str) -> Result<Tags, AwsError> {
    let out = cx
        .aws
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| sdk("ListTagsForResource", arn, e))?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// The owner of a subscription: its topic's (none: the topic is gone).
async fn topic_owner(cx: &Cx<'_>, arn: &str) -> Result<Owner, AwsError> {
    match topic_tags(cx, arn).await {
        Ok(tags) => Ok(support::owner(cx, &tags)),
        Err(e) if e.is(NOT_FOUND) => Ok(Owner::Unmanaged),
        Err(e) => Err(e),
    }
}

/// The names of every topic in the region.
async fn topic_names(cx: &Cx<'_>) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut pages = cx.aws.sns.list_topics().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| sdk("ListTopics", "the region's topics", e))?;
        names.extend(
            page.topics()
                .iter()
                .filter_map(|t| t.topic_arn())
                .filter_map(|arn| arn.rsplit(':').next())
                .map(str::to_string),
        );
    }
    Ok(names)
}

/// The topic's subscriptions; `None` when the topic does not exist.
async fn subscriptions(
    cx: &Cx<'_>,
    topic_arn: &str,
) -> Result<Option<Vec<Subscription>>, AwsError> {
    let mut subs = Vec::new();
    let mut pages = cx
        .aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        match page {
            Ok(page) => subs.extend(page.subscriptions().iter().cloned()),
            Err(e) if not_found(&e, NOT_FOUND) => return Ok(None),
            Err(e) => return Err(sdk("ListSubscriptionsByTopic", topic_arn, e)),
        }
    }
    Ok(Some(subs))
}

/// A listed subscription in the spec's shape, its ARN (or `PendingConfirmation`) as the
/// physical id. Subscriptions take no tags.
fn subscription_live(sub: &Subscription, owner: Owner) -> LiveResource {
    let endpoint = sub.endpoint().unwrap_or_default();
    let spec = SubscriptionSpec {
        topic_arn: sub.topic_arn().unwrap_or_default().to_string(),
        protocol: sub.protocol().unwrap_or_default().to_string(),
        endpoint: endpoint.to_string(),
    };
    let mut live = support::live(endpoint, Spec::SnsSubscription(spec), Tags::new(), owner);
    live.physical_id = sub.subscription_arn().map(str::to_string);
    live
}

async fn converge_topic(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = topic_spec(r)?;
    let arn = cx.graph.names.topic_arn(&r.name);
    let live = read_topic_named(cx, &r.name).await?.ok_or_else(|| {
        support::invalid(
            &r.name,
            "the topic disappeared while it was being configured",
        )
    })?;
    if live.attributes.get("display_name").and_then(|v| v.as_str())
        != Some(spec.display_name.as_str())
    {
        cx.aws
            .sns
            .set_topic_attributes()
            .topic_arn(&arn)
            .attribute_name(DISPLAY_NAME)
            .attribute_value(&spec.display_name)
            .send()
            .await
            .map_err(|e| sdk("SetTopicAttributes", &r.name, e))?;
    }
    let tag = async |set: Tags| {
        cx.aws
            .sns
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(sns_tags(&r.name, &set)?))
            .send()
            .await
            .map_err(|e| sdk("TagResource", &r.name, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        cx.aws
            .sns
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagResource", &r.name, e))?;
        Ok(())
    };
    TagChanges::between(&live.tags, &r.tags)
        .apply(tag, untag)
        .await
}

fn sns_tags(resource: &str, tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    support::built_tags(resource, tags, |k, v| {
        Tag::builder().key(k).value(v).build()
    })
}

#[cfg(test)]
mod tests {
    use super::confirmed;

    #[test]
    fn pending_and_deleted_subscriptions_have_no_arn_to_unsubscribe() {
        assert!(!confirmed("PendingConfirmation"));
        assert!(!confirmed("Deleted"));
        assert!(confirmed(
            "arn:aws:sns:eu-central-1:123456789012:stk-a-alerts:5e1f"
        ));
    }
}
