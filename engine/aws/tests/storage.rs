//! The storage and messaging kinds against moto: Kinesis stream, S3 buckets (settings,
//! policy, lifecycle, holds_data and the forced delete) and their notification
//! configurations, log groups, the SNS topic and subscriptions, and the secret check. Each
//! test creates a kind, reads it back equal to the desired attributes, drifts it out of
//! band, updates it back, finds a stray and deletes it.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use common::{Setup, absent, assert_converged, create, delete, delete_checked, existing, revert};
use common::{read_converged, stray_names, strays};
use serde_json::{Value, json};
use stk_aws::Aws;
use stk_aws::kinds::{self, Cx};
use stk_deploy::resource::Spec;
use stk_deploy::{Action, Kind, Resource, ResourceChange};

#[tokio::test]
async fn kinesis_stream_converges_reshards_and_is_found_as_a_stray() {
    let pipeline = "stgkin";
    let Some(t) = Setup::new("kinesis_stream", pipeline).await else {
        return;
    };
    let cx = t.cx();
    let r = t.get(Kind::KinesisStream, "stream");
    create(&cx, r).await;
    let live = existing(&cx, r).await;
    assert_converged(&t.graph, r, &live);
    assert_eq!(live.attributes["shard_count"], json!(1));
    assert_eq!(live.attributes["kms_key"], json!("alias/aws/kinesis"));

    // Drift: more retention, two shards, a tag removed and one added.
    let k = &t.aws.kinesis;
    k.increase_stream_retention_period()
        .stream_name(&r.name)
        .retention_period_hours(48)
        .send()
        .await
        .expect("retention");
    k.update_shard_count()
        .stream_name(&r.name)
        .target_shard_count(2)
        .scaling_type(aws_sdk_kinesis::types::ScalingType::UniformScaling)
        .send()
        .await
        .expect("shards");
    k.remove_tags_from_stream()
        .stream_name(&r.name)
        .tag_keys("owner")
        .send()
        .await
        .expect("untag");
    k.add_tags_to_stream()
        .stream_name(&r.name)
        .tags("extra", "1")
        .send()
        .await
        .expect("tag");
    let drifted = existing(&cx, r).await;
    assert_eq!(drifted.attributes["retention_hours"], json!(48));
    assert_eq!(drifted.attributes["shard_count"], json!(2));
    revert(&cx, r, &["retention_hours", "shard_count", "tags"]).await;

    // A stream of this pipeline under another name (a renamed stream block) is a stray; one
    // of another pipeline is not.
    for (name, owner) in [
        ("stk-stgkin-old", pipeline),
        ("stk-stgkin-x-ticks", "stgkin-x"),
    ] {
        k.create_stream()
            .stream_name(name)
            .shard_count(1)
            .send()
            .await
            .expect("stray stream");
        k.add_tags_to_stream()
            .stream_name(name)
            .tags("stk:pipeline", owner)
            .tags("stk:managed-by", "stkc")
            .send()
            .await
            .expect("stray tags");
    }
    let found = stray_names(&strays(&cx, Kind::KinesisStream).await);
    assert_eq!(
        found,
        vec![
            (
                "kinesis_stream.stream".to_string(),
                "stk-stgkin-old".to_string()
            ),
            ("kinesis_stream.stream".to_string(), r.name.clone()),
        ]
    );

    delete_checked(&cx, r, &live).await;
    for name in ["stk-stgkin-old", "stk-stgkin-x-ticks"] {
        k.delete_stream()
            .stream_name(name)
            .send()
            .await
            .expect("cleanup");
    }
}

/// stocks with a retention on the raw bucket (the lifecycle rule).
fn with_raw_retention(src: String) -> String {
    src.replacen(
        "buffer = { interval = 60s, size = 64MiB }",
        "buffer = { interval = 60s, size = 64MiB }\n  retention = 90d",
        1,
    )
}

async fn put_object(aws: &Aws, bucket: &str, key: &str) {
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"{}"))
        .send()
        .await
        .expect("put object");
}

#[tokio::test]
async fn buckets_converge_and_refuse_to_delete_data_without_force() {
    let pipeline = "stgbkt";
    let Some(t) = Setup::edited("buckets", pipeline, with_raw_retention).await else {
        return;
    };
    let (aws, cx) = (&t.aws, t.cx());
    let buckets: Vec<&Resource> = t.graph.of_kind(Kind::S3Bucket).collect();
    assert_eq!(buckets.len(), 4);
    for r in &buckets {
        create(&cx, r).await;
        let live = existing(&cx, r).await;
        assert_converged(&t.graph, r, &live);
        assert_eq!(live.holds_data, Some(false), "{}", r.id);
    }
    let raw = t.get(Kind::S3Bucket, "raw");
    assert_eq!(
        existing(&cx, raw).await.attributes["expire_after_days"],
        json!(90)
    );
    let rules = aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&raw.name)
        .send()
        .await
        .expect("lifecycle");
    let noncurrent = rules.rules()[0]
        .noncurrent_version_expiration()
        .and_then(|n| n.noncurrent_days());
    assert_eq!(noncurrent, Some(90), "noncurrent versions expire too");

    // Drift on raw: versioning suspended, public access open, another expiry, a tag added.
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus,
        LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, Tag, Tagging,
        VersioningConfiguration,
    };
    let s3 = &aws.s3;
    s3.put_bucket_versioning()
        .bucket(&raw.name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend");
    s3.delete_public_access_block()
        .bucket(&raw.name)
        .send()
        .await
        .expect("open");
    let rule = LifecycleRule::builder()
        .id("stk-retention")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .expiration(LifecycleExpiration::builder().days(7).build())
        .build()
        .expect("rule");
    let other = LifecycleRule::builder()
        .id("someone-elses")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("tmp/").build())
        .expiration(LifecycleExpiration::builder().days(1).build())
        .build()
        .expect("rule");
    s3.put_bucket_lifecycle_configuration()
        .bucket(&raw.name)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .rules(other)
                .build()
                .expect("lifecycle"),
        )
        .send()
        .await
        .expect("put lifecycle");
    let mut tags = Tagging::builder();
    for (k, v) in raw
        .tags
        .iter()
        .chain([(&"extra".to_string(), &"1".to_string())])
    {
        tags = tags.tag_set(Tag::builder().key(k).value(v).build().expect("tag"));
    }
    s3.put_bucket_tagging()
        .bucket(&raw.name)
        .tagging(tags.build().expect("tagging"))
        .send()
        .await
        .expect("tag");
    let drifted = existing(&cx, raw).await;
    assert_eq!(drifted.attributes["versioning"], json!(false));
    assert_eq!(drifted.attributes["block_public_access"], json!(false));
    assert_eq!(drifted.attributes["expire_after_days"], json!(7));
    revert(
        &cx,
        raw,
        &[
            "block_public_access",
            "expire_after_days",
            "tags",
            "versioning",
        ],
    )
    .await;
    let kept = s3
        .get_bucket_lifecycle_configuration()
        .bucket(&raw.name)
        .send()
        .await
        .expect("lifecycle");
    assert!(
        kept.rules().iter().any(|r| r.id() == Some("someone-elses")),
        "other lifecycle rules are kept"
    );

    // A bucket holding data: refused without --force-delete-data, emptied with it (every
    // version and delete marker of the versioned raw bucket).
    put_object(aws, &raw.name, "date=2024-01-02/a.json").await;
    put_object(aws, &raw.name, "date=2024-01-02/a.json").await;
    s3.delete_object()
        .bucket(&raw.name)
        .key("date=2024-01-02/a.json")
        .send()
        .await
        .expect("delete marker");
    put_object(aws, &raw.name, "date=2024-01-02/b.json").await;
    let full = existing(&cx, raw).await;
    assert_eq!(full.holds_data, Some(true));
    match kinds::delete(&cx, &raw.id, &full).await {
        Err(stk_aws::AwsError::Invalid { message, .. }) => {
            assert!(message.contains("--force-delete-data"), "{message}")
        }
        other => panic!("deleting a bucket with data without force: {other:?}"),
    }
    assert_eq!(existing(&cx, raw).await.holds_data, Some(true));
    let forced = Cx {
        force_delete_data: true,
        ..t.cx()
    };
    delete_checked(&forced, raw, &full).await;

    // An unversioned bucket with an object.
    let errors = t.get(Kind::S3Bucket, "errors");
    put_object(aws, &errors.name, "compact/x.json").await;
    let live = existing(&cx, errors).await;
    assert_eq!(live.holds_data, Some(true));
    delete(&forced, &errors.id, &live).await;
    absent(&cx, errors).await;

    // Strays: this pipeline's buckets by role, tagged as ours.
    let old = format!("stk-stgbkt-old-{}-{}", aws.account_id, aws.region);
    let mut old_r = raw.clone();
    old_r.name = old.clone();
    create(&cx, &old_r).await;
    let found = stray_names(&strays(&cx, Kind::S3Bucket).await);
    let lake = t.get(Kind::S3Bucket, "lake");
    let artifacts = t.get(Kind::S3Bucket, "artifacts");
    assert_eq!(
        found,
        vec![
            ("s3_bucket.artifacts".to_string(), artifacts.name.clone()),
            ("s3_bucket.lake".to_string(), lake.name.clone()),
            ("s3_bucket.old".to_string(), old.clone()),
        ]
    );
    for r in [lake, artifacts, &old_r] {
        let live = existing(&cx, r).await;
        delete(&cx, &r.id, &live).await;
        absent(&cx, r).await;
    }
}

#[tokio::test]
async fn bucket_policy_round_trips_normalised_and_goes_first_on_delete() {
    let pipeline = "stgpol";
    let Some(t) = Setup::new("bucket_policy", pipeline).await else {
        return;
    };
    let cx = t.cx();
    // The TLS-only policy the real deploy attaches (the test graph leaves it off).
    let mut r = t.get(Kind::S3Bucket, "errors").clone();
    if let Spec::S3Bucket(spec) = &mut r.spec {
        let arn = r.arn.clone().unwrap_or_default();
        spec.policy = Some(stk_deploy::iam::tls_only_bucket_policy(&arn));
    }
    create(&cx, &r).await;
    let live = existing(&cx, &r).await;
    assert_eq!(live.attributes, r.attributes());
    assert!(live.attributes["policy"].is_object());

    t.aws
        .s3
        .delete_bucket_policy()
        .bucket(&r.name)
        .send()
        .await
        .expect("drop policy");
    let drifted = existing(&cx, &r).await;
    assert_eq!(drifted.attributes["policy"], Value::Null);
    let want = r.attributes();
    let c = ResourceChange {
        id: r.id.clone(),
        name: r.name.clone(),
        action: Action::Update,
        forced_by: Vec::new(),
        changes: vec![stk_deploy::AttrChange {
            attribute: "policy".to_string(),
            before: None,
            after: want.get("policy").cloned(),
            forces_replacement: false,
        }],
        impacts: Vec::new(),
    };
    kinds::update(&cx, &r, &drifted, &c).await.expect("update");
    assert_eq!(existing(&cx, &r).await.attributes, want);

    let live = existing(&cx, &r).await;
    delete(&cx, &r.id, &live).await;
    absent(&cx, &r).await;
}

#[tokio::test]
async fn bucket_notification_belongs_to_its_bucket_and_converges() {
    let pipeline = "stgntf";
    let Some(t) = Setup::new("bucket_notification", pipeline).await else {
        return;
    };
    let cx = t.cx();
    let bucket = t.get(Kind::S3Bucket, "raw");
    let r = t.get(Kind::S3BucketNotification, "raw");
    assert_eq!(r.name, bucket.name);
    // moto does not check the function exists, so the bucket is the only dependency made.
    create(&cx, bucket).await;
    absent(&cx, r).await;
    create(&cx, r).await;
    let live = existing(&cx, r).await;
    assert_converged(&t.graph, r, &live);

    // Drift: another prefix and a second configuration.
    use aws_sdk_s3::types::{
        Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
        NotificationConfigurationFilter, S3KeyFilter,
    };
    let Spec::S3BucketNotification(spec) = &r.spec else {
        panic!("not a notification")
    };
    let function = spec.lambda[0].function_arn.clone();
    let drifted_config = |id: &str, prefix: &str| {
        LambdaFunctionConfiguration::builder()
            .id(id)
            .lambda_function_arn(&function)
            .events(Event::from("s3:ObjectCreated:*"))
            .filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    .name(FilterRuleName::Prefix)
                                    .value(prefix)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build()
            .expect("configuration")
    };
    t.aws
        .s3
        .put_bucket_notification_configuration()
        .bucket(&r.name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .lambda_function_configurations(drifted_config("stk-compact", "other/"))
                .lambda_function_configurations(drifted_config("extra", "x/"))
                .build(),
        )
        .send()
        .await
        .expect("drift");
    let drifted = existing(&cx, r).await;
    assert_eq!(
        drifted.attributes["lambda"].as_array().map(Vec::len),
        Some(2)
    );
    revert(&cx, r, &["lambda"]).await;

    let found = stray_names(&strays(&cx, Kind::S3BucketNotification).await);
    assert_eq!(
        found,
        vec![("s3_bucket_notification.raw".to_string(), r.name.clone())]
    );

    delete_checked(&cx, r, &live).await;
    let bucket_live = existing(&cx, bucket).await;
    delete(&cx, &bucket.id, &bucket_live).await;
    absent(&cx, r).await;
}

#[tokio::test]
async fn log_group_converges_and_is_found_as_a_stray() {
    let pipeline = "stglog";
    let Some(t) = Setup::new("log_group", pipeline).await else {
        return;
    };
    let cx = t.cx();
    let r = t.get(Kind::LogGroup, "transform");
    create(&cx, r).await;
    let live = existing(&cx, r).await;
    assert_converged(&t.graph, r, &live);
    assert_eq!(live.attributes["retention_days"], json!(30));

    let logs = &t.aws.logs;
    logs.put_retention_policy()
        .log_group_name(&r.name)
        .retention_in_days(7)
        .send()
        .await
        .expect("retention");
    let arn = t.graph.names.log_group_arn(&r.name);
    logs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("project")
        .send()
        .await
        .expect("untag");
    let drifted = existing(&cx, r).await;
    assert_eq!(drifted.attributes["retention_days"], json!(7));
    revert(&cx, r, &["retention_days", "tags"]).await;

    // Never-expiring logs read as no retention.
    logs.delete_retention_policy()
        .log_group_name(&r.name)
        .send()
        .await
        .expect("no retention");
    assert_eq!(
        existing(&cx, r).await.attributes["retention_days"],
        Value::Null
    );

    let mut old = r.clone();
    old.name = "/aws/lambda/stk-stglog-old".to_string();
    create(&cx, &old).await;
    let found = stray_names(&strays(&cx, Kind::LogGroup).await);
    assert_eq!(
        found,
        vec![
            ("log_group.old".to_string(), old.name.clone()),
            ("log_group.transform".to_string(), r.name.clone()),
        ]
    );
    for g in [r, &old] {
        let live = existing(&cx, g).await;
        delete_checked(&cx, g, &live).await;
    }
}

#[tokio::test]
async fn topic_and_subscriptions_converge_and_are_found_as_strays() {
    let pipeline = "stgsns";
    let Some(t) = Setup::new("sns", pipeline).await else {
        return;
    };
    let (aws, graph, cx) = (&t.aws, &t.graph, t.cx());
    let topic = t.get(Kind::SnsTopic, "alerts");
    let sub = t.get(Kind::SnsSubscription, "alerts@example.com");
    absent(&cx, sub).await;
    create(&cx, topic).await;
    create(&cx, sub).await;
    create(&cx, sub).await;
    let live = existing(&cx, topic).await;
    assert_converged(graph, topic, &live);
    let sub_live = existing(&cx, sub).await;
    assert_converged(graph, sub, &sub_live);
    assert!(
        sub_live
            .physical_id
            .as_deref()
            .is_some_and(|a| a.starts_with(&format!("{}:", graph.names.topic_arn(&topic.name)))),
        "{sub_live:?}"
    );

    let arn = graph.names.topic_arn(&topic.name);
    aws.sns
        .set_topic_attributes()
        .topic_arn(&arn)
        .attribute_name("DisplayName")
        .attribute_value("changed")
        .send()
        .await
        .expect("display name");
    aws.sns
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("owner")
        .send()
        .await
        .expect("untag");
    let drifted = existing(&cx, topic).await;
    assert_eq!(drifted.attributes["display_name"], json!("changed"));
    revert(&cx, topic, &["display_name", "tags"]).await;

    // An address the file no longer has is a stray subscription of our topic.
    aws.sns
        .subscribe()
        .topic_arn(&arn)
        .protocol("email")
        .endpoint("old@example.com")
        .send()
        .await
        .expect("subscribe");
    // Someone else's subscription of another protocol is not stkc's.
    aws.sns
        .subscribe()
        .topic_arn(&arn)
        .protocol("sms")
        .endpoint("+15555550100")
        .send()
        .await
        .expect("subscribe sms");
    let found = stray_names(&strays(&cx, Kind::SnsSubscription).await);
    assert_eq!(
        found,
        vec![
            (
                "sns_subscription.alerts@example.com".to_string(),
                "alerts@example.com".to_string()
            ),
            (
                "sns_subscription.old@example.com".to_string(),
                "old@example.com".to_string()
            ),
        ]
    );
    let topics = stray_names(&strays(&cx, Kind::SnsTopic).await);
    assert_eq!(
        topics,
        vec![("sns_topic.alerts".to_string(), topic.name.clone())]
    );

    delete(&cx, &sub.id, &sub_live).await;
    absent(&cx, sub).await;
    // A pending subscription has no ARN to unsubscribe: skipped, not an error.
    let mut pending = sub_live.clone();
    pending.physical_id = Some("PendingConfirmation".to_string());
    delete(&cx, &sub.id, &pending).await;

    delete(&cx, &topic.id, &live).await;
    absent(&cx, topic).await;
    absent(&cx, sub).await;
    delete(&cx, &topic.id, &live).await;
}

#[tokio::test]
async fn secrets_exist_in_either_store_without_reading_them() {
    let pipeline = "stgsec";
    let Some(url) = common::moto("secrets") else {
        return;
    };
    let aws = common::aws(&url).await;
    for (call, name) in [
        ("secret", "stgsec/influx-token"),
        ("ssm", "/stgsec/influx-token"),
    ] {
        let src = common::stocks_as(pipeline).replacen(
            "secret(\"stocks/influx-token\")",
            &format!("{call}(\"{name}\")"),
            1,
        );
        let graph = common::graph(&src, &aws);
        let files = common::files(&src);
        let cx = common::cx(&aws, &graph, pipeline, &files);
        let external = &graph.externals[0];
        assert_eq!(external.name, name);
        assert!(!kinds::secrets::exists(&cx, external).await.expect("exists"));
        if call == "secret" {
            aws.secrets
                .create_secret()
                .name(name)
                .secret_string("token")
                .send()
                .await
                .expect("secret");
        } else {
            aws.ssm
                .put_parameter()
                .name(name)
                .value("token")
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .send()
                .await
                .expect("parameter");
        }
        assert!(kinds::secrets::exists(&cx, external).await.expect("exists"));
        if call == "secret" {
            aws.secrets
                .delete_secret()
                .secret_id(name)
                .force_delete_without_recovery(true)
                .send()
                .await
                .expect("cleanup");
        } else {
            aws.ssm
                .delete_parameter()
                .name(name)
                .send()
                .await
                .expect("cleanup");
        }
        assert!(!kinds::secrets::exists(&cx, external).await.expect("exists"));
    }
}

#[tokio::test]
async fn artifacts_upload_by_digest_and_do_not_count_as_data() {
    let pipeline = "stgart";
    let Some(t) = Setup::new("artifacts", pipeline).await else {
        return;
    };
    let (aws, cx) = (&t.aws, t.cx());
    let bucket = t.get(Kind::S3Bucket, "artifacts");
    create(&cx, bucket).await;
    let objects: Vec<&Resource> = t.graph.of_kind(Kind::S3Object).collect();
    let ids: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "s3_object.lambda/bootstrap.zip",
            "s3_object.scraper/pipeline.json",
            "s3_object.scraper/stk-scraper",
        ]
    );
    for o in &objects {
        absent(&cx, o).await;
        create(&cx, o).await;
        read_converged(&cx, o).await;
        assert!(o.name.starts_with(&format!("{pipeline}/")), "{}", o.name);
    }
    // The uploaded bytes are the package's.
    let scraper = t.get(Kind::S3Object, "scraper/stk-scraper");
    let got = aws
        .s3
        .get_object()
        .bucket(&bucket.name)
        .key(&scraper.name)
        .send()
        .await
        .expect("get the scraper")
        .body
        .collect()
        .await
        .expect("its body")
        .into_bytes();
    assert_eq!(&got[..], common::SCRAPER);
    // stkc's own files are not data the user would lose.
    assert_eq!(existing(&cx, bucket).await.holds_data, Some(false));

    // Drift: someone overwrites the binary; the digest shows it and update uploads it again.
    aws.s3
        .put_object()
        .bucket(&bucket.name)
        .key(&scraper.name)
        .body(ByteStream::from_static(b"tampered"))
        .send()
        .await
        .expect("overwrite");
    revert(&cx, scraper, &["sha256"]).await;

    // A file that changed since the plan is refused, not uploaded.
    let mut changed = t.files.clone();
    changed.insert("scraper/stk-scraper".to_string(), b"rebuilt".to_vec());
    let stale = Cx {
        files: &changed,
        ..t.cx()
    };
    let err = Box::pin(stk_aws::kinds::create(&stale, scraper))
        .await
        .expect_err("a file other than the planned one");
    assert!(err.to_string().contains("changed since the plan"), "{err}");

    // Strays: a file under the pipeline's prefix the graph no longer has.
    aws.s3
        .put_object()
        .bucket(&bucket.name)
        .key(format!("{pipeline}/scraper/old-binary"))
        .body(ByteStream::from_static(b"old"))
        .send()
        .await
        .expect("old artifact");
    let found = strays(&cx, Kind::S3Object).await;
    let names: Vec<String> = found.iter().map(|(id, _)| id.to_string()).collect();
    assert!(
        names.contains(&"s3_object.scraper/old-binary".to_string()),
        "{names:?}"
    );
    // Anything outside the prefix is the user's, and counts as data.
    aws.s3
        .put_object()
        .bucket(&bucket.name)
        .key("notes/readme.txt")
        .body(ByteStream::from_static(b"mine"))
        .send()
        .await
        .expect("a user's object");
    assert_eq!(existing(&cx, bucket).await.holds_data, Some(true));

    // (strays lists every object of the pipeline; the reader drops those the graph has.)
    for (id, live) in found.iter().filter(|(id, _)| t.graph.get(id).is_none()) {
        delete(&cx, id, live).await;
    }
    for o in &objects {
        let live = existing(&cx, o).await;
        delete_checked(&cx, o, &live).await;
    }
    aws.s3
        .delete_object()
        .bucket(&bucket.name)
        .key("notes/readme.txt")
        .send()
        .await
        .expect("delete the user's object");
    assert_eq!(existing(&cx, bucket).await.holds_data, Some(false));
}
