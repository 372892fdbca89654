//! `/v7/finance/quote?symbols=...`: one tick per symbol for the regular session (time
//! `regularMarketTime`, with the day's open, high, low and volume), and one for the pre- or
//! post-market session when Yahoo has a newer extended-hours price (`market_state` `PRE` or
//! `POST`, price only). A pipeline that wants regular hours only says so with a rule.

use crate::chart::{Parsed, yahoo_error};
use crate::error::ParseError;
use crate::tick::{Tick, int, num, secs, text};
use serde_json::Value;

pub fn parse(body: &[u8]) -> Result<Parsed, ParseError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let resp = v
        .get("quoteResponse")
        .ok_or(ParseError::Missing("quoteResponse"))?;
    if let Some(err) = resp.get("error").filter(|e| !e.is_null()) {
        return Err(yahoo_error(err));
    }
    let results = resp
        .get("result")
        .and_then(Value::as_array)
        .ok_or(ParseError::Missing("quoteResponse.result"))?;
    let mut out = Parsed::default();
    for q in results {
        quote_ticks(q, &mut out);
    }
    Ok(out)
}

/// The ticks of one quote object (the v7 shape; also the recorded mock resources).
pub fn quote_ticks(q: &Value, out: &mut Parsed) {
    let Some(symbol) = text(q.get("symbol")) else {
        out.skips.missing_ts += 1;
        return;
    };
    let currency = text(q.get("currency"));
    let exchange = text(q.get("exchange"));
    let regular_ts = secs(q.get("regularMarketTime"));
    match (regular_ts, num(q.get("regularMarketPrice"))) {
        (Some(ts_us), Some(price)) => out.ticks.push(Tick {
            symbol: symbol.clone(),
            ts_us,
            price,
            open: num(q.get("regularMarketOpen")),
            high: num(q.get("regularMarketDayHigh")),
            low: num(q.get("regularMarketDayLow")),
            close: Some(price),
            volume: int(q.get("regularMarketVolume")),
            currency: currency.clone(),
            exchange: exchange.clone(),
            market_state: Some("REGULAR".into()),
        }),
        (None, _) => out.skips.missing_ts += 1,
        (_, None) => out.skips.nulls += 1,
    }
    for (session, price, time) in [
        ("PRE", "preMarketPrice", "preMarketTime"),
        ("POST", "postMarketPrice", "postMarketTime"),
    ] {
        if let (Some(ts_us), Some(price)) = (secs(q.get(time)), num(q.get(price)))
            && regular_ts.is_none_or(|r| ts_us > r)
        {
            out.ticks.push(Tick {
                symbol: symbol.clone(),
                ts_us,
                price,
                open: None,
                high: None,
                low: None,
                close: Some(price),
                volume: None,
                currency: currency.clone(),
                exchange: exchange.clone(),
                market_state: Some(session.into()),
            });
        }
    }
}
