//! Helpers the kind modules share: the live resource in the desired attributes' shape, the
//! name a live resource was read under, tag changes, builder errors, and bounded polling for
//! the states AWS reports while it works.

use super::Cx;
use crate::error::AwsError;
use aws_smithy_types::error::operation::BuildError;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant};
use stk_deploy::resource::NAME;
use stk_deploy::{LiveResource, Owner, Spec, Tags};

/// How long create, update and delete wait for AWS to finish, unless a kind says otherwise.
pub(crate) const WAIT: Duration = Duration::from_secs(120);
/// The pause between two polls.
const POLL: Duration = Duration::from_secs(2);

/// A live resource: the spec read back, flattened like `Resource::attributes` (`name`
/// included), with its tags (`aws:` tags left out) and the given owner.
pub(crate) fn live(name: &str, spec: Spec, tags: Tags, owner: Owner) -> LiveResource {
    let mut attributes = spec.attributes();
    attributes.insert(NAME.to_string(), Value::String(name.to_string()));
    LiveResource {
        owner,
        attributes,
        tags: tags
            .into_iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .collect(),
        physical_id: None,
        holds_data: None,
    }
}

/// Who owns a resource with these tags.
pub(crate) fn owner(cx: &Cx<'_>, tags: &Tags) -> Owner {
    Owner::from_tags(tags, cx.pipeline)
}

/// The AWS name a live resource was read under (its `name` attribute).
pub(crate) fn live_name(live: &LiveResource) -> Result<&str, AwsError> {
    live.attributes
        .get(NAME)
        .and_then(Value::as_str)
        .ok_or_else(|| AwsError::Invalid {
            resource: "a live resource".to_string(),
            message: "it was read without a `name` attribute".to_string(),
        })
}

/// An SDK builder's missing-field error as [`AwsError::Invalid`].
pub(crate) fn built<T>(resource: &str, result: Result<T, BuildError>) -> Result<T, AwsError> {
    result.map_err(|e| AwsError::Invalid {
        resource: resource.to_string(),
        message: format!("could not build the request: {e}"),
    })
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
