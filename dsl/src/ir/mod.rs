//! The resolved pipeline: what every backend (AWS plan, Lambda packages, scraper daemon,
//! local runs) consumes. Names are resolved, expressions typed, defaults filled, durations
//! in milliseconds and sizes in bytes. It serialises to JSON (`stkc compile --emit ir`) and
//! is what the packages ship, so its shape is versioned by [`IR_VERSION`].

mod expr;
mod func;

pub use expr::{BinOp, ExprNode, Literal, Type, TypedExpr, UnOp};
pub use func::{Func, FuncSig};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bumped whenever the serialised shape changes incompatibly.
pub const IR_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    pub ir_version: u32,
    pub name: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    /// SMTP server for alert mail in local runs (`host:port`).
    pub smtp: Option<String>,
    pub sources: Vec<Source>,
    pub schema: Schema,
    pub validation: Validation,
    pub stream: Option<Stream>,
    pub sinks: Vec<Sink>,
    pub alerts: Vec<Alert>,
    pub runtime: Option<Runtime>,
}

impl Pipeline {
    pub fn sink(&self, name: &str) -> Option<&Sink> {
        self.sinks.iter().find(|s| s.name == name)
    }

    /// The raw JSON sink (`s3_json`), if the pipeline has one (the checker allows one).
    pub fn raw_sink(&self) -> Option<&RawSink> {
        self.sinks.iter().find_map(|s| match &s.kind {
            SinkKind::S3Json(r) => Some(r),
            _ => None,
        })
    }

    /// The Parquet lake sink (`s3_parquet`), if the pipeline has one (the checker allows one).
    pub fn lake_sink(&self) -> Option<&LakeSink> {
        self.sinks.iter().find_map(|s| match &s.kind {
            SinkKind::S3Parquet(l) => Some(l),
            _ => None,
        })
    }

    /// The InfluxDB sink, if the pipeline has one (the checker allows one).
    pub fn influx_sink(&self) -> Option<&InfluxSink> {
        self.sinks.iter().find_map(|s| match &s.kind {
            SinkKind::Influxdb(i) => Some(i),
            _ => None,
        })
    }

    /// The AWS name of one of the pipeline's resources: `stk-<pipeline>-<name>`, with `_`
    /// (allowed in stk names, not in every AWS name) written as `-`.
    pub fn aws_name(&self, resource: &str) -> String {
        format!("stk-{}-{}", self.name, resource).replace('_', "-")
    }

    /// The compiled pipeline as the runtimes load it (`pipeline.json` in the Lambda package
    /// and the scraper's artifacts): pretty JSON with a final newline. One function, so the
    /// bytes, and the digests the plan compares, are the same wherever it is written.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

// ------------------------------------------------------------------ sources

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    #[serde(flatten)]
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceKind {
    Yahoo(YahooSource),
    Replay(ReplaySource),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct YahooSource {
    pub symbols: Vec<String>,
    pub every_ms: u64,
    pub endpoint: Endpoint,
    /// Overrides `https://query1.finance.yahoo.com` (chart, quote) or
    /// `https://finance.yahoo.com` (page); the `STK_YAHOO_BASE_URL` environment variable wins.
    pub base_url: Option<String>,
    pub user_agent: Option<String>,
    pub proxies: Vec<String>,
    /// Global request budget of the daemon, requests per second.
    pub max_rps: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    Chart,
    Quote,
    Page,
}

/// The columns a Yahoo source fills, with their types.
pub const YAHOO_COLUMNS: &[(&str, FieldType)] = &[
    ("symbol", FieldType::String),
    ("ts", FieldType::Timestamp),
    ("price", FieldType::Float64),
    ("open", FieldType::Float64),
    ("high", FieldType::Float64),
    ("low", FieldType::Float64),
    ("close", FieldType::Float64),
    ("volume", FieldType::Int64),
    ("currency", FieldType::String),
    ("exchange", FieldType::String),
    ("market_state", FieldType::String),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaySource {
    /// As written in the file: relative paths are relative to the pipeline file.
    pub path: String,
    pub format: ReplayFormat,
    /// Playback speed (1 = real time); `None` is as fast as possible.
    pub speed: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayFormat {
    Jsonl,
    Csv,
}

// ------------------------------------------------------------------- schema

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub name: String,
    pub fields: Vec<Field>,
    /// The timestamp field that orders the records of a series.
    pub event_time: String,
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub required: bool,
    /// A regular expression the whole value must match.
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String,
    Int64,
    Float64,
    Bool,
    Timestamp,
}

impl FieldType {
    pub const ALL: &'static [(&'static str, FieldType)] = &[
        ("string", FieldType::String),
        ("int64", FieldType::Int64),
        ("float64", FieldType::Float64),
        ("bool", FieldType::Bool),
        ("timestamp", FieldType::Timestamp),
    ];

    pub fn name(self) -> &'static str {
        FieldType::ALL
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }

    pub fn expr_type(self) -> Type {
        match self {
            FieldType::String => Type::String,
            FieldType::Int64 => Type::Int64,
            FieldType::Float64 => Type::Float64,
            FieldType::Bool => Type::Bool,
            FieldType::Timestamp => Type::Timestamp,
        }
    }
}

// --------------------------------------------------------------- validation

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    pub rules: Vec<Rule>,
    pub on_fail: OnFail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// The condition as written, for dead-letter reasons.
    pub text: String,
    pub expr: TypedExpr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFail {
    Drop,
    DeadLetter,
    Fail,
}

// ------------------------------------------------------------------- stream

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    pub name: String,
    pub capacity: StreamCapacity,
    pub retention_hours: u32,
    pub partition_key: String,
    /// Ticks packed into one Kinesis record (1 = no packing).
    pub pack: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum StreamCapacity {
    Provisioned { shards: u32 },
    OnDemand,
}

// -------------------------------------------------------------------- sinks

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sink {
    pub name: String,
    #[serde(flatten)]
    pub kind: SinkKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SinkKind {
    Influxdb(InfluxSink),
    S3Json(RawSink),
    S3Parquet(LakeSink),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfluxSink {
    pub url: String,
    pub api: InfluxApi,
    /// v2: organisation; ignored by v1.
    pub org: Option<String>,
    /// v2: bucket; v1: database.
    pub bucket: String,
    pub token: SecretRef,
    pub measurement: String,
    pub tags: Vec<String>,
    pub fields: Vec<String>,
    pub batch_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InfluxApi {
    V1,
    V2,
}

/// Where a secret lives. stkc never stores the value, only the reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub store: SecretStore,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStore {
    /// AWS Secrets Manager, `secret("name")`.
    SecretsManager,
    /// SSM Parameter Store SecureString, `ssm("/path")`.
    Ssm,
}

/// Raw JSON in S3, delivered by Firehose on AWS and written directly by local runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawSink {
    pub buffer_interval_s: u32,
    pub buffer_size_bytes: u64,
    pub partition: Vec<PartitionKey>,
    pub compression: RawCompression,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCompression {
    None,
    Gzip,
}

/// The Parquet lake, compacted from a raw sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LakeSink {
    pub from: String,
    pub compression: ParquetCompression,
    pub partition: Vec<PartitionKey>,
    pub catalog: Option<Catalog>,
    pub retention_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParquetCompression {
    None,
    Snappy,
    Gzip,
    Zstd,
    Lz4,
}

/// One level of a hive-style partition path: `name=value/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionKey {
    /// The path segment's name: `date`, `hour`, or the column.
    pub name: String,
    pub field: String,
    pub transform: PartitionTransform,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartitionTransform {
    /// The column's value as is.
    Identity,
    /// `YYYY-MM-DD` of a timestamp, UTC.
    Date,
    /// `HH` (00-23) of a timestamp, UTC.
    Hour,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub database: String,
    pub table: String,
    #[serde(flatten)]
    pub mode: CatalogMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CatalogMode {
    /// A Glue crawler on the lake path, run on a schedule (a Glue cron expression).
    Crawler { schedule: String },
    /// A table with partition projection: no crawler needed.
    Projection,
}

// ------------------------------------------------------------------- alerts

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub name: String,
    pub text: String,
    pub when: TypedExpr,
    /// The condition's left-hand side, reported as the firing's value.
    pub value: Option<TypedExpr>,
    pub per: Vec<String>,
    pub for_ms: Option<u64>,
    pub cooldown_ms: u64,
    /// How far out of order records may arrive and still be evaluated.
    pub lateness_ms: u64,
    pub severity: Severity,
    pub notify: Vec<NotifyTarget>,
    pub message: Template,
    pub delivery: Delivery,
    /// The longest window the condition looks back over.
    pub lookback_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "address", rename_all = "snake_case")]
pub enum NotifyTarget {
    Email(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Evaluated live by the scraper daemon (and by `stkc run`).
    Realtime,
    /// Evaluated by the notify Lambda over newly written Parquet.
    NearRealTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub text: String,
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplatePart {
    Text(String),
    Expr(TypedExpr),
}

// ------------------------------------------------------------------ runtime

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    pub name: String,
    #[serde(flatten)]
    pub kind: RuntimeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuntimeKind {
    Ec2(Ec2Runtime),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ec2Runtime {
    pub instance_type: String,
    pub arch: Arch,
    /// The one CIDR allowed to reach the instance over SSH (the VPN's egress address).
    pub ssh_from: String,
    /// An AMI id; `None` is the latest Amazon Linux 2023 for the architecture.
    pub ami: Option<String>,
    pub subnet: Option<String>,
    pub key_name: Option<String>,
    pub volume_gib: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arch {
    X86_64,
    Arm64,
}
