//! `stkc init NAME`: a commented starter pipeline that checks clean and runs offline, with a
//! small replay file to run it on.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::ExitCode;

const TEMPLATE: &str = r#"# NAME: a starter pipeline written by `stkc init`.
# Check it:  stkc check NAME.stk
# Run it:    stkc run NAME.stk --lake NAME-lake
# Reference: dsl/README.md (every block and attribute), docs/alerts.md (alert semantics).

pipeline NAME {
  region = "eu-central-1"  # where `stkc apply` will deploy it
}

# Replays recorded ticks. For live quotes use a Yahoo source instead:
#   source quotes: yahoo { symbols = ["AAPL", "MSFT"]  every = 5s  endpoint = chart }
source ticks: replay {
  path = "NAME-ticks.jsonl"
  speed = max
}

# The record every stage sees; records that break it are dead-lettered with the reason.
schema quote {
  symbol: string required matches /^[A-Z0-9.^=-]{1,12}$/
  ts: timestamp required
  price: float64 required
  open: float64
  high: float64
  low: float64
  close: float64 required
  volume: int64
  currency: string required
}

validate quote {
  rule positive: close > 0 and price > 0
  rule range: high >= low
  on_fail = dead_letter
}

# Raw JSON as Firehose would write it, compacted into a Parquet lake.
sink raw: s3_json {
  buffer = { interval = 60s, size = 64MiB }
  partition = [date(ts), symbol]
}

sink lake: s3_parquet {
  from = raw
  partition = [date(ts), symbol]
}

alert move_1pct {
  when = abs(pct_change(close, 1m)) > 1%
  per = symbol
  cooldown = 5m
  message = "{symbol} moved {pct_change(close, 1m)} in 1m to {close} {currency}"
}
"#;

/// About 80 minutes of the demo day: enough for the alert to fire.
const TICKS: usize = 4_000;

pub fn run(name: &str, dir: &Path) -> Result<ExitCode> {
    let ok = !name.is_empty()
        && name.len() <= 20
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!(
            "`{name}` cannot name a pipeline: use 1-20 lowercase letters, digits or `_`, starting with a letter"
        );
    }
    let stk = dir.join(format!("{name}.stk"));
    let ticks = dir.join(format!("{name}-ticks.jsonl"));
    for p in [&stk, &ticks] {
        if p.exists() {
            bail!(
                "`{}` already exists; stkc init does not overwrite files",
                p.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    std::fs::write(&stk, TEMPLATE.replace("NAME", name))
        .with_context(|| format!("cannot write `{}`", stk.display()))?;
    let data: String = super::demo_data::generate(super::demo_data::DEFAULT_SEED)
        .lines()
        .take(TICKS)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&ticks, data).with_context(|| format!("cannot write `{}`", ticks.display()))?;
    eprintln!(
        "wrote {} and {} (synthetic ticks)",
        stk.display(),
        ticks.display()
    );
    eprintln!(
        "next: stkc check {}  &&  stkc run {} --lake {}-lake",
        stk.display(),
        stk.display(),
        dir.join(name).display()
    );
    Ok(ExitCode::SUCCESS)
}
