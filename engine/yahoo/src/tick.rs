//! One tick: the columns a Yahoo source fills (`stk_dsl::ir::YAHOO_COLUMNS`), stamped with the
//! exchange's event time, and the counts of what was skipped on the way.

use serde::Serialize;
use stk_eval::value::ts_to_rfc3339;

/// A price observation. `ts_us` is the exchange's time of the trade or quote (never the time
/// it was scraped), microseconds since the epoch, UTC. `currency` is as Yahoo gives it (`GBp`
/// is pence, not pounds).
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    pub symbol: String,
    pub ts_us: i64,
    pub price: f64,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    pub volume: Option<i64>,
    pub currency: Option<String>,
    pub exchange: Option<String>,
    /// `REGULAR`, `PRE`, `POST`, `CLOSED`, ... as Yahoo says.
    pub market_state: Option<String>,
}

#[derive(Serialize)]
struct Json<'a> {
    symbol: &'a str,
    ts: String,
    price: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    open: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    close: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    volume: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    currency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    market_state: Option<&'a str>,
}

impl Tick {
    /// The record as it travels (Kinesis, raw JSON): one JSON object, `ts` in RFC 3339 UTC.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&Json {
            symbol: &self.symbol,
            ts: ts_to_rfc3339(self.ts_us),
            price: self.price,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            volume: self.volume,
            currency: self.currency.as_deref(),
            exchange: self.exchange.as_deref(),
            market_state: self.market_state.as_deref(),
        })
        // Only finite floats reach a Tick (the parsers drop the rest), so this cannot fail.
        .unwrap_or_default()
    }
}

/// What was in an answer but did not become a tick, by reason.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Skips {
    /// Bars or quotes with a null (or non-finite) price.
    pub nulls: u64,
    /// Bars or quotes without an event time.
    pub missing_ts: u64,
}

impl Skips {
    pub fn add(&mut self, o: Skips) {
        self.nulls += o.nulls;
        self.missing_ts += o.missing_ts;
    }
}

/// A JSON number as a finite float (Yahoo writes `null`, and some mirrors `"NaN"`).
pub(crate) fn num(v: Option<&serde_json::Value>) -> Option<f64> {
    v.and_then(serde_json::Value::as_f64)
        .filter(|f| f.is_finite())
}

/// A JSON number as an integer volume (Yahoo sometimes writes volumes as floats).
pub(crate) fn int(v: Option<&serde_json::Value>) -> Option<i64> {
    let v = v?;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    })
}

/// Epoch seconds (Yahoo's times) to microseconds.
pub(crate) fn secs(v: Option<&serde_json::Value>) -> Option<i64> {
    int(v)
        .filter(|s| *s > 0)
        .and_then(|s| s.checked_mul(1_000_000))
}

pub(crate) fn text(v: Option<&serde_json::Value>) -> Option<String> {
    v.and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
