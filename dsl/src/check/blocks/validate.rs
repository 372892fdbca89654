//! `validate SCHEMA { rule name: condition ...  on_fail = drop | dead_letter | fail }`.

use crate::check::attrs::{self, AttrSpec, Attrs, Members};
use crate::check::ctx::Ctx;
use crate::check::expr::{ExprContext, check_condition};
use crate::diag::Code;
use crate::ir::{OnFail, Rule, Validation};
use crate::syntax::ast::{Block, Entry};

const SPEC: AttrSpec = AttrSpec {
    allowed: &["on_fail"],
    required: &[],
};

pub(crate) const ON_FAIL: &[(&str, OnFail)] = &[
    ("drop", OnFail::Drop),
    ("dead_letter", OnFail::DeadLetter),
    ("fail", OnFail::Fail),
];

/// With no `validate` block, there are no rules and failures (schema violations) go to the
/// dead-letter location.
pub(crate) fn check(
    ctx: &mut Ctx,
    block: Option<&Block>,
    schema: Option<&Block>,
) -> Option<Validation> {
    let Some(block) = block else {
        return Some(Validation {
            rules: Vec::new(),
            on_fail: OnFail::DeadLetter,
        });
    };
    let a = Attrs::collect(
        ctx,
        block,
        &SPEC,
        Members {
            fields: false,
            rules: true,
        },
    );
    if let Some(schema) = schema
        && schema.name.name != block.name.name
    {
        ctx.error(
            Code::UnknownRef,
            block.name.span,
            format!("there is no schema named `{}`", block.name.name),
        )
        .label("unknown schema")
        .related(schema.name.span, "the schema is named here")
        .help(format!("write `validate {} {{ ... }}`", schema.name.name));
    }
    let mut rules: Vec<Rule> = Vec::new();
    let mut ok = true;
    let mut seen = std::collections::BTreeMap::new();
    for entry in &block.entries {
        let Entry::Rule(r) = entry else { continue };
        if let Some(first) = seen.insert(r.name.name.clone(), r.name.span) {
            ctx.error(
                Code::DuplicateMember,
                r.name.span,
                format!("rule `{}` is defined twice", r.name.name),
            )
            .label("defined again here")
            .related(first, "first defined here")
            .help("give each rule its own name: dead letters report it");
            ok = false;
            continue;
        }
        match check_condition(ctx, &r.expr, ExprContext::Rule, "a rule") {
            Some(expr) => rules.push(Rule {
                name: r.name.name.clone(),
                text: crate::fmt::inline(&r.expr),
                expr,
            }),
            None => ok = false,
        }
    }
    let on_fail = match a.get("on_fail") {
        Some(e) => attrs::choice(ctx, e, ON_FAIL)?,
        None => OnFail::DeadLetter,
    };
    ok.then_some(Validation { rules, on_fail })
}
