//! The transform handler's CPU work on one Kinesis event (parse the event, base64-decode each
//! record, decode and validate the tick, encode line protocol), the work a Python handler
//! with orjson does in bench/transform_orjson.py on the same event file. From the event's
//! bytes, the way `lambda_runtime` deserialises the payload (`serde_path_to_error` over
//! `serde_json::Deserializer::from_slice`), then the handler's own code.
//!
//! cargo run --release -p stk-runtime-lambda --example transform_bench -- [RECORDS] [EVENT_OUT]
//! (bench/run-transform.sh runs both side by side.)

use base64::Engine as _;
use std::time::Instant;
use stk_runtime_lambda::kinesis::KinesisBatch;
use stk_runtime_lambda::transform::Decoder;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let out = args.next();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("pipelines/stocks.stk");
    let text = std::fs::read_to_string(&path).unwrap();
    let p = stk_dsl::check_source(&text, &stk_dsl::check::FsWorld::for_pipeline(&path))
        .ir
        .expect("stocks.stk compiles");
    let sink = p
        .sinks
        .iter()
        .find_map(|s| match &s.kind {
            stk_dsl::ir::SinkKind::Influxdb(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    let symbols = [
        "AAPL", "MSFT", "AMZN", "TSLA", "NVDA", "GOOGL", "META", "BRK.B",
    ];
    let b64 = base64::engine::general_purpose::STANDARD;
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let price = 100.0 + (i % 977) as f64 * 0.37;
            let tick = serde_json::json!({
                "symbol": symbols[i % symbols.len()],
                "ts": chrono::DateTime::from_timestamp(1_795_789_800 + (i / 8) as i64 * 5, 0).unwrap().to_rfc3339(),
                "price": price, "open": price - 0.5, "high": price + 1.25, "low": price - 1.25,
                "close": price, "volume": 1000 + i as i64, "currency": "USD",
            });
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": symbols[i % symbols.len()],
                    "sequenceNumber": format!("4965{i:052}"),
                    "data": b64.encode(tick.to_string()),
                    "approximateArrivalTimestamp": 1_795_789_801.25
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:4965{i:052}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": "arn:aws:iam::111122223333:role/stk-stocks-transform",
                "awsRegion": "eu-central-1",
                "eventSourceARN": "arn:aws:kinesis:eu-central-1:111122223333:stream/stk-stocks-ticks"
            })
        })
        .collect();
    let event_json = serde_json::json!({ "Records": records }).to_string();
    if let Some(out) = out {
        std::fs::write(&out, &event_json).unwrap();
    }
    let decoder = Decoder::new(&p, &sink);
    let mut best = f64::MAX;
    // The best time of each step: the payload as lambda_runtime reads it (the records and
    // their data), and decoding them to line protocol.
    let mut steps = [f64::MAX; 2];
    let mut bytes = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let de = &mut serde_json::Deserializer::from_slice(event_json.as_bytes());
        let batch: KinesisBatch = serde_path_to_error::deserialize(de).unwrap();
        let read = Instant::now();
        let decoded = decoder.decode_batch(&batch);
        let end = Instant::now();
        let secs = (end - start).as_secs_f64();
        for (best, step) in steps.iter_mut().zip([read - start, end - read]) {
            *best = best.min(step.as_secs_f64());
        }
        assert_eq!(decoded.stats.ticks, n);
        assert_eq!(decoded.stats.dead_letters, 0);
        bytes = decoded.body.len();
        best = best.min(secs);
    }
    println!(
        "rust transform: {n} records in {:.2} ms (best of 20) = {:.0} records/s; {bytes} bytes of line protocol",
        best * 1e3,
        n as f64 / best
    );
    println!(
        "  steps (best of each): event {:.2} ms, ticks to line protocol {:.2} ms",
        steps[0] * 1e3,
        steps[1] * 1e3
    );
}
