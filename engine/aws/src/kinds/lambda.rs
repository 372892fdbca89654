//! Lambda: the pipeline's functions (configuration, inline code compared by `CodeSha256`,
//! tags), transform's Kinesis event source mapping (found by listing the function's
//! mappings; its UUID is the `physical_id`), and the resource-policy statements that let S3
//! invoke compact and notify (found by `Sid` in GetPolicy). Mappings and permissions carry
//! no tags: they belong to the pipeline when their function does. Every create and update of
//! a function waits until Lambda reports it `Active` and its last update `Successful`,
//! since Lambda refuses the next change while one is in progress.

use super::Cx;
use super::support::{self, TagChanges, changes, int, invalid, live_str, logical, uint};
use crate::error::{AwsError, not_found, removed, sdk};
use aws_sdk_lambda::types::{
    Architecture, DestinationConfig, Environment, EventSourceMappingConfiguration,
    EventSourcePosition, FunctionCode, FunctionConfiguration, FunctionResponseType,
    LastUpdateStatus, LogFormat, LoggingConfig, OnFailure, Runtime, State,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use stk_deploy::graph::artifacts;
use stk_deploy::resource::{EventSourceMappingSpec, FunctionSpec, PermissionSpec};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

/// Lambda's error code for a function, mapping or policy that does not exist.
const NOT_FOUND: &[&str] = &["ResourceNotFoundException"];

// ------------------------------------------------------------------ functions

fn function_spec(r: &Resource) -> Result<&FunctionSpec, AwsError> {
    match &r.spec {
        Spec::LambdaFunction(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not a Lambda function")),
    }
}

/// GetFunction's configuration and tags; `None` when the function does not exist.
async fn get_function(
    cx: &Cx<'_>,
    name: &str,
) -> Result<Option<(FunctionConfiguration, Tags)>, AwsError> {
    let out = match cx
        .aws
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(sdk("GetFunction", name, e)),
    };
    let Some(conf) = out.configuration().cloned() else {
        return Err(invalid(name, "GetFunction returned no configuration"));
    };
    Ok(Some((conf, support::tags_of_map(out.tags()))))
}

/// The configuration in the spec's shape. Without a `LoggingConfig` (moto sends none) the
/// function logs to Lambda's default group, `/aws/lambda/<name>`.
fn function_spec_from(name: &str, conf: &FunctionConfiguration) -> FunctionSpec {
    let environment: BTreeMap<String, String> = conf
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    FunctionSpec {
        runtime: conf.runtime().map_or("", |r| r.as_str()).to_string(),
        handler: conf.handler().unwrap_or_default().to_string(),
        architecture: conf
            .architectures()
            .first()
            .map_or("x86_64", |a| a.as_str())
            .to_string(),
        memory_mb: uint(conf.memory_size()),
        timeout_s: uint(conf.timeout()),
        role_arn: conf.role().unwrap_or_default().to_string(),
        code_sha256: conf.code_sha256().unwrap_or_default().to_string(),
        environment,
        log_group: conf
            .logging_config()
            .and_then(|l| l.log_group())
            .map_or_else(|| format!("/aws/lambda/{name}"), str::to_string),
    }
}

async fn function_live(cx: &Cx<'_>, name: &str) -> Result<Option<LiveResource>, AwsError> {
    let Some((conf, tags)) = get_function(cx, name).await? else {
        return Ok(None);
    };
    let owner = support::owner(cx, &tags);
    let spec = Spec::LambdaFunction(function_spec_from(name, &conf));
    Ok(Some(support::live(name, spec, tags, owner)))
}

pub async fn read_function(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    function_live(cx, &r.name).await
}

/// Who owns what hangs off function `name` (its mappings, its permissions).
async fn owner_by_function(cx: &Cx<'_>, name: &str) -> Result<Owner, AwsError> {
    Ok(function_live(cx, name)
        .await?
        .map_or(Owner::Unmanaged, |l| l.owner))
}

/// This pipeline's functions: name prefix `stk-<pipeline>-`, then their tags.
async fn our_functions(cx: &Cx<'_>) -> Result<Vec<(String, LiveResource)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let all: Vec<FunctionConfiguration> = cx
        .aws
        .lambda
        .list_functions()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| sdk("ListFunctions", "the account", e))?;
    let mut ours = Vec::new();
    for name in all.iter().filter_map(|f| f.function_name()) {
        if !name.starts_with(prefix.as_str()) {
            continue;
        }
        if let Some(live) = function_live(cx, name).await?
            && live.owner == Owner::Pipeline
        {
            ours.push((name.to_string(), live));
        }
    }
    Ok(ours)
}

pub async fn stray_functions(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    Ok(our_functions(cx)
        .await?
        .into_iter()
        .map(|(name, live)| {
            (
                ResourceId::new(Kind::LambdaFunction, logical(cx, &name)),
                live,
            )
        })
        .collect())
}

fn environment(spec: &FunctionSpec) -> Environment {
    let vars: HashMap<String, String> = spec.environment.clone().into_iter().collect();
    Environment::builder().set_variables(Some(vars)).build()
}

fn logging(spec: &FunctionSpec) -> LoggingConfig {
    LoggingConfig::builder()
        .log_format(LogFormat::Text)
        .log_group(&spec.log_group)
        .build()
}

/// Where `apply` uploaded the Lambda package (the graph's `s3_object.lambda/bootstrap.zip`,
/// which the function depends on): its bucket and key.
fn package<'g>(cx: &Cx<'g>, r: &Resource) -> Result<(&'g str, &'g str), AwsError> {
    let id = ResourceId::new(Kind::S3Object, artifacts::LAMBDA_PACKAGE);
    match cx.graph.get(&id).map(|o| (&o.spec, o.name.as_str())) {
        Some((Spec::S3Object(o), key)) => Ok((o.bucket.as_str(), key)),
        _ => Err(invalid(
            &r.name,
            format!("the graph has no {id} to deploy the function's code from"),
        )),
    }
}

pub async fn create_function(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = function_spec(r)?;
    let (bucket, key) = package(cx, r)?;
    let code = FunctionCode::builder()
        .s3_bucket(bucket)
        .s3_key(key)
        .build();
    let tags: HashMap<String, String> = r.tags.clone().into_iter().collect();
    cx.aws
        .lambda
        .create_function()
        .function_name(&r.name)
        .runtime(Runtime::from(spec.runtime.as_str()))
        .handler(&spec.handler)
        .architectures(Architecture::from(spec.architecture.as_str()))
        .memory_size(int(spec.memory_mb))
        .timeout(int(spec.timeout_s))
        .role(&spec.role_arn)
        .code(code)
        .environment(environment(spec))
        .logging_config(logging(spec))
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .map_err(|e| sdk("CreateFunction", &r.name, e))?;
    wait_updated(cx, &r.name).await
}

/// Waits until no create or update of the function is in progress; its configuration then.
async fn wait_settled(cx: &Cx<'_>, name: &str) -> Result<FunctionConfiguration, AwsError> {
    support::wait_for(name, "Active", support::WAIT, || async move {
        let Some((conf, _)) = get_function(cx, name).await? else {
            return Err(invalid(name, "the function does not exist"));
        };
        let busy = conf.state() == Some(&State::Pending)
            || conf.last_update_status() == Some(&LastUpdateStatus::InProgress);
        Ok((!busy).then_some(conf))
    })
    .await
}

/// After a create or update: waits, then fails if Lambda reports the change failed.
async fn wait_updated(cx: &Cx<'_>, name: &str) -> Result<(), AwsError> {
    let conf = wait_settled(cx, name).await?;
    if conf.state() == Some(&State::Failed) {
        let reason = conf.state_reason().unwrap_or("no reason given");
        return Err(invalid(name, format!("the function failed: {reason}")));
    }
    if conf.last_update_status() == Some(&LastUpdateStatus::Failed) {
        let reason = conf
            .last_update_status_reason()
            .unwrap_or("no reason given");
        return Err(invalid(name, format!("the update failed: {reason}")));
    }
    Ok(())
}

/// The attributes UpdateFunctionConfiguration sets.
const CONFIGURATION: &[&str] = &[
    "runtime",
    "handler",
    "memory_mb",
    "timeout_s",
    "role_arn",
    "environment",
    "log_group",
];

/// Configuration and code are separate calls, each followed by a wait; then the tags.
pub async fn update_function(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    change: &ResourceChange,
) -> Result<(), AwsError> {
    let spec = function_spec(r)?;
    let lambda = &cx.aws.lambda;
    wait_settled(cx, &r.name).await?;
    if CONFIGURATION.iter().any(|a| changes(change, a)) {
        lambda
            .update_function_configuration()
            .function_name(&r.name)
            .runtime(Runtime::from(spec.runtime.as_str()))
            .handler(&spec.handler)
            .memory_size(int(spec.memory_mb))
            .timeout(int(spec.timeout_s))
            .role(&spec.role_arn)
            .environment(environment(spec))
            .logging_config(logging(spec))
            .send()
            .await
            .map_err(|e| sdk("UpdateFunctionConfiguration", &r.name, e))?;
        wait_updated(cx, &r.name).await?;
    }
    if changes(change, "code_sha256") || changes(change, "architecture") {
        let (bucket, key) = package(cx, r)?;
        lambda
            .update_function_code()
            .function_name(&r.name)
            .s3_bucket(bucket)
            .s3_key(key)
            .architectures(Architecture::from(spec.architecture.as_str()))
            .send()
            .await
            .map_err(|e| sdk("UpdateFunctionCode", &r.name, e))?;
        wait_updated(cx, &r.name).await?;
    }
    update_function_tags(cx, r, live).await
}

async fn update_function_tags(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
) -> Result<(), AwsError> {
    let arn = r
        .arn
        .clone()
        .unwrap_or_else(|| cx.graph.names.function_arn(&r.name));
    let tag = async |set: Tags| {
        cx.aws
            .lambda
            .tag_resource()
            .resource(&arn)
            .set_tags(Some(set.into_iter().collect()))
            .send()
            .await
            .map_err(|e| sdk("TagResource", &r.name, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        cx.aws
            .lambda
            .untag_resource()
            .resource(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagResource", &r.name, e))?;
        Ok(())
    };
    TagChanges::between(&live.tags, &r.tags)
        .apply(tag, untag)
        .await
}

pub async fn delete_function(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = support::live_name(live)?;
    removed(
        cx.aws
            .lambda
            .delete_function()
            .function_name(name)
            .send()
            .await,
        NOT_FOUND,
        "DeleteFunction",
        name,
    )
}

// ------------------------------------------------------------------ event source mappings

fn mapping_spec(r: &Resource) -> Result<&EventSourceMappingSpec, AwsError> {
    match &r.spec {
        Spec::LambdaEventSourceMapping(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not an event source mapping")),
    }
}

/// The function's mappings, those being deleted left out (none when it does not exist).
/// By the function's name: moto finds none by its ARN.
async fn mappings_of(
    cx: &Cx<'_>,
    function: &str,
) -> Result<Vec<EventSourceMappingConfiguration>, AwsError> {
    let found: Result<Vec<EventSourceMappingConfiguration>, _> = cx
        .aws
        .lambda
        .list_event_source_mappings()
        .function_name(function)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await;
    match found {
        Ok(m) => Ok(m
            .into_iter()
            .filter(|m| m.state() != Some("Deleting"))
            .collect()),
        Err(e) if not_found(&e, NOT_FOUND) => Ok(Vec::new()),
        Err(e) => Err(sdk("ListEventSourceMappings", function, e)),
    }
}

/// `Enabled`, or on its way there (`Enabling`, `Updating`).
fn is_enabled(state: Option<&str>) -> bool {
    matches!(state, Some("Enabled" | "Enabling" | "Updating"))
}

fn mapping_live(owner: Owner, function: &str, m: &EventSourceMappingConfiguration) -> LiveResource {
    let mut types: Vec<String> = m
        .function_response_types()
        .iter()
        .map(|t| t.as_str().to_string())
        .collect();
    types.sort();
    let on_failure = m
        .destination_config()
        .and_then(|d| d.on_failure())
        .and_then(|o| o.destination())
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    let spec = EventSourceMappingSpec {
        event_source_arn: m.event_source_arn().unwrap_or_default().to_string(),
        starting_position: m.starting_position().map_or("", |p| p.as_str()).to_string(),
        batch_size: uint(m.batch_size()),
        maximum_batching_window_s: uint(m.maximum_batching_window_in_seconds()),
        bisect_batch_on_function_error: m.bisect_batch_on_function_error().unwrap_or(false),
        function_response_types: types,
        maximum_retry_attempts: m.maximum_retry_attempts().unwrap_or(-1),
        maximum_record_age_s: m.maximum_record_age_in_seconds().unwrap_or(-1),
        on_failure_destination: on_failure,
        enabled: is_enabled(m.state()),
    };
    let mut live = support::live(
        function,
        Spec::LambdaEventSourceMapping(spec),
        Tags::new(),
        owner,
    );
    live.physical_id = m.uuid().map(str::to_string);
    live
}

/// The function's mapping of the desired stream; otherwise its one Kinesis mapping of
/// another stream (a renamed stream: the plan then replaces the mapping).
pub async fn read_mapping(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let spec = mapping_spec(r)?;
    let mappings = mappings_of(cx, &r.name).await?;
    let source = |m: &&EventSourceMappingConfiguration| {
        m.event_source_arn() == Some(spec.event_source_arn.as_str())
    };
    let kinesis = |m: &&EventSourceMappingConfiguration| {
        m.event_source_arn()
            .is_some_and(|a| a.contains(":kinesis:"))
    };
    let Some(m) = mappings
        .iter()
        .find(source)
        .or_else(|| mappings.iter().find(kinesis))
    else {
        return Ok(None);
    };
    let owner = owner_by_function(cx, &r.name).await?;
    Ok(Some(mapping_live(owner, &r.name, m)))
}

pub async fn stray_mappings(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for (function, _) in our_functions(cx).await? {
        for m in mappings_of(cx, &function).await? {
            let id = ResourceId::new(Kind::LambdaEventSourceMapping, logical(cx, &function));
            found.push((id, mapping_live(Owner::Pipeline, &function, &m)));
        }
    }
    Ok(found)
}

fn destination(spec: &EventSourceMappingSpec) -> DestinationConfig {
    let on_failure = OnFailure::builder()
        .set_destination(spec.on_failure_destination.clone())
        .build();
    DestinationConfig::builder().on_failure(on_failure).build()
}

fn response_types(spec: &EventSourceMappingSpec) -> Vec<FunctionResponseType> {
    spec.function_response_types
        .iter()
        .map(|t| FunctionResponseType::from(t.as_str()))
        .collect()
}

pub async fn create_mapping(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = mapping_spec(r)?;
    let out = cx
        .aws
        .lambda
        .create_event_source_mapping()
        .function_name(&r.name)
        .event_source_arn(&spec.event_source_arn)
        .starting_position(EventSourcePosition::from(spec.starting_position.as_str()))
        .batch_size(int(spec.batch_size))
        .maximum_batching_window_in_seconds(int(spec.maximum_batching_window_s))
        .bisect_batch_on_function_error(spec.bisect_batch_on_function_error)
        .set_function_response_types(Some(response_types(spec)))
        .maximum_retry_attempts(spec.maximum_retry_attempts)
        .maximum_record_age_in_seconds(spec.maximum_record_age_s)
        .destination_config(destination(spec))
        .enabled(spec.enabled)
        .send()
        .await
        .map_err(|e| sdk("CreateEventSourceMapping", &r.name, e))?;
    let uuid = out
        .uuid()
        .ok_or_else(|| invalid(&r.name, "CreateEventSourceMapping returned no UUID"))?;
    wait_mapping(cx, uuid).await
}

/// The mapping's `State`; `None` once it is gone.
async fn mapping_state(cx: &Cx<'_>, uuid: &str) -> Result<Option<String>, AwsError> {
    match cx
        .aws
        .lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.state().unwrap_or_default().to_string())),
        Err(e) if not_found(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(sdk("GetEventSourceMapping", uuid, e)),
    }
}

/// Waits until the mapping is `Enabled` or `Disabled` (no transition in progress).
async fn wait_mapping(cx: &Cx<'_>, uuid: &str) -> Result<(), AwsError> {
    support::wait_for(uuid, "Enabled or Disabled", support::WAIT, || async move {
        match mapping_state(cx, uuid).await? {
            Some(s) => Ok((s == "Enabled" || s == "Disabled").then_some(())),
            None => Err(invalid(uuid, "the event source mapping disappeared")),
        }
    })
    .await
}

fn mapping_uuid(live: &LiveResource) -> Result<&str, AwsError> {
    live.physical_id
        .as_deref()
        .ok_or_else(|| invalid("an event source mapping", "the live mapping has no UUID"))
}

/// Everything but the function, the source and the starting position (those replace it).
pub async fn update_mapping(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    let spec = mapping_spec(r)?;
    let uuid = mapping_uuid(live)?;
    wait_mapping(cx, uuid).await?;
    cx.aws
        .lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .function_name(&r.name)
        .batch_size(int(spec.batch_size))
        .maximum_batching_window_in_seconds(int(spec.maximum_batching_window_s))
        .bisect_batch_on_function_error(spec.bisect_batch_on_function_error)
        .set_function_response_types(Some(response_types(spec)))
        .maximum_retry_attempts(spec.maximum_retry_attempts)
        .maximum_record_age_in_seconds(spec.maximum_record_age_s)
        .destination_config(destination(spec))
        .enabled(spec.enabled)
        .send()
        .await
        .map_err(|e| sdk("UpdateEventSourceMapping", &r.name, e))?;
    wait_mapping(cx, uuid).await
}

/// Deletes the mapping and waits until it is gone (a replacement for the same function and
/// stream is refused while the old one exists).
pub async fn delete_mapping(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let uuid = mapping_uuid(live)?;
    match cx
        .aws
        .lambda
        .delete_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
    {
        Ok(_) => {}
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(sdk("DeleteEventSourceMapping", uuid, e)),
    }
    support::wait_gone(uuid, support::WAIT, || mapping_state(cx, uuid)).await
}

// ------------------------------------------------------------------ permissions

fn permission_spec(r: &Resource) -> Result<&PermissionSpec, AwsError> {
    match &r.spec {
        Spec::LambdaPermission(s) => Ok(s),
        _ => Err(invalid(&r.id.to_string(), "not a Lambda permission")),
    }
}

/// The statements of the function's resource policy (none without a function or policy).
async fn statements(cx: &Cx<'_>, function: &str) -> Result<Vec<Value>, AwsError> {
    let out = match cx
        .aws
        .lambda
        .get_policy()
        .function_name(function)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if not_found(&e, NOT_FOUND) => return Ok(Vec::new()),
        Err(e) => return Err(sdk("GetPolicy", function, e)),
    };
    let Some(text) = out.policy() else {
        return Ok(Vec::new());
    };
    let policy: Value = serde_json::from_str(text)
        .map_err(|e| invalid(function, format!("its resource policy is not JSON: {e}")))?;
    Ok(match policy.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    })
}

/// A string, or the first string of a list.
fn first_str(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => first_str(items.first()),
        _ => String::new(),
    }
}

/// The value of condition key `key` (case-insensitive, as IAM treats keys) under any operator.
fn condition(stmt: &Value, key: &str) -> String {
    let Some(Value::Object(ops)) = stmt.get("Condition") else {
        return String::new();
    };
    ops.values()
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.iter())
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| first_str(Some(v)))
        .unwrap_or_default()
}

fn permission_live(function: &str, sid: &str, stmt: &Value, owner: Owner) -> LiveResource {
    let principal = match stmt.get("Principal") {
        Some(Value::Object(p)) => first_str(p.get("Service").or_else(|| p.values().next())),
        other => first_str(other),
    };
    let spec = PermissionSpec {
        function_name: function.to_string(),
        action: first_str(stmt.get("Action")),
        principal,
        source_arn: condition(stmt, "aws:SourceArn"),
        source_account: condition(stmt, "aws:SourceAccount"),
    };
    support::live(sid, Spec::LambdaPermission(spec), Tags::new(), owner)
}

fn sid(stmt: &Value) -> Option<&str> {
    stmt.get("Sid").and_then(Value::as_str)
}

pub async fn read_permission(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let function = &permission_spec(r)?.function_name;
    let all = statements(cx, function).await?;
    let Some(stmt) = all.iter().find(|s| sid(s) == Some(r.name.as_str())) else {
        return Ok(None);
    };
    let owner = owner_by_function(cx, function).await?;
    Ok(Some(permission_live(function, &r.name, stmt, owner)))
}

pub async fn stray_permissions(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    for (function, _) in our_functions(cx).await? {
        for stmt in statements(cx, &function).await? {
            if let Some(sid) = sid(&stmt) {
                let id = ResourceId::new(Kind::LambdaPermission, logical(cx, &function));
                found.push((id, permission_live(&function, sid, &stmt, Owner::Pipeline)));
            }
        }
    }
    Ok(found)
}

async fn remove_statement(cx: &Cx<'_>, function: &str, sid: &str) -> Result<(), AwsError> {
    removed(
        cx.aws
            .lambda
            .remove_permission()
            .function_name(function)
            .statement_id(sid)
            .send()
            .await,
        NOT_FOUND,
        "RemovePermission",
        format!("{function}/{sid}"),
    )
}

/// Adds the statement, first removing one with the same `Sid` (a statement cannot be
/// edited, and AWS refuses a second one with the same id): create and update alike.
pub async fn add_permission(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let spec = permission_spec(r)?;
    let existing = statements(cx, &spec.function_name).await?;
    if existing.iter().any(|s| sid(s) == Some(r.name.as_str())) {
        remove_statement(cx, &spec.function_name, &r.name).await?;
    }
    cx.aws
        .lambda
        .add_permission()
        .function_name(&spec.function_name)
        .statement_id(&r.name)
        .action(&spec.action)
        .principal(&spec.principal)
        .source_arn(&spec.source_arn)
        .source_account(&spec.source_account)
        .send()
        .await
        .map_err(|e| {
            sdk(
                "AddPermission",
                format!("{}/{}", spec.function_name, r.name),
                e,
            )
        })?;
    Ok(())
}

pub async fn remove_permission(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    remove_statement(
        cx,
        live_str(live, "function_name")?,
        support::live_name(live)?,
    )
    .await
}
