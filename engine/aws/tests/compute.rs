//! IAM (roles, inline policies, the instance profile), Lambda (functions, the Kinesis event
//! source mapping, permissions) and Firehose against moto: each kind created reads back
//! exactly as desired and owned by the pipeline; a change made out of band shows in the
//! read and `update` reverts it; strays are found by listing; `delete` removes it.

mod common;

use common::{Setup, create, create_where, delete_checked, existing, read_converged};
use common::{revert, strays};
use std::collections::BTreeSet;
use stk_aws::kinds::Cx;
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceId};

/// Creates `id` and everything it depends on, in the graph's apply order.
async fn create_with_deps(cx: &Cx<'_>, id: &ResourceId) {
    let mut needed = BTreeSet::from([id.clone()]);
    let mut todo = vec![id.clone()];
    while let Some(next) = todo.pop() {
        for dep in &cx.graph.get(&next).expect("in the graph").depends_on {
            if needed.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    create_where(cx, |step| needed.contains(step)).await;
}

/// `r` under another AWS name (`stk-<pipeline>-old`): a resource the graph lacks.
fn renamed(t: &Setup, r: &Resource) -> Resource {
    let mut old = r.clone();
    old.name = t.graph.names.aws_name("old");
    old.arn = None;
    old
}

fn attr_str<'a>(live: &'a LiveResource, key: &str) -> &'a str {
    live.attributes
        .get(key)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
}

#[tokio::test]
async fn roles_and_their_policies() {
    let Some(t) = Setup::new("roles_and_their_policies", "cmpiam").await else {
        return;
    };
    let cx = t.cx();
    let role = t.get(Kind::IamRole, "transform");
    let policy = t.get(Kind::IamRolePolicy, "transform");
    create_with_deps(&cx, &policy.id).await;
    let role_live = read_converged(&cx, role).await;
    read_converged(&cx, policy).await;

    // Drift: description, trust policy, a tag, the inline policy's document.
    let iam = &t.aws.iam;
    iam.update_role()
        .role_name(&role.name)
        .description("edited by hand")
        .send()
        .await
        .expect("update role");
    iam.update_assume_role_policy()
        .role_name(&role.name)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .expect("update trust");
    iam.untag_role()
        .role_name(&role.name)
        .tag_keys("owner")
        .send()
        .await
        .expect("untag");
    iam.put_role_policy()
        .role_name(&role.name)
        .policy_name(&policy.name)
        .policy_document(r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#)
        .send()
        .await
        .expect("put policy");
    let drifted = existing(&cx, role).await;
    assert_eq!(attr_str(&drifted, "description"), "edited by hand");
    assert!(!drifted.tags.contains_key("owner"));
    revert(&cx, role, &["assume_role_policy", "description", "tags"]).await;
    revert(&cx, policy, &["document"]).await;

    // Strays: another role of the pipeline, with an inline policy of its own.
    let old_role = renamed(&t, role);
    let mut old_policy = renamed(&t, policy);
    if let stk_deploy::Spec::IamRolePolicy(s) = &mut old_policy.spec {
        s.role = old_role.name.clone();
    }
    create(&cx, &old_role).await;
    create(&cx, &old_policy).await;
    let roles = strays(&cx, Kind::IamRole).await;
    let ids: BTreeSet<_> = roles.iter().map(|(id, _)| id.to_string()).collect();
    assert!(ids.contains("iam_role.old"), "{ids:?}");
    assert!(ids.contains("iam_role.transform"), "{ids:?}");
    assert!(roles.iter().all(|(_, l)| l.owner == Owner::Pipeline));
    let policies = strays(&cx, Kind::IamRolePolicy).await;
    let found = policies
        .iter()
        .find(|(id, _)| id.name == "old")
        .expect("the old role's policy");
    assert_eq!(found.1.attributes, old_policy.attributes());

    // A role with an inline policy and in an instance profile still deletes.
    let old_live = existing(&cx, &old_role).await;
    iam.create_instance_profile()
        .instance_profile_name(&old_role.name)
        .send()
        .await
        .expect("profile");
    iam.add_role_to_instance_profile()
        .instance_profile_name(&old_role.name)
        .role_name(&old_role.name)
        .send()
        .await
        .expect("add role");
    delete_checked(&cx, &old_role, &old_live).await;

    let policy_live = existing(&cx, policy).await;
    delete_checked(&cx, policy, &policy_live).await;
    delete_checked(&cx, role, &role_live).await;
}

#[tokio::test]
async fn the_instance_profile() {
    let Some(t) = Setup::new("the_instance_profile", "cmpprofile").await else {
        return;
    };
    let cx = t.cx();
    let profile = t.get(Kind::IamInstanceProfile, "scraper");
    create_with_deps(&cx, &profile.id).await;
    let live = read_converged(&cx, profile).await;
    assert_eq!(attr_str(&live, "role"), "stk-cmpprofile-scraper");

    // Drift: its role taken out; still ours (by its name's role), and put back by update.
    t.aws
        .iam
        .remove_role_from_instance_profile()
        .instance_profile_name(&profile.name)
        .role_name("stk-cmpprofile-scraper")
        .send()
        .await
        .expect("remove role");
    let drifted = existing(&cx, profile).await;
    assert_eq!(attr_str(&drifted, "role"), "");
    assert_eq!(drifted.owner, Owner::Pipeline);
    revert(&cx, profile, &["role"]).await;

    let strays = strays(&cx, Kind::IamInstanceProfile).await;
    let ids: Vec<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(ids, ["iam_instance_profile.scraper"]);

    delete_checked(&cx, profile, &live).await;
    let role = t.get(Kind::IamRole, "scraper");
    let role_live = existing(&cx, role).await;
    delete_checked(&cx, role, &role_live).await;
}

#[tokio::test]
async fn functions() {
    let Some(t) = Setup::new("functions", "cmpfunc").await else {
        return;
    };
    let cx = t.cx();
    let f = t.get(Kind::LambdaFunction, "transform");
    create_with_deps(&cx, &f.id).await;
    let live = read_converged(&cx, f).await;

    // Drift: memory, environment, a tag; then the code.
    let lambda = &t.aws.lambda;
    lambda
        .update_function_configuration()
        .function_name(&f.name)
        .memory_size(1024)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("EXTRA", "1")
                .build(),
        )
        .send()
        .await
        .expect("update configuration");
    let arn = f.arn.clone().expect("a function ARN");
    lambda
        .untag_resource()
        .resource(&arn)
        .tag_keys("project")
        .send()
        .await
        .expect("untag");
    let drifted = existing(&cx, f).await;
    assert_eq!(drifted.attributes["memory_mb"], serde_json::json!(1024));
    revert(&cx, f, &["environment", "memory_mb", "tags"]).await;

    let mut other_zip = common::lambda_zip();
    other_zip.extend_from_slice(b"changed");
    lambda
        .update_function_code()
        .function_name(&f.name)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(other_zip))
        .send()
        .await
        .expect("update code");
    let drifted = existing(&cx, f).await;
    assert_ne!(attr_str(&drifted, "code_sha256"), common::LAMBDA_ZIP_SHA256);
    revert(&cx, f, &["code_sha256"]).await;

    // Strays: another function of the pipeline.
    let old = renamed(&t, f);
    create(&cx, &old).await;
    let strays = strays(&cx, Kind::LambdaFunction).await;
    let ids: BTreeSet<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert!(ids.contains("lambda_function.old"), "{ids:?}");
    let old_live = existing(&cx, &old).await;
    delete_checked(&cx, &old, &old_live).await;

    delete_checked(&cx, f, &live).await;
}

#[tokio::test]
async fn the_kinesis_mapping() {
    let Some(t) = Setup::new("the_kinesis_mapping", "cmpmap").await else {
        return;
    };
    let cx = t.cx();
    let m = t.get(Kind::LambdaEventSourceMapping, "transform");
    create_with_deps(&cx, &m.id).await;
    let live = read_converged(&cx, m).await;
    let uuid = live.physical_id.clone().expect("the mapping's UUID");

    // Drift: batch size, disabled, no failure destination.
    t.aws
        .lambda
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(7)
        .enabled(false)
        .destination_config(
            aws_sdk_lambda::types::DestinationConfig::builder()
                .on_failure(aws_sdk_lambda::types::OnFailure::builder().build())
                .build(),
        )
        .send()
        .await
        .expect("update mapping");
    let drifted = existing(&cx, m).await;
    assert_eq!(drifted.attributes["batch_size"], serde_json::json!(7));
    assert_eq!(drifted.attributes["enabled"], serde_json::json!(false));
    assert_eq!(drifted.physical_id.as_deref(), Some(uuid.as_str()));
    revert(&cx, m, &["batch_size", "enabled", "on_failure_destination"]).await;

    let strays = strays(&cx, Kind::LambdaEventSourceMapping).await;
    assert_eq!(strays.len(), 1, "{strays:?}");
    assert_eq!(strays[0].0, m.id);
    assert_eq!(strays[0].1.physical_id.as_deref(), Some(uuid.as_str()));

    delete_checked(&cx, m, &live).await;
}

#[tokio::test]
async fn the_s3_permission() {
    let Some(t) = Setup::new("the_s3_permission", "cmpperm").await else {
        return;
    };
    let cx = t.cx();
    let p = t.get(Kind::LambdaPermission, "compact");
    create_with_deps(&cx, &p.id).await;
    let live = read_converged(&cx, p).await;

    // Drift: the statement replaced by one for another bucket.
    let function = attr_str(&live, "function_name").to_string();
    let lambda = &t.aws.lambda;
    lambda
        .remove_permission()
        .function_name(&function)
        .statement_id(&p.name)
        .send()
        .await
        .expect("remove");
    lambda
        .add_permission()
        .function_name(&function)
        .statement_id(&p.name)
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::someone-elses-bucket")
        .source_account("123456789012")
        .send()
        .await
        .expect("add");
    let drifted = existing(&cx, p).await;
    assert_eq!(
        attr_str(&drifted, "source_arn"),
        "arn:aws:s3:::someone-elses-bucket"
    );
    // A permission is replaced on any change; apply then creates it again.
    create(&cx, p).await;
    read_converged(&cx, p).await;

    let strays = strays(&cx, Kind::LambdaPermission).await;
    let ids: Vec<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(ids, ["lambda_permission.compact"]);

    delete_checked(&cx, p, &live).await;
}

#[tokio::test]
async fn the_delivery_stream() {
    let Some(t) = Setup::new("the_delivery_stream", "cmpfh").await else {
        return;
    };
    let cx = t.cx();
    let d = t.get(Kind::FirehoseDeliveryStream, "raw");
    create_with_deps(&cx, &d.id).await;
    let live = read_converged(&cx, d).await;
    assert_eq!(
        live.attributes["dynamic_partitioning"],
        serde_json::json!(true)
    );
    assert!(live.attributes["partition_query"].is_string());

    // Drift: buffering, compression, no processors, a tag.
    let fh = &t.aws.firehose;
    let desc = fh
        .describe_delivery_stream()
        .delivery_stream_name(&d.name)
        .send()
        .await
        .expect("describe");
    let desc = desc.delivery_stream_description().expect("description");
    let update = aws_sdk_firehose::types::ExtendedS3DestinationUpdate::builder()
        .buffering_hints(
            aws_sdk_firehose::types::BufferingHints::builder()
                .interval_in_seconds(300)
                .size_in_mbs(128)
                .build(),
        )
        .compression_format(aws_sdk_firehose::types::CompressionFormat::Gzip)
        .processing_configuration(
            aws_sdk_firehose::types::ProcessingConfiguration::builder()
                .enabled(false)
                .build(),
        )
        .build();
    fh.update_destination()
        .delivery_stream_name(&d.name)
        .current_delivery_stream_version_id(desc.version_id())
        .destination_id(desc.destinations()[0].destination_id())
        .extended_s3_destination_update(update)
        .send()
        .await
        .expect("update destination");
    fh.untag_delivery_stream()
        .delivery_stream_name(&d.name)
        .tag_keys("owner")
        .send()
        .await
        .expect("untag");
    let drifted = existing(&cx, d).await;
    assert_eq!(
        drifted.attributes["buffer_interval_s"],
        serde_json::json!(300)
    );
    assert_eq!(drifted.attributes["compression"], serde_json::json!("GZIP"));
    assert_eq!(
        drifted.attributes["partition_query"],
        serde_json::Value::Null
    );
    revert(
        &cx,
        d,
        &[
            "buffer_interval_s",
            "buffer_size_mib",
            "compression",
            "newline_delimiter",
            "partition_query",
            "tags",
        ],
    )
    .await;

    // Strays: another delivery stream of the pipeline.
    let old = renamed(&t, d);
    create(&cx, &old).await;
    let strays = strays(&cx, Kind::FirehoseDeliveryStream).await;
    let ids: BTreeSet<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "firehose_delivery_stream.old".to_string(),
            "firehose_delivery_stream.raw".to_string()
        ])
    );
    let old_live = existing(&cx, &old).await;
    delete_checked(&cx, &old, &old_live).await;

    delete_checked(&cx, d, &live).await;
}
