//! Per resource kind: read it from the account by its name, normalised into the desired
//! attributes' shape; find the pipeline's resources of the kind that the graph no longer has
//! (strays); create, update in place and delete it. One module per service; this module
//! dispatches on [`Kind`].
//!
//! The contract every service module keeps:
//! - `read` returns `Ok(None)` when the resource does not exist, and otherwise a
//!   [`LiveResource`] whose `attributes` use exactly the keys and value shapes of
//!   `Resource::attributes()` for the same kind (integers as JSON integers, lists sorted as
//!   the spec sorts them, absent options as `null`), `name` included; `owner` from its tags
//!   (or its parent's, for kinds AWS does not tag); `physical_id` where AWS assigns the id.
//! - `strays` lists the kind's resources that carry this pipeline's tags (or belong to such
//!   a parent), by name prefix `stk-<pipeline>-` where AWS lists by name.
//! - `create`, `update` and `delete` make the change and wait until AWS reports the resource
//!   usable (ACTIVE, Successful, ...) so dependents can follow. Errors go through
//!   [`crate::error::sdk`], so throttling and IAM propagation are retried by the caller.

pub mod ec2;
pub mod firehose;
pub mod glue;
pub mod iam;
pub mod kinesis;
pub mod lambda;
pub mod logs;
pub mod s3;
pub mod s3_object;
pub mod secrets;
pub mod sns;
pub(crate) mod support;

use crate::clients::Aws;
use crate::error::AwsError;
/// Artifact bytes by logical name ([`Cx::files`]).
pub type Files = std::collections::BTreeMap<String, Vec<u8>>;

use stk_deploy::{Graph, Kind, LiveResource, Resource, ResourceChange, ResourceId};

/// What a kind's code may use besides the resource itself.
pub struct Cx<'a> {
    pub aws: &'a Aws,
    pub graph: &'a Graph,
    /// The pipeline's name, as in the `stk:pipeline` tag.
    pub pipeline: &'a str,
    /// The files `apply` uploads to the artifacts bucket, by their `s3_object` logical name
    /// (`stk_deploy::graph::artifacts`).
    pub files: &'a Files,
    /// The scraper instance's user data (`Context::user_data`, `stkc compile --emit ec2`):
    /// the graph carries only its SHA-256, and RunInstances needs the text.
    pub user_data: &'a str,
    /// `destroy --force-delete-data`: empty buckets before deleting them.
    pub force_delete_data: bool,
}

pub async fn read(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    match r.id.kind {
        Kind::IamRole => iam::read_role(cx, r).await,
        Kind::IamRolePolicy => iam::read_role_policy(cx, r).await,
        Kind::IamInstanceProfile => iam::read_instance_profile(cx, r).await,
        Kind::KinesisStream => kinesis::read(cx, r).await,
        Kind::S3Bucket => s3::read_bucket(cx, r).await,
        Kind::S3Object => s3_object::read(cx, r).await,
        Kind::LogGroup => logs::read(cx, r).await,
        Kind::SnsTopic => sns::read_topic(cx, r).await,
        Kind::SnsSubscription => sns::read_subscription(cx, r).await,
        Kind::FirehoseDeliveryStream => firehose::read(cx, r).await,
        Kind::LambdaFunction => lambda::read_function(cx, r).await,
        Kind::LambdaEventSourceMapping => lambda::read_mapping(cx, r).await,
        Kind::LambdaPermission => lambda::read_permission(cx, r).await,
        Kind::S3BucketNotification => s3::read_notification(cx, r).await,
        Kind::GlueDatabase => glue::read_database(cx, r).await,
        Kind::GlueTable => glue::read_table(cx, r).await,
        Kind::GlueCrawler => glue::read_crawler(cx, r).await,
        Kind::Ec2SecurityGroup => ec2::read_security_group(cx, r).await,
        Kind::Ec2Instance => ec2::read_instance(cx, r).await,
    }
}

/// This pipeline's resources of every kind, found by listing; the caller drops those the
/// graph has.
pub async fn strays(cx: &Cx<'_>, kind: Kind) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    match kind {
        Kind::IamRole => iam::stray_roles(cx).await,
        Kind::IamRolePolicy => iam::stray_role_policies(cx).await,
        Kind::IamInstanceProfile => iam::stray_instance_profiles(cx).await,
        Kind::KinesisStream => kinesis::strays(cx).await,
        Kind::S3Bucket => s3::stray_buckets(cx).await,
        Kind::S3Object => s3_object::strays(cx).await,
        Kind::LogGroup => logs::strays(cx).await,
        Kind::SnsTopic => sns::stray_topics(cx).await,
        Kind::SnsSubscription => sns::stray_subscriptions(cx).await,
        Kind::FirehoseDeliveryStream => firehose::strays(cx).await,
        Kind::LambdaFunction => lambda::stray_functions(cx).await,
        Kind::LambdaEventSourceMapping => lambda::stray_mappings(cx).await,
        Kind::LambdaPermission => lambda::stray_permissions(cx).await,
        Kind::S3BucketNotification => s3::stray_notifications(cx).await,
        Kind::GlueDatabase => glue::stray_databases(cx).await,
        Kind::GlueTable => glue::stray_tables(cx).await,
        Kind::GlueCrawler => glue::stray_crawlers(cx).await,
        Kind::Ec2SecurityGroup => ec2::stray_security_groups(cx).await,
        Kind::Ec2Instance => ec2::stray_instances(cx).await,
    }
}

pub async fn create(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    match r.id.kind {
        Kind::IamRole => iam::create_role(cx, r).await,
        Kind::IamRolePolicy => iam::put_role_policy(cx, r).await,
        Kind::IamInstanceProfile => iam::create_instance_profile(cx, r).await,
        Kind::KinesisStream => kinesis::create(cx, r).await,
        Kind::S3Bucket => s3::create_bucket(cx, r).await,
        Kind::S3Object => s3_object::put(cx, r).await,
        Kind::LogGroup => logs::create(cx, r).await,
        Kind::SnsTopic => sns::create_topic(cx, r).await,
        Kind::SnsSubscription => sns::subscribe(cx, r).await,
        Kind::FirehoseDeliveryStream => firehose::create(cx, r).await,
        Kind::LambdaFunction => lambda::create_function(cx, r).await,
        Kind::LambdaEventSourceMapping => lambda::create_mapping(cx, r).await,
        Kind::LambdaPermission => lambda::add_permission(cx, r).await,
        Kind::S3BucketNotification => s3::put_notification(cx, r).await,
        Kind::GlueDatabase => glue::create_database(cx, r).await,
        Kind::GlueTable => glue::create_table(cx, r).await,
        Kind::GlueCrawler => glue::create_crawler(cx, r).await,
        Kind::Ec2SecurityGroup => ec2::create_security_group(cx, r).await,
        Kind::Ec2Instance => ec2::run_instance(cx, r).await,
    }
}

pub async fn update(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    change: &ResourceChange,
) -> Result<(), AwsError> {
    match r.id.kind {
        Kind::IamRole => iam::update_role(cx, r, live, change).await,
        Kind::IamRolePolicy => iam::put_role_policy(cx, r).await,
        Kind::IamInstanceProfile => iam::update_instance_profile(cx, r, live, change).await,
        Kind::KinesisStream => kinesis::update(cx, r, live, change).await,
        Kind::S3Bucket => s3::update_bucket(cx, r, live, change).await,
        Kind::S3Object => s3_object::update(cx, r, live, change).await,
        Kind::LogGroup => logs::update(cx, r, live, change).await,
        Kind::SnsTopic => sns::update_topic(cx, r, live, change).await,
        Kind::SnsSubscription => sns::subscribe(cx, r).await,
        Kind::FirehoseDeliveryStream => firehose::update(cx, r, live, change).await,
        Kind::LambdaFunction => lambda::update_function(cx, r, live, change).await,
        Kind::LambdaEventSourceMapping => lambda::update_mapping(cx, r, live, change).await,
        Kind::LambdaPermission => lambda::add_permission(cx, r).await,
        Kind::S3BucketNotification => s3::put_notification(cx, r).await,
        Kind::GlueDatabase => glue::update_database(cx, r, live, change).await,
        Kind::GlueTable => glue::update_table(cx, r, live, change).await,
        Kind::GlueCrawler => glue::create_crawler(cx, r).await,
        Kind::Ec2SecurityGroup => ec2::update_security_group(cx, r, live, change).await,
        Kind::Ec2Instance => ec2::update_instance(cx, r, live, change).await,
    }
}

pub async fn delete(cx: &Cx<'_>, id: &ResourceId, live: &LiveResource) -> Result<(), AwsError> {
    match id.kind {
        Kind::IamRole => iam::delete_role(cx, live).await,
        Kind::IamRolePolicy => iam::delete_role_policy(cx, live).await,
        Kind::IamInstanceProfile => iam::delete_instance_profile(cx, live).await,
        Kind::KinesisStream => kinesis::delete(cx, live).await,
        Kind::S3Bucket => s3::delete_bucket(cx, live).await,
        Kind::S3Object => s3_object::delete(cx, live).await,
        Kind::LogGroup => logs::delete(cx, live).await,
        Kind::SnsTopic => sns::delete_topic(cx, live).await,
        Kind::SnsSubscription => sns::unsubscribe(cx, live).await,
        Kind::FirehoseDeliveryStream => firehose::delete(cx, live).await,
        Kind::LambdaFunction => lambda::delete_function(cx, live).await,
        Kind::LambdaEventSourceMapping => lambda::delete_mapping(cx, live).await,
        Kind::LambdaPermission => lambda::remove_permission(cx, live).await,
        Kind::S3BucketNotification => s3::delete_notification(cx, live).await,
        Kind::GlueDatabase => glue::delete_database(cx, live).await,
        Kind::GlueTable => glue::delete_table(cx, live).await,
        Kind::GlueCrawler => glue::delete_crawler(cx, live).await,
        Kind::Ec2SecurityGroup => ec2::delete_security_group(cx, live).await,
        Kind::Ec2Instance => ec2::terminate_instance(cx, live).await,
    }
}
