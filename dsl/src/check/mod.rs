//! The checker: syntax tree to IR. It collects every problem in one pass (never stopping at
//! the first) and produces the IR only when there are no errors. Blocks are checked by the
//! handlers registered in [`blocks::REGISTRY`]; adding a block kind is one entry there.

mod attrs;
pub(crate) mod aws;
mod blocks;
mod ctx;
mod expr;

use crate::diag::{Code, Diagnostic};
use crate::ir::{IR_VERSION, Pipeline};
use crate::syntax::ast::{Block, File};
use crate::syntax::parse;
use blocks::{BlockSpec, REGISTRY};
use ctx::{Ctx, did_you_mean};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the checker may ask of the outside world. Tests use [`NoWorld`].
pub trait World {
    /// Whether a path written in the pipeline (relative to the pipeline's folder) exists.
    fn file_exists(&self, path: &str) -> bool;
}

/// A world in which every file exists: checking is purely textual.
pub struct NoWorld;

impl World for NoWorld {
    fn file_exists(&self, _path: &str) -> bool {
        true
    }
}

/// The real file system, relative to the pipeline file's folder.
pub struct FsWorld {
    pub base: PathBuf,
}

impl FsWorld {
    pub fn for_pipeline(file: &Path) -> Self {
        FsWorld {
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
        }
    }
}

impl World for FsWorld {
    fn file_exists(&self, path: &str) -> bool {
        self.base.join(path).exists()
    }
}

/// The result of checking one file.
#[derive(Debug)]
pub struct Checked {
    /// The syntax tree, when the file parsed.
    pub ast: Option<File>,
    /// The IR, when there were no errors.
    pub ir: Option<Pipeline>,
    /// Every diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse and check a source text.
pub fn check_source(source: &str, world: &dyn World) -> Checked {
    match parse(source) {
        Err(diagnostics) => Checked {
            ast: None,
            ir: None,
            diagnostics,
        },
        Ok(ast) => {
            let (ir, diagnostics) = check(&ast, world);
            Checked {
                ast: Some(ast),
                ir,
                diagnostics,
            }
        }
    }
}

/// Check a parsed file. Returns the IR when there are no errors, and all diagnostics.
pub fn check(file: &File, world: &dyn World) -> (Option<Pipeline>, Vec<Diagnostic>) {
    let mut ctx = Ctx::new(world);
    let groups = group_blocks(&mut ctx, file);
    let one = |kw: &str| groups.get(kw).and_then(|v| v.first().copied());
    let all = |kw: &str| groups.get(kw).cloned().unwrap_or_default();

    // Order matters only for what later blocks read: the schema's fields, the stream, sinks.
    let header = one("pipeline").and_then(|b| blocks::pipeline::check(&mut ctx, b));
    let schema = one("schema").and_then(|b| blocks::schema::check(&mut ctx, b));
    let validation = blocks::validate::check(&mut ctx, one("validate"), one("schema"));
    let stream = one("stream").and_then(|b| blocks::stream::check(&mut ctx, b));
    let sources: Vec<_> = all("source")
        .into_iter()
        .filter_map(|b| blocks::source::check(&mut ctx, b, schema.as_ref()))
        .collect();
    let sinks = blocks::sink::check_all(&mut ctx, &all("sink"));
    let env = blocks::alert::AlertEnv {
        has_source: groups.contains_key("source"),
        has_lake: all("sink")
            .iter()
            .any(|b| b.kind.as_ref().is_some_and(|k| k.name == "s3_parquet")),
        stream: stream.as_ref(),
    };
    let alerts: Vec<_> = all("alert")
        .into_iter()
        .filter_map(|b| blocks::alert::check(&mut ctx, b, &env))
        .collect();
    let runtime = one("runtime").and_then(|b| blocks::runtime::check(&mut ctx, b));

    let diagnostics = std::mem::take(&mut ctx.diags).into_sorted();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return (None, diagnostics);
    }
    let (Some(header), Some(schema), Some(validation)) = (header, schema, validation) else {
        // Unreachable in practice: a missing part always reports an error above.
        return (None, diagnostics);
    };
    let pipeline = Pipeline {
        ir_version: IR_VERSION,
        name: header.name,
        region: header.region,
        tags: header.tags,
        smtp: header.smtp,
        sources,
        schema,
        validation,
        stream,
        sinks,
        alerts,
        runtime,
    };
    (Some(pipeline), diagnostics)
}

/// Sort blocks by keyword, reporting unknown keywords, duplicate names, kinds, and blocks
/// that are missing or appear too often.
fn group_blocks<'a>(ctx: &mut Ctx, file: &'a File) -> BTreeMap<&'static str, Vec<&'a Block>> {
    let mut groups: BTreeMap<&'static str, Vec<&'a Block>> = BTreeMap::new();
    // Keywords written in the file, even where the block's kind is wrong (and it is skipped).
    let mut present = std::collections::BTreeSet::new();
    for block in &file.blocks {
        let kw = block.keyword.name.as_str();
        let Some(spec) = REGISTRY.iter().find(|s| s.keyword == kw) else {
            let help = did_you_mean(kw, REGISTRY.iter().map(|s| s.keyword)).unwrap_or_else(|| {
                format!(
                    "blocks are: {}",
                    REGISTRY
                        .iter()
                        .map(|s| s.keyword)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            });
            ctx.error(
                Code::UnknownBlock,
                block.keyword.span,
                format!("unknown block `{kw}`"),
            )
            .label("unknown block keyword")
            .help(help);
            continue;
        };
        present.insert(spec.keyword);
        if !check_kind(ctx, spec, block) {
            continue;
        }
        let group = groups.entry(spec.keyword).or_default();
        if let Some(first) = group.iter().find(|b| b.name.name == block.name.name) {
            ctx.error(
                Code::DuplicateBlock,
                block.name.span,
                format!("there are two `{kw}` blocks named `{}`", block.name.name),
            )
            .label("defined again here")
            .related(first.name.span, "first defined here")
            .help("give each block its own name");
            continue;
        }
        group.push(block);
    }
    for spec in REGISTRY {
        let blocks = groups.get(spec.keyword).map_or(&[][..], |v| v.as_slice());
        if spec.min > 0 && !present.contains(spec.keyword) {
            let span = file
                .blocks
                .first()
                .map_or_else(Default::default, |b| b.keyword.span);
            ctx.error(
                Code::MissingBlock,
                span,
                format!("the pipeline has no `{}` block", spec.keyword),
            )
            .label(format!("no `{}` block in this file", spec.keyword))
            .help(format!("add one, e.g. `{}`", spec.example));
        }
        if let (Some(max), Some(extra)) = (spec.max, blocks.get(spec.max.unwrap_or(usize::MAX))) {
            ctx.error(
                Code::TooManyBlocks,
                extra.keyword.span,
                format!("a pipeline has at most {max} `{}` block", spec.keyword),
            )
            .label("one too many")
            .related(blocks[0].keyword.span, "the first one")
            .help(spec.why_once);
        }
    }
    groups
}

fn check_kind(ctx: &mut Ctx, spec: &BlockSpec, block: &Block) -> bool {
    match (&block.kind, spec.kinds.is_empty()) {
        (None, false) => {
            ctx.error(
                Code::MissingKind,
                block.name.span,
                format!("`{} {}` needs a kind", spec.keyword, block.name.name),
            )
            .label(format!("add `: {}` after the name", spec.kinds[0]))
            .help(format!(
                "write `{} {}: {} {{ ... }}`; kinds are {}",
                spec.keyword,
                block.name.name,
                spec.kinds[0],
                ctx::one_of(spec.kinds)
            ));
            false
        }
        (Some(kind), true) => {
            ctx.error(
                Code::UnexpectedKind,
                kind.span,
                format!("a `{}` block takes no kind", spec.keyword),
            )
            .label("remove this")
            .help(format!(
                "write `{} {} {{ ... }}`",
                spec.keyword, block.name.name
            ));
            false
        }
        (Some(kind), false) if !spec.kinds.contains(&kind.name.as_str()) => {
            let help = did_you_mean(&kind.name, spec.kinds.iter().copied()).unwrap_or_else(|| {
                format!("a `{}` is one of {}", spec.keyword, ctx::one_of(spec.kinds))
            });
            ctx.error(
                Code::UnknownKind,
                kind.span,
                format!("unknown {} kind `{}`", spec.keyword, kind.name),
            )
            .label("unknown kind")
            .help(help);
            false
        }
        _ => true,
    }
}
