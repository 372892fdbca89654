//! Glue: the catalog database (tagged), the lake's table (untagged: it belongs to the
//! pipeline when its database does) and the crawler (tagged). Reads normalise GetDatabase,
//! GetTable and GetCrawler into the specs' shapes; the crawler has no update (moto answers
//! UpdateCrawler with HTTP 500, and its `KindInfo` replaces it on any change), so "update"
//! converges its tags and otherwise recreates it. Apply never starts the crawler.

use super::Cx;
use super::support::{
    TagChanges, built, invalid, live, live_name, live_str, owner, tags_of_map, wait_for,
};
use crate::error::{AwsError, sdk};
use aws_sdk_glue::types::{
    CatalogTarget, Column as GlueColumn, Crawler, CrawlerState, CrawlerTargets, Database,
    DatabaseInput, DeleteBehavior, SchemaChangePolicy, SerDeInfo, StorageDescriptor, Table,
    TableInput, UpdateBehavior,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use stk_deploy::resource::{Column, CrawlerSpec, DatabaseSpec, TableSpec};
use stk_deploy::{Kind, LiveResource, Owner, Resource, ResourceChange, ResourceId, Spec, Tags};

/// Glue's code for a database, table or crawler that does not exist.
const NOT_FOUND: &[&str] = &["EntityNotFoundException"];
/// The logical name of the pipeline's one database, table and crawler (`graph::catalog`).
const LAKE: &str = "lake";
/// How long a crawler stopped before its deletion may take to become READY.
const CRAWLER_STOP_WAIT: Duration = Duration::from_secs(300);
/// Table parameters stkc sets besides the desired ones: a switch between crawler and
/// projection removes these, so the reader reports them; crawler statistics are left out.
const MANAGED_PARAMETER_PREFIXES: &[&str] =
    &["classification", "projection.", "storage.location.template"];

// --------------------------------------------------------------------------------- helpers

fn wrong_spec(r: &Resource) -> AwsError {
    invalid(
        &r.id.to_string(),
        format!("the spec is not a {} spec", r.id.kind),
    )
}

// ------------------------------------------------------------------------------ tags

async fn glue_tags(cx: &Cx<'_>, arn: &str) -> Result<Tags, AwsError> {
    let out = cx
        .aws
        .glue
        .get_tags()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| sdk("GetTags", arn, e))?;
    Ok(tags_of_map(out.tags()))
}

async fn sync_tags(cx: &Cx<'_>, arn: &str, desired: &Tags, live: &Tags) -> Result<(), AwsError> {
    let tag = async |set: Tags| {
        cx.aws
            .glue
            .tag_resource()
            .resource_arn(arn)
            .set_tags_to_add(Some(set.into_iter().collect()))
            .send()
            .await
            .map_err(|e| sdk("TagResource", arn, e))?;
        Ok(())
    };
    let untag = async |remove: Vec<String>| {
        cx.aws
            .glue
            .untag_resource()
            .resource_arn(arn)
            .set_tags_to_remove(Some(remove))
            .send()
            .await
            .map_err(|e| sdk("UntagResource", arn, e))?;
        Ok(())
    };
    TagChanges::between(live, desired).apply(tag, untag).await
}

fn hash_map(map: &BTreeMap<String, String>) -> HashMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

// -------------------------------------------------------------------------- database

/// GetDatabase + GetTags (by the database's ARN).
pub async fn read_database(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    match get_database(cx, &r.name).await? {
        Some(db) => database_live(cx, &db).await.map(Some),
        None => Ok(None),
    }
}

async fn get_database(cx: &Cx<'_>, name: &str) -> Result<Option<Database>, AwsError> {
    match cx.aws.glue.get_database().name(name).send().await {
        Ok(out) => Ok(out.database().cloned()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(sdk("GetDatabase", name, e)),
    }
}

async fn database_live(cx: &Cx<'_>, db: &Database) -> Result<LiveResource, AwsError> {
    let tags = glue_tags(cx, &cx.graph.names.glue_database_arn(db.name())).await?;
    let spec = Spec::GlueDatabase(DatabaseSpec {
        description: db.description().unwrap_or_default().to_string(),
    });
    let owner = owner(cx, &tags);
    Ok(live(db.name(), spec, tags, owner))
}

/// Every database (GetDatabases) tagged as this pipeline's.
async fn our_databases(cx: &Cx<'_>) -> Result<Vec<(String, LiveResource)>, AwsError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws
            .glue
            .get_databases()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk("GetDatabases", "the Glue catalog", e))?;
        for db in out.database_list() {
            let l = database_live(cx, db).await?;
            if l.owner == Owner::Pipeline {
                found.push((db.name().to_string(), l));
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// The pipeline's databases (by tags), under the logical name `lake`.
pub async fn stray_databases(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    Ok(our_databases(cx)
        .await?
        .into_iter()
        .map(|(_, l)| (ResourceId::new(Kind::GlueDatabase, LAKE), l))
        .collect())
}

fn database_input(r: &Resource) -> Result<DatabaseInput, AwsError> {
    let Spec::GlueDatabase(spec) = &r.spec else {
        return Err(wrong_spec(r));
    };
    let input = DatabaseInput::builder()
        .name(&r.name)
        .description(&spec.description)
        .build();
    built(&r.name, input)
}

/// CreateDatabase with its tags.
pub async fn create_database(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    cx.aws
        .glue
        .create_database()
        .database_input(database_input(r)?)
        .set_tags(Some(hash_map(&r.tags)))
        .send()
        .await
        .map_err(|e| sdk("CreateDatabase", &r.name, e))?;
    Ok(())
}

/// UpdateDatabase (the description) and the tags.
pub async fn update_database(
    cx: &Cx<'_>,
    r: &Resource,
    live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    if live.attributes != r.attributes() {
        cx.aws
            .glue
            .update_database()
            .name(&r.name)
            .database_input(database_input(r)?)
            .send()
            .await
            .map_err(|e| sdk("UpdateDatabase", &r.name, e))?;
    }
    let arn = cx.graph.names.glue_database_arn(&r.name);
    sync_tags(cx, &arn, &r.tags, &live.tags).await
}

/// DeleteDatabase (which deletes its tables too); gone already is fine.
pub async fn delete_database(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = live_name(live)?;
    match cx.aws.glue.delete_database().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => Ok(()),
        Err(e) => Err(sdk("DeleteDatabase", name, e)),
    }
}

// ----------------------------------------------------------------------------- table

/// GetTable; owned when its database is (tables are untagged).
pub async fn read_table(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    let Spec::GlueTable(spec) = &r.spec else {
        return Err(wrong_spec(r));
    };
    let out = match cx
        .aws
        .glue
        .get_table()
        .database_name(&spec.database)
        .name(&r.name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => return Ok(None),
        Err(e) => return Err(sdk("GetTable", format!("{}.{}", spec.database, r.name), e)),
    };
    let Some(table) = out.table() else {
        return Ok(None);
    };
    let db_tags = glue_tags(cx, &cx.graph.names.glue_database_arn(&spec.database)).await?;
    let owner = owner(cx, &db_tags);
    Ok(Some(table_live(
        table,
        &spec.database,
        owner,
        Some(&spec.parameters),
    )))
}

fn columns(cols: &[GlueColumn]) -> Vec<Column> {
    cols.iter()
        .map(|c| Column {
            name: c.name().to_string(),
            ty: c.r#type().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The parameters stkc compares: the desired keys and the keys stkc manages.
fn parameters(
    live: Option<&HashMap<String, String>>,
    desired: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    live.into_iter()
        .flatten()
        .filter(|(k, _)| {
            desired.is_some_and(|d| d.contains_key(*k))
                || MANAGED_PARAMETER_PREFIXES.iter().any(|p| k.starts_with(p))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn table_live(
    t: &Table,
    database: &str,
    owner: Owner,
    desired_parameters: Option<&BTreeMap<String, String>>,
) -> LiveResource {
    let sd = t.storage_descriptor();
    let spec = TableSpec {
        database: t.database_name().unwrap_or(database).to_string(),
        table_type: t.table_type().unwrap_or_default().to_string(),
        location: sd
            .and_then(|s| s.location())
            .unwrap_or_default()
            .to_string(),
        columns: columns(sd.map(|s| s.columns()).unwrap_or_default()),
        partition_keys: columns(t.partition_keys()),
        input_format: sd
            .and_then(|s| s.input_format())
            .unwrap_or_default()
            .to_string(),
        output_format: sd
            .and_then(|s| s.output_format())
            .unwrap_or_default()
            .to_string(),
        serde_library: sd
            .and_then(|s| s.serde_info())
            .and_then(|s| s.serialization_library())
            .unwrap_or_default()
            .to_string(),
        parameters: parameters(t.parameters(), desired_parameters),
    };
    live(t.name(), Spec::GlueTable(spec), Tags::new(), owner)
}

/// Every table of the pipeline's databases, under the logical name `lake`.
pub async fn stray_tables(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let id = ResourceId::new(Kind::GlueTable, LAKE);
    let desired = match cx.graph.get(&id).map(|r| &r.spec) {
        Some(Spec::GlueTable(t)) => Some(&t.parameters),
        _ => None,
    };
    let mut found = Vec::new();
    for (db, _) in our_databases(cx).await? {
        let mut token: Option<String> = None;
        loop {
            let out = cx
                .aws
                .glue
                .get_tables()
                .database_name(&db)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk("GetTables", &db, e))?;
            for t in out.table_list() {
                found.push((id.clone(), table_live(t, &db, Owner::Pipeline, desired)));
            }
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(found)
}

fn glue_columns(cols: &[Column], table: &str) -> Result<Vec<GlueColumn>, AwsError> {
    cols.iter()
        .map(|c| {
            built(
                table,
                GlueColumn::builder().name(&c.name).r#type(&c.ty).build(),
            )
        })
        .collect()
}

fn table_input(r: &Resource) -> Result<(String, TableInput), AwsError> {
    let Spec::GlueTable(spec) = &r.spec else {
        return Err(wrong_spec(r));
    };
    let sd = StorageDescriptor::builder()
        .set_columns(Some(glue_columns(&spec.columns, &r.name)?))
        .location(&spec.location)
        .input_format(&spec.input_format)
        .output_format(&spec.output_format)
        .serde_info(
            SerDeInfo::builder()
                .serialization_library(&spec.serde_library)
                .build(),
        )
        .build();
    let input = TableInput::builder()
        .name(&r.name)
        .table_type(&spec.table_type)
        .storage_descriptor(sd)
        .set_partition_keys(Some(glue_columns(&spec.partition_keys, &r.name)?))
        .set_parameters(Some(hash_map(&spec.parameters)))
        .build();
    let input = built(&r.name, input)?;
    Ok((spec.database.clone(), input))
}

/// CreateTable in the spec's database.
pub async fn create_table(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    let (db, input) = table_input(r)?;
    cx.aws
        .glue
        .create_table()
        .database_name(&db)
        .table_input(input)
        .send()
        .await
        .map_err(|e| sdk("CreateTable", format!("{db}.{}", r.name), e))?;
    Ok(())
}

/// UpdateTable with the whole desired definition (columns, keys, location, parameters).
pub async fn update_table(
    cx: &Cx<'_>,
    r: &Resource,
    _live: &LiveResource,
    _change: &ResourceChange,
) -> Result<(), AwsError> {
    let (db, input) = table_input(r)?;
    cx.aws
        .glue
        .update_table()
        .database_name(&db)
        .table_input(input)
        .send()
        .await
        .map_err(|e| sdk("UpdateTable", format!("{db}.{}", r.name), e))?;
    Ok(())
}

/// DeleteTable; gone already (or its database gone) is fine.
pub async fn delete_table(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = live_name(live)?;
    let db = live_str(live, "database")?;
    match cx
        .aws
        .glue
        .delete_table()
        .database_name(db)
        .name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => Ok(()),
        Err(e) => Err(sdk("DeleteTable", format!("{db}.{name}"), e)),
    }
}

// --------------------------------------------------------------------------- crawler

/// GetCrawler + GetTags (by the crawler's ARN).
pub async fn read_crawler(cx: &Cx<'_>, r: &Resource) -> Result<Option<LiveResource>, AwsError> {
    match get_crawler(cx, &r.name).await? {
        Some(c) => crawler_live(cx, &c).await.map(Some),
        None => Ok(None),
    }
}

async fn get_crawler(cx: &Cx<'_>, name: &str) -> Result<Option<Crawler>, AwsError> {
    match cx.aws.glue.get_crawler().name(name).send().await {
        Ok(out) => Ok(out.crawler().cloned()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => Ok(None),
        Err(e) => Err(sdk("GetCrawler", name, e)),
    }
}

fn crawler_spec(cx: &Cx<'_>, c: &Crawler) -> CrawlerSpec {
    // GetCrawler gives the role as it was passed: a name or an ARN.
    let role = c.role().unwrap_or_default();
    let role_arn = if role.starts_with("arn:") || role.is_empty() {
        role.to_string()
    } else {
        cx.graph.names.role_arn(role)
    };
    let targets = c.targets().map(|t| t.catalog_targets()).unwrap_or_default();
    let database = targets
        .first()
        .map(|t| t.database_name())
        .or(c.database_name())
        .unwrap_or_default();
    let table = targets
        .iter()
        .flat_map(|t| t.tables())
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let policy = c.schema_change_policy();
    let configuration = c.configuration().map_or(Value::Null, |text| {
        serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    CrawlerSpec {
        role_arn,
        database: database.to_string(),
        table,
        schedule: c
            .schedule()
            .and_then(|s| s.schedule_expression())
            .unwrap_or_default()
            .to_string(),
        update_behavior: policy
            .and_then(|p| p.update_behavior())
            .map(|b| b.as_str().to_string())
            .unwrap_or_default(),
        delete_behavior: policy
            .and_then(|p| p.delete_behavior())
            .map(|b| b.as_str().to_string())
            .unwrap_or_default(),
        configuration,
    }
}

async fn crawler_live(cx: &Cx<'_>, c: &Crawler) -> Result<LiveResource, AwsError> {
    let name = c.name().unwrap_or_default();
    let tags = glue_tags(cx, &cx.graph.names.glue_crawler_arn(name)).await?;
    let owner = owner(cx, &tags);
    Ok(live(
        name,
        Spec::GlueCrawler(crawler_spec(cx, c)),
        tags,
        owner,
    ))
}

/// Crawlers named `stk-<pipeline>-...` and tagged as this pipeline's, under the logical name
/// their name gives (`stk-<pipeline>-lake` is `lake`).
pub async fn stray_crawlers(cx: &Cx<'_>) -> Result<Vec<(ResourceId, LiveResource)>, AwsError> {
    let prefix = cx.graph.names.prefix();
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = cx
            .aws
            .glue
            .get_crawlers()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| sdk("GetCrawlers", "the Glue crawlers", e))?;
        for c in out.crawlers() {
            let Some(logical) = c.name().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            let l = crawler_live(cx, c).await?;
            if l.owner == Owner::Pipeline {
                found.push((ResourceId::new(Kind::GlueCrawler, logical), l));
            }
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(found);
        }
    }
}

/// Makes the crawler so: CreateCrawler with its tags; when one of that name exists (the
/// dispatcher also calls this for a tags-only update), its tags are converged, and it is
/// recreated if anything else differs (Glue's UpdateCrawler is not used: moto lacks it).
/// The crawler is never started: its schedule runs it.
pub async fn create_crawler(cx: &Cx<'_>, r: &Resource) -> Result<(), AwsError> {
    if let Some(existing) = get_crawler(cx, &r.name).await? {
        let l = crawler_live(cx, &existing).await?;
        if l.attributes == r.attributes() {
            let arn = cx.graph.names.glue_crawler_arn(&r.name);
            return sync_tags(cx, &arn, &r.tags, &l.tags).await;
        }
        delete_crawler(cx, &l).await?;
    }
    let Spec::GlueCrawler(spec) = &r.spec else {
        return Err(wrong_spec(r));
    };
    let target = CatalogTarget::builder()
        .database_name(&spec.database)
        .tables(&spec.table)
        .build();
    let target = built(&r.name, target)?;
    let policy = SchemaChangePolicy::builder()
        .update_behavior(UpdateBehavior::from(spec.update_behavior.as_str()))
        .delete_behavior(DeleteBehavior::from(spec.delete_behavior.as_str()))
        .build();
    let configuration = serde_json::to_string(&spec.configuration)
        .map_err(|e| invalid(&r.name, format!("the crawler configuration: {e}")))?;
    cx.aws
        .glue
        .create_crawler()
        .name(&r.name)
        .role(&spec.role_arn)
        .database_name(&spec.database)
        .targets(CrawlerTargets::builder().catalog_targets(target).build())
        .schedule(&spec.schedule)
        .schema_change_policy(policy)
        .configuration(configuration)
        .set_tags(Some(hash_map(&r.tags)))
        .send()
        .await
        .map_err(|e| sdk("CreateCrawler", &r.name, e))?;
    Ok(())
}

/// DeleteCrawler; a running crawler is stopped first (AWS refuses to delete it), gone
/// already is fine.
pub async fn delete_crawler(cx: &Cx<'_>, live: &LiveResource) -> Result<(), AwsError> {
    let name = live_name(live)?;
    match cx.aws.glue.delete_crawler().name(name).send().await {
        Ok(_) => return Ok(()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => return Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_crawler_running_exception()) => {}
        Err(e) => return Err(sdk("DeleteCrawler", name, e)),
    }
    stop_crawler(cx, name).await?;
    match cx.aws.glue.delete_crawler().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => Ok(()),
        Err(e) => Err(sdk("DeleteCrawler", name, e)),
    }
}

/// StopCrawler, then waits until it is READY again.
async fn stop_crawler(cx: &Cx<'_>, name: &str) -> Result<(), AwsError> {
    match cx.aws.glue.stop_crawler().name(name).send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_crawler_not_running_exception() || s.is_crawler_stopping_exception()
            }) => {}
        Err(e) if crate::error::not_found(&e, NOT_FOUND) => return Ok(()),
        Err(e) => return Err(sdk("StopCrawler", name, e)),
    }
    let resource = format!("the Glue crawler {name}");
    wait_for(&resource, "READY", CRAWLER_STOP_WAIT, || async move {
        let state = get_crawler(cx, name)
            .await?
            .and_then(|c| c.state().cloned());
        Ok(matches!(state, None | Some(CrawlerState::Ready)).then_some(()))
    })
    .await
}
