//! `/v8/finance/chart/{symbol}`: the newest bar with a price becomes the tick (its time is the
//! bar's, which is the exchange's). Null bars newer than it are counted as skipped. An answer
//! without bars (a weekend, a holiday) gives the last regular-market trade from `meta`, which
//! also carries the exchange's time; an answer with neither gives nothing.

use crate::error::ParseError;
use crate::tick::{Skips, Tick, int, num, secs, text};
use serde_json::Value;

/// What one answer held.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    pub ticks: Vec<Tick>,
    pub skips: Skips,
}

pub fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let chart = v.get("chart").ok_or(ParseError::Missing("chart"))?;
    if let Some(err) = chart.get("error").filter(|e| !e.is_null()) {
        return Err(yahoo_error(err));
    }
    let result = chart
        .get("result")
        .and_then(|r| r.get(0))
        .ok_or(ParseError::Missing("chart.result"))?;
    result_ticks(result)
}

/// One `chart.result[i]` object (also the shape of other recorded chart resources).
pub fn result_ticks(result: &Value) -> Result<Parsed, ParseError> {
    let meta = result.get("meta").ok_or(ParseError::Missing("meta"))?;
    let symbol = text(meta.get("symbol")).ok_or(ParseError::Missing("meta.symbol"))?;
    let currency = text(meta.get("currency"));
    let exchange = text(meta.get("exchangeName"));
    let mut out = Parsed::default();

    let stamps = result.get("timestamp").and_then(Value::as_array);
    let quote = result
        .pointer("/indicators/quote/0")
        .and_then(Value::as_object);
    let column = |name: &str| quote.and_then(|q| q.get(name)).and_then(Value::as_array);
    let (close, open, high, low, volume) = (
        column("close"),
        column("open"),
        column("high"),
        column("low"),
        column("volume"),
    );
    if let (Some(stamps), Some(close)) = (stamps, close) {
        for i in (0..stamps.len()).rev() {
            let Some(ts_us) = secs(stamps.get(i)) else {
                out.skips.missing_ts += 1;
                continue;
            };
            let Some(c) = num(close.get(i)) else {
                out.skips.nulls += 1;
                continue;
            };
            let at = |col: Option<&Vec<Value>>| num(col.and_then(|a| a.get(i)));
            out.ticks.push(Tick {
                symbol,
                ts_us,
                price: c,
                open: at(open),
                high: at(high),
                low: at(low),
                close: Some(c),
                volume: int(volume.and_then(|a| a.get(i))),
                currency,
                exchange,
                market_state: None,
            });
            return Ok(out);
        }
    }
    // No bar with a price: the last regular-market trade, if meta has it.
    match (
        secs(meta.get("regularMarketTime")),
        num(meta.get("regularMarketPrice")),
    ) {
        (Some(ts_us), Some(price)) => out.ticks.push(Tick {
            symbol,
            ts_us,
            price,
            open: None,
            high: None,
            low: None,
            close: Some(price),
            volume: None,
            currency,
            exchange,
            market_state: None,
        }),
        (None, _) => out.skips.missing_ts += 1,
        (_, None) => out.skips.nulls += 1,
    }
    Ok(out)
}

pub(crate) fn yahoo_error(err: &Value) -> ParseError {
    ParseError::Yahoo {
        code: text(err.get("code")).unwrap_or_else(|| "error".into()),
        description: text(err.get("description")).unwrap_or_else(|| err.to_string()),
    }
}
