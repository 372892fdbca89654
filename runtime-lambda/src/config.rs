//! A function's configuration, read once at init from its environment: which handler runs
//! (`_HANDLER`), the compiled pipeline shipped in the package, and the names `stkc apply`
//! gives it (buckets, topic). Everything a handler needs is checked here, so a misdeployed
//! function fails its init with a message that says what to fix, not its first event.

use std::path::PathBuf;
use stk_dsl::ir::{IR_VERSION, InfluxSink, LakeSink, OnFail, Pipeline};

/// The three handlers of the bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    Transform,
    Compact,
    Notify,
}

impl HandlerKind {
    pub const ALL: [HandlerKind; 3] = [
        HandlerKind::Transform,
        HandlerKind::Compact,
        HandlerKind::Notify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::Transform => "transform",
            HandlerKind::Compact => "compact",
            HandlerKind::Notify => "notify",
        }
    }

    /// The handler named by a Lambda handler setting (`transform`, or `bootstrap.transform`).
    pub fn parse(setting: &str) -> Option<HandlerKind> {
        let name = setting.rsplit('.').next().unwrap_or(setting);
        HandlerKind::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// Environment variables a function reads (set by `stkc apply`).
pub mod env {
    /// The compiled pipeline (default: `pipeline.json` next to the bootstrap).
    pub const PIPELINE: &str = "STK_PIPELINE";
    /// The errors bucket: dead letters of transform and compact.
    pub const ERRORS_BUCKET: &str = "STK_ERRORS_BUCKET";
    /// The lake bucket compact writes to.
    pub const LAKE_BUCKET: &str = "STK_LAKE_BUCKET";
    /// The SNS topic notify publishes to.
    pub const ALERTS_TOPIC_ARN: &str = "STK_ALERTS_TOPIC_ARN";
    /// Overrides the InfluxDB URL of the file (a private endpoint, or a test server).
    pub const INFLUX_URL: &str = "STK_INFLUX_URL";
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(
        "the function's handler is {0:?}; set it to one of transform, compact, notify (`stkc apply` does)"
    )]
    Handler(String),
    #[error("cannot read the compiled pipeline {path}: {reason}")]
    Pipeline { path: String, reason: String },
    #[error(
        "the compiled pipeline has IR version {found}, this bootstrap reads {expected}; package it again with `stkc package`"
    )]
    Version { found: u32, expected: u32 },
    #[error("the {handler} function needs {what}; {help}")]
    Missing {
        handler: &'static str,
        what: String,
        help: String,
    },
    #[error("the InfluxDB token: {0}")]
    Secret(String),
    #[error(transparent)]
    Influx(#[from] stk_influx::WriteError),
}

/// What every handler is configured with.
#[derive(Debug, Clone)]
pub struct Config {
    pub handler: HandlerKind,
    pub pipeline: Pipeline,
    pub errors_bucket: Option<String>,
    pub lake_bucket: Option<String>,
    pub alerts_topic_arn: Option<String>,
    pub influx_url: Option<String>,
}

impl Config {
    /// From the process environment, as Lambda starts the bootstrap.
    pub fn from_env() -> Result<Config, InitError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let handler_setting = var("_HANDLER").unwrap_or_default();
        let handler = HandlerKind::parse(&handler_setting)
            .ok_or_else(|| InitError::Handler(handler_setting.clone()))?;
        let path = var(env::PIPELINE).map(PathBuf::from).unwrap_or_else(|| {
            let root = var("LAMBDA_TASK_ROOT").unwrap_or_else(|| ".".into());
            PathBuf::from(root).join("pipeline.json")
        });
        let pipeline = load_pipeline(&path)?;
        let cfg = Config {
            handler,
            pipeline,
            errors_bucket: var(env::ERRORS_BUCKET),
            lake_bucket: var(env::LAKE_BUCKET),
            alerts_topic_arn: var(env::ALERTS_TOPIC_ARN),
            influx_url: var(env::INFLUX_URL),
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// Everything the handler will need is there.
    pub fn check(&self) -> Result<(), InitError> {
        let h = self.handler.name();
        let missing = |what: &str, help: &str| InitError::Missing {
            handler: h,
            what: what.into(),
            help: help.into(),
        };
        // transform and compact dead-letter what fails validation.
        let needs_errors = self.pipeline.validation.on_fail == OnFail::DeadLetter
            && self.handler != HandlerKind::Notify;
        match self.handler {
            HandlerKind::Transform => {
                self.influx_sink().ok_or_else(|| {
                    missing(
                        "an influxdb sink in the pipeline",
                        "add one, or do not deploy transform",
                    )
                })?;
            }
            HandlerKind::Compact => {
                self.lake_sink().ok_or_else(|| {
                    missing(
                        "an s3_parquet sink in the pipeline",
                        "add one, or do not deploy compact",
                    )
                })?;
                if self.lake_bucket.is_none() {
                    return Err(missing(
                        &format!("{} (the lake bucket)", env::LAKE_BUCKET),
                        "set it (`stkc apply` does)",
                    ));
                }
            }
            HandlerKind::Notify => {
                if self.alerts_topic_arn.is_none() {
                    return Err(missing(
                        &format!("{} (the alerts topic)", env::ALERTS_TOPIC_ARN),
                        "set it (`stkc apply` does)",
                    ));
                }
            }
        }
        if needs_errors && self.errors_bucket.is_none() {
            return Err(missing(
                &format!(
                    "{} (the errors bucket, for dead letters)",
                    env::ERRORS_BUCKET
                ),
                "set it (`stkc apply` does)",
            ));
        }
        Ok(())
    }

    pub fn influx_sink(&self) -> Option<&InfluxSink> {
        self.pipeline.influx_sink()
    }

    pub fn lake_sink(&self) -> Option<&LakeSink> {
        self.pipeline.lake_sink()
    }
}

/// Read and check a compiled pipeline (`stkc compile FILE --emit ir`).
pub fn load_pipeline(path: &std::path::Path) -> Result<Pipeline, InitError> {
    let err = |reason: String| InitError::Pipeline {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| err(e.to_string()))?;
    let found = value
        .get("ir_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0) as u32;
    if found != IR_VERSION {
        return Err(InitError::Version {
            found,
            expected: IR_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| err(e.to_string()))
}
