//! `stkc plan` / `apply` / `destroy` end to end, as a user runs them, against moto server as
//! the AWS account (STK_MOTO_DEPLOY_URL, started by tests/services/start.sh; skipped with a message
//! without it). Each test deploys the shipped stocks pipeline under its own name, so tests run
//! in parallel without resetting the emulator. Needs the bootstrap built beside stkc
//! (`cargo build --workspace`) for `stkc package`; the scraper is a stand-in (the pipeline's
//! t4g instance is arm64, and moto never runs it).

use assert_cmd::Command;
use std::path::PathBuf;

struct Deploy {
    dir: tempfile::TempDir,
    moto: String,
    file: PathBuf,
    bootstrap: PathBuf,
    scraper: PathBuf,
}

/// A stand-in for an arm64 Linux executable: an ELF header for aarch64 (`e_machine` 0xb7),
/// which is all `stkc package` checks; `build` makes one build differ from another.
fn arm64_elf(build: &str) -> Vec<u8> {
    let mut elf = vec![0u8; 64];
    elf[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    elf[18] = 0xb7;
    elf.extend_from_slice(build.as_bytes());
    elf
}

fn moto(test: &str) -> Option<String> {
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

fn bootstrap() -> Option<PathBuf> {
    let stkc = assert_cmd::cargo::cargo_bin("stkc");
    let b = stkc.with_file_name("bootstrap");
    if b.is_file() {
        Some(b)
    } else {
        eprintln!(
            "SKIPPED: no bootstrap beside stkc; build the workspace (cargo build --workspace)"
        );
        None
    }
}

impl Deploy {
    /// The stocks pipeline as `name` (its Glue database too), packaged into DIR/dist.
    fn new(test: &str, name: &str) -> Option<Deploy> {
        let moto = moto(test)?;
        let bootstrap = bootstrap()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let source = include_str!("../../../pipelines/stocks.stk")
            .replacen("pipeline stocks", &format!("pipeline {name}"), 1)
            .replacen(
                "database = \"stocks\"",
                &format!("database = \"{name}\""),
                1,
            );
        let file = dir.path().join(format!("{name}.stk"));
        std::fs::write(&file, source).expect("write the pipeline");
        let scraper = dir.path().join("stk-scraper-arm64");
        std::fs::write(&scraper, arm64_elf("first build")).expect("write the scraper");
        let d = Deploy {
            dir,
            moto,
            file,
            bootstrap,
            scraper,
        };
        d.package();
        Some(d)
    }

    /// `stkc package`: again after every edit, since the package carries the pipeline.
    fn package(&self) {
        let out = self
            .cmd(&["package"])
            .arg("--bootstrap")
            .arg(&self.bootstrap)
            .arg("--scraper")
            .arg(&self.scraper)
            .output()
            .expect("run stkc");
        assert!(
            out.status.success(),
            "stkc package: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.file).expect("read");
        assert_eq!(text.matches(from).count(), 1, "`{from}` must occur once");
        std::fs::write(&self.file, text.replacen(from, to, 1)).expect("write");
        self.package();
    }

    /// `stkc SUBCOMMAND FILE ARGS... --package DIR/dist [--emulator]` against moto.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("stkc").expect("stkc built");
        c.arg(args[0])
            .arg(&self.file)
            .args(&args[1..])
            .arg(if args[0] == "package" {
                "--out"
            } else {
                "--package"
            })
            .arg(self.dir.path().join("dist"))
            .env("AWS_ENDPOINT_URL", &self.moto)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("NO_COLOR", "1")
            .env_remove("AWS_PROFILE")
            .current_dir(self.dir.path());
        if args[0] != "package" {
            c.arg("--emulator");
        }
        c
    }

    /// Runs a command; returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().expect("run stkc");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn plan_json(&self) -> serde_json::Value {
        let (code, out, err) = self.run(&["plan", "--json"]);
        assert_eq!(code, 0, "plan --json failed: {err}");
        serde_json::from_str(&out).expect("plan JSON")
    }

    fn apply(&self) {
        let (code, out, err) = self.run(&["apply", "--auto-approve"]);
        assert_eq!(code, 0, "apply failed:\n{out}\n{err}");
    }
}

fn actions(plan: &serde_json::Value) -> Vec<(String, String)> {
    plan["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["action"] != "no_op")
        .map(|r| {
            (
                r["id"].as_str().unwrap_or("").to_string(),
                r["action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn empty_account_apply_then_no_changes_then_destroy() {
    let Some(d) = Deploy::new("empty_account_apply_then_no_changes_then_destroy", "dplone") else {
        return;
    };
    let (code, out, err) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 2, "a plan with changes exits 2: {out}\n{err}");
    let first = d.plan_json();
    let acts = actions(&first);
    assert!(!acts.is_empty());
    assert!(
        acts.iter().all(|(_, a)| a == "create"),
        "an empty account is all creates: {acts:?}"
    );
    for artifact in [
        "s3_object.lambda/bootstrap.zip",
        "s3_object.scraper/stk-scraper",
        "s3_object.scraper/pipeline.json",
    ] {
        assert!(
            acts.iter().any(|(id, _)| id == artifact),
            "apply uploads {artifact}: {acts:?}"
        );
    }
    let n = acts.len();
    assert!(
        out.contains(&format!(
            "Plan: {n} to add, 0 to change, 0 to replace, 0 to destroy."
        )),
        "{out}"
    );

    d.apply();
    let (code, out, err) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "after apply, no changes (exit 0):\n{out}\n{err}");
    assert!(out.contains("No changes"), "{out}");

    // Drift: another client raises the stream's retention; the plan shows it, apply reverts it.
    let stream = name_of(&d.plan_json(), "kinesis_stream.stream");
    let drift = reqwest::blocking::Client::new()
        .post(&d.moto)
        .header(
            "X-Amz-Target",
            "Kinesis_20131202.IncreaseStreamRetentionPeriod",
        )
        .header("Content-Type", "application/x-amz-json-1.1")
        // moto takes the service and region from the credential scope; it checks no signature.
        .header(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261129/eu-central-1/kinesis/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(format!(
            r#"{{"StreamName":"{stream}","RetentionPeriodHours":48}}"#
        ))
        .send()
        .expect("moto answers");
    assert!(drift.status().is_success(), "{:?}", drift.text());
    let plan = d.plan_json();
    assert_eq!(
        actions(&plan),
        vec![("kinesis_stream.stream".to_string(), "update".to_string())]
    );
    let (_, out, _) = d.run(&["plan"]);
    assert!(
        out.contains("retention_hours") && out.contains("48") && out.contains("24"),
        "{out}"
    );
    d.apply();
    let (code, out, _) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "apply reverted the drift:\n{out}");

    // The buckets hold only stkc's own artifacts: no --force-delete-data needed.
    let (code, out, err) = d.run(&["destroy", "--auto-approve"]);
    assert_eq!(code, 0, "destroy failed:\n{out}\n{err}");
    let after = d.plan_json();
    let acts = actions(&after);
    assert_eq!(
        acts.len(),
        n,
        "after destroy everything is to be created again: {acts:?}"
    );
    assert!(
        acts.iter().all(|(_, a)| a == "create"),
        "destroy leaves none of our resources: {acts:?}"
    );
}

#[test]
fn edits_give_the_expected_actions_and_apply_converges() {
    let Some(d) = Deploy::new(
        "edits_give_the_expected_actions_and_apply_converges",
        "dpledit",
    ) else {
        return;
    };
    d.apply();
    d.edit("  shards = 1\n", "  shards = 2\n");
    d.edit(
        "buffer = { interval = 60s, size = 64MiB }",
        "buffer = { interval = 120s, size = 64MiB }",
    );
    d.edit(
        "  notify = email(\"alerts@example.com\")\n  message",
        "  notify = email(\"oncall@example.com\")\n  message",
    );
    let plan = d.plan_json();
    let acts = actions(&plan);
    let action_of = |id: &str| acts.iter().find(|(i, _)| i == id).map(|(_, a)| a.as_str());
    assert_eq!(
        action_of("kinesis_stream.stream"),
        Some("update"),
        "{acts:?}"
    );
    assert_eq!(
        action_of("firehose_delivery_stream.raw"),
        Some("update"),
        "{acts:?}"
    );
    assert_eq!(
        action_of("sns_subscription.alerts@example.com"),
        Some("delete"),
        "{acts:?}"
    );
    assert_eq!(
        action_of("sns_subscription.oncall@example.com"),
        Some("create"),
        "{acts:?}"
    );
    d.apply();
    let (code, out, _) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the edits converged:\n{out}");

    // Partition keys: the Firehose prefix changes in place, and the plan says the old
    // partitions are orphaned.
    d.edit(
        "partition = [date(ts), symbol]\n}\n\nsink lake",
        "partition = [date(ts)]\n}\n\nsink lake",
    );
    let plan = d.plan_json();
    let firehose = find(&plan, "firehose_delivery_stream.raw");
    assert_eq!(firehose["action"], "update", "{firehose}");
    assert!(
        firehose["impacts"]
            .as_array()
            .is_some_and(|i| i.iter().any(|n| n.to_string().contains("orphaned"))),
        "a new partition prefix says old partitions are orphaned: {firehose}"
    );

    // A new scraper build: uploaded again, and installed by the running instance's refresh
    // timer (the plan says so); the instance itself is left alone.
    std::fs::write(&d.scraper, arm64_elf("second build")).expect("write the scraper");
    d.package();
    let plan = d.plan_json();
    let binary = find(&plan, "s3_object.scraper/stk-scraper");
    assert_eq!(binary["action"], "update", "{binary}");
    assert!(
        binary["impacts"].to_string().contains("stk-refresh.timer"),
        "{binary}"
    );
    let acting = actions(&plan);
    assert!(
        acting.iter().all(|(id, _)| id != "ec2_instance.scraper"),
        "a new build does not touch the instance: {acting:?}"
    );
    d.apply();
    let (code, out, _) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the new build converged:\n{out}");

    d.edit("stream ticks: kinesis", "stream quotes: kinesis");
    let plan = d.plan_json();
    let stream = find(&plan, "kinesis_stream.stream");
    assert_eq!(stream["action"], "replace", "{stream}");
    assert_eq!(stream["forced_by"], serde_json::json!(["name"]), "{stream}");
    assert!(
        !stream["impacts"].as_array().is_none_or(|i| i.is_empty()),
        "a replaced stream says unread records are lost: {stream}"
    );
    // The scraper's compiled pipeline names the stream: uploaded again for the instance to
    // install.
    assert_eq!(
        find(&plan, "s3_object.scraper/pipeline.json")["action"],
        "update"
    );
}

/// The plan's entry for a resource id.
fn find<'p>(plan: &'p serde_json::Value, id: &str) -> &'p serde_json::Value {
    plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .unwrap_or_else(|| panic!("{id} is not in the plan: {plan}"))
}

#[test]
fn apply_refuses_to_prompt_without_a_terminal() {
    let Some(d) = Deploy::new("apply_refuses_to_prompt_without_a_terminal", "dplprompt") else {
        return;
    };
    let (code, out, err) = d.run(&["apply"]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("--auto-approve"), "{err}");
    let acts = actions(&d.plan_json());
    assert!(
        acts.iter().all(|(_, a)| a == "create"),
        "nothing was applied: {acts:?}"
    );
}

#[test]
fn a_saved_plan_applies_only_while_nothing_changed() {
    let Some(d) = Deploy::new(
        "a_saved_plan_applies_only_while_nothing_changed",
        "dplsaved",
    ) else {
        return;
    };
    let (code, _, err) = d.run(&["plan", "--out", "first.plan"]);
    assert_eq!(code, 0, "{err}");
    d.edit("  retention = 24h\n", "  retention = 48h\n");
    let (code, _, err) = d.run(&["apply", "first.plan"]);
    assert_eq!(code, 1, "a stale plan is refused: {err}");
    assert!(err.contains("changed since"), "{err}");
    let (code, _, err) = d.run(&["plan", "--out", "second.plan"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = d.run(&["apply", "second.plan"]);
    assert_eq!(
        code, 0,
        "a fresh saved plan applies without a prompt:\n{out}\n{err}"
    );
    let (code, _, _) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0);
}

#[test]
fn the_deployer_policy_has_no_wildcard_action() {
    let Some(d) = Deploy::new("the_deployer_policy_has_no_wildcard_action", "dplpolicy") else {
        return;
    };
    let (code, out, err) = d.run(&["plan", "--deployer-policy"]);
    assert_eq!(code, 0, "{err}");
    let policy: serde_json::Value = serde_json::from_str(&out).expect("policy JSON");
    let text = policy.to_string();
    assert!(text.contains("kinesis:CreateStream"), "{text}");
    assert!(
        !text.contains("\"Action\":\"*\"") && !text.contains("\"*\",\""),
        "no `*` action: {text}"
    );
}

/// The AWS name the plan gives a resource.
fn name_of(plan: &serde_json::Value, id: &str) -> String {
    plan["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["id"] == id))
        .and_then(|r| r["name"].as_str())
        .unwrap_or_else(|| panic!("{id} in the plan"))
        .to_string()
}

#[test]
fn an_unowned_resource_under_a_desired_name_stops_plan_and_apply() {
    let Some(d) = Deploy::new(
        "an_unowned_resource_under_a_desired_name_stops_plan_and_apply",
        "dplconf",
    ) else {
        return;
    };
    let bucket = name_of(&d.plan_json(), "s3_bucket.raw");
    // Someone made that bucket by hand (no stkc tags), with another client than stkc.
    let http = reqwest::blocking::Client::new();
    let body = "<CreateBucketConfiguration><LocationConstraint>eu-central-1</LocationConstraint></CreateBucketConfiguration>";
    let made = http
        .put(format!("{}/{bucket}", d.moto))
        .body(body)
        .send()
        .expect("moto answers");
    assert!(made.status().is_success(), "{:?}", made.text());

    let (code, out, err) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 1, "a conflict is an error, not changes: {out}");
    assert!(
        err.contains(&bucket)
            && err.contains("not made by stkc")
            && err.contains("nothing was changed"),
        "{err}"
    );
    let (code, _, err) = d.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "{err}");

    let gone = http
        .delete(format!("{}/{bucket}", d.moto))
        .send()
        .expect("moto answers");
    assert!(gone.status().is_success());
    let acts = actions(&d.plan_json());
    assert!(
        acts.iter().all(|(_, a)| a == "create"),
        "the failed apply changed nothing: {acts:?}"
    );
}

#[test]
fn an_apply_that_fails_part_way_is_finished_by_a_rerun() {
    let Some(d) = Deploy::new(
        "an_apply_that_fails_part_way_is_finished_by_a_rerun",
        "dplfail",
    ) else {
        return;
    };
    let total = actions(&d.plan_json()).len();
    // A subnet that does not exist: everything but the scraper's network resources can be made.
    let line = "  ssh_from = \"203.0.113.7/32\"\n";
    d.edit(
        line,
        &format!("{line}  subnet = \"subnet-0123456789abcdef0\"\n"),
    );
    let (code, out, err) = d.run(&["apply", "--auto-approve"]);
    assert_eq!(code, 1, "the apply fails:\n{out}\n{err}");
    assert!(err.contains("ec2_"), "the failing resource is named: {err}");
    assert!(err.contains("a rerun of apply continues"), "{err}");
    // The security group is in the first wave (it depends on nothing): that wave finished,
    // then the apply stopped. What was made stays; the group is still to make.
    let acts = actions(&d.plan_json());
    assert!(
        acts.iter()
            .any(|(id, _)| id == "ec2_security_group.scraper"),
        "{acts:?}"
    );
    assert!(acts.len() < total, "the first wave was made: {acts:?}");
    assert!(
        !acts.iter().any(|(id, _)| id == "kinesis_stream.stream"),
        "{acts:?}"
    );

    d.edit(
        &format!("{line}  subnet = \"subnet-0123456789abcdef0\"\n"),
        line,
    );
    d.apply();
    let (code, out, _) = d.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(code, 0, "the rerun converged:\n{out}");
}

/// The deployer policy needs neither a package nor credentials when the account is given.
#[test]
fn the_deployer_policy_for_a_given_account_needs_no_package_or_credentials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/stocks.stk");
    let out = Command::cargo_bin("stkc")
        .expect("stkc built")
        .args(["plan", "--deployer-policy", "--account", "210987654321"])
        .arg(&file)
        .current_dir(dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run stkc");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy: serde_json::Value = serde_json::from_str(&stdout).expect("a JSON policy");
    let text = policy.to_string();
    assert!(
        text.contains("arn:aws:s3:::stk-stocks-artifacts-210987654321-eu-central-1/stocks/*"),
        "the artifacts statement names the account's bucket: {text}"
    );
    assert!(text.contains("s3:PutObject"), "{text}");

    let out = Command::cargo_bin("stkc")
        .expect("stkc built")
        .args(["plan", "--deployer-policy", "--account", "12345"])
        .arg(&file)
        .output()
        .expect("run stkc");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an AWS account id"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
