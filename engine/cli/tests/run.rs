//! `stkc run` end to end on the bundled demo: the lake holds every valid record exactly once
//! in the Firehose layout, dead letters say why, alerts match `stkc backtest`, and an
//! interrupted run (SIGINT) rerun loses and duplicates nothing.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use stk_dsl::check::FsWorld;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn demo() -> stk_dsl::ir::Pipeline {
    let path = root().join("pipelines/demo.stk");
    stk_dsl::check_source(
        &std::fs::read_to_string(&path).unwrap(),
        &FsWorld::for_pipeline(&path),
    )
    .ir
    .unwrap()
}

/// (symbol, ts) of every row in the lake, and the row count.
fn lake_rows(lake: &Path) -> (usize, BTreeSet<(String, i64)>) {
    let p = demo();
    let input = stk_lake::input::read(&p, &lake.join("lake")).unwrap();
    let keys = stk_lake::input::records(&p, &input.batches)
        .into_iter()
        .map(|r| match (&r.values[0], &r.values[1]) {
            (stk_eval::Value::Str(s), stk_eval::Value::Ts(t)) => (s.to_string(), *t),
            other => panic!("unexpected row {other:?}"),
        })
        .collect();
    (input.rows, keys)
}

const VALID_UNIQUE: usize = 18_702; // 18,732 lines - 18 invalid - 12 exact repeats

#[test]
fn demo_run_writes_the_lake_once_and_fires_the_backtest_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .current_dir(root())
        .args(["run", "pipelines/demo.stk", "--lake"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);

    let (rows, keys) = lake_rows(dir.path());
    assert_eq!(rows, VALID_UNIQUE);
    assert_eq!(keys.len(), VALID_UNIQUE, "a record is in the lake twice");
    for sym in ["AAPL", "MSFT", "AMZN", "TSLA"] {
        assert!(
            dir.path()
                .join(format!(
                    "lake/date=2026-11-27/symbol={sym}/demo-raw-00000000.parquet"
                ))
                .is_file()
        );
        assert!(
            dir.path()
                .join(format!(
                    "raw/date=2026-11-27/symbol={sym}/demo-raw-00000000.json"
                ))
                .is_file()
        );
    }
    let dead = std::fs::read_to_string(dir.path().join("errors/demo-raw-00000000.jsonl")).unwrap();
    assert_eq!(dead.lines().count(), 18);
    let first: serde_json::Value = serde_json::from_str(dead.lines().next().unwrap()).unwrap();
    assert_eq!(first["rule"], "range");
    assert!(first["reason"].as_str().unwrap().contains("high >= low"));

    let bt = Command::cargo_bin("stkc")
        .unwrap()
        .current_dir(root())
        .args([
            "backtest",
            "pipelines/demo.stk",
            "--input",
            "pipelines/demo/ticks.jsonl",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let expected: Vec<String> = String::from_utf8_lossy(&bt.stdout)
        .lines()
        .map(|l| {
            let f: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{} {}",
                f["ts"].as_str().unwrap(),
                f["key"]["symbol"].as_str().unwrap()
            )
        })
        .collect();
    let alerts: Vec<String> = stdout
        .lines()
        .filter(|l| l.starts_with("ALERT"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            format!(
                "{} {}",
                w[3],
                w[4].trim_start_matches("symbol=").trim_end_matches(':')
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(alerts, expected);
}

#[test]
fn an_interrupted_run_continues_without_loss_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("stkc");
    // 6.5 hours at 7200x takes about 3.3 s: interrupt it after 1 s.
    let child = std::process::Command::new(&bin)
        .current_dir(root())
        .args(["run", "pipelines/demo.stk", "--speed", "7200", "--lake"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("stopped"), "{err}");
    let ck: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".stk-run.json")).unwrap()).unwrap();
    let offset = ck["offset"].as_u64().unwrap();
    assert!(offset > 0 && offset < 18_732, "interrupted at {offset}");
    let (rows_before, _) = lake_rows(dir.path());
    assert!(rows_before > 0 && rows_before < VALID_UNIQUE);

    let out = Command::cargo_bin("stkc")
        .unwrap()
        .current_dir(root())
        .args(["run", "pipelines/demo.stk", "--lake"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("resumed after {offset}")));
    let (rows, keys) = lake_rows(dir.path());
    assert_eq!(keys.len(), VALID_UNIQUE, "records lost");
    assert_eq!(rows, VALID_UNIQUE, "records duplicated");
}

#[test]
fn query_answers_counts_extremes_and_pct_change_over_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let stkc = || {
        let mut c = Command::cargo_bin("stkc").unwrap();
        c.current_dir(root());
        c
    };
    stkc()
        .args(["run", "pipelines/demo.stk", "--lake"])
        .arg(dir.path())
        .assert()
        .code(0);
    let query = |sql: &str| {
        let out = stkc()
            .args(["query", "--format", "json", "--lake"])
            .arg(dir.path())
            .arg(sql)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let n = query("select count(*) as n from lake");
    assert_eq!(n[0]["n"], VALID_UNIQUE as u64);
    let per = query(
        "select symbol, count(*) as n from lake where date = '2026-11-27' group by symbol order by symbol",
    );
    assert_eq!(per.len(), 4);
    assert_eq!(
        per.iter().map(|r| r["n"].as_u64().unwrap()).sum::<u64>(),
        VALID_UNIQUE as u64
    );

    // min/max agree with the records themselves (read by stk_lake, not SQL).
    let p = demo();
    let input = stk_lake::input::read(&p, &dir.path().join("lake")).unwrap();
    let closes: Vec<f64> = stk_lake::input::records(&p, &input.batches)
        .iter()
        .filter(|r| r.values[0] == stk_eval::Value::Str("AAPL".into()))
        .filter_map(|r| r.values[6].as_f64())
        .collect();
    let ext = query("select min(close) as lo, max(close) as hi from lake where symbol = 'AAPL'");
    assert_eq!(
        ext[0]["lo"].as_f64().unwrap(),
        closes.iter().cloned().fold(f64::INFINITY, f64::min)
    );
    assert_eq!(
        ext[0]["hi"].as_f64().unwrap(),
        closes.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
    );

    // pct_change in SQL gives the value the alert reported at its first TSLA firing.
    let pct = query(
        "select pct from (select ts, pct_change(close, ts, '1m') over (partition by symbol order by ts) as pct \
         from lake where symbol = 'TSLA') where ts = '2026-11-27T14:50:00Z'",
    );
    let bt = stkc()
        .args([
            "backtest",
            "pipelines/demo.stk",
            "--input",
            "pipelines/demo/ticks.jsonl",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&bt.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["ts"], "2026-11-27T14:50:00Z");
    assert!(
        (pct[0]["pct"].as_f64().unwrap().abs() - first["value"].as_f64().unwrap()).abs() < 1e-12
    );

    // Errors say what went wrong and which tables exist.
    let out = stkc()
        .args(["query", "--lake"])
        .arg(dir.path())
        .arg("select nope from lake")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tables: lake, raw"));
}

/// Needs a Python with aiosmtpd (tests/run.sh exports STK_PYTHON from its venv).
#[test]
fn alerts_are_mailed_through_a_real_smtp_server() {
    let Some(py) = std::env::var_os("STK_PYTHON") else {
        eprintln!(
            "SKIPPED alerts_are_mailed_through_a_real_smtp_server: STK_PYTHON (a python with aiosmtpd) is not set; run tests/run.sh"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mailbox = dir.path().join("mail");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(mailbox.join(sub)).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(py)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&mailbox)
        .spawn()
        .unwrap();
    // Ready when it greets (`220`): a bare connect can succeed before it listens (a
    // loopback self-connect on a busy machine), and the first mails would then be refused.
    let greets = || {
        use std::io::Read;
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(2)));
        let mut code = [0u8; 3];
        s.read_exact(&mut code).is_ok() && &code == b"220"
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !greets() {
        assert!(
            std::time::Instant::now() < deadline,
            "aiosmtpd did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let demo = std::fs::read_to_string(root().join("pipelines/demo.stk")).unwrap();
    let with_mail = demo.replace(
        "  cooldown = 5m\n",
        "  cooldown = 5m\n  notify = email(\"ops@example.com\")\n",
    );
    assert_ne!(with_mail, demo);
    let file = dir.path().join("mailing.stk");
    std::fs::write(&file, with_mail).unwrap();
    let out = Command::cargo_bin("stkc")
        .unwrap()
        .arg("run")
        .arg(&file)
        .arg("--replay")
        .arg(root().join("pipelines/demo/ticks.jsonl"))
        .arg("--lake")
        .arg(dir.path().join("lake"))
        .args(["--smtp", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("10 mails sent, 0 failed"), "{err}");
    let mails: Vec<String> = std::fs::read_dir(mailbox.join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(mails.len(), 10);
    let tsla = mails
        .iter()
        .find(|m| m.contains("TSLA moved -3.16% in 1m"))
        .expect("the first TSLA alert");
    assert!(tsla.contains("To: ops@example.com"));
    assert!(tsla.contains("Subject: [Warning] move_1pct symbol=TSLA"));
}

/// Path -> bytes of every file under `dir`.
fn files_under(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

#[test]
fn a_lost_lake_is_rebuilt_from_raw_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::cargo_bin("stkc")
        .unwrap()
        .current_dir(root())
        .args(["run", "pipelines/demo.stk", "--lake"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let lake = dir.path().join("lake");
    let before = files_under(&lake);
    assert!(!before.is_empty());
    std::fs::remove_dir_all(&lake).unwrap();

    let out = Command::cargo_bin("stkc")
        .unwrap()
        .current_dir(root())
        .args(["rebuild-lake", "pipelines/demo.stk", "--lake"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("{VALID_UNIQUE} records from")),
        "{stderr}"
    );
    assert_eq!(files_under(&lake), before, "the rebuilt lake differs");
    assert_eq!(lake_rows(dir.path()).0, VALID_UNIQUE);
}
