//! `stkc apply FILE [PLANFILE] [--auto-approve]`: shows the plan, asks (never when stdin is
//! not a terminal: then `--auto-approve` is required), and converges the account in
//! dependency order, printing each resource's progress. A saved plan is applied only if a
//! fresh plan is identical (the file and the account unchanged since it was made).

use crate::cli::ApplyArgs;
use crate::commands::plan::make;
use crate::deploy_target::Target;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;
use stk_aws::{AwsError, Progress, Step};
use stk_deploy::ResourceId;
use stk_deploy::render::{self, Style};

pub fn run(args: &ApplyArgs) -> Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let Some(target) = Target::open(&args.file, &args.aws).await? else {
            return Ok(ExitCode::from(1));
        };
        let (plan, live) = make(&target).await?;
        if let Some(saved) = &args.planfile {
            let text = std::fs::read_to_string(saved)
                .with_context(|| format!("cannot read the plan `{}`", saved.display()))?;
            let saved_plan: stk_deploy::Plan = serde_json::from_str(&text).with_context(|| {
                format!("`{}` is not a plan written by `stkc plan --out`", saved.display())
            })?;
            if saved_plan != plan {
                bail!(
                    "the account or `{}` changed since `{}` was made; run `stkc plan --out` again and review it",
                    args.file.display(),
                    saved.display()
                );
            }
        }
        let style = Style::from_env(std::io::stdout().is_terminal());
        print!("{}", render::human(&plan, style));
        if !plan.has_changes() {
            return Ok(ExitCode::SUCCESS);
        }
        if !args.auto_approve && args.planfile.is_none() && !confirm("apply")? {
            println!("Apply cancelled.");
            return Ok(ExitCode::from(1));
        }
        let done = stk_aws::apply(&target.cx(false), &plan, &live, &Printer).await?;
        println!("\nApply complete! Resources: {} done. {}", done, render::summary_line(&plan.summary));
        Ok(ExitCode::SUCCESS)
    })
}

/// Terraform's question; only "yes" goes on. Refuses when nobody can answer.
pub fn confirm(what: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "stdin is not a terminal, so nobody can confirm the {what}; review the plan and pass --auto-approve"
        );
    }
    print!(
        "\nDo you want to perform these actions? Only 'yes' will be accepted.\n  Enter a value: "
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// One line per step as it starts and ends, Terraform-style.
pub struct Printer;

impl Progress for Printer {
    fn started(&self, id: &ResourceId, name: &str, step: Step) {
        println!("{id}: {}... [{name}]", step.verb());
    }

    fn finished(
        &self,
        id: &ResourceId,
        _: &str,
        step: Step,
        took: Duration,
        error: Option<&AwsError>,
    ) {
        let secs = took.as_secs_f64();
        match error {
            None => {
                let done = match step {
                    Step::Create => "Creation complete",
                    Step::Update => "Modifications complete",
                    Step::Delete => "Destruction complete",
                };
                println!("{id}: {done} after {secs:.0}s");
            }
            Some(e) => eprintln!("{id}: failed after {secs:.0}s: {e}"),
        }
    }
}
