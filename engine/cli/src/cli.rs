//! The command-line interface: every subcommand, flag and its help text with an example.

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "stkc",
    version,
    about = "Compile a .stk market-data pipeline to AWS, Lambda packages and an EC2 scraper; check, format and run it",
    after_help = "Examples:\n  stkc check pipelines/stocks.stk\n  stkc fmt --check pipelines/*.stk\n  stkc compile pipelines/stocks.stk --emit ir"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check pipeline files and report every problem (exit 0 clean, 1 on errors)
    #[command(
        after_help = "Examples:\n  stkc check pipelines/stocks.stk\n  stkc check --format github --deny warnings pipelines/*.stk\n  stkc check --format json pipelines/stocks.stk | jq .code"
    )]
    Check(CheckArgs),
    /// Format pipeline files canonically (in place, or `--check` to only report)
    #[command(
        after_help = "Examples:\n  stkc fmt pipelines/stocks.stk\n  stkc fmt --check pipelines/*.stk\n  cat x.stk | stkc fmt -"
    )]
    Fmt(FmtArgs),
    /// Compile a pipeline and print what it compiles to (IR, record schema)
    #[command(
        after_help = "Examples:\n  stkc compile pipelines/stocks.stk --emit ir\n  stkc compile pipelines/stocks.stk --emit ir --format yaml\n  stkc compile pipelines/stocks.stk --emit schema --out schemas/\n  stkc compile pipelines/stocks.stk --emit ec2 --out build/ec2"
    )]
    Compile(CompileArgs),
    /// Run the whole pipeline on this machine: source, validation, a local lake, alerts
    #[command(
        after_help = "Examples:\n  stkc run pipelines/demo.stk\n  stkc run pipelines/demo.stk --lake /tmp/lake --speed 600 --for 30s\n  stkc run pipelines/stocks.stk --replay pipelines/demo/ticks.jsonl --speed max"
    )]
    Run(RunArgs),
    /// SQL over a local lake (tables `lake` and `raw`), with the alert functions available
    #[command(
        after_help = "Examples:\n  stkc query \"select symbol, count(*), min(close), max(close) from lake group by symbol\"\n  stkc query --lake /tmp/lake --format csv \"select * from lake where symbol = 'AAPL' limit 10\"\n  stkc query \"select symbol, ts, pct_change(close, ts, '1m') over (partition by symbol order by ts) as pct from lake\""
    )]
    Query(QueryArgs),
    /// Replay records through the pipeline's alerts and print every firing
    #[command(
        after_help = "Examples:\n  stkc backtest pipelines/demo.stk --input pipelines/demo/ticks.jsonl\n  stkc backtest pipelines/stocks.stk --input lake/ --from 2026-11-27T15:00:00Z --format json\n  stkc backtest pipelines/demo.stk --input ticks.csv --engine streaming"
    )]
    Backtest(BacktestArgs),
    /// Run a pipeline's unit tests: input records and the outcome, partitions, InfluxDB lines
    /// and alert firings they must give (exit 0 pass, 1 fail, 2 unreadable cases)
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
    /// Rebuild a local Parquet lake from its raw JSON, with the pipeline's current rules
    /// Build the Lambda deployment packages (one reproducible zip per function)
    #[command(
        after_help = "Examples:\n  cargo build --profile release-small --bin bootstrap\n  stkc package pipelines/stocks.stk --out dist --bootstrap target/release-small/bootstrap\n\nWrites DIR/transform.zip, compact.zip and notify.zip (the bootstrap and the compiled pipeline; the function's handler picks the code path) and DIR/SHA256SUMS. The same inputs always give the same bytes."
    )]
    Package(PackageArgs),
    /// Show what `apply` would change in the AWS account: the pipeline's resources diffed
    /// against what is live (exit 0; with --detailed-exitcode: 0 no changes, 2 changes, 1 error)
    #[command(
        after_help = "Examples:\n  stkc package pipelines/stocks.stk --out dist\n  stkc plan pipelines/stocks.stk\n  stkc plan pipelines/stocks.stk --json | jq .summary\n  stkc plan pipelines/stocks.stk --detailed-exitcode --out stocks.plan\n  stkc plan pipelines/stocks.stk --deployer-policy > deployer.json\n\nCredentials and region come from the standard AWS chain (environment, AWS_PROFILE, SSO, instance role); --region overrides the file's `region`; AWS_ENDPOINT_URL points every client at an emulator."
    )]
    Plan(PlanArgs),
    /// Create, update and delete the pipeline's AWS resources until the account matches the file
    #[command(
        after_help = "Examples:\n  stkc apply pipelines/stocks.stk\n  stkc apply pipelines/stocks.stk --auto-approve\n  stkc apply pipelines/stocks.stk stocks.plan    # exactly a saved plan, if nothing changed since\n\nA failed apply leaves nothing half-remembered: fix the cause and run it again."
    )]
    Apply(ApplyArgs),
    /// Delete every AWS resource of the pipeline (buckets holding data only with --force-delete-data)
    #[command(
        after_help = "Examples:\n  stkc destroy pipelines/stocks.stk\n  stkc destroy pipelines/stocks.stk --auto-approve --force-delete-data"
    )]
    Destroy(DestroyArgs),
    #[command(
        after_help = "Examples:\n  stkc rebuild-lake pipelines/demo.stk --lake lake\n\nReads LAKE/raw, writes a new LAKE/lake beside the old one and swaps it in at the end; records the current rules reject go to LAKE/errors/*.rebuild.jsonl."
    )]
    RebuildLake {
        /// The pipeline file
        file: PathBuf,
        /// The folder `stkc run --lake DIR` wrote (with raw/ and lake/)
        #[arg(long, default_value = "lake")]
        lake: PathBuf,
    },
    /// Rebuild the InfluxDB series from the Parquet lake (after an outage, or into a new server)
    #[command(
        after_help = "Examples:\n  stkc backfill pipelines/stocks.stk --from-lake lake/lake\n  STK_SECRET_STOCKS_INFLUX_TOKEN=... stkc backfill pipelines/stocks.stk --from-lake lake/lake --influx http://127.0.0.1:8086\n  AWS_PROFILE=prod stkc backfill pipelines/stocks.stk --from-lake s3://stocks-lake-123456789012-eu-central-1/\n\nPoints with the same series and time overwrite each other in InfluxDB, so running a backfill twice duplicates nothing."
    )]
    Backfill(BackfillArgs),
    /// Explain a diagnostic code, or list them all
    #[command(after_help = "Examples:\n  stkc explain E0304\n  stkc explain")]
    Explain {
        /// A code such as `E0304` or `stk::E0304`; none lists every code
        code: Option<String>,
    },
    /// Write the bundled demo replay file (deterministic; see README for the method)
    #[command(
        hide = true,
        after_help = "Examples:\n  stkc demo-data --out pipelines/demo/ticks.jsonl"
    )]
    DemoData {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = crate::commands::demo_data::DEFAULT_SEED)]
        seed: u64,
    },
    /// Write a commented starter pipeline (and replay data) that checks clean and runs offline
    #[command(after_help = "Examples:\n  stkc init mystocks\n  stkc init mystocks --dir pipelines")]
    Init {
        /// The pipeline's name (lowercase letters, digits, `_`)
        name: String,
        /// Where to write NAME.stk and NAME-ticks.jsonl
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  stkc completions bash > /etc/bash_completion.d/stkc\n  stkc completions zsh > ~/.zfunc/_stkc"
    )]
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Pipeline files to check
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t = DiagFormat::Human)]
    pub format: DiagFormat,
    /// Treat warnings as errors (`--deny warnings`)
    #[arg(long, value_name = "LEVEL", value_parser = ["warnings"])]
    pub deny: Option<String>,
    /// Colour for the human format (default: auto, off when NO_COLOR is set or not a terminal)
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagFormat {
    /// Graphical report with source snippets
    Human,
    /// One JSON object per diagnostic, one per line
    Json,
    /// GitHub Actions annotations (`::error file=...`)
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Files to format; `-` reads standard input and writes standard output
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not write; print a diff and exit 1 when a file is not formatted
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// What to produce
    #[arg(long, value_enum, default_value_t = Emit::Ir)]
    pub emit: Emit,
    /// Output format for `--emit ir`
    #[arg(long, value_enum, default_value_t = DataFormat::Json)]
    pub format: DataFormat,
    /// Write to this file (or, for `--emit schema`, into this folder) instead of stdout
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// Records: a JSONL or CSV file, or a directory of Parquet files with hive partitions
    #[arg(long)]
    pub input: PathBuf,
    /// Only report firings at or after this time (RFC 3339); earlier records still fill windows
    #[arg(long, value_parser = parse_time)]
    pub from: Option<i64>,
    /// Only report firings before this time (RFC 3339)
    #[arg(long, value_parser = parse_time)]
    pub to: Option<i64>,
    /// Output: a table and a summary, or one JSON firing per line
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Which evaluator: DataFusion over the whole input (batch) or record by record (streaming);
    /// both give the same firings
    #[arg(long, value_enum, default_value_t = Engine::Batch)]
    pub engine: Engine,
    /// Threads for the batch engine (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// Where the local lake goes (raw/, lake/, errors/ and the run checkpoint)
    #[arg(long, default_value = "lake")]
    pub lake: PathBuf,
    /// Replay this JSONL or CSV file instead of the pipeline's sources
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Replay speed: a factor of real time (`60` is a minute per second) or `max`
    #[arg(long, value_parser = parse_speed)]
    pub speed: Option<Speed>,
    /// Stop after this long (wall clock), e.g. `30s`, `5m`
    #[arg(long = "for", value_parser = parse_duration)]
    pub for_duration: Option<std::time::Duration>,
    /// Mail alerts through this SMTP server (`host:port`), overriding the pipeline's `smtp`
    #[arg(long)]
    pub smtp: Option<String>,
    /// Write the InfluxDB sink to this URL instead of the one in the file (e.g. a local
    /// InfluxDB or VictoriaMetrics); the token comes from STK_SECRET_<SECRET NAME>
    #[arg(long, value_name = "URL")]
    pub influx: Option<String>,
}

const TEST_HELP: &str = "Examples:
  stkc test pipelines/stocks.stk            (reads pipelines/stocks.tests.yaml)
  stkc test pipelines/stocks.stk --cases more-cases.yaml

A cases file:
  cases:
    - name: a 2% jump in a minute fires move_1pct
      input:
        - { symbol: AAPL, ts: 2026-11-27T14:30:00Z, price: 100, close: 100, currency: USD }
        - { symbol: AAPL, ts: 2026-11-27T14:31:00Z, price: 102, close: 102, currency: USD }
      expect:
        records:                       # one entry per input record; every key optional
          - outcome: valid             # valid | rejected
            partition: { raw: date=2026-11-27/symbol=AAPL/ }
            influx: quote,currency=USD,symbol=AAPL close=100,price=100 1795789800000000000
          - outcome: valid
        alerts:                        # every firing, in order ([] = none may fire)
          - { alert: move_1pct, at: 2026-11-27T14:31:00Z, key: symbol=AAPL }

Only the keys a case states are compared; a failure prints the difference.";

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// The cases (default: FILE with `.stk` replaced by `.tests.yaml`)
    #[arg(long)]
    pub cases: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// The pipeline file (its InfluxDB sink says where the points go)
    pub file: PathBuf,
    /// The Parquet lake to read: `LAKE/lake` as `stkc run --lake LAKE` writes it, any
    /// hive-partitioned folder of Parquet files, or the lake in S3 as `s3://BUCKET/PREFIX`
    /// (credentials and region from the standard AWS chain; `AWS_ENDPOINT_URL` is honoured)
    #[arg(long = "from-lake", value_name = "DIR|s3://BUCKET/PREFIX")]
    pub from_lake: String,
    /// Write to this URL instead of the sink's (the token comes from STK_SECRET_<SECRET NAME>)
    #[arg(long, value_name = "URL")]
    pub influx: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The SQL statement
    pub sql: String,
    /// The lake directory written by `stkc run`
    #[arg(long, default_value = "lake")]
    pub lake: PathBuf,
    /// Output: an aligned table, CSV with a header, or one JSON object per row
    #[arg(long, value_enum, default_value_t = RowFormat::Table)]
    pub format: RowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Speed(pub Option<f64>);

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed(None));
    }
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed(Some(x))),
        _ => Err(format!(
            "`{s}` is not a speed: write a positive factor such as `60`, or `max`"
        )),
    }
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    stk_dsl::syntax::literal::duration_millis(s)
        .map(std::time::Duration::from_millis)
        .map_err(|m| format!("{m}; write a duration such as `30s` or `5m`"))
}

fn parse_time(s: &str) -> Result<i64, String> {
    stk_eval::value::parse_ts(s)
        .ok_or_else(|| format!("`{s}` is not an RFC 3339 time such as 2026-11-27T15:00:00Z"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    Batch,
    Streaming,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The resolved pipeline model every backend consumes
    Ir,
    /// The JSON Schema of the pipeline's record
    Schema,
    /// The EC2 runtime plan: cloud-init user data, the systemd unit, the pipeline (needs --out DIR)
    Ec2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Json,
    Yaml,
}

#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// Where the zips go
    #[arg(long, default_value = "dist")]
    pub out: PathBuf,
    /// The bootstrap binary (default: release-small/bootstrap, then bootstrap, beside stkc)
    #[arg(long)]
    pub bootstrap: Option<PathBuf>,
    /// The scraper daemon, for a pipeline that runs on EC2 (default: release-small/stk-scraper,
    /// then stk-scraper, beside stkc)
    #[arg(long)]
    pub scraper: Option<PathBuf>,
}

/// Where `plan`, `apply` and `destroy` deploy, and what.
#[derive(Debug, clap::Args)]
pub struct AwsArgs {
    /// The AWS profile (default: the standard chain: environment, AWS_PROFILE, SSO, instance role)
    #[arg(long)]
    pub profile: Option<String>,
    /// The region (default: the pipeline's `region`)
    #[arg(long)]
    pub region: Option<String>,
    /// The folder `stkc package` wrote the Lambda packages to
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub package: PathBuf,
    /// For local AWS emulators such as moto: leave out the buckets' deny-non-TLS policy,
    /// which moto cannot evaluate (it would deny every object call)
    #[arg(long)]
    pub emulator: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The pipeline file
    pub file: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Print the plan as JSON (the stable format, `format: 1`)
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there is nothing to change, 2 when there is, 1 on errors
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan for `stkc apply FILE PLANFILE`
    #[arg(long, value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Print the IAM policy a CI role needs to apply this pipeline, instead of the plan
    /// (needs no package; with --account, no credentials either)
    #[arg(long)]
    pub deployer_policy: bool,
    /// With --deployer-policy: the account the policy is for (default: the caller's, asked
    /// from STS)
    #[arg(long, value_name = "ID", requires = "deployer_policy", value_parser = account_id)]
    pub account: Option<String>,
}

/// A 12-digit AWS account id.
fn account_id(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("`{s}` is not an AWS account id (12 digits)"))
    }
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// A plan saved by `stkc plan --out`: applied only if a fresh plan is the same
    pub planfile: Option<PathBuf>,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, clap::Args)]
pub struct DestroyArgs {
    /// The pipeline file
    pub file: PathBuf,
    /// Do not ask for confirmation (required when stdin is not a terminal)
    #[arg(long)]
    pub auto_approve: bool,
    /// Also delete buckets that hold data, with every object version in them
    #[arg(long)]
    pub force_delete_data: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}
