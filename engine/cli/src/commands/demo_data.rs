//! `stkc demo-data`: the deterministic generator of the bundled demo replay file.
//!
//! Method (stated in the README too): four US symbols over one regular session
//! (2026-11-27, 14:30-21:00 UTC) in 5-second bars. Each close follows a geometric random
//! walk (normal log-returns with a per-symbol volatility, PCG64 seeded with a fixed number)
//! plus a handful of scheduled jumps of 1.5-3% so the 1%-in-a-minute alert fires. Every 997th
//! record is made invalid on purpose (a negative close or high < low) so dead letters show,
//! and a few records are repeated (duplicates) to exercise de-duplication. Same seed, same
//! bytes: a test regenerates the file and compares.

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

pub const DEFAULT_SEED: u64 = 20261127;

struct Symbol {
    name: &'static str,
    start: f64,
    /// Standard deviation of the 5-second log-return.
    vol: f64,
    /// (bar index, relative jump) applied once.
    jumps: &'static [(usize, f64)],
}

const SYMBOLS: &[Symbol] = &[
    Symbol {
        name: "AAPL",
        start: 232.10,
        vol: 0.0004,
        jumps: &[(600, 0.018), (3100, -0.021)],
    },
    Symbol {
        name: "MSFT",
        start: 421.55,
        vol: 0.00035,
        jumps: &[(1800, -0.016)],
    },
    Symbol {
        name: "AMZN",
        start: 198.30,
        vol: 0.0005,
        jumps: &[(900, 0.024), (4000, 0.015)],
    },
    Symbol {
        name: "TSLA",
        start: 341.80,
        vol: 0.0009,
        jumps: &[(240, -0.03), (2500, 0.027), (4400, -0.019)],
    },
];

const BARS: usize = 6 * 720 + 360; // 6.5 hours of 5-second bars

/// The whole demo file as text.
pub fn generate(seed: u64) -> String {
    let mut rng = Pcg64::seed_from_u64(seed);
    let open_time: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 11, 27, 14, 30, 0)
        .single()
        .expect("valid date");
    let mut state: Vec<(f64, f64)> = SYMBOLS.iter().map(|s| (s.start, s.start)).collect(); // (close, day open)
    let mut out = String::with_capacity(BARS * SYMBOLS.len() * 170);
    let mut n = 0usize;
    for bar in 0..BARS {
        let ts = open_time + Duration::seconds(5 * bar as i64);
        for (i, sym) in SYMBOLS.iter().enumerate() {
            let noise = Normal::new(0.0, sym.vol).expect("positive sigma");
            let mut r: f64 = noise.sample(&mut rng);
            if let Some((_, jump)) = sym.jumps.iter().find(|(b, _)| *b == bar) {
                r += jump;
            }
            let open = state[i].0;
            let close = open * r.exp();
            let wiggle = Normal::new(0.0, sym.vol / 2.0).expect("positive sigma");
            let high = open.max(close) * (1.0 + wiggle.sample(&mut rng).abs());
            let low = open.min(close) * (1.0 - wiggle.sample(&mut rng).abs());
            let unit: f64 = Normal::new(0.0, 1.0).expect("unit").sample(&mut rng);
            let volume = (800.0 + 400.0 * unit).abs().round() as i64;
            state[i].0 = close;
            n += 1;
            let (mut close_out, mut high_out, mut low_out) = (close, high, low);
            if n.is_multiple_of(997) {
                if n.is_multiple_of(2) {
                    close_out = -close_out; // fails rule `positive`
                } else {
                    std::mem::swap(&mut high_out, &mut low_out); // fails rule `range`
                }
            }
            let line = record(
                sym.name, ts, close, open, high_out, low_out, close_out, volume,
            );
            out.push_str(&line);
            if n.is_multiple_of(1499) {
                out.push_str(&line); // an at-least-once duplicate
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn record(
    symbol: &str,
    ts: DateTime<Utc>,
    price: f64,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: i64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"{{"symbol":"{symbol}","ts":"{}","price":{:.4},"open":{:.4},"high":{:.4},"low":{:.4},"close":{:.4},"volume":{volume},"currency":"USD"}}"#,
        ts.format("%Y-%m-%dT%H:%M:%SZ"),
        price,
        open,
        high,
        low,
        close
    );
    s
}

pub fn run(out: &Path, seed: u64) -> Result<ExitCode> {
    let text = generate(seed);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    std::fs::write(out, &text).with_context(|| format!("cannot write `{}`", out.display()))?;
    eprintln!(
        "wrote {} records to {}",
        text.lines().count(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
