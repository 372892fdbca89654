//! The attributes of one block: which keys it takes, which it needs, and typed readers for
//! their values. Unknown, duplicate and missing keys are reported here, once, for every block.

use super::ctx::{Ctx, did_you_mean, one_of};
use crate::diag::Code;
use crate::syntax::ast::{Attr, Block, Entry, Expr, ExprKind, MapEntry, UnaryOp};
use crate::syntax::span::Span;
use std::collections::BTreeMap;

/// What a block accepts.
pub(crate) struct AttrSpec {
    pub allowed: &'static [&'static str],
    pub required: &'static [&'static str],
}

pub(crate) struct Attrs<'a> {
    map: BTreeMap<&'a str, &'a Attr>,
}

impl<'a> Attrs<'a> {
    /// Collect a block's attributes. Fields and rules are reported as misplaced unless
    /// `members` says this block takes them.
    pub fn collect(
        ctx: &mut Ctx,
        block: &'a Block,
        spec: &AttrSpec,
        members: Members,
    ) -> Attrs<'a> {
        let what = format!("`{}` block", block.keyword.name);
        let a_what = if block.keyword.name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {what}")
        } else {
            format!("a {what}")
        };
        let mut attrs_only = Vec::new();
        for e in &block.entries {
            match e {
                Entry::Attr(a) => attrs_only.push(a),
                Entry::Field(f) if !members.fields => {
                    ctx.error(Code::MisplacedEntry, f.span, format!("a field declaration cannot appear in {a_what}"))
                    .label("field declaration")
                    .help("fields are declared in the `schema` block; attributes are written `key = value`");
                }
                Entry::Rule(r) if !members.rules => {
                    ctx.error(
                        Code::MisplacedEntry,
                        r.span,
                        format!("a rule cannot appear in {a_what}"),
                    )
                    .label("rule")
                    .help("rules are written in the `validate` block; alerts use `when = ...`");
                }
                _ => {}
            }
        }
        let map = collect_keys(
            ctx,
            attrs_only
                .into_iter()
                .map(|a| (a.key.name.as_str(), a.key.span, a)),
            spec,
            &what,
        );
        for key in spec.required {
            if !map.contains_key(key) {
                ctx.error(
                    Code::MissingAttr,
                    block.name.span,
                    format!("{what} `{}` has no `{key}`", block.name.name),
                )
                .label(format!("needs `{key} = ...`"))
                .help(format!("add `{key} = ...` to the block"));
            }
        }
        Attrs { map }
    }

    pub fn get(&self, key: &str) -> Option<&'a Expr> {
        self.map.get(key).map(|a| &a.value)
    }
}

/// Which non-attribute entries a block takes.
#[derive(Clone, Copy, Default)]
pub(crate) struct Members {
    pub fields: bool,
    pub rules: bool,
}

/// The entries of a tagged map (`glue { ... }`) or plain map, checked against a spec.
pub(crate) fn map_attrs<'a>(
    ctx: &mut Ctx,
    entries: &'a [MapEntry],
    span: Span,
    spec: &AttrSpec,
    what: &str,
) -> BTreeMap<&'a str, &'a Expr> {
    let map = collect_keys(
        ctx,
        entries.iter().map(|e| (e.key.name.as_str(), e.key.span, e)),
        spec,
        what,
    );
    for key in spec.required {
        if !map.contains_key(key) {
            ctx.error(Code::MissingAttr, span, format!("{what} has no `{key}`"))
                .label(format!("needs `{key} = ...`"))
                .help(format!("add `{key} = ...`"));
        }
    }
    map.into_iter().map(|(k, e)| (k, &e.value)).collect()
}

fn collect_keys<'a, T>(
    ctx: &mut Ctx,
    entries: impl Iterator<Item = (&'a str, Span, &'a T)>,
    spec: &AttrSpec,
    what: &str,
) -> BTreeMap<&'a str, &'a T> {
    let mut map: BTreeMap<&str, (Span, &T)> = BTreeMap::new();
    for (key, span, item) in entries {
        if !spec.allowed.contains(&key) {
            let help = did_you_mean(key, spec.allowed.iter().copied())
                .unwrap_or_else(|| format!("it takes {}", one_of(spec.allowed)));
            ctx.error(
                Code::UnknownAttr,
                span,
                format!("unknown attribute `{key}` in {what}"),
            )
            .label("unknown attribute")
            .help(help);
            continue;
        }
        if let Some((first, _)) = map.get(key) {
            let first = *first;
            ctx.error(Code::DuplicateAttr, span, format!("`{key}` is given twice"))
                .label("given again here")
                .related(first, "first given here")
                .help("remove one of them");
            continue;
        }
        map.insert(key, (span, item));
    }
    map.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

/// How an expression is named in "expected X, found Y".
pub(crate) fn describe(e: &Expr) -> String {
    match &e.unparen().kind {
        ExprKind::Number { is_int: true, .. } => "an integer".into(),
        ExprKind::Number { .. } => "a number".into(),
        ExprKind::Duration { .. } => "a duration".into(),
        ExprKind::Size { .. } => "a size".into(),
        ExprKind::Percent { .. } => "a percentage".into(),
        ExprKind::Str { .. } => "a string".into(),
        ExprKind::Regex { .. } => "a regular expression".into(),
        ExprKind::Bool(_) => "a boolean".into(),
        ExprKind::Null => "null".into(),
        ExprKind::Ident(n) => format!("the name `{n}`"),
        ExprKind::List(_) => "a list".into(),
        ExprKind::Map(_) => "a map".into(),
        ExprKind::Call { func, .. } => format!("a call to `{}`", func.name),
        ExprKind::Tagged { tag, .. } => format!("`{} {{ ... }}`", tag.name),
        ExprKind::Unary { .. } | ExprKind::Binary { .. } | ExprKind::Paren(_) => {
            "an expression".into()
        }
    }
}

/// Report "expected X, found Y" (E0209).
pub(crate) fn wrong_type(ctx: &mut Ctx, e: &Expr, expected: &str, example: &str) {
    ctx.error(
        Code::WrongValueType,
        e.span,
        format!("expected {expected}, found {}", describe(e)),
    )
    .label(format!("expected {expected}"))
    .help(format!("write it like {example}"));
}

pub(crate) fn string(ctx: &mut Ctx, e: &Expr, example: &str) -> Option<String> {
    match &e.unparen().kind {
        ExprKind::Str { value, .. } => Some(value.clone()),
        _ => {
            wrong_type(ctx, e, "a string", example);
            None
        }
    }
}

pub(crate) fn duration(ctx: &mut Ctx, e: &Expr) -> Option<u64> {
    match &e.unparen().kind {
        ExprKind::Duration { millis, .. } => Some(*millis),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } if matches!(operand.unparen().kind, ExprKind::Duration { .. }) => {
            ctx.error(Code::BadDuration, e.span, "a duration cannot be negative")
                .label("negative duration")
                .help("write a positive duration such as `5m`");
            None
        }
        _ => {
            wrong_type(ctx, e, "a duration", "`30s`, `5m` or `24h`");
            None
        }
    }
}

pub(crate) fn size(ctx: &mut Ctx, e: &Expr) -> Option<u64> {
    match &e.unparen().kind {
        ExprKind::Size { bytes, .. } => Some(*bytes),
        _ => {
            wrong_type(ctx, e, "a size", "`5MiB` or `64MiB`");
            None
        }
    }
}

/// A number literal, with a leading minus folded in (`-1` parses as the negation of `1`).
pub(crate) fn signed_number(e: &Expr) -> Option<(f64, bool)> {
    match &e.unparen().kind {
        ExprKind::Number { value, is_int, .. } => Some((*value, *is_int)),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => signed_number(operand).map(|(v, i)| (-v, i)),
        _ => None,
    }
}

pub(crate) fn number(ctx: &mut Ctx, e: &Expr) -> Option<f64> {
    let v = signed_number(e).map(|(v, _)| v);
    if v.is_none() {
        wrong_type(ctx, e, "a number", "`2` or `0.5`");
    }
    v
}

pub(crate) fn integer(ctx: &mut Ctx, e: &Expr) -> Option<i64> {
    match signed_number(e) {
        Some((v, true)) => Some(v as i64),
        _ => {
            wrong_type(ctx, e, "a whole number", "`1` or `500`");
            None
        }
    }
}

pub(crate) fn boolean(ctx: &mut Ctx, e: &Expr) -> Option<bool> {
    match &e.unparen().kind {
        ExprKind::Bool(b) => Some(*b),
        _ => {
            wrong_type(ctx, e, "`true` or `false`", "`true`");
            None
        }
    }
}

/// A bare name chosen from a fixed set, e.g. `endpoint = chart`.
pub(crate) fn choice<T: Copy>(ctx: &mut Ctx, e: &Expr, options: &[(&str, T)]) -> Option<T> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let name = match &e.kind {
        ExprKind::Ident(n) => n.as_str(),
        // A quoted choice is accepted with a note-free fallback to the same check.
        ExprKind::Str { value, .. } => value.as_str(),
        _ => {
            wrong_type(
                ctx,
                e,
                &format!("one of {}", one_of(&names)),
                &format!("`{}`", names[0]),
            );
            return None;
        }
    };
    if let Some((_, v)) = options.iter().find(|(n, _)| *n == name) {
        return Some(*v);
    }
    let help = did_you_mean(name, names.iter().copied())
        .unwrap_or_else(|| format!("choose {}", one_of(&names)));
    ctx.error(
        Code::BadEnumValue,
        e.span,
        format!("`{name}` is not one of {}", one_of(&names)),
    )
    .label("not an allowed value")
    .help(help);
    None
}

/// A list, or a single item standing for a one-item list.
pub(crate) fn list_or_one(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::List(items) => items.iter().collect(),
        _ => vec![e],
    }
}

pub(crate) fn list<'e>(ctx: &mut Ctx, e: &'e Expr, example: &str) -> Option<&'e [Expr]> {
    match &e.kind {
        ExprKind::List(items) => Some(items),
        _ => {
            wrong_type(ctx, e, "a list", example);
            None
        }
    }
}

/// A bare name (a field or block reference), with its span.
pub(crate) fn name<'e>(ctx: &mut Ctx, e: &'e Expr, example: &str) -> Option<(&'e str, Span)> {
    match &e.kind {
        ExprKind::Ident(n) => Some((n.as_str(), e.span)),
        _ => {
            wrong_type(ctx, e, "a name", example);
            None
        }
    }
}

/// A call to one of `funcs`, with its string argument: `secret("x")`, `email("a@b")`.
pub(crate) fn string_call<'e>(
    ctx: &mut Ctx,
    e: &'e Expr,
    funcs: &[&str],
    example: &str,
) -> Option<(&'e str, String, Span)> {
    let ExprKind::Call { func, args } = &e.kind else {
        wrong_type(ctx, e, &format!("{}(\"...\")", funcs[0]), example);
        return None;
    };
    if !funcs.contains(&func.name.as_str()) {
        let help = did_you_mean(&func.name, funcs.iter().copied())
            .unwrap_or_else(|| format!("write it like {example}"));
        ctx.error(
            Code::UnknownFunction,
            func.span,
            format!(
                "`{}` is not allowed here; expected {}",
                func.name,
                one_of(funcs)
            ),
        )
        .label("not allowed here")
        .help(help);
        return None;
    }
    match args.as_slice() {
        [arg] => match &arg.kind {
            ExprKind::Str { value, .. } => Some((func.name.as_str(), value.clone(), arg.span)),
            _ => {
                ctx.error(
                    Code::BadArgType,
                    arg.span,
                    format!("`{}` takes a string, found {}", func.name, describe(arg)),
                )
                .label("expected a string")
                .help(format!("write it like {example}"));
                None
            }
        },
        _ => {
            ctx.error(
                Code::WrongArity,
                e.span,
                format!("`{}` takes 1 argument, found {}", func.name, args.len()),
            )
            .label("wrong number of arguments")
            .help(format!("write it like {example}"));
            None
        }
    }
}
