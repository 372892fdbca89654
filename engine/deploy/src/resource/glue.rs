//! Glue: the catalog database, the lake's table (always ours, with the schema from the file),
//! and either partition projection on the table or a crawler that adds partitions to it.

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(super) const DATABASE: KindInfo = KindInfo {
    label: "glue_database",
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

pub(super) const TABLE: KindInfo = KindInfo {
    label: "glue_table",
    // UpdateTable changes columns, partition keys, location and parameters.
    replace_on: ReplaceOn::Attributes(&["name", "database"]),
    // CreateTable takes no tags: ownership follows the database's.
    taggable: false,
};

pub(super) const CRAWLER: KindInfo = KindInfo {
    label: "glue_crawler",
    // A crawler holds no data, and moto has no UpdateCrawler: every change recreates it.
    replace_on: ReplaceOn::AnyChange,
    taggable: true,
};

/// GetDatabase: `Description`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseSpec {
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The Hive type: `string`, `bigint`, `double`, `boolean`, `timestamp`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// GetTable: the table's columns, partition keys, storage descriptor and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    pub database: String,
    /// `EXTERNAL_TABLE`.
    pub table_type: String,
    /// `s3://<lake bucket>/`.
    pub location: String,
    /// The schema's fields, without those that are partition columns (their value is in
    /// the path, not in the Parquet files).
    pub columns: Vec<Column>,
    pub partition_keys: Vec<Column>,
    pub input_format: String,
    pub output_format: String,
    pub serde_library: String,
    /// `classification` and, with projection, the `projection.*` settings.
    pub parameters: BTreeMap<String, String>,
}

/// GetCrawler: a catalog target on the lake table, so the crawler only adds partitions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlerSpec {
    pub role_arn: String,
    pub database: String,
    pub table: String,
    /// `Schedule.ScheduleExpression`: a Glue cron expression, UTC.
    pub schedule: String,
    /// `SchemaChangePolicy` (`UpdateBehavior`, `DeleteBehavior`): `LOG`, as catalog targets
    /// require; the table's schema is ours.
    pub update_behavior: String,
    pub delete_behavior: String,
    /// `Configuration`, parsed: partitions inherit the table's schema.
    pub configuration: serde_json::Value,
}
