//! Alert evaluation speed, for BENCHMARKS.md.
//!
//!   alert_bench gen N FILE.parquet        write N ticks over 500 symbols (5 s apart, ~1% moves)
//!   alert_bench stream FILE.parquet       streaming evaluator, records decoded up front
//!   alert_bench batch FILE.parquet THREADS  DataFusion batch evaluator, from Parquet
//!
//! The alert is `abs(pct_change(close, 1m)) > 1%` per symbol, no cooldown.

use arrow::array::{Float64Array, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::Instant;
use stk_dsl::check::NoWorld;

const PIPELINE: &str = r#"
pipeline bench { region = "eu-west-1" }
source s: yahoo { symbols = ["A"]  every = 5s }
schema q { symbol: string required  ts: timestamp required  close: float64 required }
alert move { when = abs(pct_change(close, 1m)) > 1%  per = symbol  cooldown = 0s }
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let p = stk_dsl::check_source(PIPELINE, &NoWorld)
        .ir
        .expect("valid pipeline");
    match args.get(1).map(String::as_str) {
        Some("gen") => generate(args[2].parse().expect("N"), &args[3]),
        Some("stream") => stream(&p, &args[2]),
        Some("batch") => batch(
            &p,
            &args[2],
            args.get(3).map_or(1, |t| t.parse().expect("threads")),
        ),
        _ => eprintln!("usage: alert_bench gen N FILE | stream FILE | batch FILE THREADS"),
    }
}

fn generate(n: usize, path: &str) {
    let symbols: Vec<String> = (0..500).map(|i| format!("S{i:03}")).collect();
    let mut price: Vec<f64> = (0..500).map(|i| 50.0 + i as f64).collect();
    let mut x: u64 = 88172645463325252;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("symbol", DataType::Utf8, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("close", DataType::Float64, false),
    ]));
    let file = std::fs::File::create(path).expect("create");
    let mut w = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None).expect("writer");
    let t0 = 1_764_253_800_000_000i64;
    let chunk = 500 * 200;
    let mut i = 0;
    while i < n {
        let m = chunk.min(n - i);
        let (mut s, mut t, mut c) = (
            Vec::with_capacity(m),
            Vec::with_capacity(m),
            Vec::with_capacity(m),
        );
        for j in i..i + m {
            let k = j % 500;
            let step = (rnd() - 0.5) * 0.004
                + if rnd() < 0.002 {
                    (rnd() - 0.5) * 0.06
                } else {
                    0.0
                };
            price[k] *= 1.0 + step;
            s.push(symbols[k].as_str());
            t.push(t0 + (j / 500) as i64 * 5_000_000);
            c.push(price[k]);
        }
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(s)),
                Arc::new(TimestampMicrosecondArray::from(t).with_timezone("UTC")),
                Arc::new(Float64Array::from(c)),
            ],
        )
        .expect("batch");
        w.write(&batch).expect("write");
        i += m;
    }
    w.close().expect("close");
}

fn stream(p: &stk_dsl::ir::Pipeline, path: &str) {
    let input = stk_lake::input::read(p, std::path::Path::new(path)).expect("read");
    let records = stk_lake::input::records(p, &input.batches);
    let mut eval = stk_eval::AlertEvaluator::new(&p.alerts[0], &p.schema);
    let mut out = Vec::new();
    let start = Instant::now();
    for r in records {
        eval.push(&r, &mut out);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "streaming: {} records, {} firings, {:.3} s, {:.2} M records/s (one core)",
        input.rows,
        out.len(),
        secs,
        input.rows as f64 / secs / 1e6
    );
}

fn batch(p: &stk_dsl::ir::Pipeline, path: &str, threads: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    let input = stk_lake::input::read(p, std::path::Path::new(path)).expect("read");
    let read = start.elapsed().as_secs_f64();
    let eval = stk_lake::BatchEvaluator::new(threads);
    let firings = rt
        .block_on(eval.run(p, &p.alerts[0], input.batches))
        .expect("run");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "batch ({threads} thread(s)): {} rows, {} firings, {:.3} s total ({:.3} s reading Parquet)",
        input.rows,
        firings.len(),
        secs,
        read
    );
}
