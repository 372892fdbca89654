//! IAM (roles, inline policies, the instance profile), Lambda (functions, the Kinesis event
//! source mapping, permissions) and Firehose against moto: each kind created reads back
//! exactly as desired and owned by the pipeline; a change made out of band shows in the
//! read and `update` reverts it; strays are found by listing; `delete` removes it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use stk_aws::Aws;
use stk_aws::kinds::{self, Cx};
use stk_deploy::{
    Graph, Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Snapshot,
};

/// One test's pipeline: clients, its graph and the Lambda package.
struct Setup {
    aws: Aws,
    graph: Graph,
    pipeline: String,
    zip: Vec<u8>,
}

impl Setup {
    async fn new(test: &str, pipeline: &str) -> Option<Setup> {
        let url = common::moto(test)?;
        let aws = common::aws(&url).await;
        let graph = common::graph(&common::stocks_as(pipeline), &aws);
        Some(Setup {
            aws,
            graph,
            pipeline: pipeline.to_string(),
            zip: common::lambda_zip(),
        })
    }

    fn cx(&self) -> Cx<'_> {
        Cx {
            aws: &self.aws,
            graph: &self.graph,
            pipeline: &self.pipeline,
            lambda_zip: &self.zip,
            // No instance here: the scraper's user data is not used.
            user_data: "",
            force_delete_data: false,
        }
    }

    fn get(&self, kind: Kind, logical: &str) -> &Resource {
        let id = ResourceId::new(kind, logical);
        match self.graph.get(&id) {
            Some(r) => r,
            None => panic!("{id} is not in the graph"),
        }
    }

    /// Creates `id` and everything it depends on, in the graph's apply order.
    async fn create_with_deps(&self, id: &ResourceId) {
        let mut needed = BTreeSet::from([id.clone()]);
        let mut todo = vec![id.clone()];
        while let Some(next) = todo.pop() {
            for dep in &self.graph.get(&next).expect("in the graph").depends_on {
                if needed.insert(dep.clone()) {
                    todo.push(dep.clone());
                }
            }
        }
        for step in self.graph.apply_order().expect("apply order") {
            if needed.contains(&step) {
                self.create(self.graph.get(&step).expect("in the graph"))
                    .await;
            }
        }
    }

    // The kinds' futures are large (every kind's in one match): they are boxed, or a debug
    // build overflows the test thread's stack.

    async fn create(&self, r: &Resource) {
        if let Err(e) = Box::pin(kinds::create(&self.cx(), r)).await {
            panic!("create {}: {e}", r.id);
        }
    }

    async fn read(&self, r: &Resource) -> Option<LiveResource> {
        match Box::pin(kinds::read(&self.cx(), r)).await {
            Ok(l) => l,
            Err(e) => panic!("read {}: {e}", r.id),
        }
    }

    /// Reads `r` and checks it is exactly as desired and ours.
    async fn read_as_desired(&self, r: &Resource) -> LiveResource {
        let Some(live) = self.read(r).await else {
            panic!("{} does not exist", r.id)
        };
        assert_eq!(live.attributes, r.attributes(), "{}", r.id);
        assert_eq!(live.owner, Owner::Pipeline, "{}", r.id);
        assert_eq!(live.tags, r.tags, "{}", r.id);
        live
    }

    /// The plan's change for `r` against its live state.
    fn change(&self, r: &Resource, live: &LiveResource) -> ResourceChange {
        let snapshot = Snapshot {
            resources: BTreeMap::from([(r.id.clone(), live.clone())]),
            ..Snapshot::default()
        };
        let plan = match stk_deploy::diff(&self.graph, &snapshot) {
            Ok(p) => p,
            Err(e) => panic!("diff: {e}"),
        };
        plan.change(&r.id)
            .expect("a change for the resource")
            .clone()
    }

    /// Reads `r` (drifted), updates it with the plan's change and checks it converged.
    async fn revert(&self, r: &Resource) -> LiveResource {
        let live = self.read(r).await.expect("the drifted resource exists");
        assert_ne!(
            (&live.attributes, &live.tags),
            (&r.attributes(), &r.tags),
            "{}: the drift does not show",
            r.id
        );
        let change = self.change(r, &live);
        assert_eq!(
            change.action,
            stk_deploy::Action::Update,
            "{}: {change:?}",
            r.id
        );
        if let Err(e) = Box::pin(kinds::update(&self.cx(), r, &live, &change)).await {
            panic!("update {}: {e}", r.id);
        }
        self.read_as_desired(r).await
    }

    async fn delete(&self, r: &Resource, live: &LiveResource) {
        if let Err(e) = Box::pin(kinds::delete(&self.cx(), &r.id, live)).await {
            panic!("delete {}: {e}", r.id);
        }
        assert!(self.read(r).await.is_none(), "{} still exists", r.id);
        // Deleting what is gone is fine.
        if let Err(e) = Box::pin(kinds::delete(&self.cx(), &r.id, live)).await {
            panic!("delete {} again: {e}", r.id);
        }
    }

    async fn strays(&self, kind: Kind) -> Vec<(ResourceId, LiveResource)> {
        match Box::pin(kinds::strays(&self.cx(), kind)).await {
            Ok(s) => s,
            Err(e) => panic!("strays of {kind}: {e}"),
        }
    }

    /// `r` under another AWS name (`stk-<pipeline>-old`): a resource the graph lacks.
    fn renamed(&self, r: &Resource) -> Resource {
        let mut old = r.clone();
        old.name = self.graph.names.aws_name("old");
        old.arn = None;
        old
    }
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
    let role = t.get(Kind::IamRole, "transform");
    let policy = t.get(Kind::IamRolePolicy, "transform");
    t.create_with_deps(&policy.id).await;
    let role_live = t.read_as_desired(role).await;
    t.read_as_desired(policy).await;

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
    let drifted = t.read(role).await.expect("role");
    assert_eq!(attr_str(&drifted, "description"), "edited by hand");
    assert!(!drifted.tags.contains_key("owner"));
    t.revert(role).await;
    t.revert(policy).await;

    // Strays: another role of the pipeline, with an inline policy of its own.
    let old_role = t.renamed(role);
    let mut old_policy = t.renamed(policy);
    if let stk_deploy::Spec::IamRolePolicy(s) = &mut old_policy.spec {
        s.role = old_role.name.clone();
    }
    t.create(&old_role).await;
    t.create(&old_policy).await;
    let roles = t.strays(Kind::IamRole).await;
    let ids: BTreeSet<_> = roles.iter().map(|(id, _)| id.to_string()).collect();
    assert!(ids.contains("iam_role.old"), "{ids:?}");
    assert!(ids.contains("iam_role.transform"), "{ids:?}");
    assert!(roles.iter().all(|(_, l)| l.owner == Owner::Pipeline));
    let policies = t.strays(Kind::IamRolePolicy).await;
    let found = policies
        .iter()
        .find(|(id, _)| id.name == "old")
        .expect("the old role's policy");
    assert_eq!(found.1.attributes, old_policy.attributes());

    // A role with an inline policy and in an instance profile still deletes.
    let old_live = t.read(&old_role).await.expect("old role");
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
    t.delete(&old_role, &old_live).await;

    let policy_live = t.read(policy).await.expect("policy");
    t.delete(policy, &policy_live).await;
    t.delete(role, &role_live).await;
}

#[tokio::test]
async fn the_instance_profile() {
    let Some(t) = Setup::new("the_instance_profile", "cmpprofile").await else {
        return;
    };
    let profile = t.get(Kind::IamInstanceProfile, "scraper");
    t.create_with_deps(&profile.id).await;
    let live = t.read_as_desired(profile).await;
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
    let drifted = t.read(profile).await.expect("profile");
    assert_eq!(attr_str(&drifted, "role"), "");
    assert_eq!(drifted.owner, Owner::Pipeline);
    t.revert(profile).await;

    let strays = t.strays(Kind::IamInstanceProfile).await;
    let ids: Vec<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(ids, ["iam_instance_profile.scraper"]);

    t.delete(profile, &live).await;
    let role = t.get(Kind::IamRole, "scraper");
    let role_live = t.read(role).await.expect("role");
    t.delete(role, &role_live).await;
}

#[tokio::test]
async fn functions() {
    let Some(t) = Setup::new("functions", "cmpfunc").await else {
        return;
    };
    let f = t.get(Kind::LambdaFunction, "transform");
    t.create_with_deps(&f.id).await;
    let live = t.read_as_desired(f).await;

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
    let drifted = t.read(f).await.expect("function");
    assert_eq!(drifted.attributes["memory_mb"], serde_json::json!(1024));
    t.revert(f).await;

    let mut other_zip = t.zip.clone();
    other_zip.extend_from_slice(b"changed");
    lambda
        .update_function_code()
        .function_name(&f.name)
        .zip_file(aws_sdk_lambda::primitives::Blob::new(other_zip))
        .send()
        .await
        .expect("update code");
    let drifted = t.read(f).await.expect("function");
    assert_ne!(attr_str(&drifted, "code_sha256"), common::LAMBDA_ZIP_SHA256);
    t.revert(f).await;

    // Strays: another function of the pipeline.
    let old = t.renamed(f);
    t.create(&old).await;
    let strays = t.strays(Kind::LambdaFunction).await;
    let ids: BTreeSet<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert!(ids.contains("lambda_function.old"), "{ids:?}");
    let old_live = t.read(&old).await.expect("old");
    t.delete(&old, &old_live).await;

    t.delete(f, &live).await;
}

#[tokio::test]
async fn the_kinesis_mapping() {
    let Some(t) = Setup::new("the_kinesis_mapping", "cmpmap").await else {
        return;
    };
    let m = t.get(Kind::LambdaEventSourceMapping, "transform");
    t.create_with_deps(&m.id).await;
    let live = t.read_as_desired(m).await;
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
    let drifted = t.read(m).await.expect("mapping");
    assert_eq!(drifted.attributes["batch_size"], serde_json::json!(7));
    assert_eq!(drifted.attributes["enabled"], serde_json::json!(false));
    assert_eq!(drifted.physical_id.as_deref(), Some(uuid.as_str()));
    t.revert(m).await;

    let strays = t.strays(Kind::LambdaEventSourceMapping).await;
    assert_eq!(strays.len(), 1, "{strays:?}");
    assert_eq!(strays[0].0, m.id);
    assert_eq!(strays[0].1.physical_id.as_deref(), Some(uuid.as_str()));

    t.delete(m, &live).await;
}

#[tokio::test]
async fn the_s3_permission() {
    let Some(t) = Setup::new("the_s3_permission", "cmpperm").await else {
        return;
    };
    let p = t.get(Kind::LambdaPermission, "compact");
    t.create_with_deps(&p.id).await;
    let live = t.read_as_desired(p).await;

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
    let drifted = t.read(p).await.expect("permission");
    assert_eq!(
        attr_str(&drifted, "source_arn"),
        "arn:aws:s3:::someone-elses-bucket"
    );
    // A permission is replaced on any change; apply then creates it again.
    t.create(p).await;
    t.read_as_desired(p).await;

    let strays = t.strays(Kind::LambdaPermission).await;
    let ids: Vec<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(ids, ["lambda_permission.compact"]);

    t.delete(p, &live).await;
}

#[tokio::test]
async fn the_delivery_stream() {
    let Some(t) = Setup::new("the_delivery_stream", "cmpfh").await else {
        return;
    };
    let d = t.get(Kind::FirehoseDeliveryStream, "raw");
    t.create_with_deps(&d.id).await;
    let live = t.read_as_desired(d).await;
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
    let drifted = t.read(d).await.expect("delivery stream");
    assert_eq!(
        drifted.attributes["buffer_interval_s"],
        serde_json::json!(300)
    );
    assert_eq!(drifted.attributes["compression"], serde_json::json!("GZIP"));
    assert_eq!(
        drifted.attributes["partition_query"],
        serde_json::Value::Null
    );
    t.revert(d).await;

    // Strays: another delivery stream of the pipeline.
    let old = t.renamed(d);
    t.create(&old).await;
    let strays = t.strays(Kind::FirehoseDeliveryStream).await;
    let ids: BTreeSet<_> = strays.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            "firehose_delivery_stream.old".to_string(),
            "firehose_delivery_stream.raw".to_string()
        ])
    );
    let old_live = t.read(&old).await.expect("old");
    t.delete(&old, &old_live).await;

    t.delete(d, &live).await;
}
