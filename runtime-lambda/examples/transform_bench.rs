//! The transform handler's CPU work on one Kinesis event (parse the event, base64-decode each
//! record, decode and validate the tick, encode line protocol), the work a Python handler
//! with orjson does in bench/transform_orjson.py on the same event file. From the event's
//! bytes, as the bootstrap reads them (the predecode layer's `KinesisBatch::from_json` on the
//! invocation's body), then the handler's own code.
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
        .influx_sink()
        .expect("stocks.stk has an InfluxDB sink")
        .clone();
    let symbols = [
        "AAPL", "MSFT", "AMZN", "TSLA", "NVDA", "GOOGL", "META", "BRK.B",
    ];
    let b64 = base64::engine::general_purpose::STANDARD;
    let records: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            // The scraper's wire format (stk_yahoo's `Tick::to_json`: these fields in this
            // order, the time in UTC with `Z`), prices in cents as markets quote them and the
            // scraper reads them from Yahoo's text (`101.11`, not `101.11000000000001`).
            let cents = 10_000 + (i % 977) as i64 * 37;
            let price = |c: i64| serde_json::to_string(&(c as f64 / 100.0)).unwrap();
            let tick = format!(
                r#"{{"symbol":"{}","ts":"{}","price":{},"open":{},"high":{},"low":{},"close":{},"volume":{},"currency":"USD"}}"#,
                symbols[i % symbols.len()],
                stk_eval::value::ts_to_rfc3339((1_795_789_800 + (i / 8) as i64 * 5) * 1_000_000),
                price(cents),
                price(cents - 50),
                price(cents + 125),
                price(cents - 125),
                price(cents),
                1000 + i,
            );
            serde_json::json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": symbols[i % symbols.len()],
                    "sequenceNumber": format!("4965{i:052}"),
                    "data": b64.encode(&tick),
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
    // The best time of each step: the event read from the body (the records and their
    // data), and decoding them to line protocol.
    let mut steps = [f64::MAX; 2];
    let mut bytes = 0;
    for _ in 0..20 {
        let start = Instant::now();
        let batch = KinesisBatch::from_json(event_json.as_bytes()).unwrap();
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
