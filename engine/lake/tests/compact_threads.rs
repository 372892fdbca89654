//! Compaction with decoding spread over threads writes the same lake files, dead letters and
//! counts as on one thread (rows in input order), over input spanning several blocks.

use std::io::Write;
use stk_dsl::check::NoWorld;
use stk_lake::compact::{CompactOutput, Compaction, stem};

fn compact(p: &stk_dsl::ir::Pipeline, data: &[u8], threads: usize) -> CompactOutput {
    let lake = p.lake_sink().expect("a lake sink").clone();
    let mut c = Compaction::with_threads(p, &lake, "raw/2026/11/27/x.json", threads).unwrap();
    let mut w = c.object();
    // Fed in uneven chunks, as a body streams in.
    for chunk in data.chunks(777_777) {
        w.write_all(chunk).unwrap();
    }
    w.end().unwrap();
    c.finish(&stem("raw/2026/11/27/x.json"), threads).unwrap()
}

#[test]
fn threads_write_the_same_files_as_one_thread() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/stocks.stk"),
    )
    .unwrap();
    let p = stk_dsl::check_source(&src, &NoWorld).ir.unwrap();
    // About 9 MB: more than two blocks. Some rejects, a blank line, no final newline.
    let mut data = String::new();
    for i in 0..40_000 {
        let symbol = ["AAPL", "MSFT", "EURUSD=X", "bad"][i % 4];
        let price = if i % 97 == 0 {
            -1.0
        } else {
            100.0 + i as f64 / 100.0
        };
        data.push_str(&format!(
            r#"{{"symbol":"{symbol}","ts":"2026-11-27T{:02}:{:02}:{:02}Z","price":{price},"open":1.5,"high":2,"low":1,"close":{price},"volume":{i},"currency":"USD","exchange":"NMS","padding":"{}"}}"#,
            (i / 3600) % 24,
            (i / 60) % 60,
            i % 60,
            "x".repeat(120),
        ));
        data.push('\n');
        if i == 20_000 {
            data.push_str("   \n");
        }
    }
    data.pop();
    let one = compact(&p, data.as_bytes(), 1);
    let three = compact(&p, data.as_bytes(), 3);
    assert_eq!(one.records, three.records);
    assert!(one.records > 25_000, "{}", one.records);
    assert_eq!(one.dead_letters.len(), three.dead_letters.len());
    assert!(!one.dead_letters.is_empty());
    for (a, b) in one.dead_letters.iter().zip(&three.dead_letters) {
        assert_eq!((a.line, &a.rule, &a.reason), (b.line, &b.rule, &b.reason));
    }
    assert_eq!(one.files.len(), three.files.len());
    for (a, b) in one.files.iter().zip(&three.files) {
        assert_eq!((&a.path, a.rows), (&b.path, b.rows));
        assert_eq!(a.bytes, b.bytes, "{}", a.path);
    }
}
