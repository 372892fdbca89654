//! Every IAM policy `stkc plan` / `apply` would write for the shipped pipelines, read from the
//! graph's resources as apply sends them: each role's inline policy, each role's trust policy,
//! each bucket policy, each Lambda permission, and the deployer policy
//! (`stkc plan --deployer-policy`). No statement allows a `*` action (the one `*` action is the
//! TLS-only bucket policy's Deny `s3:*`), and every `"Resource": "*"` is listed where the user
//! sees it: the plan's wildcard rows for the pipeline's own policies, the deployer policy's
//! wildcards (with a reason) for the deployer. The resources that are patterns (`*` or `?` in
//! an ARN) are listed in a snapshot, so a new one is reviewed.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use stk_deploy::iam::{self, DeployerPolicy, Effect, PolicyDocument, Statement};
use stk_deploy::{Context, Graph, Kind};

const STOCKS: &str = include_str!("../../../pipelines/stocks.stk");
const DEMO: &str = include_str!("../../../pipelines/demo.stk");

/// A real deployment's context: the TLS-only bucket policy on.
fn graph(source: &str) -> Graph {
    let checked = stk_dsl::check_source(source, &stk_dsl::check::NoWorld);
    let Some(ir) = checked.ir else {
        panic!("the pipeline does not check: {:#?}", checked.diagnostics)
    };
    let ctx = Context::new(
        "123456789012",
        "eu-central-1",
        "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
        "#cloud-config\n# placeholder user data\n",
    )
    .with_scraper("kJd1Yk0E3xNnS2Fu2N2Ks4ZTv4AqlYSmUWlU3p4OJ3E=");
    assert!(ctx.tls_only_buckets);
    match stk_deploy::desired(&ir, &ctx) {
        Ok(g) => g,
        Err(e) => panic!("no graph: {e}"),
    }
}

fn edited(from: &str, to: &str) -> String {
    assert_eq!(STOCKS.matches(from).count(), 1, "`{from}` must occur once");
    STOCKS.replacen(from, to, 1)
}

/// The shipped files, and stocks.stk with the options that add or change policies: alerts
/// from a Lambda function (the notify role), the token in SSM, an on-demand stream and
/// partition projection instead of a crawler.
fn pipelines() -> Vec<(&'static str, String)> {
    vec![
        ("stocks", STOCKS.to_string()),
        (
            "stocks+near_real_time",
            edited(
                "severity = warning",
                "severity = warning\n  delivery = near_real_time",
            ),
        ),
        (
            "stocks+ssm+on_demand+projection",
            edited("shards = 1", "shards = on_demand")
                .replace(
                    "secret(\"stocks/influx-token\")",
                    "ssm(\"/stocks/influx-token\")",
                )
                .replace("crawler = daily(\"02:00\")", "projection = true"),
        ),
        ("demo", DEMO.to_string()),
    ]
}

/// Every policy document of the graph, by `<resource id>.<attribute>`, read straight from the
/// attributes apply sends: a document that does not parse fails here instead of being
/// skipped, and a kind that must carry one does.
fn documents(g: &Graph) -> Vec<(String, PolicyDocument)> {
    let mut out = Vec::new();
    for r in g.resources.values() {
        let key = match r.id.kind {
            Kind::IamRolePolicy => "document",
            Kind::IamRole => "assume_role_policy",
            Kind::S3Bucket => "policy",
            _ => continue,
        };
        let attrs = r.attributes();
        let name = format!("{}.{key}", r.id);
        let v = match attrs.get(key) {
            Some(v) if !v.is_null() => v.clone(),
            // With the TLS-only policy on, every bucket has one.
            _ => panic!("{name} is missing"),
        };
        match serde_json::from_value::<PolicyDocument>(v) {
            Ok(doc) => out.push((name, doc)),
            Err(e) => panic!("{name} is not a policy document: {e}"),
        }
    }
    out
}

fn wild(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// The TLS-only bucket policy's statement, exactly as `iam::tls_only_bucket_policy` writes it.
fn is_tls_deny(s: &Statement) -> bool {
    s.effect == Effect::Deny
        && s.sid.as_deref() == Some("DenyInsecureTransport")
        && s.actions == ["s3:*"]
        && s.principal == Some(Value::String("*".into()))
        && s.condition == Some(serde_json::json!({ "Bool": { "aws:SecureTransport": "false" } }))
        && s.resources.len() == 2
        && s.resources.iter().all(|r| r.starts_with("arn:aws:s3:::"))
}

#[test]
fn no_policy_allows_a_wildcard_action_and_every_wildcard_resource_is_listed() {
    for (pipeline, source) in pipelines() {
        let g = graph(&source);
        let docs = documents(&g);
        let count = |k: Kind| g.of_kind(k).count();
        assert_eq!(
            docs.len(),
            count(Kind::IamRolePolicy) + count(Kind::IamRole) + count(Kind::S3Bucket),
            "{pipeline}"
        );
        assert!(count(Kind::IamRolePolicy) > 0, "{pipeline}");

        // The plan's list of `*` resources for the pipeline's own policies.
        let rows = iam::wildcard_rows(&g);
        let listed: BTreeSet<&str> = rows.iter().map(|r| r.action.as_str()).collect();
        for (name, doc) in &docs {
            assert!(!doc.statements.is_empty(), "{pipeline} {name}");
            for s in &doc.statements {
                assert!(!s.actions.is_empty(), "{pipeline} {name}");
                if is_tls_deny(s) {
                    assert!(name.ends_with(".policy"), "{pipeline} {name}");
                    continue;
                }
                for a in &s.actions {
                    assert!(!wild(a), "{pipeline} {name}: action `{a}`");
                }
                match s.effect {
                    Effect::Allow => {}
                    Effect::Deny => panic!("{pipeline} {name}: an unexpected Deny {s:?}"),
                }
                if s.resources.iter().any(|r| r == "*") {
                    for a in &s.actions {
                        assert!(
                            listed.contains(a.as_str()),
                            "{pipeline} {name}: {a} on * is not in the plan's wildcard rows"
                        );
                    }
                }
            }
        }
        // Role policies name exact ARNs of this account and region (or a bucket).
        for (name, doc) in docs.iter().filter(|(n, _)| n.ends_with(".document")) {
            for s in &doc.statements {
                for r in &s.resources {
                    assert_ne!(r, "*", "{pipeline} {name}");
                    assert!(
                        r.starts_with("arn:aws:s3:::stk-")
                            || (r.starts_with("arn:aws:")
                                && r.contains(":eu-central-1:123456789012:")),
                        "{pipeline} {name}: {r}"
                    );
                }
            }
        }
        // Lambda permissions: one exact action, bound to a source ARN and account.
        for p in g.of_kind(Kind::LambdaPermission) {
            let attrs = p.attributes();
            let text = |k: &str| attrs.get(k).and_then(Value::as_str).unwrap_or("");
            assert!(!wild(text("action")), "{pipeline} {}", p.id);
            assert!(!text("source_arn").is_empty(), "{pipeline} {}", p.id);
            assert_eq!(
                text("source_account"),
                "123456789012",
                "{pipeline} {}",
                p.id
            );
        }
        // The shipped pipelines need no `*` resource at all.
        assert_eq!(iam::wildcard_rows(&g), Vec::new(), "{pipeline}");

        deployer_checks(pipeline, &iam::deployer_policy(&g));
    }
}

/// No `*` action; the actions on `"*"` are exactly the listed wildcards, each with a reason.
fn deployer_checks(pipeline: &str, policy: &DeployerPolicy) {
    let listed: BTreeSet<&str> = policy
        .wildcards
        .iter()
        .flat_map(|w| w.actions.iter().map(String::as_str))
        .collect();
    let mut on_star = BTreeSet::new();
    for s in &policy.document.statements {
        assert_eq!(s.effect, Effect::Allow, "{pipeline} deployer {:?}", s.sid);
        assert!(s.principal.is_none(), "{pipeline} deployer {:?}", s.sid);
        for a in &s.actions {
            assert!(!wild(a), "{pipeline} deployer: action `{a}`");
        }
        if s.resources.iter().any(|r| r == "*") {
            // A `*` statement is nothing but `*`: no real ARN hides in it.
            assert_eq!(s.resources, ["*"], "{pipeline} deployer {:?}", s.sid);
            on_star.extend(s.actions.iter().map(String::as_str));
        }
    }
    assert_eq!(
        on_star, listed,
        "{pipeline}: deployer actions on * vs. its wildcards"
    );
    for w in &policy.wildcards {
        assert!(!w.reason.trim().is_empty(), "{pipeline}: {:?}", w.actions);
    }
}

/// Every resource with a `*` or `?` in it, per policy: reviewed in the snapshot.
#[test]
fn the_wildcard_resources_of_stocks_are_these() {
    let g = graph(STOCKS);
    let mut out = String::new();
    let _ = writeln!(out, "# Pipeline policies (role, trust and bucket policies)");
    for (name, doc) in documents(&g) {
        for s in &doc.statements {
            for r in s.resources.iter().filter(|r| wild(r)) {
                let _ = writeln!(
                    out,
                    "{name} {:?} {} {r}",
                    s.effect,
                    s.sid.as_deref().unwrap_or("-")
                );
            }
        }
    }
    let policy = iam::deployer_policy(&g);
    let _ = writeln!(out, "\n# Deployer policy");
    for s in &policy.document.statements {
        for r in s.resources.iter().filter(|r| wild(r)) {
            let _ = writeln!(out, "{} {r}", s.sid.as_deref().unwrap_or("-"));
        }
    }
    let _ = writeln!(out, "\n# Deployer actions on \"*\", and why");
    for w in &policy.wildcards {
        let _ = writeln!(out, "{}: {}", w.actions.join(", "), w.reason);
    }
    insta::assert_snapshot!("stocks_wildcard_resources", out);
}
