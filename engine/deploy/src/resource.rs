//! The resource model: the kinds of AWS resources a pipeline deploys, how one is identified
//! ([`ResourceId`]: kind and logical name, stable across edits of the file), its desired
//! attributes in the normalised shape the live reader produces too ([`Resource::attributes`]),
//! which attributes force a replacement ([`KindInfo`]), and its dependency edges.
//!
//! One module per service holds the attribute shapes and the [`KindInfo`] of its kinds; adding
//! a kind is a struct and a `KindInfo` there, a [`Kind`] and a [`Spec`] variant here.

mod ec2;
mod firehose;
mod glue;
mod kinesis;
mod lambda;
mod logs;
mod roles;
mod s3;
mod sns;

pub use ec2::{InstanceSpec, Rule, SecurityGroupSpec};
pub use firehose::{DeliveryStreamSpec, FirehoseCompression};
pub use glue::{Column, CrawlerSpec, DatabaseSpec, TableSpec};
pub use kinesis::{StreamMode, StreamSpec};
pub use lambda::{EventSourceMappingSpec, FunctionSpec, PermissionSpec};
pub use logs::LogGroupSpec;
pub use roles::{InstanceProfileSpec, RolePolicySpec, RoleSpec};
pub use s3::{BucketNotificationSpec, BucketSpec, LambdaNotification, ObjectSpec};
pub use sns::{SubscriptionSpec, TopicSpec};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Attributes in their normalised, comparable form: the diff compares these maps.
pub type Attrs = BTreeMap<String, Value>;
/// AWS tags, key to value.
pub type Tags = BTreeMap<String, String>;

/// The attribute every resource has: its AWS name (or identifier), see [`Resource::name`].
pub const NAME: &str = "name";
/// The pseudo-attribute under which a tag change is reported.
pub const TAGS: &str = "tags";
/// A desired value that AWS resolves when the resource is created (the latest AMI through
/// its public SSM parameter): it matches whatever the live resource was created with.
pub const RESOLVED_AT_CREATE: &str = "resolve:ssm:";

/// Resource kinds, in creation order: a kind only ever depends on kinds before it, so
/// resources the file no longer has can be deleted in reverse kind order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    IamRole,
    IamRolePolicy,
    IamInstanceProfile,
    KinesisStream,
    S3Bucket,
    S3Object,
    LogGroup,
    SnsTopic,
    SnsSubscription,
    FirehoseDeliveryStream,
    LambdaFunction,
    LambdaEventSourceMapping,
    LambdaPermission,
    S3BucketNotification,
    GlueDatabase,
    GlueTable,
    GlueCrawler,
    Ec2SecurityGroup,
    Ec2Instance,
}

/// Which attribute changes AWS cannot make in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaceOn {
    /// Changing one of these replaces the resource; others are updated in place.
    Attributes(&'static [&'static str]),
    /// Every attribute change replaces it (no update API, or none worth the risk).
    AnyChange,
}

/// What the planner knows about a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind's name in plans and ids (`kinesis_stream`); equals its serde name.
    pub label: &'static str,
    pub replace_on: ReplaceOn,
    /// Whether AWS tags it. Untaggable resources (subscriptions, inline policies, ...) belong
    /// to the pipeline when their parent does.
    pub taggable: bool,
}

impl Kind {
    pub const ALL: [Kind; 19] = [
        Kind::IamRole,
        Kind::IamRolePolicy,
        Kind::IamInstanceProfile,
        Kind::KinesisStream,
        Kind::S3Bucket,
        Kind::S3Object,
        Kind::LogGroup,
        Kind::SnsTopic,
        Kind::SnsSubscription,
        Kind::FirehoseDeliveryStream,
        Kind::LambdaFunction,
        Kind::LambdaEventSourceMapping,
        Kind::LambdaPermission,
        Kind::S3BucketNotification,
        Kind::GlueDatabase,
        Kind::GlueTable,
        Kind::GlueCrawler,
        Kind::Ec2SecurityGroup,
        Kind::Ec2Instance,
    ];

    pub fn info(self) -> &'static KindInfo {
        match self {
            Kind::IamRole => &roles::ROLE,
            Kind::IamRolePolicy => &roles::ROLE_POLICY,
            Kind::IamInstanceProfile => &roles::INSTANCE_PROFILE,
            Kind::KinesisStream => &kinesis::STREAM,
            Kind::S3Bucket => &s3::BUCKET,
            Kind::S3Object => &s3::OBJECT,
            Kind::LogGroup => &logs::LOG_GROUP,
            Kind::SnsTopic => &sns::TOPIC,
            Kind::SnsSubscription => &sns::SUBSCRIPTION,
            Kind::FirehoseDeliveryStream => &firehose::DELIVERY_STREAM,
            Kind::LambdaFunction => &lambda::FUNCTION,
            Kind::LambdaEventSourceMapping => &lambda::EVENT_SOURCE_MAPPING,
            Kind::LambdaPermission => &lambda::PERMISSION,
            Kind::S3BucketNotification => &s3::BUCKET_NOTIFICATION,
            Kind::GlueDatabase => &glue::DATABASE,
            Kind::GlueTable => &glue::TABLE,
            Kind::GlueCrawler => &glue::CRAWLER,
            Kind::Ec2SecurityGroup => &ec2::SECURITY_GROUP,
            Kind::Ec2Instance => &ec2::INSTANCE,
        }
    }

    pub fn label(self) -> &'static str {
        self.info().label
    }

    pub fn from_label(label: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.label() == label)
    }

    /// Whether a change of `attribute` makes AWS replace the resource. Tags never do.
    pub fn forces_replacement(self, attribute: &str) -> bool {
        if attribute == TAGS {
            return false;
        }
        match self.info().replace_on {
            ReplaceOn::Attributes(attrs) => attrs.contains(&attribute),
            ReplaceOn::AnyChange => true,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A resource's identity across edits: its kind and a logical name that says what it is for
/// (`s3_bucket.raw`, `lambda_function.transform`, `sns_subscription.alerts@example.com`), not
/// its AWS name. Renaming the stream block keeps `kinesis_stream.stream` and changes its
/// `name` attribute, which is a replacement the plan explains.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct ResourceId {
    pub kind: Kind,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: Kind, name: impl Into<String>) -> ResourceId {
        ResourceId {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind.label(), self.name)
    }
}

impl From<ResourceId> for String {
    fn from(id: ResourceId) -> String {
        id.to_string()
    }
}

impl TryFrom<String> for ResourceId {
    type Error = String;

    /// `kind.name`; the name may itself contain dots (an email address).
    fn try_from(s: String) -> Result<ResourceId, String> {
        let (kind, name) = s
            .split_once('.')
            .ok_or_else(|| format!("`{s}` is not a resource id (`kind.name`)"))?;
        let kind = Kind::from_label(kind)
            .ok_or_else(|| format!("`{kind}` is not a resource kind (in `{s}`)"))?;
        Ok(ResourceId::new(kind, name))
    }
}

/// The desired attributes of a resource, one shape per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Spec {
    IamRole(RoleSpec),
    IamRolePolicy(RolePolicySpec),
    IamInstanceProfile(InstanceProfileSpec),
    KinesisStream(StreamSpec),
    S3Bucket(BucketSpec),
    S3Object(ObjectSpec),
    LogGroup(LogGroupSpec),
    SnsTopic(TopicSpec),
    SnsSubscription(SubscriptionSpec),
    FirehoseDeliveryStream(DeliveryStreamSpec),
    LambdaFunction(FunctionSpec),
    LambdaEventSourceMapping(EventSourceMappingSpec),
    LambdaPermission(PermissionSpec),
    S3BucketNotification(BucketNotificationSpec),
    GlueDatabase(DatabaseSpec),
    GlueTable(TableSpec),
    GlueCrawler(CrawlerSpec),
    Ec2SecurityGroup(SecurityGroupSpec),
    Ec2Instance(InstanceSpec),
}

impl Spec {
    pub fn kind(&self) -> Kind {
        match self {
            Spec::IamRole(_) => Kind::IamRole,
            Spec::IamRolePolicy(_) => Kind::IamRolePolicy,
            Spec::IamInstanceProfile(_) => Kind::IamInstanceProfile,
            Spec::KinesisStream(_) => Kind::KinesisStream,
            Spec::S3Bucket(_) => Kind::S3Bucket,
            Spec::S3Object(_) => Kind::S3Object,
            Spec::LogGroup(_) => Kind::LogGroup,
            Spec::SnsTopic(_) => Kind::SnsTopic,
            Spec::SnsSubscription(_) => Kind::SnsSubscription,
            Spec::FirehoseDeliveryStream(_) => Kind::FirehoseDeliveryStream,
            Spec::LambdaFunction(_) => Kind::LambdaFunction,
            Spec::LambdaEventSourceMapping(_) => Kind::LambdaEventSourceMapping,
            Spec::LambdaPermission(_) => Kind::LambdaPermission,
            Spec::S3BucketNotification(_) => Kind::S3BucketNotification,
            Spec::GlueDatabase(_) => Kind::GlueDatabase,
            Spec::GlueTable(_) => Kind::GlueTable,
            Spec::GlueCrawler(_) => Kind::GlueCrawler,
            Spec::Ec2SecurityGroup(_) => Kind::Ec2SecurityGroup,
            Spec::Ec2Instance(_) => Kind::Ec2Instance,
        }
    }

    /// The spec's fields as a flat attribute map (`kind` left out).
    pub fn attributes(&self) -> Attrs {
        // Serialising these plain structs cannot fail: every map has string keys.
        let Ok(Value::Object(map)) = serde_json::to_value(self) else {
            return Attrs::new();
        };
        map.into_iter().filter(|(k, _)| k != "kind").collect()
    }
}

/// One desired resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    pub id: ResourceId,
    /// The AWS name the live reader finds it by (for a subscription, its address; for an
    /// event source mapping, its function; for a permission, its statement id).
    pub name: String,
    /// Known before it exists (derived from the name); `None` when AWS assigns it.
    pub arn: Option<String>,
    pub spec: Spec,
    /// Empty for kinds AWS does not tag.
    pub tags: Tags,
    /// Resources that must exist (and be up to date) before this one is created or updated.
    pub depends_on: BTreeSet<ResourceId>,
}

impl Resource {
    pub fn new(logical: impl Into<String>, name: impl Into<String>, spec: Spec) -> Resource {
        Resource {
            id: ResourceId::new(spec.kind(), logical),
            name: name.into(),
            arn: None,
            spec,
            tags: Tags::new(),
            depends_on: BTreeSet::new(),
        }
    }

    pub fn with_arn(mut self, arn: impl Into<String>) -> Resource {
        self.arn = Some(arn.into());
        self
    }

    /// The tags, when the kind takes tags.
    pub fn with_tags(mut self, tags: &Tags) -> Resource {
        if self.id.kind.info().taggable {
            self.tags = tags.clone();
        }
        self
    }

    /// Adds dependency edges.
    pub fn after(mut self, ids: impl IntoIterator<Item = ResourceId>) -> Resource {
        self.depends_on.extend(ids);
        self
    }

    /// The comparable attributes: the spec's fields and the [`NAME`].
    pub fn attributes(&self) -> Attrs {
        let mut attrs = self.spec.attributes();
        attrs.insert(NAME.to_string(), Value::String(self.name.clone()));
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    #[test]
    fn labels_are_the_serde_names_and_ids_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.label().to_string())
            );
            let id = ResourceId::new(kind, "a.b@example.com");
            let text = serde_json::to_string(&id).unwrap();
            let back: ResourceId = serde_json::from_str(&text).unwrap();
            assert_eq!(back, id);
        }
        assert!(ResourceId::try_from("nope.x".to_string()).is_err());
        assert!(ResourceId::try_from("s3_bucket".to_string()).is_err());
    }

    #[test]
    fn all_lists_every_kind_in_order() {
        let mut sorted = Kind::ALL;
        sorted.sort();
        assert_eq!(sorted, Kind::ALL);
        for kind in Kind::ALL {
            assert_eq!(Kind::from_label(kind.label()), Some(kind));
        }
    }

    #[test]
    fn forcing_attributes_exist_and_specs_do_not_shadow_name() {
        let graph = testutil::graph(testutil::STOCKS);
        for r in graph.resources.values() {
            assert_eq!(r.spec.kind(), r.id.kind);
            let spec_attrs = r.spec.attributes();
            assert!(!spec_attrs.contains_key(NAME), "{}", r.id);
            assert!(!spec_attrs.contains_key("kind"), "{}", r.id);
            let attrs = r.attributes();
            if let ReplaceOn::Attributes(forcing) = r.id.kind.info().replace_on {
                for a in forcing {
                    assert!(attrs.contains_key(*a), "{}: no attribute `{a}`", r.id);
                }
            }
            assert!(!r.id.kind.forces_replacement(TAGS));
        }
    }
}
