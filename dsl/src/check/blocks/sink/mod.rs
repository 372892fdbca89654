//! `sink NAME: KIND { ... }`: one module per sink kind, chosen by [`KINDS`].

mod influxdb;
mod s3_json;
mod s3_parquet;

use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{Sink, SinkKind};
use crate::syntax::ast::Block;
use crate::syntax::span::Span;

type SinkCheck = fn(&mut Ctx, &Block, &[&Block]) -> Option<SinkKind>;

/// The sink kinds and their checkers; adding a kind is one line here and one module.
const KINDS: &[(&str, SinkCheck)] = &[
    ("influxdb", influxdb::check),
    ("s3_json", s3_json::check),
    ("s3_parquet", s3_parquet::check),
];

pub(crate) fn check_all(ctx: &mut Ctx, blocks: &[&Block]) -> Vec<Sink> {
    let mut sinks = Vec::new();
    for block in blocks {
        let kind = block.kind.as_ref().map_or("", |k| k.name.as_str());
        let Some((_, check)) = KINDS.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        if let Some(kind) = check(ctx, block, blocks) {
            sinks.push(Sink {
                name: block.name.name.clone(),
                kind,
            });
        }
    }
    sinks
}

/// An http(s) URL with a host; reports E0315 otherwise.
pub(crate) fn http_url(ctx: &mut Ctx, s: &str, span: Span) -> Option<url::Url> {
    match url::Url::parse(s) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
        Ok(u) => {
            ctx.error(Code::BadUrl, span, format!("`{s}` is not an http(s) URL"))
                .label(format!("scheme `{}`", u.scheme()))
                .help("write it like `\"https://influx.example.com\"`");
            None
        }
        Err(e) => {
            ctx.error(Code::BadUrl, span, format!("`{s}` is not a URL: {e}"))
                .label("not a URL")
                .help("write it like `\"https://influx.example.com\"`");
            None
        }
    }
}
