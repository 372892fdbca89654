//! `stkc run` on a live Yahoo source, pointed at a local stand-in that replays chart answers:
//! each new tick reaches the lake once (an unchanged answer is not re-emitted), with the
//! values of the answer; fetch failures are reported and the run keeps polling.

use assert_cmd::Command;
use stk_yahoo::test_server::{Reply, TestServer};

fn chart(close3: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../yahoo/tests/data/chart-1m-nulls.json"),
    )
    .unwrap()
    .replace(
        "\"close\":[241.2,241.35,null,null]",
        &format!("\"close\":[241.2,241.35,{close3},null]"),
    )
}

const PIPELINE: &str = r#"
pipeline live { region = "eu-west-1" }

source q: yahoo {
  symbols = ["SAP.DE", "GONE"]
  every = 2s
  endpoint = chart
  base_url = "BASE"
}

schema quote {
  symbol: string required
  ts: timestamp required
  price: float64 required
  close: float64 required
  volume: int64
  currency: string
  exchange: string
}

sink raw: s3_json {
  buffer = { interval = 60s, size = 64MiB }
  partition = [date(ts), symbol]
}

sink lake: s3_parquet {
  from = raw
  partition = [date(ts), symbol]
}
"#;

#[test]
fn live_chart_ticks_reach_the_lake_once_with_their_values() {
    let server = TestServer::start();
    let (a, b) = (chart("null"), chart("241.5"));
    assert_ne!(a, b);
    // First the minute 14:30 is the newest with a price, then 14:31 arrives.
    server.route(
        "/v8/finance/chart/SAP.DE",
        vec![Reply::json(a.clone()), Reply::json(a), Reply::json(b)],
    );
    server.route(
        "/v8/finance/chart/GONE",
        vec![Reply::new(404, r#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#)],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.stk");
    std::fs::write(&file, PIPELINE.replace("BASE", &server.url)).unwrap();
    let lake = dir.path().join("lake");
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .arg("run")
        .arg(&file)
        .arg("--lake")
        .arg(&lake)
        .args(["--for", "7s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(server.hits("/v8/finance/chart/SAP.DE") >= 3, "{stderr}");
    assert!(
        stderr.contains("GONE"),
        "the failing symbol is reported: {stderr}"
    );
    assert!(stderr.contains("HTTP 404"), "{stderr}");

    let p = stk_dsl::check_source(
        &std::fs::read_to_string(&file).unwrap(),
        &stk_dsl::check::NoWorld,
    )
    .ir
    .unwrap();
    let input = stk_lake::input::read(&p, &lake.join("lake")).unwrap();
    let rows: Vec<String> = stk_lake::input::records(&p, &input.batches)
        .iter()
        .map(|r| format!("{:?}", r.values))
        .collect();
    assert_eq!(
        rows,
        vec![
            r#"[Str("SAP.DE"), Ts(1795789800000000), Float(241.35), Float(241.35), Int(980), Str("EUR"), Str("GER")]"#,
            r#"[Str("SAP.DE"), Ts(1795789860000000), Float(241.5), Float(241.5), Null, Str("EUR"), Str("GER")]"#,
        ],
        "{stderr}"
    );
    assert!(
        lake.join("lake/date=2026-11-27/symbol=SAP.DE").is_dir(),
        "partitioned by date and symbol"
    );
}
