//! IAM policy documents: each role's least-privilege policy, derived from the graph's access
//! edges ([`Grant`]: exact actions on exact ARNs, no `*` action, no `*` resource), the trust
//! and bucket policies, the statement rows the plan's "IAM statement changes" table compares,
//! and the policy a CI role needs to run `stkc apply` ([`deployer_policy`]). Also the one
//! normal form of a policy document, shared by the desired graph and the live reader.
//!
//! Where AWS offers nothing narrower than `"Resource": "*"` (list and describe calls, event
//! source mapping creation), only the deployer policy uses it, and [`DeployerPolicy::wildcards`]
//! says why for each.

use crate::graph::{Grant, Graph};
use crate::resource::{Attrs, Kind};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The policy language version every document uses.
pub const VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

/// A policy document in normal form: actions and resources as sorted arrays, principals as
/// `{"Service": [...]}` arrays, statements sorted. Build it, then call [`normalised`].
///
/// [`normalised`]: PolicyDocument::normalised
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(rename = "Version")]
    pub version: String,
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Statement", deserialize_with = "one_or_many")]
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Value>,
    #[serde(rename = "Action", deserialize_with = "one_or_many")]
    pub actions: Vec<String>,
    #[serde(
        rename = "Resource",
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "one_or_many"
    )]
    pub resources: Vec<String>,
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

/// AWS writes a one-element list as the element itself.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        One(T),
        Many(Vec<T>),
    }
    Ok(match OneOrMany::<T>::deserialize(d)? {
        OneOrMany::One(x) => vec![x],
        OneOrMany::Many(v) => v,
    })
}

impl PolicyDocument {
    pub fn new(statements: Vec<Statement>) -> PolicyDocument {
        PolicyDocument {
            version: VERSION.to_string(),
            id: None,
            statements,
        }
        .normalised()
    }

    pub fn normalised(mut self) -> PolicyDocument {
        self.statements = self
            .statements
            .into_iter()
            .map(Statement::normalised)
            .collect();
        self.statements
            .sort_by_cached_key(|s| serde_json::to_string(s).unwrap_or_default());
        self
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Statement {
    pub fn allow(sid: &str, actions: &[&str], resources: Vec<String>) -> Statement {
        Statement {
            sid: Some(sid.to_string()),
            effect: Effect::Allow,
            principal: None,
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources,
            condition: None,
        }
    }

    pub fn when(mut self, condition: Value) -> Statement {
        self.condition = Some(condition);
        self
    }

    pub fn normalised(mut self) -> Statement {
        self.sid = self.sid.filter(|s| !s.is_empty());
        self.actions.sort();
        self.actions.dedup();
        self.resources.sort();
        self.resources.dedup();
        self.principal = self.principal.map(normalise_principal);
        self
    }
}

/// `{"Service": "x"}` as `{"Service": ["x"]}`, lists sorted; `"*"` as is.
fn normalise_principal(p: Value) -> Value {
    match p {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut list: Vec<String> = match v {
                        Value::String(s) => vec![s],
                        Value::Array(items) => items
                            .into_iter()
                            .map(|i| match i {
                                Value::String(s) => s,
                                other => other.to_string(),
                            })
                            .collect(),
                        other => vec![other.to_string()],
                    };
                    list.sort();
                    list.dedup();
                    (k, Value::from(list))
                })
                .collect(),
        ),
        other => other,
    }
}

/// A live policy (URL-decoded JSON, as GetRolePolicy, GetRole and GetBucketPolicy return it)
/// in the normal form the desired graph uses; unchanged when it uses constructs stkc never
/// writes (`NotAction`, ...), so the plan shows it as a change instead of hiding it.
pub fn normalise_document(v: &Value) -> Value {
    match serde_json::from_value::<PolicyDocument>(v.clone()) {
        Ok(doc) => doc.normalised().to_value(),
        Err(_) => v.clone(),
    }
}

// ------------------------------------------------------------------ access

/// What a role may do to a resource: each access edge of the graph is one of these, and
/// each maps to a fixed list of actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// A Lambda event source mapping reading the stream with the function's role.
    KinesisConsume,
    /// Firehose reading its source stream.
    FirehoseSource,
    /// The scraper's producer.
    KinesisProduce,
    ReadObjects,
    WriteObjects,
    ListBucket,
    /// Firehose's S3 destination (multipart uploads included).
    FirehoseDelivery,
    Publish,
    ReadSecret,
    ReadParameter,
    /// A function writing to its own, existing log group.
    WriteLogs,
    /// The crawler's shared `/aws-glue/crawlers` log group, which Glue creates on first use.
    CreateAndWriteLogs,
    /// A crawler adding partitions to the lake table.
    CatalogPartitions,
}

impl Access {
    pub fn actions(self) -> &'static [&'static str] {
        match self {
            // The list the Lambda guide gives for Kinesis event source mappings (without
            // SubscribeToShard: no enhanced fan-out consumer).
            Access::KinesisConsume => &[
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ],
            Access::FirehoseSource => &[
                "kinesis:DescribeStream",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
            ],
            Access::KinesisProduce => &["kinesis:PutRecords"],
            Access::ReadObjects => &["s3:GetObject"],
            Access::WriteObjects => &["s3:PutObject"],
            Access::ListBucket => &["s3:ListBucket"],
            Access::FirehoseDelivery => &[
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
            ],
            Access::Publish => &["sns:Publish"],
            Access::ReadSecret => &["secretsmanager:GetSecretValue"],
            // A SecureString under the AWS-managed key `aws/ssm` needs no kms:Decrypt grant.
            Access::ReadParameter => &["ssm:GetParameter"],
            Access::WriteLogs => &["logs:CreateLogStream", "logs:PutLogEvents"],
            Access::CreateAndWriteLogs => &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            Access::CatalogPartitions => &[
                "glue:BatchCreatePartition",
                "glue:BatchGetPartition",
                "glue:BatchUpdatePartition",
                "glue:CreatePartition",
                "glue:GetDatabase",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:GetTable",
                "glue:UpdatePartition",
            ],
        }
    }

    /// The statement id of the access in a role policy.
    pub fn sid(self) -> &'static str {
        match self {
            Access::KinesisConsume => "KinesisConsume",
            Access::FirehoseSource => "FirehoseSource",
            Access::KinesisProduce => "KinesisProduce",
            Access::ReadObjects => "ReadObjects",
            Access::WriteObjects => "WriteObjects",
            Access::ListBucket => "ListBucket",
            Access::FirehoseDelivery => "FirehoseDelivery",
            Access::Publish => "Publish",
            Access::ReadSecret => "ReadSecret",
            Access::ReadParameter => "ReadParameter",
            Access::WriteLogs => "WriteLogs",
            Access::CreateAndWriteLogs => "CreateAndWriteLogs",
            Access::CatalogPartitions => "CatalogPartitions",
        }
    }
}

/// A role's inline policy: one statement per kind of access, on the union of its targets.
/// `None` when the role has no grants (IAM refuses an empty policy).
pub fn role_policy(grants: &[&Grant]) -> Option<PolicyDocument> {
    let mut by_access: BTreeMap<Access, BTreeSet<String>> = BTreeMap::new();
    for g in grants {
        by_access
            .entry(g.access)
            .or_default()
            .extend(g.resources.iter().cloned());
    }
    if by_access.is_empty() {
        return None;
    }
    Some(PolicyDocument::new(
        by_access
            .into_iter()
            .map(|(access, resources)| {
                Statement::allow(
                    access.sid(),
                    access.actions(),
                    resources.into_iter().collect(),
                )
            })
            .collect(),
    ))
}

/// Who may assume a role: one AWS service, optionally bound to an external id (Firehose
/// passes the account id, which stops another account's delivery stream from using it).
pub fn trust_policy(service: &str, external_id: Option<&str>) -> PolicyDocument {
    let mut s = Statement {
        sid: None,
        effect: Effect::Allow,
        principal: Some(json!({ "Service": [service] })),
        actions: vec!["sts:AssumeRole".to_string()],
        resources: Vec::new(),
        condition: None,
    };
    if let Some(id) = external_id {
        s = s.when(json!({ "StringEquals": { "sts:ExternalId": id } }));
    }
    PolicyDocument::new(vec![s])
}

/// The bucket policy that refuses every request not made over TLS. Its `s3:*` is the one `*`
/// action stkc writes: a Deny, so that no S3 action, present or future, works without TLS.
pub fn tls_only_bucket_policy(bucket_arn: &str) -> PolicyDocument {
    PolicyDocument::new(vec![Statement {
        sid: Some("DenyInsecureTransport".to_string()),
        effect: Effect::Deny,
        principal: Some(Value::String("*".to_string())),
        actions: vec!["s3:*".to_string()],
        resources: vec![bucket_arn.to_string(), format!("{bucket_arn}/*")],
        condition: Some(json!({ "Bool": { "aws:SecureTransport": "false" } })),
    }])
}

// --------------------------------------------------------- statement rows

/// One (principal, action, resource) of a policy: the unit of the plan's "IAM statement
/// changes" table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatementRow {
    pub principal: String,
    pub effect: Effect,
    pub action: String,
    pub resource: String,
    /// The condition as compact JSON.
    pub condition: Option<String>,
}

/// The statement rows a resource's attributes grant, for the kinds that carry policies:
/// role policies (principal `role/<name>`), trust policies (the service may assume the
/// role), bucket policies and Lambda permissions. The same function reads desired and live
/// attributes, so drift in a policy shows in the table too.
pub fn statement_rows(kind: Kind, attrs: &Attrs) -> Vec<StatementRow> {
    let text = |key: &str| {
        attrs
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match kind {
        Kind::IamRolePolicy => {
            let role = format!("role/{}", text("role"));
            document_rows(attrs.get("document"), Some(role.as_str()), None)
        }
        Kind::IamRole => {
            let role = format!("role/{}", text("name"));
            document_rows(attrs.get("assume_role_policy"), None, Some(role.as_str()))
        }
        Kind::S3Bucket => document_rows(attrs.get("policy"), None, None),
        Kind::LambdaPermission => vec![StatementRow {
            principal: text("principal"),
            effect: Effect::Allow,
            action: text("action"),
            resource: format!("function/{}", text("function_name")),
            condition: Some(format!(
                "aws:SourceArn={} aws:SourceAccount={}",
                text("source_arn"),
                text("source_account")
            )),
        }],
        _ => Vec::new(),
    }
}

/// Rows of one document. `principal` names the identity a role policy is attached to;
/// `resource` stands in for statements without one (trust policies act on their role).
fn document_rows(
    doc: Option<&Value>,
    principal: Option<&str>,
    resource: Option<&str>,
) -> Vec<StatementRow> {
    let Some(v) = doc.filter(|v| !v.is_null()) else {
        return Vec::new();
    };
    let Ok(doc) = serde_json::from_value::<PolicyDocument>(v.clone()) else {
        // A document stkc cannot read is shown whole, so the change is visible.
        return vec![StatementRow {
            principal: principal.unwrap_or("?").to_string(),
            effect: Effect::Allow,
            action: "(unrecognised policy)".to_string(),
            resource: v.to_string(),
            condition: None,
        }];
    };
    let mut rows = Vec::new();
    for s in doc.normalised().statements {
        let principals = match principal {
            Some(p) => vec![p.to_string()],
            None => principal_labels(s.principal.as_ref()),
        };
        let resources = if s.resources.is_empty() {
            vec![resource.unwrap_or("").to_string()]
        } else {
            s.resources.clone()
        };
        let condition = s.condition.as_ref().map(Value::to_string);
        for p in &principals {
            for a in &s.actions {
                for r in &resources {
                    rows.push(StatementRow {
                        principal: p.clone(),
                        effect: s.effect,
                        action: a.clone(),
                        resource: r.clone(),
                        condition: condition.clone(),
                    });
                }
            }
        }
    }
    rows
}

/// `"*"` and `{"AWS": "*"}` as `*`; services and ARNs as themselves.
fn principal_labels(p: Option<&Value>) -> Vec<String> {
    match p {
        None => vec!["?".to_string()],
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Object(map)) => map
            .values()
            .flat_map(|v| match v {
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>(),
                Value::String(s) => vec![s.clone()],
                other => vec![other.to_string()],
            })
            .collect(),
        Some(other) => vec![other.to_string()],
    }
}

/// The desired statements that allow an action on `"*"`: listed in the plan as such.
pub fn wildcard_rows(graph: &Graph) -> Vec<StatementRow> {
    let mut rows: Vec<StatementRow> = graph
        .resources
        .values()
        .flat_map(|r| statement_rows(r.id.kind, &r.attributes()))
        .filter(|row| row.effect == Effect::Allow && row.resource == "*")
        .collect();
    rows.sort();
    rows.dedup();
    rows
}

/// Every policy document of the graph, named by its resource and attribute.
pub fn documents(graph: &Graph) -> Vec<(String, PolicyDocument)> {
    let mut out = Vec::new();
    for r in graph.resources.values() {
        for (key, v) in r.attributes() {
            if !matches!(key.as_str(), "document" | "assume_role_policy" | "policy") {
                continue;
            }
            if let Ok(doc) = serde_json::from_value::<PolicyDocument>(v) {
                out.push((format!("{}.{key}", r.id), doc));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- deployer

/// The policy a CI role needs to run `stkc plan` and `stkc apply` for one pipeline, and why
/// each of its `"Resource": "*"` statements cannot be narrower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeployerPolicy {
    pub document: PolicyDocument,
    pub wildcards: Vec<Wildcard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wildcard {
    pub actions: Vec<String>,
    pub reason: String,
}

#[derive(Default)]
struct Deployer {
    statements: Vec<Statement>,
    wildcards: Vec<Wildcard>,
}

impl Deployer {
    fn allow(&mut self, sid: &str, actions: &[&str], resources: Vec<String>) {
        self.statements
            .push(Statement::allow(sid, actions, resources));
    }

    fn allow_when(&mut self, sid: &str, actions: &[&str], resources: Vec<String>, c: Value) {
        self.statements
            .push(Statement::allow(sid, actions, resources).when(c));
    }

    fn allow_any(&mut self, sid: &str, actions: &[&str], reason: &str, c: Option<Value>) {
        let mut s = Statement::allow(sid, actions, vec!["*".to_string()]);
        s.condition = c;
        self.statements.push(s);
        self.wildcards.push(Wildcard {
            actions: actions.iter().map(|a| a.to_string()).collect(),
            reason: reason.to_string(),
        });
    }
}

/// The deployer's policy for the kinds this graph has. Resources are name patterns
/// (`stk-<pipeline>-*`), not exact names, so that `apply` can also delete what the file no
/// longer names; a kind the file no longer uses at all needs the policy of the file before
/// that edit. EC2 instances and security groups are matched by their `stk:pipeline` tag.
pub fn deployer_policy(graph: &Graph) -> DeployerPolicy {
    let n = &graph.names;
    let has = |k: Kind| graph.resources.keys().any(|id| id.kind == k);
    let prefix = n.prefix();
    let (p, r, a) = (&n.partition, &n.region, &n.account_id);
    let arn = |service: &str, rest: &str| format!("arn:{p}:{service}:{r}:{a}:{rest}");
    let mut d = Deployer::default();

    d.allow_any(
        "FindTagged",
        &["tag:GetResources"],
        "the Resource Groups Tagging API has no resource-level permissions; it finds resources tagged stk:pipeline that the file no longer names",
        None,
    );
    if has(Kind::KinesisStream) {
        d.allow(
            "KinesisStream",
            &[
                "kinesis:AddTagsToStream",
                "kinesis:CreateStream",
                "kinesis:DecreaseStreamRetentionPeriod",
                "kinesis:DeleteStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:IncreaseStreamRetentionPeriod",
                "kinesis:ListTagsForStream",
                "kinesis:RemoveTagsFromStream",
                "kinesis:StartStreamEncryption",
                "kinesis:StopStreamEncryption",
                "kinesis:UpdateShardCount",
                "kinesis:UpdateStreamMode",
            ],
            vec![arn("kinesis", &format!("stream/{prefix}*"))],
        );
        d.allow_any(
            "KinesisList",
            &["kinesis:ListStreams"],
            "ListStreams has no resource-level permissions; it finds streams the file no longer names",
            None,
        );
    }
    if has(Kind::S3Bucket) {
        let buckets = format!("arn:{p}:s3:::{prefix}*-{a}-{r}");
        d.allow(
            "S3Buckets",
            &[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:GetBucketLocation",
                "s3:GetBucketNotification",
                "s3:GetBucketPolicy",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetBucketTagging",
                "s3:GetBucketVersioning",
                "s3:GetEncryptionConfiguration",
                "s3:GetLifecycleConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketNotification",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            vec![buckets.clone()],
        );
        // The deletes empty a bucket on `destroy --force-delete-data`.
        d.allow(
            "S3Objects",
            &["s3:DeleteObject", "s3:DeleteObjectVersion"],
            vec![format!("{buckets}/*")],
        );
        d.allow_any(
            "S3List",
            &["s3:ListAllMyBuckets"],
            "ListAllMyBuckets has no resource-level permissions; it finds buckets the file no longer names",
            None,
        );
    }
    if has(Kind::S3Object) {
        // The artifacts: PutObject uploads them, GetObject is HeadObject (the plan compares
        // their digests) and what CreateFunction needs to take the code from S3.
        let artifacts = n
            .bucket(crate::names::BucketRole::Artifacts)
            .unwrap_or_else(|_| format!("{prefix}artifacts-{a}-{r}"));
        d.allow(
            "S3Artifacts",
            &["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            vec![format!("arn:{p}:s3:::{artifacts}/{}/*", n.pipeline)],
        );
    }
    if has(Kind::FirehoseDeliveryStream) {
        d.allow(
            "Firehose",
            &[
                "firehose:CreateDeliveryStream",
                "firehose:DeleteDeliveryStream",
                "firehose:DescribeDeliveryStream",
                "firehose:ListTagsForDeliveryStream",
                "firehose:TagDeliveryStream",
                "firehose:UntagDeliveryStream",
                "firehose:UpdateDestination",
            ],
            vec![arn("firehose", &format!("deliverystream/{prefix}*"))],
        );
        d.allow_any(
            "FirehoseList",
            &["firehose:ListDeliveryStreams"],
            "ListDeliveryStreams has no resource-level permissions",
            None,
        );
    }
    if has(Kind::IamRole) {
        let roles = format!("arn:{p}:iam::{a}:role/{prefix}*");
        d.allow(
            "IamRoles",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:ListRolePolicies",
                "iam:ListRoleTags",
                "iam:DetachRolePolicy",
                "iam:PutRolePolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRole",
            ],
            vec![roles.clone()],
        );
        let mut services = Vec::new();
        if has(Kind::LambdaFunction) {
            services.push("lambda.amazonaws.com");
        }
        if has(Kind::FirehoseDeliveryStream) {
            services.push("firehose.amazonaws.com");
        }
        if has(Kind::GlueCrawler) {
            services.push("glue.amazonaws.com");
        }
        if has(Kind::Ec2Instance) {
            services.push("ec2.amazonaws.com");
        }
        if !services.is_empty() {
            d.allow_when(
                "IamPassRoles",
                &["iam:PassRole"],
                vec![roles],
                json!({ "StringEquals": { "iam:PassedToService": services } }),
            );
        }
        d.allow_any(
            "IamList",
            &["iam:ListRoles"],
            "ListRoles has no resource-level permissions; it finds roles the file no longer names",
            None,
        );
    }
    if has(Kind::IamInstanceProfile) {
        d.allow(
            "IamInstanceProfiles",
            &[
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
            ],
            vec![format!("arn:{p}:iam::{a}:instance-profile/{prefix}*")],
        );
    }
    if has(Kind::LogGroup) {
        d.allow(
            "LogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            vec![arn("logs", &format!("log-group:/aws/lambda/{prefix}*"))],
        );
        d.allow_any(
            "LogGroupsList",
            &["logs:DescribeLogGroups"],
            "DescribeLogGroups is authorised on the account's log groups as a whole",
            None,
        );
    }
    if has(Kind::LambdaFunction) {
        let functions = arn("lambda", &format!("function:{prefix}*"));
        d.allow(
            "LambdaFunctions",
            &[
                "lambda:AddPermission",
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:GetPolicy",
                "lambda:ListTags",
                "lambda:RemovePermission",
                "lambda:TagResource",
                "lambda:UntagResource",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ],
            vec![functions.clone()],
        );
        d.allow_any(
            "LambdaList",
            &["lambda:ListFunctions"],
            "ListFunctions has no resource-level permissions",
            None,
        );
        if has(Kind::LambdaEventSourceMapping) {
            // Mapping ids are assigned by AWS, so the resource is every mapping; the condition
            // narrows it to the mappings of this pipeline's functions.
            d.allow_when(
                "LambdaMappings",
                &[
                    "lambda:DeleteEventSourceMapping",
                    "lambda:GetEventSourceMapping",
                    "lambda:UpdateEventSourceMapping",
                ],
                vec![arn("lambda", "event-source-mapping:*")],
                json!({ "ArnLike": { "lambda:FunctionArn": functions.clone() } }),
            );
            d.allow_any(
                "LambdaMappingsCreate",
                &["lambda:CreateEventSourceMapping"],
                "CreateEventSourceMapping takes no resource (a mapping's id is assigned by AWS); the condition limits it to this pipeline's functions",
                Some(json!({ "ArnLike": { "lambda:FunctionArn": functions } })),
            );
            d.allow_any(
                "LambdaMappingsList",
                &["lambda:ListEventSourceMappings"],
                "ListEventSourceMappings has no resource-level permissions",
                None,
            );
        }
    }
    if has(Kind::SnsTopic) {
        d.allow(
            "SnsTopic",
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:TagResource",
                "sns:Unsubscribe",
                "sns:UntagResource",
            ],
            vec![arn("sns", &format!("{prefix}*"))],
        );
        d.allow_any(
            "SnsList",
            &["sns:ListTopics"],
            "ListTopics has no resource-level permissions",
            None,
        );
    }
    let glue: Vec<(String, String)> = graph
        .resources
        .values()
        .filter(|res| res.id.kind == Kind::GlueTable)
        .filter_map(|res| match &res.spec {
            crate::resource::Spec::GlueTable(t) => Some((t.database.clone(), res.name.clone())),
            _ => None,
        })
        .collect();
    if let Some((database, table)) = glue.first() {
        let mut actions = vec![
            "glue:CreateDatabase",
            "glue:CreateTable",
            "glue:DeleteDatabase",
            "glue:DeleteTable",
            "glue:GetDatabase",
            "glue:GetTable",
            "glue:GetTables",
            "glue:GetTags",
            "glue:TagResource",
            "glue:UntagResource",
            "glue:UpdateDatabase",
            "glue:UpdateTable",
        ];
        let mut resources = vec![
            n.glue_catalog_arn(),
            n.glue_database_arn(database),
            n.glue_table_arn(database, table),
        ];
        // Finding the databases of this pipeline that the file no longer names: GetDatabases
        // lists the catalog's (the tags say which are ours). Listing only, so it gets its own
        // statement rather than widening the one that can delete.
        d.allow(
            "GlueFind",
            &["glue:GetDatabases"],
            vec![n.glue_catalog_arn(), arn("glue", "database/*")],
        );
        if has(Kind::GlueCrawler) {
            actions.extend([
                "glue:CreateCrawler",
                "glue:DeleteCrawler",
                "glue:GetCrawler",
                "glue:StopCrawler",
                "glue:UpdateCrawler",
            ]);
            resources.push(arn("glue", &format!("crawler/{prefix}*")));
            d.allow_any(
                "GlueFindCrawlers",
                &["glue:GetCrawlers"],
                "GetCrawlers lists the account's crawlers and has no resource-level permissions; it finds this pipeline's crawlers that the file no longer names",
                None,
            );
        }
        d.allow("Glue", &actions, resources);
    }
    if has(Kind::Ec2Instance) || has(Kind::Ec2SecurityGroup) {
        ec2_statements(&mut d, graph, &arn);
    }
    for e in &graph.externals {
        let action = match e.store {
            stk_dsl::ir::SecretStore::SecretsManager => "secretsmanager:DescribeSecret",
            // Without decryption: the deployer sees that the parameter exists, not its value.
            stk_dsl::ir::SecretStore::Ssm => "ssm:GetParameter",
        };
        d.allow("TokenExists", &[action], vec![e.arn.clone()]);
    }
    // Statements with one Sid are merged (same actions and conditions by construction).
    let mut merged: Vec<Statement> = Vec::new();
    for s in d.statements {
        match merged
            .iter_mut()
            .find(|m| m.sid == s.sid && m.condition == s.condition)
        {
            Some(m) => {
                m.actions.extend(s.actions);
                m.resources.extend(s.resources);
            }
            None => merged.push(s),
        }
    }
    DeployerPolicy {
        document: PolicyDocument::new(merged),
        wildcards: d.wildcards,
    }
}

fn ec2_statements(d: &mut Deployer, graph: &Graph, arn: &dyn Fn(&str, &str) -> String) {
    let n = &graph.names;
    d.allow_any(
        "Ec2Describe",
        &[
            "ec2:DescribeIamInstanceProfileAssociations",
            "ec2:DescribeImages",
            "ec2:DescribeInstanceAttribute",
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeTags",
            "ec2:DescribeVolumes",
            "ec2:DescribeVpcs",
        ],
        "EC2 Describe actions have no resource-level permissions",
        None,
    );
    let ours = |kinds: &[&str]| -> Vec<String> {
        kinds
            .iter()
            .map(|k| arn("ec2", &format!("{k}/*")))
            .collect()
    };
    let mut launch = ours(&[
        "instance",
        "key-pair",
        "network-interface",
        "security-group",
        "subnet",
        "volume",
        "vpc",
    ]);
    // Public AMIs belong to no account.
    launch.push(format!("arn:{}:ec2:{}::image/*", n.partition, n.region));
    d.allow(
        "Ec2Create",
        &["ec2:CreateSecurityGroup", "ec2:RunInstances"],
        launch,
    );
    d.allow_when(
        "Ec2TagOnCreate",
        &["ec2:CreateTags"],
        ours(&["instance", "network-interface", "security-group", "volume"]),
        json!({ "StringEquals": { "ec2:CreateAction": ["CreateSecurityGroup", "RunInstances"] } }),
    );
    let mut tagged = serde_json::Map::new();
    tagged.insert(
        format!("aws:ResourceTag/{}", crate::names::TAG_PIPELINE),
        Value::String(n.pipeline.clone()),
    );
    d.allow_when(
        "Ec2Manage",
        &[
            "ec2:AssociateIamInstanceProfile",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateTags",
            "ec2:DeleteSecurityGroup",
            "ec2:DeleteTags",
            "ec2:ModifyInstanceAttribute",
            "ec2:ModifyInstanceMetadataOptions",
            "ec2:ReplaceIamInstanceProfileAssociation",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:StartInstances",
            "ec2:StopInstances",
            "ec2:TerminateInstances",
        ],
        ours(&["instance", "security-group"]),
        json!({ "StringEquals": tagged }),
    );
    let unpinned = graph.resources.values().any(|res| {
        matches!(&res.spec, crate::resource::Spec::Ec2Instance(i) if i.image.starts_with(crate::resource::RESOLVED_AT_CREATE))
    });
    if unpinned {
        d.allow(
            "LatestAmi",
            &["ssm:GetParameter"],
            vec![format!(
                "arn:{}:ssm:{}::parameter/aws/service/ami-amazon-linux-latest/*",
                n.partition, n.region
            )],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    #[test]
    fn no_generated_policy_allows_a_wildcard_action() {
        let graph = testutil::graph(testutil::STOCKS);
        let mut docs = documents(&graph);
        assert!(docs.len() >= 10, "{}", docs.len());
        docs.push(("deployer".into(), deployer_policy(&graph).document));
        for (name, doc) in &docs {
            for s in &doc.statements {
                for a in &s.actions {
                    let wild = a.contains('*') || a.contains('?');
                    // The one exception: the TLS-only bucket policy's Deny.
                    let tls_deny = s.effect == Effect::Deny
                        && a == "s3:*"
                        && s.sid.as_deref() == Some("DenyInsecureTransport");
                    assert!(!wild || tls_deny, "{name}: `{a}`");
                }
                assert!(!s.actions.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn role_policies_use_no_wildcard_resource() {
        let graph = testutil::graph(testutil::STOCKS);
        assert_eq!(wildcard_rows(&graph), Vec::new());
        for (name, doc) in documents(&graph) {
            if !name.ends_with(".document") {
                continue;
            }
            for s in &doc.statements {
                assert_eq!(s.effect, Effect::Allow);
                for r in &s.resources {
                    assert_ne!(r, "*", "{name}");
                    assert!(r.starts_with("arn:aws:"), "{name}: {r}");
                }
            }
        }
    }

    #[test]
    fn deployer_wildcards_are_listed_with_reasons() {
        let graph = testutil::graph(testutil::STOCKS);
        let policy = deployer_policy(&graph);
        let listed: BTreeSet<&str> = policy
            .wildcards
            .iter()
            .flat_map(|w| w.actions.iter().map(String::as_str))
            .collect();
        for s in &policy.document.statements {
            if s.resources.iter().any(|r| r == "*") {
                for a in &s.actions {
                    assert!(listed.contains(a.as_str()), "{a} on * has no reason");
                }
            }
        }
        assert!(policy.wildcards.iter().all(|w| !w.reason.is_empty()));
        // Everything the plan and apply touch is scoped to the pipeline.
        let text = serde_json::to_string(&policy.document).unwrap();
        assert!(text.contains("arn:aws:kinesis:eu-central-1:123456789012:stream/stk-stocks-*"));
        assert!(text.contains("arn:aws:s3:::stk-stocks-*-123456789012-eu-central-1"));
        assert!(text.contains("secretsmanager:DescribeSecret"));
        assert!(text.contains("\"iam:PassedToService\""));
    }

    #[test]
    fn live_documents_normalise_to_the_desired_form() {
        let desired = trust_policy("lambda.amazonaws.com", None).to_value();
        // As GetRole returns it (URL-decoded): scalars instead of one-element lists.
        let live = json!({
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": { "Service": "lambda.amazonaws.com" },
                "Action": "sts:AssumeRole"
            }
        });
        assert_eq!(normalise_document(&live), desired);
        let exotic = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "NotAction": "s3:*", "Resource": "*" }] });
        assert_eq!(normalise_document(&exotic), exotic);
    }

    #[test]
    fn transform_reads_exactly_its_secret_and_stream() {
        let graph = testutil::graph(testutil::STOCKS);
        let policy = graph
            .resources
            .values()
            .find(|r| r.id.to_string() == "iam_role_policy.transform")
            .unwrap();
        let rows = statement_rows(policy.id.kind, &policy.attributes());
        let has = |action: &str, resource: &str| {
            rows.iter().any(|r| {
                r.action == action
                    && r.resource == resource
                    && r.principal == "role/stk-stocks-transform"
            })
        };
        assert!(has(
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:eu-central-1:123456789012:secret:stocks/influx-token-??????"
        ));
        assert!(has(
            "kinesis:GetRecords",
            "arn:aws:kinesis:eu-central-1:123456789012:stream/stk-stocks-ticks"
        ));
        assert!(has(
            "logs:PutLogEvents",
            "arn:aws:logs:eu-central-1:123456789012:log-group:/aws/lambda/stk-stocks-transform:log-stream:*"
        ));
        assert!(
            !rows
                .iter()
                .any(|r| r.action.starts_with("logs:CreateLogGroup"))
        );
    }
}
