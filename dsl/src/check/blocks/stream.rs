//! `stream NAME: kinesis { shards, retention, partition_key, pack }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::aws;
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{FieldType, Stream, StreamCapacity};
use crate::syntax::ast::{Block, ExprKind};

const SPEC: AttrSpec = AttrSpec {
    allowed: &["shards", "retention", "partition_key", "pack"],
    required: &["partition_key"],
};

pub(crate) fn check(ctx: &mut Ctx, block: &Block) -> Option<Stream> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let capacity = match a.get("shards") {
        None => Some(StreamCapacity::OnDemand),
        Some(e) if matches!(&e.kind, ExprKind::Ident(n) if n == "on_demand") => {
            Some(StreamCapacity::OnDemand)
        }
        Some(e) => match attrs::signed_number(e) {
            Some((value, true))
                if value >= aws::KINESIS_SHARDS.0 as f64
                    && value <= aws::KINESIS_SHARDS.1 as f64 =>
            {
                Some(StreamCapacity::Provisioned {
                    shards: value as u32,
                })
            }
            Some((value, _)) => {
                ctx.error(Code::ShardCount, e.span, format!("{value} is not a valid shard count"))
                    .label(format!("must be a whole number from {} to {}", aws::KINESIS_SHARDS.0, aws::KINESIS_SHARDS.1))
                    .help("one shard takes 1,000 records or 1 MiB per second; or write `shards = on_demand`");
                None
            }
            _ => {
                attrs::wrong_type(
                    ctx,
                    e,
                    "a shard count or `on_demand`",
                    "`shards = 1` or `shards = on_demand`",
                );
                None
            }
        },
    };
    let retention_hours = match a.get("retention") {
        None => Some(24),
        Some(e) => attrs::duration(ctx, e).and_then(|ms| {
            let h = ms / 3_600_000;
            let (lo, hi) = aws::KINESIS_RETENTION_H;
            if ms % 3_600_000 != 0 || h < lo || h > hi {
                ctx.error(
                    Code::Retention,
                    e.span,
                    "Kinesis keeps records from 24 hours to 365 days, in whole hours",
                )
                .label("outside 24h-8760h")
                .help("write e.g. `retention = 24h` or `retention = 7d`");
                None
            } else {
                Some(h as u32)
            }
        }),
    };
    let partition_key = a.get("partition_key").and_then(|e| {
        let (name, span) = attrs::name(ctx, e, "`partition_key = symbol`")?;
        match ctx.fields.get(name).cloned() {
            None => {
                let fields = ctx.field_order.join(", ");
                ctx.error(
                    Code::UnknownField,
                    span,
                    format!("`{name}` is not a field of the schema"),
                )
                .label("unknown field")
                .help(format!("the partition key is a schema field: {fields}"));
                None
            }
            Some(f) if !f.required || f.ty == FieldType::Bool => {
                ctx.error(
                    Code::NullablePartition,
                    span,
                    format!("`{name}` cannot be the stream's partition key"),
                )
                .label(if f.required {
                    "a boolean has only two values"
                } else {
                    "an optional field can be missing"
                })
                .help("use a required field that spreads records over shards, such as `symbol`");
                None
            }
            Some(_) => Some(name.to_string()),
        }
    });
    let pack = match a.get("pack") {
        None => Some(1),
        Some(e) => attrs::integer(ctx, e).and_then(|n| {
            if (1..=500).contains(&n) {
                Some(n as u32)
            } else {
                ctx.error(
                    Code::BadNumber,
                    e.span,
                    "`pack` must be from 1 to 500 ticks per record",
                )
                .label("out of range")
                .help("a Kinesis record holds at most 1 MiB; 1 (no packing) is the default");
                None
            }
        }),
    };
    Some(Stream {
        name: block.name.name.clone(),
        capacity: capacity?,
        retention_hours: retention_hours?,
        partition_key: partition_key?,
        pack: pack?,
    })
}
