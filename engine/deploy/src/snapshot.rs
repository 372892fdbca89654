//! The live state the diff compares against: per [`ResourceId`], the attributes the reader
//! found, normalised into the shape [`Resource::attributes`] gives, with the tags and who owns
//! it; plus whether the secrets the file references exist. The SDK crate fills it; this module
//! only defines it (and the snapshot an apply converges to, for tests and fixtures).
//!
//! [`Resource::attributes`]: crate::resource::Resource::attributes

use crate::graph::Graph;
use crate::names::{MANAGED_BY, TAG_MANAGED_BY, TAG_PIPELINE};
use crate::resource::{Attrs, ResourceId, Tags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Who a live resource belongs to, by its tags (or, for kinds AWS does not tag, by its
/// parent's: a subscription of our topic is ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "owner", rename_all = "snake_case")]
pub enum Owner {
    /// Tagged `stk:managed-by=stkc` and `stk:pipeline=<this pipeline>`.
    Pipeline,
    /// Managed by stkc for another pipeline.
    OtherPipeline { pipeline: String },
    /// No stkc tags: made by hand or another tool. stkc never touches it.
    Unmanaged,
}

impl Owner {
    /// Ownership by a resource's tags.
    pub fn from_tags(tags: &Tags, pipeline: &str) -> Owner {
        match (
            tags.get(TAG_MANAGED_BY).map(String::as_str),
            tags.get(TAG_PIPELINE),
        ) {
            (Some(MANAGED_BY), Some(p)) if p == pipeline => Owner::Pipeline,
            (Some(MANAGED_BY), Some(p)) => Owner::OtherPipeline {
                pipeline: p.clone(),
            },
            _ => Owner::Unmanaged,
        }
    }
}

/// One resource as it is in the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    pub owner: Owner,
    /// Normalised like the desired attributes, `name` included.
    pub attributes: Attrs,
    /// `aws:` tags left out by the diff.
    pub tags: Tags,
    /// The id AWS assigned, where the name does not identify it (instance id, security group
    /// id, event source mapping UUID, subscription ARN): what apply updates and deletes by.
    pub physical_id: Option<String>,
    /// Whether it holds data: a bucket with objects. `None` when unknown or not applicable.
    pub holds_data: Option<bool>,
}

/// A resource that holds a name the graph wants, found while the id's own entry in
/// [`Snapshot::resources`] is this pipeline's resource under its old name (the stream block
/// renamed onto a stream someone else made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    pub name: String,
    pub owner: Owner,
}

/// The live side of a diff.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// By id: this pipeline's resources (found by name, or by name prefix and tags), and
    /// anything else found under a desired name (its [`Owner`] says whose).
    pub resources: BTreeMap<ResourceId, LiveResource>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub taken: BTreeMap<ResourceId, Taken>,
    /// Whether each [`External`](crate::graph::External) exists, by its key; a missing key
    /// means it was not checked.
    pub externals: BTreeMap<String, bool>,
}

impl Snapshot {
    /// Hex SHA-256 of the snapshot's JSON (maps are sorted, so it is stable): a saved plan
    /// records it, and `apply PLANFILE` refuses when a fresh read gives another.
    pub fn fingerprint(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(json.as_slice())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The account after a successful apply of `graph`: every resource as desired, ours,
    /// empty, and every external present.
    pub fn converged(graph: &Graph) -> Snapshot {
        let resources = graph
            .resources
            .values()
            .map(|r| {
                let live = LiveResource {
                    owner: Owner::Pipeline,
                    attributes: r.attributes(),
                    tags: r.tags.clone(),
                    physical_id: None,
                    holds_data: Some(false),
                };
                (r.id.clone(), live)
            })
            .collect();
        let externals = graph
            .externals
            .iter()
            .map(|e| (e.key.clone(), true))
            .collect();
        Snapshot {
            resources,
            taken: BTreeMap::new(),
            externals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    #[test]
    fn ownership_by_tags() {
        let mut tags = Tags::new();
        assert_eq!(Owner::from_tags(&tags, "stocks"), Owner::Unmanaged);
        tags.insert(TAG_PIPELINE.into(), "stocks".into());
        assert_eq!(Owner::from_tags(&tags, "stocks"), Owner::Unmanaged);
        tags.insert(TAG_MANAGED_BY.into(), MANAGED_BY.into());
        assert_eq!(Owner::from_tags(&tags, "stocks"), Owner::Pipeline);
        assert_eq!(
            Owner::from_tags(&tags, "other"),
            Owner::OtherPipeline {
                pipeline: "stocks".into()
            }
        );
    }

    #[test]
    fn snapshots_round_trip_and_fingerprint_stably() {
        let graph = testutil::graph(testutil::STOCKS);
        let snap = Snapshot::converged(&graph);
        let json = serde_json::to_string(&snap).unwrap();
        let back: Snapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snap);
        assert_eq!(back.fingerprint(), snap.fingerprint());
        let mut changed = snap.clone();
        changed.externals.clear();
        assert_ne!(changed.fingerprint(), snap.fingerprint());
    }
}
