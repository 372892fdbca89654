//! The HTML quote page (`/quote/{symbol}`), for when the JSON endpoints are closed to a
//! client. Values come from the `<fin-streamer data-symbol=.. data-field=.. value=..>` elements
//! of the layouts since 2020, the summary table (`data-test="OPEN-value"`,
//! `"DAYS_RANGE-value"`), and the `root.App.main` JSON the React-era pages (2018) embed, which
//! fills whatever the markup leaves empty. Ticks follow [`crate::quote`]: the regular session
//! when the page has its time, and a newer pre/post-market price with its own time.
//!
//! Error pages are recognised before parsing: Yahoo's "will be right back" outage page (served
//! with 200 or 301) and the EU consent wall are errors, never data.

use crate::chart::Parsed;
use crate::error::ParseError;
use crate::quote::quote_ticks;
use scraper::{Html, Selector};
use serde_json::{Map, Value};

/// Is this body one of Yahoo's error pages rather than a quote page?
pub fn error_page(body: &str) -> Option<ParseError> {
    // Quote pages mention consent and errors in their scripts too: only a page without any
    // quote markup can be an error page.
    if body.contains("<fin-streamer") || body.contains("root.App.main") {
        return None;
    }
    let head = body.get(..body.len().min(64 * 1024)).unwrap_or(body);
    if head.contains("Will be right back") || head.contains("sad-panda") {
        return Some(ParseError::OutagePage);
    }
    if head.contains("guce.yahoo.com")
        || head.contains("consent.yahoo.com")
        || head.contains("name=\"agree\"")
    {
        return Some(ParseError::ConsentPage);
    }
    None
}

pub fn parse(body: &str, symbol: &str) -> Result<Parsed, ParseError> {
    if let Some(e) = error_page(body) {
        return Err(e);
    }
    let body = body.trim_start_matches('\u{feff}');
    // Quote pages are 0.5-2 MB, nearly all scripts. The elements that carry values are cut out
    // and parsed alone; only a page where neither they nor the embedded JSON give a price is
    // parsed whole (a layout this code has not seen).
    let fragment = Html::parse_fragment(&value_elements(body));
    let mut q = Map::new();
    q.insert("symbol".into(), symbol.into());
    streamer_fields(&fragment, symbol, &mut q);
    if let Some(price) = embedded_price(body, symbol) {
        for (k, v) in price {
            let flat = match v {
                Value::Object(mut o) => o.remove("raw").unwrap_or(Value::Null),
                other => other,
            };
            if !flat.is_null() && !q.contains_key(&k) {
                q.insert(k, flat);
            }
        }
    }
    if !has_price(&q) {
        let whole = Html::parse_document(body);
        streamer_fields(&whole, symbol, &mut q);
        table_fields(&whole, &mut q);
    }
    // The summary table's formatted (rounded) values only fill what is still missing.
    table_fields(&fragment, &mut q);
    let mut out = Parsed::default();
    if !has_price(&q) {
        return Err(ParseError::NoPrice(symbol.to_string()));
    }
    quote_ticks(&Value::Object(q), &mut out);
    Ok(out)
}

fn has_price(q: &Map<String, Value>) -> bool {
    ["regularMarketPrice", "postMarketPrice", "preMarketPrice"]
        .iter()
        .any(|k| q.contains_key(*k))
}

/// The markup that can hold values, cut out of the page: every `<fin-streamer ...>` start tag
/// (closed again), the summary table's `data-test="...-value"` cells, and the span that says
/// "Currency in". Start tags and cells are short and self-contained, so cutting them out does
/// not change how they parse.
fn value_elements(body: &str) -> String {
    let mut out = String::new();
    let mut from = 0;
    while let Some(i) = body[from..].find("<fin-streamer") {
        let start = from + i;
        let Some(end) = body[start..].find('>') else {
            break;
        };
        out.push_str(&body[start..=start + end]);
        out.push_str("</fin-streamer>\n");
        from = start + end + 1;
    }
    for (marker, open, close) in [
        ("data-test=\"OPEN-value\"", "<td", "</td>"),
        ("data-test=\"DAYS_RANGE-value\"", "<td", "</td>"),
        ("Currency in ", "<span", "</span>"),
    ] {
        if let Some(at) = body.find(marker)
            && let Some(start) = body[..at].rfind(open)
            && let Some(len) = body[at..].find(close)
        {
            let piece = &body[start..at + len + close.len()];
            if piece.len() < 4096 {
                if open == "<td" {
                    out.push_str("<table><tr>");
                    out.push_str(piece);
                    out.push_str("</tr></table>\n");
                } else {
                    out.push_str(piece);
                    out.push('\n');
                }
            }
        }
    }
    out
}

const FIELDS: &[&str] = &[
    "regularMarketPrice",
    "regularMarketTime",
    "regularMarketVolume",
    "regularMarketOpen",
    "regularMarketDayHigh",
    "regularMarketDayLow",
    "marketState",
    "preMarketPrice",
    "preMarketTime",
    "postMarketPrice",
    "postMarketTime",
];

/// Parses static selectors; they are constants, so a failure is a bug caught by the tests.
fn selector(s: &str) -> Option<Selector> {
    Selector::parse(s).ok()
}

fn streamer_fields(doc: &Html, symbol: &str, q: &mut Map<String, Value>) {
    if let Some(sel) = selector("fin-streamer[data-field][data-symbol]") {
        for el in doc.select(&sel) {
            let e = el.value();
            if !e
                .attr("data-symbol")
                .is_some_and(|s| s.eq_ignore_ascii_case(symbol))
            {
                continue;
            }
            let Some(field) = e.attr("data-field").filter(|f| FIELDS.contains(f)) else {
                continue;
            };
            let raw = e.attr("value").map(str::trim).unwrap_or_default();
            if raw.is_empty() || q.contains_key(field) {
                continue;
            }
            if let Some(v) = value_of(field, raw) {
                q.insert(field.to_string(), v);
            }
        }
    }
}

fn table_fields(doc: &Html, q: &mut Map<String, Value>) {
    let cell = |test: &str| -> Option<String> {
        let sel = selector(&format!("[data-test=\"{test}\"]"))?;
        let text: String = doc.select(&sel).next()?.text().collect();
        Some(text.trim().to_string())
    };
    if let Some(open) = cell("OPEN-value").and_then(|t| number(&t)) {
        q.entry("regularMarketOpen").or_insert(open.into());
    }
    if let Some((lo, hi)) = cell("DAYS_RANGE-value").and_then(|t| {
        let (a, b) = t.split_once(" - ")?;
        Some((number(a)?, number(b)?))
    }) {
        q.entry("regularMarketDayLow").or_insert(lo.into());
        q.entry("regularMarketDayHigh").or_insert(hi.into());
    }
    // "NasdaqGS - NasdaqGS Real Time Price. Currency in USD"
    if q.contains_key("currency") {
        return;
    }
    if let Some(sel) = selector("span") {
        for span in doc.select(&sel) {
            let t: String = span.text().collect();
            if let Some(rest) = t.split("Currency in ").nth(1) {
                let cur: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
                if !cur.is_empty() {
                    q.entry("currency").or_insert(cur.into());
                    break;
                }
            }
        }
    }
}

/// A fin-streamer value: times are epoch seconds, volumes may have thousands separators.
fn value_of(field: &str, raw: &str) -> Option<Value> {
    if field == "marketState" {
        return Some(raw.into());
    }
    let n = number(raw)?;
    if field.ends_with("Time") || field.ends_with("Volume") {
        return (n.fract() == 0.0).then(|| Value::from(n as i64));
    }
    Some(n.into())
}

fn number(s: &str) -> Option<f64> {
    let clean: String = s.chars().filter(|c| *c != ',').collect();
    clean.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `root.App.main = {...}` -> `context.dispatcher.stores.QuoteSummaryStore.price`, when the
/// stores are plain JSON (the 2023 layout encrypts them; then there is nothing to take). The
/// blob is skimmed with typed structs, so the megabyte of other stores is skipped, not built.
fn embedded_price(body: &str, symbol: &str) -> Option<Map<String, Value>> {
    #[derive(serde::Deserialize)]
    struct Main<'a> {
        #[serde(borrow)]
        context: Option<Ctx<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Ctx<'a> {
        #[serde(borrow)]
        dispatcher: Option<Dispatcher<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Dispatcher<'a> {
        #[serde(borrow)]
        stores: Option<&'a serde_json::value::RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Stores {
        #[serde(rename = "QuoteSummaryStore")]
        quote_summary: Option<QuoteSummary>,
    }
    #[derive(serde::Deserialize)]
    struct QuoteSummary {
        price: Option<Map<String, Value>>,
    }
    // Only the React-era pages carry the store in plain JSON; without its name there is
    // nothing to find, and the megabyte blob need not be read at all.
    let store_at = body.find("\"QuoteSummaryStore\"")?;
    // Fast path: the store's `price` object read on its own. It must look like a quote
    // (a nested `price` of some other object would not), or the whole blob is read.
    if let Some(rel) = body[store_at..].find("\"price\":{") {
        let from = store_at + rel + "\"price\":".len();
        let mut de =
            serde_json::Deserializer::from_str(&body[from..]).into_iter::<Map<String, Value>>();
        if let Some(Ok(price)) = de.next()
            && price.contains_key("regularMarketPrice")
        {
            let same = price
                .get("symbol")
                .and_then(Value::as_str)
                .is_none_or(|s| s.eq_ignore_ascii_case(symbol));
            return same.then_some(price);
        }
    }
    let start = body.find("root.App.main")?;
    let json_start = start + body[start..].find('{')?;
    let mut de = serde_json::Deserializer::from_str(&body[json_start..]).into_iter::<Main>();
    let main = de.next()?.ok()?;
    let stores = main.context?.dispatcher?.stores?.get();
    if !stores.starts_with('{') {
        return None;
    }
    let price = serde_json::from_str::<Stores>(stores)
        .ok()?
        .quote_summary?
        .price?;
    let same = price
        .get("symbol")
        .and_then(Value::as_str)
        .is_none_or(|s| s.eq_ignore_ascii_case(symbol));
    same.then_some(price)
}
