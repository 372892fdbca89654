//! `stkc destroy FILE [--auto-approve] [--force-delete-data]`: deletes every resource of the
//! pipeline (those the file names and those it no longer does), dependents first. Refuses
//! while a bucket holds data, unless `--force-delete-data`.

use crate::cli::DestroyArgs;
use crate::commands::apply::{Printer, confirm};
use crate::deploy_target::Target;
use anyhow::{Result, bail};
use std::io::IsTerminal;
use std::process::ExitCode;
use stk_deploy::render::{self, Style};
use stk_deploy::{Kind, Owner};

pub fn run(args: &DestroyArgs) -> Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let Some(target) = Target::open(&args.file, &args.aws).await? else {
            return Ok(ExitCode::from(1));
        };
        let live = target.read().await?;
        let full: Vec<String> = live
            .resources
            .iter()
            .filter(|(id, l)| {
                id.kind == Kind::S3Bucket && l.owner == Owner::Pipeline && l.holds_data == Some(true)
            })
            .map(|(id, _)| id.to_string())
            .collect();
        if !full.is_empty() && !args.force_delete_data {
            bail!(
                "these buckets hold data: {}; copy what you need, then pass --force-delete-data to delete them with everything in them",
                full.join(", ")
            );
        }
        let plan = stk_deploy::destroy(&target.graph, &live)?;
        print!("{}", render::human(&plan, Style::from_env(std::io::stdout().is_terminal())));
        if !plan.has_changes() {
            return Ok(ExitCode::SUCCESS);
        }
        if !args.auto_approve && !confirm("destroy")? {
            println!("Destroy cancelled.");
            return Ok(ExitCode::from(1));
        }
        let done = stk_aws::destroy(&target.cx(args.force_delete_data), &live, &Printer).await?;
        println!("\nDestroy complete! Resources: {done} destroyed.");
        Ok(ExitCode::SUCCESS)
    })
}
