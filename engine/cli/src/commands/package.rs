//! `stkc package FILE --out DIR [--bootstrap PATH] [--scraper PATH]`: what `stkc apply`
//! uploads for a pipeline: the Lambda deployment packages (one reproducible zip per function)
//! and, when the pipeline runs a scraper on EC2, the scraper binary (checked to run on
//! Amazon Linux 2023 on the instance's architecture), with their SHA-256 in `SHA256SUMS`.

use crate::cli::PackageArgs;
use crate::lambda_package::{self, FUNCTIONS, LAMBDA_GLIBC};
use crate::load::load;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use stk_dsl::ir::{Arch, RuntimeKind};

pub fn run(args: &PackageArgs) -> Result<ExitCode> {
    let loaded = load(&args.file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(ExitCode::from(1));
    };
    let bootstrap_path = match &args.bootstrap {
        Some(p) => p.clone(),
        None => beside_stkc(BOOTSTRAP, "--bootstrap")?,
    };
    let bootstrap = read_binary(&bootstrap_path, BOOTSTRAP, "Lambda's provided.al2023")?;
    let pipeline_json = ir.to_json()?;
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
    if let Some(runtime) = &ir.runtime {
        let RuntimeKind::Ec2(ec2) = &runtime.kind;
        let path = match &args.scraper {
            Some(p) => p.clone(),
            None => beside_stkc(SCRAPER, "--scraper")?,
        };
        let binary = read_binary(&path, SCRAPER, "Amazon Linux 2023")?;
        check_arch(&binary, &path, ec2.arch)?;
        let target = args.out.join(SCRAPER);
        std::fs::write(&target, &binary)
            .with_context(|| format!("cannot write `{}`", target.display()))?;
        let hex = lambda_package::sha256_hex(&binary);
        sums.push_str(&format!("{hex}  {SCRAPER}\n"));
        println!(
            "{:<40} {:>10} bytes  the scraper, for the EC2 instance",
            target.display(),
            binary.len()
        );
        if is_debug_build(&path) {
            eprintln!(
                "note: `{}` is a debug build; for deployment build \
                 `cargo build --profile release-small --bin stk-scraper`",
                path.display()
            );
        }
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

const BOOTSTRAP: &str = "bootstrap";
/// The scraper's file name in the package folder (`stkc apply` uploads it from there).
pub const SCRAPER: &str = "stk-scraper";

/// A Linux executable that runs on `platform` (glibc 2.34 at most), read whole.
fn read_binary(path: &Path, name: &str, platform: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the {name} `{}`", path.display()))?;
    if !bytes.starts_with(b"\x7fELF") {
        bail!(
            "`{}` is not a Linux executable; build it with `cargo build --profile release-small --bin {name}`",
            path.display()
        );
    }
    if let Some(v) = lambda_package::newest_glibc(&bytes)
        && v > LAMBDA_GLIBC
    {
        bail!(
            "`{}` needs glibc {}.{}, but {platform} has {}.{}; build it on an older \
             system or for the musl target",
            path.display(),
            v.0,
            v.1,
            LAMBDA_GLIBC.0,
            LAMBDA_GLIBC.1
        );
    }
    Ok(bytes)
}

/// The scraper must be built for the instance's architecture (the ELF header's `e_machine`).
fn check_arch(binary: &[u8], path: &Path, arch: Arch) -> Result<()> {
    let machine = binary.get(18..20).map(|m| u16::from_le_bytes([m[0], m[1]]));
    let (want, name) = match arch {
        Arch::X86_64 => (0x3e, "x86_64"),
        Arch::Arm64 => (0xb7, "aarch64"),
    };
    if machine != Some(want) {
        bail!(
            "`{}` is not an {name} executable, but the instance in the file is {name}; build the \
             scraper for it (e.g. `cargo build --profile release-small --bin stk-scraper --target {name}-unknown-linux-gnu`)",
            path.display()
        );
    }
    Ok(())
}

/// A binary built beside this `stkc`: `release-small` first, then the same profile.
fn beside_stkc(name: &str, flag: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the stkc executable")?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [
        dir.parent().map(|t| t.join("release-small").join(name)),
        Some(dir.join(name)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no {name} found beside `{}`; build it with `cargo build --profile release-small --bin {name}` \
                 or pass `{flag} PATH`",
                exe.display()
            )
        })
}

fn is_debug_build(path: &Path) -> bool {
    path.components().any(|c| c.as_os_str() == "debug")
}
