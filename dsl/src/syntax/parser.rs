//! Text to syntax tree: runs the pest grammar and builds the `ast` with spans. Every failure,
//! from a missing brace to a malformed duration, comes back as a diagnostic, never a panic.

use super::ast::*;
use super::literal;
use super::span::{Ident, Span};
use crate::diag::{Code, Diagnostic};
use pest::Parser as _;
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use std::cell::RefCell;
use std::sync::LazyLock;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct StkParser;

/// How deeply brackets may nest. Deeper input is rejected before parsing so that no input
/// can exhaust the stack.
pub const MAX_NESTING: usize = 64;
/// How many operators one expression may hold (the same reason).
pub const MAX_OPERATORS: usize = 512;

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left)
            | Op::infix(Rule::op_div, Assoc::Left)
            | Op::infix(Rule::op_rem, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
});

/// Syntax errors list the punctuation pest expected, which needs its error detail on.
static ERROR_DETAIL: std::sync::Once = std::sync::Once::new();

/// Parse a whole file.
pub fn parse(source: &str) -> Result<File, Vec<Diagnostic>> {
    ERROR_DETAIL.call_once(|| pest::set_error_detail(true));
    check_nesting(source)?;
    let mut pairs =
        StkParser::parse(Rule::file, source).map_err(|e| vec![syntax_error(e, source)])?;
    let file_pair = pairs
        .next()
        .expect("the file rule always produces one pair");
    let comments: Vec<Comment> = file_pair
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| Comment {
            text: p.as_str().trim_end().to_string(),
            span: p.as_span().into(),
        })
        .collect();
    let b = Builder {
        errors: RefCell::new(Vec::new()),
        source,
        comments: &comments,
    };
    let blocks = inner(file_pair)
        .filter(|p| p.as_rule() == Rule::block)
        .map(|p| b.block(p))
        .collect();
    let errors = b.errors.into_inner();
    if errors.is_empty() {
        Ok(File { blocks, comments })
    } else {
        Err(errors)
    }
}

/// Parse a single expression (used for `{...}` interpolations in message templates).
/// `offset` is where the text starts in the file, so spans point into the file.
pub fn parse_expr(text: &str, offset: usize) -> Result<Expr, Vec<Diagnostic>> {
    ERROR_DETAIL.call_once(|| pest::set_error_detail(true));
    let shift = |mut d: Diagnostic| {
        d.span = Span::new(d.span.start + offset, d.span.end + offset);
        d
    };
    check_nesting(text).map_err(|ds| ds.into_iter().map(shift).collect::<Vec<_>>())?;
    let pairs =
        StkParser::parse(Rule::expr_only, text).map_err(|e| vec![shift(syntax_error(e, text))])?;
    let b = Builder {
        errors: RefCell::new(Vec::new()),
        source: text,
        comments: &[],
    };
    let expr_pair = pairs
        .flatten()
        .find(|p| p.as_rule() == Rule::expr)
        .expect("expr_only always holds one expr");
    let mut expr = b.expr(expr_pair);
    let errors = b.errors.into_inner();
    if !errors.is_empty() {
        return Err(errors.into_iter().map(shift).collect());
    }
    shift_expr(&mut expr, offset);
    Ok(expr)
}

fn shift_expr(e: &mut Expr, offset: usize) {
    e.span = Span::new(e.span.start + offset, e.span.end + offset);
    let shift_ident =
        |i: &mut Ident| i.span = Span::new(i.span.start + offset, i.span.end + offset);
    match &mut e.kind {
        ExprKind::List(items) => items.iter_mut().for_each(|x| shift_expr(x, offset)),
        ExprKind::Map(entries) | ExprKind::Tagged { entries, .. } => {
            for en in entries {
                en.span = Span::new(en.span.start + offset, en.span.end + offset);
                shift_ident(&mut en.key);
                shift_expr(&mut en.value, offset);
            }
        }
        ExprKind::Call { func, args } => {
            shift_ident(func);
            args.iter_mut().for_each(|x| shift_expr(x, offset));
        }
        ExprKind::Unary { operand, .. } => shift_expr(operand, offset),
        ExprKind::Binary { lhs, rhs, .. } => {
            shift_expr(lhs, offset);
            shift_expr(rhs, offset);
        }
        ExprKind::Paren(inner) => shift_expr(inner, offset),
        _ => {}
    }
    if let ExprKind::Tagged { tag, .. } = &mut e.kind {
        shift_ident(tag);
    }
}

/// Reject bracket nesting deeper than `MAX_NESTING` (outside strings, regexes and comments).
fn check_nesting(source: &str) -> Result<(), Vec<Diagnostic>> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in source.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') | (false, '\n') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '#' => in_comment = true,
            '(' | '[' | '{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(vec![
                        Diagnostic::new(
                            Code::Syntax,
                            Span::new(i, i + 1),
                            format!("brackets nest more than {MAX_NESTING} levels deep"),
                        )
                        .label("too deep")
                        .help("split the expression into simpler parts"),
                    ]);
                }
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn friendly(rule: &Rule) -> String {
    match rule {
        Rule::EOI => "end of file",
        Rule::block => "a block (`pipeline`, `source`, `schema`, `validate`, `stream`, `sink`, `alert`, `runtime`)",
        Rule::ident | Rule::attr_key => "a name",
        Rule::attr => "an attribute (`key = value`)",
        Rule::rule_decl => "a rule (`rule name: condition`)",
        Rule::field_decl => "a field (`name: type`)",
        Rule::expr => "an expression",
        Rule::string => "a string",
        Rule::regex => "a regular expression (`/.../`)",
        Rule::number => "a number",
        Rule::duration => "a duration (`5s`)",
        Rule::size => "a size (`5MiB`)",
        Rule::percent => "a percentage (`1%`)",
        Rule::kw_required | Rule::kw_optional | Rule::matches_mod | Rule::kw_matches => {
            "a field modifier (`required`, `optional`, `matches /re/`)"
        }
        Rule::kw_rule => "`rule`",
        Rule::op_or | Rule::op_and => "`and`/`or`",
        Rule::op_not => "`not`",
        Rule::op_eq | Rule::op_ne | Rule::op_lt | Rule::op_le | Rule::op_gt | Rule::op_ge => {
            "a comparison"
        }
        Rule::op_add | Rule::op_sub | Rule::op_mul | Rule::op_div | Rule::op_rem | Rule::op_neg => {
            "an operator"
        }
        Rule::list => "a list (`[...]`)",
        Rule::map | Rule::map_entry => "a map entry (`key = value`)",
        Rule::call => "a function call",
        Rule::tagged => "a tagged map (`kind { ... }`)",
        Rule::paren => "`(`",
        Rule::boolean => "`true` or `false`",
        Rule::expr_only => "an expression",
        Rule::null => "`null`",
        other => return format!("{other:?}"),
    }
    .to_string()
}

fn syntax_error(e: pest::error::Error<Rule>, source: &str) -> Diagnostic {
    let span = match e.location {
        pest::error::InputLocation::Pos(p) => Span::new(p, p),
        pest::error::InputLocation::Span((s, end)) => Span::new(s, end),
    };
    let mut expected: Vec<String> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = &e.variant {
        expected.extend(
            positives
                .iter()
                .filter(|r| !matches!(r, Rule::COMMENT | Rule::EOI))
                .map(friendly),
        );
    }
    if let Some(attempts) = e.parse_attempts() {
        for t in attempts.expected_tokens() {
            // Punctuation only: operators and keywords are described by the rules above.
            let token = t.to_string();
            if matches!(
                token.as_str(),
                "=" | ":" | "{" | "}" | "(" | ")" | "[" | "]" | "," | "\"" | "/"
            ) {
                expected.push(format!("`{token}`"));
            }
        }
    }
    // An opening quote with no closing one on its line: say so, rather than what was expected.
    let at = &source[span.start.min(source.len())..];
    if at.starts_with('"')
        && !at[1..]
            .split('\n')
            .next()
            .unwrap_or("")
            .replace("\\\\", "")
            .replace("\\\"", "")
            .contains('"')
    {
        return Diagnostic::new(
            Code::Syntax,
            Span::new(span.start, span.start + 1),
            "syntax error: this string is never closed",
        )
        .label("string starts here")
        .help("close it with `\"` on the same line; a `\"` inside a string is written `\\\"`");
    }
    if let Some(d) = explain_common_mistake(source, span.start, &expected) {
        return d;
    }
    let message = if expected.is_empty() {
        "unexpected input".to_string()
    } else {
        format!("expected {}", join_or(&expected))
    };
    Diagnostic::new(Code::Syntax, span, format!("syntax error: {message}"))
        .label("here")
        .help("see dsl/README.md for the grammar; every block is `keyword name [: kind] { key = value ... }`")
}

const BLOCK_KEYWORDS: &[&str] = &[
    "pipeline", "source", "schema", "validate", "stream", "sink", "alert", "runtime",
];
const MODIFIERS: &[&str] = &["required", "optional", "matches"];

/// Two mistakes the bare "expected ..." message explains badly: a block left open (the next
/// block's keyword is then read as an entry), and a misspelt field modifier (read as the
/// start of the next entry).
fn explain_common_mistake(source: &str, at: usize, expected: &[String]) -> Option<Diagnostic> {
    if !expected.iter().any(|e| e == "`:`" || e == "`=`") {
        return None;
    }
    let before = &source[..at.min(source.len())];
    // The word just before the error position.
    let trimmed = before.trim_end();
    let word_start = trimmed
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map_or(0, |i| i + 1);
    let word = &trimmed[word_start..];
    if BLOCK_KEYWORDS.contains(&word)
        && before[..word_start]
            .trim_end()
            .ends_with(['\n', '}', '"', ']', ')'])
        || BLOCK_KEYWORDS.contains(&word)
            && before[..word_start]
                .chars()
                .rev()
                .take_while(|c| *c != '\n')
                .all(char::is_whitespace)
    {
        return Some(
            Diagnostic::new(
                Code::Syntax,
                Span::new(word_start, word_start + word.len()),
                format!("syntax error: a `{word}` block starts inside the block above it"),
            )
            .label(format!("`{word}` here"))
            .help("the block above is missing its closing `}`"),
        );
    }
    let prev_line_end = before[..word_start]
        .trim_end_matches([' ', '\t'])
        .ends_with('\n');
    if !word.is_empty() && !prev_line_end {
        let close = MODIFIERS
            .iter()
            .find(|m| strsim::damerau_levenshtein(word, m) <= 2);
        if let Some(m) = close {
            return Some(
                Diagnostic::new(
                    Code::Syntax,
                    Span::new(word_start, word_start + word.len()),
                    format!("syntax error: `{word}` is not a field modifier"),
                )
                .label("unknown modifier")
                .help(format!(
                    "did you mean `{m}`? A field is `name: type [required|optional] [matches /re/]`"
                )),
            );
        }
    }
    None
}

fn join_or(items: &[String]) -> String {
    let mut uniq: Vec<&str> = Vec::new();
    for i in items {
        if !uniq.contains(&i.as_str()) {
            uniq.push(i);
        }
    }
    match uniq.len() {
        0 => String::new(),
        1 => uniq[0].to_string(),
        n => format!("{} or {}", uniq[..n - 1].join(", "), uniq[n - 1]),
    }
}

fn is_operator(r: Rule) -> bool {
    matches!(
        r,
        Rule::op_or
            | Rule::op_and
            | Rule::op_not
            | Rule::op_eq
            | Rule::op_ne
            | Rule::op_lt
            | Rule::op_le
            | Rule::op_gt
            | Rule::op_ge
            | Rule::op_add
            | Rule::op_sub
            | Rule::op_mul
            | Rule::op_div
            | Rule::op_rem
            | Rule::op_neg
    )
}

/// The children of a pair, comments left out.
fn inner(p: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    p.into_inner().filter(|c| c.as_rule() != Rule::COMMENT)
}

fn ident(p: Pair<'_, Rule>) -> Ident {
    Ident {
        name: p.as_str().to_string(),
        span: p.as_span().into(),
    }
}

struct Builder<'s> {
    errors: RefCell<Vec<Diagnostic>>,
    source: &'s str,
    comments: &'s [Comment],
}

impl Builder<'_> {
    /// pest ends a repetition's span after the whitespace and comments that follow it;
    /// an entry's span should end at its last token.
    fn trim(&self, span: Span) -> Span {
        let mut end = span.end;
        loop {
            let text = &self.source[span.start..end];
            end = span.start + text.trim_end().len();
            match self
                .comments
                .iter()
                .find(|c| c.span.end == end && c.span.start >= span.start)
            {
                Some(c) => end = c.span.start,
                None => return Span::new(span.start, end),
            }
        }
    }

    fn literal_error(&self, span: Span, what: &str, msg: String) {
        self.errors.borrow_mut().push(
            Diagnostic::new(Code::BadLiteral, span, format!("invalid {what}: {msg}"))
                .label(format!("this {what}"))
                .help(match what {
                    "duration" => "durations are a number and a unit: ms, s, m, h, d, w (`5s`, `1h30m`)",
                    "size" => "sizes are a whole number of bytes: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (`64MiB`)",
                    "string" => "escapes are \\\" \\\\ \\n \\t \\r \\{ \\} and \\u{XXXX}",
                    _ => "numbers are decimal, optionally with `_` separators and an exponent (`1_000`, `2.5e3`)",
                }),
        );
    }

    fn block(&self, p: Pair<'_, Rule>) -> Block {
        let span = p.as_span().into();
        let mut it = inner(p).peekable();
        let keyword = ident(it.next().expect("block keyword"));
        let name = ident(it.next().expect("block name"));
        let kind = match it.peek().map(|p| p.as_rule()) {
            Some(Rule::ident) => it.next().map(ident),
            _ => None,
        };
        let entries = it.map(|e| self.entry(e)).collect();
        Block {
            keyword,
            name,
            kind,
            entries,
            span,
        }
    }

    fn entry(&self, p: Pair<'_, Rule>) -> Entry {
        let span = self.trim(p.as_span().into());
        match p.as_rule() {
            Rule::attr => {
                let mut it = inner(p);
                let key = ident(it.next().expect("attr key"));
                let value = self.expr(it.next().expect("attr value"));
                Entry::Attr(Attr { key, value, span })
            }
            Rule::rule_decl => {
                let mut it = inner(p).skip(1);
                let name = ident(it.next().expect("rule name"));
                let expr = self.expr(it.next().expect("rule expr"));
                Entry::Rule(RuleDecl { name, expr, span })
            }
            Rule::field_decl => {
                let mut it = inner(p);
                let name = ident(it.next().expect("field name"));
                let ty = ident(it.next().expect("field type"));
                let modifiers = it
                    .map(|m| match m.as_rule() {
                        Rule::kw_required => FieldModifier::Required(m.as_span().into()),
                        Rule::kw_optional => FieldModifier::Optional(m.as_span().into()),
                        _ => {
                            let value = inner(m).nth(1).expect("matches value");
                            FieldModifier::Matches(self.primary(value))
                        }
                    })
                    .collect();
                Entry::Field(FieldDecl {
                    name,
                    ty,
                    modifiers,
                    span,
                })
            }
            other => unreachable!("grammar produced {other:?} as an entry"),
        }
    }

    fn expr(&self, p: Pair<'_, Rule>) -> Expr {
        let span: Span = self.trim(p.as_span().into());
        let pairs: Pairs<'_, Rule> = p.into_inner();
        let ops = pairs.clone().filter(|p| is_operator(p.as_rule())).count();
        if ops > MAX_OPERATORS {
            self.errors.borrow_mut().push(
                Diagnostic::new(
                    Code::Syntax,
                    span,
                    format!("expression has more than {MAX_OPERATORS} operators"),
                )
                .label("too long")
                .help("split the expression into several rules"),
            );
            return Expr {
                kind: ExprKind::Null,
                span,
            };
        }
        PRATT
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, operand| {
                let op_kind = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                let span = Span::from(op.as_span()).to(operand.span);
                Expr {
                    kind: ExprKind::Unary {
                        op: op_kind,
                        operand: Box::new(operand),
                    },
                    span,
                }
            })
            .map_infix(|lhs, op, rhs| {
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    Rule::op_div => BinaryOp::Div,
                    _ => BinaryOp::Rem,
                };
                let span = lhs.span.to(rhs.span);
                Expr {
                    kind: ExprKind::Binary {
                        op,
                        lhs: Box::new(lhs),
                        rhs: Box::new(rhs),
                    },
                    span,
                }
            })
            .parse(pairs.filter(|p| p.as_rule() != Rule::COMMENT))
    }

    fn map_entries(&self, p: Pair<'_, Rule>) -> Vec<MapEntry> {
        inner(p)
            .map(|e| {
                let span = self.trim(e.as_span().into());
                let mut it = inner(e);
                let k = it.next().expect("map key");
                let key = if k.as_rule() == Rule::string {
                    let raw = k.as_str();
                    let name = literal::unescape(raw).unwrap_or_else(|m| {
                        self.literal_error(k.as_span().into(), "string", m);
                        String::new()
                    });
                    Ident {
                        name,
                        span: k.as_span().into(),
                    }
                } else {
                    ident(k)
                };
                let value = self.expr(it.next().expect("map value"));
                MapEntry { key, value, span }
            })
            .collect()
    }

    fn primary(&self, p: Pair<'_, Rule>) -> Expr {
        let span: Span = p.as_span().into();
        let raw = p.as_str();
        let kind = match p.as_rule() {
            Rule::paren => {
                ExprKind::Paren(Box::new(self.expr(inner(p).next().expect("paren expr"))))
            }
            Rule::list => ExprKind::List(inner(p).map(|e| self.expr(e)).collect()),
            Rule::map => ExprKind::Map(self.map_entries(p)),
            Rule::call => {
                let mut it = inner(p);
                let func = ident(it.next().expect("call name"));
                ExprKind::Call {
                    func,
                    args: it.map(|e| self.expr(e)).collect(),
                }
            }
            Rule::tagged => {
                let mut it = inner(p);
                let tag = ident(it.next().expect("tag"));
                ExprKind::Tagged {
                    tag,
                    entries: self.map_entries(it.next().expect("tag map")),
                }
            }
            Rule::size => match literal::size_bytes(raw) {
                Ok(bytes) => ExprKind::Size {
                    bytes,
                    raw: raw.into(),
                },
                Err(m) => {
                    self.literal_error(span, "size", m);
                    ExprKind::Null
                }
            },
            Rule::duration => match literal::duration_millis(raw) {
                Ok(millis) => ExprKind::Duration {
                    millis,
                    raw: raw.into(),
                },
                Err(m) => {
                    self.literal_error(span, "duration", m);
                    ExprKind::Null
                }
            },
            Rule::percent => match literal::percent_ratio(raw) {
                Ok(ratio) => ExprKind::Percent {
                    ratio,
                    raw: raw.into(),
                },
                Err(m) => {
                    self.literal_error(span, "percentage", m);
                    ExprKind::Null
                }
            },
            Rule::number => match literal::number(raw) {
                Ok((value, is_int)) => ExprKind::Number {
                    value,
                    is_int,
                    raw: raw.into(),
                },
                Err(m) => {
                    self.literal_error(span, "number", m);
                    ExprKind::Null
                }
            },
            Rule::string => match literal::unescape(raw) {
                Ok(value) => ExprKind::Str {
                    value,
                    raw: raw.into(),
                },
                Err(m) => {
                    self.literal_error(span, "string", m);
                    ExprKind::Null
                }
            },
            Rule::regex => ExprKind::Regex {
                pattern: raw[1..raw.len() - 1].to_string(),
            },
            Rule::boolean => ExprKind::Bool(raw == "true"),
            Rule::null => ExprKind::Null,
            Rule::ident => ExprKind::Ident(raw.to_string()),
            Rule::expr => return self.expr(p),
            other => unreachable!("grammar produced {other:?} as a primary"),
        };
        Expr { kind, span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr_of(src: &str) -> Expr {
        let f = parse(&format!("alert a {{ when = {src} }}")).expect("parses");
        match &f.blocks[0].entries[0] {
            Entry::Attr(a) => a.value.clone(),
            other => panic!("not an attr: {other:?}"),
        }
    }

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs } => {
                format!("({} {} {})", shape(lhs), op.symbol(), shape(rhs))
            }
            ExprKind::Unary {
                op: UnaryOp::Not,
                operand,
            } => format!("(not {})", shape(operand)),
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => format!("(-{})", shape(operand)),
            ExprKind::Call { func, args } => {
                format!(
                    "{}({})",
                    func.name,
                    args.iter().map(shape).collect::<Vec<_>>().join(", ")
                )
            }
            ExprKind::Paren(inner) => shape(inner),
            ExprKind::Ident(n) => n.clone(),
            ExprKind::Number { raw, .. }
            | ExprKind::Duration { raw, .. }
            | ExprKind::Percent { raw, .. }
            | ExprKind::Size { raw, .. } => raw.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn precedence_table() {
        for (src, want) in [
            ("a or b and c", "(a or (b and c))"),
            ("not a and b", "((not a) and b)"),
            ("a > 1 and b < 2", "((a > 1) and (b < 2))"),
            ("a + b * c", "(a + (b * c))"),
            ("a - b - c", "((a - b) - c)"),
            ("-a * b", "((-a) * b)"),
            (
                "abs(pct_change(close, 1m)) > 1%",
                "(abs(pct_change(close, 1m)) > 1%)",
            ),
            ("a / b / c", "((a / b) / c)"),
            ("x % 2 == 0", "((x % 2) == 0)"),
            ("size > 5MiB or t < 1h30m", "((size > 5MiB) or (t < 1h30m))"),
            ("order > 1", "(order > 1)"),
        ] {
            assert_eq!(shape(&expr_of(src)), want, "{src}");
        }
    }

    #[test]
    fn errors_carry_positions() {
        for (src, at) in [
            ("pipeline p { region = }", 22),
            ("pipeline p { region = \"x\" ", 26),
            ("schema s { a: string requird }", 21),
            ("pipeline p { x = 5mx }", 17),
        ] {
            let errs = parse(src).expect_err(src);
            assert_eq!(errs[0].code, Code::Syntax, "{src}");
            assert_eq!(errs[0].span.start, at, "{src}: {errs:?}");
        }
    }

    #[test]
    fn syntax_errors_say_what_was_expected() {
        let errs = parse("schema s { a: string requird }").expect_err("bad");
        assert_eq!(
            errs[0].message,
            "syntax error: `requird` is not a field modifier"
        );
        let errs = parse("source s: yahoo { every = 5s\nschema q { }").expect_err("bad");
        assert_eq!(
            errs[0].message,
            "syntax error: a `schema` block starts inside the block above it"
        );
        let errs = parse("pipeline p { region = \"eu\n}").expect_err("bad");
        assert_eq!(errs[0].message, "syntax error: this string is never closed");
        let errs = parse("pipeline p { region = }").expect_err("bad");
        assert!(
            errs[0]
                .message
                .starts_with("syntax error: expected an expression"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn literal_errors_are_all_reported() {
        let errs = parse("pipeline p { a = \"\\q\"  b = 99999999999999999999 }").expect_err("bad");
        assert_eq!(errs.len(), 2);
        assert!(errs.iter().all(|e| e.code == Code::BadLiteral));
    }

    #[test]
    fn comments_are_collected() {
        let f =
            parse("# head\npipeline p { # trailing\n region = \"eu-west-1\" # r\n}\n").expect("ok");
        let texts: Vec<_> = f.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# head", "# trailing", "# r"]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let src = format!(
            "alert a {{ when = {}1{} }}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        let errs = parse(&src).expect_err("too deep");
        assert_eq!(errs[0].code, Code::Syntax);
    }
}
