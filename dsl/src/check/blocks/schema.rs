//! `schema NAME { field: type [required|optional] [matches /re/] ...  event_time = ts }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::ctx::{Ctx, FieldInfo, did_you_mean};
use crate::diag::Code;
use crate::ir::{Field, FieldType, Schema};
use crate::syntax::ast::{Block, Entry, ExprKind, FieldModifier};

const SPEC: AttrSpec = AttrSpec {
    allowed: &["event_time"],
    required: &[],
};

pub(crate) fn check(ctx: &mut Ctx, block: &Block) -> Option<Schema> {
    let a = Attrs::collect(
        ctx,
        block,
        &SPEC,
        Members {
            fields: true,
            rules: false,
        },
    );
    let mut fields: Vec<Field> = Vec::new();
    for entry in &block.entries {
        let Entry::Field(f) = entry else { continue };
        let ty = FieldType::ALL
            .iter()
            .find(|(n, _)| *n == f.ty.name)
            .map(|(_, t)| *t);
        let Some(ty) = ty else {
            let help = did_you_mean(&f.ty.name, FieldType::ALL.iter().map(|(n, _)| *n))
                .unwrap_or_else(|| "types are string, int64, float64, bool, timestamp".into());
            ctx.error(
                Code::UnknownType,
                f.ty.span,
                format!("unknown type `{}`", f.ty.name),
            )
            .label("unknown type")
            .help(help);
            continue;
        };
        if let Some(first) = ctx.fields.get(&f.name.name) {
            let first = first.span;
            ctx.error(
                Code::DuplicateMember,
                f.name.span,
                format!("field `{}` is declared twice", f.name.name),
            )
            .label("declared again here")
            .related(first, "first declared here")
            .help("rename or remove one of them");
            continue;
        }
        let mut required = None;
        let mut pattern = None;
        for m in &f.modifiers {
            match m {
                FieldModifier::Required(s) | FieldModifier::Optional(s) => {
                    let this = matches!(m, FieldModifier::Required(_));
                    if required.replace(this).is_some() {
                        ctx.error(
                            Code::DuplicateAttr,
                            *s,
                            "`required`/`optional` is given twice",
                        )
                        .label("given again")
                        .help("a field is either `required` or `optional` (the default)");
                    }
                }
                FieldModifier::Matches(e) => {
                    if pattern.is_some() {
                        ctx.error(Code::DuplicateAttr, e.span, "`matches` is given twice")
                            .label("second pattern")
                            .help("combine the patterns into one regex, e.g. `/^(?:a|b)$/`");
                        continue;
                    }
                    let re = match &e.kind {
                        ExprKind::Regex { pattern } => pattern.clone(),
                        ExprKind::Str { value, .. } => value.clone(),
                        _ => continue,
                    };
                    if ty != FieldType::String {
                        ctx.error(
                            Code::WrongValueType,
                            e.span,
                            format!(
                                "`matches` applies to strings, but `{}` is {}",
                                f.name.name,
                                ty.name()
                            ),
                        )
                        .label("not a string field")
                        .help("use a validation rule for numeric ranges, e.g. `rule r: close > 0`");
                        continue;
                    }
                    match regex::Regex::new(&re) {
                        Ok(_) => pattern = Some(re),
                        Err(err) => {
                            let msg = err.to_string();
                            let last = msg
                                .lines()
                                .rev()
                                .find(|l| !l.trim().is_empty())
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            ctx.error(
                                Code::BadRegex,
                                e.span,
                                "this regular expression does not compile",
                            )
                            .label(last)
                            .help("regexes use Rust `regex` syntax: https://docs.rs/regex/#syntax");
                        }
                    }
                }
            }
        }
        let required = required.unwrap_or(false);
        ctx.fields.insert(
            f.name.name.clone(),
            FieldInfo {
                ty,
                required,
                span: f.name.span,
            },
        );
        ctx.field_order.push(f.name.name.clone());
        fields.push(Field {
            name: f.name.name.clone(),
            ty,
            required,
            pattern,
        });
    }

    let (event_time, span) = match a.get("event_time") {
        Some(e) => (
            attrs::name(ctx, e, "`event_time = ts`").map(|(n, _)| n.to_string()),
            e.span,
        ),
        None => (Some("ts".to_string()), block.name.span),
    };
    let event_time = event_time?;
    match ctx.fields.get(&event_time).cloned() {
        Some(FieldInfo {
            ty: FieldType::Timestamp,
            required: true,
            ..
        }) => {}
        Some(info) => {
            let s = info.span;
            ctx.error(
                Code::EventTime,
                s,
                format!("the event-time field `{event_time}` must be a required timestamp"),
            )
            .label(format!(
                "declared as {}{}",
                info.ty.name(),
                if info.required { "" } else { ", optional" }
            ))
            .help(format!("declare it `{event_time}: timestamp required`"));
        }
        None => {
            ctx.error(
                Code::EventTime,
                span,
                format!("the schema has no event-time field `{event_time}`"),
            )
            .label("no such field")
            .help(format!(
                "add `{event_time}: timestamp required`, or name another with `event_time = field`"
            ));
        }
    }
    Some(Schema {
        name: block.name.name.clone(),
        fields,
        event_time,
    })
}
