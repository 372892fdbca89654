//! Type checking of condition expressions (validation rules, alert conditions, template
//! interpolations) into [`TypedExpr`]. Reports every error it finds, not just the first.

use super::attrs::describe;
use super::ctx::{Ctx, did_you_mean};
use crate::diag::Code;
use crate::ir::{BinOp, ExprNode, Func, Literal, Type, TypedExpr, UnOp};
use crate::syntax::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

/// Where an expression appears, which decides what it may use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExprContext {
    /// A validation rule: per record only.
    Rule,
    /// An alert condition or message: windowed functions allowed.
    Alert,
}

pub(crate) fn check_expr(ctx: &mut Ctx, e: &Expr, cx: ExprContext) -> Option<TypedExpr> {
    Checker {
        cx,
        in_window: false,
    }
    .expr(ctx, e)
}

/// Check an expression that must be a boolean condition.
pub(crate) fn check_condition(
    ctx: &mut Ctx,
    e: &Expr,
    cx: ExprContext,
    what: &str,
) -> Option<TypedExpr> {
    let typed = check_expr(ctx, e, cx)?;
    if typed.ty != Type::Bool {
        ctx.error(
            Code::NotBoolean,
            e.span,
            format!(
                "{what} must be true or false, but this is {}",
                typed.ty.describe()
            ),
        )
        .label(format!("this is {}", typed.ty.describe()))
        .help("compare it with something, e.g. `close > 0`");
        return None;
    }
    Some(typed)
}

struct Checker {
    cx: ExprContext,
    /// Inside the first argument of a stateful function (nesting them is not allowed).
    in_window: bool,
}

fn typed(ty: Type, node: ExprNode) -> TypedExpr {
    TypedExpr { ty, node }
}

fn lit(ty: Type, value: Literal) -> TypedExpr {
    typed(ty, ExprNode::Literal { value })
}

impl Checker {
    fn expr(&mut self, ctx: &mut Ctx, e: &Expr) -> Option<TypedExpr> {
        match &e.kind {
            ExprKind::Paren(inner) => self.expr(ctx, inner),
            ExprKind::Number {
                value,
                is_int: true,
                ..
            } => Some(lit(Type::Int64, Literal::Int(*value as i64))),
            ExprKind::Number { value, .. } => Some(lit(Type::Float64, Literal::Float(*value))),
            ExprKind::Duration { millis, .. } => {
                Some(lit(Type::Duration, Literal::DurationMs(*millis)))
            }
            ExprKind::Size { bytes, .. } => Some(lit(Type::Size, Literal::SizeBytes(*bytes))),
            ExprKind::Percent { ratio, .. } => Some(lit(Type::Percent, Literal::Percent(*ratio))),
            ExprKind::Str { value, .. } => Some(lit(Type::String, Literal::String(value.clone()))),
            ExprKind::Regex { pattern } => {
                if let Err(err) = regex::Regex::new(pattern) {
                    ctx.error(
                        Code::BadRegex,
                        e.span,
                        "this regular expression does not compile",
                    )
                    .label(first_line(&err.to_string()))
                    .help("regexes use Rust `regex` syntax: https://docs.rs/regex/#syntax");
                    return None;
                }
                Some(lit(Type::Regex, Literal::Regex(pattern.clone())))
            }
            ExprKind::Bool(b) => Some(lit(Type::Bool, Literal::Bool(*b))),
            ExprKind::Null => Some(lit(Type::Null, Literal::Null)),
            ExprKind::Ident(name) => self.field(ctx, name, e),
            ExprKind::List(_) | ExprKind::Map(_) | ExprKind::Tagged { .. } => {
                ctx.error(
                    Code::TypeMismatch,
                    e.span,
                    format!("{} cannot be used in a condition", describe(e)),
                )
                .label("not a value")
                .help("conditions compare fields with numbers, strings, durations and percentages");
                None
            }
            ExprKind::Unary { op, operand } => self.unary(ctx, *op, operand, e),
            ExprKind::Binary { op, lhs, rhs } => self.binary(ctx, *op, lhs, rhs, e),
            ExprKind::Call { func, args } => self.call(ctx, &func.name, func.span, args, e),
        }
    }

    fn field(&mut self, ctx: &mut Ctx, name: &str, e: &Expr) -> Option<TypedExpr> {
        if let Some(f) = ctx.fields.get(name) {
            return Some(typed(
                f.ty.expr_type(),
                ExprNode::Field {
                    name: name.to_string(),
                },
            ));
        }
        let known: Vec<String> = ctx.field_order.clone();
        let help = did_you_mean(name, known.iter().map(String::as_str))
            .unwrap_or_else(|| crate::check::ctx::fields_help(&known));
        ctx.error(
            Code::UnknownField,
            e.span,
            format!("`{name}` is not a field of the schema"),
        )
        .label("unknown field")
        .help(help);
        None
    }

    fn unary(&mut self, ctx: &mut Ctx, op: UnaryOp, operand: &Expr, e: &Expr) -> Option<TypedExpr> {
        let arg = self.expr(ctx, operand)?;
        let ty = match (op, arg.ty) {
            (UnaryOp::Not, Type::Bool | Type::Null) => Type::Bool,
            (UnaryOp::Neg, t) if t.is_numeric() || t == Type::Duration || t == Type::Null => t,
            (UnaryOp::Not, t) => {
                ctx.error(
                    Code::TypeMismatch,
                    e.span,
                    format!("`not` needs a boolean, found {}", t.describe()),
                )
                .label(format!("{} here", t.describe()))
                .help("`not` negates a condition, e.g. `not (close > 0)`");
                return None;
            }
            (UnaryOp::Neg, t) => {
                ctx.error(
                    Code::TypeMismatch,
                    e.span,
                    format!("cannot negate {}", t.describe()),
                )
                .label(format!("{} here", t.describe()))
                .help("only numbers, percentages and durations can be negated");
                return None;
            }
        };
        let op = match op {
            UnaryOp::Not => UnOp::Not,
            UnaryOp::Neg => UnOp::Neg,
        };
        Some(typed(
            ty,
            ExprNode::Unary {
                op,
                arg: Box::new(arg),
            },
        ))
    }

    fn binary(
        &mut self,
        ctx: &mut Ctx,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        e: &Expr,
    ) -> Option<TypedExpr> {
        let l = self.expr(ctx, lhs);
        let r = self.expr(ctx, rhs);
        let (l, r) = (l?, r?);
        let (lt, rt) = (l.ty, r.ty);
        let ty = match op {
            BinaryOp::And | BinaryOp::Or => {
                for (t, side) in [(lt, lhs), (rt, rhs)] {
                    if !matches!(t, Type::Bool | Type::Null) {
                        ctx.error(
                            Code::TypeMismatch,
                            side.span,
                            format!(
                                "`{}` needs conditions on both sides, found {}",
                                op.symbol(),
                                t.describe()
                            ),
                        )
                        .label(format!("{} here", t.describe()))
                        .help("compare the value with something, e.g. `volume > 0`");
                        return None;
                    }
                }
                Some(Type::Bool)
            }
            _ if op.is_comparison() => {
                let ok = lt == Type::Null
                    || rt == Type::Null
                    || (lt.is_numeric() && rt.is_numeric())
                    || (lt == rt
                        && lt != Type::Regex
                        && (matches!(op, BinaryOp::Eq | BinaryOp::Ne) || lt != Type::Bool));
                if ok {
                    self.warn_percent_vs_number(ctx, lt, rhs, rt, lhs);
                    Some(Type::Bool)
                } else {
                    None
                }
            }
            BinaryOp::Add | BinaryOp::Sub => match (lt, rt) {
                (Type::Null, t) | (t, Type::Null) if t.is_numeric() || t == Type::Duration => {
                    Some(t)
                }
                (Type::Int64, Type::Int64) => Some(Type::Int64),
                (Type::Percent, Type::Percent) => Some(Type::Percent),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float64),
                (Type::Duration, Type::Duration) => Some(Type::Duration),
                (Type::Timestamp, Type::Duration) => Some(Type::Timestamp),
                (Type::Duration, Type::Timestamp) if op == BinaryOp::Add => Some(Type::Timestamp),
                (Type::Timestamp, Type::Timestamp) if op == BinaryOp::Sub => Some(Type::Duration),
                _ => None,
            },
            BinaryOp::Mul => match (lt, rt) {
                (Type::Int64, Type::Int64) => Some(Type::Int64),
                (Type::Percent, b) | (b, Type::Percent) if b.is_numeric() => Some(Type::Percent),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float64),
                (Type::Null, t) | (t, Type::Null) if t.is_numeric() => Some(t),
                _ => None,
            },
            BinaryOp::Div => match (lt, rt) {
                (Type::Percent, Type::Int64 | Type::Float64) => Some(Type::Percent),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float64),
                (Type::Null, t) | (t, Type::Null) if t.is_numeric() => Some(Type::Float64),
                _ => None,
            },
            BinaryOp::Rem => match (lt, rt) {
                (Type::Null, t) | (t, Type::Null) if t.is_numeric() => Some(t),
                (Type::Int64, Type::Int64) => Some(Type::Int64),
                (a, b) if a.is_numeric() && b.is_numeric() => Some(Type::Float64),
                _ => None,
            },
            _ => None,
        };
        let Some(ty) = ty else {
            let help = mismatch_help(lt, rt);
            let message = if op.is_comparison() {
                format!("cannot compare {} with {}", lt.describe(), rt.describe())
            } else {
                format!(
                    "cannot apply `{}` to {} and {}",
                    op.symbol(),
                    lt.describe(),
                    rt.describe()
                )
            };
            ctx.error(Code::TypeMismatch, e.span, message)
                .label(format!(
                    "{} `{}` {}",
                    lt.describe(),
                    op.symbol(),
                    rt.describe()
                ))
                .related(lhs.span, lt.describe())
                .related(rhs.span, rt.describe())
                .help(help);
            return None;
        };
        let op = match op {
            BinaryOp::Or => BinOp::Or,
            BinaryOp::And => BinOp::And,
            BinaryOp::Eq => BinOp::Eq,
            BinaryOp::Ne => BinOp::Ne,
            BinaryOp::Lt => BinOp::Lt,
            BinaryOp::Le => BinOp::Le,
            BinaryOp::Gt => BinOp::Gt,
            BinaryOp::Ge => BinOp::Ge,
            BinaryOp::Add => BinOp::Add,
            BinaryOp::Sub => BinOp::Sub,
            BinaryOp::Mul => BinOp::Mul,
            BinaryOp::Div => BinOp::Div,
            BinaryOp::Rem => BinOp::Rem,
        };
        Some(typed(
            ty,
            ExprNode::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            },
        ))
    }

    /// `pct_change(close, 1m) > 5` almost always means `> 5%`.
    fn warn_percent_vs_number(&self, ctx: &mut Ctx, lt: Type, rhs: &Expr, rt: Type, lhs: &Expr) {
        for (pct, other) in [(lt, rhs), (rt, lhs)] {
            if pct != Type::Percent {
                continue;
            }
            if let ExprKind::Number { value, raw, .. } = &other.unparen().kind
                && value.abs() > 1.0
            {
                ctx.error(
                    Code::PercentVsNumber,
                    other.span,
                    format!("a percentage is compared with the plain number {raw}"),
                )
                .label(format!("this is {raw} = {}%", value * 100.0))
                .help(format!(
                    "percentages are ratios: write `{raw}%` for {raw} percent"
                ));
            }
        }
    }

    fn call(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        name_span: crate::syntax::span::Span,
        args: &[Expr],
        e: &Expr,
    ) -> Option<TypedExpr> {
        let Some(func) = Func::by_name(name) else {
            let names: Vec<&str> = Func::ALL.iter().map(|f| f.sig().name).collect();
            let synonym = match name {
                "mean" | "average" => Some("avg"),
                "std" | "stdev" | "stdev_samp" => Some("stddev"),
                "pct" | "percent_change" | "pctchange" => Some("pct_change"),
                "lag" | "previous" => Some("prev"),
                "diff" | "delta" => Some("change"),
                _ => None,
            };
            let help = synonym
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| did_you_mean(name, names.iter().copied()))
                .unwrap_or_else(|| format!("the functions are: {}", names.join(", ")));
            ctx.error(
                Code::UnknownFunction,
                name_span,
                format!("unknown function `{name}`"),
            )
            .label("unknown function")
            .help(help);
            return None;
        };
        let sig = func.sig();
        if sig.stateful && self.cx == ExprContext::Rule {
            ctx.error(Code::WindowInRule, e.span, format!("`{name}` looks at earlier records; validation rules see one record at a time"))
                .label("needs earlier records")
                .help("use windowed functions in an `alert` condition; a rule checks each record on its own");
            return None;
        }
        if sig.stateful && self.in_window {
            ctx.error(
                Code::WindowInRule,
                e.span,
                format!("`{name}` cannot be nested inside another function that looks at earlier records (windowed functions and `prev`)"),
            )
            .label("nested stateful function")
            .help("compare two windowed values instead, e.g. `avg(close, 1m) > avg(close, 1h)`");
            return None;
        }
        if args.len() < sig.arity.0 || args.len() > sig.arity.1 {
            let want = if sig.arity.0 == sig.arity.1 {
                sig.arity.0.to_string()
            } else {
                format!("{}-{}", sig.arity.0, sig.arity.1)
            };
            let plural = if want == "1" { "" } else { "s" };
            ctx.error(
                Code::WrongArity,
                e.span,
                format!(
                    "`{name}` takes {want} argument{plural}, found {}",
                    args.len()
                ),
            )
            .label("wrong number of arguments")
            .help(sig.doc);
            return None;
        }
        let was = self.in_window;
        self.in_window |= sig.stateful;
        let mut typed_args = Vec::with_capacity(args.len());
        let mut failed = false;
        for (i, a) in args.iter().enumerate() {
            if sig.windowed && i == 1 {
                match &a.unparen().kind {
                    ExprKind::Duration { millis: 0, .. } => {
                        ctx.error(
                            Code::BadDuration,
                            a.span,
                            "a window of zero length is empty",
                        )
                        .label("zero window")
                        .help("use a positive duration, e.g. `1m`");
                        failed = true;
                    }
                    ExprKind::Duration { millis, .. } => {
                        typed_args.push(lit(Type::Duration, Literal::DurationMs(*millis)))
                    }
                    _ => {
                        ctx.error(
                            Code::WindowNotConstant,
                            a.span,
                            format!(
                                "the window of `{name}` must be a duration literal, found {}",
                                describe(a)
                            ),
                        )
                        .label("expected a duration like `1m`")
                        .help(sig.doc);
                        failed = true;
                    }
                }
                continue;
            }
            match self.expr(ctx, a) {
                Some(t) => typed_args.push(t),
                None => failed = true,
            }
        }
        self.in_window = was;
        if failed {
            return None;
        }
        let tys: Vec<Type> = typed_args.iter().map(|a| a.ty).collect();
        let bad_arg = |ctx: &mut Ctx, i: usize, want: &str| {
            ctx.error(
                Code::BadArgType,
                args[i].span,
                format!("`{name}` needs {want}, found {}", tys[i].describe()),
            )
            .label(format!("{} here", tys[i].describe()))
            .help(sig.doc);
        };
        let numeric = |t: Type| t.is_numeric() || t == Type::Null;
        match func {
            Func::Abs
            | Func::PctChange
            | Func::Change
            | Func::Avg
            | Func::Min
            | Func::Max
            | Func::Sum
            | Func::Stddev => {
                if !numeric(tys[0]) {
                    bad_arg(ctx, 0, "a number");
                    return None;
                }
            }
            Func::Matches => {
                if !matches!(tys[0], Type::String | Type::Null) {
                    bad_arg(ctx, 0, "a string");
                    return None;
                }
                if tys[1] != Type::Regex {
                    bad_arg(ctx, 1, "a regular expression like `/^[A-Z]+$/`");
                    return None;
                }
            }
            Func::Coalesce => {
                let (a, b) = (tys[0], tys[1]);
                if !(a == b
                    || a == Type::Null
                    || b == Type::Null
                    || (a.is_numeric() && b.is_numeric()))
                {
                    bad_arg(ctx, 1, a.describe());
                    return None;
                }
            }
            Func::IsNull | Func::Prev | Func::Count => {}
        }
        Some(typed(
            func.result_type(&tys),
            ExprNode::Call {
                func,
                args: typed_args,
            },
        ))
    }
}

fn mismatch_help(l: Type, r: Type) -> String {
    if l == Type::Bool && r == Type::Bool {
        return "booleans compare only with `==` and `!=`".into();
    }
    let has = |t| l == t || r == t;
    if has(Type::Percent) && has(Type::Duration) {
        "a percentage is written `1%` and a duration `1m`: check which one is meant".into()
    } else if has(Type::String) && (l.is_numeric() || r.is_numeric()) {
        "strings compare only with strings; quote the value (`symbol == \"AAPL\"`) or use a numeric field".into()
    } else if has(Type::Timestamp) {
        "timestamps compare with timestamps; add or subtract durations (`ts - 1h`)".into()
    } else {
        format!(
            "both sides must be of compatible types ({} and {} are not)",
            l.describe(),
            r.describe()
        )
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}
