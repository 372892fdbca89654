//! The daemon's counters, in the Prometheus text format on `http://127.0.0.1:PORT/metrics`
//! (loopback only: scrape it from the instance, e.g. with the CloudWatch agent).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::Arc;

#[derive(Default, Clone)]
pub struct Metrics {
    /// Polls of a source (one request per symbol, or per 100 symbols for `quote`).
    pub polled: Counter,
    /// Ticks parsed from Yahoo's answers.
    pub parsed: Counter,
    /// Ticks that passed de-duplication and validation and were spooled for Kinesis.
    pub emitted: Counter,
    /// Ticks the pipeline's rules rejected (written to the dead-letter file).
    pub rejected: Counter,
    /// Unchanged or stale ticks not re-emitted.
    pub duplicates: Counter,
    /// Bars or quotes without a price or a time.
    pub skipped: Counter,
    /// Yahoo requests retried, and Kinesis records resent.
    pub retried: Counter,
    /// Failed Yahoo fetches and failed PutRecords calls.
    pub errors: Counter,
    /// Ticks acknowledged by Kinesis.
    pub sent: Counter,
    /// Ticks waiting in the spool.
    pub spooled: Gauge,
    /// Realtime alert firings.
    pub alerts: Counter,
}

impl Metrics {
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("stk_scraper");
        let m = self.clone();
        r.register("polled", "Polls of a source", m.polled);
        r.register("parsed", "Ticks parsed from Yahoo's answers", m.parsed);
        r.register("emitted", "Ticks spooled for Kinesis", m.emitted);
        r.register(
            "rejected",
            "Ticks rejected by the pipeline's rules",
            m.rejected,
        );
        r.register(
            "duplicates",
            "Unchanged or stale ticks not re-emitted",
            m.duplicates,
        );
        r.register(
            "skipped",
            "Bars or quotes without a price or time",
            m.skipped,
        );
        r.register(
            "retried",
            "Yahoo requests retried and Kinesis records resent",
            m.retried,
        );
        r.register(
            "errors",
            "Failed Yahoo fetches and PutRecords calls",
            m.errors,
        );
        r.register("sent", "Ticks acknowledged by Kinesis", m.sent);
        r.register("spooled", "Ticks waiting in the spool", m.spooled);
        r.register("alerts", "Realtime alert firings", m.alerts);
        r
    }

    /// Serve `/metrics` on `addr` (a loopback address) from a background thread.
    pub fn serve(&self, addr: &str) -> std::io::Result<std::net::SocketAddr> {
        let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| std::io::Error::other("not an IP address"))?;
        let registry = Arc::new(self.registry());
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for req in server.incoming_requests() {
                    let mut body = String::new();
                    let resp = if req.url() == "/metrics" && encode(&mut body, &registry).is_ok() {
                        tiny_http::Response::from_string(body).with_header(
                            tiny_http::Header::from_bytes(
                                &b"Content-Type"[..],
                                &b"text/plain; version=0.0.4; charset=utf-8"[..],
                            )
                            .expect("a valid header"),
                        )
                    } else {
                        tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
                    };
                    let _ = req.respond(resp);
                }
            })?;
        Ok(bound)
    }
}
