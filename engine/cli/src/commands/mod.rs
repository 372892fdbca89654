//! One module per subcommand.

mod apply;
mod backfill;
mod backtest;
mod check;
mod compile;
pub mod demo_data;
mod destroy;
mod explain;
mod fmt;
mod init;
pub mod package;
mod plan;
mod query;
mod rebuild;
mod run;
mod test;

use crate::cli::{Cli, Command};
use anyhow::Result;
use clap::CommandFactory;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Fmt(args) => fmt::run(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Init { name, dir } => init::run(&name, &dir),
        Command::Query(args) => query::run(&args),
        Command::Backtest(args) => backtest::run(&args),
        Command::Backfill(args) => backfill::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Package(args) => package::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Apply(args) => apply::run(&args),
        Command::Destroy(args) => destroy::run(&args),
        Command::RebuildLake { file, lake } => rebuild::run(&file, &lake),
        Command::Explain { code } => explain::run(code.as_deref()),
        Command::DemoData { out, seed } => demo_data::run(&out, seed),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "stkc", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
