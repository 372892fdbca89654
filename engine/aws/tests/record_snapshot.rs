//! Records the live snapshot the golden plan tests of stk-deploy compare against
//! (`engine/deploy/tests/golden_plan.rs`): the shipped stocks pipeline, under its own name
//! `stocks`, applied to moto through the real diff and apply, then read back by the real
//! reader and written as pretty JSON to `engine/deploy/tests/fixtures/stocks-live.json`.
//!
//! Ignored by default: it writes a file in the repository and wants a fresh moto (the
//! pipeline is `stocks`, which no other test uses, but a second run against the same moto
//! records the same account). To record again:
//!
//! ```text
//! ~/.cache/stkc-venv/bin/moto_server -H 127.0.0.1 -p 5122 &
//! STK_MOTO_DEPLOY_URL=http://127.0.0.1:5122 cargo test -p stk-aws --test record_snapshot -- --ignored
//! ```
//!
//! The golden tests rebuild the same graph, so they repeat its context: moto's account
//! 123456789012, eu-central-1, `common::LAMBDA_ZIP_SHA256` as the functions' code,
//! `common::USER_DATA` as the scraper's user data, and no TLS-only bucket policy.

mod common;

use stk_aws::kinds::Cx;
use stk_deploy::{Action, Snapshot};

/// Where the golden tests read the recording.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../deploy/tests/fixtures/stocks-live.json"
);

async fn read(cx: &Cx<'_>) -> Snapshot {
    match stk_aws::snapshot(cx).await {
        Ok(s) => s,
        Err(e) => panic!("reading the account: {e}"),
    }
}

fn plan(cx: &Cx<'_>, live: &Snapshot) -> stk_deploy::Plan {
    match stk_deploy::diff(cx.graph, live) {
        Ok(p) => p,
        Err(e) => panic!("diff: {e}"),
    }
}

#[tokio::test]
#[ignore = "writes engine/deploy/tests/fixtures/stocks-live.json; run against a fresh moto"]
async fn record_stocks_live_snapshot() {
    let Some(url) = common::moto("record_stocks_live_snapshot") else {
        panic!("set STK_MOTO_DEPLOY_URL to a fresh moto server to record the snapshot");
    };
    let aws = common::aws(&url).await;
    assert_eq!(aws.account_id, "123456789012", "moto's default account");
    assert_eq!(aws.region, "eu-central-1");
    let source = include_str!("../../../pipelines/stocks.stk");
    let graph = common::graph(source, &aws);
    assert_eq!(graph.names.pipeline, "stocks");
    let files = common::files(source);
    // RunInstances gets `common::USER_DATA`, the text whose digest the graph holds.
    let cx = common::cx(&aws, &graph, "stocks", &files);

    // The InfluxDB token exists in a deployed account (stkc never creates it); without it
    // the plan carries a warning.
    let token = graph
        .externals
        .iter()
        .find(|e| e.key.starts_with("secretsmanager:"))
        .expect("stocks.stk reads its token from Secrets Manager");
    if let Err(e) = aws
        .secrets
        .create_secret()
        .name(&token.name)
        .secret_string("recorded-by-stkc-tests")
        .send()
        .await
    {
        eprintln!(
            "creating the secret {} (kept if it exists): {e:?}",
            token.name
        );
    }

    let before = read(&cx).await;
    let first = plan(&cx, &before);
    if let Err(e) = stk_aws::apply(&cx, &first, &before, &stk_aws::Quiet).await {
        panic!("apply: {e}");
    }

    let live = read(&cx).await;
    let again = plan(&cx, &live);
    let left: Vec<String> = again
        .resources
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .map(|c| format!("{} {:?}: {:?}", c.id, c.action, c.changes))
        .collect();
    assert!(
        left.is_empty(),
        "the account did not converge:\n{}",
        left.join("\n")
    );
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);

    let json = match serde_json::to_string_pretty(&live) {
        Ok(j) => j + "\n",
        Err(e) => panic!("serialising the snapshot: {e}"),
    };
    if let Some(dir) = std::path::Path::new(FIXTURE).parent()
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        panic!("creating {}: {e}", dir.display());
    }
    if let Err(e) = std::fs::write(FIXTURE, json) {
        panic!("writing {FIXTURE}: {e}");
    }
    eprintln!(
        "recorded {} resources of `stocks` to {FIXTURE}",
        live.resources.len()
    );
}
