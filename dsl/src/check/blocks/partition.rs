//! Partition keys (`partition = [date(ts), hour(ts), symbol]`) shared by the raw and lake
//! sinks: each level of the hive path `date=2024-01-02/symbol=AAPL/`.

use crate::check::attrs::{self, describe};
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{FieldType, PartitionKey, PartitionTransform};
use crate::syntax::ast::{Expr, ExprKind};

pub(crate) fn check(ctx: &mut Ctx, e: &Expr) -> Option<Vec<PartitionKey>> {
    let mut keys: Vec<PartitionKey> = Vec::new();
    let mut ok = true;
    for item in attrs::list_or_one(e) {
        match key(ctx, item) {
            Some(k) if keys.iter().any(|x| x.name == k.name) => {
                ctx.error(
                    Code::DuplicateMember,
                    item.span,
                    format!("partition level `{}` is given twice", k.name),
                )
                .label("again")
                .help("each level of the partition path appears once");
                ok = false;
            }
            Some(k) => keys.push(k),
            None => ok = false,
        }
    }
    ok.then_some(keys)
}

fn key(ctx: &mut Ctx, e: &Expr) -> Option<PartitionKey> {
    match &e.kind {
        ExprKind::Ident(name) => {
            let Some(info) = ctx.fields.get(name).cloned() else {
                let fields = ctx.field_order.join(", ");
                ctx.error(
                    Code::BadPartitionKey,
                    e.span,
                    format!("`{name}` is not a field of the schema"),
                )
                .label("unknown field")
                .help(format!(
                    "partition by a schema field ({fields}) or by `date(ts)` / `hour(ts)`"
                ));
                return None;
            };
            if !info.required {
                ctx.error(
                    Code::NullablePartition,
                    e.span,
                    format!("`{name}` is optional, so records could have no partition"),
                )
                .label("optional field")
                .help(format!(
                    "declare `{name}` required in the schema, or partition by another field"
                ));
                return None;
            }
            if !matches!(
                info.ty,
                FieldType::String | FieldType::Int64 | FieldType::Bool
            ) {
                ctx.error(Code::BadPartitionKey, e.span, format!("`{name}` is {}; partition by a string, integer or boolean", info.ty.name()))
                    .label("unsuitable partition value")
                    .help("partition timestamps with `date(ts)` or `hour(ts)`; floats make one partition per value");
                return None;
            }
            Some(PartitionKey {
                name: name.clone(),
                field: name.clone(),
                transform: PartitionTransform::Identity,
            })
        }
        ExprKind::Call { func, args } if matches!(func.name.as_str(), "date" | "hour") => {
            let transform = if func.name == "date" {
                PartitionTransform::Date
            } else {
                PartitionTransform::Hour
            };
            let [arg] = args.as_slice() else {
                ctx.error(
                    Code::WrongArity,
                    e.span,
                    format!("`{}` takes one timestamp field", func.name),
                )
                .label("wrong number of arguments")
                .help(format!("write `{}(ts)`", func.name));
                return None;
            };
            let (field, span) = attrs::name(ctx, arg, "`date(ts)`")?;
            match ctx.fields.get(field) {
                Some(info) if info.ty == FieldType::Timestamp && info.required => {}
                Some(info) => {
                    let ty = info.ty;
                    ctx.error(
                        Code::BadPartitionKey,
                        span,
                        format!(
                            "`{}` needs a required timestamp, but `{field}` is {}",
                            func.name,
                            if ty == FieldType::Timestamp {
                                "optional".to_string()
                            } else {
                                format!("a {}", ty.name())
                            }
                        ),
                    )
                    .label("not a required timestamp")
                    .help(format!(
                        "write `{}(ts)` with the schema's event time",
                        func.name
                    ));
                    return None;
                }
                None => {
                    ctx.error(
                        Code::BadPartitionKey,
                        span,
                        format!("`{field}` is not a field of the schema"),
                    )
                    .label("unknown field")
                    .help(format!("write `{}(ts)`", func.name));
                    return None;
                }
            }
            Some(PartitionKey {
                name: func.name.clone(),
                field: field.to_string(),
                transform,
            })
        }
        ExprKind::Call { func, .. } => {
            ctx.error(
                Code::BadPartitionKey,
                func.span,
                format!("`{}` is not a partition function", func.name),
            )
            .label("unknown partition function")
            .help("partition by `date(ts)`, `hour(ts)` or a field name");
            None
        }
        _ => {
            ctx.error(
                Code::BadPartitionKey,
                e.span,
                format!("{} is not a partition key", describe(e)),
            )
            .label("not a partition key")
            .help("partition by `date(ts)`, `hour(ts)` or a field name");
            None
        }
    }
}
