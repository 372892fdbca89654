//! `alert NAME { when, per, for, cooldown, lateness, severity, notify, message, delivery }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::ctx::{Ctx, did_you_mean};
use crate::check::expr::{ExprContext, check_condition, check_expr};
use crate::diag::Code;
use crate::ir::{
    Alert, Delivery, ExprNode, NotifyTarget, Severity, Stream, Template, TemplatePart, Type,
};
use crate::syntax::ast::{Block, Expr, ExprKind};
use crate::syntax::parse_expr;
use crate::syntax::span::Span;

const SPEC: AttrSpec = AttrSpec {
    allowed: &[
        "when", "per", "for", "cooldown", "lateness", "severity", "notify", "message", "delivery",
    ],
    required: &["when"],
};
const SEVERITY: &[(&str, Severity)] = &[
    ("info", Severity::Info),
    ("warning", Severity::Warning),
    ("critical", Severity::Critical),
];
const DELIVERY: &[(&str, Delivery)] = &[
    ("realtime", Delivery::Realtime),
    ("near_real_time", Delivery::NearRealTime),
];

/// What an alert needs to know about the rest of the pipeline.
pub(crate) struct AlertEnv<'a> {
    pub stream: Option<&'a Stream>,
    /// A `source` block exists (realtime alerts are evaluated where records are read).
    pub has_source: bool,
    /// An `s3_parquet` sink exists (near-real-time alerts run over it).
    pub has_lake: bool,
}

pub(crate) fn check(ctx: &mut Ctx, block: &Block, env: &AlertEnv) -> Option<Alert> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let when_expr = a.get("when")?;
    let when = check_condition(ctx, when_expr, ExprContext::Alert, "an alert condition");
    let value = match &when_expr.unparen().kind {
        ExprKind::Binary { op, lhs, .. } if op.is_comparison() => when
            .as_ref()
            .and_then(|w| match &w.node {
                ExprNode::Binary { lhs, .. } => Some((**lhs).clone()),
                _ => None,
            })
            .filter(|_| !matches!(lhs.kind, ExprKind::Null)),
        _ => None,
    };

    let per = a.get("per").map_or(Some(Vec::new()), |e| per(ctx, e));
    let for_ms = match a.get("for") {
        Some(e) => positive_duration(ctx, e, "`for`").map(Some),
        None => Some(None),
    };
    let cooldown_ms = match a.get("cooldown") {
        Some(e) => attrs::duration(ctx, e),
        None => {
            ctx.error(Code::NoCooldown, block.name.span, format!("alert `{}` has no cooldown", block.name.name))
                .label("may notify on every rising edge")
                .help("add e.g. `cooldown = 5m` so a flapping condition sends at most one mail per 5 minutes");
            Some(0)
        }
    };
    let lateness_ms = match a.get("lateness") {
        Some(e) => attrs::duration(ctx, e),
        None => Some(0),
    };
    let severity = match a.get("severity") {
        Some(e) => attrs::choice(ctx, e, SEVERITY),
        None => Some(Severity::Warning),
    };
    let notify = a.get("notify").map_or(Some(Vec::new()), |e| notify(ctx, e));
    let message = match a.get("message") {
        Some(e) => template(ctx, e),
        None => {
            let text = format!(
                "{} fired: {}",
                block.name.name,
                crate::fmt::inline(when_expr)
            );
            Some(Template {
                text: text.clone(),
                parts: vec![TemplatePart::Text(text)],
            })
        }
    };
    // The message's windows need history too (the notify Lambda reads that far back).
    let lookback_ms = when
        .as_ref()
        .map_or(0, |w| w.lookback_ms())
        .max(message.as_ref().map_or(0, |m| {
            m.parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Expr(e) => e.lookback_ms(),
                    TemplatePart::Text(_) => 0,
                })
                .max()
                .unwrap_or(0)
        }));
    let delivery = match a.get("delivery") {
        Some(e) => attrs::choice(ctx, e, DELIVERY),
        None => Some(Delivery::Realtime),
    };
    let delivery_span = a.get("delivery").map_or(block.name.span, |e| e.span);
    match delivery {
        Some(Delivery::NearRealTime) if !env.has_lake => {
            ctx.error(
                Code::BadDelivery,
                delivery_span,
                "near-real-time alerts run over the Parquet lake, and this pipeline has none",
            )
            .label("no s3_parquet sink")
            .help("add `sink lake: s3_parquet { from = raw }`, or use `delivery = realtime`");
        }
        Some(Delivery::Realtime) if !env.has_source => {
            ctx.error(Code::BadDelivery, delivery_span, "realtime alerts run where the records are scraped, and this pipeline has no source")
                .label("no source to evaluate it")
                .help("add a `source`, or use `delivery = near_real_time` over the lake");
        }
        _ => {}
    }
    if let Some(stream) = env.stream {
        let retention_ms = u64::from(stream.retention_hours) * 3_600_000;
        if lookback_ms > retention_ms {
            ctx.error(
                Code::WindowExceedsRetention,
                when_expr.span,
                "the alert looks back further than the stream keeps records",
            )
            .label(format!("looks back {}", human_ms(lookback_ms)))
            .help(format!(
                "stream `{}` keeps {}h; shorten the window or raise `retention`",
                stream.name, stream.retention_hours
            ));
        }
        if let Some(per) = &per {
            // One series over several shards loses its order (one shard keeps it).
            let one_shard = stream.capacity == stk_capacity_one();
            if delivery == Some(Delivery::Realtime)
                && !one_shard
                && !per.contains(&stream.partition_key)
            {
                let span = a.get("per").map_or(block.name.span, |e| e.span);
                ctx.error(
                    Code::AlertKeyNotPartition,
                    span,
                    format!(
                        "the alert's series is not keyed by the stream's partition key `{}`",
                        stream.partition_key
                    ),
                )
                .label("records of one series may be spread over shards")
                .help(format!(
                    "include `{}` in `per`, so each series stays in order on one shard",
                    stream.partition_key
                ));
            }
        }
    }
    Some(Alert {
        name: block.name.name.clone(),
        text: crate::fmt::inline(when_expr),
        when: when?,
        value,
        per: per?,
        for_ms: for_ms?,
        cooldown_ms: cooldown_ms?,
        lateness_ms: lateness_ms?,
        severity: severity?,
        notify: notify?,
        message: message?,
        delivery: delivery?,
        lookback_ms,
    })
}

fn positive_duration(ctx: &mut Ctx, e: &Expr, what: &str) -> Option<u64> {
    let ms = attrs::duration(ctx, e)?;
    if ms == 0 {
        ctx.error(
            Code::BadDuration,
            e.span,
            format!("{what} of zero means nothing; leave it out"),
        )
        .label("zero")
        .help("remove it, or write a positive duration such as `30s`");
        return None;
    }
    Some(ms)
}

fn per(ctx: &mut Ctx, e: &Expr) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut ok = true;
    for item in attrs::list_or_one(e) {
        let Some((name, span)) = attrs::name(ctx, item, "`per = symbol`") else {
            ok = false;
            continue;
        };
        if !ctx.fields.contains_key(name) {
            let help = did_you_mean(name, ctx.field_order.iter().map(String::as_str))
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
        }
        if out.iter().any(|n| n == name) {
            ctx.error(
                Code::DuplicateMember,
                span,
                format!("`{name}` is listed twice"),
            )
            .label("listed again")
            .help("remove the repeat");
            continue;
        }
        out.push(name.to_string());
    }
    ok.then_some(out)
}

fn notify(ctx: &mut Ctx, e: &Expr) -> Option<Vec<NotifyTarget>> {
    let mut out = Vec::new();
    let mut ok = true;
    for item in attrs::list_or_one(e) {
        let Some((_, address, span)) =
            attrs::string_call(ctx, item, &["email"], "`email(\"alerts@example.com\")`")
        else {
            ok = false;
            continue;
        };
        if !email_address::EmailAddress::is_valid(&address) || !address.contains('@') {
            ctx.error(
                Code::BadEmail,
                span,
                format!("`{address}` is not an email address"),
            )
            .label("not an address")
            .help("write it like `email(\"alerts@example.com\")`");
            ok = false;
            continue;
        }
        let target = NotifyTarget::Email(address);
        if !out.contains(&target) {
            out.push(target);
        }
    }
    ok.then_some(out)
}

/// A message template: text with `{expr}` interpolations; `\{` and `\}` are literal braces.
fn template(ctx: &mut Ctx, e: &Expr) -> Option<Template> {
    let ExprKind::Str { value, raw } = &e.kind else {
        attrs::wrong_type(
            ctx,
            e,
            "a string",
            "`\"{symbol} moved {pct_change(close, 1m)}\"`",
        );
        return None;
    };
    // Work on the raw text (quotes included) so spans point into the file.
    let base = e.span.start;
    let bytes = raw.as_bytes();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut ok = true;
    let mut i = 1;
    let end = raw.len() - 1;
    while i < end {
        match bytes[i] {
            b'\\' => {
                let next = raw[i + 1..].chars().next().unwrap_or('\\');
                match next {
                    '{' | '}' => text.push(next),
                    'u' => {
                        // `\u{2713}`: the escape runs to its closing brace.
                        let close = raw[i..end].find('}').map_or(end, |j| i + j + 1);
                        let lit = format!("\"{}\"", &raw[i..close]);
                        text.push_str(&crate::syntax::literal::unescape(&lit).unwrap_or_default());
                        i = close;
                        continue;
                    }
                    _ => {
                        // Resolve the escape the same way the string literal did.
                        let lit = format!("\"\\{next}\"");
                        text.push_str(&crate::syntax::literal::unescape(&lit).unwrap_or_default());
                    }
                }
                i += 1 + next.len_utf8();
            }
            b'{' => {
                let Some(close) = raw[i + 1..end].find('}').map(|j| i + 1 + j) else {
                    ctx.error(
                        Code::BadTemplate,
                        Span::new(base + i, base + i + 1),
                        "`{` is never closed",
                    )
                    .label("opened here")
                    .help("close it with `}`, or write `\\{` for a literal brace");
                    return None;
                };
                let inner = &raw[i + 1..close];
                if inner.trim().is_empty() {
                    ctx.error(
                        Code::BadTemplate,
                        Span::new(base + i, base + close + 1),
                        "empty interpolation `{}`",
                    )
                    .label("nothing to show")
                    .help("put a field or expression inside, e.g. `{close}`");
                    ok = false;
                } else {
                    match parse_expr(inner, base + i + 1) {
                        Ok(expr) => match check_expr(ctx, &expr, ExprContext::Alert) {
                            Some(t) if t.ty == Type::Regex => {
                                ctx.error(
                                    Code::BadTemplate,
                                    expr.span,
                                    "a regular expression cannot be shown in a message",
                                )
                                .label("a regex")
                                .help("interpolate a field or expression, e.g. `{symbol}`");
                                ok = false;
                            }
                            Some(t) => {
                                if !text.is_empty() {
                                    parts.push(TemplatePart::Text(std::mem::take(&mut text)));
                                }
                                parts.push(TemplatePart::Expr(t));
                            }
                            None => ok = false,
                        },
                        Err(diags) => {
                            for mut d in diags {
                                d.code = Code::BadTemplate;
                                d.message = format!("in `{{{inner}}}`: {}", d.message);
                                d.help = Some("an interpolation `{...}` holds one expression, e.g. `{close}` or `{pct_change(close, 1m)}`; write `\\{` for a literal brace".into());
                                ctx.report(d);
                            }
                            ok = false;
                        }
                    }
                }
                i = close + 1;
            }
            b'}' => {
                ctx.error(
                    Code::BadTemplate,
                    Span::new(base + i, base + i + 1),
                    "`}` without a matching `{`",
                )
                .label("unmatched")
                .help("write `\\}` for a literal brace");
                ok = false;
                i += 1;
            }
            _ => {
                let c = raw[i..].chars().next().unwrap_or(' ');
                text.push(c);
                i += c.len_utf8();
            }
        }
    }
    if !text.is_empty() {
        parts.push(TemplatePart::Text(text));
    }
    ok.then(|| Template {
        text: value.clone(),
        parts,
    })
}

fn human_ms(ms: u64) -> String {
    match ms {
        m if m % 86_400_000 == 0 => format!("{}d", m / 86_400_000),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    }
}

fn stk_capacity_one() -> crate::ir::StreamCapacity {
    crate::ir::StreamCapacity::Provisioned { shards: 1 }
}
