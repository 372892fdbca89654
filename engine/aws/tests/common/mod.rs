//! What the stk-aws integration tests share: the emulator (moto server, started by
//! tests/services/start.sh, found through STK_MOTO_URL), clients pointed at it, and the
//! desired graph of a pipeline. Tests isolate themselves by pipeline name (every resource
//! name derives from it), so they run in parallel without resetting the emulator.

#![allow(dead_code)]

use stk_aws::Aws;
use stk_deploy::{Context, Graph};

/// moto's URL, or `None` with a visible message (the test is then skipped).
pub fn moto(test: &str) -> Option<String> {
    match std::env::var("STK_MOTO_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("SKIPPED {test}: STK_MOTO_URL is not set (start tests/services/start.sh)");
            None
        }
    }
}

/// Clients against moto, account 123456789012, region eu-central-1.
pub async fn aws(moto: &str) -> Aws {
    let creds = aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "tests");
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(creds)
        .load()
        .await;
    match Aws::from_conf(&conf).await {
        Ok(a) => a,
        Err(e) => panic!("clients for moto at {moto}: {e}"),
    }
}

/// The shipped stocks pipeline renamed to `name` (so each test has its own resources).
pub fn stocks_as(name: &str) -> String {
    let src = include_str!("../../../../pipelines/stocks.stk");
    src.replacen("pipeline stocks", &format!("pipeline {name}"), 1)
}

/// The desired graph of a pipeline source for moto's account, with the TLS-only bucket
/// policy off (moto denies every object call under it: LOCAL-SERVICES.md).
pub fn graph(source: &str, aws: &Aws) -> Graph {
    let checked = stk_dsl::check_source(source, &stk_dsl::check::NoWorld);
    let Some(ir) = checked.ir else {
        panic!(
            "the test pipeline does not check: {:#?}",
            checked.diagnostics
        )
    };
    let mut ctx = Context::new(
        aws.account_id.clone(),
        aws.region.clone(),
        LAMBDA_ZIP_SHA256,
        "#cloud-config\n# placeholder user data\n",
    );
    ctx.tls_only_buckets = false;
    match stk_deploy::desired(&ir, &ctx) {
        Ok(g) => g,
        Err(e) => panic!("no graph: {e}"),
    }
}

/// A tiny deterministic zip standing in for the Lambda package (moto never runs it).
pub fn lambda_zip() -> Vec<u8> {
    include_bytes!("lambda.zip").to_vec()
}

/// base64(SHA-256) of `lambda.zip`, what Lambda reports as CodeSha256.
pub const LAMBDA_ZIP_SHA256: &str = "Ubz7DmkP2X8++8knxNokvYRazG1/PntkxEUtZQz/x3E=";
