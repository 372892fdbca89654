//! The alert functions are callable from SQL in a session of the batch evaluator (what
//! `stkc query` will use), with the same results as the streaming state machines.

use arrow::array::Array;
use stk_dsl::check::NoWorld;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_functions_work_in_sql_window_queries() {
    let src = r#"
pipeline q { region = "eu-west-1" }
source s: yahoo { symbols = ["A"]  every = 5s }
schema t { symbol: string required  ts: timestamp required  close: float64 }
"#;
    let p = stk_dsl::check_source(src, &NoWorld).ir.expect("valid");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.jsonl");
    std::fs::write(
        &file,
        [
            r#"{"symbol":"A","ts":"2026-01-01T00:00:00Z","close":100}"#,
            r#"{"symbol":"A","ts":"2026-01-01T00:00:30Z","close":101}"#,
            r#"{"symbol":"A","ts":"2026-01-01T00:01:00Z","close":102}"#,
            r#"{"symbol":"B","ts":"2026-01-01T00:01:00Z","close":50}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let input = stk_lake::input::read(&p, &file).unwrap();
    let eval = stk_lake::BatchEvaluator::new(2);
    let table =
        datafusion::datasource::MemTable::try_new(input.batches[0].schema(), vec![input.batches])
            .unwrap();
    eval.session()
        .register_table("ticks", std::sync::Arc::new(table))
        .unwrap();
    let df = eval
        .session()
        .sql(
            "select symbol, close, \
               pct_change(close, ts, '1m') over (partition by symbol order by ts) as pct, \
               prev(close) over (partition by symbol order by ts) as prev_close, \
               stk_avg(close, ts, 60000) over (partition by symbol order by ts) as avg_1m \
             from ticks order by symbol, ts",
        )
        .await
        .unwrap();
    let batches = df.collect().await.unwrap();
    let b = &batches[0];
    let col = |name: &str| {
        b.column_by_name(name)
            .unwrap()
            .as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .unwrap()
            .clone()
    };
    let (pct, prev, avg) = (col("pct"), col("prev_close"), col("avg_1m"));
    assert!(pct.is_null(0) && pct.is_null(1));
    assert!(
        (pct.value(2) - 0.02).abs() < 1e-12,
        "ref at t0: (102-100)/100"
    );
    assert!(pct.is_null(3), "B has no reference");
    assert!(prev.is_null(0));
    assert_eq!(prev.value(2), 101.0);
    assert_eq!(avg.value(2), (101.0 + 102.0) / 2.0, "(t-1m, t] excludes t0");
}
