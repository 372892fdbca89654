//! The client and poller against a local Yahoo stand-in (stk_yahoo::test_server): recorded
//! answers come back as exact ticks; 429 and 5xx are retried with backoff; the crumb flow
//! carries cookies and renews the crumb after a 401; consent redirects and outage pages are
//! errors that never become data and never leave loopback; unchanged ticks are not re-emitted.

use std::time::Duration;
use stk_dsl::ir::{Endpoint, YahooSource};
use stk_yahoo::client::{ClientConfig, FetchError};
use stk_yahoo::poll::Poller;
use stk_yahoo::test_server::{Reply, TestServer};
use stk_yahoo::{ParseError, Tick};

fn data(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name),
    )
    .unwrap()
}

fn source(endpoint: Endpoint, symbols: &[&str]) -> YahooSource {
    YahooSource {
        symbols: symbols.iter().map(|s| s.to_string()).collect(),
        every_ms: 5000,
        endpoint,
        base_url: None,
        user_agent: Some("stk-test/1.0".into()),
        proxies: vec![],
        max_rps: 1000.0,
    }
}

fn poller(server: &TestServer, src: &YahooSource) -> Poller {
    let mut cfg = ClientConfig::for_source(src);
    cfg.query_base = server.url.clone();
    cfg.page_base = server.url.clone();
    cfg.attempts = 3;
    cfg.backoff = Duration::from_millis(1);
    Poller::with_config(src, cfg).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn chart_poll_gives_the_tick_and_does_not_repeat_it() {
    let server = TestServer::start();
    server.route(
        "/v8/finance/chart/SAP.DE",
        vec![Reply::json(data("chart-1m-nulls.json"))],
    );
    let mut p = poller(&server, &source(Endpoint::Chart, &["SAP.DE"]));
    let rt = rt();
    let first = rt.block_on(p.poll_once());
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    assert_eq!(first.ticks.len(), 1);
    assert_eq!(first.ticks[0].price, 241.35);
    let second = rt.block_on(p.poll_once());
    assert!(
        second.ticks.is_empty(),
        "an unchanged tick is not re-emitted"
    );
    let c = &p.counters;
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(c.duplicates.load(Relaxed), 1);
    assert_eq!(c.skipped_null.load(Relaxed), 4, "two null minutes per poll");
    let seen = server.seen();
    assert_eq!(seen[0].header("user-agent"), Some("stk-test/1.0"));
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    let server = TestServer::start();
    server.route(
        "/v8/finance/chart/SAP.DE",
        vec![
            Reply::new(429, "Too Many Requests"),
            Reply::new(502, "bad gateway"),
            Reply::json(data("chart-1m-nulls.json")),
        ],
    );
    server.route(
        "/v8/finance/chart/DOWN",
        vec![Reply::new(503, "unavailable")],
    );
    let mut p = poller(&server, &source(Endpoint::Chart, &["SAP.DE", "DOWN"]));
    let r = rt().block_on(p.poll_once());
    assert_eq!(r.ticks.len(), 1, "SAP.DE came through after two retries");
    assert_eq!(r.errors.len(), 1);
    assert!(
        matches!(&r.errors[0], FetchError::Status { status: 503, .. }),
        "{:?}",
        r.errors
    );
    assert_eq!(server.hits("/v8/finance/chart/SAP.DE"), 3);
    assert_eq!(
        server.hits("/v8/finance/chart/DOWN"),
        3,
        "three attempts, then give up"
    );
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(p.client().stats.retries.load(Relaxed), 4);
}

#[test]
fn quote_crumb_flow_with_cookies_and_a_renewed_crumb() {
    let server = TestServer::start();
    server.route(
        "/quote/AAPL",
        vec![
            Reply::new(200, "<html>quote page</html>").header("Set-Cookie", "A3=d=AQABBK; Path=/"),
        ],
    );
    server.route(
        "/v1/test/getcrumb",
        vec![Reply::new(200, "oldCrumb1"), Reply::new(200, "haT3oykhHqZ")],
    );
    server.route(
        "/v7/finance/quote",
        vec![
            Reply::new(
                401,
                r#"{"finance":{"error":{"code":"Unauthorized","description":"Invalid Crumb"}}}"#,
            ),
            Reply::json(data("quote-batch.json")),
        ],
    );
    let mut p = poller(&server, &source(Endpoint::Quote, &["AAPL", "VOD.L"]));
    let r = rt().block_on(p.poll_once());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let prices: Vec<(&str, f64)> = r
        .ticks
        .iter()
        .map(|t| (t.symbol.as_str(), t.price))
        .collect();
    assert_eq!(prices, vec![("AAPL", 232.08), ("VOD.L", 71.82)]);
    let seen = server.seen();
    let crumb_req = seen.iter().find(|s| s.path == "/v1/test/getcrumb").unwrap();
    assert_eq!(
        crumb_req.header("cookie"),
        Some("A3=d=AQABBK"),
        "the jar sent the cookie"
    );
    let quotes: Vec<&str> = seen
        .iter()
        .filter(|s| s.path.starts_with("/v7/finance/quote"))
        .map(|s| s.path.as_str())
        .collect();
    assert_eq!(
        quotes,
        vec![
            "/v7/finance/quote?symbols=AAPL,VOD.L&crumb=oldCrumb1",
            "/v7/finance/quote?symbols=AAPL,VOD.L&crumb=haT3oykhHqZ"
        ]
    );
}

#[test]
fn a_consent_redirect_is_reported_and_not_followed() {
    let server = TestServer::start();
    server.route(
        "/quote/AAPL",
        vec![Reply::new(307, "").header(
            "Location",
            "https://guce.yahoo.com/consent?brandType=nonEu&gcrumb=Xvxf4hA&done=https%3A%2F%2Ffinance.yahoo.com%2Fquote%2FAAPL",
        )],
    );
    let mut p = poller(&server, &source(Endpoint::Page, &["AAPL"]));
    let r = rt().block_on(p.poll_once());
    assert!(r.ticks.is_empty());
    let msg = r.errors[0].to_string();
    assert!(matches!(r.errors[0], FetchError::Consent { .. }), "{msg}");
    assert!(msg.contains("endpoint = chart"), "{msg}");
    assert_eq!(server.hits("/quote/AAPL"), 1, "consent is not retried");
}

#[test]
fn an_outage_page_with_301_is_retried_and_never_data() {
    let server = TestServer::start();
    server.route(
        "/quote/AAPL",
        vec![Reply::new(301, data("page-outage.html")).header("Content-Type", "text/html")],
    );
    let mut p = poller(&server, &source(Endpoint::Page, &["AAPL"]));
    let r = rt().block_on(p.poll_once());
    assert!(r.ticks.is_empty());
    assert!(
        matches!(
            &r.errors[0],
            FetchError::Parse {
                source: ParseError::OutagePage,
                ..
            }
        ),
        "{:?}",
        r.errors
    );
    assert_eq!(server.hits("/quote/AAPL"), 3);
}

#[test]
fn a_truncated_answer_is_an_error_and_the_next_poll_works() {
    let server = TestServer::start();
    let full = data("chart-1m-nulls.json");
    server.route(
        "/v8/finance/chart/SAP.DE",
        vec![
            Reply::json(full[..full.len() / 2].to_string()),
            Reply::json(full.clone()),
        ],
    );
    let mut p = poller(&server, &source(Endpoint::Chart, &["SAP.DE"]));
    let rt = rt();
    let r = rt.block_on(p.poll_once());
    assert!(matches!(
        &r.errors[0],
        FetchError::Parse {
            source: ParseError::NotJson(_),
            ..
        }
    ));
    let r = rt.block_on(p.poll_once());
    let want: Vec<Tick> = stk_yahoo::chart::parse(full.as_bytes()).unwrap().ticks;
    assert_eq!(r.ticks, want);
}

#[test]
fn the_page_endpoint_parses_the_fin_streamer_layout() {
    let server = TestServer::start();
    server.route(
        "/quote/MSFT",
        vec![Reply::new(200, data("page-fin-streamer.html")).header("Content-Type", "text/html")],
    );
    let mut p = poller(&server, &source(Endpoint::Page, &["MSFT"]));
    let r = rt().block_on(p.poll_once());
    assert_eq!(r.ticks.len(), 1, "{:?}", r.errors);
    assert_eq!(r.ticks[0].price, 421.73);
}
