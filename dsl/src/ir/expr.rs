//! Typed expressions: the checked form of rule conditions, alert conditions and template
//! interpolations. Every node carries its type; window arguments are constant milliseconds.

use super::func::Func;
use serde::{Deserialize, Serialize};

/// The type of an expression value. `Percent` is a float shown as a percentage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    String,
    Int64,
    Float64,
    Percent,
    Bool,
    Timestamp,
    Duration,
    Size,
    Regex,
    /// The type of the `null` literal; compatible with every other type.
    Null,
}

impl Type {
    pub fn is_numeric(self) -> bool {
        matches!(self, Type::Int64 | Type::Float64 | Type::Percent)
    }

    /// How the type is named in diagnostics.
    pub fn describe(self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Int64 => "an integer",
            Type::Float64 => "a number",
            Type::Percent => "a percentage",
            Type::Bool => "a boolean",
            Type::Timestamp => "a timestamp",
            Type::Duration => "a duration",
            Type::Size => "a size",
            Type::Regex => "a regular expression",
            Type::Null => "null",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypedExpr {
    #[serde(rename = "type")]
    pub ty: Type,
    #[serde(flatten)]
    pub node: ExprNode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "node", rename_all = "snake_case")]
pub enum ExprNode {
    Field {
        name: String,
    },
    Literal {
        value: Literal,
    },
    Unary {
        op: UnOp,
        arg: Box<TypedExpr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<TypedExpr>,
        rhs: Box<TypedExpr>,
    },
    Call {
        func: Func,
        args: Vec<TypedExpr>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A ratio: `1%` is 0.01.
    Percent(f64),
    String(String),
    DurationMs(u64),
    SizeBytes(u64),
    Regex(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinOp {
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

impl TypedExpr {
    /// Visit this node and all below it, parents first.
    pub fn walk<'a>(&'a self, f: &mut impl FnMut(&'a TypedExpr)) {
        f(self);
        match &self.node {
            ExprNode::Unary { arg, .. } => arg.walk(f),
            ExprNode::Binary { lhs, rhs, .. } => {
                lhs.walk(f);
                rhs.walk(f);
            }
            ExprNode::Call { args, .. } => args.iter().for_each(|a| a.walk(f)),
            ExprNode::Field { .. } | ExprNode::Literal { .. } => {}
        }
    }

    /// The longest window any windowed function in this expression looks back over.
    pub fn lookback_ms(&self) -> u64 {
        let mut max = 0;
        self.walk(&mut |e| {
            if let ExprNode::Call { func, args } = &e.node
                && func.sig().windowed
            {
                for a in args {
                    if let ExprNode::Literal {
                        value: Literal::DurationMs(ms),
                    } = a.node
                    {
                        max = max.max(ms);
                    }
                }
            }
        });
        max
    }

    /// Whether any stateful (windowed or `prev`) function is used.
    pub fn is_stateful(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if let ExprNode::Call { func, .. } = &e.node {
                found |= func.sig().stateful;
            }
        });
        found
    }

    /// The schema fields this expression reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.walk(&mut |e| {
            if let ExprNode::Field { name } = &e.node
                && !out.contains(&name.as_str())
            {
                out.push(name);
            }
        });
        out
    }
}
