//! The parsers on real recorded Yahoo answers, from ../shared/fixtures/yahoo (see its
//! SOURCES.md). These files are not in the repository: the tests find them beside the clone
//! (or at $STK_SHARED_FIXTURES) and are skipped with a visible message where they are absent.
//! Expected values are read off the recordings by hand: every number here is in the file.

use serde_json::Value;
use std::path::PathBuf;
use stk_yahoo::{ParseError, Tick, chart, page, quote};

/// `shared/fixtures/yahoo` beside the repository (or one of its parents), or from the env.
fn fixtures() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("STK_SHARED_FIXTURES") {
        return Some(PathBuf::from(p).join("yahoo"));
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = repo.canonicalize().ok()?;
    repo.ancestors()
        .map(|a| a.join("shared/fixtures/yahoo"))
        .find(|p| p.is_dir())
}

macro_rules! need_fixtures {
    ($name:literal) => {
        match fixtures() {
            Some(dir) => dir,
            None => {
                eprintln!(
                    "SKIPPED {}: ../shared/fixtures/yahoo is absent (set STK_SHARED_FIXTURES)",
                    $name
                );
                return;
            }
        }
    };
}

/// The recorded body of a `.recorded.json` capture, as Yahoo sent it.
fn body(dir: &std::path::Path, file: &str) -> (u16, String) {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    let r = &v["response"];
    let status = r["status"].as_u64().unwrap() as u16;
    let text = if let Some(j) = r.get("bodyJson") {
        j.to_string()
    } else {
        r.get("bodyText")
            .or_else(|| r.get("body"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (status, text)
}

fn tick(symbol: &str, ts_s: i64, price: f64) -> Tick {
    Tick {
        symbol: symbol.into(),
        ts_us: ts_s * 1_000_000,
        price,
        open: None,
        high: None,
        low: None,
        close: Some(price),
        volume: None,
        currency: Some("USD".into()),
        exchange: None,
        market_state: None,
    }
}

#[test]
fn chart_in_pence_keeps_gbp_pence_and_the_bar_time() {
    let dir = need_fixtures!("chart_in_pence_keeps_gbp_pence_and_the_bar_time");
    let (_, b) = body(
        &dir,
        "v8-chart-OCDO.L-1d-2020-01-02-GBp-pence.recorded.json",
    );
    let p = chart::parse(b.as_bytes()).unwrap();
    assert_eq!(
        p.ticks,
        vec![Tick {
            open: Some(1279.5),
            high: Some(1286.5699462890625),
            low: Some(1258.0),
            volume: Some(728520),
            currency: Some("GBp".into()),
            exchange: Some("LSE".into()),
            ..tick("OCDO.L", 1577952000, 1259.5)
        }]
    );
    assert!(p.ticks[0].to_json().contains("\"currency\":\"GBp\""));
    assert!(
        p.ticks[0]
            .to_json()
            .contains("\"ts\":\"2020-01-02T08:00:00Z\"")
    );
}

#[test]
fn chart_over_a_weekend_has_no_bars_and_gives_the_last_trade() {
    let dir = need_fixtures!("chart_over_a_weekend_has_no_bars_and_gives_the_last_trade");
    let (_, b) = body(
        &dir,
        "v8-chart-AAPL-1m-2025-02-01-weekend-no-timestamps.recorded.json",
    );
    let p = chart::parse(b.as_bytes()).unwrap();
    assert_eq!(
        p.ticks,
        vec![Tick {
            exchange: Some("NMS".into()),
            ..tick("AAPL", 1739998801, 244.87)
        }]
    );
}

#[test]
fn chart_daily_bars_give_the_newest_bar() {
    let dir = need_fixtures!("chart_daily_bars_give_the_newest_bar");
    let (_, b) = body(
        &dir,
        "v8-chart-AAPL-1d-2020-08-31-to-2020-11-07-div-split-events.recorded.json",
    );
    let p = chart::parse(b.as_bytes()).unwrap();
    assert_eq!(
        p.ticks,
        vec![Tick {
            open: Some(118.31999969482422),
            high: Some(119.19999694824219),
            low: Some(116.12999725341797),
            volume: Some(114457900),
            exchange: Some("NMS".into()),
            ..tick("AAPL", 1604673000, 118.69000244140625)
        }]
    );
}

#[test]
fn chart_nulls_are_skipped_and_counted() {
    let dir = need_fixtures!("chart_nulls_are_skipped_and_counted");
    let text = std::fs::read_to_string(dir.join(
        "finance-mock-resources-2018-v7quote-PRE-REGULAR-POST-and-v8chart-1m-with-nulls.json",
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let charts = &v["resources"]["yfin"]["chart"];
    // O=F (oats futures, priced in US cents): 50 null bars after the last traded minute.
    let p = chart::result_ticks(&charts["O=F"]).unwrap();
    assert_eq!(p.skips.nulls, 50);
    assert_eq!(p.ticks.len(), 1);
    assert_eq!(p.ticks[0].ts_us, 1527643500 * 1_000_000);
    assert_eq!(p.ticks[0].price, 245.5);
    assert_eq!(p.ticks[0].volume, Some(1));
    assert_eq!(p.ticks[0].currency.as_deref(), Some("USX"));
    // USDGBP=X: 4 trailing nulls, FX volume 0.
    let p = chart::result_ticks(&charts["USDGBP=X"]).unwrap();
    assert_eq!(p.skips.nulls, 4);
    assert_eq!(p.ticks[0].price, 0.7549099922180176);
    assert_eq!(p.ticks[0].volume, Some(0));
    // The recorded error answer.
    let err = serde_json::json!({ "chart": { "result": null, "error": charts["error"] } });
    assert_eq!(
        chart::parse(err.to_string().as_bytes()),
        Err(ParseError::Yahoo {
            code: "Not Found".into(),
            description: "No data found, symbol may be delisted".into()
        })
    );
}

#[test]
fn v7_quote_gives_the_regular_close_and_the_newer_post_market_price() {
    let dir = need_fixtures!("v7_quote_gives_the_regular_close_and_the_newer_post_market_price");
    let (_, b) = body(
        &dir,
        "v7-quote-AAPL-2025-02-17-crumb-postmarket.recorded.json",
    );
    let p = quote::parse(b.as_bytes()).unwrap();
    assert_eq!(
        p.ticks,
        vec![
            Tick {
                open: Some(241.07),
                high: Some(245.41),
                low: Some(241.0),
                volume: Some(40896227),
                exchange: Some("NMS".into()),
                market_state: Some("REGULAR".into()),
                ..tick("AAPL", 1739566800, 244.6)
            },
            Tick {
                exchange: Some("NMS".into()),
                market_state: Some("POST".into()),
                ..tick("AAPL", 1739581198, 244.64)
            },
        ]
    );
}

#[test]
fn quote_page_2023_fin_streamer_layout() {
    let dir = need_fixtures!("quote_page_2023_fin_streamer_layout");
    let (_, b) = body(
        &dir,
        "quote-page-AAPL-2023-05-07-finstreamer-rootAppMain.recorded.json",
    );
    let p = page::parse(&b, "AAPL").unwrap();
    // The regular price (173.57) has no time on this page (its regularMarketTime element is
    // empty and the embedded stores are encrypted): skipped and counted, never stamped with
    // the scrape time. The after-hours price has its time.
    assert_eq!(p.skips.missing_ts, 1);
    assert_eq!(
        p.ticks,
        vec![Tick {
            market_state: Some("POST".into()),
            ..tick("AAPL", 1683331196, 173.08)
        }]
    );
}

#[test]
fn quote_page_2018_react_layout_from_the_embedded_json() {
    let dir = need_fixtures!("quote_page_2018_react_layout_from_the_embedded_json");
    let html = std::fs::read_to_string(dir.join("quote-page-DRV-2018-04-reactid-rootAppMain.html"))
        .unwrap();
    let p = page::parse(&html, "DRV").unwrap();
    assert_eq!(
        p.ticks,
        vec![Tick {
            open: Some(14.79),
            high: Some(15.0686),
            low: Some(14.611),
            volume: Some(67165),
            exchange: Some("PCX".into()),
            market_state: Some("REGULAR".into()),
            ..tick("DRV", 1520024390, 14.63)
        }]
    );
}

#[test]
fn the_will_be_right_back_page_is_an_error_not_data() {
    let dir = need_fixtures!("the_will_be_right_back_page_is_an_error_not_data");
    let (status, b) = body(
        &dir,
        "quote-page-AAPL-2025-02-16-301-will-be-right-back.recorded.json",
    );
    assert_eq!(status, 301);
    assert_eq!(page::parse(&b, "AAPL"), Err(ParseError::OutagePage));
    // The same page where JSON was expected.
    assert!(matches!(
        chart::parse(b.as_bytes()),
        Err(ParseError::NotJson(_))
    ));
    assert!(matches!(
        quote::parse(b.as_bytes()),
        Err(ParseError::NotJson(_))
    ));
}
