//! The parsers on the project's own fixtures (tests/data), written in the shapes of the real
//! recordings in ../shared/fixtures/yahoo so that this suite runs everywhere: a chart whose
//! newest minutes are null, a batched quote with pence, a missing price and a missing time,
//! the 2020s fin-streamer page, the React-era page with its embedded JSON, the outage page.
//! Plus: no input makes a parser panic.

use proptest::prelude::*;
use stk_yahoo::{ParseError, chart, page, quote};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

#[test]
fn chart_takes_the_newest_minute_with_a_price() {
    let p = chart::parse(data("chart-1m-nulls.json").as_bytes()).unwrap();
    assert_eq!(p.skips.nulls, 2);
    assert_eq!(p.ticks.len(), 1);
    let t = &p.ticks[0];
    assert_eq!(
        (t.symbol.as_str(), t.ts_us),
        ("SAP.DE", 1795789800 * 1_000_000)
    );
    assert_eq!(
        (t.price, t.open, t.high, t.low),
        (241.35, Some(241.2), Some(241.45), Some(241.15))
    );
    assert_eq!((t.volume, t.currency.as_deref()), (Some(980), Some("EUR")));
    assert_eq!(
        t.to_json(),
        r#"{"symbol":"SAP.DE","ts":"2026-11-27T14:30:00Z","price":241.35,"open":241.2,"high":241.45,"low":241.15,"close":241.35,"volume":980,"currency":"EUR","exchange":"GER"}"#
    );
}

#[test]
fn quote_batch_keeps_pence_and_counts_what_it_skips() {
    let p = quote::parse(data("quote-batch.json").as_bytes()).unwrap();
    let got: Vec<(&str, f64, Option<&str>)> = p
        .ticks
        .iter()
        .map(|t| (t.symbol.as_str(), t.price, t.currency.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![("AAPL", 232.08, Some("USD")), ("VOD.L", 71.82, Some("GBp"))]
    );
    assert_eq!(p.skips.nulls, 1, "DELISTED has a null price");
    assert_eq!(p.skips.missing_ts, 1, "NOTIME has no time");
}

#[test]
fn fin_streamer_page_for_the_requested_symbol_only() {
    let p = page::parse(&data("page-fin-streamer.html"), "MSFT").unwrap();
    assert_eq!(p.ticks.len(), 1);
    let t = &p.ticks[0];
    assert_eq!((t.ts_us, t.price), (1795789805 * 1_000_000, 421.73));
    assert_eq!(
        (t.open, t.low, t.high),
        (Some(420.10), Some(419.85), Some(422.40))
    );
    assert_eq!(t.volume, Some(18_345_120));
    assert_eq!(t.currency.as_deref(), Some("USD"));
    // The index on the same page is another symbol's price.
    assert_eq!(
        page::parse(&data("page-fin-streamer.html"), "AAPL"),
        Err(ParseError::NoPrice("AAPL".into()))
    );
}

#[test]
fn react_page_from_embedded_json_with_the_pre_market_price() {
    let p = page::parse(&data("page-react-json.html"), "NVDA").unwrap();
    let got: Vec<(i64, f64, Option<&str>)> = p
        .ticks
        .iter()
        .map(|t| (t.ts_us, t.price, t.market_state.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1795723200 * 1_000_000, 181.0625, Some("REGULAR")),
            (1795781400 * 1_000_000, 183.5, Some("PRE"))
        ]
    );
    assert_eq!(p.ticks[0].low, Some(178.8125));
    assert_eq!(p.ticks[0].volume, Some(201_234_567));
}

#[test]
fn outage_page_is_an_error() {
    assert_eq!(
        page::parse(&data("page-outage.html"), "AAPL"),
        Err(ParseError::OutagePage)
    );
}

#[test]
fn truncated_answers_are_errors() {
    let chart_text = data("chart-1m-nulls.json");
    for cut in [0, 1, 20, chart_text.len() / 2, chart_text.len() - 3] {
        assert!(
            chart::parse(&chart_text.as_bytes()[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let html = data("page-react-json.html");
    // Cut inside the embedded JSON: no price left in any layout.
    let cut = html.find("regularMarketPrice").unwrap();
    assert_eq!(
        page::parse(&html[..cut], "NVDA"),
        Err(ParseError::NoPrice("NVDA".into()))
    );
}

proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512), text in ".{0,256}") {
        let _ = chart::parse(&bytes);
        let _ = quote::parse(&bytes);
        let _ = page::parse(&text, "AAPL");
        let _ = page::parse(&String::from_utf8_lossy(&bytes), "AAPL");
    }

    #[test]
    fn any_json_shape_is_safe(v in json_value(4)) {
        let wrapped = serde_json::json!({"chart": {"result": [v.clone()], "error": null}});
        let _ = chart::parse(wrapped.to_string().as_bytes());
        let wrapped = serde_json::json!({"quoteResponse": {"result": [v], "error": null}});
        let _ = quote::parse(wrapped.to_string().as_bytes());
    }
}

fn json_value(depth: u32) -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-zA-Z]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(depth, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("meta".to_string()),
            Just("symbol".to_string()),
            Just("timestamp".to_string()),
            Just("indicators".to_string()),
            Just("quote".to_string()),
            Just("close".to_string()),
            Just("regularMarketPrice".to_string()),
            Just("regularMarketTime".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}
