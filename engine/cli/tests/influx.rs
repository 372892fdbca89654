//! The InfluxDB sink against real servers that tests/services/start.sh starts (tests/run.sh
//! exports their URLs): `stkc run` writes the series to VictoriaMetrics through the v2 write
//! API, value by value as in the lake; a run whose server is down warns and still writes the
//! whole lake; `stkc backfill` then rebuilds the series in InfluxDB 1.6 through the v1 API,
//! exactly (nanosecond timestamps), and a second backfill duplicates nothing.

use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stk_dsl::check::FsWorld;
use stk_eval::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The URL of a server the test script started, or a visible skip.
fn server(var: &str, test: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED {test}: {var} is not set; run tests/run.sh, which starts the servers \
                 (tests/services/start.sh)"
            );
            None
        }
    }
}

/// A unique name, so that tests sharing a server do not see each other's points.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}_{}_{nanos}", std::process::id())
}

/// pipelines/stocks.stk with its InfluxDB sink changed by `edit`, written into `dir`.
fn stocks_variant(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let src = std::fs::read_to_string(root().join("pipelines/stocks.stk")).unwrap();
    let edited = edit(src.clone());
    assert_ne!(edited, src, "the edit changed the pipeline");
    let path = dir.join("stocks.stk");
    std::fs::write(&path, edited).unwrap();
    path
}

/// The first `n` lines of the bundled demo replay (a few thousand ticks, some invalid).
fn replay_subset(dir: &Path, n: usize) -> PathBuf {
    let all = std::fs::read_to_string(root().join("pipelines/demo/ticks.jsonl")).unwrap();
    let mut text: String = all.lines().take(n).collect::<Vec<_>>().join("\n");
    text.push('\n');
    let path = dir.join("ticks.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

fn stkc(args: &[&str], paths: &[&Path]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("stkc").unwrap();
    cmd.args(args)
        .args(paths)
        .env("STK_SECRET_STOCKS_INFLUX_TOKEN", "test-token");
    cmd.output().unwrap()
}

fn run_to_lake(pipeline: &Path, replay: &Path, lake: &Path, influx: &str) -> String {
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .arg("run")
        .arg(pipeline)
        .arg("--replay")
        .arg(replay)
        .arg("--lake")
        .arg(lake)
        .args(["--speed", "max", "--influx", influx])
        .env("STK_SECRET_STOCKS_INFLUX_TOKEN", "test-token")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "stkc run failed: {stderr}");
    stderr
}

/// (symbol, ts in µs) -> (close, volume) of every row in the lake under `lake/lake`.
fn lake_points(pipeline: &Path, lake: &Path) -> BTreeMap<(String, i64), (f64, Option<i64>)> {
    let p = stk_dsl::check_source(
        &std::fs::read_to_string(pipeline).unwrap(),
        &FsWorld::for_pipeline(pipeline),
    )
    .ir
    .unwrap();
    let field = |n: &str| p.schema.fields.iter().position(|f| f.name == n).unwrap();
    let (sym, ts, close, vol) = (
        field("symbol"),
        field("ts"),
        field("close"),
        field("volume"),
    );
    let input = stk_lake::input::read(&p, &lake.join("lake")).unwrap();
    stk_lake::input::records(&p, &input.batches)
        .into_iter()
        .map(|r| {
            let (Value::Str(s), Value::Ts(t), Value::Float(c)) =
                (&r.values[sym], &r.values[ts], &r.values[close])
            else {
                panic!("unexpected row {r:?}")
            };
            let v = match r.values[vol] {
                Value::Int(v) => Some(v),
                _ => None,
            };
            ((s.to_string(), *t), (*c, v))
        })
        .collect()
}

/// Every point of VictoriaMetrics series `name` as (symbol, ts in ms) -> value.
fn vm_series(url: &str, name: &str) -> BTreeMap<(String, i64), f64> {
    let body = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/export"))
        .query(&[("match[]", name)])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let mut out = BTreeMap::new();
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let symbol = v["metric"]["symbol"].as_str().unwrap().to_string();
        let ts = v["timestamps"].as_array().unwrap();
        let vals = v["values"].as_array().unwrap();
        for (t, x) in ts.iter().zip(vals) {
            out.insert((symbol.clone(), t.as_i64().unwrap()), x.as_f64().unwrap());
        }
    }
    out
}

#[test]
fn run_writes_every_valid_tick_to_victoriametrics_value_by_value() {
    let Some(vm) = server(
        "STK_VM_URL",
        "run_writes_every_valid_tick_to_victoriametrics_value_by_value",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let measurement = unique("q");
    let pipeline = stocks_variant(dir.path(), |s| {
        s.replace(
            "measurement = \"quote\"",
            &format!("measurement = \"{measurement}\""),
        )
    });
    let replay = replay_subset(dir.path(), 3000);
    let lake = dir.path().join("lake");
    let stderr = run_to_lake(&pipeline, &replay, &lake, &vm);
    let expected = lake_points(&pipeline, &lake);
    assert!(expected.len() > 2500, "the replay has valid ticks");
    assert!(
        stderr.contains(&format!("influxdb: {} points written", expected.len())),
        "{stderr}"
    );

    // VictoriaMetrics ingests asynchronously: flush, then wait for every point.
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (close, volume) = loop {
        client
            .get(format!("{vm}/internal/force_flush"))
            .send()
            .unwrap();
        let close = vm_series(&vm, &format!("{measurement}_close"));
        let volume = vm_series(&vm, &format!("{measurement}_volume"));
        if close.len() >= expected.len() || Instant::now() > deadline {
            break (close, volume);
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        close.len(),
        expected.len(),
        "one close point per valid tick"
    );
    for ((symbol, ts_us), (c, v)) in &expected {
        let key = (symbol.clone(), ts_us / 1000);
        let got = close
            .get(&key)
            .unwrap_or_else(|| panic!("no close for {key:?}"));
        assert!(
            (got - c).abs() <= 1e-9 * c.abs(),
            "close of {key:?}: {got} != {c}"
        );
        if let Some(v) = v {
            assert_eq!(volume.get(&key), Some(&(*v as f64)), "volume of {key:?}");
        }
    }
}

#[test]
fn a_run_without_influxdb_keeps_the_lake_and_backfill_rebuilds_influxdb_1_exactly() {
    let test = "a_run_without_influxdb_keeps_the_lake_and_backfill_rebuilds_influxdb_1_exactly";
    let Some(influx) = server("STK_INFLUX1_URL", test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = unique("stocks");
    let pipeline = stocks_variant(dir.path(), |s| {
        s.replace(
            "bucket = \"quotes\"",
            &format!("bucket = \"{db}\"\n  api = v1"),
        )
    });
    let replay = replay_subset(dir.path(), 2000);
    let lake = dir.path().join("lake");

    // Nothing listens on port 9 of loopback: the run must warn, go on, and keep everything.
    let stderr = run_to_lake(&pipeline, &replay, &lake, "http://127.0.0.1:9");
    assert!(stderr.contains("is not available"), "{stderr}");
    assert!(stderr.contains("stkc backfill"), "{stderr}");
    let expected = lake_points(&pipeline, &lake);
    assert!(expected.len() > 1500, "the replay has valid ticks");

    let client = reqwest::blocking::Client::new();
    let q = |sql: &str| -> serde_json::Value {
        client
            .post(format!("{influx}/query"))
            .query(&[("db", db.as_str()), ("epoch", "ns")])
            .form(&[("q", sql)])
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    q(&format!("CREATE DATABASE \"{db}\""));

    for round in 0..2 {
        let out = stkc(
            &["backfill", "--influx", &influx, "--from-lake"],
            &[&lake.join("lake"), &pipeline],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "backfill failed: {err}");
        assert!(
            err.contains(&format!("{} points written", expected.len())),
            "{err}"
        );
        let rows = q("SELECT close, volume, symbol FROM quote");
        let series = &rows["results"][0]["series"][0];
        let values = series["values"].as_array().expect("rows came back");
        assert_eq!(
            values.len(),
            expected.len(),
            "round {round}: one point per lake row, none duplicated"
        );
        for row in values {
            let ns = row[0].as_i64().unwrap();
            let key = (row[3].as_str().unwrap().to_string(), ns / 1000);
            assert_eq!(ns % 1000, 0);
            let (c, v) = expected
                .get(&key)
                .unwrap_or_else(|| panic!("{key:?} is not in the lake"));
            assert_eq!(row[1].as_f64(), Some(*c), "close of {key:?}");
            assert_eq!(row[2].as_i64(), *v, "volume of {key:?}");
        }
    }
}

#[test]
fn backfill_reads_the_lake_straight_from_s3() {
    let test = "backfill_reads_the_lake_straight_from_s3";
    let (Some(influx), Some(moto)) = (
        server("STK_INFLUX1_URL", test),
        server("STK_MOTO_URL", test),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = unique("s3fill");
    let pipeline = stocks_variant(dir.path(), |s| {
        s.replace(
            "bucket = \"quotes\"",
            &format!("bucket = \"{db}\"\n  api = v1"),
        )
    });
    let replay = replay_subset(dir.path(), 1500);
    let lake = dir.path().join("lake");
    run_to_lake(&pipeline, &replay, &lake, "http://127.0.0.1:9");
    let expected = lake_points(&pipeline, &lake);
    assert!(expected.len() > 1000, "the replay has valid ticks");

    // The lake as the compact Lambda leaves it in S3, under a prefix, in moto server.
    let bucket = unique("lake").replace('_', "-").to_lowercase();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s3 = rt.block_on(async {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&moto)
            .region(aws_config::Region::new("eu-central-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        )
    });
    let files = stk_lake::input::parquet_files(&lake.join("lake")).unwrap();
    rt.block_on(async {
        s3.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuCentral1)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for f in &files {
            let rel = f.strip_prefix(lake.join("lake")).unwrap().to_string_lossy();
            s3.put_object()
                .bucket(&bucket)
                .key(format!("prod/lake/{rel}"))
                .body(std::fs::read(f).unwrap().into())
                .send()
                .await
                .unwrap();
        }
        // Something else under the prefix that is not Parquet: skipped.
        s3.put_object()
            .bucket(&bucket)
            .key("prod/lake/_SUCCESS")
            .body(Vec::new().into())
            .send()
            .await
            .unwrap();
    });

    let client = reqwest::blocking::Client::new();
    client
        .post(format!("{influx}/query"))
        .form(&[("q", format!("CREATE DATABASE \"{db}\""))])
        .send()
        .unwrap();
    let url = format!("s3://{bucket}/prod/lake/");
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .args(["backfill", "--influx", &influx, "--from-lake", &url])
        .arg(&pipeline)
        .env("STK_SECRET_STOCKS_INFLUX_TOKEN", "test-token")
        .env("AWS_ENDPOINT_URL", &moto)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "backfill failed: {err}");
    assert!(
        err.contains(&format!("{} points written", expected.len())),
        "{err}"
    );
    let rows: serde_json::Value = client
        .post(format!("{influx}/query"))
        .query(&[("db", db.as_str()), ("epoch", "ns")])
        .form(&[("q", "SELECT close, symbol FROM quote")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let values = rows["results"][0]["series"][0]["values"]
        .as_array()
        .expect("rows came back")
        .clone();
    assert_eq!(values.len(), expected.len(), "one point per lake row");
    for row in &values {
        let key = (
            row[2].as_str().unwrap().to_string(),
            row[0].as_i64().unwrap() / 1000,
        );
        assert_eq!(row[1].as_f64(), Some(expected[&key].0), "close of {key:?}");
    }

    // A prefix with nothing under it: a clear error, no writes.
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .args(["backfill", "--influx", &influx, "--from-lake"])
        .arg(format!("s3://{bucket}/nothing-here"))
        .arg(&pipeline)
        .env("STK_SECRET_STOCKS_INFLUX_TOKEN", "test-token")
        .env("AWS_ENDPOINT_URL", &moto)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no Parquet objects under"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
