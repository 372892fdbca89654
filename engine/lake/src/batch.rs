//! The batch alert evaluator: an alert compiled to a DataFusion plan.
//!
//! ```text
//! records (+ __seq, arrival order)
//!   -> stk_admit(ts, lateness) OVER (PARTITION BY per ORDER BY __seq)   -- drop dups / late
//!   -> __slotN = pct_change(close, ts, 60000) OVER (PARTITION BY per ORDER BY ts) ...
//!   -> __cond  = abs(__slot0) > 0.01                                    -- plain SQL expression
//!   -> stk_fire(__cond, ts, for, cooldown) OVER (PARTITION BY per ORDER BY ts)
//!   -> firing rows, rendered with the same message renderer as the streaming path
//! ```

use crate::convert::{SEQ, record_at, value_at};
use crate::udwf::{Admit, Fire, SlotFunction, sql_name};
use crate::{LakeError, Result};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ExprFunctionExt, Operator, WindowUDF, binary_expr, cast};
use datafusion::prelude::*;
use std::sync::Arc;
use stk_dsl::ir::{Alert, BinOp, ExprNode, Func, Literal, Pipeline, Type, TypedExpr, UnOp};
use stk_eval::alert::CompiledAlert;
use stk_eval::expr::SlotSpec;
use stk_eval::{Firing, Value};

pub struct BatchEvaluator {
    ctx: SessionContext,
}

impl BatchEvaluator {
    /// A session with the alert functions registered, using `threads` partitions.
    pub fn new(threads: usize) -> Self {
        let mut config = SessionConfig::new().with_target_partitions(threads.max(1));
        // Series are sorted once per evaluation; sorting a whole partition in place beats
        // sorting small runs and merging them (measured: bench/run-alerts.sh).
        config.options_mut().execution.sort_in_place_threshold_bytes = 1 << 30;
        let ctx = SessionContext::new_with_config(config);
        for f in crate::udwf::all() {
            ctx.register_udwf(f);
        }
        BatchEvaluator { ctx }
    }

    pub fn session(&self) -> &SessionContext {
        &self.ctx
    }

    /// Every firing of `alert` over `batches` (which carry a `__seq` arrival column), in
    /// (ts, key) order.
    pub async fn run(
        &self,
        p: &Pipeline,
        alert: &Alert,
        batches: Vec<RecordBatch>,
    ) -> Result<Vec<Firing>> {
        let Some(first) = batches.first() else {
            return Ok(Vec::new());
        };
        let table = if alert.lateness_ms == 0 && !alert.per.is_empty() {
            // Group the rows by series in one linear pass (arrival order kept within each
            // series) and tell DataFusion so: every window then runs without a sort.
            let grouped = group_by_series(&alert.per, &batches)?;
            let order = vec![vec![
                ident(SERIES).sort(true, false),
                ident(SEQ).sort(true, false),
            ]];
            MemTable::try_new(grouped[0].schema(), vec![grouped])?.with_sort_order(order)
        } else {
            MemTable::try_new(first.schema(), vec![batches])?
        };
        let df = self.ctx.read_table(Arc::new(table))?;
        let compiled = CompiledAlert::new(alert, &p.schema);
        let firing_rows = plan(df, p, &compiled)?.collect().await?;
        let mut firings = Vec::new();
        for batch in &firing_rows {
            let ts_col = batch
                .column_by_name(&p.schema.event_time)
                .ok_or_else(|| LakeError::Input("no event-time column".into()))?;
            let slot_cols: Vec<_> = (0..compiled.slots.specs.len())
                .map(|i| batch.column_by_name(&format!("__slot{i}")).cloned())
                .collect();
            for row in 0..batch.num_rows() {
                let record = record_at(&p.schema, batch, row);
                let slots: Vec<Value> = slot_cols
                    .iter()
                    .map(|c| {
                        c.as_ref()
                            .map_or(Value::Null, |c| value_at(c.as_ref(), row))
                    })
                    .collect();
                let Value::Ts(ts) = value_at(ts_col.as_ref(), row) else {
                    continue;
                };
                firings.push(compiled.firing(&record, &slots, ts));
            }
        }
        firings.sort_by_key(Firing::order_key);
        Ok(firings)
    }
}

/// The column numbering the series (distinct values of the alert's `per` columns).
pub const SERIES: &str = "__series";

/// The rows of `batches` grouped by series (a stable counting sort on a dense series id),
/// with the id as a `__series` column.
pub fn group_by_series(per: &[String], batches: &[RecordBatch]) -> Result<Vec<RecordBatch>> {
    use arrow::array::{ArrayRef, Int64Array, StringArray, UInt32Array};
    use arrow::datatypes::{Field, Schema};
    let batch = arrow::compute::concat_batches(&batches[0].schema(), batches)?;
    let cols: Vec<ArrayRef> = per
        .iter()
        .map(|k| {
            batch
                .column_by_name(k)
                .cloned()
                .ok_or_else(|| LakeError::Input(format!("no column `{k}`")))
        })
        .collect::<Result<_>>()?;
    let n = batch.num_rows();
    let mut ids: Vec<u32> = Vec::with_capacity(n);
    let mut count = 0u32;
    if let (1, Some(strings)) = (cols.len(), cols[0].as_any().downcast_ref::<StringArray>()) {
        let mut map: std::collections::HashMap<Option<&str>, u32> =
            std::collections::HashMap::new();
        for v in strings.iter() {
            ids.push(*map.entry(v).or_insert_with(|| {
                count += 1;
                count - 1
            }));
        }
    } else {
        let conv = arrow::row::RowConverter::new(
            cols.iter()
                .map(|c| arrow::row::SortField::new(c.data_type().clone()))
                .collect(),
        )?;
        let rows = conv.convert_columns(&cols)?;
        let mut map: std::collections::HashMap<Box<[u8]>, u32> = std::collections::HashMap::new();
        for r in rows.iter() {
            let id = match map.get(r.as_ref()) {
                Some(id) => *id,
                None => {
                    map.insert(r.as_ref().into(), count);
                    count += 1;
                    count - 1
                }
            };
            ids.push(id);
        }
    }
    // Counting sort: where each series starts, then every row in arrival order.
    let mut start = vec![0u32; count as usize + 1];
    for id in &ids {
        start[*id as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut perm = vec![0u32; n];
    for (row, id) in ids.iter().enumerate() {
        let slot = &mut start[*id as usize];
        perm[*slot as usize] = row as u32;
        *slot += 1;
    }
    let perm = UInt32Array::from(perm);
    let sorted = arrow::compute::take_record_batch(&batch, &perm)?;
    let series: Int64Array = perm
        .values()
        .iter()
        .map(|r| ids[*r as usize] as i64)
        .collect();
    let mut fields: Vec<Field> = sorted
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(SERIES, arrow::datatypes::DataType::Int64, false));
    let mut columns = sorted.columns().to_vec();
    columns.push(Arc::new(series));
    let all = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    if n == 0 {
        return Ok(vec![all]);
    }
    // DataFusion works in batches of a few thousand rows; hand it slices of the sorted data.
    Ok((0..n)
        .step_by(65_536)
        .map(|off| all.slice(off, 65_536.min(n - off)))
        .collect())
}

/// The DataFrame computing the rows at which `alert` fires.
pub fn plan(df: DataFrame, p: &Pipeline, compiled: &CompiledAlert) -> Result<DataFrame> {
    let alert = &compiled.alert;
    let ts = ident(&p.schema.event_time);
    let grouped = df.schema().has_column_with_unqualified_name(SERIES);
    let keys: Vec<Expr> = if grouped {
        vec![ident(SERIES)]
    } else {
        alert.per.iter().map(ident).collect()
    };
    // Without lateness, admitted records are in strictly increasing ts order in arrival
    // order, so ordering by arrival is ordering by ts, and every window shares one sort.
    let order_col = if alert.lateness_ms == 0 {
        SEQ.to_string()
    } else {
        p.schema.event_time.clone()
    };
    let by_ts = || vec![ident(&order_col).sort(true, false)];

    let admit = WindowUDF::from(Admit::new())
        .call(vec![ts.clone(), lit(alert.lateness_ms as i64)])
        .partition_by(keys.clone())
        .order_by(vec![ident(SEQ).sort(true, false)])
        .build()?
        .alias("__admitted");
    let mut df = df.window(vec![admit])?.filter(ident("__admitted"))?;

    // The slots are the compiled alert's own, so `__slotN` is slot N of the renderer too.
    let slots = &compiled.slots;
    let mut windows = Vec::new();
    for (i, spec) in slots.specs.iter().enumerate() {
        let udwf = WindowUDF::from(SlotFunction::new(spec.func));
        let arg = to_df(&spec.arg, &slots.specs)?;
        let args = if spec.func == Func::Prev {
            vec![arg]
        } else {
            vec![arg, ts.clone(), lit(spec.window_ms)]
        };
        windows.push(
            udwf.call(args)
                .partition_by(keys.clone())
                .order_by(by_ts())
                .build()?
                .alias(format!("__slot{i}")),
        );
    }
    if !windows.is_empty() {
        df = df.window(windows)?;
    }
    df = df.with_column("__cond", to_df(&alert.when, &slots.specs)?)?;
    let fire = WindowUDF::from(Fire::new())
        .call(vec![
            ident("__cond"),
            ts,
            lit(alert.for_ms.unwrap_or(0) as i64),
            lit(alert.cooldown_ms as i64),
        ])
        .partition_by(keys)
        .order_by(by_ts())
        .build()?
        .alias("__fire");
    Ok(df.window(vec![fire])?.filter(ident("__fire"))?)
}

fn is_num(t: Type) -> bool {
    t.is_numeric()
}

/// A typed expression as a DataFusion expression with the same semantics as
/// `stk_eval::expr` (three-valued logic, arithmetic in f64, division by zero is null).
pub fn to_df(e: &TypedExpr, slots: &[SlotSpec]) -> Result<Expr> {
    Ok(match &e.node {
        ExprNode::Field { name } => ident(name),
        ExprNode::Literal { value } => match value {
            Literal::Null => lit(ScalarValue::Null),
            Literal::Bool(b) => lit(*b),
            Literal::Int(i) => lit(*i),
            Literal::Float(f) | Literal::Percent(f) => lit(*f),
            Literal::String(s) => lit(s.as_str()),
            Literal::SizeBytes(b) => lit(*b as i64),
            Literal::DurationMs(_) => {
                return Err(LakeError::Unsupported("durations inside conditions".into()));
            }
            Literal::Regex(r) => lit(r.as_str()),
        },
        ExprNode::Unary { op: UnOp::Not, arg } => not(to_df(arg, slots)?),
        ExprNode::Unary { op: UnOp::Neg, arg } if arg.ty == Type::Int64 => try_cast(
            Expr::Negative(Box::new(cast(to_df(arg, slots)?, DataType::Float64))),
            DataType::Int64,
        ),
        ExprNode::Unary { op: UnOp::Neg, arg } => Expr::Negative(Box::new(to_df(arg, slots)?)),
        ExprNode::Binary { op, lhs, rhs } => {
            let (l, r) = (to_df(lhs, slots)?, to_df(rhs, slots)?);
            let (lt, rt) = (lhs.ty, rhs.ty);
            if (matches!(lt, Type::Timestamp | Type::Duration)
                || matches!(rt, Type::Duration) && !matches!(op, BinOp::And | BinOp::Or))
                && !(lt == Type::Timestamp && rt == Type::Timestamp && is_comparison(*op))
            {
                return Err(LakeError::Unsupported(
                    "timestamp and duration arithmetic".into(),
                ));
            }
            let f64 = |x: Expr, t: Type| {
                if t == Type::Float64 || t == Type::Percent {
                    x
                } else {
                    cast(x, DataType::Float64)
                }
            };
            match op {
                BinOp::And => l.and(r),
                BinOp::Or => l.or(r),
                _ if is_comparison(*op) => {
                    let operator = comparison(*op);
                    if is_num(lt) && is_num(rt) && !(lt == Type::Int64 && rt == Type::Int64) {
                        binary_expr(f64(l, lt), operator, f64(r, rt))
                    } else {
                        binary_expr(l, operator, r)
                    }
                }
                _ => {
                    let (l, r) = (f64(l, lt), f64(r, rt));
                    let zero_null = |x: Expr| nullif(x, lit(0.0f64));
                    let v = match op {
                        BinOp::Add => l + r,
                        BinOp::Sub => l - r,
                        BinOp::Mul => l * r,
                        BinOp::Div => l / zero_null(r),
                        _ => binary_expr(l, Operator::Modulo, zero_null(r)),
                    };
                    if e.ty == Type::Int64 {
                        try_cast(v, DataType::Int64)
                    } else {
                        v
                    }
                }
            }
        }
        ExprNode::Call { func, args } if func.sig().stateful => {
            let spec = SlotSpec::from_call(*func, args);
            let i = slots.iter().position(|s| *s == spec).ok_or_else(|| {
                LakeError::Unsupported(format!("{} outside the collected slots", sql_name(*func)))
            })?;
            ident(format!("__slot{i}"))
        }
        ExprNode::Call { func, args } => {
            let a = |i: usize| to_df(&args[i], slots);
            match func {
                Func::Abs if args[0].ty == Type::Int64 => try_cast(
                    datafusion::functions::math::expr_fn::abs(cast(a(0)?, DataType::Float64)),
                    DataType::Int64,
                ),
                Func::Abs => datafusion::functions::math::expr_fn::abs(a(0)?),
                Func::IsNull => a(0)?.is_null(),
                Func::Coalesce => {
                    let (x, y) = (a(0)?, a(1)?);
                    let (xt, yt) = (args[0].ty, args[1].ty);
                    if is_num(xt) && is_num(yt) && xt != yt {
                        coalesce(vec![cast(x, DataType::Float64), cast(y, DataType::Float64)])
                    } else {
                        coalesce(vec![x, y])
                    }
                }
                Func::Matches => {
                    datafusion::functions::regex::expr_fn::regexp_like(a(0)?, a(1)?, None)
                }
                other => {
                    return Err(LakeError::Unsupported(format!(
                        "function {}",
                        other.sig().name
                    )));
                }
            }
        }
    })
}

fn is_comparison(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    )
}

fn comparison(op: BinOp) -> Operator {
    match op {
        BinOp::Eq => Operator::Eq,
        BinOp::Ne => Operator::NotEq,
        BinOp::Lt => Operator::Lt,
        BinOp::Le => Operator::LtEq,
        BinOp::Gt => Operator::Gt,
        _ => Operator::GtEq,
    }
}
