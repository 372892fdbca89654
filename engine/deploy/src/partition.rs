//! How a sink's partition keys become AWS settings: Firehose's dynamic-partitioning JQ query
//! and S3 prefix, the raw bucket's notification filter, and the Glue table's partition columns
//! and projection. The layout must be the one `stk_lake::partition::path` writes locally
//! (`date=2026-11-27/symbol=AAPL/`, values escaped as Hive does), so that local and AWS lakes
//! are read the same way. Not the keys themselves: those are the checker's.

use std::collections::BTreeMap;
use stk_dsl::ir::{FieldType, PartitionKey, PartitionTransform, Schema};

/// The JQ expression of one key's value over a raw JSON record.
fn jq_value(key: &PartitionKey, schema: &Schema) -> String {
    let field = format!(".{}", key.field);
    match key.transform {
        // RFC 3339 UTC timestamps, as the scraper writes them: `2026-11-27T14:30:05Z`.
        PartitionTransform::Date => format!("{field}[0:10]"),
        PartitionTransform::Hour => format!("{field}[11:13]"),
        PartitionTransform::Identity => match schema.field(&key.field).map(|f| f.ty) {
            // The characters `stk_lake::partition` percent-encodes (`EURUSD=X` is
            // `symbol=EURUSD%3DX/`); `%` first so the escapes are not escaped again.
            Some(FieldType::String) | None => format!(
                r#"({field} | gsub("%"; "%25") | gsub("/"; "%2F") | gsub("="; "%3D") | gsub(":"; "%3A") | gsub("\\\\"; "%5C"))"#
            ),
            Some(_) => format!("({field} | tostring)"),
        },
    }
}

/// Firehose's metadata extraction query: `{date: .ts[0:10], symbol: (.symbol | ...)}`.
/// `None` without keys (no dynamic partitioning).
pub fn jq_query(keys: &[PartitionKey], schema: &Schema) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let members: Vec<String> = keys
        .iter()
        .map(|k| format!("{}: {}", k.name, jq_value(k, schema)))
        .collect();
    Some(format!("{{{}}}", members.join(", ")))
}

/// Firehose's S3 prefix: `date=!{partitionKeyFromQuery:date}/symbol=!{...:symbol}/`; empty
/// without keys (Firehose then writes its default `YYYY/MM/dd/HH/` layout).
pub fn firehose_prefix(keys: &[PartitionKey]) -> String {
    keys.iter()
        .map(|k| format!("{0}=!{{partitionKeyFromQuery:{0}}}/", k.name))
        .collect()
}

/// Where Firehose writes records it could not deliver or partition, in the raw bucket (a
/// delivery stream has one destination bucket, so they cannot go to the errors bucket).
pub fn firehose_error_prefix(partitioned: bool) -> String {
    if partitioned {
        // With dynamic partitioning the error prefix must name the error type.
        "firehose-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/".to_string()
    } else {
        "firehose-errors/".to_string()
    }
}

/// The key prefix of the data objects in the raw bucket (`date=`), so that Firehose's error
/// output does not invoke compact; `None` when unpartitioned.
pub fn data_prefix(keys: &[PartitionKey]) -> Option<String> {
    keys.first().map(|k| format!("{}=", k.name))
}

/// Hive's escaping of a partition value, as `stk_lake::partition` writes it.
pub fn hive_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '/' | '=' | '%' | '\\' | ':') || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The Glue (Hive) type of a schema field, as the Parquet files store it.
pub fn glue_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "string",
        FieldType::Int64 => "bigint",
        FieldType::Float64 => "double",
        FieldType::Bool => "boolean",
        FieldType::Timestamp => "timestamp",
    }
}

/// The Glue type of a partition column: `date` and `hour` are path text; a column keeps its type.
pub fn partition_column_type(key: &PartitionKey, schema: &Schema) -> &'static str {
    match key.transform {
        PartitionTransform::Date | PartitionTransform::Hour => "string",
        PartitionTransform::Identity => schema
            .field(&key.field)
            .map_or("string", |f| glue_type(f.ty)),
    }
}

/// Partition projection settings of a lake table: each key's type and range, and where a
/// partition's objects are. `symbols` are the values an identity `symbol` key can take (the
/// Yahoo sources' symbols); other identity keys are `injected` (queries must name them).
pub fn projection(
    keys: &[PartitionKey],
    schema: &Schema,
    location: &str,
    symbols: &[String],
) -> BTreeMap<String, String> {
    let mut p = BTreeMap::new();
    p.insert("projection.enabled".to_string(), "true".to_string());
    let mut template = location.to_string();
    for k in keys {
        let mut set = |attr: &str, value: String| {
            p.insert(format!("projection.{}.{attr}", k.name), value);
        };
        match k.transform {
            PartitionTransform::Date => {
                set("type", "date".into());
                set("format", "yyyy-MM-dd".into());
                // Stock history older than 2000 is not what this pipeline scrapes.
                set("range", "2000-01-01,NOW".into());
                set("interval", "1".into());
                set("interval.unit", "DAYS".into());
            }
            PartitionTransform::Hour => {
                set("type", "integer".into());
                set("range", "0,23".into());
                set("digits", "2".into());
            }
            PartitionTransform::Identity => {
                let ty = schema.field(&k.field).map(|f| f.ty);
                if ty == Some(FieldType::Bool) {
                    set("type", "enum".into());
                    set("values", "false,true".into());
                } else if k.field == "symbol" && !symbols.is_empty() {
                    let mut values: Vec<String> = symbols.iter().map(|s| hive_escape(s)).collect();
                    values.sort();
                    values.dedup();
                    set("type", "enum".into());
                    set("values", values.join(","));
                } else {
                    set("type", "injected".into());
                }
            }
        }
        template.push_str(&format!("{0}=${{{0}}}/", k.name));
    }
    p.insert("storage.location.template".to_string(), template);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil;

    fn raw_keys() -> (Vec<PartitionKey>, Schema) {
        let ir = testutil::ir(testutil::STOCKS);
        let keys = ir.raw_sink().unwrap().partition.clone();
        (keys, ir.schema)
    }

    #[test]
    fn firehose_layout_matches_the_local_lake() {
        let (keys, schema) = raw_keys();
        assert_eq!(
            firehose_prefix(&keys),
            "date=!{partitionKeyFromQuery:date}/symbol=!{partitionKeyFromQuery:symbol}/"
        );
        let q = jq_query(&keys, &schema).unwrap();
        assert!(
            q.starts_with("{date: .ts[0:10], symbol: (.symbol | gsub(\"%\"; \"%25\")"),
            "{q}"
        );
        assert_eq!(data_prefix(&keys).as_deref(), Some("date="));
        assert!(firehose_error_prefix(true).contains("!{firehose:error-output-type}"));
        assert_eq!(jq_query(&[], &schema), None);
        assert_eq!(firehose_prefix(&[]), "");
    }

    #[test]
    fn escaping_is_hives() {
        assert_eq!(hive_escape("EURUSD=X"), "EURUSD%3DX");
        assert_eq!(hive_escape("a/b%c:d\\e"), "a%2Fb%25c%3Ad%5Ce");
        assert_eq!(hive_escape("^GSPC"), "^GSPC");
    }

    #[test]
    fn projection_of_the_stocks_lake() {
        let (keys, schema) = raw_keys();
        let symbols = ["MSFT".to_string(), "AAPL".into(), "EURUSD=X".into()];
        let p = projection(&keys, &schema, "s3://b/", &symbols);
        assert_eq!(p["projection.date.type"], "date");
        assert_eq!(p["projection.symbol.type"], "enum");
        assert_eq!(p["projection.symbol.values"], "AAPL,EURUSD%3DX,MSFT");
        assert_eq!(
            p["storage.location.template"],
            "s3://b/date=${date}/symbol=${symbol}/"
        );
        let injected = projection(&keys, &schema, "s3://b/", &[]);
        assert_eq!(injected["projection.symbol.type"], "injected");
    }
}
