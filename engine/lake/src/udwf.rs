//! The alert functions as DataFusion user-defined window functions. Each runs, over one
//! partition in its ORDER BY order, the state machine the streaming evaluator runs record by
//! record, so batch and streaming agree exactly.
//!
//! SQL (in `stkc query`): `pct_change(close, ts, '1m') OVER (PARTITION BY symbol ORDER BY ts)`,
//! likewise `change`, `stk_avg`, `stk_min`, `stk_max`, `stk_sum`, `stk_count`, `stk_stddev`
//! (the window as a duration string or milliseconds), and `prev(close)`.

use arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float64Builder, Int64Array, Int64Builder,
    StringArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::function::{PartitionEvaluatorArgs, WindowUDFFieldArgs};
use datafusion::logical_expr::{
    PartitionEvaluator, Signature, Volatility, WindowUDF, WindowUDFImpl,
};
use std::sync::Arc;
use stk_dsl::ir::{ExprNode, Func, Type, TypedExpr};
use stk_eval::Value;
use stk_eval::admit::Admission;
use stk_eval::expr::SlotSpec;
use stk_eval::fire::FireState;
use stk_eval::window::SlotState;

/// The SQL name of a stateful function.
pub fn sql_name(f: Func) -> &'static str {
    match f {
        Func::PctChange => "pct_change",
        Func::Change => "change",
        Func::Prev => "prev",
        Func::Avg => "stk_avg",
        Func::Min => "stk_min",
        Func::Max => "stk_max",
        Func::Sum => "stk_sum",
        Func::Count => "stk_count",
        Func::Stddev => "stk_stddev",
        _ => "stk_unknown",
    }
}

/// Every window function, for registration in a session.
pub fn all() -> Vec<WindowUDF> {
    let mut v: Vec<WindowUDF> = Func::ALL
        .iter()
        .filter(|f| f.sig().stateful)
        .map(|f| WindowUDF::from(SlotFunction::new(*f)))
        .collect();
    v.push(WindowUDF::from(Admit::new()));
    v.push(WindowUDF::from(Fire::new()));
    v
}

/// A windowed function (`pct_change(x, ts, window)`) or `prev(x)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SlotFunction {
    func: Func,
    signature: Signature,
}

impl SlotFunction {
    pub fn new(func: Func) -> Self {
        let n = if func == Func::Prev { 1 } else { 3 };
        SlotFunction {
            func,
            signature: Signature::any(n, Volatility::Immutable),
        }
    }

    fn int_result(&self, input: &DataType) -> bool {
        matches!(self.func, Func::Change | Func::Sum | Func::Min | Func::Max) && input.is_integer()
    }
}

impl WindowUDFImpl for SlotFunction {
    fn name(&self) -> &str {
        sql_name(self.func)
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        let input = args
            .input_fields()
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Float64);
        let ty = match self.func {
            Func::Prev => input,
            Func::Count => DataType::Int64,
            _ if self.int_result(&input) => DataType::Int64,
            _ => DataType::Float64,
        };
        Ok(Arc::new(Field::new(args.name(), ty, true)))
    }
    fn partition_evaluator(
        &self,
        args: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        let input = args
            .input_fields()
            .first()
            .map(|f| f.data_type().clone())
            .unwrap_or(DataType::Float64);
        Ok(Box::new(SlotEvaluator {
            func: self.func,
            int: self.int_result(&input) || input.is_integer(),
        }))
    }
}

#[derive(Debug)]
struct SlotEvaluator {
    func: Func,
    int: bool,
}

/// Read a window argument: milliseconds, or a duration string like `'1m'`.
fn window_ms(a: &ArrayRef) -> Result<i64> {
    if a.is_empty() || a.is_null(0) {
        return exec_err!("the window argument is null");
    }
    if let Some(s) = a.as_any().downcast_ref::<StringArray>() {
        return stk_dsl::syntax::literal::duration_millis(s.value(0))
            .map(|ms| ms as i64)
            .or_else(|m| exec_err!("window {:?}: {m}", s.value(0)));
    }
    let ints = cast(a, &DataType::Int64)?;
    let ints = ints
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("cast to Int64");
    Ok(ints.value(0))
}

fn timestamps(a: &ArrayRef) -> Result<Int64Array> {
    let ts = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let ints = cast(&ts, &DataType::Int64)?;
    Ok(ints
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("cast to Int64")
        .clone())
}

impl PartitionEvaluator for SlotEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let x = &values[0];
        let (ts, window) = if self.func == Func::Prev {
            (None, 0)
        } else {
            (Some(timestamps(&values[1])?), window_ms(&values[2])?)
        };
        let arg_ty = if self.int { Type::Int64 } else { Type::Float64 };
        let spec = SlotSpec {
            func: self.func,
            arg: TypedExpr {
                ty: arg_ty,
                node: ExprNode::Field {
                    name: String::new(),
                },
            },
            window_ms: window,
        };
        if self.func == Func::Prev {
            // `prev` keeps the input's type: shift the array by one.
            let idx: arrow::array::UInt64Array = (0..num_rows)
                .map(|i| i.checked_sub(1).map(|p| p as u64))
                .collect();
            return Ok(arrow::compute::take(x.as_ref(), &idx, None)?);
        }
        let mut state = SlotState::new(&spec);
        let floats = if self.func == Func::Count {
            arrow::array::new_null_array(&DataType::Float64, num_rows)
        } else {
            cast(x, &DataType::Float64)?
        };
        let floats = floats
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .expect("cast to Float64");
        let ts = ts.expect("ts for windowed functions");
        let out_int = matches!(self.func, Func::Count)
            || (self.int && matches!(self.func, Func::Change | Func::Sum | Func::Min | Func::Max));
        let mut ib = Int64Builder::with_capacity(num_rows);
        let mut fb = Float64Builder::with_capacity(num_rows);
        for i in 0..num_rows {
            let v = if self.func == Func::Count {
                // Non-null values of any type count, whatever they would cast to.
                if x.is_null(i) {
                    Value::Null
                } else {
                    Value::Int(0)
                }
            } else if floats.is_null(i) {
                Value::Null
            } else if self.int {
                Value::Int(floats.value(i) as i64)
            } else {
                Value::Float(floats.value(i))
            };
            let t = if ts.is_null(i) {
                i64::MIN / 2
            } else {
                ts.value(i)
            };
            match state.push(t, &v) {
                Value::Int(n) if out_int => ib.append_value(n),
                Value::Int(n) => fb.append_value(n as f64),
                Value::Float(f) if out_int => ib.append_value(f as i64),
                Value::Float(f) => fb.append_value(f),
                _ if out_int => ib.append_null(),
                _ => fb.append_null(),
            }
        }
        Ok(if out_int {
            Arc::new(ib.finish())
        } else {
            Arc::new(fb.finish())
        })
    }
}

/// `stk_admit(ts, lateness_ms) OVER (PARTITION BY key ORDER BY arrival)`: true for the rows
/// the streaming evaluator would evaluate (not duplicates, not late).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Admit {
    signature: Signature,
}

impl Admit {
    pub fn new() -> Self {
        Admit {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl Default for Admit {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for Admit {
    fn name(&self) -> &str {
        "stk_admit"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Boolean, false)))
    }
    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(AdmitEvaluator))
    }
}

#[derive(Debug)]
struct AdmitEvaluator;

impl PartitionEvaluator for AdmitEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let ts = timestamps(&values[0])?;
        let lateness = window_ms(&values[1])?.max(0) as u64;
        let mut admission: Admission<usize> = Admission::new(lateness);
        let mut admitted = vec![false; num_rows];
        for i in 0..num_rows {
            if ts.is_null(i) {
                continue;
            }
            admission.offer(ts.value(i), &i, &mut |_, &row| admitted[row] = true);
        }
        admission.flush(&mut |_, &row| admitted[row] = true);
        Ok(Arc::new(BooleanArray::from(admitted)))
    }
}

/// `stk_fire(cond, ts, for_ms, cooldown_ms) OVER (PARTITION BY key ORDER BY ts)`: true at the
/// rows where the alert fires.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Fire {
    signature: Signature,
}

impl Fire {
    pub fn new() -> Self {
        Fire {
            signature: Signature::any(4, Volatility::Immutable),
        }
    }
}

impl Default for Fire {
    fn default() -> Self {
        Self::new()
    }
}

impl WindowUDFImpl for Fire {
    fn name(&self) -> &str {
        "stk_fire"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn field(&self, args: WindowUDFFieldArgs) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(args.name(), DataType::Boolean, false)))
    }
    fn partition_evaluator(
        &self,
        _: PartitionEvaluatorArgs,
    ) -> Result<Box<dyn PartitionEvaluator>> {
        Ok(Box::new(FireEvaluator))
    }
}

#[derive(Debug)]
struct FireEvaluator;

impl PartitionEvaluator for FireEvaluator {
    fn evaluate_all(&mut self, values: &[ArrayRef], num_rows: usize) -> Result<ArrayRef> {
        let cond = cast(&values[0], &DataType::Boolean)?;
        let cond = cond
            .as_any()
            .downcast_ref::<BooleanArray>()
            .expect("cast to Boolean");
        let ts = timestamps(&values[1])?;
        let for_ms = window_ms(&values[2])?;
        let cooldown_ms = window_ms(&values[3])?;
        let mut state = FireState::new(
            (for_ms > 0).then_some(for_ms as u64),
            cooldown_ms.max(0) as u64,
        );
        let mut out = BooleanBuilder::with_capacity(num_rows);
        for i in 0..num_rows {
            let c = (!cond.is_null(i)).then(|| cond.value(i));
            out.append_value(state.step(ts.value(i), c));
        }
        Ok(Arc::new(out.finish()))
    }
}
