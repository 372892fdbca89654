//! The Glue database, table and crawler, and the EC2 security group and instance, against
//! the emulator: created as the graph says they read back equal to the desired attributes
//! (a second plan shows no changes), drift made with the SDK shows in the read and `update`
//! reverts it, `delete` removes them, and resources of the pipeline the graph lacks are
//! found as strays.

mod common;

use stk_aws::Aws;
use stk_aws::kinds::{self, Cx};
use stk_deploy::resource::{InstanceProfileSpec, Spec};
use stk_deploy::{Action, Graph, Kind, LiveResource, Owner, Resource, ResourceId, Snapshot};

/// The user data `common::graph` plans with: the instance's digest is of this text.
const USER_DATA: &str = "#cloud-config\n# placeholder user data\n";

fn cx<'a>(aws: &'a Aws, graph: &'a Graph, pipeline: &'a str, zip: &'a [u8]) -> Cx<'a> {
    Cx {
        aws,
        graph,
        pipeline,
        lambda_zip: zip,
        user_data: USER_DATA,
        force_delete_data: false,
    }
}

fn resource<'g>(graph: &'g Graph, kind: Kind, logical: &str) -> &'g Resource {
    graph
        .get(&ResourceId::new(kind, logical))
        .unwrap_or_else(|| panic!("the graph has no {kind}.{logical}"))
}

/// Creates the graph's resources of `kinds`, in apply order.
async fn create_kinds(cx: &Cx<'_>, graph: &Graph, kinds: &[Kind]) {
    for id in graph.apply_order().expect("apply order") {
        if kinds.contains(&id.kind) {
            let r = resource(graph, id.kind, &id.name);
            kinds::create(cx, r)
                .await
                .unwrap_or_else(|e| panic!("create {id}: {e}"));
        }
    }
}

async fn read(cx: &Cx<'_>, r: &Resource) -> Option<LiveResource> {
    kinds::read(cx, r)
        .await
        .unwrap_or_else(|e| panic!("read {}: {e}", r.id))
}

/// The plan's action for `r` against `live`, and the change itself.
fn plan_for(graph: &Graph, r: &Resource, live: &LiveResource) -> stk_deploy::ResourceChange {
    let mut snapshot = Snapshot::default();
    snapshot.resources.insert(r.id.clone(), live.clone());
    let plan = stk_deploy::diff(graph, &snapshot).expect("diff");
    plan.resources
        .into_iter()
        .find(|c| c.id == r.id)
        .expect("the plan has the resource")
}

/// Read back as desired: ours, the same attributes and tags, and a plan with no change.
async fn assert_converged(cx: &Cx<'_>, graph: &Graph, r: &Resource) -> LiveResource {
    let live = read(cx, r)
        .await
        .unwrap_or_else(|| panic!("{} is missing", r.id));
    assert_eq!(live.owner, Owner::Pipeline, "{}", r.id);
    assert_eq!(live.tags, r.tags, "{}", r.id);
    let mut want = r.attributes();
    if let Spec::Ec2Instance(spec) = &r.spec {
        // The `resolve:ssm:` image is whatever it resolved to.
        assert!(spec.image.starts_with("resolve:ssm:"));
        let image = live.attributes["image"].as_str().expect("image");
        assert!(image.starts_with("ami-"), "{image}");
        want.insert("image".into(), live.attributes["image"].clone());
    }
    assert_eq!(live.attributes, want, "{}", r.id);
    assert_eq!(plan_for(graph, r, &live).action, Action::NoOp, "{}", r.id);
    live
}

/// Drift shows as an in-place update, and `update` reverts it.
async fn revert(cx: &Cx<'_>, graph: &Graph, r: &Resource, changed: &[&str]) {
    let live = read(cx, r).await.expect("still there");
    let change = plan_for(graph, r, &live);
    assert_eq!(change.action, Action::Update, "{}: {change:#?}", r.id);
    let mut attrs: Vec<&str> = change
        .changes
        .iter()
        .map(|c| c.attribute.as_str())
        .collect();
    attrs.sort_unstable();
    assert_eq!(attrs, changed, "{}", r.id);
    kinds::update(cx, r, &live, &change)
        .await
        .unwrap_or_else(|e| panic!("update {}: {e}", r.id));
    assert_converged(cx, graph, r).await;
}

async fn delete(cx: &Cx<'_>, r: &Resource) {
    let live = read(cx, r).await.expect("there before the delete");
    kinds::delete(cx, &r.id, &live)
        .await
        .unwrap_or_else(|e| panic!("delete {}: {e}", r.id));
    assert!(read(cx, r).await.is_none(), "{} still there", r.id);
    // Deleting again is fine.
    kinds::delete(cx, &r.id, &live)
        .await
        .unwrap_or_else(|e| panic!("delete {} again: {e}", r.id));
}

fn names(strays: &[(ResourceId, LiveResource)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = strays
        .iter()
        .map(|(id, l)| {
            let name = l.attributes["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (id.to_string(), name)
        })
        .collect();
    out.sort();
    out
}

// The bodies run boxed: the SDK's futures are large in debug builds, and the test thread's
// stack (2 MiB) does not hold them.
#[tokio::test]
async fn glue_database_table_and_crawler() {
    if let Some(url) = common::moto("glue_database_table_and_crawler") {
        Box::pin(glue(url)).await;
    }
}

async fn glue(url: String) {
    let pipeline = "h3glue";
    let aws = common::aws(&url).await;
    let src = common::stocks_as(pipeline).replace("database = \"stocks\"", "database = \"h3glue\"");
    let graph = common::graph(&src, &aws);
    let zip = common::lambda_zip();
    let cx = cx(&aws, &graph, pipeline, &zip);
    let glue = [Kind::GlueDatabase, Kind::GlueTable, Kind::GlueCrawler];
    create_kinds(&cx, &graph, &glue).await;
    let db = resource(&graph, Kind::GlueDatabase, "lake");
    let table = resource(&graph, Kind::GlueTable, "lake");
    let crawler = resource(&graph, Kind::GlueCrawler, "lake");
    assert_eq!(db.name, "h3glue");
    for r in [db, table, crawler] {
        assert_converged(&cx, &graph, r).await;
    }
    // Creating the crawler again converges (the dispatcher's update of a crawler).
    kinds::create(&cx, crawler)
        .await
        .expect("create the crawler again");

    // Drift: the description and tags of the database, the table's schema and location.
    let db_arn = db.arn.clone().expect("database arn");
    aws.glue
        .update_database()
        .name("h3glue")
        .database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name("h3glue")
                .description("edited by hand")
                .build()
                .expect("input"),
        )
        .send()
        .await
        .expect("update database");
    aws.glue
        .tag_resource()
        .resource_arn(&db_arn)
        .tags_to_add("drift", "yes")
        .send()
        .await
        .expect("tag");
    aws.glue
        .untag_resource()
        .resource_arn(&db_arn)
        .tags_to_remove("owner")
        .send()
        .await
        .expect("untag");
    revert(&cx, &graph, db, &["description", "tags"]).await;

    let column = aws_sdk_glue::types::Column::builder()
        .name("price")
        .r#type("string")
        .build()
        .expect("column");
    aws.glue
        .update_table()
        .database_name("h3glue")
        .table_input(
            aws_sdk_glue::types::TableInput::builder()
                .name(&table.name)
                .table_type("EXTERNAL_TABLE")
                .storage_descriptor(
                    aws_sdk_glue::types::StorageDescriptor::builder()
                        .columns(column)
                        .location("s3://elsewhere/")
                        .build(),
                )
                .parameters("classification", "json")
                .parameters("UPDATED_BY_CRAWLER", "stk-h3glue-lake")
                .build()
                .expect("table input"),
        )
        .send()
        .await
        .expect("update table");
    revert(
        &cx,
        &graph,
        table,
        &[
            "columns",
            "input_format",
            "location",
            "output_format",
            "parameters",
            "partition_keys",
            "serde_library",
        ],
    )
    .await;

    // The crawler: tags change in place; anything else replaces it (delete, create).
    let crawler_arn = crawler.arn.clone().expect("crawler arn");
    aws.glue
        .tag_resource()
        .resource_arn(&crawler_arn)
        .tags_to_add("project", "other")
        .send()
        .await
        .expect("tag crawler");
    revert(&cx, &graph, crawler, &["tags"]).await;
    let live = read(&cx, crawler).await.expect("crawler");
    kinds::delete(&cx, &crawler.id, &live)
        .await
        .expect("delete crawler");
    aws.glue
        .create_crawler()
        .name(&crawler.name)
        .role("stk-h3glue-crawler")
        .database_name("h3glue")
        .targets(
            aws_sdk_glue::types::CrawlerTargets::builder()
                .catalog_targets(
                    aws_sdk_glue::types::CatalogTarget::builder()
                        .database_name("h3glue")
                        .tables(&table.name)
                        .build()
                        .expect("target"),
                )
                .build(),
        )
        .schedule("cron(0 3 * * ? *)")
        .tags("stk:pipeline", pipeline)
        .tags("stk:managed-by", "stkc")
        .send()
        .await
        .expect("crawler by hand");
    let live = read(&cx, crawler).await.expect("crawler");
    let change = plan_for(&graph, crawler, &live);
    assert_eq!(change.action, Action::Replace, "{change:#?}");
    assert!(
        change.forced_by.contains(&"schedule".to_string()),
        "{change:#?}"
    );
    // The role given by name reads as its ARN.
    assert_eq!(
        live.attributes["role_arn"],
        graph.names.role_arn("stk-h3glue-crawler")
    );
    kinds::delete(&cx, &crawler.id, &live)
        .await
        .expect("delete");
    kinds::create(&cx, crawler).await.expect("create");
    assert_converged(&cx, &graph, crawler).await;

    // Strays: another crawler and database of the pipeline; an untagged database is not.
    aws.glue
        .create_crawler()
        .name("stk-h3glue-extra")
        .role("arn:aws:iam::123456789012:role/stk-h3glue-crawler")
        .targets(
            aws_sdk_glue::types::CrawlerTargets::builder()
                .catalog_targets(
                    aws_sdk_glue::types::CatalogTarget::builder()
                        .database_name("h3glue")
                        .tables(&table.name)
                        .build()
                        .expect("target"),
                )
                .build(),
        )
        .tags("stk:pipeline", pipeline)
        .tags("stk:managed-by", "stkc")
        .send()
        .await
        .expect("extra crawler");
    for (name, tagged) in [("h3glue_old", true), ("h3glue_mine", false)] {
        let mut req = aws.glue.create_database().database_input(
            aws_sdk_glue::types::DatabaseInput::builder()
                .name(name)
                .build()
                .expect("input"),
        );
        if tagged {
            req = req
                .tags("stk:pipeline", pipeline)
                .tags("stk:managed-by", "stkc");
        }
        req.send().await.expect("extra database");
    }
    let crawlers = kinds::strays(&cx, Kind::GlueCrawler).await.expect("strays");
    assert_eq!(
        names(&crawlers),
        [
            (
                "glue_crawler.extra".to_string(),
                "stk-h3glue-extra".to_string()
            ),
            (
                "glue_crawler.lake".to_string(),
                "stk-h3glue-lake".to_string()
            ),
        ]
    );
    let databases = kinds::strays(&cx, Kind::GlueDatabase)
        .await
        .expect("strays");
    assert_eq!(
        names(&databases),
        [
            ("glue_database.lake".to_string(), "h3glue".to_string()),
            ("glue_database.lake".to_string(), "h3glue_old".to_string()),
        ]
    );
    let tables = kinds::strays(&cx, Kind::GlueTable).await.expect("strays");
    assert_eq!(
        names(&tables),
        [("glue_table.lake".to_string(), table.name.clone())]
    );
    let (_, stray_table) = &tables[0];
    assert_eq!(stray_table.attributes, table.attributes());
    for (id, l) in crawlers.iter().chain(&databases) {
        if l.attributes["name"] != "stk-h3glue-lake" && l.attributes["name"] != "h3glue" {
            kinds::delete(&cx, id, l).await.expect("delete stray");
        }
    }
    aws.glue
        .delete_database()
        .name("h3glue_mine")
        .send()
        .await
        .expect("delete untagged");

    // Dependents first.
    for r in [crawler, table, db] {
        delete(&cx, r).await;
    }
}

/// The role and instance profile the instance needs, made with the SDK (the IAM kinds are
/// tested elsewhere).
async fn instance_profile(aws: &Aws, graph: &Graph) {
    let profile = resource(graph, Kind::IamInstanceProfile, "scraper");
    let Spec::IamInstanceProfile(InstanceProfileSpec { role, .. }) = &profile.spec else {
        panic!("not an instance profile");
    };
    aws.iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("role");
    aws.iam
        .create_instance_profile()
        .instance_profile_name(&profile.name)
        .send()
        .await
        .expect("instance profile");
    aws.iam
        .add_role_to_instance_profile()
        .instance_profile_name(&profile.name)
        .role_name(role)
        .send()
        .await
        .expect("add role");
}

async fn delete_instance_profile(aws: &Aws, graph: &Graph) {
    let profile = resource(graph, Kind::IamInstanceProfile, "scraper");
    let Spec::IamInstanceProfile(InstanceProfileSpec { role, .. }) = &profile.spec else {
        panic!("not an instance profile");
    };
    aws.iam
        .remove_role_from_instance_profile()
        .instance_profile_name(&profile.name)
        .role_name(role)
        .send()
        .await
        .expect("remove role");
    aws.iam
        .delete_instance_profile()
        .instance_profile_name(&profile.name)
        .send()
        .await
        .expect("delete instance profile");
    aws.iam
        .delete_role()
        .role_name(role)
        .send()
        .await
        .expect("delete role");
}

fn tag(key: &str, value: &str) -> aws_sdk_ec2::types::Tag {
    aws_sdk_ec2::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
}

fn ssh_from(cidr: &str, port: i32) -> aws_sdk_ec2::types::IpPermission {
    aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(cidr).build())
        .build()
}

#[tokio::test]
async fn security_group_and_instance() {
    if let Some(url) = common::moto("security_group_and_instance") {
        Box::pin(ec2(url)).await;
    }
}

async fn ec2(url: String) {
    let pipeline = "h3ec2";
    let aws = common::aws(&url).await;
    let graph = common::graph(&common::stocks_as(pipeline), &aws);
    let zip = common::lambda_zip();
    let cx = cx(&aws, &graph, pipeline, &zip);
    instance_profile(&aws, &graph).await;
    create_kinds(&cx, &graph, &[Kind::Ec2SecurityGroup, Kind::Ec2Instance]).await;
    let group = resource(&graph, Kind::Ec2SecurityGroup, "scraper");
    let instance = resource(&graph, Kind::Ec2Instance, "scraper");
    let group_live = assert_converged(&cx, &graph, group).await;
    let instance_live = assert_converged(&cx, &graph, instance).await;
    let group_id = group_live.physical_id.clone().expect("group id");
    let instance_id = instance_live.physical_id.clone().expect("instance id");
    assert!(instance_id.starts_with("i-"), "{instance_id}");
    // The `resolve:ssm:` image was resolved through SSM before RunInstances.
    let parameter = aws
        .ssm
        .get_parameter()
        .name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64")
        .send()
        .await
        .expect("parameter");
    assert_eq!(
        instance_live.attributes["image"].as_str(),
        parameter.parameter().and_then(|p| p.value())
    );

    // Group drift: SSH from elsewhere, HTTP added, the egress rule gone, a tag.
    let ec2 = &aws.ec2;
    ec2.revoke_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(ssh_from("203.0.113.7/32", 22))
        .send()
        .await
        .expect("revoke");
    ec2.authorize_security_group_ingress()
        .group_id(&group_id)
        .ip_permissions(ssh_from("0.0.0.0/0", 22))
        .ip_permissions(ssh_from("0.0.0.0/0", 80))
        .send()
        .await
        .expect("authorize");
    ec2.revoke_security_group_egress()
        .group_id(&group_id)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("revoke egress");
    ec2.create_tags()
        .resources(&group_id)
        .tags(tag("drift", "yes"))
        .send()
        .await
        .expect("tag");
    revert(&cx, &graph, group, &["egress", "ingress", "tags"]).await;

    // Instance drift: another type (stopped for it), IMDSv1 allowed, another group, a tag.
    let other = ec2
        .create_security_group()
        .group_name("h3ec2-by-hand")
        .description("made by hand")
        .send()
        .await
        .expect("other group");
    let other_id = other.group_id().expect("id").to_string();
    ec2.stop_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .expect("stop");
    ec2.modify_instance_attribute()
        .instance_id(&instance_id)
        .instance_type(
            aws_sdk_ec2::types::AttributeValue::builder()
                .value("t4g.micro")
                .build(),
        )
        .send()
        .await
        .expect("type");
    ec2.start_instances()
        .instance_ids(&instance_id)
        .send()
        .await
        .expect("start");
    ec2.modify_instance_metadata_options()
        .instance_id(&instance_id)
        .http_tokens(aws_sdk_ec2::types::HttpTokensState::Optional)
        .send()
        .await
        .expect("metadata");
    ec2.modify_instance_attribute()
        .instance_id(&instance_id)
        .groups(&other_id)
        .send()
        .await
        .expect("groups");
    ec2.create_tags()
        .resources(&instance_id)
        .tags(tag("project", "other"))
        .send()
        .await
        .expect("tag");
    revert(
        &cx,
        &graph,
        instance,
        &[
            "instance_type",
            "metadata_http_tokens",
            "security_group",
            "tags",
        ],
    )
    .await;

    // Strays: a second group and a second instance of the pipeline.
    let tags = [
        tag("stk:pipeline", pipeline),
        tag("stk:managed-by", "stkc"),
        tag("Name", "stk-h3ec2-old"),
    ];
    let spec = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
        .set_tags(Some(tags.to_vec()))
        .build();
    ec2.create_security_group()
        .group_name("stk-h3ec2-old")
        .description("an old group")
        .tag_specifications(spec)
        .send()
        .await
        .expect("old group");
    let image = instance_live.attributes["image"].as_str().expect("image");
    ec2.run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Instance)
                .set_tags(Some(tags.to_vec()))
                .build(),
        )
        .send()
        .await
        .expect("old instance");
    let groups = kinds::strays(&cx, Kind::Ec2SecurityGroup)
        .await
        .expect("strays");
    assert_eq!(
        names(&groups),
        [
            (
                "ec2_security_group.old".to_string(),
                "stk-h3ec2-old".to_string()
            ),
            (
                "ec2_security_group.scraper".to_string(),
                "stk-h3ec2-scraper".to_string()
            ),
        ]
    );
    let instances = kinds::strays(&cx, Kind::Ec2Instance).await.expect("strays");
    assert_eq!(
        names(&instances),
        [
            ("ec2_instance.old".to_string(), "stk-h3ec2-old".to_string()),
            (
                "ec2_instance.scraper".to_string(),
                "stk-h3ec2-scraper".to_string()
            ),
        ]
    );
    for (id, l) in instances.iter().chain(&groups) {
        if id.name == "old" {
            kinds::delete(&cx, id, l).await.expect("delete stray");
        }
    }
    assert_eq!(
        kinds::strays(&cx, Kind::Ec2Instance)
            .await
            .expect("strays")
            .len(),
        1
    );

    // The instance goes first: its group cannot be deleted while in use.
    delete(&cx, instance).await;
    delete(&cx, group).await;
    ec2.delete_security_group()
        .group_id(&other_id)
        .send()
        .await
        .expect("delete the other group");
    delete_instance_profile(&aws, &graph).await;
}
