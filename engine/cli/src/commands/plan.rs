//! `stkc plan FILE`: the pipeline's AWS resources diffed against the live account, shown like
//! Terraform's plan (IAM statement changes first) or as JSON (the stable contract), with
//! `--detailed-exitcode` (0 no changes, 2 changes, 1 error), `--out PLANFILE` for
//! `stkc apply PLANFILE`, and `--deployer-policy` for the IAM policy a CI role needs.

use crate::cli::PlanArgs;
use crate::deploy_target::Target;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::process::ExitCode;
use stk_deploy::render::{self, Style};
use stk_deploy::{Plan, Snapshot};

pub fn run(args: &PlanArgs) -> Result<ExitCode> {
    crate::runtime()?.block_on(async {
        if args.deployer_policy {
            let Some(graph) =
                crate::deploy_target::policy_graph(&args.file, &args.aws, args.account.as_deref())
                    .await?
            else {
                return Ok(ExitCode::from(1));
            };
            let policy = stk_deploy::iam::deployer_policy(&graph);
            println!("{}", serde_json::to_string_pretty(&policy)?);
            return Ok(ExitCode::SUCCESS);
        }
        let Some(target) = Target::open(&args.file, &args.aws).await? else {
            return Ok(ExitCode::from(1));
        };
        let (plan, _) = make(&target).await?;
        if let Some(out) = &args.out {
            std::fs::write(out, render::json(&plan))
                .with_context(|| format!("cannot write the plan to `{}`", out.display()))?;
        }
        if args.json {
            println!("{}", render::json(&plan));
        } else {
            print!(
                "{}",
                render::human(&plan, Style::from_env(std::io::stdout().is_terminal()))
            );
            if let Some(out) = &args.out {
                println!(
                    "\nSaved the plan to {}; `stkc apply {} {}` applies exactly it.",
                    out.display(),
                    args.file.display(),
                    out.display()
                );
            }
        }
        Ok(match (args.detailed_exitcode, plan.has_changes()) {
            (true, true) => ExitCode::from(2),
            _ => ExitCode::SUCCESS,
        })
    })
}

/// Reads the account and diffs; an unowned resource under a desired name is an error
/// that lists every conflict and changes nothing.
pub async fn make(target: &Target) -> Result<(Plan, Snapshot)> {
    let live = target.read().await?;
    let plan = stk_deploy::diff(&target.graph, &live)?;
    Ok((plan, live))
}
