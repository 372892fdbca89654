//! The syntax tree of a `.stk` file: what was written, with spans, before any meaning is
//! given to it. The checker (`crate::check`) turns it into the IR; the formatter prints it.

use super::span::{Ident, Span};

/// A parsed file: its blocks in order, and every comment with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub blocks: Vec<Block>,
    pub comments: Vec<Comment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The comment text including the leading `#`, without the line end.
    pub text: String,
    pub span: Span,
}

/// `keyword name [: kind] { entries }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub keyword: Ident,
    pub name: Ident,
    pub kind: Option<Ident>,
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Attr(Attr),
    Rule(RuleDecl),
    Field(FieldDecl),
}

impl Entry {
    pub fn span(&self) -> Span {
        match self {
            Entry::Attr(a) => a.span,
            Entry::Rule(r) => r.span,
            Entry::Field(f) => f.span,
        }
    }
}

/// `key = value`
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `rule name: expr`
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDecl {
    pub name: Ident,
    pub expr: Expr,
    pub span: Span,
}

/// `name: type [required|optional] [matches /re/]`
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: Ident,
    pub modifiers: Vec<FieldModifier>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldModifier {
    Required(Span),
    Optional(Span),
    Matches(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A number as written; `value` is exact for integers up to 2^53.
    Number {
        value: f64,
        is_int: bool,
        raw: String,
    },
    /// A duration, normalised to milliseconds.
    Duration {
        millis: u64,
        raw: String,
    },
    /// A size, normalised to bytes.
    Size {
        bytes: u64,
        raw: String,
    },
    /// A percentage as a ratio: `1%` is 0.01.
    Percent {
        ratio: f64,
        raw: String,
    },
    /// A string with escapes resolved; `raw` keeps the quotes and escapes as written.
    Str {
        value: String,
        raw: String,
    },
    /// A regular expression literal `/.../`; `pattern` is the text between the slashes.
    Regex {
        pattern: String,
    },
    Bool(bool),
    Null,
    /// A bare name: a field, a block, or an enumeration value, by context.
    Ident(String),
    List(Vec<Expr>),
    Map(Vec<MapEntry>),
    Call {
        func: Ident,
        args: Vec<Expr>,
    },
    /// `glue { ... }`: a map with a kind.
    Tagged {
        tag: Ident,
        entries: Vec<MapEntry>,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `( expr )`, kept so the formatter can print it back.
    Paren(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
        }
    }

    /// Binding strength, higher binds tighter (matches the parser's Pratt table).
    pub fn precedence(self) -> u8 {
        match self {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq
            | BinaryOp::Ne
            | BinaryOp::Lt
            | BinaryOp::Le
            | BinaryOp::Gt
            | BinaryOp::Ge => 4,
            BinaryOp::Add | BinaryOp::Sub => 5,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => 6,
        }
    }

    pub fn is_comparison(self) -> bool {
        self.precedence() == 4
    }
}

impl Expr {
    /// The expression with any parentheses around it removed.
    pub fn unparen(&self) -> &Expr {
        match &self.kind {
            ExprKind::Paren(inner) => inner.unparen(),
            _ => self,
        }
    }
}
