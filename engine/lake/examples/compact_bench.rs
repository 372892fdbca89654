//! Compaction speed and memory, for BENCHMARKS.md (issue: Lambda runtime; issue: local mode).
//!
//!   compact_bench gen N FILE.json [SYMBOLS]   N ticks of pipelines/stocks.stk's record, NDJSON,
//!                                             as the scraper writes them (500 symbols, 5 s apart)
//!   compact_bench run FILE THREADS OUTDIR     compact FILE as the compact Lambda does (streamed
//!                                             in 1 MiB chunks; validated; Parquet per
//!                                             date/symbol partition, zstd) and write the files,
//!                                             all on THREADS threads
//!
//! `run` prints one line: rows, files, seconds, records/s.

use std::io::{BufWriter, Read, Write};
use std::time::Instant;
use stk_dsl::check::NoWorld;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("gen") if args.len() >= 4 => generate(
            args[2].parse().unwrap_or(1_000_000),
            &args[3],
            args.get(4).and_then(|s| s.parse().ok()).unwrap_or(500),
        ),
        Some("run") if args.len() >= 5 => run(&args[2], args[3].parse().unwrap_or(1), &args[4]),
        _ => eprintln!("usage: compact_bench gen N FILE [SYMBOLS] | run FILE THREADS OUTDIR"),
    }
}

/// A random walk per symbol; 0.2% of the ticks are invalid (negative price, high < low), as
/// a real feed has a few.
fn generate(n: usize, path: &str, symbols: usize) {
    let names: Vec<String> = (0..symbols).map(|i| format!("S{i:03}")).collect();
    let mut price: Vec<f64> = (0..symbols).map(|i| 20.0 + (i % 400) as f64).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create the output file"));
    // 2026-11-27T14:30:00Z, ticks 5 s apart per symbol; crosses midnight for large N.
    let t0: i64 = 1_795_789_800;
    for i in 0..n {
        let s = i % symbols;
        let t = t0 + (i / symbols) as i64 * 5;
        let p = &mut price[s];
        *p = (*p * (1.0 + (rnd() - 0.5) * 0.004)).max(0.01);
        let close = (*p * 100.0).round() / 100.0;
        let (high, low) = (close * (1.0 + rnd() * 0.002), close * (1.0 - rnd() * 0.002));
        let bad = rnd() < 0.002;
        let ts = chrono::DateTime::from_timestamp(t, 0).expect("in range");
        writeln!(
            out,
            r#"{{"symbol":"{}","ts":"{}","price":{close},"open":{:.2},"high":{:.4},"low":{:.4},"close":{},"volume":{},"currency":"USD","exchange":"NMS","market_state":"REGULAR"}}"#,
            names[s],
            ts.format("%Y-%m-%dT%H:%M:%SZ"),
            close * (1.0 + (rnd() - 0.5) * 0.01),
            if bad { low } else { high },
            if bad { high } else { low },
            close,
            (rnd() * 1e6) as i64,
        )
        .expect("write");
    }
    out.flush().expect("write");
}

fn run(path: &str, threads: usize, out_dir: &str) {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/stocks.stk"),
    )
    .expect("pipelines/stocks.stk");
    let p = stk_dsl::check_source(&src, &NoWorld)
        .ir
        .expect("stocks.stk is valid");
    let lake = p.lake_sink().expect("a lake sink").clone();
    let start = Instant::now();
    let mut file = std::fs::File::open(path).expect("open the input");
    let mut c =
        stk_lake::compact::Compaction::with_threads(&p, &lake, path, threads).expect("compaction");
    let mut w = c.object();
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk).expect("read");
        if n == 0 {
            break;
        }
        w.write_all(&chunk[..n]).expect("feed");
    }
    w.end().expect("end");
    let out = c
        .finish(&stk_lake::compact::stem(path), threads)
        .expect("finish");
    // The files go out on the same threads (the Lambda uploads them instead).
    let write = |files: &[stk_lake::compact::LakeFile]| {
        for f in files {
            let dest = std::path::Path::new(out_dir).join(&f.path);
            std::fs::create_dir_all(dest.parent().expect("a parent")).expect("mkdir");
            std::fs::write(dest, &f.bytes).expect("write");
        }
    };
    if threads <= 1 {
        write(&out.files);
    } else {
        let per_thread = out.files.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for files in out.files.chunks(per_thread) {
                s.spawn(move || write(files));
            }
        });
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "stkc compact  threads={threads} rows={} dead_letters={} files={} {secs:.3} s {:.0} records/s",
        out.records,
        out.dead_letters.len(),
        out.files.len(),
        out.records as f64 / secs
    );
}
