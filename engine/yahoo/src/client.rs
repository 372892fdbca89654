//! The HTTP side of the Yahoo source: one client per proxy (rotated per request), a cookie
//! jar, a browser-like user agent, a global request budget (`max_rps`), exponential backoff
//! with jitter on 429, 5xx, timeouts and outage pages, and the crumb flow the v7 quote
//! endpoint needs (cookies from the quote page, `/v1/test/getcrumb`, a new crumb after 401).
//!
//! Redirects are followed only within the same host: Yahoo's EU consent wall is a redirect to
//! `guce.yahoo.com`, which is reported as [`FetchError::Consent`] instead of being followed,
//! and no request ever leaves the configured hosts (tests point them at loopback).

use crate::chart::Parsed;
use crate::error::ParseError;
use crate::{chart, page, quote};
use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use stk_dsl::ir::YahooSource;

/// Chrome on Windows: Yahoo serves bots an error page more often than browsers.
pub const DEFAULT_USER_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 \
     (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const QUERY_BASE: &str = "https://query1.finance.yahoo.com";
const PAGE_BASE: &str = "https://finance.yahoo.com";
/// The environment variable that overrides the base URL of every endpoint (tests, mirrors).
pub const BASE_URL_ENV: &str = "STK_YAHOO_BASE_URL";

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Chart, quote and crumb endpoints.
    pub query_base: String,
    /// Quote pages (and the cookies the crumb needs).
    pub page_base: String,
    pub user_agent: String,
    pub proxies: Vec<String>,
    pub max_rps: f64,
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub attempts: usize,
    pub backoff: Duration,
}

impl ClientConfig {
    /// The settings of a source block; `STK_YAHOO_BASE_URL` overrides its `base_url`.
    pub fn for_source(src: &YahooSource) -> Self {
        let base = std::env::var(BASE_URL_ENV)
            .ok()
            .filter(|s| !s.is_empty())
            .or_else(|| src.base_url.clone())
            .map(|s| s.trim_end_matches('/').to_string());
        ClientConfig {
            query_base: base.clone().unwrap_or_else(|| QUERY_BASE.into()),
            page_base: base.unwrap_or_else(|| PAGE_BASE.into()),
            user_agent: src
                .user_agent
                .clone()
                .unwrap_or_else(|| DEFAULT_USER_AGENT.into()),
            proxies: src.proxies.clone(),
            max_rps: src.max_rps,
            timeout: Duration::from_secs(10),
            attempts: 5,
            backoff: Duration::from_millis(500),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {source}")]
    Parse { url: String, source: ParseError },
    #[error(
        "{url}: redirected to Yahoo's consent page ({location}); the quote page and crumb need \
         cookie consent from this network: use `endpoint = chart`, which needs neither"
    )]
    Consent { url: String, location: String },
    #[error("{url}: redirected off the configured host to {location}; not followed")]
    OffHost { url: String, location: String },
    #[error("{url}: the crumb endpoint answered {answer:?}, not a crumb")]
    BadCrumb { url: String, answer: String },
    #[error("bad client settings: {0}")]
    Config(String),
}

impl FetchError {
    /// Worth another attempt after a pause: throttling, server errors, timeouts, outages.
    pub fn is_retryable(&self) -> bool {
        match self {
            FetchError::Transport { .. } => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Parse { source, .. } => *source == ParseError::OutagePage,
            _ => false,
        }
    }
}

/// Counters of the HTTP side (the daemon exports them).
#[derive(Debug, Default)]
pub struct FetchStats {
    pub requests: std::sync::atomic::AtomicU64,
    pub retries: std::sync::atomic::AtomicU64,
    pub failures: std::sync::atomic::AtomicU64,
}

pub struct YahooClient {
    cfg: ClientConfig,
    clients: Vec<reqwest::Client>,
    next: AtomicUsize,
    limiter: DefaultDirectRateLimiter,
    crumb: Mutex<Option<String>>,
    pub stats: FetchStats,
}

struct Answer {
    status: u16,
    body: String,
    location: Option<String>,
}

impl YahooClient {
    pub fn new(cfg: ClientConfig) -> Result<Self, FetchError> {
        let proxies: Vec<Option<&String>> = if cfg.proxies.is_empty() {
            vec![None]
        } else {
            cfg.proxies.iter().map(Some).collect()
        };
        let mut clients = Vec::new();
        for proxy in proxies {
            let mut b = reqwest::Client::builder()
                .user_agent(cfg.user_agent.as_str())
                .cookie_store(true)
                .timeout(cfg.timeout)
                .redirect(same_host_redirects());
            if let Some(p) = proxy {
                let p = reqwest::Proxy::all(p.as_str())
                    .map_err(|e| FetchError::Config(format!("proxy {p:?}: {e}")))?;
                b = b.proxy(p);
            } else {
                b = b.no_proxy();
            }
            clients.push(b.build().map_err(|e| FetchError::Config(e.to_string()))?);
        }
        let period = Duration::from_secs_f64(1.0 / cfg.max_rps.max(0.001));
        let quota = Quota::with_period(period)
            .ok_or_else(|| FetchError::Config("max_rps must be positive".into()))?;
        Ok(YahooClient {
            cfg,
            clients,
            next: AtomicUsize::new(0),
            limiter: RateLimiter::direct(quota),
            crumb: Mutex::new(None),
            stats: FetchStats::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// The newest bar of one symbol.
    pub async fn chart(&self, symbol: &str) -> Result<Parsed, FetchError> {
        let url = format!(
            "{}/v8/finance/chart/{}?interval=1m&range=1d",
            self.cfg.query_base,
            encode(symbol)
        );
        let a = self.get_retrying(&url).await?;
        check_status(&url, &a)?;
        chart::parse(a.body.as_bytes()).map_err(|source| FetchError::Parse { url, source })
    }

    /// Up to 100 symbols in one request, with the crumb (fetched once, renewed after a 401).
    pub async fn quote(&self, symbols: &[String]) -> Result<Parsed, FetchError> {
        let list: Vec<String> = symbols.iter().map(|s| encode(s)).collect();
        for attempt in 0..2 {
            let crumb = self.crumb(attempt > 0).await?;
            let url = format!(
                "{}/v7/finance/quote?symbols={}&crumb={}",
                self.cfg.query_base,
                list.join(","),
                encode(&crumb)
            );
            let a = self.get_retrying(&url).await?;
            if a.status == 401 && attempt == 0 {
                continue;
            }
            check_status(&url, &a)?;
            return quote::parse(a.body.as_bytes())
                .map_err(|source| FetchError::Parse { url, source });
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// The HTML quote page of one symbol.
    pub async fn page(&self, symbol: &str) -> Result<Parsed, FetchError> {
        let url = format!("{}/quote/{}", self.cfg.page_base, encode(symbol));
        let a = self.get_retrying(&url).await?;
        // An outage page may come with 200 or 301; parse decides on the content.
        if !(a.status == 200 || a.status == 301) {
            check_status(&url, &a)?;
        }
        page::parse(&a.body, symbol).map_err(|source| FetchError::Parse { url, source })
    }

    async fn crumb(&self, renew: bool) -> Result<String, FetchError> {
        if !renew && let Some(c) = self.crumb.lock().ok().and_then(|c| c.clone()) {
            return Ok(c);
        }
        // Cookies first: the quote page sets them (a consent redirect is reported).
        let page_url = format!("{}/quote/AAPL", self.cfg.page_base);
        let a = self.get_retrying(&page_url).await?;
        if a.status >= 400 && a.status != 404 {
            check_status(&page_url, &a)?;
        }
        let url = format!("{}/v1/test/getcrumb", self.cfg.query_base);
        let a = self.get_retrying(&url).await?;
        check_status(&url, &a)?;
        let crumb = a.body.trim().to_string();
        if crumb.is_empty()
            || crumb.len() > 64
            || crumb.contains(char::is_whitespace)
            || crumb.contains('<')
        {
            return Err(FetchError::BadCrumb {
                url,
                answer: crumb.chars().take(80).collect(),
            });
        }
        if let Ok(mut c) = self.crumb.lock() {
            *c = Some(crumb.clone());
        }
        Ok(crumb)
    }

    /// GET with the rate limit, retrying what [`FetchError::is_retryable`] allows (outage pages
    /// included), with exponential backoff and jitter.
    async fn get_retrying(&self, url: &str) -> Result<Answer, FetchError> {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.cfg.backoff)
            .with_max_delay(self.cfg.backoff * 60)
            .with_max_times(self.cfg.attempts.saturating_sub(1))
            .with_jitter();
        let result = (|| async {
            let a = self.get_once(url).await?;
            if a.status == 429 || a.status >= 500 {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status: a.status,
                });
            }
            if page::error_page(&a.body) == Some(ParseError::OutagePage) {
                return Err(FetchError::Parse {
                    url: url.to_string(),
                    source: ParseError::OutagePage,
                });
            }
            Ok(a)
        })
        .retry(backoff)
        .when(FetchError::is_retryable)
        .notify(|_, _| {
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
        })
        .await;
        if result.is_err() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn get_once(&self, url: &str) -> Result<Answer, FetchError> {
        self.limiter.until_ready().await;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        let r = self.clients[i]
            .get(url)
            .header("Accept", "text/html,application/json;q=0.9,*/*;q=0.8")
            .header("Accept-Language", "en-US,en;q=0.9")
            .send()
            .await
            .map_err(|e| FetchError::Transport {
                url: url.to_string(),
                reason: chain(&e),
            })?;
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(str::to_string);
        if (300..400).contains(&status)
            && let Some(loc) = &location
            && (loc.contains("guce.") || loc.contains("consent."))
        {
            return Err(FetchError::Consent {
                url: url.to_string(),
                location: loc.clone(),
            });
        }
        let body = r.text().await.map_err(|e| FetchError::Transport {
            url: url.to_string(),
            reason: chain(&e),
        })?;
        Ok(Answer {
            status,
            body,
            location,
        })
    }
}

fn check_status(url: &str, a: &Answer) -> Result<(), FetchError> {
    match a.status {
        200..=299 => Ok(()),
        300..=399 => Err(FetchError::OffHost {
            url: url.to_string(),
            location: a.location.clone().unwrap_or_default(),
        }),
        status => Err(FetchError::Status {
            url: url.to_string(),
            status,
        }),
    }
}

/// Follow redirects only to the same host (and at most 5).
fn same_host_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same = attempt
            .previous()
            .first()
            .is_some_and(|first| first.host_str() == attempt.url().host_str());
        if attempt.previous().len() > 5 || !same {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

/// Symbols go into paths and queries: `^GSPC`, `EURUSD=X`, `BRK-B` must stay intact.
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
