//! Golden tests of `stkc plan` for the shipped `pipelines/stocks.stk`: the human and the JSON
//! plan against a snapshot recorded from a live (emulated) account, for the file as shipped
//! (no changes), for the file with a handful of typical edits, and against an empty account.
//!
//! The snapshot `fixtures/stocks-live.json` is what `stk_aws::snapshot` read from moto after
//! `stk_aws::apply` deployed the shipped file; `engine/aws/tests/record_snapshot.rs` records
//! it again (see there). Review a changed `.snap` by eye: it is the plan a user sees.

use stk_deploy::iam::StatementRow;
use stk_deploy::impact::ImpactLevel;
use stk_deploy::plan::IamChangeKind;
use stk_deploy::render::{self, Style};
use stk_deploy::{Action, Context, Graph, Plan, ResourceChange, Snapshot};

const STOCKS: &str = include_str!("../../../pipelines/stocks.stk");
const LIVE: &str = include_str!("fixtures/stocks-live.json");

// The context the recording was made in (engine/aws/tests/record_snapshot.rs builds its graph
// with `common::graph` of engine/aws/tests/common/mod.rs): the same values give the same
// graph, so the shipped file plans no changes against the recording. Change them together.
/// moto's account.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-central-1";
/// `common::LAMBDA_ZIP_SHA256`: base64(SHA-256) of engine/aws/tests/common/lambda.zip.
const LAMBDA_CODE_SHA256: &str = "Ubz7DmkP2X8++8knxNokvYRazG1/PntkxEUtZQz/x3E=";
/// `common::USER_DATA`: the scraper's user data the recorder planned and ran the instance with.
const USER_DATA: &str = "#cloud-config\n# placeholder user data\n";

/// `common::SCRAPER`: what stands in for the scraper binary in the recording.
const SCRAPER: &[u8] = b"#!/bin/sh\n# stands in for stk-scraper in the emulator tests\n";

fn context() -> Context {
    let mut ctx = Context::new(ACCOUNT, REGION, LAMBDA_CODE_SHA256, USER_DATA)
        .with_scraper(stk_deploy::graph::sha256_base64(SCRAPER));
    // As recorded: moto denies every object call under the TLS-only bucket policy.
    ctx.tls_only_buckets = false;
    ctx
}

fn graph(source: &str) -> Graph {
    let checked = stk_dsl::check_source(source, &stk_dsl::check::NoWorld);
    let Some(ir) = checked.ir else {
        panic!("the pipeline does not check: {:#?}", checked.diagnostics)
    };
    match stk_deploy::desired(&ir, &context()) {
        Ok(g) => g,
        Err(e) => panic!("no graph: {e}"),
    }
}

fn recorded() -> Snapshot {
    match serde_json::from_str(LIVE) {
        Ok(s) => s,
        Err(e) => panic!("fixtures/stocks-live.json is not a snapshot: {e}"),
    }
}

fn plan(source: &str, live: &Snapshot) -> Plan {
    match stk_deploy::diff(&graph(source), live) {
        Ok(p) => p,
        Err(e) => panic!("diff: {e}"),
    }
}

/// `text` with each `(from, to)` applied, each matching exactly once.
fn edited(text: &str, edits: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in edits {
        assert_eq!(out.matches(from).count(), 1, "`{from}` must occur once");
        out = out.replacen(from, to, 1);
    }
    out
}

/// The shipped file with the edits of a typical change: more shards, a longer Firehose
/// buffer, another alert address, another lake layout, and the stream block renamed.
fn stocks_edited() -> String {
    edited(
        STOCKS,
        &[
            ("shards = 1", "shards = 2"),
            ("interval = 60s", "interval = 120s"),
            (
                "email(\"alerts@example.com\")",
                "email(\"oncall@example.com\")",
            ),
            (
                "compression = zstd\n  partition = [date(ts), symbol]",
                "compression = zstd\n  partition = [date(ts), hour(ts), symbol]",
            ),
            ("stream ticks: kinesis", "stream quotes: kinesis"),
        ],
    )
}

fn change<'p>(p: &'p Plan, id: &str) -> &'p ResourceChange {
    match p.resources.iter().find(|c| c.id.to_string() == id) {
        Some(c) => c,
        None => panic!("no {id} in the plan"),
    }
}

fn acting(p: &Plan) -> Vec<(String, Action)> {
    p.actions().map(|c| (c.id.to_string(), c.action)).collect()
}

#[test]
fn the_recording_is_of_the_shipped_file_in_this_context() {
    let live = recorded();
    let g = graph(STOCKS);
    assert_eq!(g.names.pipeline, "stocks");
    // Every desired resource was read, and nothing else of the pipeline's.
    let desired: Vec<String> = g.resources.keys().map(ToString::to_string).collect();
    let read: Vec<String> = live.resources.keys().map(ToString::to_string).collect();
    assert_eq!(read, desired);
    assert!(live.taken.is_empty());
    assert_eq!(
        live.externals.get("secretsmanager:stocks/influx-token"),
        Some(&true)
    );
}

#[test]
fn shipped_file_against_the_recorded_account_has_no_changes() {
    let p = plan(STOCKS, &recorded());
    assert!(!p.has_changes(), "{:?}", acting(&p));
    assert!(p.iam_changes.is_empty(), "{:?}", p.iam_changes);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.wildcard_resources, Vec::<StatementRow>::new());
    insta::assert_snapshot!("stocks_no_changes_human", render::human(&p, Style::plain()));
    insta::assert_snapshot!("stocks_no_changes_json", render::json(&p));
}

#[test]
fn edited_file_against_the_recorded_account() {
    let p = plan(&stocks_edited(), &recorded());

    // The renamed stream is replaced because of its name; what reads it by ARN follows.
    let stream = change(&p, "kinesis_stream.stream");
    assert_eq!(stream.action, Action::Replace);
    assert_eq!(stream.forced_by, ["name"]);
    assert_eq!(stream.name, "stk-stocks-quotes");
    assert!(
        stream
            .impacts
            .iter()
            .any(|i| i.level == ImpactLevel::DataLoss)
    );
    let firehose = change(&p, "firehose_delivery_stream.raw");
    assert_eq!(firehose.action, Action::Replace);
    assert_eq!(firehose.forced_by, ["source_stream_arn"]);
    assert_eq!(
        change(&p, "lambda_event_source_mapping.transform").action,
        Action::Replace
    );
    // The old address goes, the new one is made (and must confirm).
    assert_eq!(
        change(&p, "sns_subscription.alerts@example.com").action,
        Action::Delete
    );
    let oncall = change(&p, "sns_subscription.oncall@example.com");
    assert_eq!(oncall.action, Action::Create);
    assert!(
        oncall
            .impacts
            .iter()
            .any(|i| i.level == ImpactLevel::Notice)
    );
    // The lake's new layout: the table's partition keys change in place, with a note.
    let table = change(&p, "glue_table.lake");
    assert_eq!(table.action, Action::Update);
    assert!(
        table
            .impacts
            .iter()
            .any(|i| i.level == ImpactLevel::Orphaned)
    );
    // The grants move from the old stream to the new one.
    assert!(
        p.iam_changes
            .iter()
            .any(|c| c.change == IamChangeKind::Removed
                && c.resource.ends_with("stream/stk-stocks-ticks"))
    );
    assert!(
        p.iam_changes
            .iter()
            .any(|c| c.change == IamChangeKind::Added
                && c.resource.ends_with("stream/stk-stocks-quotes"))
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);

    insta::assert_snapshot!("stocks_edited_human", render::human(&p, Style::plain()));
    insta::assert_snapshot!("stocks_edited_json", render::json(&p));
}

#[test]
fn shipped_file_against_an_empty_account_creates_everything() {
    let g = graph(STOCKS);
    let p = plan(STOCKS, &Snapshot::default());
    assert_eq!(p.summary.add, g.resources.len());
    assert_eq!(p.summary.total(), g.resources.len());
    assert!(p.resources.iter().all(|c| c.action == Action::Create));
    assert!(
        p.iam_changes
            .iter()
            .all(|c| c.change == IamChangeKind::Added)
    );
    insta::assert_snapshot!(
        "stocks_empty_account_human",
        render::human(&p, Style::plain())
    );
}
