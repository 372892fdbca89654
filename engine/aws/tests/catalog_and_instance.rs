//! The Glue database, table and crawler, and the EC2 security group and instance, against
//! the emulator: created as the graph says they read back equal to the desired attributes
//! (a second plan shows no changes), drift made with the SDK shows in the read and `update`
//! reverts it, `delete` removes them, and resources of the pipeline the graph lacks are
//! found as strays.

mod common;

use common::{Setup, change, create, create_where, delete, delete_checked, existing};
use common::{read_converged, revert, stray_names, strays};
use stk_aws::Aws;
use stk_deploy::resource::{InstanceProfileSpec, Spec};
use stk_deploy::{Action, Graph, Kind, Resource};

// The bodies run boxed: the SDK's futures are large in debug builds, and the test thread's
// stack (2 MiB) does not hold them.
#[tokio::test]
async fn glue_database_table_and_crawler() {
    let pipeline = "h3glue";
    let database = |src: String| src.replace("database = \"stocks\"", "database = \"h3glue\"");
    if let Some(t) = Setup::edited("glue_database_table_and_crawler", pipeline, database).await {
        Box::pin(glue(&t)).await;
    }
}

/// Crawler targets: the lake's table in the `h3glue` database.
fn lake_targets(table: &str) -> aws_sdk_glue::types::CrawlerTargets {
    aws_sdk_glue::types::CrawlerTargets::builder()
        .catalog_targets(
            aws_sdk_glue::types::CatalogTarget::builder()
                .database_name("h3glue")
                .tables(table)
                .build()
                .expect("target"),
        )
        .build()
}

async fn glue(t: &Setup) {
    let (aws, graph, pipeline, cx) = (&t.aws, &t.graph, t.pipeline.as_str(), t.cx());
    let glue = [Kind::GlueDatabase, Kind::GlueTable, Kind::GlueCrawler];
    create_where(&cx, |id| glue.contains(&id.kind)).await;
    let db = t.get(Kind::GlueDatabase, "lake");
    let table = t.get(Kind::GlueTable, "lake");
    let crawler = t.get(Kind::GlueCrawler, "lake");
    assert_eq!(db.name, "h3glue");
    for r in [db, table, crawler] {
        read_converged(&cx, r).await;
    }
    // Creating the crawler again converges (the dispatcher's update of a crawler).
    create(&cx, crawler).await;

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
    revert(&cx, db, &["description", "tags"]).await;

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
    revert(&cx, crawler, &["tags"]).await;
    let live = existing(&cx, crawler).await;
    delete(&cx, &crawler.id, &live).await;
    aws.glue
        .create_crawler()
        .name(&crawler.name)
        .role("stk-h3glue-crawler")
        .database_name("h3glue")
        .targets(lake_targets(&table.name))
        .schedule("cron(0 3 * * ? *)")
        .tags("stk:pipeline", pipeline)
        .tags("stk:managed-by", "stkc")
        .send()
        .await
        .expect("crawler by hand");
    let live = existing(&cx, crawler).await;
    let change = change(graph, crawler, &live);
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
    delete(&cx, &crawler.id, &live).await;
    create(&cx, crawler).await;
    read_converged(&cx, crawler).await;

    // Strays: another crawler and database of the pipeline; an untagged database is not.
    aws.glue
        .create_crawler()
        .name("stk-h3glue-extra")
        .role("arn:aws:iam::123456789012:role/stk-h3glue-crawler")
        .targets(lake_targets(&table.name))
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
    let crawlers = strays(&cx, Kind::GlueCrawler).await;
    assert_eq!(
        stray_names(&crawlers),
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
    let databases = strays(&cx, Kind::GlueDatabase).await;
    assert_eq!(
        stray_names(&databases),
        [
            ("glue_database.lake".to_string(), "h3glue".to_string()),
            ("glue_database.lake".to_string(), "h3glue_old".to_string()),
        ]
    );
    let tables = strays(&cx, Kind::GlueTable).await;
    assert_eq!(
        stray_names(&tables),
        [("glue_table.lake".to_string(), table.name.clone())]
    );
    let (_, stray_table) = &tables[0];
    assert_eq!(stray_table.attributes, table.attributes());
    for (id, l) in crawlers.iter().chain(&databases) {
        if l.attributes["name"] != "stk-h3glue-lake" && l.attributes["name"] != "h3glue" {
            delete(&cx, id, l).await;
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
        delete_checked(&cx, r, &existing(&cx, r).await).await;
    }
}

/// The scraper's instance profile in the graph, and the name of its role.
fn scraper_profile(graph: &Graph) -> (&Resource, &str) {
    let profile = common::resource(graph, Kind::IamInstanceProfile, "scraper");
    let Spec::IamInstanceProfile(InstanceProfileSpec { role, .. }) = &profile.spec else {
        panic!("not an instance profile");
    };
    (profile, role)
}

/// The role and instance profile the instance needs, made with the SDK (the IAM kinds are
/// tested elsewhere).
async fn instance_profile(aws: &Aws, graph: &Graph) {
    let (profile, role) = scraper_profile(graph);
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
    let (profile, role) = scraper_profile(graph);
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
    if let Some(t) = Setup::new("security_group_and_instance", "h3ec2").await {
        Box::pin(ec2(&t)).await;
    }
}

async fn ec2(t: &Setup) {
    let (aws, graph, pipeline, cx) = (&t.aws, &t.graph, t.pipeline.as_str(), t.cx());
    instance_profile(aws, graph).await;
    let ec2_kinds = [Kind::Ec2SecurityGroup, Kind::Ec2Instance];
    create_where(&cx, |id| ec2_kinds.contains(&id.kind)).await;
    let group = t.get(Kind::Ec2SecurityGroup, "scraper");
    let instance = t.get(Kind::Ec2Instance, "scraper");
    let group_live = read_converged(&cx, group).await;
    let instance_live = read_converged(&cx, instance).await;
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
    revert(&cx, group, &["egress", "ingress", "tags"]).await;

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
    let groups = strays(&cx, Kind::Ec2SecurityGroup).await;
    assert_eq!(
        stray_names(&groups),
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
    let instances = strays(&cx, Kind::Ec2Instance).await;
    assert_eq!(
        stray_names(&instances),
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
            delete(&cx, id, l).await;
        }
    }
    assert_eq!(strays(&cx, Kind::Ec2Instance).await.len(), 1);

    // The instance goes first: its group cannot be deleted while in use.
    delete_checked(&cx, instance, &existing(&cx, instance).await).await;
    delete_checked(&cx, group, &existing(&cx, group).await).await;
    ec2.delete_security_group()
        .group_id(&other_id)
        .send()
        .await
        .expect("delete the other group");
    delete_instance_profile(aws, graph).await;
}
