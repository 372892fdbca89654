//! Pages per second parsing one saved quote page with `stk_yahoo::page::parse` (the daemon's
//! `page` endpoint), for the side-by-side comparison with BeautifulSoup in BENCHMARKS.md.
//!
//! `cargo run --release --example page_bench -- PAGE.html SYMBOL [SECONDS]`
//! PAGE may be a `.recorded.json` capture (its `response.body` is used).

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: page_bench PAGE.html|CAPTURE.recorded.json SYMBOL [SECONDS]");
        std::process::exit(2);
    }
    let raw = match std::fs::read_to_string(&args[1]) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", args[1]);
            std::process::exit(2);
        }
    };
    let html = if args[1].ends_with(".json") {
        serde_json::from_str::<serde_json::Value>(&raw)
            .ok()
            .and_then(|v| v["response"]["body"].as_str().map(str::to_string))
            .unwrap_or(raw)
    } else {
        raw
    };
    let secs: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let first = stk_yahoo::page::parse(&html, &args[2]);
    println!("result: {first:?}");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs_f64(secs) {
        let r = stk_yahoo::page::parse(std::hint::black_box(&html), &args[2]);
        std::hint::black_box(r).ok();
        n += 1;
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "stk_yahoo::page::parse: {n} pages in {el:.2} s = {:.1} pages/s ({:.2} ms/page, {:.1} MB/s)",
        n as f64 / el,
        el * 1000.0 / n as f64,
        html.len() as f64 * n as f64 / el / 1e6
    );
}
