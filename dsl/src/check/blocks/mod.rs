//! One module per block keyword, and the registry that says what each keyword takes.

pub(crate) mod alert;
pub(crate) mod partition;
pub(crate) mod pipeline;
pub(crate) mod runtime;
pub(crate) mod schema;
pub(crate) mod sink;
pub(crate) mod source;
pub(crate) mod stream;
pub(crate) mod validate;

/// What a block keyword is and how often it may appear.
pub(crate) struct BlockSpec {
    pub keyword: &'static str,
    /// The kinds after `name:`; empty when the block takes none.
    pub kinds: &'static [&'static str],
    pub min: usize,
    pub max: Option<usize>,
    pub example: &'static str,
    pub why_once: &'static str,
}

pub(crate) const REGISTRY: &[BlockSpec] = &[
    BlockSpec {
        keyword: "pipeline",
        kinds: &[],
        min: 1,
        max: Some(1),
        example: "pipeline stocks { region = \"eu-central-1\" }",
        why_once: "a file describes one pipeline; split other pipelines into their own files",
    },
    BlockSpec {
        keyword: "source",
        kinds: &["yahoo", "replay"],
        min: 1,
        max: None,
        example: "source quotes: yahoo { symbols = [\"AAPL\"]  every = 5s }",
        why_once: "",
    },
    BlockSpec {
        keyword: "schema",
        kinds: &[],
        min: 1,
        max: Some(1),
        example: "schema quote { symbol: string required  ts: timestamp required }",
        why_once: "a pipeline carries one record type; put the fields of both in one schema",
    },
    BlockSpec {
        keyword: "validate",
        kinds: &[],
        min: 0,
        max: Some(1),
        example: "validate quote { rule positive: close > 0 }",
        why_once: "put all rules in one `validate` block",
    },
    BlockSpec {
        keyword: "stream",
        kinds: &["kinesis"],
        min: 0,
        max: Some(1),
        example: "stream ticks: kinesis { shards = 1  partition_key = symbol }",
        why_once: "a pipeline has one Kinesis stream; raise `shards` for more throughput",
    },
    BlockSpec {
        keyword: "sink",
        kinds: &["influxdb", "s3_json", "s3_parquet"],
        min: 0,
        max: None,
        example: "sink raw: s3_json { partition = [date(ts), symbol] }",
        why_once: "",
    },
    BlockSpec {
        keyword: "alert",
        kinds: &[],
        min: 0,
        max: None,
        example: "alert move { when = abs(pct_change(close, 1m)) > 1%  per = symbol }",
        why_once: "",
    },
    BlockSpec {
        keyword: "runtime",
        kinds: &["ec2"],
        min: 0,
        max: Some(1),
        example: "runtime scraper: ec2 { instance_type = \"t4g.nano\"  ssh_from = \"203.0.113.7/32\" }",
        why_once: "one scraper instance runs all sources of a pipeline",
    },
];
