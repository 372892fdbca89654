//! A Yahoo stand-in for tests (feature `test-server`): a blocking HTTP server on 127.0.0.1
//! that answers each path with a scripted sequence of responses (status, headers, body; the
//! last one repeats), so a test can replay recorded answers, 429s, 5xx, redirects and error
//! pages, and check what the client sent (user agent, cookies).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn json(body: impl Into<Vec<u8>>) -> Self {
        Reply::new(200, body).header("Content-Type", "application/json;charset=utf-8")
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Routes = Arc<Mutex<HashMap<String, Vec<Reply>>>>;

pub struct TestServer {
    pub url: String,
    routes: Routes,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server
            .server_addr()
            .to_ip()
            .map(|a| a.port())
            .expect("an IP address");
        let routes: Routes = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (s, r, w) = (server.clone(), routes.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let url = req.url().to_string();
                let path = url.split('?').next().unwrap_or_default().to_string();
                w.lock().unwrap().push(Seen {
                    path: url.clone(),
                    headers: req
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                });
                let reply = {
                    let mut routes = r.lock().unwrap();
                    match routes.get_mut(&path) {
                        Some(list) if list.len() > 1 => list.remove(0),
                        Some(list) if !list.is_empty() => list[0].clone(),
                        _ => Reply::new(404, format!("no route for {path}")),
                    }
                };
                let mut resp = tiny_http::Response::from_data(reply.body)
                    .with_status_code(tiny_http::StatusCode(reply.status));
                for (k, v) in &reply.headers {
                    if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
                        resp.add_header(h);
                    }
                }
                let _ = req.respond(resp);
            }
        });
        TestServer {
            url: format!("http://127.0.0.1:{port}"),
            routes,
            seen,
            server,
            thread: Some(thread),
        }
    }

    /// Answer `path` (without query) with `replies` in turn; the last one repeats.
    pub fn route(&self, path: &str, replies: Vec<Reply>) {
        self.routes.lock().unwrap().insert(path.into(), replies);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests went to `path` (without query).
    pub fn hits(&self, path: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.path.split('?').next() == Some(path))
            .count()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
