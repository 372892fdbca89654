//! The desired resource graph of a pipeline ([`desired`]): every resource the file needs on
//! AWS, with deterministic names, tags, dependency edges and access edges ([`Grant`]) from
//! which the role policies are derived; and the orders `apply` (dependencies first) and
//! `destroy` (dependents first) walk it in. Reading live state and calling AWS are not here.

use crate::iam::{self, Access};
use crate::names::{self, BucketRole, FunctionRole, NameError, Names};
use crate::partition;
use crate::resource::{
    BucketNotificationSpec, BucketSpec, Column, CrawlerSpec, DatabaseSpec, DeliveryStreamSpec,
    EventSourceMappingSpec, FirehoseCompression, FunctionSpec, InstanceProfileSpec, InstanceSpec,
    Kind, LambdaNotification, LogGroupSpec, ObjectSpec, PermissionSpec, RESOLVED_AT_CREATE,
    Resource, ResourceId, RolePolicySpec, RoleSpec, Rule, SecurityGroupSpec, Spec, StreamMode,
    StreamSpec, SubscriptionSpec, TableSpec, Tags, TopicSpec,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use stk_dsl::ir::{
    Arch, CatalogMode, Delivery, Ec2Runtime, InfluxSink, LakeSink, NotifyTarget,
    PartitionTransform, Pipeline, RawCompression, RawSink, RuntimeKind, SecretStore, SinkKind,
    SourceKind, Stream, StreamCapacity,
};

/// The environment variables the bootstrap reads (`runtime-lambda/src/config.rs`, `env`);
/// repeated here because the planner must not depend on the Lambda runtime.
pub mod env {
    pub const ERRORS_BUCKET: &str = "STK_ERRORS_BUCKET";
    pub const LAKE_BUCKET: &str = "STK_LAKE_BUCKET";
    pub const ALERTS_TOPIC_ARN: &str = "STK_ALERTS_TOPIC_ARN";
}

/// The retentions CloudWatch Logs accepts (PutRetentionPolicy), in days.
pub const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Memory and timeout of each function. transform holds one Kinesis batch; compact holds a
/// whole raw object and its records (it does not stream yet); notify a lake object and its
/// lookback.
const FUNCTION_SIZING: [(FunctionRole, u32, u32); 3] = [
    (FunctionRole::Transform, 256, 60),
    (FunctionRole::Compact, 1024, 300),
    (FunctionRole::Notify, 512, 120),
];
/// Kinesis event source mappings take at most 10,000 records a batch.
const MAX_ESM_BATCH: u32 = 10_000;
/// A tick is every 5 s per symbol; waiting 1 s for a fuller batch costs little latency.
const ESM_BATCHING_WINDOW_S: u32 = 1;
const MIB: u64 = 1 << 20;
/// The key prefix of the scraper's files in the artifacts bucket (`runtime-ec2`'s
/// `artifacts_key`: `<pipeline>/scraper/<file>`).
fn artifacts_prefix(pipeline: &str) -> String {
    format!("{pipeline}/scraper/")
}

/// The files `apply` uploads to the artifacts bucket: their logical names (the ids of their
/// `s3_object` resources) and keys.
pub mod artifacts {
    /// The Lambda package (`stkc package`'s zip); all three functions run it.
    pub const LAMBDA_PACKAGE: &str = "lambda/bootstrap.zip";
    /// The scraper daemon's binary, installed by the instance's user data.
    pub const SCRAPER: &str = "scraper/stk-scraper";
    /// The compiled pipeline the scraper loads.
    pub const SCRAPER_PIPELINE: &str = "scraper/pipeline.json";

    /// The object key of an artifact: `<pipeline>/<logical>`.
    pub fn key(pipeline: &str, logical: &str) -> String {
        format!("{pipeline}/{logical}")
    }

    /// The logical name of a key under the pipeline's prefix.
    pub fn logical<'k>(pipeline: &str, key: &'k str) -> Option<&'k str> {
        key.strip_prefix(pipeline)?.strip_prefix('/')
    }
}

/// Base64 SHA-256 of some bytes: how Lambda (`CodeSha256`) and S3 (`ChecksumSHA256`) print a
/// digest, and how the plan compares uploaded files.
pub fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// What the graph needs besides the file: where it goes and what it deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    pub account_id: String,
    /// The region to deploy to (the file's `region` unless `--region` says otherwise).
    pub region: String,
    /// The functions' `CodeSha256` (base64), from `stkc package`.
    pub lambda_code_sha256: String,
    /// The scraper instance's user data (`stkc compile --emit ec2`).
    pub user_data: String,
    /// Base64 SHA-256 of the scraper binary `apply` uploads (`stkc package`); needed when the
    /// pipeline runs on EC2.
    #[serde(default)]
    pub scraper_sha256: Option<String>,
    /// `x86_64` or `arm64`: how the bootstrap was built.
    pub lambda_architecture: String,
    pub log_retention_days: u32,
    /// The buckets' deny-non-TLS policy. Off only for emulator tests: moto denies every object
    /// call under it (docs/design/deploy.md).
    pub tls_only_buckets: bool,
}

impl Context {
    pub fn new(
        account_id: impl Into<String>,
        region: impl Into<String>,
        lambda_code_sha256: impl Into<String>,
        user_data: impl Into<String>,
    ) -> Context {
        Context {
            account_id: account_id.into(),
            region: region.into(),
            lambda_code_sha256: lambda_code_sha256.into(),
            user_data: user_data.into(),
            scraper_sha256: None,
            lambda_architecture: "x86_64".to_string(),
            log_retention_days: 30,
            tls_only_buckets: true,
        }
    }

    /// The same context with the scraper binary's digest.
    pub fn with_scraper(mut self, sha256: impl Into<String>) -> Context {
        self.scraper_sha256 = Some(sha256.into());
        self
    }
}

/// An access edge: `role` may do `access` to `target` (`resources` are the ARNs it covers).
/// The role policies are made from these and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub role: ResourceId,
    pub access: Access,
    /// The resource granted on; `None` for a secret the file references but stkc does not own.
    pub target: Option<ResourceId>,
    pub resources: Vec<String>,
}

/// Something the pipeline uses but stkc never creates: the InfluxDB token's secret. The plan
/// warns when the live snapshot says it does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct External {
    /// `secretsmanager:<name>` or `ssm:<name>`: its key in `Snapshot::externals`.
    pub key: String,
    pub store: SecretStore,
    pub name: String,
    pub arn: String,
    pub needed_by: ResourceId,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("{what}")]
    Unsupported { what: String },
    #[error(
        "a log retention of {0} days is not one CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)"
    )]
    LogRetention(u32),
    #[error("{from} depends on {to}, which is not in the graph")]
    MissingDependency { from: ResourceId, to: ResourceId },
    #[error("the resources {0} depend on each other in a cycle")]
    Cycle(String),
    #[error("the role {0} has nothing to do; it would get an empty policy")]
    IdleRole(ResourceId),
    #[error("{what} is not in the package; {help}")]
    MissingArtifact {
        what: &'static str,
        help: &'static str,
    },
    #[error("the compiled pipeline does not serialise: {0}")]
    Serialise(String),
}

/// The desired resources of one pipeline in one account and region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub names: Names,
    pub resources: BTreeMap<ResourceId, Resource>,
    pub grants: Vec<Grant>,
    pub externals: Vec<External>,
    /// Parts of the file that do nothing on AWS (a raw sink without a stream, ...).
    pub warnings: Vec<String>,
}

impl Graph {
    pub fn get(&self, id: &ResourceId) -> Option<&Resource> {
        self.resources.get(id)
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.values().filter(move |r| r.id.kind == kind)
    }

    /// The resources that depend on `id`.
    pub fn dependents(&self, id: &ResourceId) -> Vec<&ResourceId> {
        self.resources
            .values()
            .filter(|r| r.depends_on.contains(id))
            .map(|r| &r.id)
            .collect()
    }

    /// Every edge ends in the graph, and there is no cycle.
    pub fn check(&self) -> Result<(), GraphError> {
        for r in self.resources.values() {
            if let Some(to) = r
                .depends_on
                .iter()
                .find(|d| !self.resources.contains_key(*d))
            {
                return Err(GraphError::MissingDependency {
                    from: r.id.clone(),
                    to: to.clone(),
                });
            }
        }
        self.apply_waves().map(|_| ())
    }

    /// The order `apply` creates and updates in: each wave's resources depend only on earlier
    /// waves, so a wave's resources can be made in parallel. Within a wave, ids are sorted.
    pub fn apply_waves(&self) -> Result<Vec<Vec<ResourceId>>, GraphError> {
        let mut waiting: BTreeMap<&ResourceId, BTreeSet<&ResourceId>> = self
            .resources
            .values()
            .map(|r| {
                let deps: BTreeSet<&ResourceId> = r
                    .depends_on
                    .iter()
                    .filter(|d| self.resources.contains_key(*d))
                    .collect();
                (&r.id, deps)
            })
            .collect();
        let mut waves = Vec::new();
        while !waiting.is_empty() {
            let ready: Vec<&ResourceId> = waiting
                .iter()
                .filter(|(_, deps)| deps.is_empty())
                .map(|(id, _)| *id)
                .collect();
            if ready.is_empty() {
                let ids: Vec<String> = waiting.keys().map(|id| id.to_string()).collect();
                return Err(GraphError::Cycle(ids.join(", ")));
            }
            for id in &ready {
                waiting.remove(*id);
            }
            for deps in waiting.values_mut() {
                for id in &ready {
                    deps.remove(*id);
                }
            }
            waves.push(ready.into_iter().cloned().collect());
        }
        Ok(waves)
    }

    /// The order `destroy` deletes in: dependents before what they depend on.
    pub fn destroy_waves(&self) -> Result<Vec<Vec<ResourceId>>, GraphError> {
        let mut waves = self.apply_waves()?;
        waves.reverse();
        Ok(waves)
    }

    /// [`Graph::apply_waves`], one resource at a time.
    pub fn apply_order(&self) -> Result<Vec<ResourceId>, GraphError> {
        Ok(self.apply_waves()?.into_iter().flatten().collect())
    }

    /// [`Graph::destroy_waves`], one resource at a time.
    pub fn destroy_order(&self) -> Result<Vec<ResourceId>, GraphError> {
        Ok(self.destroy_waves()?.into_iter().flatten().collect())
    }
}

/// Hex SHA-256 of the scraper's user data: the attribute the plan compares.
pub fn user_data_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The pipeline's parts that become AWS resources.
struct Parts<'a> {
    stream: Option<&'a Stream>,
    raw: Option<&'a RawSink>,
    lake: Option<&'a LakeSink>,
    influx: Option<&'a InfluxSink>,
    ec2: Option<&'a Ec2Runtime>,
}

/// The sinks of one kind, picked out of their enum.
fn sinks<'a, T>(ir: &'a Pipeline, pick: impl Fn(&'a SinkKind) -> Option<&'a T>) -> Vec<&'a T> {
    ir.sinks.iter().filter_map(|s| pick(&s.kind)).collect()
}

impl<'a> Parts<'a> {
    fn of(ir: &'a Pipeline) -> Result<Parts<'a>, GraphError> {
        let raw = sinks(ir, |k| match k {
            SinkKind::S3Json(r) => Some(r),
            _ => None,
        });
        let lake = sinks(ir, |k| match k {
            SinkKind::S3Parquet(l) => Some(l),
            _ => None,
        });
        let influx = sinks(ir, |k| match k {
            SinkKind::Influxdb(i) => Some(i),
            _ => None,
        });
        for (kind, count) in [
            ("s3_json", raw.len()),
            ("s3_parquet", lake.len()),
            ("influxdb", influx.len()),
        ] {
            if count > 1 {
                return Err(GraphError::Unsupported {
                    what: format!(
                        "the pipeline has {count} `{kind}` sinks; stkc deploys at most one of each kind"
                    ),
                });
            }
        }
        let ec2 = ir.runtime.as_ref().map(|r| match &r.kind {
            RuntimeKind::Ec2(e) => e,
        });
        Ok(Parts {
            stream: ir.stream.as_ref(),
            raw: raw.first().copied(),
            lake: lake.first().copied(),
            influx: influx.first().copied(),
            ec2,
        })
    }
}

/// A resource made, with what others refer to it by.
#[derive(Debug, Clone)]
struct Made {
    id: ResourceId,
    name: String,
    arn: String,
}

struct Builder<'a> {
    ir: &'a Pipeline,
    ctx: &'a Context,
    n: Names,
    tags: Tags,
    resources: BTreeMap<ResourceId, Resource>,
    grants: Vec<Grant>,
    externals: Vec<External>,
    warnings: Vec<String>,
    /// The artifacts bucket, when something is deployed from it.
    artifacts: Option<Made>,
}

impl Builder<'_> {
    /// Adds a resource with the pipeline's tags (when its kind takes tags).
    fn add(&mut self, r: Resource) -> ResourceId {
        let id = r.id.clone();
        self.resources.insert(id.clone(), r.with_tags(&self.tags));
        id
    }

    /// Adds an EC2 resource, which also carries a `Name` tag (the console shows it).
    fn add_named(&mut self, r: Resource) -> ResourceId {
        let mut r = r.with_tags(&self.tags);
        r.tags.insert("Name".to_string(), r.name.clone());
        let id = r.id.clone();
        self.resources.insert(id.clone(), r);
        id
    }

    fn made(&mut self, r: Resource) -> Made {
        let (name, arn) = (r.name.clone(), r.arn.clone().unwrap_or_default());
        let id = self.add(r);
        Made { id, name, arn }
    }

    fn grant(
        &mut self,
        role: &Made,
        access: Access,
        target: Option<&Made>,
        resources: Vec<String>,
    ) {
        self.grants.push(Grant {
            role: role.id.clone(),
            access,
            target: target.map(|t| t.id.clone()),
            resources,
        });
    }

    /// A role a service assumes, named `stk-<pipeline>-<logical>`.
    fn role(&mut self, logical: &str, service: &str, external_id: Option<&str>) -> Made {
        let name = self.n.aws_name(logical);
        let arn = self.n.role_arn(&name);
        let spec = RoleSpec {
            path: "/".to_string(),
            description: format!("stk pipeline {}: {logical}", self.ir.name),
            assume_role_policy: iam::trust_policy(service, external_id),
        };
        self.made(Resource::new(logical, name, Spec::IamRole(spec)).with_arn(arn))
    }

    fn bucket(
        &mut self,
        role: BucketRole,
        versioned: bool,
        expiry: Option<u32>,
    ) -> Result<Made, GraphError> {
        let name = self.n.bucket(role)?;
        let arn = self.n.bucket_arn(&name);
        let spec = BucketSpec {
            block_public_access: true,
            encryption: "AES256".to_string(),
            versioning: versioned,
            expire_after_days: expiry,
            policy: self
                .ctx
                .tls_only_buckets
                .then(|| iam::tls_only_bucket_policy(&arn)),
        };
        Ok(self.made(Resource::new(role.as_str(), name, Spec::S3Bucket(spec)).with_arn(arn)))
    }

    /// A file `apply` uploads to the artifacts bucket (`None` without that bucket).
    fn artifact(&mut self, logical: &str, sha256: String) -> Option<ResourceId> {
        let bucket = self.artifacts.clone()?;
        let key = artifacts::key(&self.ir.name, logical);
        let spec = ObjectSpec {
            bucket: bucket.name,
            sha256,
        };
        Some(self.add(Resource::new(logical, key, Spec::S3Object(spec)).after([bucket.id])))
    }

    /// A function with its role (grants added by the caller) and log group.
    fn function(&mut self, f: FunctionRole, environment: BTreeMap<String, String>) -> (Made, Made) {
        let logical = f.as_str();
        let role = self.role(logical, "lambda.amazonaws.com", None);
        let log_name = self.n.log_group(f);
        let log_arn = self.n.log_group_arn(&log_name);
        let log = self.made(
            Resource::new(
                logical,
                log_name.clone(),
                Spec::LogGroup(LogGroupSpec {
                    retention_days: self.ctx.log_retention_days,
                }),
            )
            .with_arn(log_arn),
        );
        let streams = self.n.log_streams_arn(&log_name);
        self.grant(&role, Access::WriteLogs, Some(&log), vec![streams]);
        let (memory_mb, timeout_s) = FUNCTION_SIZING
            .iter()
            .find(|(g, _, _)| *g == f)
            .map_or((256, 60), |(_, m, t)| (*m, *t));
        let name = self.n.function(f);
        let arn = self.n.function_arn(&name);
        let spec = FunctionSpec {
            runtime: "provided.al2023".to_string(),
            handler: logical.to_string(),
            architecture: self.ctx.lambda_architecture.clone(),
            memory_mb,
            timeout_s,
            role_arn: role.arn.clone(),
            code_sha256: self.ctx.lambda_code_sha256.clone(),
            environment,
            log_group: log_name,
        };
        let package = self.artifact(
            artifacts::LAMBDA_PACKAGE,
            self.ctx.lambda_code_sha256.clone(),
        );
        let function = self.made(
            Resource::new(logical, name, Spec::LambdaFunction(spec))
                .with_arn(arn)
                .after([role.id.clone(), policy_id(logical), log.id.clone()])
                .after(package),
        );
        (function, role)
    }

    /// Lets S3 invoke a function, and the bucket's notification that does.
    fn s3_trigger(&mut self, function: &Made, bucket: &Made, rule: LambdaNotification) {
        let logical = function.id.name.clone();
        let permission = self.add(
            Resource::new(
                logical,
                "stk-s3-invoke",
                Spec::LambdaPermission(PermissionSpec {
                    function_name: function.name.clone(),
                    action: "lambda:InvokeFunction".to_string(),
                    principal: "s3.amazonaws.com".to_string(),
                    source_arn: bucket.arn.clone(),
                    source_account: self.n.account_id.clone(),
                }),
            )
            .after([function.id.clone(), bucket.id.clone()]),
        );
        self.add(
            Resource::new(
                bucket.id.name.clone(),
                bucket.name.clone(),
                Spec::S3BucketNotification(BucketNotificationSpec { lambda: vec![rule] }),
            )
            .after([bucket.id.clone(), permission, function.id.clone()]),
        );
    }
}

fn policy_id(logical: &str) -> ResourceId {
    ResourceId::new(Kind::IamRolePolicy, logical)
}

/// The desired graph of `ir` deployed with `ctx`.
pub fn desired(ir: &Pipeline, ctx: &Context) -> Result<Graph, GraphError> {
    if !LOG_RETENTION_DAYS.contains(&ctx.log_retention_days) {
        return Err(GraphError::LogRetention(ctx.log_retention_days));
    }
    let parts = Parts::of(ir)?;
    let mut b = Builder {
        ir,
        ctx,
        n: Names::new(ir, &ctx.account_id, &ctx.region)?,
        tags: names::tags(ir),
        resources: BTreeMap::new(),
        grants: Vec::new(),
        externals: Vec::new(),
        warnings: Vec::new(),
        artifacts: None,
    };
    let realtime_alerts = ir.alerts.iter().any(|a| a.delivery == Delivery::Realtime);
    let transform = parts.influx.is_some() && parts.stream.is_some();
    let compact = parts.lake.is_some() && parts.raw.is_some();
    let notify = parts.lake.is_some()
        && ir
            .alerts
            .iter()
            .any(|a| a.delivery == Delivery::NearRealTime);
    warn_about_gaps(&mut b, &parts, realtime_alerts);

    // Storage first: everything else refers to it.
    let stream = parts.stream.map(|s| stream(&mut b, s));
    let raw = match parts.raw {
        Some(r) => Some(b.bucket(BucketRole::Raw, true, r.retention_days)?),
        None => None,
    };
    let lake = match parts.lake {
        Some(l) => Some(b.bucket(BucketRole::Lake, true, l.retention_days)?),
        None => None,
    };
    let errors = if transform || compact {
        Some(b.bucket(BucketRole::Errors, false, None)?)
    } else {
        None
    };
    // The Lambda package and the scraper's files are uploaded here.
    let artifacts = if parts.ec2.is_some() || transform || compact || notify {
        Some(b.bucket(BucketRole::Artifacts, false, None)?)
    } else {
        None
    };
    b.artifacts = artifacts.clone();
    let topic = (!ir.alerts.is_empty()).then(|| alerts(&mut b));

    if let (Some(raw_sink), Some(raw), Some(stream)) = (parts.raw, &raw, &stream) {
        firehose(&mut b, raw_sink, raw, stream);
    }
    if let (true, Some(influx), Some(stream), Some(errors)) =
        (transform, parts.influx, &stream, &errors)
    {
        transform_function(&mut b, influx, stream, errors);
    }
    if let (true, Some(raw_sink), Some(raw), Some(lake), Some(errors)) =
        (compact, parts.raw, &raw, &lake, &errors)
    {
        let env = BTreeMap::from([
            (env::LAKE_BUCKET.to_string(), lake.name.clone()),
            (env::ERRORS_BUCKET.to_string(), errors.name.clone()),
        ]);
        let (function, role) = b.function(FunctionRole::Compact, env);
        b.grant(
            &role,
            Access::ReadObjects,
            Some(raw),
            vec![b.n.objects_arn(&raw.name, "")],
        );
        b.grant(
            &role,
            Access::WriteObjects,
            Some(lake),
            vec![b.n.objects_arn(&lake.name, "")],
        );
        let dead = b.n.objects_arn(&errors.name, "compact/");
        b.grant(&role, Access::WriteObjects, Some(errors), vec![dead]);
        let rule = LambdaNotification {
            id: "stk-compact".to_string(),
            function_arn: function.arn.clone(),
            events: vec!["s3:ObjectCreated:*".to_string()],
            prefix: partition::data_prefix(&raw_sink.partition),
            suffix: None,
        };
        b.s3_trigger(&function, raw, rule);
    }
    if let (true, Some(lake), Some(topic)) = (notify, &lake, &topic) {
        let env = BTreeMap::from([(env::ALERTS_TOPIC_ARN.to_string(), topic.arn.clone())]);
        let (function, role) = b.function(FunctionRole::Notify, env);
        b.grant(
            &role,
            Access::ReadObjects,
            Some(lake),
            vec![b.n.objects_arn(&lake.name, "")],
        );
        b.grant(
            &role,
            Access::ListBucket,
            Some(lake),
            vec![lake.arn.clone()],
        );
        b.grant(&role, Access::Publish, Some(topic), vec![topic.arn.clone()]);
        let rule = LambdaNotification {
            id: "stk-notify".to_string(),
            function_arn: function.arn.clone(),
            events: vec!["s3:ObjectCreated:*".to_string()],
            prefix: None,
            suffix: Some(".parquet".to_string()),
        };
        b.s3_trigger(&function, lake, rule);
    }
    if let (Some(lake_sink), Some(lake)) = (parts.lake, &lake) {
        catalog(&mut b, lake_sink, lake);
    }
    if let (Some(rt), Some(artifacts)) = (parts.ec2, &artifacts) {
        let topic = topic.as_ref().filter(|_| realtime_alerts);
        scraper(&mut b, rt, artifacts, stream.as_ref(), topic)?;
    }
    role_policies(&mut b)?;

    let graph = Graph {
        names: b.n,
        resources: b.resources,
        grants: b.grants,
        externals: b.externals,
        warnings: b.warnings,
    };
    graph.check()?;
    Ok(graph)
}

fn warn_about_gaps(b: &mut Builder<'_>, parts: &Parts<'_>, realtime_alerts: bool) {
    let no_stream = parts.stream.is_none();
    if parts.raw.is_some() && no_stream {
        b.warnings.push("on AWS Firehose fills the raw bucket from the stream, and the pipeline has no `stream` block: the raw bucket and the lake stay empty".into());
    }
    if parts.influx.is_some() && no_stream {
        b.warnings.push("on AWS the transform function writes InfluxDB from the stream, and the pipeline has no `stream` block: the influxdb sink is not deployed".into());
    }
    if parts.ec2.is_some() && no_stream {
        b.warnings.push(
            "the scraper sends its ticks to the stream, and the pipeline has no `stream` block"
                .into(),
        );
    }
    if parts.ec2.is_none() && !no_stream {
        b.warnings.push("without a `runtime` block nothing on AWS writes to the stream: run the scraper elsewhere".into());
    }
    if parts.ec2.is_none() && realtime_alerts {
        b.warnings.push("realtime alerts are evaluated by the scraper, and the pipeline has no `runtime` block: they do not run on AWS".into());
    }
}

fn stream(b: &mut Builder<'_>, s: &Stream) -> Made {
    let name = b.n.aws_name(&s.name);
    let arn = b.n.stream_arn(&name);
    let (mode, shard_count) = match s.capacity {
        StreamCapacity::Provisioned { shards } => (StreamMode::Provisioned, Some(shards)),
        StreamCapacity::OnDemand => (StreamMode::OnDemand, None),
    };
    let spec = StreamSpec {
        mode,
        shard_count,
        retention_hours: s.retention_hours,
        encryption: "KMS".to_string(),
        kms_key: "alias/aws/kinesis".to_string(),
    };
    // One stream per pipeline: its logical name is fixed, so renaming the block replaces it.
    b.made(Resource::new("stream", name, Spec::KinesisStream(spec)).with_arn(arn))
}

fn alerts(b: &mut Builder<'_>) -> Made {
    let name = b.n.aws_name("alerts");
    let arn = b.n.topic_arn(&name);
    let topic = b.made(
        Resource::new(
            "alerts",
            name,
            Spec::SnsTopic(TopicSpec {
                display_name: format!("stk {}", b.ir.name),
            }),
        )
        .with_arn(arn),
    );
    let mut addresses = BTreeSet::new();
    for alert in &b.ir.alerts {
        for target in &alert.notify {
            match target {
                NotifyTarget::Email(address) => {
                    addresses.insert(address.clone());
                }
            }
        }
    }
    for address in addresses {
        let spec = SubscriptionSpec {
            topic_arn: topic.arn.clone(),
            protocol: "email".to_string(),
            endpoint: address.clone(),
        };
        b.add(
            Resource::new(address.clone(), address, Spec::SnsSubscription(spec))
                .after([topic.id.clone()]),
        );
    }
    topic
}

fn firehose(b: &mut Builder<'_>, sink: &RawSink, raw: &Made, stream: &Made) {
    let account = b.n.account_id.clone();
    let role = b.role("firehose", "firehose.amazonaws.com", Some(&account));
    b.grant(
        &role,
        Access::FirehoseSource,
        Some(stream),
        vec![stream.arn.clone()],
    );
    let objects = b.n.objects_arn(&raw.name, "");
    b.grant(
        &role,
        Access::FirehoseDelivery,
        Some(raw),
        vec![raw.arn.clone(), objects],
    );
    let partitioned = !sink.partition.is_empty();
    let pack = b.ir.stream.as_ref().map_or(1, |s| s.pack);
    let spec = DeliveryStreamSpec {
        source_stream_arn: stream.arn.clone(),
        role_arn: role.arn.clone(),
        bucket_arn: raw.arn.clone(),
        prefix: partition::firehose_prefix(&sink.partition),
        error_output_prefix: partition::firehose_error_prefix(partitioned),
        buffer_interval_s: sink.buffer_interval_s,
        buffer_size_mib: u32::try_from(sink.buffer_size_bytes / MIB).unwrap_or(u32::MAX),
        compression: match sink.compression {
            RawCompression::None => FirehoseCompression::Uncompressed,
            RawCompression::Gzip => FirehoseCompression::Gzip,
        },
        dynamic_partitioning: partitioned,
        partition_query: partition::jq_query(&sink.partition, &b.ir.schema),
        deaggregate_json: pack > 1,
        newline_delimiter: true,
    };
    let name = b.n.aws_name("raw");
    let arn = b.n.delivery_stream_arn(&name);
    b.add(
        Resource::new("raw", name, Spec::FirehoseDeliveryStream(spec))
            .with_arn(arn)
            .after([
                stream.id.clone(),
                raw.id.clone(),
                role.id.clone(),
                policy_id("firehose"),
            ]),
    );
}

fn transform_function(b: &mut Builder<'_>, influx: &InfluxSink, stream: &Made, errors: &Made) {
    let env = BTreeMap::from([(env::ERRORS_BUCKET.to_string(), errors.name.clone())]);
    let (function, role) = b.function(FunctionRole::Transform, env);
    b.grant(
        &role,
        Access::KinesisConsume,
        Some(stream),
        vec![stream.arn.clone()],
    );
    // Dead letters, and the mapping's on-failure destination (written with this role).
    let dead = b.n.objects_arn(&errors.name, "transform/");
    let failed = b.n.objects_arn(&errors.name, "aws/lambda/");
    b.grant(
        &role,
        Access::WriteObjects,
        Some(errors),
        vec![dead, failed],
    );
    b.grant(
        &role,
        Access::ListBucket,
        Some(errors),
        vec![errors.arn.clone()],
    );
    let secret_arn = b.n.secret_arn(&influx.token);
    let (access, store) = match influx.token.store {
        SecretStore::SecretsManager => (Access::ReadSecret, "secretsmanager"),
        SecretStore::Ssm => (Access::ReadParameter, "ssm"),
    };
    b.grant(&role, access, None, vec![secret_arn.clone()]);
    b.externals.push(External {
        key: format!("{store}:{}", influx.token.name),
        store: influx.token.store,
        name: influx.token.name.clone(),
        arn: secret_arn,
        needed_by: function.id.clone(),
    });

    let s = b.ir.stream.as_ref();
    let pack = s.map_or(1, |s| s.pack.max(1));
    let retention_s = i64::from(s.map_or(24, |s| s.retention_hours)) * 3600;
    // A batch that keeps failing goes to the errors bucket an hour before Kinesis would
    // drop it (the mapping allows 60 s to 7 days).
    let max_age = (retention_s - 3600).clamp(60, 604_800);
    let spec = EventSourceMappingSpec {
        event_source_arn: stream.arn.clone(),
        starting_position: "TRIM_HORIZON".to_string(),
        batch_size: (influx.batch_size / pack).clamp(1, MAX_ESM_BATCH),
        maximum_batching_window_s: ESM_BATCHING_WINDOW_S,
        bisect_batch_on_function_error: true,
        function_response_types: vec!["ReportBatchItemFailures".to_string()],
        maximum_retry_attempts: -1,
        maximum_record_age_s: i32::try_from(max_age).unwrap_or(604_800),
        on_failure_destination: Some(errors.arn.clone()),
        enabled: true,
    };
    b.add(
        Resource::new(
            "transform",
            function.name.clone(),
            Spec::LambdaEventSourceMapping(spec),
        )
        .after([
            function.id.clone(),
            stream.id.clone(),
            errors.id.clone(),
            policy_id("transform"),
        ]),
    );
}

fn catalog(b: &mut Builder<'_>, sink: &LakeSink, lake: &Made) {
    let Some(cat) = &sink.catalog else { return };
    let schema = &b.ir.schema;
    let db_arn = b.n.glue_database_arn(&cat.database);
    let database = b.made(
        Resource::new(
            "lake",
            cat.database.clone(),
            Spec::GlueDatabase(DatabaseSpec {
                description: format!("stk pipeline {}: the Parquet lake", b.ir.name),
            }),
        )
        .with_arn(db_arn),
    );
    // Identity partition columns live in the path, not in the Parquet files.
    let in_path: BTreeSet<&str> = sink
        .partition
        .iter()
        .filter(|k| k.transform == PartitionTransform::Identity)
        .map(|k| k.field.as_str())
        .collect();
    let columns = schema
        .fields
        .iter()
        .filter(|f| !in_path.contains(f.name.as_str()))
        .map(|f| Column {
            name: f.name.clone(),
            ty: partition::glue_type(f.ty).to_string(),
        })
        .collect();
    let partition_keys = sink
        .partition
        .iter()
        .map(|k| Column {
            name: k.name.clone(),
            ty: partition::partition_column_type(k, schema).to_string(),
        })
        .collect();
    let location = format!("s3://{}/", lake.name);
    let mut parameters = BTreeMap::from([("classification".to_string(), "parquet".to_string())]);
    if cat.mode == CatalogMode::Projection {
        let symbols: Vec<String> =
            b.ir.sources
                .iter()
                .flat_map(|s| match &s.kind {
                    SourceKind::Yahoo(y) => y.symbols.clone(),
                    SourceKind::Replay(_) => Vec::new(),
                })
                .collect();
        parameters.extend(partition::projection(
            &sink.partition,
            schema,
            &location,
            &symbols,
        ));
    }
    let spec = TableSpec {
        database: cat.database.clone(),
        table_type: "EXTERNAL_TABLE".to_string(),
        location,
        columns,
        partition_keys,
        input_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat".to_string(),
        output_format: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat".to_string(),
        serde_library: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe".to_string(),
        parameters,
    };
    let table_arn = b.n.glue_table_arn(&cat.database, &cat.table);
    let table = b.made(
        Resource::new("lake", cat.table.clone(), Spec::GlueTable(spec))
            .with_arn(table_arn)
            .after([database.id.clone(), lake.id.clone()]),
    );
    let CatalogMode::Crawler { schedule } = &cat.mode else {
        return;
    };
    let role = b.role("crawler", "glue.amazonaws.com", None);
    let catalog_arns = vec![
        b.n.glue_catalog_arn(),
        database.arn.clone(),
        table.arn.clone(),
    ];
    b.grant(&role, Access::CatalogPartitions, Some(&table), catalog_arns);
    b.grant(
        &role,
        Access::ReadObjects,
        Some(lake),
        vec![b.n.objects_arn(&lake.name, "")],
    );
    b.grant(
        &role,
        Access::ListBucket,
        Some(lake),
        vec![lake.arn.clone()],
    );
    let crawler_logs = "/aws-glue/crawlers";
    let logs = vec![
        b.n.log_group_arn(crawler_logs),
        b.n.log_streams_arn(crawler_logs),
    ];
    b.grant(&role, Access::CreateAndWriteLogs, None, logs);
    let name = b.n.aws_name("lake");
    let arn = b.n.glue_crawler_arn(&name);
    let spec = CrawlerSpec {
        role_arn: role.arn.clone(),
        database: cat.database.clone(),
        table: cat.table.clone(),
        schedule: schedule.clone(),
        update_behavior: "LOG".to_string(),
        delete_behavior: "LOG".to_string(),
        configuration: serde_json::json!({
            "Version": 1.0,
            "CrawlerOutput": { "Partitions": { "AddOrUpdateBehavior": "InheritFromTable" } }
        }),
    };
    b.add(
        Resource::new("lake", name, Spec::GlueCrawler(spec))
            .with_arn(arn)
            .after([
                table.id.clone(),
                role.id.clone(),
                policy_id("crawler"),
                lake.id.clone(),
            ]),
    );
}

fn scraper(
    b: &mut Builder<'_>,
    rt: &Ec2Runtime,
    artifacts: &Made,
    stream: Option<&Made>,
    topic: Option<&Made>,
) -> Result<(), GraphError> {
    let binary = b
        .ctx
        .scraper_sha256
        .clone()
        .ok_or(GraphError::MissingArtifact {
            what: "the scraper binary (stk-scraper)",
            help: "run `stkc package FILE --out DIR` (it adds the scraper beside the Lambda package)",
        })?;
    let compiled =
        b.ir.to_json()
            .map_err(|e| GraphError::Serialise(e.to_string()))?;
    let uploads = [
        b.artifact(artifacts::SCRAPER, binary),
        b.artifact(
            artifacts::SCRAPER_PIPELINE,
            sha256_base64(compiled.as_bytes()),
        ),
    ];
    let role = b.role("scraper", "ec2.amazonaws.com", None);
    let files =
        b.n.objects_arn(&artifacts.name, &artifacts_prefix(&b.ir.name));
    b.grant(&role, Access::ReadObjects, Some(artifacts), vec![files]);
    if let Some(stream) = stream {
        b.grant(
            &role,
            Access::KinesisProduce,
            Some(stream),
            vec![stream.arn.clone()],
        );
    }
    if let Some(topic) = topic {
        b.grant(&role, Access::Publish, Some(topic), vec![topic.arn.clone()]);
    }
    let name = b.n.aws_name("scraper");
    let profile_arn = b.n.instance_profile_arn(&name);
    let profile = b.made(
        Resource::new(
            "scraper",
            name.clone(),
            Spec::IamInstanceProfile(InstanceProfileSpec {
                path: "/".to_string(),
                role: role.name.clone(),
            }),
        )
        .with_arn(profile_arn)
        .after([role.id.clone()]),
    );
    let mut ingress = vec![Rule {
        protocol: "tcp".to_string(),
        from_port: 22,
        to_port: 22,
        cidr: rt.ssh_from.clone(),
    }];
    ingress.sort();
    let group = b.add_named(Resource::new(
        "scraper",
        name.clone(),
        Spec::Ec2SecurityGroup(SecurityGroupSpec {
            description: format!(
                "stk pipeline {}: the scraper, SSH from one address only",
                b.ir.name
            ),
            network: rt
                .subnet
                .as_ref()
                .map_or_else(|| "default-vpc".to_string(), |s| format!("vpc-of:{s}")),
            ingress,
            // The default rule: the scraper reaches Yahoo, its proxies and AWS.
            egress: vec![Rule {
                protocol: "-1".to_string(),
                from_port: -1,
                to_port: -1,
                cidr: "0.0.0.0/0".to_string(),
            }],
        }),
    ));
    let arch = match rt.arch {
        Arch::Arm64 => "arm64",
        Arch::X86_64 => "x86_64",
    };
    let image = rt.ami.clone().unwrap_or_else(|| {
        format!("{RESOLVED_AT_CREATE}/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}")
    });
    let spec = InstanceSpec {
        image,
        instance_type: rt.instance_type.clone(),
        subnet: rt.subnet.clone(),
        key_name: rt.key_name.clone(),
        instance_profile: profile.name.clone(),
        security_group: name.clone(),
        metadata_http_tokens: "required".to_string(),
        root_volume_gib: rt.volume_gib,
        root_volume_type: "gp3".to_string(),
        root_volume_encrypted: true,
        user_data_sha256: user_data_digest(&b.ctx.user_data),
    };
    let mut after = vec![
        group,
        profile.id.clone(),
        policy_id("scraper"),
        artifacts.id.clone(),
    ];
    after.extend(stream.map(|s| s.id.clone()));
    after.extend(topic.map(|t| t.id.clone()));
    after.extend(uploads.into_iter().flatten());
    b.add_named(Resource::new("scraper", name, Spec::Ec2Instance(spec)).after(after));
    Ok(())
}

/// Each role's inline policy, from its grants.
fn role_policies(b: &mut Builder<'_>) -> Result<(), GraphError> {
    let roles: Vec<(ResourceId, String)> = b
        .resources
        .values()
        .filter(|r| r.id.kind == Kind::IamRole)
        .map(|r| (r.id.clone(), r.name.clone()))
        .collect();
    for (role, name) in roles {
        let grants: Vec<&crate::graph::Grant> =
            b.grants.iter().filter(|g| g.role == role).collect();
        let document =
            iam::role_policy(&grants).ok_or_else(|| GraphError::IdleRole(role.clone()))?;
        let spec = RolePolicySpec {
            role: name.clone(),
            document,
        };
        b.add(Resource::new(role.name.clone(), name, Spec::IamRolePolicy(spec)).after([role]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{self, STOCKS};

    fn ids(g: &Graph) -> Vec<String> {
        g.resources.keys().map(ResourceId::to_string).collect()
    }

    fn id_set(g: &Graph) -> BTreeSet<String> {
        ids(g).into_iter().collect()
    }

    #[test]
    fn the_stocks_pipeline_has_every_resource_of_the_issue() {
        let g = testutil::graph(STOCKS);
        let want = [
            "iam_role.compact",
            "iam_role.crawler",
            "iam_role.firehose",
            "iam_role.scraper",
            "iam_role.transform",
            "iam_role_policy.compact",
            "iam_role_policy.crawler",
            "iam_role_policy.firehose",
            "iam_role_policy.scraper",
            "iam_role_policy.transform",
            "iam_instance_profile.scraper",
            "kinesis_stream.stream",
            "s3_bucket.artifacts",
            "s3_bucket.errors",
            "s3_bucket.lake",
            "s3_bucket.raw",
            "s3_object.lambda/bootstrap.zip",
            "s3_object.scraper/pipeline.json",
            "s3_object.scraper/stk-scraper",
            "log_group.compact",
            "log_group.transform",
            "sns_topic.alerts",
            "sns_subscription.alerts@example.com",
            "firehose_delivery_stream.raw",
            "lambda_function.compact",
            "lambda_function.transform",
            "lambda_event_source_mapping.transform",
            "lambda_permission.compact",
            "s3_bucket_notification.raw",
            "glue_database.lake",
            "glue_table.lake",
            "glue_crawler.lake",
            "ec2_security_group.scraper",
            "ec2_instance.scraper",
        ];
        // stocks.stk's one alert is realtime: no notify function.
        assert_eq!(ids(&g), want);
        assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    }

    #[test]
    fn names_tags_and_settings_of_stocks() {
        let g = testutil::graph(STOCKS);
        let get = |id: &str| {
            g.resources
                .values()
                .find(|r| r.id.to_string() == id)
                .unwrap_or_else(|| panic!("no {id}"))
        };
        let stream = get("kinesis_stream.stream");
        assert_eq!(stream.name, "stk-stocks-ticks");
        assert_eq!(stream.tags["stk:pipeline"], "stocks");
        assert_eq!(stream.tags["stk:managed-by"], "stkc");
        assert_eq!(stream.tags["project"], "stocks");
        let Spec::KinesisStream(s) = &stream.spec else {
            panic!()
        };
        assert_eq!(
            (s.mode, s.shard_count, s.retention_hours),
            (StreamMode::Provisioned, Some(1), 24)
        );

        let Spec::FirehoseDeliveryStream(f) = &get("firehose_delivery_stream.raw").spec else {
            panic!()
        };
        assert_eq!((f.buffer_interval_s, f.buffer_size_mib), (60, 64));
        assert!(f.dynamic_partitioning && f.newline_delimiter && !f.deaggregate_json);
        assert_eq!(f.source_stream_arn, stream.arn.clone().unwrap());

        let Spec::LambdaEventSourceMapping(m) = &get("lambda_event_source_mapping.transform").spec
        else {
            panic!()
        };
        assert_eq!(m.batch_size, 5_000);
        assert_eq!(m.maximum_record_age_s, 23 * 3600);
        assert!(m.bisect_batch_on_function_error);
        assert_eq!(m.function_response_types, ["ReportBatchItemFailures"]);

        let Spec::LambdaFunction(t) = &get("lambda_function.transform").spec else {
            panic!()
        };
        assert_eq!(t.runtime, "provided.al2023");
        assert_eq!(t.handler, "transform");
        assert_eq!(
            t.environment["STK_ERRORS_BUCKET"],
            "stk-stocks-errors-123456789012-eu-central-1"
        );

        let raw = get("s3_bucket.raw");
        let Spec::S3Bucket(rb) = &raw.spec else {
            panic!()
        };
        assert!(rb.block_public_access && rb.versioning && rb.policy.is_some());
        let Spec::S3Bucket(eb) = &get("s3_bucket.errors").spec else {
            panic!()
        };
        assert!(!eb.versioning);

        let Spec::S3BucketNotification(nt) = &get("s3_bucket_notification.raw").spec else {
            panic!()
        };
        assert_eq!(nt.lambda[0].prefix.as_deref(), Some("date="));

        let Spec::GlueTable(table) = &get("glue_table.lake").spec else {
            panic!()
        };
        assert!(!table.columns.iter().any(|c| c.name == "symbol"));
        let keys: Vec<&str> = table
            .partition_keys
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(keys, ["date", "symbol"]);
        let Spec::GlueCrawler(crawler) = &get("glue_crawler.lake").spec else {
            panic!()
        };
        assert_eq!(crawler.schedule, "cron(0 2 * * ? *)");

        let instance = get("ec2_instance.scraper");
        assert_eq!(instance.tags["Name"], "stk-stocks-scraper");
        let Spec::Ec2Instance(i) = &instance.spec else {
            panic!()
        };
        assert!(
            i.image.ends_with("al2023-ami-kernel-default-arm64"),
            "{}",
            i.image
        );
        assert_eq!(i.metadata_http_tokens, "required");
        assert!(i.root_volume_encrypted);
        assert_eq!(i.user_data_sha256.len(), 64);
        let Spec::Ec2SecurityGroup(sg) = &get("ec2_security_group.scraper").spec else {
            panic!()
        };
        assert_eq!(sg.ingress.len(), 1);
        assert_eq!(
            (sg.ingress[0].from_port, sg.ingress[0].cidr.as_str()),
            (22, "203.0.113.7/32")
        );

        // Untaggable kinds carry no tags; their owner's tags stand for them.
        assert!(get("iam_role_policy.transform").tags.is_empty());
        assert!(get("sns_subscription.alerts@example.com").tags.is_empty());
        assert_eq!(g.externals.len(), 1);
        assert_eq!(g.externals[0].key, "secretsmanager:stocks/influx-token");
    }

    #[test]
    fn waves_put_dependencies_first_and_kinds_are_in_creation_order() {
        let g = testutil::graph(STOCKS);
        let waves = g.apply_waves().unwrap();
        let wave_of: BTreeMap<&ResourceId, usize> = waves
            .iter()
            .enumerate()
            .flat_map(|(i, w)| w.iter().map(move |id| (id, i)))
            .collect();
        assert_eq!(wave_of.len(), g.resources.len());
        for r in g.resources.values() {
            for d in &r.depends_on {
                assert!(wave_of[d] < wave_of[&r.id], "{} before {}", d, r.id);
                assert!(
                    d.kind < r.id.kind,
                    "{} depends on the later kind {}",
                    r.id,
                    d
                );
            }
        }
        let destroy = g.destroy_order().unwrap();
        let mut apply = g.apply_order().unwrap();
        apply.reverse();
        assert_eq!(destroy.len(), apply.len());
        let pos = |id: &ResourceId| destroy.iter().position(|x| x == id).unwrap();
        for r in g.resources.values() {
            for d in &r.depends_on {
                assert!(pos(&r.id) < pos(d), "destroy {} before {}", r.id, d);
            }
        }
        assert!(
            g.dependents(&ResourceId::new(Kind::KinesisStream, "stream"))
                .len()
                >= 3
        );
    }

    #[test]
    fn a_cycle_is_reported() {
        let mut g = testutil::graph(STOCKS);
        let topic = ResourceId::new(Kind::SnsTopic, "alerts");
        let sub = ResourceId::new(Kind::SnsSubscription, "alerts@example.com");
        g.resources.get_mut(&topic).unwrap().depends_on.insert(sub);
        assert!(matches!(g.check(), Err(GraphError::Cycle(_))));
    }

    #[test]
    fn near_real_time_alerts_get_the_notify_function() {
        let src = testutil::edited(
            "severity = warning",
            "severity = warning\n  delivery = near_real_time",
        );
        let g = testutil::graph(&src);
        let ids = id_set(&g);
        for id in [
            "lambda_function.notify",
            "lambda_permission.notify",
            "s3_bucket_notification.lake",
            "iam_role_policy.notify",
            "log_group.notify",
        ] {
            assert!(ids.contains(id), "{id} missing");
        }
        // The scraper no longer publishes alerts.
        assert!(
            !g.grants
                .iter()
                .any(|gr| gr.role.name == "scraper" && gr.access == Access::Publish)
        );
        assert!(
            g.grants
                .iter()
                .any(|gr| gr.role.name == "notify" && gr.access == Access::Publish)
        );
    }

    #[test]
    fn on_demand_ssm_and_projection() {
        let src = testutil::edited("shards = 1", "shards = on_demand")
            .replace(
                "secret(\"stocks/influx-token\")",
                "ssm(\"/stocks/influx-token\")",
            )
            .replace("crawler = daily(\"02:00\")", "projection = true");
        let g = testutil::graph(&src);
        let stream = g
            .get(&ResourceId::new(Kind::KinesisStream, "stream"))
            .unwrap();
        let Spec::KinesisStream(s) = &stream.spec else {
            panic!()
        };
        assert_eq!((s.mode, s.shard_count), (StreamMode::OnDemand, None));
        assert_eq!(g.externals[0].key, "ssm:/stocks/influx-token");
        assert!(g.get(&ResourceId::new(Kind::GlueCrawler, "lake")).is_none());
        assert!(g.get(&ResourceId::new(Kind::IamRole, "crawler")).is_none());
        let table = g.get(&ResourceId::new(Kind::GlueTable, "lake")).unwrap();
        let Spec::GlueTable(t) = &table.spec else {
            panic!()
        };
        assert_eq!(
            t.parameters["projection.symbol.values"],
            "AAPL,AMZN,MSFT,TSLA"
        );
    }

    #[test]
    fn the_demo_pipeline_plans_with_warnings() {
        let demo = include_str!("../../../pipelines/demo.stk");
        let g = testutil::graph(demo);
        let ids = id_set(&g);
        assert!(ids.contains("s3_bucket.raw"));
        assert!(ids.contains("lambda_function.compact"));
        assert!(
            !ids.iter()
                .any(|i| i.starts_with("firehose") || i.starts_with("kinesis"))
        );
        assert!(!g.warnings.is_empty());
    }

    #[test]
    fn bad_context_is_an_error() {
        let ir = testutil::ir(STOCKS);
        let mut ctx = testutil::ctx();
        ctx.account_id = "12".into();
        assert!(matches!(desired(&ir, &ctx), Err(GraphError::Name(_))));
        let mut ctx = testutil::ctx();
        ctx.log_retention_days = 31;
        assert!(matches!(
            desired(&ir, &ctx),
            Err(GraphError::LogRetention(31))
        ));
        let mut ctx = testutil::ctx();
        ctx.tls_only_buckets = false;
        let g = desired(&ir, &ctx).unwrap();
        assert!(
            g.of_kind(Kind::S3Bucket)
                .all(|r| matches!(&r.spec, Spec::S3Bucket(b) if b.policy.is_none()))
        );
    }
}
