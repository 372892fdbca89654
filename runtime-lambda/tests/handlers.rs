//! The three handlers called directly with events built from the real samples in
//! ../shared/fixtures/aws-events (or, where ../shared is absent, the project's own events in
//! tests/data, written in the same shape), against real local servers: S3, SNS and Secrets
//! Manager in moto server, the InfluxDB v2 write API in VictoriaMetrics. And the built
//! bootstrap under cargo-lambda's Runtime API emulator.
//!
//! Needs STK_MOTO_URL and STK_VM_URL (tests/services/start.sh) and STK_PYTHON (the test venv,
//! for DuckDB and cargo-lambda); each test is skipped with a message without them.

use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::s3::S3Event;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use stk_runtime_lambda::compact::Compact;
use stk_runtime_lambda::kinesis::KinesisBatch;
use stk_runtime_lambda::notify::Notify;
use stk_runtime_lambda::transform::Transform;
use stk_runtime_lambda::{Config, HandlerKind};

const PIPELINE: &str = r#"
pipeline lt { region = "eu-west-1" }
source quotes: yahoo {
  symbols = ["AAPL"]
  every = 5s
  endpoint = chart
}
schema quote {
  symbol: string required
  ts: timestamp required
  price: float64 required
  high: float64
  low: float64
  currency: string required
}
validate quote {
  rule positive: price > 0
  rule range: high >= low
  on_fail = dead_letter
}
sink tsdb: influxdb {
  url = "http://127.0.0.1:9"
  org = "stk"
  bucket = "quotes"
  token = secret("SECRET")
  measurement = "MEASUREMENT"
  tags = [symbol, currency]
  fields = [price, high, low]
}
sink raw: s3_json {
  buffer = { interval = 60s, size = 64MiB }
  partition = [date(ts), symbol]
}
sink lake: s3_parquet {
  from = raw
  compression = zstd
  partition = [date(ts), symbol]
}
alert jump {
  when = abs(pct_change(price, 1m)) > 1%
  per = symbol
  cooldown = 5m
  severity = warning
  delivery = near_real_time
  notify = email("alerts@example.com")
  message = "{symbol} moved to {price}"
}
"#;

fn env(name: &str, test: &str) -> Option<String> {
    let v = std::env::var(name).ok().filter(|v| !v.is_empty());
    if v.is_none() {
        eprintln!("SKIPPED {test}: {name} is not set; run tests/run.sh");
    }
    v
}

/// A unique name per test and process (moto is shared by the whole suite).
fn unique(test: &str) -> String {
    format!("stk-lt-{test}-{}", std::process::id()).replace('_', "-")
}

fn pipeline(secret: &str, measurement: &str) -> stk_dsl::ir::Pipeline {
    let text = PIPELINE
        .replace("SECRET", secret)
        .replace("MEASUREMENT", measurement);
    let checked = stk_dsl::check_source(&text, &stk_dsl::check::NoWorld);
    checked
        .ir
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics))
}

async fn aws(moto: &str) -> aws_config::SdkConfig {
    // SAFETY: the same values in every test, set before any client reads them.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "eu-west-1");
        std::env::set_var("AWS_ENDPOINT_URL", moto);
    }
    aws_config::from_env().endpoint_url(moto).load().await
}

async fn bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    o.body.collect().await.unwrap().into_bytes().to_vec()
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let out = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    let mut k: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    k.sort();
    k
}

/// The sample events: ../shared's real ones when present, else the project's own.
fn sample(shared_name: &str, own_name: &str) -> String {
    let shared = std::env::var("STK_SHARED_FIXTURES")
        .map(PathBuf::from)
        .ok()
        .or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|a| a.join("shared/fixtures"))
                .find(|p| p.is_dir())
        })
        .map(|p| p.join("aws-events").join(shared_name))
        .filter(|p| p.is_file());
    let path = shared.unwrap_or_else(|| {
        eprintln!("note: ../shared/fixtures is absent; using tests/data/{own_name}");
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(own_name)
    });
    std::fs::read_to_string(path).unwrap()
}

/// A Kinesis event with one record per payload, built on the sample's first record.
fn kinesis_event(payloads: &[Vec<u8>]) -> KinesisEvent {
    let mut event: KinesisEvent =
        serde_json::from_str(&sample("kinesis-stream-event.json", "kinesis-event.json")).unwrap();
    let template = event.records[0].clone();
    event.records = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut r = template.clone();
            let seq = format!("4965{i:052}");
            r.kinesis.data.0 = p.clone();
            r.kinesis.sequence_number = seq.clone();
            r.event_id = Some(format!("shardId-000000000000:{seq}"));
            r
        })
        .collect();
    event
}

/// The event as the bootstrap receives it: its JSON, read as the predecode layer reads the
/// invocation's body (the plain-event scanner, which must agree with `serde_json`).
fn batch(event: &KinesisEvent) -> KinesisBatch {
    let json = serde_json::to_vec(event).unwrap();
    let batch = KinesisBatch::from_json(&json).unwrap();
    assert_eq!(batch, KinesisBatch::from_json_reference(&json).unwrap());
    batch
}

/// An S3 ObjectCreated event for `key` (URL-encoded as S3 sends it).
fn s3_event(bucket: &str, key: &str) -> S3Event {
    let mut event: S3Event = serde_json::from_str(&sample(
        "s3-event-objectcreated-put-realistic.json",
        "s3-event.json",
    ))
    .unwrap();
    let r = &mut event.records[0];
    r.s3.bucket.name = Some(bucket.to_string());
    r.s3.object.key = Some(key.replace('=', "%3D").replace(' ', "+"));
    r.s3.object.url_decoded_key = None;
    event
}

fn tick(symbol: &str, ts_s: i64, price: f64) -> serde_json::Value {
    serde_json::json!({
        "symbol": symbol, "ts": chrono::DateTime::from_timestamp(ts_s, 0).unwrap().to_rfc3339(),
        "price": price, "high": price + 1.0, "low": price - 1.0, "currency": "USD",
    })
}

fn config(handler: HandlerKind, p: stk_dsl::ir::Pipeline) -> Config {
    Config {
        handler,
        pipeline: p,
        errors_bucket: None,
        lake_bucket: None,
        alerts_topic_arn: None,
        influx_url: None,
    }
}

/// VictoriaMetrics' samples of `metric` by symbol: (ts ms, value).
async fn vm_samples(vm: &str, metric: &str, want: usize) -> BTreeMap<String, Vec<(i64, f64)>> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        http.get(format!("{vm}/internal/force_flush"))
            .send()
            .await
            .unwrap();
        let text = http
            .get(format!("{vm}/api/v1/export"))
            .query(&[("match[]", metric)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut out: BTreeMap<String, Vec<(i64, f64)>> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let sym = v["metric"]["symbol"].as_str().unwrap().to_string();
            let ts = v["timestamps"].as_array().unwrap();
            let vals = v["values"].as_array().unwrap();
            for (t, x) in ts.iter().zip(vals) {
                out.entry(sym.clone())
                    .or_default()
                    .push((t.as_i64().unwrap(), x.as_f64().unwrap()));
            }
        }
        if out.values().map(Vec::len).sum::<usize>() >= want || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn transform_writes_valid_ticks_and_dead_letters_the_rest() {
    let test = "transform_writes_valid_ticks_and_dead_letters_the_rest";
    let (Some(moto), Some(vm)) = (env("STK_MOTO_URL", test), env("STK_VM_URL", test)) else {
        return;
    };
    let name = unique("tv");
    let aws = aws(&moto).await;
    let s3 = stk_runtime_lambda::objects::s3_client(&aws);
    let errors = format!("{name}-errors");
    bucket(&s3, &errors).await;
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(format!("{name}/influx"))
        .secret_string(r#"{"token": "t0k3n"}"#)
        .send()
        .await
        .unwrap();
    let measurement = name.replace('-', "_");
    let mut cfg = config(
        HandlerKind::Transform,
        pipeline(&format!("{name}/influx"), &measurement),
    );
    cfg.errors_bucket = Some(errors.clone());
    cfg.influx_url = Some(vm.clone());
    let t = Transform::new(&cfg, &aws)
        .await
        .expect("init reads the secret from moto");

    let base = 1_795_789_800;
    let json = |v: serde_json::Value| v.to_string().into_bytes();
    let packed = format!(
        "{}\n{}\n",
        tick("MSFT", base, 410.5),
        tick("MSFT", base + 5, 411.25)
    );
    let array = serde_json::json!([tick("AMZN", base, 181.0), tick("AMZN", base + 5, 181.5)]);
    let mut bad_range = tick("AAPL", base + 10, 230.0);
    bad_range["high"] = 1.0.into();
    let event = kinesis_event(&[
        json(tick("AAPL", base, 229.75)),
        packed.into_bytes(),
        json(array),
        json(bad_range),
        b"{not json".to_vec(),
        json(tick("AAPL", base + 15, 229.5)),
    ]);
    let (response, stats) = t.handle(&batch(&event)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(
        (stats.written, stats.dead_letters, stats.failed),
        (6, 2, 0),
        "{stats:?}"
    );

    let got = vm_samples(&vm, &format!("{measurement}_price"), 6).await;
    let ms = |s: i64| s * 1000;
    assert_eq!(
        got["AAPL"],
        vec![(ms(base), 229.75), (ms(base + 15), 229.5)]
    );
    assert_eq!(got["MSFT"], vec![(ms(base), 410.5), (ms(base + 5), 411.25)]);
    assert_eq!(got["AMZN"], vec![(ms(base), 181.0), (ms(base + 5), 181.5)]);

    let dl_keys = keys(&s3, &errors).await;
    assert_eq!(dl_keys.len(), 1, "{dl_keys:?}");
    assert!(dl_keys[0].starts_with("transform/"), "{dl_keys:?}");
    let body = String::from_utf8(object(&s3, &errors, &dl_keys[0]).await).unwrap();
    let letters: Vec<serde_json::Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0]["rule"], "range");
    assert_eq!(
        letters[0]["sequence_number"],
        event.records[3].kinesis.sequence_number.as_str()
    );
    assert_eq!(letters[0]["record"]["high"], 1.0);
    assert_eq!(letters[1]["rule"], "decode");
    assert_eq!(
        letters[1]["sequence_number"],
        event.records[4].kinesis.sequence_number.as_str()
    );
}

#[tokio::test]
async fn transform_with_influxdb_down_returns_every_record_for_retry() {
    let test = "transform_with_influxdb_down_returns_every_record_for_retry";
    let Some(moto) = env("STK_MOTO_URL", test) else {
        return;
    };
    let name = unique("td");
    let aws = aws(&moto).await;
    let s3 = stk_runtime_lambda::objects::s3_client(&aws);
    let errors = format!("{name}-errors");
    bucket(&s3, &errors).await;
    aws_sdk_secretsmanager::Client::new(&aws)
        .create_secret()
        .name(format!("{name}/influx"))
        .secret_string("plain-token")
        .send()
        .await
        .unwrap();
    let mut cfg = config(
        HandlerKind::Transform,
        pipeline(&format!("{name}/influx"), "q"),
    );
    cfg.errors_bucket = Some(errors.clone());
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.influx_url = Some(format!("http://127.0.0.1:{port}"));
    let t = Transform::new(&cfg, &aws)
        .await
        .unwrap()
        .with_influx_retries(2, Duration::from_millis(10));
    let event = kinesis_event(&[
        tick("AAPL", 1_795_789_800, 1.0).to_string().into_bytes(),
        tick("AAPL", 1_795_789_805, 2.0).to_string().into_bytes(),
        tick("AAPL", 1_795_789_810, 3.0).to_string().into_bytes(),
    ]);
    let (response, stats) = t.handle(&batch(&event)).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    let all: Vec<_> = event
        .records
        .iter()
        .map(|r| r.kinesis.sequence_number.clone())
        .collect();
    assert_eq!(failed, all, "every record comes back for a retry");
    assert_eq!((stats.written, stats.failed), (0, 3));
    assert!(
        keys(&s3, &errors).await.is_empty(),
        "nothing was dead-lettered"
    );
}

#[tokio::test]
async fn compact_writes_partitioned_parquet_and_a_rerun_overwrites() {
    let test = "compact_writes_partitioned_parquet_and_a_rerun_overwrites";
    let Some(moto) = env("STK_MOTO_URL", test) else {
        return;
    };
    let name = unique("cp");
    let aws = aws(&moto).await;
    let s3 = stk_runtime_lambda::objects::s3_client(&aws);
    let (raw, lake, errors) = (
        format!("{name}-raw"),
        format!("{name}-lake"),
        format!("{name}-errors"),
    );
    for b in [&raw, &lake, &errors] {
        bucket(&s3, b).await;
    }
    // A Firehose-style object: 100,000 ticks of 4 symbols over two days, newline-delimited,
    // and one invalid tick.
    let symbols = ["AAPL", "MSFT", "BRK.B", "SAP.DE"];
    let base = 1_795_809_600; // 2026-11-27 20:00 UTC: the ticks cross midnight
    let mut body = String::new();
    let mut sums: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for i in 0..100_000i64 {
        let sym = symbols[(i % 4) as usize];
        let price = 100.0 + (i % 1000) as f64 / 8.0;
        body.push_str(&tick(sym, base + i / 2, price).to_string());
        body.push('\n');
        let e = sums.entry(sym.to_string()).or_default();
        e.0 += 1;
        e.1 += price;
    }
    body.push_str(&tick("AAPL", base, -1.0).to_string());
    body.push('\n');
    let key = "2026/11/27/23/stk-lt-raw-1-2026-11-27-23-00-00-abc def";
    s3.put_object()
        .bucket(&raw)
        .key(key)
        .body(body.into_bytes().into())
        .send()
        .await
        .unwrap();
    let mut cfg = config(HandlerKind::Compact, pipeline("unused", "q"));
    cfg.lake_bucket = Some(lake.clone());
    cfg.errors_bucket = Some(errors.clone());
    let c = Compact::new(&cfg, &aws).unwrap();
    let stats = c.handle(&s3_event(&raw, key)).await.unwrap();
    assert_eq!((stats.records, stats.dead_letters), (100_000, 1));
    let first = keys(&s3, &lake).await;
    assert_eq!(first.len(), 8, "4 symbols x 2 dates: {first:?}");
    assert!(
        first.contains(
            &"date=2026-11-28/symbol=BRK.B/stk-lt-raw-1-2026-11-27-23-00-00-abc_def.parquet"
                .to_string()
        ),
        "{first:?}"
    );
    let mut bytes_first = Vec::new();
    for k in &first {
        bytes_first.push(object(&s3, &lake, k).await);
    }
    // Again: the same objects, byte for byte.
    c.handle(&s3_event(&raw, key)).await.unwrap();
    assert_eq!(keys(&s3, &lake).await, first);
    for (k, b) in first.iter().zip(&bytes_first) {
        assert_eq!(&object(&s3, &lake, k).await, b, "{k} changed on the rerun");
    }
    let dl = keys(&s3, &errors).await;
    assert_eq!(dl, vec![format!("compact/{key}.jsonl")]);

    // Read back with our reader: rows and sums per symbol.
    let p = pipeline("unused", "q");
    let mut got: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    for (k, b) in first.iter().zip(&bytes_first) {
        let mut seq = 0;
        stk_lake::input::for_each_object_batch(
            &p,
            k,
            bytes::Bytes::from(b.clone()),
            &mut seq,
            &mut |batch| {
                for row in 0..batch.num_rows() {
                    let r = stk_lake::convert::record_at(&p.schema, &batch, row);
                    let (stk_eval::Value::Str(s), stk_eval::Value::Float(x)) =
                        (&r.values[0], &r.values[2])
                    else {
                        panic!("{r:?}")
                    };
                    let e = got.entry(s.to_string()).or_default();
                    e.0 += 1;
                    e.1 += x;
                }
                Ok(())
            },
        )
        .unwrap();
        let path = dir.path().join(k);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b).unwrap();
    }
    assert_eq!(got, sums);

    // And with an independent reader (DuckDB), from the files as they are in the bucket.
    let Some(py) = env("STK_PYTHON", test) else {
        return;
    };
    let script = format!(
        "import duckdb\nfor r in duckdb.sql(\"select symbol, count(*), sum(price), min(typeof(ts)) from read_parquet('{}/**/*.parquet', hive_partitioning=true) group by symbol order by symbol\").fetchall(): print(*r, sep='|')",
        dir.path().display()
    );
    let out = Command::new(py).args(["-c", &script]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for (line, (sym, (n, sum))) in text.lines().zip(&sums) {
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts[0], sym);
        assert_eq!(parts[1].parse::<usize>().unwrap(), *n);
        assert!(
            (parts[2].parse::<f64>().unwrap() - sum).abs() < 1e-6,
            "{line}"
        );
        assert!(parts[3].starts_with("TIMESTAMP"), "{line}");
    }
    assert_eq!(text.lines().count(), 4, "{text}");
}

#[tokio::test]
async fn notify_publishes_the_firings_of_the_new_object_only() {
    let test = "notify_publishes_the_firings_of_the_new_object_only";
    let Some(moto) = env("STK_MOTO_URL", test) else {
        return;
    };
    let name = unique("nf");
    let aws = aws(&moto).await;
    let s3 = stk_runtime_lambda::objects::s3_client(&aws);
    let lake_bucket = format!("{name}-lake");
    bucket(&s3, &lake_bucket).await;
    let topic = aws_sdk_sns::Client::new(&aws)
        .create_topic()
        .name(format!("{name}-alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let p = pipeline("unused", "q");
    let stk_dsl::ir::SinkKind::S3Parquet(lake) = &p.sink("lake").unwrap().kind else {
        panic!()
    };
    let validator = stk_eval::Validator::new(&p);
    let file = |ticks: &[serde_json::Value]| {
        let recs: Vec<_> = ticks
            .iter()
            .map(|t| validator.validate_json(t).unwrap())
            .collect();
        let mut w = stk_lake::compact::LakeWriter::new(&p, lake).unwrap();
        recs.iter().for_each(|r| w.push(r).unwrap());
        let mut files = w.finish("x", 1).unwrap();
        assert_eq!(files.len(), 1, "one partition");
        files.remove(0).bytes
    };
    let base = 1_795_789_800;
    // The earlier object: a 2% jump at base+20 (its firing belongs to that object).
    let earlier = file(&[tick("AAPL", base, 100.0), tick("AAPL", base + 20, 102.0)]);
    // The new object: +1.5% against base+20 within a minute, but within the 5-minute
    // cooldown of the earlier firing: no firing; then a jump after the cooldown: a firing.
    let new = file(&[
        tick("AAPL", base + 40, 103.6),
        tick("AAPL", base + 400, 103.6),
        tick("AAPL", base + 420, 106.0),
    ]);
    let dir = "date=2026-11-27/symbol=AAPL/";
    for (k, b) in [("a.parquet", earlier), ("b.parquet", new)] {
        s3.put_object()
            .bucket(&lake_bucket)
            .key(format!("{dir}{k}"))
            .body(b.into())
            .send()
            .await
            .unwrap();
    }
    let mut cfg = config(HandlerKind::Notify, p.clone());
    cfg.alerts_topic_arn = Some(topic.clone());
    let n = Notify::new(&cfg, &aws).unwrap();
    let stats = n
        .handle(&s3_event(&lake_bucket, &format!("{dir}b.parquet")))
        .await
        .unwrap();
    assert_eq!(stats.records, 3);
    assert_eq!(stats.lookback_records, 2);
    let fired: Vec<(&str, &str)> = stats
        .firings
        .iter()
        .map(|f| (f.ts.as_str(), f.message.as_str()))
        .collect();
    let ts = chrono::DateTime::from_timestamp(base + 420, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(fired[0].0.starts_with(&ts[..19]), "{fired:?}");
    assert_eq!(fired[0].1, "AAPL moved to 106");

    // The firing is in SNS (moto keeps published messages).
    let data: serde_json::Value = reqwest::get(format!("{moto}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = data.to_string();
    assert!(text.contains("AAPL moved to 106"), "SNS has the message");
}

/// The built bootstrap answers an invocation of each handler under cargo-lambda's Runtime
/// API emulator.
#[test]
fn bootstrap_answers_each_handler_under_the_runtime_api_emulator() {
    let test = "bootstrap_answers_each_handler_under_the_runtime_api_emulator";
    let (Some(py), Some(moto), Some(vm)) = (
        env("STK_PYTHON", test),
        env("STK_MOTO_URL", test),
        env("STK_VM_URL", test),
    ) else {
        return;
    };
    let cargo_lambda = PathBuf::from(&py).with_file_name("cargo-lambda");
    assert!(
        cargo_lambda.is_file(),
        "tests/oracle/setup-venv.sh installs cargo-lambda"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut emulator = Command::new(&cargo_lambda)
        .args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
        ])
        .current_dir(&workspace)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the emulator did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dir = tempfile::tempdir().unwrap();
    let pipeline_path = dir.path().join("pipeline.json");
    let rt = tokio::runtime::Runtime::new().unwrap();
    // `aws` also sets the moto endpoint and test credentials for the bootstraps started below.
    let aws_cfg = rt.block_on(aws(&moto));
    let s3 = stk_runtime_lambda::objects::s3_client(&aws_cfg);
    let name = unique("em");
    rt.block_on(bucket(&s3, &format!("{name}-lake")));
    rt.block_on(
        aws_sdk_secretsmanager::Client::new(&aws_cfg)
            .create_secret()
            .name(format!("{name}/influx"))
            .secret_string(r#"{"token": "t0k3n"}"#)
            .send(),
    )
    .unwrap();
    let measurement = name.replace('-', "_");
    let p = pipeline(&format!("{name}/influx"), &measurement);
    std::fs::write(&pipeline_path, serde_json::to_string(&p).unwrap()).unwrap();
    let bootstrap = env!("CARGO_BIN_EXE_bootstrap");
    // transform: the event read by the predecode layer from the invocation's body; one tick
    // written, nothing to retry.
    let transform_event =
        kinesis_event(&[tick("AAPL", 1_795_789_800, 229.75).to_string().into_bytes()]);
    let cases: [(&str, serde_json::Value, &str); 3] = [
        (
            "transform",
            serde_json::to_value(&transform_event).unwrap(),
            "\"batchItemFailures\":[]",
        ),
        (
            "compact",
            serde_json::json!({"Records": []}),
            "\"objects\":0",
        ),
        (
            "notify",
            serde_json::json!({"Records": []}),
            "\"firings\":[]",
        ),
    ];
    let mut answers = Vec::new();
    for (handler, event, expect) in cases {
        let mut child = Command::new(bootstrap)
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("_HANDLER", handler)
            .env("STK_PIPELINE", &pipeline_path)
            .env("STK_LAKE_BUCKET", format!("{name}-lake"))
            .env("STK_ERRORS_BUCKET", format!("{name}-lake"))
            .env("STK_INFLUX_URL", &vm)
            .env(
                "STK_ALERTS_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:123456789012:none",
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let answer = rt.block_on(async {
            reqwest::Client::new()
                .post(format!(
                    "http://127.0.0.1:{port}/2015-03-31/functions/_/invocations"
                ))
                .json(&event)
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        });
        let _ = child.kill();
        let _ = child.wait();
        assert!(answer.contains(expect), "{handler}: {answer}");
        answers.push(answer);
    }
    let written = rt.block_on(vm_samples(&vm, &format!("{measurement}_price"), 1));
    assert_eq!(written["AAPL"], [(1_795_789_800_000, 229.75)]);
    // transform refuses to start without its sink, saying why.
    let mut p = p;
    p.sinks.retain(|s| s.name != "tsdb");
    std::fs::write(&pipeline_path, serde_json::to_string(&p).unwrap()).unwrap();
    let out = Command::new(bootstrap)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            format!("http://127.0.0.1:{port}/.rt"),
        )
        .env("_HANDLER", "transform")
        .env("STK_PIPELINE", &pipeline_path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs an influxdb sink"),
        "{out:?}"
    );
    let _ = emulator.kill();
    let _ = emulator.wait();
    assert_eq!(answers.len(), 3);
}

#[tokio::test]
async fn transform_writes_the_v1_api_of_influxdb_1_6_with_an_ssm_token() {
    let test = "transform_writes_the_v1_api_of_influxdb_1_6_with_an_ssm_token";
    let (Some(moto), Some(influx)) = (env("STK_MOTO_URL", test), env("STK_INFLUX1_URL", test))
    else {
        return;
    };
    let name = unique("t1");
    let db = name.replace('-', "_");
    let aws = aws(&moto).await;
    aws_sdk_ssm::Client::new(&aws)
        .put_parameter()
        .name(format!("/{name}/influx"))
        .value("user:pass")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let text = PIPELINE
        .replace("secret(\"SECRET\")", &format!("ssm(\"/{name}/influx\")"))
        .replace("MEASUREMENT", "quote")
        .replace(
            "bucket = \"quotes\"",
            &format!("bucket = \"{db}\"\n  api = v1"),
        );
    let checked = stk_dsl::check_source(&text, &stk_dsl::check::NoWorld);
    let p = checked
        .ir
        .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let mut cfg = config(HandlerKind::Transform, p);
    cfg.errors_bucket = Some(format!("{name}-errors"));
    cfg.influx_url = Some(influx.clone());
    let http = reqwest::Client::new();
    let q = |sql: String| {
        let http = http.clone();
        let influx = influx.clone();
        let db = db.clone();
        async move {
            http.post(format!("{influx}/query"))
                .query(&[("db", db.as_str()), ("epoch", "ns")])
                .form(&[("q", sql.as_str())])
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    q(format!("CREATE DATABASE \"{db}\"")).await;
    let t = Transform::new(&cfg, &aws)
        .await
        .expect("init reads the SSM parameter");
    // Sub-second event times: InfluxDB 1.6 keeps nanoseconds, so they must come back exact.
    let mut a = tick("AAPL", 1_795_789_800, 229.75);
    a["ts"] = "2026-11-27T14:30:00.123456Z".into();
    let b = tick("MSFT", 1_795_789_805, 410.5);
    let event = kinesis_event(&[a.to_string().into_bytes(), b.to_string().into_bytes()]);
    let (response, stats) = t.handle(&batch(&event)).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(stats.written, 2);
    let rows = q("SELECT price, high, symbol, currency FROM quote".into()).await;
    let values = rows["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{rows}"))
        .clone();
    let got: Vec<(i64, f64, f64, String, String)> = values
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap(),
                r[1].as_f64().unwrap(),
                r[2].as_f64().unwrap(),
                r[3].as_str().unwrap().to_string(),
                r[4].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ns = |rfc: &str| {
        chrono::DateTime::parse_from_rfc3339(rfc)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    };
    assert_eq!(
        got,
        vec![
            (
                ns("2026-11-27T14:30:00.123456Z"),
                229.75,
                230.75,
                "AAPL".into(),
                "USD".into()
            ),
            (
                1_795_789_805_000_000_000,
                410.5,
                411.5,
                "MSFT".into(),
                "USD".into()
            ),
        ]
    );
}
