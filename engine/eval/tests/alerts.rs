//! Table tests of the alert semantics (docs/alerts.md) through the streaming evaluator, with
//! expectations computed by hand.

use serde_json::json;
use stk_dsl::check::NoWorld;
use stk_eval::{AlertEvaluator, Firing, Validator};

const HEAD: &str = r#"
pipeline t { region = "eu-west-1" }
source s: yahoo { symbols = ["AAPL"]  every = 5s }
schema q {
  symbol: string required
  ts: timestamp required
  close: float64
  volume: int64
}
"#;

/// Run the pipeline's first alert over `(symbol, seconds, close)` records.
fn fire(alert: &str, records: &[(&str, i64, Option<f64>)]) -> Vec<Firing> {
    let src = format!("{HEAD}\n{alert}");
    let checked = stk_dsl::check_source(&src, &NoWorld);
    let ir = checked
        .ir
        .unwrap_or_else(|| panic!("{:#?}", checked.diagnostics));
    let v = Validator::new(&ir);
    let mut eval = AlertEvaluator::new(&ir.alerts[0], &ir.schema);
    let mut out = Vec::new();
    for (sym, t, close) in records {
        let ts = chrono::DateTime::from_timestamp(1_700_000_000 + t, 0)
            .unwrap()
            .to_rfc3339();
        let rec = v
            .validate_json(&json!({"symbol": sym, "ts": ts, "close": close}))
            .expect("valid");
        eval.push(&rec, &mut out);
    }
    eval.flush(&mut out);
    out
}

fn times(f: &[Firing]) -> Vec<i64> {
    f.iter()
        .map(|f| f.ts_us / 1_000_000 - 1_700_000_000)
        .collect()
}

#[test]
fn pct_change_fires_on_a_one_percent_move_per_symbol() {
    let a = "alert m { when = abs(pct_change(close, 1m)) > 1%  per = symbol  cooldown = 0s }";
    let f = fire(
        a,
        &[
            ("A", 0, Some(100.0)),
            ("B", 0, Some(50.0)),
            ("A", 30, Some(100.5)),
            ("A", 60, Some(101.5)), // ref = t0 (100): +1.5% -> fires
            ("B", 60, Some(50.4)),  // +0.8%: no
            ("A", 65, Some(101.6)), // ref = t0 still (latest <= 5): +1.6%, still true: no new edge
            ("A", 95, Some(100.9)), // ref = t30 (100.5): +0.4%: false
            ("B", 120, Some(49.0)), // ref = t60 (50.4): -2.78%: fires
        ],
    );
    assert_eq!(times(&f), [60, 120]);
    assert_eq!(f[0].key["symbol"], "A");
    assert_eq!(f[1].key["symbol"], "B");
    assert!(
        (f[0].value.as_f64().unwrap() - 0.015).abs() < 1e-12,
        "value is the lhs: {:?}",
        f[0].value
    );
}

#[test]
fn duplicates_first_wins_and_late_records_are_skipped() {
    let a = "alert m { when = close > 10  per = symbol  cooldown = 0s }";
    let f = fire(
        a,
        &[
            ("A", 10, Some(5.0)),
            ("A", 10, Some(50.0)), // duplicate: ignored, so no firing
            ("A", 5, Some(60.0)),  // late: ignored
            ("A", 20, Some(11.0)), // fires
        ],
    );
    assert_eq!(times(&f), [20]);
}

#[test]
fn for_and_cooldown() {
    let a = "alert m { when = close > 10  per = symbol  for = 20s  cooldown = 1m }";
    let f = fire(
        a,
        &[
            ("A", 0, Some(11.0)), // pending from 0
            ("A", 10, Some(12.0)),
            ("A", 20, Some(13.0)), // held 20s: fires
            ("A", 30, Some(1.0)),
            ("A", 40, Some(11.0)), // new pending
            ("A", 60, Some(11.0)), // held 20s but within cooldown (20+60=80): suppressed, used up
            ("A", 90, Some(11.0)), // still true, no new edge: nothing
            ("A", 95, Some(1.0)),
            ("A", 100, Some(11.0)),
            ("A", 120, Some(11.0)), // fires (120 >= 80)
        ],
    );
    assert_eq!(times(&f), [20, 120]);
}

#[test]
fn null_conditions_do_not_fire_and_break_pending() {
    let a = "alert m { when = close > 10  per = symbol  for = 10s  cooldown = 0s }";
    let f = fire(
        a,
        &[
            ("A", 0, Some(11.0)),
            ("A", 5, None),
            ("A", 10, Some(11.0)),
            ("A", 20, Some(11.0)),
        ],
    );
    assert_eq!(times(&f), [20]);
}

#[test]
fn three_valued_logic() {
    // null or true is true; null and true is null
    let a = "alert m { when = close > 10 or symbol == \"A\"  cooldown = 0s }";
    assert_eq!(times(&fire(a, &[("A", 0, None)])), [0]);
    let b = "alert m { when = close > 10 and symbol == \"A\"  cooldown = 0s }";
    assert!(fire(b, &[("A", 0, None)]).is_empty());
}

#[test]
fn no_per_means_one_global_series() {
    let a = "alert m { when = close > prev(close)  cooldown = 0s }";
    let f = fire(
        a,
        &[
            ("A", 0, Some(1.0)),
            ("B", 1, Some(2.0)),
            ("A", 2, Some(1.5)),
            ("B", 3, Some(3.0)),
        ],
    );
    assert_eq!(times(&f), [1, 3]);
    assert!(f[0].key.is_empty());
}

#[test]
fn messages_render_percentages() {
    let a = r#"alert m { when = pct_change(close, 1m) > 1%  per = symbol  cooldown = 0s
      message = "{symbol} moved {pct_change(close, 1m)} to {close}" }"#;
    let f = fire(a, &[("AAPL", 0, Some(200.0)), ("AAPL", 60, Some(203.0))]);
    assert_eq!(f[0].message, "AAPL moved +1.50% to 203");
    let json = serde_json::to_value(&f[0]).unwrap();
    assert_eq!(json["ts"], "2023-11-14T22:14:20Z");
    assert_eq!(json["alert"], "m");
}

#[test]
fn windowed_average_and_lateness_reordering() {
    let a = "alert m { when = close > avg(close, 30s) * 1.5  per = symbol  cooldown = 0s  lateness = 10s }";
    // 20 arrives before 15 (within lateness): evaluated in ts order 0,10,15,20
    let f = fire(
        a,
        &[
            ("A", 0, Some(10.0)),
            ("A", 10, Some(10.0)),
            ("A", 20, Some(30.0)),
            ("A", 15, Some(10.0)),
        ],
    );
    // at 20: window (−10, 20] = 10,10,10,30 -> avg 15, 30 > 22.5 fires
    assert_eq!(times(&f), [20]);
}
