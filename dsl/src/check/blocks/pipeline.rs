//! `pipeline NAME { region, tags, smtp }`: the header every file starts with.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::aws;
use crate::check::ctx::{Ctx, did_you_mean};
use crate::diag::Code;
use crate::syntax::ast::{Block, ExprKind};
use std::collections::BTreeMap;

pub(crate) struct Header {
    pub name: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    pub smtp: Option<String>,
}

const SPEC: AttrSpec = AttrSpec {
    allowed: &["region", "tags", "smtp"],
    required: &["region"],
};

/// Longest pipeline name: bucket names `stk-<name>-artifacts-<account>-<region>` must fit 63.
const MAX_NAME: usize = 20;

pub(crate) fn check(ctx: &mut Ctx, block: &Block) -> Option<Header> {
    let a = Attrs::collect(ctx, block, &SPEC, Members::default());
    let name = block.name.name.clone();
    let name_ok = name.len() <= MAX_NAME
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !name_ok {
        let lower = name.to_ascii_lowercase();
        ctx.error(
            Code::BadPipelineName,
            block.name.span,
            format!("`{name}` cannot name AWS resources"),
        )
        .label(format!(
            "must be 1-{MAX_NAME} lowercase letters, digits or `_`, starting with a letter"
        ))
        .help(format!(
            "S3 bucket and Lambda names are derived from it; try `{}`",
            suggest_name(&lower)
        ));
    }
    let region = a.get("region").and_then(|e| {
        let r = attrs::string(ctx, e, "`\"eu-central-1\"`")?;
        if aws::REGIONS.contains(&r.as_str()) {
            Some(r)
        } else {
            let help = did_you_mean(&r, aws::REGIONS.iter().copied())
                .unwrap_or_else(|| "regions look like `eu-central-1` or `us-east-1`".into());
            ctx.error(
                Code::BadRegion,
                e.span,
                format!("`{r}` is not an AWS region"),
            )
            .label("unknown region")
            .help(help);
            None
        }
    });
    let mut tags = BTreeMap::new();
    if let Some(e) = a.get("tags") {
        match &e.kind {
            ExprKind::Map(entries) => {
                for en in entries {
                    let Some(value) = attrs::string(ctx, &en.value, "`project = \"stocks\"`")
                    else {
                        continue;
                    };
                    if let Some(problem) = aws::tag_problem(&en.key.name, &value) {
                        ctx.error(
                            Code::BadTag,
                            en.span,
                            format!("tag `{}` is not allowed", en.key.name),
                        )
                        .label(problem)
                        .help(
                            "see AWS tag restrictions: keys up to 128 characters, values up to 256",
                        );
                        continue;
                    }
                    if tags.insert(en.key.name.clone(), value).is_some() {
                        ctx.error(
                            Code::DuplicateMember,
                            en.key.span,
                            format!("tag `{}` is given twice", en.key.name),
                        )
                        .label("given again here")
                        .help("remove one of them");
                    }
                }
            }
            _ => attrs::wrong_type(ctx, e, "a map of tags", "`{ project = \"stocks\" }`"),
        }
    }
    let smtp = a.get("smtp").and_then(|e| {
        let s = attrs::string(ctx, e, "`\"127.0.0.1:1025\"`")?;
        let ok = s.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !ok {
            ctx.error(Code::BadUrl, e.span, format!("`{s}` is not `host:port`"))
                .label("expected host:port")
                .help("write the SMTP server like `\"127.0.0.1:1025\"`");
            return None;
        }
        Some(s)
    });
    Some(Header {
        name,
        region: region?,
        tags,
        smtp,
    })
}

/// A valid name close to `lower`: letters, digits and `_`, starting with a letter.
fn suggest_name(lower: &str) -> String {
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
        .collect();
    let trimmed = kept.trim_start_matches(|c: char| !c.is_ascii_lowercase());
    let mut name: String = trimmed.chars().take(MAX_NAME).collect();
    if name.is_empty() {
        name = "pipeline".into();
    }
    name
}
