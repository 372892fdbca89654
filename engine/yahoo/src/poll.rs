//! Polling one Yahoo source: every `every` (with ±10% jitter so that many daemons do not beat
//! in step), fetch every symbol through the endpoint the file chose (quote: batches of 100),
//! and keep only what is new: a tick whose symbol, session and time were already emitted with
//! the same values is a duplicate, one older than the last emitted is stale; both are dropped
//! and counted, never silently. Failures are returned with the ticks, so the caller logs them
//! and keeps polling.

use crate::chart::Parsed;
use crate::client::{ClientConfig, FetchError, YahooClient};
use crate::tick::Tick;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use stk_dsl::ir::{Endpoint, YahooSource};

/// The v7 quote endpoint's limit of symbols per request.
pub const QUOTE_BATCH: usize = 100;

/// What a source has done so far (the daemon exports these).
#[derive(Debug, Default)]
pub struct Counters {
    pub polls: AtomicU64,
    pub parsed: AtomicU64,
    pub emitted: AtomicU64,
    pub duplicates: AtomicU64,
    pub stale: AtomicU64,
    pub skipped_null: AtomicU64,
    pub skipped_no_time: AtomicU64,
    pub errors: AtomicU64,
}

/// One poll's outcome.
#[derive(Debug, Default)]
pub struct PollResult {
    pub ticks: Vec<Tick>,
    pub errors: Vec<FetchError>,
}

pub struct Poller {
    client: Arc<YahooClient>,
    src: YahooSource,
    last: HashMap<(String, Option<String>), Tick>,
    pub counters: Arc<Counters>,
}

impl Poller {
    pub fn new(src: &YahooSource) -> Result<Self, FetchError> {
        Self::with_config(src, ClientConfig::for_source(src))
    }

    pub fn with_config(src: &YahooSource, cfg: ClientConfig) -> Result<Self, FetchError> {
        Ok(Poller {
            client: Arc::new(YahooClient::new(cfg)?),
            src: src.clone(),
            last: HashMap::new(),
            counters: Arc::default(),
        })
    }

    pub fn client(&self) -> &YahooClient {
        &self.client
    }

    /// The pause before the next poll: the source's interval, ±10%.
    pub fn next_delay(&self) -> Duration {
        let base = self.src.every_ms as f64;
        Duration::from_millis((base * (0.9 + 0.2 * fastrand::f64())).max(1.0) as u64)
    }

    /// Fetch every symbol once; new ticks in the order they were parsed.
    pub async fn poll_once(&mut self) -> PollResult {
        self.counters.polls.fetch_add(1, Ordering::Relaxed);
        let answers: Vec<Result<Parsed, FetchError>> = match self.src.endpoint {
            Endpoint::Chart => {
                let c = &self.client;
                futures_util::future::join_all(self.src.symbols.iter().map(|s| c.chart(s))).await
            }
            Endpoint::Page => {
                let c = &self.client;
                futures_util::future::join_all(self.src.symbols.iter().map(|s| c.page(s))).await
            }
            Endpoint::Quote => {
                let c = &self.client;
                futures_util::future::join_all(
                    self.src.symbols.chunks(QUOTE_BATCH).map(|b| c.quote(b)),
                )
                .await
            }
        };
        let mut out = PollResult::default();
        for a in answers {
            match a {
                Ok(parsed) => {
                    let c = &self.counters;
                    c.skipped_null
                        .fetch_add(parsed.skips.nulls, Ordering::Relaxed);
                    c.skipped_no_time
                        .fetch_add(parsed.skips.missing_ts, Ordering::Relaxed);
                    c.parsed
                        .fetch_add(parsed.ticks.len() as u64, Ordering::Relaxed);
                    for t in parsed.ticks {
                        if self.is_new(&t) {
                            out.ticks.push(t);
                        }
                    }
                }
                Err(e) => {
                    self.counters.errors.fetch_add(1, Ordering::Relaxed);
                    out.errors.push(e);
                }
            }
        }
        self.counters
            .emitted
            .fetch_add(out.ticks.len() as u64, Ordering::Relaxed);
        out
    }

    fn is_new(&mut self, t: &Tick) -> bool {
        let key = (t.symbol.clone(), t.market_state.clone());
        match self.last.get(&key) {
            Some(prev) if t.ts_us < prev.ts_us => {
                self.counters.stale.fetch_add(1, Ordering::Relaxed);
                false
            }
            Some(prev) if prev == t => {
                self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                false
            }
            _ => {
                self.last.insert(key, t.clone());
                true
            }
        }
    }
}
