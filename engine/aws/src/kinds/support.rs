//! Helpers the kind modules share: errors about a resource, the live resource in the
//! desired attributes' shape, the names and attributes a live resource was read under, the
//! plan's changed attributes, AWS integers, tags (building, reading by pages, tag and untag),
//! and bounded polling for the states AWS reports while it works.

use super::Cx;
use crate::error::AwsError;
use aws_smithy_types::error::operation::BuildError;
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};
use stk_deploy::resource::NAME;
use stk_deploy::{Attrs, LiveResource, Owner, Resource, ResourceChange, Spec, Tags};

/// How long create, update and delete wait for AWS to finish, unless a kind says otherwise.
pub(crate) const WAIT: Duration = Duration::from_secs(120);
/// The pause between two polls.
const POLL: Duration = Duration::from_secs(2);

/// A live resource: the spec read back, flattened like `Resource::attributes` (`name`
/// included), with its tags (`aws:` tags left out) and the given owner.
pub(crate) fn live(name: &str, spec: Spec, tags: Tags, owner: Owner) -> LiveResource {
    let mut attributes = spec.attributes();
    attributes.insert(NAME.to_string(), Value::String(name.to_string()));
    let tags = tags
        .into_iter()
        .filter(|(k, _)| !k.starts_with("aws:"))
        .collect();
    live_of(attributes, tags, owner)
}

/// A live resource of attributes built by the caller (where the live value need not fit a
/// spec, or there is nothing but a name), with no physical id and `holds_data` unknown.
pub(crate) fn live_of(attributes: Attrs, tags: Tags, owner: Owner) -> LiveResource {
    LiveResource {
        owner,
        attributes,
        tags,
        physical_id: None,
        holds_data: None,
    }
}

/// Who owns a resource with these tags.
pub(crate) fn owner(cx: &Cx<'_>, tags: &Tags) -> Owner {
    Owner::from_tags(tags, cx.pipeline)
}

/// The logical name of a resource of this pipeline found by its AWS name: the name without
/// `stk-<pipeline>-` (a name without that prefix as it is).
pub(crate) fn logical(cx: &Cx<'_>, name: &str) -> String {
    let prefix = cx.graph.names.prefix();
    name.strip_prefix(prefix.as_str())
        .unwrap_or(name)
        .to_string()
}

/// The AWS name a live resource was read under (its `name` attribute).
pub(crate) fn live_name(live: &LiveResource) -> Result<&str, AwsError> {
    live.attributes
        .get(NAME)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("a live resource", "it was read without a `name` attribute"))
}

/// A string attribute of a live resource other than its name (a parent's name, ...).
pub(crate) fn live_str<'a>(live: &'a LiveResource, key: &str) -> Result<&'a str, AwsError> {
    live.attributes
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                live_name(live).unwrap_or("a live resource"),
                format!("it has no `{key}` attribute"),
            )
        })
}

/// Whether the plan changes `attribute` of the resource.
pub(crate) fn changes(change: &ResourceChange, attribute: &str) -> bool {
    change.changes.iter().any(|c| c.attribute == attribute)
}

/// An [`AwsError::Invalid`] about `resource`.
pub(crate) fn invalid(resource: &str, message: impl Into<String>) -> AwsError {
    AwsError::Invalid {
        resource: resource.to_string(),
        message: message.into(),
    }
}

/// The error for a resource handed to a kind's code whose spec is of another kind:
/// `not a <kind>`.
pub(crate) fn not_a(r: &Resource, kind: &str) -> AwsError {
    invalid(&r.id.to_string(), format!("not a {kind}"))
}

/// An SDK builder's missing-field error as [`AwsError::Invalid`].
pub(crate) fn built<T>(resource: &str, result: Result<T, BuildError>) -> Result<T, AwsError> {
    result.map_err(|e| invalid(resource, format!("could not build the request: {e}")))
}

/// A non-negative AWS integer as the spec's `u32` (absent or negative: 0).
pub(crate) fn uint(v: impl Into<Option<i32>>) -> u32 {
    v.into().and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

/// A spec's `u32` as the SDK's `i32` (out of range: `i32::MAX`).
pub(crate) fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Tags as a service's SDK `Tag` list, each made by `build` from a key and a value.
pub(crate) fn built_tags<T>(
    resource: &str,
    tags: &Tags,
    build: impl Fn(&str, &str) -> Result<T, BuildError>,
) -> Result<Vec<T>, AwsError> {
    tags.iter()
        .map(|(k, v)| built(resource, build(k, v)))
        .collect()
}

/// Tags as the services that answer with a map give them (Lambda, Glue, CloudWatch Logs);
/// no map is no tags.
pub(crate) fn tags_of_map(map: Option<&HashMap<String, String>>) -> Tags {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Every tag, where the listing pages by the last key seen (`ExclusiveStartTagKey`: Kinesis,
/// Firehose). `page(start)` lists the tags after `start` and says whether more follow; it
/// stops when there are no more, or a page brings no new last key.
pub(crate) async fn tags_by_start_key(
    mut page: impl AsyncFnMut(Option<String>) -> Result<(Vec<(String, String)>, bool), AwsError>,
) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    let mut start: Option<String> = None;
    loop {
        let (listed, more) = page(start.clone()).await?;
        let last = listed.last().map(|(k, _)| k.clone());
        tags.extend(listed);
        match (more, last) {
            (true, Some(last)) if start.as_ref() != Some(&last) => start = Some(last),
            _ => return Ok(tags),
        }
    }
}

/// What to tag and untag to take a resource from `live` tags to `want`. `aws:` tags are
/// AWS's own and never removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TagChanges {
    /// New or changed tags.
    pub set: Tags,
    /// Keys to remove.
    pub remove: Vec<String>,
}

impl TagChanges {
    pub(crate) fn between(live: &Tags, want: &Tags) -> TagChanges {
        TagChanges {
            set: want
                .iter()
                .filter(|(k, v)| live.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            remove: live
                .keys()
                .filter(|k| !k.starts_with("aws:") && !want.contains_key(*k))
                .cloned()
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }

    /// Makes the changes: `tag` with the new and changed tags, then `untag` with the keys to
    /// remove, each called only when it has something to do.
    pub(crate) async fn apply(
        self,
        tag: impl AsyncFnOnce(Tags) -> Result<(), AwsError>,
        untag: impl AsyncFnOnce(Vec<String>) -> Result<(), AwsError>,
    ) -> Result<(), AwsError> {
        if !self.set.is_empty() {
            tag(self.set).await?;
        }
        if !self.remove.is_empty() {
            untag(self.remove).await?;
        }
        Ok(())
    }
}

/// Polls `check` until it gives a value, at most `limit` long, then [`AwsError::Timeout`]
/// (`resource` did not become `state`). The first poll is immediate.
pub(crate) async fn wait_for<T, F, Fut>(
    resource: &str,
    state: &'static str,
    limit: Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if start.elapsed() >= limit {
            return Err(AwsError::Timeout {
                resource: resource.to_string(),
                state,
                seconds: limit.as_secs(),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `read` until it finds nothing (the resource is deleted), at most `limit` long,
/// then [`AwsError::Timeout`].
pub(crate) async fn wait_gone<T, F, Fut>(
    resource: &str,
    limit: Duration,
    mut read: F,
) -> Result<(), AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    wait_for(resource, "deleted", limit, || {
        let found = read();
        async move { Ok(found.await?.is_none().then_some(())) }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tag_changes_set_changed_and_remove_extra_but_never_aws_tags() {
        let live = tags(&[("a", "1"), ("b", "2"), ("aws:cloudformation:stack", "s")]);
        let want = tags(&[("a", "1"), ("b", "3"), ("c", "4")]);
        let c = TagChanges::between(&live, &want);
        assert_eq!(c.set, tags(&[("b", "3"), ("c", "4")]));
        assert!(c.remove.is_empty());
        let c = TagChanges::between(&want, &tags(&[("a", "1")]));
        assert_eq!(c.remove, vec!["b".to_string(), "c".to_string()]);
        assert!(TagChanges::between(&want, &want).is_empty());
    }
}
