//! The function registry of the expression language: names, arity, which are windowed, and
//! how each types its arguments. Evaluators (streaming and DataFusion) match on [`Func`].

use super::expr::Type;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    Abs,
    IsNull,
    Coalesce,
    Matches,
    PctChange,
    Change,
    Prev,
    Avg,
    Min,
    Max,
    Sum,
    Count,
    Stddev,
}

/// What the checker needs to know about a function.
#[derive(Debug, Clone, Copy)]
pub struct FuncSig {
    pub name: &'static str,
    /// `(min, max)` number of arguments.
    pub arity: (usize, usize),
    /// Takes a `(x, window)` pair and looks back over the window.
    pub windowed: bool,
    /// Depends on earlier records of the series (windowed functions and `prev`).
    pub stateful: bool,
    pub doc: &'static str,
}

impl Func {
    pub const ALL: &'static [Func] = &[
        Func::Abs,
        Func::IsNull,
        Func::Coalesce,
        Func::Matches,
        Func::PctChange,
        Func::Change,
        Func::Prev,
        Func::Avg,
        Func::Min,
        Func::Max,
        Func::Sum,
        Func::Count,
        Func::Stddev,
    ];

    pub fn by_name(name: &str) -> Option<Func> {
        Func::ALL.iter().copied().find(|f| f.sig().name == name)
    }

    pub fn sig(self) -> FuncSig {
        let s = |name, arity, windowed, stateful, doc| FuncSig {
            name,
            arity,
            windowed,
            stateful,
            doc,
        };
        match self {
            Func::Abs => s("abs", (1, 1), false, false, "abs(x): absolute value"),
            Func::IsNull => s(
                "is_null",
                (1, 1),
                false,
                false,
                "is_null(x): true when x is null",
            ),
            Func::Coalesce => s(
                "coalesce",
                (2, 2),
                false,
                false,
                "coalesce(x, y): x unless null, else y",
            ),
            Func::Matches => s(
                "matches",
                (2, 2),
                false,
                false,
                "matches(s, /re/): s matches the regex",
            ),
            Func::PctChange => s(
                "pct_change",
                (2, 2),
                true,
                true,
                "pct_change(x, w): (x - ref) / ref, ref = x at the latest record with ts <= t - w",
            ),
            Func::Change => s(
                "change",
                (2, 2),
                true,
                true,
                "change(x, w): x - ref, ref as for pct_change",
            ),
            Func::Prev => s(
                "prev",
                (1, 1),
                false,
                true,
                "prev(x): x in the previous record of the series",
            ),
            Func::Avg => s(
                "avg",
                (2, 2),
                true,
                true,
                "avg(x, w): mean of x over ts in (t - w, t]",
            ),
            Func::Min => s(
                "min",
                (2, 2),
                true,
                true,
                "min(x, w): minimum of x over ts in (t - w, t]",
            ),
            Func::Max => s(
                "max",
                (2, 2),
                true,
                true,
                "max(x, w): maximum of x over ts in (t - w, t]",
            ),
            Func::Sum => s(
                "sum",
                (2, 2),
                true,
                true,
                "sum(x, w): sum of x over ts in (t - w, t]",
            ),
            Func::Count => s(
                "count",
                (2, 2),
                true,
                true,
                "count(x, w): non-null x over ts in (t - w, t]",
            ),
            Func::Stddev => s(
                "stddev",
                (2, 2),
                true,
                true,
                "stddev(x, w): sample standard deviation of x over ts in (t - w, t]",
            ),
        }
    }

    /// The result type for argument types that the checker has already accepted.
    pub fn result_type(self, args: &[Type]) -> Type {
        let first = args.first().copied().unwrap_or(Type::Null);
        match self {
            Func::Abs | Func::Prev => first,
            Func::Coalesce => {
                let second = args.get(1).copied().unwrap_or(Type::Null);
                match (first, second) {
                    (Type::Null, t) | (t, Type::Null) => t,
                    (a, b) if a == b => a,
                    // Mixed numbers widen, as in SQL.
                    (Type::Percent, Type::Percent) => Type::Percent,
                    _ => Type::Float64,
                }
            }
            Func::IsNull | Func::Matches => Type::Bool,
            Func::PctChange => Type::Percent,
            Func::Change | Func::Min | Func::Max => first,
            Func::Sum => {
                if first == Type::Int64 {
                    Type::Int64
                } else {
                    first
                }
            }
            Func::Avg | Func::Stddev => {
                if first == Type::Percent {
                    Type::Percent
                } else {
                    Type::Float64
                }
            }
            Func::Count => Type::Int64,
        }
    }
}
