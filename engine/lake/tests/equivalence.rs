//! Property: the streaming evaluator and the DataFusion batch evaluator give identical
//! firings (alert, key, ts, value, message) on random series with gaps, duplicates, late
//! records, zeros, nulls and several keys, for every function and firing option.

use proptest::prelude::*;
use std::sync::Arc;
use stk_dsl::check::NoWorld;
use stk_dsl::ir::Pipeline;
use stk_eval::{AlertEvaluator, Firing, Record, Value};
use stk_lake::BatchEvaluator;
use stk_lake::convert::to_batch;

const PIPELINE: &str = r#"
pipeline eq { region = "eu-west-1" }
source s: yahoo { symbols = ["A"]  every = 5s }
schema q {
  symbol: string required
  ts: timestamp required
  close: float64
  volume: int64
}
alert pct { when = abs(pct_change(close, 30s)) > 10%  per = symbol  cooldown = 20s
  message = "{symbol} {pct_change(close, 30s)} {close}" }
alert chg { when = change(volume, 20s) < 0  per = symbol  cooldown = 0s  for = 10s }
alert prv { when = close > prev(close)  per = symbol  cooldown = 15s  lateness = 10s }
alert agg { when = close > avg(close, 40s) * 1.2 or min(close, 20s) == 0  per = symbol  cooldown = 0s }
alert cnt { when = count(close, 30s) >= 3 and sum(volume, 30s) > 10  per = symbol  cooldown = 30s }
alert dev { when = stddev(close, 60s) > 2.0 and max(close, 60s) > 5  cooldown = 0s  lateness = 5s
  message = "{stddev(close, 60s)} {max(close, 60s)}" }
alert div { when = coalesce(close, 0.0) / volume > 1.5 and not (close > 8)  per = symbol  cooldown = 0s }
alert ari { when = (close - 1) * 2 % 3 >= 1 or volume % 2 == 0  per = symbol  cooldown = 10s  for = 5s }
"#;

fn pipeline() -> Pipeline {
    let checked = stk_dsl::check_source(PIPELINE, &NoWorld);
    checked
        .ir
        .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics))
}

fn record(sym: &str, ts_s: i64, close: Option<f64>, volume: Option<i64>) -> Record {
    Record {
        values: vec![
            Value::Str(Arc::from(sym)),
            Value::Ts((1_700_000_000 + ts_s) * 1_000_000),
            close.map_or(Value::Null, Value::Float),
            volume.map_or(Value::Null, Value::Int),
        ],
    }
}

fn streaming(p: &Pipeline, records: &[Record]) -> Vec<Firing> {
    let mut out = Vec::new();
    for alert in &p.alerts {
        let mut e = AlertEvaluator::new(alert, &p.schema);
        for r in records {
            e.push(r, &mut out);
        }
        e.flush(&mut out);
    }
    out.sort_by_key(Firing::order_key);
    out
}

fn batch(
    p: &Pipeline,
    records: &[Record],
    rt: &tokio::runtime::Runtime,
    threads: usize,
) -> Vec<Firing> {
    let eval = BatchEvaluator::new(threads);
    let batch = to_batch(&p.schema, records, Some(0)).unwrap();
    let mut out = Vec::new();
    for alert in &p.alerts {
        out.extend(
            rt.block_on(eval.run(p, alert, vec![batch.clone()]))
                .unwrap(),
        );
    }
    out.sort_by_key(Firing::order_key);
    out
}

fn series() -> impl Strategy<Value = Vec<Record>> {
    let one = (
        prop::sample::select(vec!["A", "B", "C"]),
        0i64..400,
        prop::option::weighted(
            0.85,
            prop::sample::select(vec![0.0, 1.0, 2.0, 3.0, 5.0, 7.5, 8.0, 10.0, 12.0, 20.0]),
        ),
        prop::option::weighted(0.85, 0i64..8),
    );
    prop::collection::vec(one, 0..120).prop_map(|mut v| {
        // Mostly increasing time per key, with the generator's disorder giving late records
        // and repeats giving duplicates.
        v.sort_by_key(|(_, t, _, _)| *t / 40);
        v.into_iter()
            .map(|(s, t, c, vol)| record(s, t, c, vol))
            .collect()
    })
}

proptest! {
    #[test]
    fn streaming_and_batch_fire_identically(records in series(), threads in 1usize..3) {
        let p = pipeline();
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let s = streaming(&p, &records);
        let b = batch(&p, &records, &rt, threads);
        prop_assert_eq!(s, b);
    }
}

#[test]
fn a_known_series_fires_the_same_both_ways_and_as_computed_by_hand() {
    let p = pipeline();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let records = vec![
        record("A", 0, Some(10.0), Some(1)),
        record("A", 30, Some(12.0), Some(1)), // pct_change vs t0: +20% -> pct fires
        record("A", 30, Some(99.0), Some(1)), // duplicate: ignored
        record("A", 10, Some(99.0), Some(1)), // late: ignored
        record("A", 60, Some(12.5), Some(1)),
    ];
    let s = streaming(&p, &records);
    let b = batch(&p, &records, &rt, 2);
    assert_eq!(s, b);
    let pct: Vec<&Firing> = s.iter().filter(|f| f.alert == "pct").collect();
    assert_eq!(pct.len(), 1);
    assert_eq!(pct[0].ts, "2023-11-14T22:13:50Z");
    assert_eq!(pct[0].message, "A +20.00% 12");
}

#[test]
fn a_long_mixed_series_exercises_every_alert_and_agrees() {
    // A fixed pseudo-random series (xorshift), long enough that every alert fires.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut records = Vec::new();
    let mut t = [0i64; 3];
    for _ in 0..3000 {
        let k = (next() % 3) as usize;
        t[k] += (next() % 12) as i64 - 1; // occasionally steps back (late) or repeats (duplicate)
        let close = (next() % 10 != 0).then(|| (next() % 25) as f64 / 2.0);
        let volume = (next() % 10 != 0).then(|| (next() % 8) as i64);
        records.push(record(["A", "B", "C"][k], t[k], close, volume));
    }
    let p = pipeline();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let s = streaming(&p, &records);
    let b = batch(&p, &records, &rt, 2);
    for alert in &p.alerts {
        let n = s.iter().filter(|f| f.alert == alert.name).count();
        assert!(
            n > 0,
            "alert {} never fired; the test would not exercise it",
            alert.name
        );
    }
    assert_eq!(s, b);
}

/// Edge cases once found to differ between the engines (docs/alerts.md, section 8).
#[test]
fn numeric_edge_cases_agree() {
    let src = r#"
pipeline edge { region = "eu-west-1" }
source s: yahoo { symbols = ["A"]  every = 5s }
schema q { symbol: string required  ts: timestamp required  close: float64  volume: int64  currency: string  flag: bool }
alert cs { when = count(currency, 1m) > 0  cooldown = 0s }
alert cb { when = count(flag, 1m) > 1  cooldown = 0s }
alert ov { when = is_null(volume * volume)  cooldown = 0s }
alert ng { when = is_null(-volume) or is_null(abs(volume))  cooldown = 0s }
alert co { when = coalesce(volume, close) == 9007199254740992  cooldown = 0s }
alert nan { when = close * 1e308 * 10 - close * 1e308 * 10 == close * 1e308 * 10 - close * 1e308 * 10  cooldown = 0s }
"#;
    let p = stk_dsl::check_source(src, &NoWorld).ir.expect("valid");
    let rec = |t: i64,
               close: Option<f64>,
               volume: Option<i64>,
               currency: Option<&str>,
               flag: Option<bool>| Record {
        values: vec![
            Value::Str(Arc::from("A")),
            Value::Ts((1_700_000_000 + t) * 1_000_000),
            close.map_or(Value::Null, Value::Float),
            volume.map_or(Value::Null, Value::Int),
            currency.map_or(Value::Null, |c| Value::Str(Arc::from(c))),
            flag.map_or(Value::Null, Value::Bool),
        ],
    };
    let records = vec![
        rec(0, Some(10.0), Some(4_000_000_000), Some("USD"), Some(true)),
        rec(1, Some(10.0), Some(i64::MIN), Some("123"), Some(false)),
        rec(2, None, Some(9_007_199_254_740_993), None, None),
    ];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let s = streaming(&p, &records);
    let b = batch(&p, &records, &rt, 2);
    assert_eq!(s, b);
    let fired = |name: &str| s.iter().filter(|f| f.alert == name).count();
    assert_eq!(fired("cs"), 1, "strings count");
    assert_eq!(fired("cb"), 1, "booleans count");
    assert_eq!(fired("ov"), 1, "overflow is null");
    assert_eq!(fired("ng"), 1, "-(-2^63) is null");
}
