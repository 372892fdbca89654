//! The producer's sustained throughput (bench/run-producer.sh): N synthetic ticks of
//! `--symbols` symbols (stocks.stk's record, as `Tick::to_json` writes it) go into a fresh
//! spool one poll at a time (one durable commit per `--symbols` ticks, as the daemon does),
//! then the production path drains it into Kinesis at `--endpoint`: `Producer::send_once`
//! (spool peek, batch plan, PutRecords, removal of the acknowledged entries) until the spool
//! is empty. Prints ticks/s and Kinesis records/s of the drain, and the fill rate.

use anyhow::{Context, Result, bail};
use clap::Parser;
use std::sync::Mutex;
use std::time::Instant;
use stk_runtime_ec2::producer::Producer;
use stk_runtime_ec2::spool::Spool;
use stk_yahoo::Tick;

#[derive(Parser)]
struct Args {
    /// The Kinesis endpoint (moto server, or bench/kinesis_sink.py)
    #[arg(long)]
    endpoint: String,
    /// Ticks to send
    #[arg(long, default_value_t = 100_000)]
    ticks: usize,
    /// Distinct symbols (partition keys); the ticks cycle through them, one poll each
    #[arg(long, default_value_t = 500)]
    symbols: usize,
    /// Ticks packed into one Kinesis record (the stream block's `pack`)
    #[arg(long, default_value_t = 1)]
    pack: usize,
    /// The stream (created with one shard unless it exists)
    #[arg(long, default_value = "stk-bench-ticks")]
    stream: String,
    /// Where the spool goes (a temporary folder inside it)
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    dir: std::path::PathBuf,
}

fn tick(symbol: &str, poll: usize) -> Tick {
    let price = 100.0 + (poll % 500) as f64 / 100.0;
    Tick {
        symbol: symbol.to_string(),
        ts_us: (1_795_789_800 + 5 * poll as i64) * 1_000_000,
        price,
        open: Some(price - 0.5),
        high: Some(price + 0.25),
        low: Some(price - 0.75),
        close: Some(price),
        volume: Some(41_234_567 + poll as i64),
        currency: Some("USD".into()),
        exchange: Some("NMS".into()),
        market_state: None,
    }
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.symbols == 0 || a.ticks == 0 {
        bail!("--ticks and --symbols must be positive");
    }
    let dir = tempfile::tempdir_in(&a.dir)?;
    let symbols: Vec<String> = (0..a.symbols).map(|i| format!("S{i:04}")).collect();
    let spool = Mutex::new(Spool::open(&dir.path().join("spool.redb"), u64::MAX)?);

    let started = Instant::now();
    let mut pushed = 0;
    let mut poll = 0;
    let mut bytes = 0;
    while pushed < a.ticks {
        let take = (a.ticks - pushed).min(a.symbols);
        let batch: Vec<(String, Vec<u8>)> = symbols[..take]
            .iter()
            .map(|s| (s.clone(), tick(s, poll).to_json().into_bytes()))
            .collect();
        bytes += batch.iter().map(|(_, d)| d.len()).sum::<usize>();
        spool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(&batch)?;
        pushed += take;
        poll += 1;
    }
    let fill = started.elapsed();

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (ticks, records, calls, failed, drain) = rt.block_on(async {
        let cfg = aws_config::from_env()
            .endpoint_url(&a.endpoint)
            .load()
            .await;
        let client = aws_sdk_kinesis::Client::new(&cfg);
        // moto needs the stream (bench/kinesis_sink.py accepts anything).
        if let Err(e) = client
            .create_stream()
            .stream_name(&a.stream)
            .shard_count(1)
            .send()
            .await
        {
            eprintln!(
                "create_stream: {} (going on)",
                aws_sdk_kinesis::error::DisplayErrorContext(&e)
            );
        }
        let producer = Producer::new(client, &a.stream, a.pack);
        let (mut ticks, mut records, mut calls, mut failed) = (0u64, 0u64, 0u64, 0u64);
        let t = Instant::now();
        while !spool.lock().unwrap_or_else(|p| p.into_inner()).is_empty() {
            let s = producer
                .send_once(&spool)
                .await
                .context("the producer's send")?;
            ticks += s.ticks;
            records += s.records;
            failed += s.failed;
            calls += 1;
            if failed > 1000 {
                bail!("the endpoint rejects records ({failed} so far)");
            }
        }
        anyhow::Ok((ticks, records, calls, failed, t.elapsed()))
    })?;
    let secs = drain.as_secs_f64();
    println!(
        "fill: {pushed} ticks ({:.1} MB of JSON) spooled in {:.2} s, {:.0} ticks/s",
        bytes as f64 / 1e6,
        fill.as_secs_f64(),
        pushed as f64 / fill.as_secs_f64()
    );
    println!(
        "drain: {ticks} ticks in {records} Kinesis records, {calls} PutRecords calls, {failed} failed, {secs:.2} s"
    );
    println!(
        "producer_bench symbols={} pack={}: {:.0} ticks/s, {:.0} records/s, {:.1} ms per call",
        a.symbols,
        a.pack,
        ticks as f64 / secs,
        records as f64 / secs,
        secs * 1000.0 / calls.max(1) as f64
    );
    Ok(())
}
