//! Per-record evaluation of typed expressions with SQL three-valued logic. Stateful calls
//! (windowed functions, `prev`) are not evaluated here: they are *slots*, computed by the
//! series state (`window`) before the expression runs and passed in.

use crate::value::Value;
use std::sync::Arc;
use stk_dsl::ir::{BinOp, ExprNode, Func, Literal, Schema, Type, TypedExpr, UnOp};

/// A stateful call, evaluated per series by `window::SlotState`.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSpec {
    pub func: Func,
    /// The per-record argument (`close` in `pct_change(close, 1m)`).
    pub arg: TypedExpr,
    pub window_ms: i64,
}

/// The stateful calls of one alert (condition and message), each computed once per record.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    pub specs: Vec<SlotSpec>,
    pub args: Vec<Compiled>,
}

impl SlotSpec {
    /// The slot of a stateful call `func(args...)` (the window is the second argument).
    pub fn from_call(func: Func, args: &[TypedExpr]) -> Self {
        let window_ms = match args.get(1).map(|a| &a.node) {
            Some(ExprNode::Literal {
                value: Literal::DurationMs(ms),
            }) => *ms as i64,
            _ => 0,
        };
        let arg = args.first().cloned().unwrap_or(TypedExpr {
            ty: Type::Null,
            node: ExprNode::Literal {
                value: Literal::Null,
            },
        });
        SlotSpec {
            func,
            arg,
            window_ms,
        }
    }
}

impl Slots {
    fn slot_for(&mut self, spec: SlotSpec, schema: &Schema) -> usize {
        if let Some(i) = self.specs.iter().position(|s| *s == spec) {
            return i;
        }
        self.args.push(Compiled::new(&spec.arg, schema));
        self.specs.push(spec);
        self.specs.len() - 1
    }
}

#[derive(Debug, Clone)]
enum Node {
    Field(usize),
    Const(Value),
    Slot(usize),
    Not(Box<Node>),
    Neg(Box<Node>),
    Bin(BinOp, Type, Box<Node>, Box<Node>),
    Abs(Box<Node>),
    IsNull(Box<Node>),
    /// The result type decides whether an integer is widened to a float.
    Coalesce(Box<Node>, Box<Node>, Type),
    Matches(Box<Node>, regex::Regex),
}

/// A compiled expression: field names resolved to positions.
#[derive(Debug, Clone)]
pub struct Compiled {
    root: Node,
}

impl Compiled {
    /// Compile a per-record expression (no stateful calls).
    pub fn new(e: &TypedExpr, schema: &Schema) -> Self {
        let mut none = Slots::default();
        Compiled {
            root: compile(e, schema, &mut none),
        }
    }

    /// Compile an expression whose stateful calls become slots of `slots`.
    pub fn with_slots(e: &TypedExpr, schema: &Schema, slots: &mut Slots) -> Self {
        Compiled {
            root: compile(e, schema, slots),
        }
    }

    pub fn eval(&self, record: &crate::Record, slots: &[Value]) -> Value {
        eval(&self.root, &record.values, slots)
    }
}

fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null | Literal::Regex(_) => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) | Literal::Percent(f) => Value::Float(*f),
        Literal::String(s) => Value::Str(Arc::from(s.as_str())),
        Literal::DurationMs(d) => Value::DurationMs(*d as i64),
        Literal::SizeBytes(b) => Value::Int(*b as i64),
    }
}

fn compile(e: &TypedExpr, schema: &Schema, slots: &mut Slots) -> Node {
    match &e.node {
        ExprNode::Field { name } => Node::Field(
            schema
                .fields
                .iter()
                .position(|f| &f.name == name)
                .unwrap_or(usize::MAX),
        ),
        ExprNode::Literal { value } => Node::Const(literal(value)),
        ExprNode::Unary { op: UnOp::Not, arg } => Node::Not(Box::new(compile(arg, schema, slots))),
        ExprNode::Unary { op: UnOp::Neg, arg } => Node::Neg(Box::new(compile(arg, schema, slots))),
        ExprNode::Binary { op, lhs, rhs } => Node::Bin(
            *op,
            e.ty,
            Box::new(compile(lhs, schema, slots)),
            Box::new(compile(rhs, schema, slots)),
        ),
        ExprNode::Call { func, args } => {
            let sig = func.sig();
            if sig.stateful {
                let spec = SlotSpec::from_call(*func, args);
                return Node::Slot(slots.slot_for(spec, schema));
            }
            let arg = |i: usize, slots: &mut Slots| Box::new(compile(&args[i], schema, slots));
            match func {
                Func::Abs => Node::Abs(arg(0, slots)),
                Func::IsNull => Node::IsNull(arg(0, slots)),
                Func::Coalesce => Node::Coalesce(arg(0, slots), arg(1, slots), e.ty),
                Func::Matches => {
                    let pattern = match &args[1].node {
                        ExprNode::Literal {
                            value: Literal::Regex(p),
                        } => p.clone(),
                        _ => String::new(),
                    };
                    let re = regex::Regex::new(&pattern)
                        .unwrap_or_else(|_| regex::Regex::new("$^").expect("valid"));
                    Node::Matches(arg(0, slots), re)
                }
                _ => Node::Const(Value::Null),
            }
        }
    }
}

fn eval(n: &Node, rec: &[Value], slots: &[Value]) -> Value {
    match n {
        Node::Field(i) => rec.get(*i).cloned().unwrap_or(Value::Null),
        Node::Const(v) => v.clone(),
        Node::Slot(i) => slots.get(*i).cloned().unwrap_or(Value::Null),
        Node::Not(a) => match eval(a, rec, slots) {
            Value::Bool(b) => Value::Bool(!b),
            _ => Value::Null,
        },
        Node::Neg(a) => match eval(a, rec, slots) {
            Value::Int(i) => int_from_f64(-(i as f64)),
            Value::Float(f) => Value::Float(-f),
            Value::DurationMs(d) => Value::DurationMs(-d),
            _ => Value::Null,
        },
        Node::Abs(a) => match eval(a, rec, slots) {
            Value::Int(i) => int_from_f64((i as f64).abs()),
            Value::Float(f) => Value::Float(f.abs()),
            Value::DurationMs(d) => Value::DurationMs(d.abs()),
            _ => Value::Null,
        },
        Node::IsNull(a) => Value::Bool(eval(a, rec, slots).is_null()),
        Node::Coalesce(a, b, ty) => match (eval(a, rec, slots), ty) {
            (Value::Null, _) => widen(eval(b, rec, slots), *ty),
            (v, _) => widen(v, *ty),
        },
        Node::Matches(a, re) => match eval(a, rec, slots) {
            Value::Str(s) => Value::Bool(re.is_match(&s)),
            _ => Value::Null,
        },
        Node::Bin(op, ty, a, b) => {
            if let Some(v) = compare_floats(*op, a, b, rec) {
                return v;
            }
            binary(*op, *ty, eval(a, rec, slots), || eval(b, rec, slots))
        }
    }
}

/// The usual validation rule (`price > 0`, `high >= low`): a field compared with a field or a
/// constant, one of them a float, without evaluating (and cloning) the operands; the same
/// result as [`compare`] (both as f64, IEEE 754 totalOrder). `None` for anything else.
#[inline]
fn compare_floats(op: BinOp, a: &Node, b: &Node, rec: &[Value]) -> Option<Value> {
    fn operand<'a>(n: &'a Node, rec: &'a [Value]) -> Option<&'a Value> {
        match n {
            Node::Field(i) => rec.get(*i),
            Node::Const(v) => Some(v),
            _ => None,
        }
    }
    if !matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    ) {
        return None;
    }
    let (l, r) = (operand(a, rec)?, operand(b, rec)?);
    if !matches!(l, Value::Float(_)) && !matches!(r, Value::Float(_)) {
        return None;
    }
    let (x, y) = (l.as_f64()?, r.as_f64()?);
    Some(Value::Bool(holds(op, x.total_cmp(&y))))
}

/// SQL semantics: `and`/`or` three-valued; everything else is null when an operand is null.
pub fn binary(op: BinOp, ty: Type, l: Value, r: impl FnOnce() -> Value) -> Value {
    match op {
        BinOp::And => match l {
            Value::Bool(false) => Value::Bool(false),
            l => match (l, r()) {
                (_, Value::Bool(false)) => Value::Bool(false),
                (Value::Bool(true), Value::Bool(true)) => Value::Bool(true),
                _ => Value::Null,
            },
        },
        BinOp::Or => match l {
            Value::Bool(true) => Value::Bool(true),
            l => match (l, r()) {
                (_, Value::Bool(true)) => Value::Bool(true),
                (Value::Bool(false), Value::Bool(false)) => Value::Bool(false),
                _ => Value::Null,
            },
        },
        _ => {
            let r = r();
            if l.is_null() || r.is_null() {
                return Value::Null;
            }
            match op {
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    compare(op, &l, &r)
                }
                _ => arithmetic(op, ty, &l, &r),
            }
        }
    }
}

fn compare(op: BinOp, l: &Value, r: &Value) -> Value {
    let ord = match (l, r) {
        (Value::Str(a), Value::Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
        (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Value::Ts(a), Value::Ts(b)) => Some(a.cmp(b)),
        (Value::DurationMs(a), Value::DurationMs(b)) => Some(a.cmp(b)),
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (a, b) => match (a.as_f64(), b.as_f64()) {
            // Arrow (and so the batch engine) orders floats by IEEE 754 totalOrder.
            (Some(x), Some(y)) => Some(x.total_cmp(&y)),
            _ => None,
        },
    };
    let Some(ord) = ord else { return Value::Null };
    Value::Bool(holds(op, ord))
}

/// Whether comparison `op` holds for operands ordered `ord`.
fn holds(op: BinOp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering;
    match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::Ne => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Le => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }
}

/// Arithmetic is done in f64 (exact for integers below 2^53) and the result given the
/// checker's type; division or remainder by zero is null.
fn arithmetic(op: BinOp, ty: Type, l: &Value, r: &Value) -> Value {
    match (l, r) {
        (Value::Ts(t), Value::DurationMs(d)) => {
            return match op {
                BinOp::Add => Value::Ts(t + d * 1000),
                BinOp::Sub => Value::Ts(t - d * 1000),
                _ => Value::Null,
            };
        }
        (Value::DurationMs(d), Value::Ts(t)) if op == BinOp::Add => return Value::Ts(t + d * 1000),
        (Value::Ts(a), Value::Ts(b)) if op == BinOp::Sub => {
            return Value::DurationMs((a - b) / 1000);
        }
        _ => {}
    }
    let (Some(x), Some(y)) = (l.as_f64(), r.as_f64()) else {
        return Value::Null;
    };
    let v = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div if y == 0.0 => return Value::Null,
        BinOp::Div => x / y,
        BinOp::Rem if y == 0.0 => return Value::Null,
        BinOp::Rem => x % y,
        _ => return Value::Null,
    };
    match ty {
        Type::Int64 => int_from_f64(v),
        Type::Duration => Value::DurationMs(v as i64),
        _ => Value::Float(v),
    }
}

/// An integer computed in f64, or null when it does not fit in an int64 (as the batch
/// engine's `TRY_CAST` gives).
fn int_from_f64(v: f64) -> Value {
    if v.is_finite() && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&v) {
        Value::Int(v as i64)
    } else {
        Value::Null
    }
}

fn widen(v: Value, ty: Type) -> Value {
    match (v, ty) {
        (Value::Int(i), Type::Float64 | Type::Percent) => Value::Float(i as f64),
        (v, _) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            proptest::num::f64::ANY.prop_map(Value::Float),
            Just(Value::Float(-0.0)),
            Just(Value::Float(f64::NAN)),
            (-3i64..3).prop_map(|i| Value::Float(i as f64)),
            proptest::num::i64::ANY.prop_map(Value::Int),
            (-3i64..3).prop_map(Value::Int),
            (-3i64..3).prop_map(Value::Ts),
            (-3i64..3).prop_map(Value::DurationMs),
            Just(Value::Null),
            Just(Value::Bool(true)),
            Just(Value::Str("1".into())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        /// The shortcut for float comparisons gives what evaluating the operands gives.
        #[test]
        fn float_comparisons_agree_with_the_general_path(
            l in value(),
            r in value(),
            op in prop::sample::select(vec![
                BinOp::Eq, BinOp::Ne, BinOp::Lt, BinOp::Le, BinOp::Gt, BinOp::Ge,
            ]),
            fields in any::<bool>(),
        ) {
            let rec = [l.clone(), r.clone()];
            let (a, b) = if fields {
                (Node::Field(0), Node::Field(1))
            } else {
                (Node::Const(l.clone()), Node::Const(r.clone()))
            };
            if let Some(v) = compare_floats(op, &a, &b, &rec) {
                prop_assert_eq!(v, binary(op, Type::Bool, l, || r));
            }
        }
    }
}
