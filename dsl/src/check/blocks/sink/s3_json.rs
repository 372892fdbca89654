//! `sink NAME: s3_json { buffer, partition, compression, retention }`: raw JSON objects, written
//! by Firehose on AWS (so its buffer rules apply) and directly by local runs.

use crate::check::attrs::{self, AttrSpec, Attrs, Members, map_attrs};
use crate::check::aws;
use crate::check::blocks::partition;
use crate::check::ctx::Ctx;
use crate::diag::Code;
use crate::ir::{RawCompression, RawSink, SinkKind};
use crate::syntax::ast::{Block, Expr, ExprKind};

const SPEC: AttrSpec = AttrSpec {
    allowed: &["buffer", "partition", "compression", "retention"],
    required: &[],
};
const BUFFER: AttrSpec = AttrSpec {
    allowed: &["interval", "size"],
    required: &[],
};
const COMPRESSION: &[(&str, RawCompression)] = &[
    ("none", RawCompression::None),
    ("gzip", RawCompression::Gzip),
];
const MIB: u64 = 1 << 20;

pub(super) fn check(ctx: &mut Ctx, block: &Block, _sinks: &[&Block]) -> Option<SinkKind> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let partition = match a.get("partition") {
        Some(e) => partition::check(ctx, e),
        None => Some(Vec::new()),
    };
    let partitioned = partition.as_ref().is_some_and(|p| !p.is_empty());
    // Keep checking after a bad buffer, so every problem is reported in one run.
    let buffered = match a.get("buffer") {
        Some(e) => buffer(ctx, e, partitioned),
        None => Some((60, if partitioned { 64 * MIB } else { 5 * MIB })),
    };
    let compression = match a.get("compression") {
        Some(e) => attrs::choice(ctx, e, COMPRESSION),
        None => Some(RawCompression::None),
    };
    let retention_days = retention(ctx, a.get("retention"))?;
    let (interval, size) = buffered?;
    Some(SinkKind::S3Json(RawSink {
        buffer_interval_s: interval,
        buffer_size_bytes: size,
        partition: partition?,
        compression: compression?,
        retention_days,
    }))
}

/// `buffer = { interval = 60s  size = 64MiB }`
fn buffer(ctx: &mut Ctx, e: &Expr, partitioned: bool) -> Option<(u32, u64)> {
    let ExprKind::Map(entries) = &e.kind else {
        attrs::wrong_type(
            ctx,
            e,
            "a map",
            "`buffer = { interval = 60s  size = 64MiB }`",
        );
        return None;
    };
    let m = map_attrs(ctx, entries, e.span, &BUFFER, "buffer");
    let interval = match m.get("interval") {
        None => Some(60),
        Some(v) => attrs::duration(ctx, v).and_then(|ms| {
            let (lo, hi) = aws::FIREHOSE_INTERVAL_S;
            if ms % 1000 != 0 || ms / 1000 < lo || ms / 1000 > hi {
                ctx.error(Code::BufferInterval, v.span, "Firehose buffers for 60 to 900 seconds")
                    .label(if ms % 1000 != 0 { "not a whole number of seconds" } else { "outside 60s-900s" })
                    .help("write e.g. `interval = 60s` (the lowest latency Firehose allows with dynamic partitioning)");
                None
            } else {
                Some((ms / 1000) as u32)
            }
        }),
    };
    let default_size = if partitioned { 64 * MIB } else { 5 * MIB };
    let size = match m.get("size") {
        None => Some(default_size),
        Some(v) => attrs::size(ctx, v).and_then(|bytes| {
            let (lo, hi) = aws::FIREHOSE_SIZE_MIB;
            if bytes % MIB != 0 || bytes / MIB < lo || bytes / MIB > hi {
                ctx.error(Code::BufferSize, v.span, "Firehose buffers 1 to 128 MiB, in whole MiB")
                    .label(if bytes % MIB != 0 { "not a whole number of MiB (1 MB is 1,000,000 bytes)" } else { "outside 1MiB-128MiB" })
                    .help("write e.g. `size = 64MiB`");
                None
            } else if partitioned && bytes / MIB < aws::FIREHOSE_PARTITIONED_MIN_MIB {
                ctx.error(Code::PartitionedBufferSize, v.span, "with dynamic partitioning, Firehose needs a buffer of at least 64 MiB")
                    .label("below 64MiB")
                    .help("write `size = 64MiB`: Firehose still delivers every `interval`, so small volumes are not delayed");
                None
            } else {
                Some(bytes)
            }
        }),
    };
    Some((interval?, size?))
}

/// `retention = 90d`: an S3 lifecycle rule expiring objects after whole days.
pub(crate) fn retention(ctx: &mut Ctx, e: Option<&Expr>) -> Option<Option<u32>> {
    let Some(e) = e else { return Some(None) };
    let ms = attrs::duration(ctx, e)?;
    let day = 86_400_000;
    if ms == 0 || ms % day != 0 || ms / day > 36_500 {
        ctx.error(
            Code::BadDuration,
            e.span,
            "S3 lifecycle expiry is 1 to 36500 days, in whole days",
        )
        .label("not whole days")
        .help("write e.g. `retention = 90d`");
        return None;
    }
    Some(Some((ms / day) as u32))
}
