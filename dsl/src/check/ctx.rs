//! The state the checker carries through one file: the diagnostics so far, the schema's
//! fields once known, and the world (file system) it may ask about.

use super::World;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::FieldType;
use crate::syntax::span::Span;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub(crate) struct FieldInfo {
    pub ty: FieldType,
    pub required: bool,
    pub span: Span,
}

pub(crate) struct Ctx<'a> {
    pub diags: Diagnostics,
    pub world: &'a dyn World,
    /// The schema's fields in declaration order (empty until the schema is checked).
    pub fields: BTreeMap<String, FieldInfo>,
    pub field_order: Vec<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(world: &'a dyn World) -> Self {
        Ctx {
            diags: Diagnostics::default(),
            world,
            fields: BTreeMap::new(),
            field_order: Vec::new(),
        }
    }

    pub fn report(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub fn error(
        &mut self,
        code: Code,
        span: Span,
        message: impl Into<String>,
    ) -> DiagBuilder<'_, 'a> {
        DiagBuilder {
            ctx: self,
            diag: Some(Diagnostic::new(code, span, message)),
        }
    }
}

/// Builds a diagnostic and reports it when dropped, so a call site reads as one sentence:
/// `ctx.error(code, span, "msg").label("..").help("..");`
pub(crate) struct DiagBuilder<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    diag: Option<Diagnostic>,
}

impl DiagBuilder<'_, '_> {
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.diag = self.diag.take().map(|d| d.label(label));
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.diag = self.diag.take().map(|d| d.help(help));
        self
    }
    pub fn related(mut self, span: Span, label: impl Into<String>) -> Self {
        self.diag = self.diag.take().map(|d| d.related(span, label));
        self
    }
}

impl Drop for DiagBuilder<'_, '_> {
    fn drop(&mut self) {
        if let Some(d) = self.diag.take() {
            self.ctx.diags.push(d);
        }
    }
}

/// "did you mean `x`?" for the closest candidate, if any is close enough.
pub(crate) fn did_you_mean<'c>(
    name: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3) && *d < c.len().max(name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// `a`, `b` or `c`
pub(crate) fn one_of(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} or {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}

/// "the schema's fields are: ..." (or that there is no schema to name fields from).
pub(crate) fn fields_help(fields: &[String]) -> String {
    if fields.is_empty() {
        "the pipeline has no schema fields yet: declare them in the `schema` block".into()
    } else {
        format!("the schema's fields are: {}", fields.join(", "))
    }
}
