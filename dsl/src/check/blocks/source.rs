//! `source NAME: yahoo { ... }` and `source NAME: replay { ... }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::aws;
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{
    Endpoint, FieldType, ReplayFormat, ReplaySource, Schema, Source, SourceKind, YAHOO_COLUMNS,
    YahooSource,
};
use crate::syntax::ast::{Block, ExprKind};

const YAHOO: AttrSpec = AttrSpec {
    allowed: &[
        "symbols",
        "every",
        "endpoint",
        "base_url",
        "user_agent",
        "proxies",
        "max_rps",
    ],
    required: &["symbols", "every"],
};
const REPLAY: AttrSpec = AttrSpec {
    allowed: &["path", "format", "speed"],
    required: &["path"],
};

const ENDPOINTS: &[(&str, Endpoint)] = &[
    ("chart", Endpoint::Chart),
    ("quote", Endpoint::Quote),
    ("page", Endpoint::Page),
];
const FORMATS: &[(&str, ReplayFormat)] =
    &[("jsonl", ReplayFormat::Jsonl), ("csv", ReplayFormat::Csv)];

pub(crate) fn check(ctx: &mut Ctx, block: &Block, schema: Option<&Schema>) -> Option<Source> {
    let kind = match block.kind.as_ref().map(|k| k.name.as_str()) {
        Some("yahoo") => SourceKind::Yahoo(yahoo(ctx, block, schema)?),
        _ => SourceKind::Replay(replay(ctx, block)?),
    };
    Some(Source {
        name: block.name.name.clone(),
        kind,
    })
}

fn yahoo(ctx: &mut Ctx, block: &Block, schema: Option<&Schema>) -> Option<YahooSource> {
    let a = Attrs::collect(ctx, block, &YAHOO, Members::default());
    let symbol_pattern = schema
        .and_then(|s| s.field("symbol"))
        .and_then(|f| f.pattern.as_deref())
        .and_then(|p| regex::Regex::new(&format!("^(?:{p})$")).ok());
    let mut symbols: Vec<String> = Vec::new();
    let mut ok = true;
    if let Some(list) = a
        .get("symbols")
        .and_then(|e| attrs::list(ctx, e, "`[\"AAPL\", \"MSFT\"]`"))
    {
        if list.is_empty() {
            ctx.error(
                Code::BadSymbol,
                a.get("symbols").map_or(block.name.span, |e| e.span),
                "the symbol list is empty",
            )
            .label("no symbols")
            .help("list at least one symbol, e.g. `[\"AAPL\"]`");
            ok = false;
        }
        for item in list {
            let Some(sym) = attrs::string(ctx, item, "`\"AAPL\"`") else {
                ok = false;
                continue;
            };
            if !aws::symbol_ok(&sym) {
                let upper = sym.to_ascii_uppercase();
                let help = if aws::symbol_ok(&upper) {
                    format!("Yahoo symbols are upper case: `\"{upper}\"`")
                } else {
                    "symbols are 1-20 upper-case letters, digits and . ^ = - &, e.g. `BRK-B`, `^GSPC`, `OCDO.L`".into()
                };
                ctx.error(
                    Code::BadSymbol,
                    item.span,
                    format!("`{sym}` is not a ticker symbol"),
                )
                .label("invalid symbol")
                .help(help);
                ok = false;
                continue;
            }
            if let Some(re) = &symbol_pattern
                && !re.is_match(&sym)
            {
                ctx.error(
                    Code::BadSymbol,
                    item.span,
                    format!("`{sym}` does not match the schema's pattern for `symbol`"),
                )
                .label("every record of this symbol would be rejected")
                .help("widen the `matches` pattern of `symbol` in the schema, or fix the symbol");
                ok = false;
                continue;
            }
            if symbols.contains(&sym) {
                ctx.error(
                    Code::DuplicateSymbol,
                    item.span,
                    format!("`{sym}` is listed twice"),
                )
                .label("listed again")
                .help("each symbol is polled once; remove the repeat");
                continue;
            }
            symbols.push(sym);
        }
    }
    let every_ms = a.get("every").and_then(|e| {
        let ms = attrs::duration(ctx, e)?;
        if ms < 1_000 {
            ctx.error(
                Code::BadDuration,
                e.span,
                "Yahoo cannot be polled more often than once a second",
            )
            .label("too fast")
            .help("use `every = 5s` or more; Yahoo rate-limits fast pollers with HTTP 429");
            return None;
        }
        if ms < 2_000 {
            ctx.error(
                Code::FastPolling,
                e.span,
                "polling more often than every 2 seconds invites HTTP 429 from Yahoo",
            )
            .label("fast polling")
            .help("`every = 5s` is what Yahoo's own pages do");
        }
        Some(ms)
    });
    let endpoint = match a.get("endpoint") {
        Some(e) => attrs::choice(ctx, e, ENDPOINTS),
        None => Some(Endpoint::Chart),
    };
    let base_url = a.get("base_url").and_then(|e| {
        let s = attrs::string(ctx, e, "`\"https://query1.finance.yahoo.com\"`")?;
        super::sink::http_url(ctx, &s, e.span).map(|_| s)
    });
    let user_agent = a
        .get("user_agent")
        .and_then(|e| attrs::string(ctx, e, "`\"Mozilla/5.0 ...\"`"));
    let mut proxies = Vec::new();
    if let Some(list) = a
        .get("proxies")
        .and_then(|e| attrs::list(ctx, e, "`[\"http://proxy:3128\"]`"))
    {
        for item in list {
            if let Some(p) = attrs::string(ctx, item, "`\"http://proxy:3128\"`")
                && super::sink::http_url(ctx, &p, item.span).is_some()
            {
                proxies.push(p);
            }
        }
    }
    let max_rps = match a.get("max_rps") {
        Some(e) => attrs::number(ctx, e).and_then(|v| {
            if v > 0.0 && v <= 100.0 {
                Some(v)
            } else {
                ctx.error(
                    Code::BadNumber,
                    e.span,
                    "`max_rps` must be more than 0 and at most 100",
                )
                .label("out of range")
                .help("a budget of 2 requests per second keeps Yahoo friendly");
                None
            }
        }),
        None => Some(2.0),
    };
    if let Some(schema) = schema {
        source_fills_schema(ctx, block, schema);
    }
    if !ok {
        return None;
    }
    Some(YahooSource {
        symbols,
        every_ms: every_ms?,
        endpoint: endpoint?,
        base_url,
        user_agent,
        proxies,
        max_rps: max_rps?,
    })
}

/// Every required schema field must be one the Yahoo source fills, with a compatible type.
fn source_fills_schema(ctx: &mut Ctx, block: &Block, schema: &Schema) {
    let columns: Vec<&str> = YAHOO_COLUMNS.iter().map(|(n, _)| *n).collect();
    for field in &schema.fields {
        let span = ctx
            .fields
            .get(&field.name)
            .map_or(block.name.span, |f| f.span);
        match YAHOO_COLUMNS.iter().find(|(n, _)| *n == field.name) {
            None if field.required => {
                ctx.error(
                    Code::SourceCannotFill,
                    span,
                    format!(
                        "Yahoo source `{}` does not produce the required field `{}`",
                        block.name.name, field.name
                    ),
                )
                .label("no Yahoo column of this name")
                .related(block.name.span, "the source")
                .help(format!(
                    "make it optional, or use one of the Yahoo columns: {}",
                    columns.join(", ")
                ));
            }
            Some((_, yahoo_ty)) => {
                let compatible = *yahoo_ty == field.ty
                    || (*yahoo_ty == FieldType::Int64 && field.ty == FieldType::Float64);
                if !compatible {
                    ctx.error(
                        Code::SourceCannotFill,
                        span,
                        format!(
                            "Yahoo gives `{}` as {}, but the schema says {}",
                            field.name,
                            yahoo_ty.name(),
                            field.ty.name()
                        ),
                    )
                    .label("incompatible type")
                    .help(format!(
                        "declare it `{}: {}`",
                        field.name,
                        yahoo_ty.name()
                    ));
                }
            }
            None => {}
        }
    }
}

fn replay(ctx: &mut Ctx, block: &Block) -> Option<ReplaySource> {
    let a = Attrs::collect(ctx, block, &REPLAY, Members::default());
    let path_expr = a.get("path")?;
    let path = attrs::string(ctx, path_expr, "`\"data/ticks.jsonl\"`")?;
    if !ctx.world.file_exists(&path) {
        ctx.error(
            Code::ReplayMissing,
            path_expr.span,
            format!("`{path}` does not exist"),
        )
        .label("file not found (relative to the pipeline file)")
        .help("create it, or fix the path; `stkc run --replay PATH` can also name it");
    }
    let format = match a.get("format") {
        Some(e) => attrs::choice(ctx, e, FORMATS)?,
        None => {
            let lower = path.to_ascii_lowercase();
            if lower.ends_with(".csv") {
                ReplayFormat::Csv
            } else if lower.ends_with(".jsonl")
                || lower.ends_with(".ndjson")
                || lower.ends_with(".json")
            {
                ReplayFormat::Jsonl
            } else {
                ctx.error(
                    Code::BadEnumValue,
                    path_expr.span,
                    format!("cannot tell the format of `{path}` from its name"),
                )
                .label("unknown file extension")
                .help("add `format = jsonl` or `format = csv`");
                return None;
            }
        }
    };
    let speed = match a.get("speed") {
        Some(e) => match &e.kind {
            ExprKind::Ident(n) if n == "max" => None,
            _ => {
                let v = attrs::number(ctx, e)?;
                if v <= 0.0 {
                    ctx.error(Code::BadNumber, e.span, "`speed` must be more than 0")
                        .label("not a speed")
                        .help("1 is real time, 60 is a minute per second, `max` is as fast as possible");
                    return None;
                }
                Some(v)
            }
        },
        None => Some(1.0),
    };
    Some(ReplaySource {
        path,
        format,
        speed,
    })
}
