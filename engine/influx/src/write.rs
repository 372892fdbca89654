//! Sending line protocol to InfluxDB: the v2 API through the `influxdb2` crate, or the v1
//! `/write?db=` API (InfluxDB 1.x, and the v1-compatible endpoint of 2.x) over `reqwest`.
//! Outages (connection errors, timeouts, 429 and 5xx) are retried with exponential backoff and
//! then reported as [`WriteError::Unavailable`], which callers treat as "keep the data and try
//! later"; a 4xx is [`WriteError::Rejected`]: the batch itself is wrong and retrying will not help.

use std::time::Duration;
use stk_dsl::ir::{InfluxApi, InfluxSink};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the InfluxDB URL {url:?} is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("InfluxDB at {url} is not available: {reason}")]
    Unavailable { url: String, reason: String },
    #[error("InfluxDB at {url} rejected the write (HTTP {status}): {body}")]
    Rejected {
        url: String,
        status: u16,
        body: String,
    },
}

impl WriteError {
    /// True when the same write may succeed later (the server was down or overloaded).
    pub fn is_retryable(&self) -> bool {
        matches!(self, WriteError::Unavailable { .. })
    }
}

enum Target {
    V2 {
        client: influxdb2::Client,
        org: String,
        bucket: String,
    },
    V1 {
        write_url: Url,
        token: Option<String>,
    },
}

/// A writer for one InfluxDB sink. Cheap to share; every call is independent.
pub struct InfluxWriter {
    url: Url,
    target: Target,
    http: reqwest::Client,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
}

impl InfluxWriter {
    /// A writer for `sink` at `url` (the file's URL, or an override). `token` is the secret's
    /// value; `None` writes without authentication (servers that need none).
    pub fn new(sink: &InfluxSink, url: &str, token: Option<&str>) -> Result<Self, WriteError> {
        let bad = |reason: String| WriteError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let base = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https".into()));
        }
        let timeout = Duration::from_secs(10);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| bad(e.to_string()))?;
        let target = match sink.api {
            InfluxApi::V2 => {
                let client = influxdb2::ClientBuilder::new(
                    base.as_str(),
                    sink.org.clone().unwrap_or_default(),
                    token.unwrap_or_default(),
                )
                .build()
                .map_err(|e| bad(e.to_string()))?;
                Target::V2 {
                    client,
                    org: sink.org.clone().unwrap_or_default(),
                    bucket: sink.bucket.clone(),
                }
            }
            InfluxApi::V1 => {
                let mut write_url = base.join("write").map_err(|e| bad(e.to_string()))?;
                write_url
                    .query_pairs_mut()
                    .append_pair("db", &sink.bucket)
                    .append_pair("precision", "ns");
                Target::V1 {
                    write_url,
                    token: token.map(str::to_string),
                }
            }
        };
        Ok(InfluxWriter {
            url: base,
            target,
            http,
            timeout,
            attempts: 4,
            backoff: Duration::from_millis(200),
        })
    }

    /// Fewer retries and shorter waits (tests, and interactive commands that must not hang).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// Is the server there? (`GET /ping`, which InfluxDB 1.x and 2.x and VictoriaMetrics answer.)
    pub async fn ping(&self) -> Result<(), WriteError> {
        let ping = self.url.join("ping").map_err(|e| WriteError::BadUrl {
            url: self.url.to_string(),
            reason: e.to_string(),
        })?;
        match self.http.get(ping).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(self.unavailable(format!("GET /ping answered {}", r.status()))),
            Err(e) => Err(self.unavailable(error_chain(&e))),
        }
    }

    /// Write a batch of lines (each ending in a newline), retrying outages.
    pub async fn write(&self, body: Vec<u8>) -> Result<(), WriteError> {
        if body.is_empty() {
            return Ok(());
        }
        let mut wait = self.backoff;
        let mut attempt = 1;
        loop {
            match self.write_once(body.clone()).await {
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn write_once(&self, body: Vec<u8>) -> Result<(), WriteError> {
        match &self.target {
            Target::V2 {
                client,
                org,
                bucket,
            } => {
                let call = client.write_line_protocol(org, bucket, body);
                match tokio::time::timeout(self.timeout, call).await {
                    Err(_) => Err(self.unavailable("timed out".into())),
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(influxdb2::RequestError::Http { status, text })) => {
                        Err(self.status(status.as_u16(), text))
                    }
                    Ok(Err(e)) => Err(self.unavailable(e.to_string())),
                }
            }
            Target::V1 { write_url, token } => {
                let mut req = self.http.post(write_url.clone()).body(body);
                match token.as_deref().map(|t| t.split_once(':')) {
                    Some(Some((user, pass))) => req = req.basic_auth(user, Some(pass)),
                    Some(None) => {
                        req = req.header(
                            "Authorization",
                            format!("Token {}", token.as_deref().unwrap_or_default()),
                        )
                    }
                    None => {}
                }
                match req.send().await {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let text = r.text().await.unwrap_or_default();
                        Err(self.status(status, text))
                    }
                    Err(e) => Err(self.unavailable(error_chain(&e))),
                }
            }
        }
    }

    fn unavailable(&self, reason: String) -> WriteError {
        WriteError::Unavailable {
            url: self.url.to_string(),
            reason,
        }
    }

    fn status(&self, status: u16, body: String) -> WriteError {
        if status == 429 || status >= 500 {
            self.unavailable(format!("HTTP {status}: {}", body.trim()))
        } else {
            WriteError::Rejected {
                url: self.url.to_string(),
                status,
                body: body.trim().to_string(),
            }
        }
    }
}

/// An error with its causes ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
