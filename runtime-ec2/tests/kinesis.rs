//! The scraper against real local services: moto server as Kinesis (started by tests/run.sh,
//! or by the test itself when it must stop and restart it) and the scripted Yahoo stand-in.
//! - the daemon binary streams exactly the values of the Yahoo answers, and SIGTERM leaves
//!   nothing behind: what it could not send is in the spool, and the next start sends it;
//! - Kinesis down, then back: every spooled record arrives, in order per key, none twice.
//!
//! Needs STK_PYTHON (the test venv with moto, from tests/oracle/setup-venv.sh); skipped
//! with a message without it.

use aws_sdk_kinesis::Client;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use stk_runtime_ec2::producer::Producer;
use stk_runtime_ec2::spool::Spool;
use stk_yahoo::test_server::{Reply, TestServer};

fn moto_server_bin(test: &str) -> Option<PathBuf> {
    let Ok(py) = std::env::var("STK_PYTHON") else {
        eprintln!("SKIPPED {test}: STK_PYTHON (the venv with moto) is not set; run tests/run.sh");
        return None;
    };
    Some(Path::new(&py).with_file_name("moto_server"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A moto server of the test's own, on `port`.
struct Moto(Child);

impl Moto {
    fn start(bin: &Path, port: u16) -> Moto {
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto(child)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn aws_env() {
    // SAFETY: set once, the same values in every test, before any client reads them.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "eu-west-1");
    }
}

async fn kinesis(endpoint: &str) -> Client {
    aws_env();
    let cfg = aws_config::from_env().endpoint_url(endpoint).load().await;
    Client::new(&cfg)
}

async fn create_stream(k: &Client, name: &str) {
    k.create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .unwrap();
}

/// Every record of the (one-shard) stream, as (partition key, data).
async fn read_all(k: &Client, stream: &str) -> Vec<(String, String)> {
    let shard = k
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_string();
    let mut it = k
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator()
        .map(str::to_string);
    let mut out = Vec::new();
    while let Some(i) = it {
        let r = k.get_records().shard_iterator(i).send().await.unwrap();
        if r.records().is_empty() {
            break;
        }
        for rec in r.records() {
            out.push((
                rec.partition_key().unwrap_or_default().to_string(),
                String::from_utf8(rec.data().as_ref().to_vec()).unwrap(),
            ));
        }
        it = r.next_shard_iterator().map(str::to_string);
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn kinesis_down_then_back_every_record_arrives_in_order_once() {
    let Some(bin) = moto_server_bin("kinesis_down_then_back_every_record_arrives_in_order_once")
    else {
        return;
    };
    let rt = rt();
    let port = free_port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let spool = Mutex::new(Spool::open(&dir.path().join("spool.redb"), 64 << 20).unwrap());
    let records = |from: usize, to: usize| -> Vec<(String, Vec<u8>)> {
        (from..to)
            .map(|i| {
                let key = ["AAPL", "MSFT", "TSLA"][i % 3].to_string();
                (
                    key.clone(),
                    format!("{{\"symbol\":\"{key}\",\"n\":{i}}}").into_bytes(),
                )
            })
            .collect()
    };

    let moto = Moto::start(&bin, port);
    let k = rt.block_on(kinesis(&endpoint));
    rt.block_on(create_stream(&k, "ticks"));
    let producer = Producer::new(k.clone(), "ticks", 1);
    spool.lock().unwrap().push(&records(0, 30)).unwrap();
    while !spool.lock().unwrap().is_empty() {
        rt.block_on(producer.send_once(&spool)).unwrap();
    }
    let mut got = rt.block_on(read_all(&k, "ticks"));
    assert_eq!(got.len(), 30);

    // Kinesis goes away; the scraper keeps spooling; sends fail and keep everything.
    drop(moto);
    spool.lock().unwrap().push(&records(30, 90)).unwrap();
    for _ in 0..3 {
        let r = rt.block_on(producer.send_once(&spool));
        assert!(r.is_err(), "nothing listens, the send fails");
    }
    assert_eq!(spool.lock().unwrap().len(), 60, "nothing lost while down");

    // Back (a fresh moto keeps no state: the stream is created again).
    let _moto = Moto::start(&bin, port);
    rt.block_on(create_stream(&k, "ticks"));
    let mut calls = 0;
    while !spool.lock().unwrap().is_empty() {
        rt.block_on(producer.send_once(&spool)).unwrap();
        calls += 1;
        assert!(calls < 100);
    }
    got.extend(rt.block_on(read_all(&k, "ticks")));
    assert_eq!(got.len(), 90, "every record once");
    for key in ["AAPL", "MSFT", "TSLA"] {
        let ns: Vec<u64> = got
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, d)| {
                serde_json::from_str::<serde_json::Value>(d).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let mut sorted = ns.clone();
        sorted.sort();
        assert_eq!(ns, sorted, "{key} in order");
        assert_eq!(ns.len(), 30);
    }
}

const PIPELINE: &str = r#"
pipeline scrape { region = "eu-west-1" }

source q: yahoo {
  symbols = ["SAP.DE", "OCDO.L"]
  every = 2s
  endpoint = chart
  base_url = "BASE"
}

schema quote {
  symbol: string required
  ts: timestamp required
  price: float64 required
  open: float64
  high: float64
  low: float64
  close: float64 required
  volume: int64
  currency: string required
  exchange: string
}

validate quote {
  rule positive: price > 0
}

stream ticks: kinesis {
  shards = 1
  partition_key = symbol
}

alert jump {
  when = abs(pct_change(close, 1m)) > 1%
  per = symbol
  cooldown = 5m
  notify = email("ops@example.com")
  message = "{symbol} moved {pct_change(close, 1m)} in 1m to {close}"
}
"#;

/// SAP.DE's price at poll `i`: an eighth up each minute, and a 3% jump at the third minute.
fn sap_price(i: usize) -> f64 {
    241.0 + i as f64 / 8.0 + if i >= 2 { 8.0 } else { 0.0 }
}

fn chart(symbol: &str, currency: &str, ts: i64, close: f64) -> String {
    format!(
        r#"{{"chart":{{"result":[{{"meta":{{"currency":"{currency}","symbol":"{symbol}","exchangeName":"X","regularMarketTime":{ts},"regularMarketPrice":{close}}},"timestamp":[{ts}],"indicators":{{"quote":[{{"open":[{close}],"high":[{close}],"low":[{close}],"close":[{close}],"volume":[7]}}]}}}}],"error":null}}}}"#
    )
}

fn sigterm(child: &Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn the_daemon_streams_exact_values_and_sigterm_leaves_the_rest_in_the_spool() {
    let Some(_) =
        moto_server_bin("the_daemon_streams_exact_values_and_sigterm_leaves_the_rest_in_the_spool")
    else {
        return;
    };
    let Ok(moto) = std::env::var("STK_MOTO_URL") else {
        eprintln!("SKIPPED: STK_MOTO_URL is not set; run tests/run.sh");
        return;
    };
    let rt = rt();
    let yahoo = TestServer::start();
    // SAP.DE moves every poll; OCDO.L (pence) once, then the same answer (a duplicate), then
    // a price of 0, which the pipeline's rule rejects.
    yahoo.route(
        "/v8/finance/chart/SAP.DE",
        (0..50)
            .map(|i| {
                Reply::json(chart(
                    "SAP.DE",
                    "EUR",
                    1795789800 + 60 * i,
                    sap_price(i as usize),
                ))
            })
            .collect(),
    );
    yahoo.route(
        "/v8/finance/chart/OCDO.L",
        vec![
            Reply::json(chart("OCDO.L", "GBp", 1795789800, 1259.5)),
            Reply::json(chart("OCDO.L", "GBp", 1795789800, 1259.5)),
            Reply::json(chart("OCDO.L", "GBp", 1795789860, 0.0)),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let ir = stk_dsl::check_source(
        &PIPELINE.replace("BASE", &yahoo.url),
        &stk_dsl::check::NoWorld,
    )
    .ir
    .expect("the test pipeline compiles");
    let pipeline = dir.path().join("pipeline.json");
    std::fs::write(&pipeline, serde_json::to_string(&ir).unwrap()).unwrap();
    let stream = format!("stk-test-{}", std::process::id());
    let k = rt.block_on(kinesis(&moto));
    let sns =
        aws_sdk_sns::Client::new(&rt.block_on(aws_config::from_env().endpoint_url(&moto).load()));
    let topic = rt
        .block_on(sns.create_topic().name(format!("{stream}-alerts")).send())
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();

    let metrics_port = free_port();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_stk-scraper"))
            .arg("--pipeline")
            .arg(&pipeline)
            .args([
                "--stream",
                &stream,
                "--metrics",
                &format!("127.0.0.1:{metrics_port}"),
            ])
            .args(["--drain-seconds", "1", "--alerts-topic-arn", &topic])
            .arg("--spool")
            .arg(dir.path().join("spool.redb"))
            .arg("--dead-letters")
            .arg(dir.path().join("dead.jsonl"))
            .env("AWS_ENDPOINT_URL", &moto)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "eu-west-1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // First run: the stream does not exist yet, so every send fails; SIGTERM must leave
    // everything scraped in the spool.
    let child = start();
    // Until SAP.DE's first three answers (the third is the jump) and OCDO.L's are taken.
    let metrics = wait_for_metric(metrics_port, "stk_scraper_emitted_total", 4);
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(metrics.contains("stk_scraper_emitted_total"), "{metrics}");
    assert!(log.contains("Kinesis send failed"), "{log}");
    let emitted: u64 = field(&log, "emitted=");
    assert!(emitted >= 4, "{log}");
    assert_eq!(
        field(&log, "spooled="),
        emitted,
        "everything emitted is spooled: {log}"
    );
    assert_eq!(
        field(&log, "published="),
        1,
        "the jump was published: {log}"
    );

    // Second run, stream there: the spool goes first, then new ticks.
    rt.block_on(create_stream(&k, &stream));
    let child = start();
    std::thread::sleep(Duration::from_millis(3500));
    sigterm(&child);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("sending what an earlier run left in the spool"),
        "{log}"
    );
    assert!(log.contains("spooled=0"), "{log}");

    let got = rt.block_on(read_all(&k, &stream));
    let sap: Vec<serde_json::Value> = got
        .iter()
        .filter(|(key, _)| key == "SAP.DE")
        .map(|(_, d)| serde_json::from_str(d).unwrap())
        .collect();
    // A poll in flight at SIGTERM is dropped before its answer is taken (the stand-in has
    // served it, a real Yahoo would serve the newer price next time), so every record must be
    // exactly one of the answers, in order, with no answer twice.
    assert!(sap.len() >= 4, "{got:?}");
    let mut last: Option<usize> = None;
    for v in &sap {
        let ts = stk_eval::value::parse_ts(v["ts"].as_str().unwrap()).unwrap();
        let i = ((ts / 1_000_000 - 1795789800) / 60) as usize;
        assert!(last.is_none_or(|l| i > l), "in order, once: {got:?}");
        last = Some(i);
        let want = sap_price(i);
        assert_eq!(v["price"].as_f64(), Some(want));
        assert_eq!(v["close"].as_f64(), Some(want));
        assert_eq!(v["volume"].as_i64(), Some(7));
        assert_eq!(v["currency"], "EUR");
    }
    let first: Vec<f64> = sap
        .iter()
        .take(3)
        .map(|v| v["price"].as_f64().unwrap())
        .collect();
    assert_eq!(first, vec![sap_price(0), sap_price(1), sap_price(2)]);
    let ocdo: Vec<&(String, String)> = got.iter().filter(|(k, _)| k == "OCDO.L").collect();
    // The duplicate answer is not re-sent within a run; the zero price is rejected. (The
    // second run has no memory of the first: OCDO.L's repeated answer is new to it, but the
    // stand-in then serves the zero price, which is rejected, so it is not sent twice here.)
    assert_eq!(ocdo.len(), 1, "{ocdo:?}");
    assert!(ocdo[0].1.contains("\"currency\":\"GBp\""));
    assert!(ocdo[0].1.contains("\"price\":1259.5"));
    let dead = std::fs::read_to_string(dir.path().join("dead.jsonl")).unwrap();
    assert!(dead.contains("\"rule\":\"positive\""), "{dead}");

    // The 3% jump fired `jump` once (the cooldown holds the rest), published to the topic.
    let port: u16 = moto.rsplit(':').next().unwrap().parse().unwrap();
    let data: serde_json::Value =
        serde_json::from_str(http_body(&http_get(port, "/moto-api/data.json"))).unwrap();
    let sent: Vec<&serde_json::Value> = data["sns"]["Topic"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["arn"] == topic.as_str())
        .flat_map(|t| t["sent_notifications"].as_array().unwrap())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = sent[0][1].as_str().unwrap();
    assert!(
        message.starts_with("SAP.DE moved +3.37% in 1m to 249.25"),
        "{message}"
    );
    assert_eq!(sent[0][2].as_str(), Some("[Warning] jump symbol=SAP.DE"));
}

/// `name=N` from the daemon's final log line.
fn field(log: &str, name: &str) -> u64 {
    log.lines()
        .rfind(|l| l.contains("stk-scraper stopped"))
        .and_then(|l| l.split(name).nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {log}"))
}

/// Poll the daemon's metrics until counter `name` reaches `min` (at most 30 s).
fn wait_for_metric(port: u16, name: &str, min: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| http_get(port, "/metrics"))
            .unwrap_or_default();
        let value = m
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if value >= min {
            return m;
        }
        assert!(Instant::now() < deadline, "{name} stayed below {min}: {m}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A plain HTTP/1.0 GET on loopback (the daemon's metrics, moto's state), with std only.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

fn http_body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or(response, |(_, b)| b)
}
