//! `stk-scraper`: the daemon's command line. Loads the compiled pipeline (`stkc compile FILE
//! --emit ir`), takes credentials and region from the standard AWS chain (the instance
//! profile on EC2; `AWS_ENDPOINT_URL` for a local emulator), and runs until SIGTERM or SIGINT.
//! Exit 0 after a clean stop (the spool may still hold ticks for the next start), 1 on error.

use anyhow::{Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use stk_runtime_ec2::{daemon, metrics::Metrics, producer::Producer};

#[derive(Parser)]
#[command(
    name = "stk-scraper",
    version,
    about = "Poll a pipeline's Yahoo sources and stream the ticks to Kinesis, losing nothing",
    after_help = "Example:\n  stk-scraper --pipeline /etc/stk/pipeline.json --spool /var/lib/stk/spool.redb"
)]
struct Args {
    /// The compiled pipeline (`stkc compile FILE --emit ir --out pipeline.json`)
    #[arg(long)]
    pipeline: PathBuf,
    /// The Kinesis stream (default: the name `stkc apply` gives it, stk-<pipeline>-<stream>)
    #[arg(long)]
    stream: Option<String>,
    /// The spool file (ticks not yet acknowledged by Kinesis)
    #[arg(long, default_value = "/var/lib/stk/spool.redb")]
    spool: PathBuf,
    /// The spool's size limit in MiB; when full, polling waits
    #[arg(long, default_value_t = 512)]
    spool_max_mib: u64,
    /// Rejected ticks, one JSON line each, with the rule and reason
    #[arg(long, default_value = "/var/lib/stk/dead-letters.jsonl")]
    dead_letters: PathBuf,
    /// Prometheus metrics on this loopback address
    #[arg(long, default_value = "127.0.0.1:9464")]
    metrics: String,
    /// After SIGTERM, keep sending the spool for at most this many seconds
    #[arg(long, default_value_t = 20)]
    drain_seconds: u64,
    /// The alerts SNS topic for realtime alert firings (without it they are only logged)
    #[arg(long, env = "STK_ALERTS_TOPIC_ARN")]
    alerts_topic_arn: Option<String>,
    /// Log format
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let text = std::fs::read_to_string(&args.pipeline)
        .with_context(|| format!("cannot read the pipeline {}", args.pipeline.display()))?;
    let p: stk_dsl::ir::Pipeline = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a compiled pipeline; make it with `stkc compile FILE --emit ir --out {}`",
            args.pipeline.display(),
            args.pipeline.display()
        )
    })?;
    if p.ir_version != stk_dsl::ir::IR_VERSION {
        anyhow::bail!(
            "{} was compiled for IR version {}, this daemon reads version {}; recompile it with the matching stkc",
            args.pipeline.display(),
            p.ir_version,
            stk_dsl::ir::IR_VERSION
        );
    }
    let stream = match (&args.stream, &p.stream) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => p.aws_name(&s.name),
        (None, None) => {
            anyhow::bail!("the pipeline has no `stream` block and no --stream was given")
        }
    };
    let pack = p.stream.as_ref().map_or(1, |s| s.pack as usize);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    let metrics = Metrics::default();
    let bound = metrics
        .serve(&args.metrics)
        .with_context(|| format!("cannot serve metrics on {}", args.metrics))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let summary = rt.block_on(async {
        let cfg = aws_config::load_from_env().await;
        let kinesis = aws_sdk_kinesis::Client::new(&cfg);
        let alerts = args
            .alerts_topic_arn
            .clone()
            .map(|arn| (aws_sdk_sns::Client::new(&cfg), arn));
        tracing::info!(
            pipeline = %p.name, stream = %stream, metrics = %bound,
            "stk-scraper started"
        );
        let opts = daemon::Options {
            stream: stream.clone(),
            spool_path: args.spool.clone(),
            spool_max_bytes: args.spool_max_mib << 20,
            dead_letters: args.dead_letters.clone(),
            drain_timeout: std::time::Duration::from_secs(args.drain_seconds),
            alerts,
        };
        daemon::run(
            &p,
            Producer::new(kinesis, &stream, pack),
            &opts,
            &metrics,
            stop,
        )
        .await
    })?;
    tracing::info!(
        emitted = summary.emitted,
        rejected = summary.rejected,
        sent = summary.sent,
        spooled = summary.spooled,
        firings = summary.firings,
        published = summary.published,
        "stk-scraper stopped"
    );
    Ok(())
}
