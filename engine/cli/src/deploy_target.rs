//! What `stkc plan`, `apply` and `destroy` share: the pipeline file checked into its IR, the
//! AWS clients (standard credential chain, `--profile`, `--region` else the file's region,
//! `AWS_ENDPOINT_URL`), the files `stkc package` wrote (the Lambda package, the scraper) and
//! the scraper's compiled pipeline and user data, and from those the desired resource graph
//! and a fresh read of the live account.

use crate::cli::AwsArgs;
use crate::load::load;
use anyhow::{Context as _, Result, bail};
use std::io::Read;
use std::path::Path;
use stk_aws::Aws;
use stk_aws::kinds::{Cx, Files};
use stk_deploy::graph::{artifacts, sha256_base64};
use stk_deploy::{Context, Graph, Snapshot};
use stk_dsl::ir::Pipeline;

/// A pipeline ready to be compared with, or applied to, one account.
pub struct Target {
    pub aws: Aws,
    pub graph: Graph,
    /// What apply uploads to the artifacts bucket, by `s3_object` logical name.
    pub files: Files,
    /// The scraper's cloud-init user data (the graph holds only its digest).
    pub user_data: String,
}

impl Target {
    /// Loads the file (None: its diagnostics were printed), connects, builds the graph.
    pub async fn open(file: &Path, args: &AwsArgs) -> Result<Option<Target>> {
        let loaded = load(file)?;
        let Some(ir) = crate::load::ir_or_report(&loaded) else {
            return Ok(None);
        };
        let lambda_zip = lambda_package(&args.package, ir)?;
        let scraper = match ir.runtime {
            Some(_) => Some(scraper_binary(&args.package)?),
            None => None,
        };
        let region = args.region.clone().unwrap_or_else(|| ir.region.clone());
        let aws = Aws::connect(args.profile.as_deref(), Some(&region))
            .await
            .context("cannot reach AWS (credentials from the environment, --profile, SSO or the instance role)")?;
        let ec2 = stk_runtime_ec2::deploy::render(ir)?;
        let mut ctx = Context::new(
            aws.account_id.clone(),
            aws.region.clone(),
            sha256_base64(&lambda_zip),
            ec2.user_data.clone(),
        );
        ctx.scraper_sha256 = scraper.as_deref().map(sha256_base64);
        ctx.tls_only_buckets = !args.emulator;
        let graph = stk_deploy::desired(ir, &ctx)
            .with_context(|| format!("cannot derive the AWS resources of `{}`", loaded.display))?;
        let mut files = Files::from([(artifacts::LAMBDA_PACKAGE.to_string(), lambda_zip)]);
        if let Some(binary) = scraper {
            files.insert(artifacts::SCRAPER.to_string(), binary);
            files.insert(
                artifacts::SCRAPER_PIPELINE.to_string(),
                ec2.pipeline_json.into_bytes(),
            );
        }
        Ok(Some(Target {
            aws,
            graph,
            files,
            user_data: ec2.user_data,
        }))
    }

    pub fn pipeline(&self) -> &str {
        &self.graph.names.pipeline
    }

    pub fn cx(&self, force_delete_data: bool) -> Cx<'_> {
        Cx {
            aws: &self.aws,
            graph: &self.graph,
            pipeline: self.pipeline(),
            files: &self.files,
            user_data: &self.user_data,
            force_delete_data,
        }
    }

    /// Everything of this pipeline in the account, read now.
    pub async fn read(&self) -> Result<Snapshot> {
        stk_aws::snapshot(&self.cx(false))
            .await
            .context("cannot read the account's resources")
    }
}

/// The graph `--deployer-policy` derives the policy from: the file in `account` (else the
/// caller's, from STS) and the region; no package needed (the policy does not depend on the
/// files' contents). `None`: the file's diagnostics were printed.
pub async fn policy_graph(
    file: &Path,
    args: &AwsArgs,
    account: Option<&str>,
) -> Result<Option<Graph>> {
    let loaded = load(file)?;
    let Some(ir) = crate::load::ir_or_report(&loaded) else {
        return Ok(None);
    };
    let region = args.region.clone().unwrap_or_else(|| ir.region.clone());
    let account = match account {
        Some(a) => a.to_string(),
        None => {
            Aws::connect(args.profile.as_deref(), Some(&region))
                .await
                .context("cannot ask STS for the account; pass --account ID")?
                .account_id
        }
    };
    // Digests do not change a single permission.
    let ctx = Context::new(account, region, "", "").with_scraper("");
    let graph = stk_deploy::desired(ir, &ctx)
        .with_context(|| format!("cannot derive the AWS resources of `{}`", loaded.display))?;
    Ok(Some(graph))
}

/// `DIR/stk-scraper` from `stkc package` (checked there to run on the instance).
fn scraper_binary(dir: &Path) -> Result<Vec<u8>> {
    let path = dir.join(crate::commands::package::SCRAPER);
    std::fs::read(&path).with_context(|| {
        format!(
            "no scraper at `{}`: the pipeline runs on EC2, so `stkc package FILE --out {}` must \
             add it (build it with `cargo build --profile release-small --bin stk-scraper`, or \
             pass --scraper PATH)",
            path.display(),
            dir.display()
        )
    })
}

/// `DIR/transform.zip` from `stkc package`, checked to hold this very pipeline (a stale
/// package would deploy the old rules).
fn lambda_package(dir: &Path, ir: &Pipeline) -> Result<Vec<u8>> {
    let path = dir.join("transform.zip");
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "no Lambda package at `{}`: run `stkc package FILE --out {}` first, or pass --package DIR",
            path.display(),
            dir.display()
        )
    })?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).with_context(|| {
        format!(
            "`{}` is not a zip written by `stkc package`",
            path.display()
        )
    })?;
    let mut packed = String::new();
    zip.by_name("pipeline.json")
        .with_context(|| {
            format!(
                "`{}` has no pipeline.json; rebuild it with `stkc package`",
                path.display()
            )
        })?
        .read_to_string(&mut packed)?;
    if packed != ir.to_json()? {
        bail!(
            "the package `{}` was built from another version of this pipeline; rerun `stkc package` so the functions run the current rules",
            path.display()
        );
    }
    Ok(bytes)
}
