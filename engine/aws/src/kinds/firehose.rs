//! Firehose: the delivery stream that reads the pipeline's Kinesis stream and writes raw
//! JSON into the raw bucket. Read as the Kinesis source and the one extended S3 destination,
//! its processors (record de-aggregation, the JQ metadata extraction of dynamic partitioning,
//! the newline delimiter) folded into the spec's flags; created with all of them, waited for
//! until `ACTIVE`; the destination updated in place with UpdateDestination.

use super::Cx;
use super::support::{self, TagChanges, changes, int, invalid, logical, uint};
use crate::error::{AwsError, not_found, sdk};
use aws_sdk_firehose::types::{
    BufferingHints, CompressionFormat, DeliveryStreamDescription, DeliveryStreamStatus,
    DeliveryStreamType, DynamicPartitioningConfiguration, ExtendedS3DestinationConfiguration,
    ExtendedS3DestinationDescription, ExtendedS3DestinationUpdate,
    KinesisStreamSourceConfiguration, ProcessingConfiguration, Processor, ProcessorParameter,
    ProcessorParameterName, ProcessorType, Tag,
};
use stk_deploy::resource::{DeliveryStreamSpec, FirehoseCompression};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

// Processor types and parameters stkc uses.
const DEAGGREGATION: &str = "RecordDeAggregation";
const SUB_RECORD_TYPE: &str = "SubRecordType";
const METADATA_EXTRACTION: &str = "MetadataExtraction";
const QUERY: &str = "MetadataExtractionQuery";
const ENGINE: &str = "JsonParsingEngine";
const JQ: &str = "JQ-1.6";
const APPEND_DELIMITER: &str = "AppendDelimiterToRecord";
const DELIMITER: &str = "Delimiter";
/// Firehose's escaped newline (the two characters `\n`).
const NEWLINE: &str = "\\n";

/// The attributes UpdateDestination changes (the source and its role replace the stream).
const DESTINATION: &[&str] = &[
    "bucket_arn",
    "prefix",
    "error_output_prefix",
    "buffer_interval_s",
    "buffer_size_mib",
    "compression",
    "dynamic_partitioning",
    "partition_query",
    "deaggregate_json",
    "newline_delimiter",
];

fn spec_of(r: &Resource) -> Result<&DeliveryStreamSpec, AwsError> {
    match &r.spec {
        Spec::FirehoseDeliveryStream(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not a Firehose delivery stream")),
    }
}

// ------------------------------------------------------------------ read

/// DescribeDeliveryStream; `None` when it does not exist.
async fn describe(cx: &Cx<'_>, name: &str) -> Result<Option<DeliveryStreamDescription>, AwsError> {
    match cx
        .aws
        .firehose
        .describe_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.delivery_stream_description().cloned()),
        Err(e) if not_found(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(sdk("DescribeDeliveryStream", name, e)),
    }
}

/// Every tag, page by page.
async fn tags(cx: &Cx<'_>, name: &str) -> Result<Tags, AwsError> {
    support::tags_by_start_key(async |start| {
        let out = cx
            .aws
            .firehose
            .list_tags_for_delivery_stream()
            .delivery_stream_name(name)
            .set_exclusive_start_tag_key(start)
            .send()
            .await
            .map_err(|e| sdk("ListTagsForDeliveryStream", name, e))?;
        let tags = out.tags().iter().map(|t| {
            (
                t.key().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        });
        Ok((tags.collect(), out.has_more_tags()))
    })
    .await
}

/// The processor of `kind` in the destination, when processing is enabled.
fn processor<'a>(d: &'a ExtendedS3DestinationDescription, kind: &str) -> Option<&'a Processor> {
    let p = d.processing_configuration()?;
    if p.enabled() != Some(true) {
        return None;
    }
    p.processors().iter().find(|p| p.r#type().as_str() == kind)
}

fn parameter<'a>(p: &'a Processor, name: &str) -> Option<&'a str> {
    p.parameters()
        .iter()
        .find(|x| x.parameter_name().as_str() == name)
        .map(|x| x.parameter_value())
}

fn compression_of(
    d: &ExtendedS3DestinationDescription,
    name: &str,
) -> Result<FirehoseCompression, AwsError> {
    match d.compression_format().as_str() {
        "UNCOMPRESSED" => Ok(FirehoseCompression::Uncompressed),
        "GZIP" => Ok(FirehoseCompression::Gzip),
        other => Err(invalid(
            name,
            format!("compression {other}, which stkc never sets"),
        )),
    }
}

/// The description in the spec's shape.
fn spec_from(name: &str, desc: &DeliveryStreamDescription) -> Result<DeliveryStreamSpec, AwsError> {
    let source = desc
        .source()
        .and_then(|s| s.kinesis_stream_source_description());
    let [dest] = desc.destinations() else {
        return Err(invalid(
            name,
            "it has more or fewer destinations than the one stkc makes",
        ));
    };
    let Some(d) = dest.extended_s3_destination_description() else {
        return Err(invalid(
            name,
            "its destination is not an extended S3 destination",
        ));
    };
    let hints = d.buffering_hints();
    let deaggregate =
        processor(d, DEAGGREGATION).is_some_and(|p| parameter(p, SUB_RECORD_TYPE) == Some("JSON"));
    Ok(DeliveryStreamSpec {
        source_stream_arn: source
            .and_then(|s| s.kinesis_stream_arn())
            .unwrap_or_default()
            .to_string(),
        role_arn: source
            .and_then(|s| s.role_arn())
            .unwrap_or(d.role_arn())
            .to_string(),
        bucket_arn: d.bucket_arn().to_string(),
        prefix: d.prefix().unwrap_or_default().to_string(),
        error_output_prefix: d.error_output_prefix().unwrap_or_default().to_string(),
        buffer_interval_s: uint(hints.and_then(|h| h.interval_in_seconds())),
        buffer_size_mib: uint(hints.and_then(|h| h.size_in_mbs())),
        compression: compression_of(d, name)?,
        dynamic_partitioning: d
            .dynamic_partitioning_configuration()
            .and_then(|c| c.enabled())
            .unwrap_or(false),
        partition_query: processor(d, METADATA_EXTRACTION)
            .and_then(|p| parameter(p, QUERY))
            .map(str::to_string),
        deaggregate_json: deaggregate,
        newline_delimiter: processor(d, APPEND_DELIMITER).is_some(),
    })
}

async fn live(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    let Some(desc) = describe(cx, name).await? else {
        return Ok(None);
    };
    let spec = spec_from(name, &desc)?;
    let tags = tags(cx, name).await?;
    let owner = support::owner(cx, &tags);
    Ok(Some(support::live(
        name,
        Spec::FirehoseDeliveryStream(spec),
        tags,
        owner,
    )))
}

pub async fn read(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    live(cx, &r.name).await
}

/// Every delivery stream name, page by page.
async fn names(cx: &Cx<'_>) -> Result<Vec<String>, AwsError> {
    let mut all: Vec<String> = Vec::new();
    loop {
        let out = cx
            .aws
            .firehose
            .list_delivery_streams()
            .set_exclusive_start_delivery_stream_name(all.last().cloned())
            .send()
            .await
            .map_err(|e| sdk("ListDeliveryStreams", "the account", e))?;
        all.extend(out.delivery_stream_names().iter().cloned());
        if !out.has_more_delivery_streams() || out.delivery_stream_names().is_empty() {
            return Ok(all);
        }
    }
}

/// The delivery streams named `stk-<pipeline>-...` and tagged as this pipeline's.
pub async fn strays(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let mut found = Vec::new();
    for name in names(cx).await? {
        if !name.starts_with(prefix.as_str()) {
            continue;
        }
        if let Some(l) = live(cx, &name).await?
            && l.owner == Owner::Pipeline
        {
            let id = ResourceId::new(Kind::FirehoseDeliveryStream, logical(cx, &name));
            found.push((id, l));
        }
    }
    Ok(found)
}

// ------------------------------------------------------------------ create / update

fn param(resource: &str, name: &str, value: &str) -> Result<ProcessorParameter, AwsError> {
    let p = ProcessorParameter::builder()
        .parameter_name(ProcessorParameterName::from(name))
        .parameter_value(value);
    support::built(resource, p.build())
}

fn proc(
    resource: &str,
    kind: &str,
    params: Vec<ProcessorParameter>,
) -> Result<Processor, AwsError> {
    let p = Processor::builder()
        .r#type(ProcessorType::from(kind))
        .set_parameters(Some(params));
    support::built(resource, p.build())
}

/// The processors the flags stand for, in the order Firehose runs them: split packed
/// records, extract the partition keys, append the newline. Disabled when there are none.
fn processing(name: &str, spec: &DeliveryStreamSpec) -> Result<ProcessingConfiguration, AwsError> {
    let mut list = Vec::new();
    if spec.deaggregate_json {
        list.push(proc(
            name,
            DEAGGREGATION,
            vec![param(name, SUB_RECORD_TYPE, "JSON")?],
        )?);
    }
    if let Some(q) = &spec.partition_query {
        let params = vec![param(name, QUERY, q)?, param(name, ENGINE, JQ)?];
        list.push(proc(name, METADATA_EXTRACTION, params)?);
    }
    if spec.newline_delimiter {
        list.push(proc(
            name,
            APPEND_DELIMITER,
            vec![param(name, DELIMITER, NEWLINE)?],
        )?);
    }
    Ok(ProcessingConfiguration::builder()
        .enabled(!list.is_empty())
        .set_processors(Some(list))
        .build())
}

fn hints(spec: &DeliveryStreamSpec) -> BufferingHints {
    BufferingHints::builder()
        .interval_in_seconds(int(spec.buffer_interval_s))
        .size_in_mbs(int(spec.buffer_size_mib))
        .build()
}

fn compression(spec: &DeliveryStreamSpec) -> CompressionFormat {
    match spec.compression {
        FirehoseCompression::Uncompressed => CompressionFormat::Uncompressed,
        FirehoseCompression::Gzip => CompressionFormat::Gzip,
    }
}

fn partitioning(spec: &DeliveryStreamSpec) -> DynamicPartitioningConfiguration {
    DynamicPartitioningConfiguration::builder()
        .enabled(spec.dynamic_partitioning)
        .build()
}

fn firehose_tags(name: &str, tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    support::built_tags(name, tags, |k, v| Tag::builder().key(k).value(v).build())
}

pub async fn create(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = spec_of(r)?;
    let name = r.name.as_str();
    let source = KinesisStreamSourceConfiguration::builder()
        .kinesis_stream_arn(&spec.source_stream_arn)
        .role_arn(&spec.role_arn)
        .build();
    let source = support::built(name, source)?;
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn(&spec.role_arn)
        .bucket_arn(&spec.bucket_arn)
        .prefix(&spec.prefix)
        .error_output_prefix(&spec.error_output_prefix)
        .buffering_hints(hints(spec))
        .compression_format(compression(spec))
        .dynamic_partitioning_configuration(partitioning(spec))
        .processing_configuration(processing(name, spec)?)
        .build();
    let destination = support::built(name, destination)?;
    cx.aws
        .firehose
        .create_delivery_stream()
        .delivery_stream_name(name)
        .delivery_stream_type(DeliveryStreamType::KinesisStreamAsSource)
        .kinesis_stream_source_configuration(source)
        .extended_s3_destination_configuration(destination)
        .set_tags(
            (!r.tags.is_empty())
                .then(|| firehose_tags(name, &r.tags))
                .transpose()?,
        )
        .send()
        .await
        .map_err(|e| sdk("CreateDeliveryStream", name, e))?;
    wait_active(cx, name).await.map(|_| ())
}

/// Waits until the stream is `ACTIVE` (a failed creation is an error); its description then.
async fn wait_active(cx: &Cx<'_>, name: &str) -> Result<DeliveryStreamDescription, AwsError> {
    support::wait_for(name, "ACTIVE", support::WAIT, || async move {
        let Some(desc) = describe(cx, name).await? else {
            return Err(invalid(name, "the delivery stream does not exist"));
        };
        match desc.delivery_stream_status() {
            DeliveryStreamStatus::Active => Ok(Some(desc)),
            DeliveryStreamStatus::CreatingFailed => {
                let why = desc
                    .failure_description()
                    .map_or("no reason given", |f| f.details());
                Err(invalid(name, format!("creating it failed: {why}")))
            }
            _ => Ok(None),
        }
    })
    .await
}

/// The destination in place (UpdateDestination, with the current version and destination
/// ids), then the tags.
pub async fn update(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    change: &ResourceChange,
) -> Result<(), AwsError> {
    let spec = spec_of(r)?;
    let name = r.name.as_str();
    if DESTINATION.iter().any(|a| changes(change, a)) {
        let desc = wait_active(cx, name).await?;
        let Some(dest) = desc.destinations().first() else {
            return Err(invalid(name, "it has no destination"));
        };
        let update = ExtendedS3DestinationUpdate::builder()
            .role_arn(&spec.role_arn)
            .bucket_arn(&spec.bucket_arn)
            .prefix(&spec.prefix)
            .error_output_prefix(&spec.error_output_prefix)
            .buffering_hints(hints(spec))
            .compression_format(compression(spec))
            .dynamic_partitioning_configuration(partitioning(spec))
            .processing_configuration(processing(name, spec)?)
            .build();
        cx.aws
            .firehose
            .update_destination()
            .delivery_stream_name(name)
            .current_delivery_stream_version_id(desc.version_id())
            .destination_id(dest.destination_id())
            .extended_s3_destination_update(update)
            .send()
            .await
            .map_err(|e| sdk("UpdateDestination", name, e))?;
        wait_active(cx, name).await?;
    }
    update_tags(cx, name, &r.tags, &live.tags).await
}

async fn update_tags(cx: &Cx<'_>, name: &str, desired: &Tags, live: &Tags) -> Result<(), AwsError> {
    let tag = async |set: Tags| {
        cx.aws
            .firehose
            .tag_delivery_stream()
            .delivery_stream_name(name)
            .set_tags(Some(firehose_tags(name, &set)?))
            .send()
            .await
            .map_err(|e| sdk("TagDeliveryStream", name, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        cx.aws
            .firehose
            .untag_delivery_stream()
            .delivery_stream_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagDeliveryStream", name, e))?;
        Ok(())
    };
    TagChanges::between(live, desired).apply(tag, untag).await
}

/// Deletes the stream and waits until it is gone (a replacement under the same name is
/// refused while it is `DELETING`).
pub async fn delete(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    match cx
        .aws
        .firehose
        .delete_delivery_stream()
        .delivery_stream_name(name)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(sdk("DeleteDeliveryStream", name, e)),
    }
    support::wait_gone(name, support::WAIT, || describe(cx, name)).await
}
