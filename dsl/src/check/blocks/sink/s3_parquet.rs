//! `sink NAME: s3_parquet { from, compression, partition, catalog, retention }`: the Parquet
//! lake, compacted from a raw sink, optionally catalogued in Glue.

use crate::check::attrs::{self, AttrSpec, Attrs, Members, map_attrs};
use crate::check::blocks::partition;
use crate::check::ctx::{Ctx, did_you_mean};
use crate::diag::Code;
use crate::ir::{Catalog, CatalogMode, LakeSink, ParquetCompression, SinkKind};
use crate::syntax::ast::{Block, Expr, ExprKind};

const SPEC: AttrSpec = AttrSpec {
    allowed: &["from", "compression", "partition", "catalog", "retention"],
    required: &["from"],
};
const GLUE: AttrSpec = AttrSpec {
    allowed: &["database", "table", "crawler", "projection"],
    required: &["database"],
};
const COMPRESSION: &[(&str, ParquetCompression)] = &[
    ("zstd", ParquetCompression::Zstd),
    ("snappy", ParquetCompression::Snappy),
    ("gzip", ParquetCompression::Gzip),
    ("lz4", ParquetCompression::Lz4),
    ("none", ParquetCompression::None),
];

pub(super) fn check(ctx: &mut Ctx, block: &Block, sinks: &[&Block]) -> Option<SinkKind> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let from = a.get("from").and_then(|e| {
        let (name, span) = attrs::name(ctx, e, "`from = raw`")?;
        let raw: Vec<&str> = sinks
            .iter()
            .filter(|b| b.kind.as_ref().is_some_and(|k| k.name == "s3_json"))
            .map(|b| b.name.name.as_str())
            .collect();
        if raw.contains(&name) {
            return Some(name.to_string());
        }
        let help = did_you_mean(name, raw.iter().copied()).unwrap_or_else(|| {
            if raw.is_empty() {
                "the lake is compacted from raw JSON: add `sink raw: s3_json { ... }` and write `from = raw`".into()
            } else {
                format!("the raw sinks are: {}", raw.join(", "))
            }
        });
        ctx.error(Code::UnknownRef, span, format!("`{name}` is not an s3_json sink"))
            .label("not a raw sink")
            .help(help);
        None
    });
    let compression = match a.get("compression") {
        Some(e) => attrs::choice(ctx, e, COMPRESSION),
        None => Some(ParquetCompression::Zstd),
    };
    let partition = match a.get("partition") {
        Some(e) => partition::check(ctx, e),
        None => Some(Vec::new()),
    };
    let catalog = match a.get("catalog") {
        Some(e) => catalog(ctx, e, &block.name.name).map(Some),
        None => Some(None),
    };
    let retention_days = super::s3_json::retention(ctx, a.get("retention"))?;
    Some(SinkKind::S3Parquet(LakeSink {
        from: from?,
        compression: compression?,
        partition: partition?,
        catalog: catalog?,
        retention_days,
    }))
}

/// `catalog = glue { database = "stocks"  crawler = daily("02:00") }` or `projection = true`.
fn catalog(ctx: &mut Ctx, e: &Expr, sink_name: &str) -> Option<Catalog> {
    let ExprKind::Tagged { tag, entries } = &e.kind else {
        attrs::wrong_type(
            ctx,
            e,
            "`glue { ... }`",
            "`catalog = glue { database = \"stocks\"  crawler = daily(\"02:00\") }`",
        );
        return None;
    };
    if tag.name != "glue" {
        ctx.error(
            Code::UnknownKind,
            tag.span,
            format!("unknown catalog `{}`", tag.name),
        )
        .label("unknown catalog")
        .help("the catalog is `glue { ... }`");
        return None;
    }
    let m = map_attrs(ctx, entries, e.span, &GLUE, "glue catalog");
    let database = m.get("database").and_then(|v| glue_name(ctx, v));
    let table = match m.get("table") {
        Some(v) => glue_name(ctx, v),
        // Glue (and Athena) table names are lower case.
        None => Some(sink_name.to_ascii_lowercase()),
    };
    let mode = match (m.get("crawler"), m.get("projection")) {
        (Some(c), None) => schedule(ctx, c).map(|schedule| CatalogMode::Crawler { schedule }),
        (None, Some(p)) => match attrs::boolean(ctx, p)? {
            true => Some(CatalogMode::Projection),
            false => {
                ctx.error(
                    Code::BadCatalog,
                    p.span,
                    "`projection = false` leaves the table without partitions",
                )
                .label("no partitions")
                .help("use `crawler = daily(\"02:00\")` instead, or `projection = true`");
                None
            }
        },
        (Some(c), Some(_)) => {
            ctx.error(
                Code::BadCatalog,
                c.span,
                "a Glue table is kept up to date by a crawler or by partition projection, not both",
            )
            .label("remove one")
            .help("partition projection needs no crawler; keep `projection = true` or the crawler");
            None
        }
        (None, None) => {
            ctx.error(Code::BadCatalog, e.span, "the Glue catalog needs `crawler = ...` or `projection = true`")
                .label("no partition discovery")
                .help("`projection = true` keeps partitions current at no cost; `crawler = daily(\"02:00\")` runs a crawler");
            None
        }
    };
    Some(Catalog {
        database: database?,
        table: table?,
        mode: mode?,
    })
}

/// Glue names: lowercase letters, digits and `_`, at most 255.
fn glue_name(ctx: &mut Ctx, v: &Expr) -> Option<String> {
    let s = attrs::string(ctx, v, "`\"stocks\"`")?;
    let ok = !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        ctx.error(Code::BadName, v.span, format!("`{s}` is not a Glue name"))
            .label("use lowercase letters, digits and `_`")
            .help(format!(
                "try `\"{}\"`",
                s.to_ascii_lowercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            ));
        return None;
    }
    Some(s)
}

/// `daily("02:00")`, `hourly()`, `cron("0 2 * * ? *")` into a Glue cron expression (UTC).
fn schedule(ctx: &mut Ctx, v: &Expr) -> Option<String> {
    let bad = |ctx: &mut Ctx, span, msg: String| {
        ctx.error(Code::BadSchedule, span, msg)
            .label("bad schedule")
            .help("write `daily(\"02:00\")` (UTC), `hourly()` or `cron(\"0 2 * * ? *\")`");
    };
    let ExprKind::Call { func, args } = &v.kind else {
        bad(
            ctx,
            v.span,
            format!("expected a schedule, found {}", attrs::describe(v)),
        );
        return None;
    };
    let arg = match args.as_slice() {
        [] => None,
        [a] => match &a.kind {
            ExprKind::Str { value, .. } => Some(value.as_str()),
            _ => {
                bad(ctx, a.span, "a schedule takes a string".into());
                return None;
            }
        },
        _ => {
            bad(
                ctx,
                v.span,
                format!("`{}` takes at most one argument", func.name),
            );
            return None;
        }
    };
    match (func.name.as_str(), arg) {
        ("hourly", None) => Some("cron(0 * * * ? *)".into()),
        ("daily", Some(t)) => {
            let digits = |x: &str| x.len() == 2 && x.bytes().all(|b| b.is_ascii_digit());
            let parsed = t
                .split_once(':')
                .filter(|(h, m)| digits(h) && digits(m))
                .and_then(|(h, m)| Some((h.parse::<u8>().ok()?, m.parse::<u8>().ok()?)));
            match parsed {
                Some((h, m)) if h < 24 && m < 60 && t.len() == 5 => {
                    Some(format!("cron({m} {h} * * ? *)"))
                }
                _ => {
                    bad(ctx, v.span, format!("`{t}` is not a time of day `HH:MM`"));
                    None
                }
            }
        }
        ("cron", Some(c)) if c.split_whitespace().count() == 6 => Some(format!("cron({c})")),
        ("cron", Some(c)) => {
            bad(
                ctx,
                v.span,
                format!("`{c}` is not a six-field Glue cron expression"),
            );
            None
        }
        (name, _) => {
            bad(ctx, v.span, format!("`{name}(...)` is not a schedule"));
            None
        }
    }
}
