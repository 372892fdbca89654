//! The canonical formatter. One entry per line, two-space indent, one blank line between
//! blocks, single blank lines inside blocks kept, every comment kept (a comment inside a
//! multi-line value moves after it). `format(format(x)) == format(x)` for every input.

use crate::Diagnostic;
use crate::syntax::ast::*;
use crate::syntax::parse;

/// Lines longer than this break lists and maps over several lines.
pub const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Format source text; a file that does not parse is returned as its diagnostics.
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    let file = parse(source)?;
    Ok(format(&file, source))
}

/// Format a parsed file. `source` is the text it was parsed from (for blank lines).
pub fn format(file: &File, source: &str) -> String {
    let mut p = Printer {
        out: String::new(),
        comments: &file.comments,
        next: 0,
        source,
    };
    for block in &file.blocks {
        p.ensure_blank();
        p.leading_comments(block.span.start, "");
        p.block(block);
    }
    p.leading_comments(usize::MAX, "");
    while p.out.ends_with("\n\n") {
        p.out.pop();
    }
    if p.out.is_empty() {
        return p.out;
    }
    if !p.out.ends_with('\n') {
        p.out.push('\n');
    }
    p.out
}

struct Printer<'a> {
    out: String,
    comments: &'a [Comment],
    /// The first comment not printed yet.
    next: usize,
    source: &'a str,
}

impl Printer<'_> {
    /// Print, each on its own line, the comments that start before `pos`, keeping single
    /// blank lines the source has before each of them and before `pos`.
    fn leading_comments(&mut self, pos: usize, indent: &str) {
        while let Some(c) = self.comments.get(self.next).filter(|c| c.span.start < pos) {
            if self.blank_line_before(c.span.start) {
                self.ensure_blank();
            }
            self.out.push_str(indent);
            self.out.push_str(&c.text);
            self.out.push('\n');
            self.next += 1;
        }
        if pos < self.source.len() && self.blank_line_before(pos) {
            self.ensure_blank();
        }
    }

    /// One empty line here, unless at the start of the file or of a block, or already there.
    fn ensure_blank(&mut self) {
        if !(self.out.is_empty() || self.out.ends_with("\n\n") || self.out.ends_with("{\n")) {
            self.out.push('\n');
        }
    }

    /// A comment on the same source line as `end` (after it, before `limit`, where the next
    /// entry starts) goes at the end of the line.
    fn trailing_comment(&mut self, end: usize, limit: usize) {
        if let Some(c) = self.comments.get(self.next) {
            let between = self.source.get(end..c.span.start).unwrap_or("\n");
            if c.span.start >= end && c.span.start < limit && !between.contains('\n') {
                self.out.push_str("  ");
                self.out.push_str(&c.text);
                self.next += 1;
            }
        }
    }

    /// Whether the source has an empty line just before `pos` (ignoring what's on it).
    fn blank_line_before(&self, pos: usize) -> bool {
        let before = &self.source[..pos.min(self.source.len())];
        let trimmed = before.trim_end_matches([' ', '\t']);
        let Some(rest) = trimmed.strip_suffix('\n') else {
            return false;
        };
        rest.trim_end_matches([' ', '\t', '\r']).ends_with('\n')
    }

    fn block(&mut self, b: &Block) {
        self.out.push_str(&b.keyword.name);
        self.out.push(' ');
        self.out.push_str(&b.name.name);
        if let Some(kind) = &b.kind {
            self.out.push_str(": ");
            self.out.push_str(&kind.name);
        }
        let first_entry = b.entries.first().map_or(b.span.end, |e| e.span().start);
        let has_inner_comment = self
            .comments
            .get(self.next)
            .is_some_and(|c| c.span.start < b.span.end);
        if b.entries.is_empty() && !has_inner_comment {
            self.out.push_str(" {}\n");
            return;
        }
        self.out.push_str(" {");
        // A comment on the header line, before the first entry, stays on the header line.
        let header_line_end = self.source[b.span.start..]
            .find('\n')
            .map_or(b.span.end, |i| b.span.start + i);
        if let Some(c) = self.comments.get(self.next)
            && c.span.start < first_entry
            && c.span.start < header_line_end
        {
            self.out.push(' ');
            self.out.push_str(&c.text);
            self.next += 1;
        }
        self.out.push('\n');
        for (i, entry) in b.entries.iter().enumerate() {
            self.leading_comments(entry.span().start, INDENT);
            self.out.push_str(INDENT);
            self.entry(entry);
            let limit = b.entries.get(i + 1).map_or(b.span.end, |e| e.span().start);
            self.trailing_comment(entry.span().end, limit);
            self.out.push('\n');
        }
        self.leading_comments(b.span.end, INDENT);
        self.out.push_str("}\n");
    }

    fn entry(&mut self, e: &Entry) {
        match e {
            Entry::Attr(a) => {
                let prefix = format!("{} = ", a.key.name);
                self.out.push_str(&prefix);
                let text = expr(&a.value, INDENT.len() + prefix.len(), 1);
                self.out.push_str(&text);
            }
            Entry::Rule(r) => {
                let prefix = format!("rule {}: ", r.name.name);
                self.out.push_str(&prefix);
                self.out
                    .push_str(&expr(&r.expr, INDENT.len() + prefix.len(), 1));
            }
            Entry::Field(f) => {
                self.out
                    .push_str(&format!("{}: {}", f.name.name, f.ty.name));
                for m in &f.modifiers {
                    match m {
                        FieldModifier::Required(_) => self.out.push_str(" required"),
                        FieldModifier::Optional(_) => self.out.push_str(" optional"),
                        FieldModifier::Matches(e) => {
                            self.out.push_str(" matches ");
                            self.out.push_str(&inline(e));
                        }
                    }
                }
            }
        }
    }
}

/// An expression starting at column `col`, nested `depth` levels deep (for indentation of
/// broken lists and maps).
fn expr(e: &Expr, col: usize, depth: usize) -> String {
    let flat = inline(e);
    if col + flat.len() <= WIDTH && !flat.contains('\n') {
        return flat;
    }
    let pad = INDENT.repeat(depth + 1);
    let close_pad = INDENT.repeat(depth);
    match &e.kind {
        ExprKind::List(items) if !items.is_empty() => {
            let mut s = String::from("[\n");
            for item in items {
                s.push_str(&pad);
                s.push_str(&expr(item, pad.len(), depth + 1));
                s.push_str(",\n");
            }
            s.push_str(&close_pad);
            s.push(']');
            s
        }
        ExprKind::Map(entries) if !entries.is_empty() => map_block("", entries, depth),
        ExprKind::Tagged { tag, entries } if !entries.is_empty() => {
            map_block(&format!("{} ", tag.name), entries, depth)
        }
        _ => flat,
    }
}

fn map_block(prefix: &str, entries: &[MapEntry], depth: usize) -> String {
    let pad = INDENT.repeat(depth + 1);
    let mut s = format!("{prefix}{{\n");
    for en in entries {
        let key = map_key(&en.key.name);
        s.push_str(&pad);
        s.push_str(&key);
        s.push_str(" = ");
        s.push_str(&expr(&en.value, pad.len() + key.len() + 3, depth + 1));
        s.push('\n');
    }
    s.push_str(&INDENT.repeat(depth));
    s.push('}');
    s
}

fn map_key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !matches!(k, "and" | "or" | "not" | "true" | "false" | "null");
    if ident {
        k.to_string()
    } else {
        serde_json::to_string(k).unwrap_or_else(|_| format!("\"{k}\""))
    }
}

/// An expression on one line.
pub fn inline(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Number { raw, .. }
        | ExprKind::Duration { raw, .. }
        | ExprKind::Size { raw, .. }
        | ExprKind::Percent { raw, .. }
        | ExprKind::Str { raw, .. } => raw.clone(),
        ExprKind::Regex { pattern } => format!("/{pattern}/"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Null => "null".into(),
        ExprKind::Ident(n) => n.clone(),
        ExprKind::List(items) => format!(
            "[{}]",
            items.iter().map(inline).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Map(entries) if entries.is_empty() => "{}".into(),
        ExprKind::Map(entries) => format!("{{ {} }}", map_inline(entries)),
        ExprKind::Tagged { tag, entries } if entries.is_empty() => format!("{} {{}}", tag.name),
        ExprKind::Tagged { tag, entries } => format!("{} {{ {} }}", tag.name, map_inline(entries)),
        ExprKind::Call { func, args } => {
            format!(
                "{}({})",
                func.name,
                args.iter().map(inline).collect::<Vec<_>>().join(", ")
            )
        }
        ExprKind::Unary {
            op: UnaryOp::Not,
            operand,
        } => format!("not {}", inline(operand)),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => format!("-{}", inline(operand)),
        ExprKind::Binary { op, lhs, rhs } => {
            format!("{} {} {}", inline(lhs), op.symbol(), inline(rhs))
        }
        ExprKind::Paren(inner) => format!("({})", inline(inner)),
    }
}

fn map_inline(entries: &[MapEntry]) -> String {
    entries
        .iter()
        .map(|en| format!("{} = {}", map_key(&en.key.name), inline(&en.value)))
        .collect::<Vec<_>>()
        .join(", ")
}
