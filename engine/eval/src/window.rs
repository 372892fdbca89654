//! The state machines behind stateful functions, one per (slot, series). Each `push` takes
//! the next admitted record of the series (strictly increasing `ts`) and returns the
//! function's value at that record, in O(1) amortised time and memory bounded by the window.
//!
//! - `pct_change(x, w)` / `change(x, w)`: `ref` is `x` at the latest earlier record with
//!   `ts <= t - w`; null when there is none or `ref` is null (or 0 for pct_change).
//! - `prev(x)`: `x` at the previous record; null at the first.
//! - `avg/min/max/sum/count/stddev(x, w)`: over the records with `ts` in `(t - w, t]`,
//!   the current one included, nulls skipped (count counts non-null values).

use crate::expr::SlotSpec;
use crate::value::Value;
use std::collections::VecDeque;
use stk_dsl::ir::{Func, Type};

#[derive(Debug, Clone)]
pub enum SlotState {
    Ref {
        pct: bool,
        int: bool,
        window_us: i64,
        prior: VecDeque<(i64, Option<f64>)>,
    },
    Prev {
        last: Option<Value>,
    },
    Agg(Box<Agg>),
}

#[derive(Debug, Clone)]
pub struct Agg {
    func: Func,
    int: bool,
    window_us: i64,
    /// Records in the window: (ts, value).
    items: VecDeque<(i64, Option<f64>)>,
    count: u64,
    sum: f64,
    /// Neumaier compensation of `sum`.
    comp: f64,
    mean: f64,
    m2: f64,
    /// Monotonic deques for min and max: (ts, value).
    mins: VecDeque<(i64, f64)>,
    maxs: VecDeque<(i64, f64)>,
}

impl SlotState {
    pub fn new(spec: &SlotSpec) -> Self {
        let window_us = spec.window_ms * 1000;
        let int = spec.arg.ty == Type::Int64;
        match spec.func {
            Func::PctChange | Func::Change => SlotState::Ref {
                pct: spec.func == Func::PctChange,
                int,
                window_us,
                prior: VecDeque::new(),
            },
            Func::Prev => SlotState::Prev { last: None },
            func => SlotState::Agg(Box::new(Agg {
                func,
                int,
                window_us,
                items: VecDeque::new(),
                count: 0,
                sum: 0.0,
                comp: 0.0,
                mean: 0.0,
                m2: 0.0,
                mins: VecDeque::new(),
                maxs: VecDeque::new(),
            })),
        }
    }

    /// Feed the next record of the series (time `ts` in µs, argument value `x`).
    pub fn push(&mut self, ts: i64, x: &Value) -> Value {
        match self {
            SlotState::Ref {
                pct,
                int,
                window_us,
                prior,
            } => {
                let cutoff = ts.saturating_sub(*window_us);
                while prior.len() >= 2 && prior[1].0 <= cutoff {
                    prior.pop_front();
                }
                let reference = prior
                    .front()
                    .filter(|(t, _)| *t <= cutoff)
                    .and_then(|(_, v)| *v);
                let xv = x.as_f64();
                prior.push_back((ts, xv));
                match (xv, reference) {
                    (Some(x), Some(r)) if *pct => {
                        if r == 0.0 {
                            Value::Null
                        } else {
                            Value::Float((x - r) / r)
                        }
                    }
                    (Some(x), Some(r)) if *int => Value::Int((x - r) as i64),
                    (Some(x), Some(r)) => Value::Float(x - r),
                    _ => Value::Null,
                }
            }
            SlotState::Prev { last } => last.replace(x.clone()).unwrap_or(Value::Null),
            // count counts non-null values of any type; the others read numbers.
            SlotState::Agg(a) if a.func == Func::Count => a.push(ts, (!x.is_null()).then_some(0.0)),
            SlotState::Agg(a) => a.push(ts, x.as_f64()),
        }
    }
}

impl Agg {
    fn add(&mut self, v: f64) {
        self.count += 1;
        let t = self.sum + v;
        self.comp += if self.sum.abs() >= v.abs() {
            (self.sum - t) + v
        } else {
            (v - t) + self.sum
        };
        self.sum = t;
        let d = v - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (v - self.mean);
    }

    fn remove(&mut self, v: f64) {
        if self.count <= 1 {
            self.count = 0;
            self.sum = 0.0;
            self.comp = 0.0;
            self.mean = 0.0;
            self.m2 = 0.0;
            return;
        }
        let n = self.count as f64;
        let mean_old = (n * self.mean - v) / (n - 1.0);
        self.m2 = (self.m2 - (v - mean_old) * (v - self.mean)).max(0.0);
        self.mean = mean_old;
        self.count -= 1;
        let neg = -v;
        let t = self.sum + neg;
        self.comp += if self.sum.abs() >= neg.abs() {
            (self.sum - t) + neg
        } else {
            (neg - t) + self.sum
        };
        self.sum = t;
    }

    fn push(&mut self, ts: i64, x: Option<f64>) -> Value {
        let cutoff = ts.saturating_sub(self.window_us);
        while let Some(&(t, v)) = self.items.front() {
            if t > cutoff {
                break;
            }
            self.items.pop_front();
            if let Some(v) = v {
                self.remove(v);
            }
        }
        while self.mins.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.mins.pop_front();
        }
        while self.maxs.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.maxs.pop_front();
        }
        self.items.push_back((ts, x));
        if let Some(v) = x {
            self.add(v);
            while self.mins.back().is_some_and(|(_, m)| *m >= v) {
                self.mins.pop_back();
            }
            self.mins.push_back((ts, v));
            while self.maxs.back().is_some_and(|(_, m)| *m <= v) {
                self.maxs.pop_back();
            }
            self.maxs.push_back((ts, v));
        }
        let num = |v: f64, int: bool| {
            if int {
                Value::Int(v as i64)
            } else {
                Value::Float(v)
            }
        };
        match self.func {
            Func::Count => Value::Int(self.count as i64),
            _ if self.count == 0 => Value::Null,
            Func::Sum => num(self.sum + self.comp, self.int),
            Func::Avg => Value::Float((self.sum + self.comp) / self.count as f64),
            Func::Min => self
                .mins
                .front()
                .map_or(Value::Null, |(_, v)| num(*v, self.int)),
            Func::Max => self
                .maxs
                .front()
                .map_or(Value::Null, |(_, v)| num(*v, self.int)),
            Func::Stddev if self.count < 2 => Value::Null,
            Func::Stddev => Value::Float((self.m2 / (self.count as f64 - 1.0)).sqrt()),
            _ => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stk_dsl::ir::{ExprNode, TypedExpr};

    fn spec(func: Func, window_s: i64) -> SlotSpec {
        SlotSpec {
            func,
            arg: TypedExpr {
                ty: Type::Float64,
                node: ExprNode::Field { name: "x".into() },
            },
            window_ms: window_s * 1000,
        }
    }

    fn run(func: Func, window_s: i64, points: &[(i64, Option<f64>)]) -> Vec<Value> {
        let mut s = SlotState::new(&spec(func, window_s));
        points
            .iter()
            .map(|(t, x)| s.push(t * 1_000_000, &x.map_or(Value::Null, Value::Float)))
            .collect()
    }

    #[test]
    fn pct_change_uses_the_latest_record_at_least_a_window_old() {
        // t=0:100, t=30:101, t=60:102, t=70:99, t=125:110
        let v = run(
            Func::PctChange,
            60,
            &[
                (0, Some(100.0)),
                (30, Some(101.0)),
                (60, Some(102.0)),
                (70, Some(99.0)),
                (125, Some(110.0)),
            ],
        );
        assert_eq!(v[0], Value::Null); // no reference
        assert_eq!(v[1], Value::Null); // nothing at or before -30
        assert_eq!(v[2], Value::Float(0.02)); // ref = t0 (ts <= 0)
        assert_eq!(v[3], Value::Float(-0.01)); // cutoff 10: the latest record at or before it is t0
        assert_eq!(v[4], Value::Float((110.0 - 102.0) / 102.0)); // cutoff 65: t60
    }

    #[test]
    fn pct_change_reference_is_latest_not_earliest() {
        let v = run(
            Func::PctChange,
            60,
            &[(0, Some(100.0)), (30, Some(101.0)), (95, Some(110.0))],
        );
        // latest record with ts <= 35 is t=30
        assert_eq!(v[2], Value::Float((110.0 - 101.0) / 101.0));
    }

    #[test]
    fn pct_change_null_and_zero_reference() {
        let v = run(
            Func::PctChange,
            10,
            &[
                (0, None),
                (10, Some(5.0)),
                (20, Some(0.0)),
                (30, Some(1.0)),
                (40, Some(2.0)),
            ],
        );
        assert_eq!(v[1], Value::Null, "ref is null");
        assert_eq!(v[3], Value::Null, "ref is 0");
        assert_eq!(v[4], Value::Float(1.0));
        let c = run(Func::Change, 10, &[(0, Some(0.0)), (10, Some(3.0))]);
        assert_eq!(
            c[1],
            Value::Float(3.0),
            "change works with a zero reference"
        );
    }

    #[test]
    fn windowed_aggregates_cover_half_open_window() {
        let pts = [(0, Some(1.0)), (10, Some(3.0)), (20, None), (30, Some(5.0))];
        // window 20s at t=30 covers (10, 30]: t=20 (null), t=30 (5)
        assert_eq!(run(Func::Sum, 20, &pts)[3], Value::Float(5.0));
        assert_eq!(run(Func::Count, 20, &pts)[3], Value::Int(1));
        assert_eq!(run(Func::Avg, 30, &pts)[3], Value::Float(4.0)); // (0,30]: 3, 5
        assert_eq!(run(Func::Min, 30, &pts)[3], Value::Float(3.0));
        assert_eq!(run(Func::Max, 40, &pts)[3], Value::Float(5.0));
        assert_eq!(run(Func::Stddev, 40, &pts)[3], Value::Float(2.0)); // 1,3,5
        assert_eq!(run(Func::Stddev, 5, &pts)[3], Value::Null); // one value
        assert_eq!(run(Func::Sum, 5, &pts)[2], Value::Null); // only a null in window
    }

    #[test]
    fn prev_is_the_previous_record() {
        let v = run(Func::Prev, 0, &[(0, Some(1.0)), (1, None), (2, Some(3.0))]);
        assert_eq!(v, vec![Value::Null, Value::Float(1.0), Value::Null]);
    }
}
