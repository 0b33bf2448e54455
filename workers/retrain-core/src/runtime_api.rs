//! A local Lambda Runtime API (the endpoints `lambda_runtime` talks to), so a test can run a
//! worker's real binary as Lambda would: events are handed out on `GET .../invocation/next`,
//! and the function's answers (`.../response`, `.../error`, `/runtime/init/error`) are kept.
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>

use std::collections::VecDeque;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function posted back.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The request id it answered, or None for an init error.
    pub request_id: Option<String>,
    /// `response`, `error` or `init-error`.
    pub kind: String,
    /// `Lambda-Runtime-Function-Error-Type` of an error.
    pub error_type: Option<String>,
    pub body: String,
    /// When it arrived.
    pub at: Instant,
}

pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    answers: mpsc::Receiver<Answer>,
    nexts: mpsc::Receiver<Instant>,
    server: std::sync::Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl RuntimeApi {
    /// Serve `events` (raw JSON bodies, handed out as they are) in order, on a free port.
    pub fn serve(events: Vec<String>) -> std::io::Result<Self> {
        let server = std::sync::Arc::new(
            tiny_http::Server::http("127.0.0.1:0").map_err(std::io::Error::other)?,
        );
        let address = server
            .server_addr()
            .to_ip()
            .map(|a| a.to_string())
            .ok_or_else(|| std::io::Error::other("no IP address"))?;
        let (tx, answers) = mpsc::channel();
        let (next_tx, nexts) = mpsc::channel();
        let srv = server.clone();
        let thread = std::thread::spawn(move || serve(&srv, events.into(), tx, next_tx));
        Ok(RuntimeApi {
            address,
            answers,
            nexts,
            server,
            thread: Some(thread),
        })
    }

    /// When the function next asked for an event (`GET .../invocation/next`), within `timeout`:
    /// the first one marks the end of its initialisation.
    pub fn next_requested(&self, timeout: Duration) -> Option<Instant> {
        self.nexts.recv_timeout(timeout).ok()
    }

    /// The next answer the function posts, within `timeout`.
    pub fn answer(&self, timeout: Duration) -> Option<Answer> {
        self.answers.recv_timeout(timeout).ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An event as Lambda's Runtime API hands it over: the body, and the request id, deadline (30 s
/// ahead), function ARN and trace id headers.
fn invocation(event: String, id: u32) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let header = |name: &str, value: &str| {
        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header")
    };
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(30))
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    tiny_http::Response::from_string(event)
        .with_header(header(
            "Lambda-Runtime-Aws-Request-Id",
            &format!("req-{id}"),
        ))
        .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
        .with_header(header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:worker",
        ))
        .with_header(header(
            "Lambda-Runtime-Trace-Id",
            "Root=1-00000000-000000000000000000000000",
        ))
        .with_header(header("Content-Type", "application/json"))
}

fn serve(
    server: &tiny_http::Server,
    mut events: VecDeque<String>,
    tx: mpsc::Sender<Answer>,
    next_tx: mpsc::Sender<Instant>,
) {
    let mut next_id = 0u32;
    // A /next with no event left waits, as Lambda's does, until the server stops.
    let mut waiting = Vec::new();
    while let Ok(mut request) = server.recv() {
        let url = request.url().to_string();
        let Some(path) = url.strip_prefix(PREFIX) else {
            let _ = request.respond(tiny_http::Response::empty(404));
            continue;
        };
        if path == "/invocation/next" {
            let _ = next_tx.send(Instant::now());
            match events.pop_front() {
                Some(event) => {
                    next_id += 1;
                    let _ = request.respond(invocation(event, next_id));
                }
                None => waiting.push(request),
            }
            continue;
        }
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let error_type = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Lambda-Runtime-Function-Error-Type"))
            .map(|h| h.value.to_string());
        let answer = if path == "/init/error" {
            Some(Answer {
                request_id: None,
                kind: "init-error".into(),
                error_type,
                body,
                at: Instant::now(),
            })
        } else {
            let parts: Vec<&str> = path.trim_start_matches("/invocation/").split('/').collect();
            match parts.as_slice() {
                [id, kind @ ("response" | "error")] => Some(Answer {
                    request_id: Some(id.to_string()),
                    kind: kind.to_string(),
                    error_type,
                    body,
                    at: Instant::now(),
                }),
                _ => None,
            }
        };
        let status = if answer.is_some() { 202 } else { 404 };
        let _ = request.respond(tiny_http::Response::empty(status));
        if let Some(a) = answer {
            let _ = tx.send(a);
        }
    }
    drop(waiting);
}

/// Wait for `child` to exit within `timeout`; its exit status, or None (then it is killed).
pub fn wait_exit(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}
