//! `stkc package FILE --out DIR [--bootstrap PATH]`: the Lambda deployment packages of a
//! pipeline (one reproducible zip per function), with their SHA-256.

use crate::cli::PackageArgs;
use crate::lambda_package::{self, FUNCTIONS, LAMBDA_GLIBC};
use crate::load::load;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(args: &PackageArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let bootstrap_path = match &args.bootstrap {
        Some(p) => p.clone(),
        None => default_bootstrap()?,
    };
    let bootstrap = std::fs::read(&bootstrap_path)
        .with_context(|| format!("cannot read the bootstrap `{}`", bootstrap_path.display()))?;
    if !bootstrap.starts_with(b"\x7fELF") {
        bail!(
            "`{}` is not a Linux executable; build it with `cargo build --profile release-small --bin bootstrap`",
            bootstrap_path.display()
        );
    }
    if let Some(v) = lambda_package::newest_glibc(&bootstrap)
        && v > LAMBDA_GLIBC
    {
        bail!(
            "`{}` needs glibc {}.{}, but Lambda's provided.al2023 has {}.{}; build it on an older \
             system or for the musl target",
            bootstrap_path.display(),
            v.0,
            v.1,
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        );
    }
    let pipeline_json = serde_json::to_string_pretty(ir)? + "\n";
    let package = lambda_package::build(&bootstrap, &pipeline_json)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create `{}`", args.out.display()))?;
    let (hex, code_sha256) = (package.sha256_hex(), package.code_sha256());
    let mut sums = String::new();
    for f in FUNCTIONS {
        let name = format!("{f}.zip");
        let target = args.out.join(&name);
        std::fs::write(&target, &package.bytes)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        sums.push_str(&format!("{hex}  {name}\n"));
        println!(
            "{:<40} {:>10} bytes  CodeSha256 {code_sha256}",
            target.display(),
            package.bytes.len(),
        );
    }
    std::fs::write(args.out.join("SHA256SUMS"), sums)
        .with_context(|| format!("cannot write SHA256SUMS in `{}`", args.out.display()))?;
    if is_debug_build(&bootstrap_path) {
        eprintln!(
            "note: `{}` is a debug build ({} MB); for deployment build \
             `cargo build --profile release-small --bin bootstrap` and pass \
             `--bootstrap target/release-small/bootstrap`",
            bootstrap_path.display(),
            bootstrap.len() / 1_000_000
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The bootstrap built beside this `stkc`: `release-small` first, then the same profile.
fn default_bootstrap() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the stkc executable")?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [
        dir.parent()
            .map(|t| t.join("release-small").join("bootstrap")),
        Some(dir.join("bootstrap")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no bootstrap found beside `{}`; build it with `cargo build --profile release-small --bin bootstrap` \
                 or pass `--bootstrap PATH`",
                exe.display()
            )
        })
}

fn is_debug_build(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "debug")
}
