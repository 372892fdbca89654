//! `stkc compile FILE --emit ir|schema|ec2`: print (or write) what a pipeline compiles to.

use crate::cli::{CompileArgs, DataFormat, Emit};
use crate::load::load;
use anyhow::{Context, Result};
use std::process::ExitCode;

pub fn run(args: &CompileArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    if args.emit == Emit::Ec2 {
        return ec2(ir, args);
    }
    let (text, default_name) = match args.emit {
        Emit::Ec2 => unreachable!("handled above"),
        Emit::Ir => {
            let text = match args.format {
                DataFormat::Json => ir.to_json()?,
                DataFormat::Yaml => serde_yaml::to_string(ir)?,
            };
            (text, None)
        }
        Emit::Schema => {
            let schema = stk_dsl::schema::json_schema(ir);
            (
                serde_json::to_string_pretty(&schema)? + "\n",
                Some(stk_dsl::schema::file_name(ir)),
            )
        }
    };
    match &args.out {
        None => print!("{text}"),
        Some(out) => {
            let target = match default_name {
                Some(name) if out.is_dir() => out.join(name),
                _ => out.clone(),
            };
            std::fs::write(&target, text)
                .with_context(|| format!("cannot write `{}`", target.display()))?;
            eprintln!("wrote {}", target.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--emit ec2 --out DIR`: the files of the EC2 runtime plan.
fn ec2(ir: &stk_dsl::ir::Pipeline, args: &CompileArgs) -> Result<ExitCode> {
    let Some(dir) = &args.out else {
        anyhow::bail!("`--emit ec2` writes several files: pass `--out DIR`");
    };
    if ir.runtime.is_none() {
        eprintln!(
            "note: the pipeline has no `runtime NAME: ec2 {{ ... }}` block; the plan is written \
             anyway, but `stkc apply` starts no instance without one"
        );
    }
    let plan = stk_runtime_ec2::deploy::render(ir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    for (name, text) in [
        ("user-data.yaml", &plan.user_data),
        (stk_runtime_ec2::deploy::UNIT_NAME, &plan.unit),
        (
            stk_runtime_ec2::deploy::REFRESH_SERVICE,
            &plan.refresh_service,
        ),
        (stk_runtime_ec2::deploy::REFRESH_TIMER, &plan.refresh_timer),
        ("pipeline.json", &plan.pipeline_json),
    ] {
        let target = dir.join(name);
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        eprintln!("wrote {}", target.display());
    }
    Ok(ExitCode::SUCCESS)
}
