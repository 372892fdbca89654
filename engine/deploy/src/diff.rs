//! The diff: a pure function of the desired graph and a live snapshot, giving the plan. Per
//! resource: create when absent, replace when a forcing attribute differs, update when
//! another does (tags included), delete when it is ours and the file no longer has it. A
//! resource under a desired name that is not this pipeline's stops the plan: stkc never
//! touches what it did not make.

use crate::graph::Graph;
use crate::iam::{self, StatementRow};
use crate::impact;
use crate::plan::{
    Action, AttrChange, IamChange, IamChangeKind, PLAN_FORMAT, Plan, ResourceChange, Summary,
};
use crate::resource::{Kind, NAME, RESOLVED_AT_CREATE, Resource, ResourceId, TAGS, Tags};
use crate::snapshot::{LiveResource, Owner, Snapshot};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A resource the plan needs whose name is held by something that is not this pipeline's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: ResourceId,
    pub name: String,
    pub owner: Owner,
    pub help: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiffError {
    #[error("{}", describe(.0))]
    Conflicts(Vec<Conflict>),
}

fn describe(conflicts: &[Conflict]) -> String {
    let mut out = format!(
        "{} resource name{} this pipeline needs {} taken by resources that are not its own; nothing was changed",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        if conflicts.len() == 1 { "is" } else { "are" },
    );
    for c in conflicts {
        out.push_str(&format!("\n  {} `{}`: {}", c.id.kind, c.name, c.help));
    }
    out
}

fn conflict(id: &ResourceId, name: &str, owner: &Owner, pipeline: &str) -> Conflict {
    let help = match owner {
        Owner::OtherPipeline { pipeline: other } => format!(
            "it belongs to the stkc pipeline `{other}`; give this pipeline another name (its resource names derive from it)"
        ),
        _ if id.kind == Kind::GlueDatabase => format!(
            "it was not made by stkc; name another database in the lake's `catalog = glue {{ database = ... }}`, or tag it stk:pipeline={pipeline} and stk:managed-by=stkc to let this pipeline manage it"
        ),
        _ => format!(
            "it was not made by stkc (no stk:managed-by tag); delete or rename it, give this pipeline another name, or tag it stk:pipeline={pipeline} and stk:managed-by=stkc to let this pipeline manage it"
        ),
    };
    Conflict {
        id: id.clone(),
        name: name.to_string(),
        owner: owner.clone(),
        help,
    }
}

/// The plan that takes the account from `live` to `desired`.
pub fn diff(desired: &Graph, live: &Snapshot) -> Result<Plan, DiffError> {
    let pipeline = &desired.names.pipeline;
    let mut conflicts = Vec::new();
    for r in desired.resources.values() {
        if let Some(l) = live.resources.get(&r.id)
            && l.owner != Owner::Pipeline
        {
            conflicts.push(conflict(&r.id, &live_name(&r.id, l), &l.owner, pipeline));
        }
        if let Some(t) = live.taken.get(&r.id)
            && t.owner != Owner::Pipeline
            && t.name == r.name
        {
            conflicts.push(conflict(&r.id, &t.name, &t.owner, pipeline));
        }
    }
    if !conflicts.is_empty() {
        return Err(DiffError::Conflicts(conflicts));
    }

    // By id, so the plan lists resources in kind (creation) order, then by logical name.
    let mut by_id: BTreeMap<ResourceId, ResourceChange> = desired
        .resources
        .values()
        .map(|r| {
            let change = match live.resources.get(&r.id) {
                None => create(r),
                Some(l) => compare(r, l),
            };
            (r.id.clone(), change)
        })
        .collect();
    for (id, l) in &live.resources {
        if l.owner == Owner::Pipeline && !desired.resources.contains_key(id) {
            by_id.insert(id.clone(), delete(id, l));
        }
    }
    let resources: Vec<ResourceChange> = by_id.into_values().collect();

    let mut warnings = desired.warnings.clone();
    for e in &desired.externals {
        match live.externals.get(&e.key) {
            Some(true) => {}
            Some(false) => warnings.push(format!(
                "the InfluxDB token `{}` ({}) does not exist: {} fails until it is created",
                e.name,
                store_label(e.store),
                e.needed_by
            )),
            None => warnings.push(format!(
                "the InfluxDB token `{}` ({}) was not checked",
                e.name,
                store_label(e.store)
            )),
        }
    }

    Ok(Plan {
        format: PLAN_FORMAT,
        pipeline: pipeline.clone(),
        account_id: desired.names.account_id.clone(),
        region: desired.names.region.clone(),
        live_fingerprint: live.fingerprint(),
        summary: Summary::of(&resources),
        iam_changes: iam_changes(desired, live),
        wildcard_resources: iam::wildcard_rows(desired),
        resources,
        warnings,
    })
}

/// The plan of `stkc destroy`: every resource of this pipeline in `live` deleted (the ones
/// the graph has and the strays), with the IAM rows that go with them.
pub fn destroy(desired: &Graph, live: &Snapshot) -> Result<Plan, DiffError> {
    let nothing = Graph {
        names: desired.names.clone(),
        resources: BTreeMap::new(),
        grants: Vec::new(),
        externals: Vec::new(),
        warnings: Vec::new(),
    };
    diff(&nothing, live)
}

fn store_label(store: stk_dsl::ir::SecretStore) -> &'static str {
    match store {
        stk_dsl::ir::SecretStore::SecretsManager => "Secrets Manager",
        stk_dsl::ir::SecretStore::Ssm => "SSM Parameter Store",
    }
}

fn live_name(id: &ResourceId, l: &LiveResource) -> String {
    l.attributes
        .get(NAME)
        .and_then(Value::as_str)
        .map_or_else(|| id.name.clone(), str::to_string)
}

fn tags_value(tags: &Tags) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

fn create(r: &Resource) -> ResourceChange {
    let mut changes: Vec<AttrChange> = r
        .attributes()
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(attribute, v)| AttrChange {
            attribute,
            before: None,
            after: Some(v),
            forces_replacement: false,
        })
        .collect();
    if !r.tags.is_empty() {
        changes.push(AttrChange {
            attribute: TAGS.to_string(),
            before: None,
            after: Some(tags_value(&r.tags)),
            forces_replacement: false,
        });
    }
    finish(
        &r.id,
        r.name.clone(),
        Action::Create,
        Vec::new(),
        changes,
        None,
    )
}

fn delete(id: &ResourceId, l: &LiveResource) -> ResourceChange {
    let changes = l
        .attributes
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(attribute, v)| AttrChange {
            attribute: attribute.clone(),
            before: Some(v.clone()),
            after: None,
            forces_replacement: false,
        })
        .collect();
    finish(
        id,
        live_name(id, l),
        Action::Delete,
        Vec::new(),
        changes,
        Some(l),
    )
}

/// Only the attributes stkc sets are compared; a reader may report more.
fn compare(r: &Resource, l: &LiveResource) -> ResourceChange {
    let mut changes = Vec::new();
    for (attribute, want) in r.attributes() {
        let have = l.attributes.get(&attribute);
        if same(&want, have) {
            continue;
        }
        // `null` and absent are one thing in the plan: no value.
        changes.push(AttrChange {
            forces_replacement: r.id.kind.forces_replacement(&attribute),
            attribute,
            before: have.filter(|v| !v.is_null()).cloned(),
            after: (!want.is_null()).then_some(want),
        });
    }
    if r.id.kind.info().taggable {
        // `aws:` tags are AWS's own (CloudFormation, ...); nobody else may set them.
        let live_tags: Tags = l
            .tags
            .iter()
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if live_tags != r.tags {
            changes.push(AttrChange {
                attribute: TAGS.to_string(),
                before: Some(tags_value(&live_tags)),
                after: Some(tags_value(&r.tags)),
                forces_replacement: false,
            });
        }
    }
    let forced_by: Vec<String> = changes
        .iter()
        .filter(|c| c.forces_replacement)
        .map(|c| c.attribute.clone())
        .collect();
    let action = if !forced_by.is_empty() {
        Action::Replace
    } else if !changes.is_empty() {
        Action::Update
    } else {
        Action::NoOp
    };
    finish(&r.id, r.name.clone(), action, forced_by, changes, Some(l))
}

/// Whether the live value is the desired one. An absent attribute is `null`; a value AWS
/// resolves at creation matches whatever it was resolved to.
fn same(want: &Value, have: Option<&Value>) -> bool {
    if let Value::String(s) = want
        && s.starts_with(RESOLVED_AT_CREATE)
    {
        return true;
    }
    want == have.unwrap_or(&Value::Null)
}

fn finish(
    id: &ResourceId,
    name: String,
    action: Action,
    forced_by: Vec<String>,
    changes: Vec<AttrChange>,
    live: Option<&LiveResource>,
) -> ResourceChange {
    ResourceChange {
        id: id.clone(),
        name,
        action,
        impacts: impact::impacts(id, action, &changes, live),
        forced_by,
        changes,
    }
}

/// The statement rows the desired graph grants that the live account does not, and the
/// reverse; sorted by principal, action and resource.
fn iam_changes(desired: &Graph, live: &Snapshot) -> Vec<IamChange> {
    let want: BTreeSet<StatementRow> = desired
        .resources
        .values()
        .flat_map(|r| iam::statement_rows(r.id.kind, &r.attributes()))
        .collect();
    let have: BTreeSet<StatementRow> = live
        .resources
        .iter()
        .filter(|(_, l)| l.owner == Owner::Pipeline)
        .flat_map(|(id, l)| iam::statement_rows(id.kind, &l.attributes))
        .collect();
    let mut out: Vec<IamChange> = want
        .difference(&have)
        .map(|row| IamChange::new(IamChangeKind::Added, row.clone()))
        .chain(
            have.difference(&want)
                .map(|row| IamChange::new(IamChangeKind::Removed, row.clone())),
        )
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::ImpactLevel;
    use crate::testutil::{self, STOCKS};
    use serde_json::json;

    /// The plan from an account converged on `before` to the file `after`.
    fn plan(before: &str, after: &str) -> Plan {
        let live = Snapshot::converged(&testutil::graph(before));
        diff(&testutil::graph(after), &live).unwrap()
    }

    fn change<'a>(p: &'a Plan, id: &str) -> &'a ResourceChange {
        p.resources
            .iter()
            .find(|c| c.id.to_string() == id)
            .unwrap_or_else(|| panic!("no {id} in the plan"))
    }

    /// The acting changes, but for the scraper's compiled pipeline: every edit of the file
    /// changes it (see `an_edit_uploads_the_scrapers_pipeline_again`).
    fn acting(p: &Plan) -> Vec<(String, Action)> {
        p.actions()
            .map(|c| (c.id.to_string(), c.action))
            .filter(|(id, _)| id != SCRAPER_PIPELINE)
            .collect()
    }

    const SCRAPER_PIPELINE: &str = "s3_object.scraper/pipeline.json";

    #[test]
    fn an_edit_uploads_the_scrapers_pipeline_again() {
        let p = plan(STOCKS, &testutil::edited("shards = 1", "shards = 2"));
        let c = change(&p, SCRAPER_PIPELINE);
        assert_eq!(c.action, Action::Update);
        assert_eq!(c.changes.len(), 1);
        assert_eq!(c.changes[0].attribute, "sha256");
        assert!(
            c.impacts[0].note.contains("stk-refresh.timer"),
            "{:?}",
            c.impacts
        );
        // The instance installs it itself; it is not replaced.
        assert_eq!(change(&p, "ec2_instance.scraper").action, Action::NoOp);
    }

    #[test]
    fn an_empty_account_creates_everything() {
        let g = testutil::graph(STOCKS);
        let p = diff(&g, &Snapshot::default()).unwrap();
        assert_eq!(p.summary.add, g.resources.len());
        assert_eq!(p.summary.total(), g.resources.len());
        assert!(p.resources.iter().all(|c| c.action == Action::Create));
        assert!(
            p.iam_changes
                .iter()
                .all(|c| c.change == IamChangeKind::Added)
        );
        assert!(
            p.iam_changes
                .iter()
                .any(|c| c.action == "kinesis:PutRecords")
        );
        // The token was not checked, and new subscriptions need confirming.
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        let sub = change(&p, "sns_subscription.alerts@example.com");
        assert_eq!(sub.impacts[0].level, ImpactLevel::Notice);
    }

    #[test]
    fn a_converged_account_has_no_changes() {
        let p = plan(STOCKS, STOCKS);
        assert!(!p.has_changes(), "{:?}", acting(&p));
        assert!(p.iam_changes.is_empty());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn shard_count_updates_the_stream_in_place() {
        let p = plan(STOCKS, &testutil::edited("shards = 1", "shards = 2"));
        assert_eq!(
            acting(&p),
            [("kinesis_stream.stream".to_string(), Action::Update)]
        );
        let c = &change(&p, "kinesis_stream.stream").changes;
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].attribute, "shard_count");
        assert_eq!(
            (c[0].before.clone(), c[0].after.clone()),
            (Some(json!(1)), Some(json!(2)))
        );
        assert!(!c[0].forces_replacement);
    }

    #[test]
    fn buffer_updates_firehose_in_place() {
        let p = plan(
            STOCKS,
            &testutil::edited("interval = 60s", "interval = 120s"),
        );
        assert_eq!(
            acting(&p),
            [("firehose_delivery_stream.raw".to_string(), Action::Update)]
        );
        let c = change(&p, "firehose_delivery_stream.raw");
        assert_eq!(c.changes[0].attribute, "buffer_interval_s");
        assert!(c.impacts.is_empty());
    }

    #[test]
    fn partition_keys_update_with_a_data_impact_note() {
        let edited = STOCKS.replacen(
            "partition = [date(ts), symbol]",
            "partition = [date(ts), hour(ts), symbol]",
            1,
        );
        let p = plan(STOCKS, &edited);
        let c = change(&p, "firehose_delivery_stream.raw");
        assert_eq!(c.action, Action::Update);
        let attrs: Vec<&str> = c.changes.iter().map(|a| a.attribute.as_str()).collect();
        assert_eq!(attrs, ["partition_query", "prefix"]);
        assert!(c.impacts.iter().any(|i| i.level == ImpactLevel::Orphaned));
    }

    #[test]
    fn renaming_the_stream_replaces_it_and_names_the_forcing_attribute() {
        let p = plan(
            STOCKS,
            &testutil::edited("stream ticks: kinesis", "stream prices: kinesis"),
        );
        let s = change(&p, "kinesis_stream.stream");
        assert_eq!(s.action, Action::Replace);
        assert_eq!(s.forced_by, ["name"]);
        assert_eq!(s.name, "stk-stocks-prices");
        assert!(s.impacts.iter().any(|i| i.level == ImpactLevel::DataLoss));
        // What reads the stream by ARN follows it.
        let f = change(&p, "firehose_delivery_stream.raw");
        assert_eq!(
            (f.action, f.forced_by.as_slice()),
            (Action::Replace, &["source_stream_arn".to_string()][..])
        );
        assert_eq!(
            change(&p, "lambda_event_source_mapping.transform").action,
            Action::Replace
        );
        assert_eq!(
            change(&p, "iam_role_policy.transform").action,
            Action::Update
        );
        assert_eq!(change(&p, "ec2_instance.scraper").action, Action::NoOp);
        // The IAM table shows the grant moving from the old stream to the new one.
        let moved = |kind: IamChangeKind, stream: &str| {
            p.iam_changes.iter().any(|c| {
                c.change == kind
                    && c.principal == "role/stk-stocks-scraper"
                    && c.action == "kinesis:PutRecords"
                    && c.resource.ends_with(stream)
            })
        };
        assert!(moved(IamChangeKind::Removed, "stream/stk-stocks-ticks"));
        assert!(moved(IamChangeKind::Added, "stream/stk-stocks-prices"));
        assert_eq!(p.summary.replace, 3);
    }

    #[test]
    fn removing_an_alert_email_deletes_its_subscription() {
        let two = testutil::edited(
            "notify = email(\"alerts@example.com\")",
            "notify = [email(\"alerts@example.com\"), email(\"oncall@example.com\")]",
        );
        let p = plan(&two, STOCKS);
        assert_eq!(
            acting(&p),
            [(
                "sns_subscription.oncall@example.com".to_string(),
                Action::Delete
            )]
        );
        assert_eq!(p.summary.destroy, 1);
        assert!(p.iam_changes.is_empty());
        // And adding it back creates it.
        let back = plan(STOCKS, &two);
        assert_eq!(
            acting(&back),
            [(
                "sns_subscription.oncall@example.com".to_string(),
                Action::Create
            )]
        );
    }

    #[test]
    fn an_unowned_resource_under_a_desired_name_is_an_error() {
        let g = testutil::graph(STOCKS);
        let mut live = Snapshot::default();
        let stream = g
            .get(&ResourceId::new(Kind::KinesisStream, "stream"))
            .unwrap();
        live.resources.insert(
            stream.id.clone(),
            LiveResource {
                owner: Owner::Unmanaged,
                attributes: stream.attributes(),
                tags: Tags::new(),
                physical_id: None,
                holds_data: None,
            },
        );
        let err = diff(&g, &live).unwrap_err();
        let DiffError::Conflicts(c) = &err;
        assert_eq!(c.len(), 1);
        let text = err.to_string();
        assert!(text.contains("kinesis_stream `stk-stocks-ticks`"), "{text}");
        assert!(text.contains("stk:managed-by=stkc"), "{text}");
    }

    #[test]
    fn a_renamed_stream_onto_a_foreign_name_is_an_error() {
        let mut live = Snapshot::converged(&testutil::graph(STOCKS));
        live.taken.insert(
            ResourceId::new(Kind::KinesisStream, "stream"),
            crate::snapshot::Taken {
                name: "stk-stocks-prices".into(),
                owner: Owner::OtherPipeline {
                    pipeline: "prices".into(),
                },
            },
        );
        let g = testutil::graph(&testutil::edited(
            "stream ticks: kinesis",
            "stream prices: kinesis",
        ));
        assert!(matches!(diff(&g, &live), Err(DiffError::Conflicts(_))));
    }

    #[test]
    fn drift_is_reverted_and_aws_tags_are_ignored() {
        let g = testutil::graph(STOCKS);
        let mut live = Snapshot::converged(&g);
        let id = ResourceId::new(Kind::KinesisStream, "stream");
        let stream = live.resources.get_mut(&id).unwrap();
        stream
            .attributes
            .insert("retention_hours".into(), json!(48));
        stream.tags.remove("owner");
        stream
            .tags
            .insert("aws:cloudformation:stack-name".into(), "x".into());
        let p = diff(&g, &live).unwrap();
        let c = change(&p, "kinesis_stream.stream");
        assert_eq!(c.action, Action::Update);
        let attrs: Vec<&str> = c.changes.iter().map(|a| a.attribute.as_str()).collect();
        assert_eq!(attrs, ["retention_hours", "tags"]);
        assert_eq!(p.summary.total(), 1);
    }

    #[test]
    fn an_unpinned_ami_never_replaces_the_instance() {
        let g = testutil::graph(STOCKS);
        let mut live = Snapshot::converged(&g);
        let id = ResourceId::new(Kind::Ec2Instance, "scraper");
        let instance = live.resources.get_mut(&id).unwrap();
        instance
            .attributes
            .insert("image".into(), json!("ami-0123456789abcdef0"));
        assert!(!diff(&g, &live).unwrap().has_changes());
        // A different user data does.
        instance_attr(&mut live, &id, "user_data_sha256", json!("00"));
        let p = diff(&g, &live).unwrap();
        assert_eq!(
            change(&p, "ec2_instance.scraper").forced_by,
            ["user_data_sha256"]
        );
        assert!(
            change(&p, "ec2_instance.scraper")
                .impacts
                .iter()
                .any(|i| i.level == ImpactLevel::DataLoss)
        );
    }

    fn instance_attr(live: &mut Snapshot, id: &ResourceId, key: &str, v: Value) {
        if let Some(r) = live.resources.get_mut(id) {
            r.attributes.insert(key.to_string(), v);
        }
    }

    #[test]
    fn ours_that_the_file_no_longer_names_is_deleted_with_its_data_noted() {
        let with_notify = testutil::edited(
            "severity = warning",
            "severity = warning\n  delivery = near_real_time",
        );
        let mut live = Snapshot::converged(&testutil::graph(&with_notify));
        let lake = ResourceId::new(Kind::S3Bucket, "lake");
        if let Some(l) = live.resources.get_mut(&lake) {
            l.holds_data = Some(true);
        }
        let p = diff(&testutil::graph(STOCKS), &live).unwrap();
        for id in [
            "lambda_function.notify",
            "lambda_permission.notify",
            "s3_bucket_notification.lake",
            "log_group.notify",
            "iam_role.notify",
            "iam_role_policy.notify",
        ] {
            assert_eq!(change(&p, id).action, Action::Delete, "{id}");
        }
        assert!(
            change(&p, "log_group.notify")
                .impacts
                .iter()
                .any(|i| i.level == ImpactLevel::DataLoss)
        );
        assert_eq!(change(&p, "s3_bucket.lake").action, Action::NoOp);
        assert!(
            p.iam_changes
                .iter()
                .any(|c| c.change == IamChangeKind::Removed
                    && c.action == "sns:Publish"
                    && c.principal == "role/stk-stocks-notify")
        );
        assert!(
            p.iam_changes
                .iter()
                .any(|c| c.change == IamChangeKind::Added
                    && c.action == "sns:Publish"
                    && c.principal == "role/stk-stocks-scraper")
        );
    }

    #[test]
    fn a_missing_secret_is_a_warning_and_the_plan_round_trips() {
        let g = testutil::graph(STOCKS);
        let mut live = Snapshot::converged(&g);
        live.externals
            .insert("secretsmanager:stocks/influx-token".into(), false);
        let p = diff(&g, &live).unwrap();
        assert!(p.warnings[0].contains("does not exist"), "{:?}", p.warnings);
        assert_eq!(p.live_fingerprint, live.fingerprint());
        let json = serde_json::to_string(&p).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, p);
    }
}
