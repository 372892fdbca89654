//! What the stk-aws integration tests share: the emulator (moto server, started by
//! tests/services/start.sh, found through STK_MOTO_DEPLOY_URL), clients pointed at it, the desired
//! graph of a pipeline, and the steps every kind's test takes: create it, read it back
//! exactly as desired, drift it out of band and revert it with `update`, find strays,
//! delete it. The steps panic with the resource's id when a call fails.
//!
//! Tests isolate themselves by pipeline name (every resource name derives from it), so they
//! run in parallel without resetting the emulator.

#![allow(dead_code)]

use serde_json::Value;
use stk_aws::Aws;
use stk_aws::kinds::{self, Cx, Files};
use stk_deploy::graph::{artifacts, sha256_base64};
use stk_deploy::resource::Spec;
use stk_deploy::{
    Action, Attrs, Context, Graph, Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId,
    Snapshot,
};

// ------------------------------------------------------------------ emulator and graph

/// moto's URL, or `None` with a visible message (the test is then skipped).
pub fn moto(test: &str) -> Option<String> {
    match std::env::var("STK_MOTO_DEPLOY_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "SKIPPED {test}: STK_MOTO_DEPLOY_URL is not set (start tests/services/start.sh)"
            );
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

/// The scraper instance's user data [`graph`] plans with (the graph holds only its digest)
/// and [`cx`] gives RunInstances.
pub const USER_DATA: &str = "#cloud-config\n# placeholder user data\n";

/// The desired graph of a pipeline source for moto's account, with the TLS-only bucket
/// policy off (moto denies every object call under it: LOCAL-SERVICES.md).
pub fn graph(source: &str, aws: &Aws) -> Graph {
    let ir = ir(source);
    let mut ctx = Context::new(
        aws.account_id.clone(),
        aws.region.clone(),
        LAMBDA_ZIP_SHA256,
        USER_DATA,
    )
    .with_scraper(sha256_base64(SCRAPER));
    ctx.tls_only_buckets = false;
    match stk_deploy::desired(&ir, &ctx) {
        Ok(g) => g,
        Err(e) => panic!("no graph: {e}"),
    }
}

fn ir(source: &str) -> stk_dsl::ir::Pipeline {
    let checked = stk_dsl::check_source(source, &stk_dsl::check::NoWorld);
    match checked.ir {
        Some(ir) => ir,
        None => panic!(
            "the test pipeline does not check: {:#?}",
            checked.diagnostics
        ),
    }
}

/// Stands in for the scraper binary in the artifacts bucket (moto never runs it).
pub const SCRAPER: &[u8] = b"#!/bin/sh\n# stands in for stk-scraper in the emulator tests\n";

/// What apply uploads for a pipeline source: [`lambda_zip`], [`SCRAPER`] and the compiled
/// pipeline, by `s3_object` logical name.
pub fn files(source: &str) -> Files {
    let pipeline = match ir(source).to_json() {
        Ok(json) => json,
        Err(e) => panic!("the compiled pipeline: {e}"),
    };
    Files::from([
        (artifacts::LAMBDA_PACKAGE.to_string(), lambda_zip()),
        (artifacts::SCRAPER.to_string(), SCRAPER.to_vec()),
        (
            artifacts::SCRAPER_PIPELINE.to_string(),
            pipeline.into_bytes(),
        ),
    ])
}

/// A tiny deterministic zip standing in for the Lambda package (moto never runs it).
pub fn lambda_zip() -> Vec<u8> {
    include_bytes!("lambda.zip").to_vec()
}

/// base64(SHA-256) of `lambda.zip`, what Lambda reports as CodeSha256.
pub const LAMBDA_ZIP_SHA256: &str = "Ubz7DmkP2X8++8knxNokvYRazG1/PntkxEUtZQz/x3E=";

/// One test's pipeline: clients, its desired graph and the files apply uploads, which the
/// kinds' [`Cx`] borrows.
pub struct Setup {
    pub aws: Aws,
    pub graph: Graph,
    pub pipeline: String,
    pub files: Files,
}

impl Setup {
    /// The stocks pipeline as `pipeline`; `None` (the test is skipped) without moto.
    pub async fn new(test: &str, pipeline: &str) -> Option<Setup> {
        Setup::edited(test, pipeline, |source| source).await
    }

    /// The stocks pipeline as `pipeline`, its source changed by `edit`.
    pub async fn edited(
        test: &str,
        pipeline: &str,
        edit: impl FnOnce(String) -> String,
    ) -> Option<Setup> {
        let url = moto(test)?;
        let aws = aws(&url).await;
        let source = edit(stocks_as(pipeline));
        Some(Setup {
            graph: graph(&source, &aws),
            aws,
            pipeline: pipeline.to_string(),
            files: files(&source),
        })
    }

    /// What the kinds' code gets (see [`cx`]).
    pub fn cx(&self) -> Cx<'_> {
        cx(&self.aws, &self.graph, &self.pipeline, &self.files)
    }

    /// The graph's resource `kind.logical`.
    pub fn get(&self, kind: Kind, logical: &str) -> &Resource {
        resource(&self.graph, kind, logical)
    }
}

/// What the kinds' code gets: the graph's user data ([`USER_DATA`]), and buckets holding
/// data are not emptied (`Cx { force_delete_data: true, ..cx }` for that).
pub fn cx<'a>(aws: &'a Aws, graph: &'a Graph, pipeline: &'a str, files: &'a Files) -> Cx<'a> {
    Cx {
        aws,
        graph,
        pipeline,
        files,
        user_data: USER_DATA,
        force_delete_data: false,
    }
}

/// The graph's resource `kind.logical`; panics when the graph has none.
pub fn resource<'g>(graph: &'g Graph, kind: Kind, logical: &str) -> &'g Resource {
    let id = ResourceId::new(kind, logical);
    graph
        .get(&id)
        .unwrap_or_else(|| panic!("the graph has no {id}"))
}

// ------------------------------------------------------------------ the kinds' calls
//
// The kinds' futures are large (every kind's in one match): they are boxed, or a debug
// build overflows the test thread's stack (2 MiB).

/// `kinds::create`.
pub async fn create(cx: &Cx<'_>, r: &Resource) {
    if let Err(e) = Box::pin(kinds::create(cx, r)).await {
        panic!("creating {}: {e}", r.id);
    }
}

/// Creates the graph's resources that `keep` picks, in the graph's apply order.
pub async fn create_where(cx: &Cx<'_>, keep: impl Fn(&ResourceId) -> bool) {
    for id in cx.graph.apply_order().expect("apply order") {
        if keep(&id) {
            create(cx, resource(cx.graph, id.kind, &id.name)).await;
        }
    }
}

/// `kinds::read`: `None` when `r` does not exist.
pub async fn read(cx: &Cx<'_>, r: &Resource) -> Option<LiveResource> {
    match Box::pin(kinds::read(cx, r)).await {
        Ok(live) => live,
        Err(e) => panic!("reading {}: {e}", r.id),
    }
}

/// `kinds::read` of a resource that must exist.
pub async fn existing(cx: &Cx<'_>, r: &Resource) -> LiveResource {
    match read(cx, r).await {
        Some(live) => live,
        None => panic!("{} does not exist", r.id),
    }
}

/// Checks `r` does not exist.
pub async fn absent(cx: &Cx<'_>, r: &Resource) {
    if let Some(live) = read(cx, r).await {
        panic!("{} still exists: {live:?}", r.id);
    }
}

/// `kinds::delete`.
pub async fn delete(cx: &Cx<'_>, id: &ResourceId, live: &LiveResource) {
    if let Err(e) = Box::pin(kinds::delete(cx, id, live)).await {
        panic!("deleting {id}: {e}");
    }
}

/// Deletes `r`, checks it is gone, and deletes it again (deleting what is gone is fine).
pub async fn delete_checked(cx: &Cx<'_>, r: &Resource, live: &LiveResource) {
    delete(cx, &r.id, live).await;
    absent(cx, r).await;
    delete(cx, &r.id, live).await;
}

/// `kinds::strays`: the pipeline's resources of `kind`, the graph's own included.
pub async fn strays(cx: &Cx<'_>, kind: Kind) -> Vec<(ResourceId, LiveResource)> {
    match Box::pin(kinds::strays(cx, kind)).await {
        Ok(s) => s,
        Err(e) => panic!("strays of {kind}: {e}"),
    }
}

/// Found resources as (id, AWS name) pairs, sorted.
pub fn stray_names(found: &[(ResourceId, LiveResource)]) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = found
        .iter()
        .map(|(id, l)| {
            let name = l
                .attributes
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (id.to_string(), name.to_string())
        })
        .collect();
    names.sort();
    names
}

// ------------------------------------------------------------------ plan and convergence

/// The plan's change for `r` when the account holds `live` for it.
pub fn change(graph: &Graph, r: &Resource, live: &LiveResource) -> ResourceChange {
    let mut snapshot = Snapshot::default();
    snapshot.resources.insert(r.id.clone(), live.clone());
    let plan = match stk_deploy::diff(graph, &snapshot) {
        Ok(p) => p,
        Err(e) => panic!("diff: {e}"),
    };
    match plan.change(&r.id) {
        Some(c) => c.clone(),
        None => panic!("the plan has no change for {}", r.id),
    }
}

/// The attributes `r` reads back with when it is as desired: `r.attributes()`, but for the
/// instance's `resolve:ssm:` image, which reads as the AMI it resolved to.
fn desired_as_read(r: &Resource, live: &LiveResource) -> Attrs {
    let mut want = r.attributes();
    if let Spec::Ec2Instance(spec) = &r.spec {
        assert!(spec.image.starts_with("resolve:ssm:"));
        let image = live.attributes["image"].as_str().expect("image");
        assert!(image.starts_with("ami-"), "{image}");
        want.insert("image".into(), live.attributes["image"].clone());
    }
    want
}

/// Read back exactly as desired (attributes and tags) and ours: the second plan is a no-op.
pub fn assert_converged(graph: &Graph, r: &Resource, live: &LiveResource) {
    assert_eq!(live.attributes, desired_as_read(r, live), "{}", r.id);
    assert_eq!(live.owner, Owner::Pipeline, "{}", r.id);
    assert_eq!(live.tags, r.tags, "{}", r.id);
    assert_eq!(change(graph, r, live).action, Action::NoOp, "{}", r.id);
}

/// Reads `r` and checks it converged ([`assert_converged`]).
pub async fn read_converged(cx: &Cx<'_>, r: &Resource) -> LiveResource {
    let live = existing(cx, r).await;
    assert_converged(cx.graph, r, &live);
    live
}

/// Reads `r`, drifted out of band: the drift shows, and is planned as an in-place update of
/// exactly `attributes` (sorted); `update` reverts it, and `r` reads back converged.
pub async fn revert(cx: &Cx<'_>, r: &Resource, attributes: &[&str]) -> LiveResource {
    let drifted = existing(cx, r).await;
    assert_ne!(
        (&drifted.attributes, &drifted.tags),
        (&r.attributes(), &r.tags),
        "{}: the drift does not show",
        r.id
    );
    let c = change(cx.graph, r, &drifted);
    assert_eq!(c.action, Action::Update, "{}: {c:#?}", r.id);
    let mut changed: Vec<&str> = c.changes.iter().map(|a| a.attribute.as_str()).collect();
    changed.sort_unstable();
    assert_eq!(changed, attributes, "{}", r.id);
    if let Err(e) = Box::pin(kinds::update(cx, r, &drifted, &c)).await {
        panic!("updating {}: {e}", r.id);
    }
    read_converged(cx, r).await
}
