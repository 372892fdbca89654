//! `sink NAME: influxdb { url, api, org, bucket, token, measurement, tags, fields, batch_size }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::aws;
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{FieldType, InfluxApi, InfluxSink, SecretRef, SecretStore, SinkKind};
use crate::syntax::ast::{Block, Expr, ExprKind};

const SPEC: AttrSpec = AttrSpec {
    allowed: &[
        "url",
        "api",
        "org",
        "bucket",
        "token",
        "measurement",
        "tags",
        "fields",
        "batch_size",
    ],
    required: &["url", "bucket", "token", "fields"],
};
const APIS: &[(&str, InfluxApi)] = &[("v2", InfluxApi::V2), ("v1", InfluxApi::V1)];

pub(super) fn check(ctx: &mut Ctx, block: &Block, _sinks: &[&Block]) -> Option<SinkKind> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let api = match a.get("api") {
        Some(e) => attrs::choice(ctx, e, APIS),
        None => Some(InfluxApi::V2),
    };
    let url = a.get("url").and_then(|e| {
        let s = attrs::string(ctx, e, "`\"https://influx.example.com\"`")?;
        let u = super::http_url(ctx, &s, e.span)?;
        let local = matches!(
            u.host_str(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
        );
        if u.scheme() == "http" && !local {
            ctx.error(
                Code::PlainHttp,
                e.span,
                "the InfluxDB token would travel unencrypted",
            )
            .label("plain http to a remote host")
            .help("use https:// for any InfluxDB that is not on this machine");
        }
        Some(s)
    });
    let org = a
        .get("org")
        .and_then(|e| attrs::string(ctx, e, "`\"stocks\"`"));
    if api == Some(InfluxApi::V2) && a.get("org").is_none() {
        ctx.error(
            Code::MissingAttr,
            block.name.span,
            "the InfluxDB v2 API needs an `org`",
        )
        .label("needs `org = ...`")
        .help("add `org = \"...\"`, or `api = v1` for an InfluxDB 1.x database");
    }
    let bucket = a
        .get("bucket")
        .and_then(|e| attrs::string(ctx, e, "`\"quotes\"`"));
    let token = a.get("token").and_then(|e| secret(ctx, e));
    let measurement = match a.get("measurement") {
        Some(e) => attrs::string(ctx, e, "`\"quote\"`"),
        None => Some(block.name.name.clone()),
    };
    let tags = columns(ctx, a.get("tags"), true);
    let fields = columns(ctx, a.get("fields"), false);
    if let (Some(t), Some(f)) = (&tags, &fields) {
        for (name, span) in f {
            if t.iter().any(|(n, _)| n == name) {
                ctx.error(
                    Code::UnusedField,
                    *span,
                    format!("`{name}` is both a tag and a field"),
                )
                .label("also a tag")
                .help(
                    "InfluxDB stores a column either as a tag (indexed string) or a field (value)",
                );
            }
        }
        if f.is_empty() {
            let span = a.get("fields").map_or(block.name.span, |e| e.span);
            ctx.error(
                Code::InfluxColumn,
                span,
                "an InfluxDB point needs at least one field",
            )
            .label("no fields")
            .help("list the values to store, e.g. `fields = [price, volume]`");
            return None;
        }
    }
    let batch_size = match a.get("batch_size") {
        Some(e) => attrs::integer(ctx, e).and_then(|n| {
            if (1..=100_000).contains(&n) {
                Some(n as u32)
            } else {
                ctx.error(
                    Code::BadNumber,
                    e.span,
                    "`batch_size` must be from 1 to 100000 points",
                )
                .label("out of range")
                .help("InfluxDB recommends batches of about 5000 points");
                None
            }
        }),
        None => Some(5_000),
    };
    let names =
        |v: Vec<(String, crate::syntax::span::Span)>| v.into_iter().map(|(n, _)| n).collect();
    Some(SinkKind::Influxdb(InfluxSink {
        url: url?,
        api: api?,
        org,
        bucket: bucket?,
        token: token?,
        measurement: measurement?,
        tags: names(tags?),
        fields: names(fields?),
        batch_size: batch_size?,
    }))
}

/// `secret("name")` (Secrets Manager) or `ssm("/name")` (Parameter Store); never a literal.
fn secret(ctx: &mut Ctx, e: &Expr) -> Option<SecretRef> {
    if let ExprKind::Str { .. } = &e.kind {
        ctx.error(Code::LiteralSecret, e.span, "the token is written into the pipeline file")
            .label("a secret in plain text")
            .help("store it in AWS Secrets Manager and write `token = secret(\"stocks/influx-token\")` (or `ssm(\"/stocks/influx-token\")`); then rotate this token, it may already be in version control");
        return None;
    }
    let (func, name, span) = attrs::string_call(
        ctx,
        e,
        &["secret", "ssm"],
        "`secret(\"stocks/influx-token\")`",
    )?;
    let store = if func == "ssm" {
        SecretStore::Ssm
    } else {
        SecretStore::SecretsManager
    };
    if let Some(problem) = aws::secret_name_problem(store == SecretStore::Ssm, &name) {
        ctx.error(
            Code::BadSecretRef,
            span,
            format!("`{name}` is not a valid secret name"),
        )
        .label(problem)
        .help("name the secret as it is stored in AWS");
        return None;
    }
    Some(SecretRef { store, name })
}

/// The tag or field columns; tags must be strings, fields any stored type.
fn columns(
    ctx: &mut Ctx,
    e: Option<&Expr>,
    tags: bool,
) -> Option<Vec<(String, crate::syntax::span::Span)>> {
    let Some(e) = e else { return Some(Vec::new()) };
    let mut out: Vec<(String, crate::syntax::span::Span)> = Vec::new();
    let mut ok = true;
    for item in attrs::list_or_one(e) {
        let Some((name, span)) = attrs::name(ctx, item, "`[symbol, currency]`") else {
            ok = false;
            continue;
        };
        let Some(info) = ctx.fields.get(name).cloned() else {
            let help =
                crate::check::ctx::did_you_mean(name, ctx.field_order.iter().map(String::as_str))
                    .unwrap_or_else(|| crate::check::ctx::fields_help(&ctx.field_order));
            ctx.error(
                Code::UnknownField,
                span,
                format!("`{name}` is not a field of the schema"),
            )
            .label("unknown field")
            .help(help);
            ok = false;
            continue;
        };
        if tags && info.ty != FieldType::String {
            ctx.error(
                Code::InfluxColumn,
                span,
                format!(
                    "tag `{name}` is {}, but InfluxDB tags are strings",
                    info.ty.name()
                ),
            )
            .label("not a string")
            .help("store numbers as fields; tags are for the strings you group and filter by");
            ok = false;
            continue;
        }
        if !tags && info.ty == FieldType::Timestamp {
            ctx.error(
                Code::InfluxColumn,
                span,
                format!(
                    "`{name}` is a timestamp; InfluxDB fields hold numbers, booleans and strings"
                ),
            )
            .label("a timestamp")
            .help("the event time becomes the point's time; leave it out of `fields`");
            ok = false;
            continue;
        }
        if out.iter().any(|(n, _)| n == name) {
            ctx.error(Code::UnusedField, span, format!("`{name}` is listed twice"))
                .label("listed again")
                .help("remove the repeat");
            continue;
        }
        out.push((name.to_string(), span));
    }
    ok.then_some(out)
}
