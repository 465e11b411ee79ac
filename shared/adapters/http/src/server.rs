//! The router on a socket, as `brokeros serve` runs it: HTTP/1.1 on hyper with the limits a
//! listener needs against slow or idle clients (the Lambdas never use this: API Gateway is
//! their socket).
//!
//! - **Header read timeout**: a request head (request line and headers) must arrive whole
//!   within it, counted from the moment the server waits for it (the connection's start, or the
//!   end of the previous response); otherwise the connection is closed (hyper's own timer).
//! - **Body read timeout**: a request body must arrive whole within it, counted from its head;
//!   a handler reading it then gets [`BodyReadTimeout`] and answers 408, and the connection is
//!   closed (the rest of the body is not read).
//! - **Keep-alive timeout**: a connection with no request in progress that receives nothing for
//!   this long is closed.
//! - **Connection limit**: at most this many connections are served at once; further ones wait
//!   in the listen backlog until one closes.
//! - **Per-source rate limit of the public routes** ([`is_public_route`]): a token
//!   bucket per client address ([`crate::rate_limit`]); a request over it is answered
//!   `429 {"code":"rate_limited",…}` with `Retry-After` before the router sees it.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::Request;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use crate::rate_limit::{Decision, RateLimitOptions, SourceLimiter, is_public_route, source_of};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How `serve` treats its connections (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    pub rate_limit: RateLimitOptions,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(5),
            max_connections: 512,
            rate_limit: RateLimitOptions::default(),
        }
    }
}

/// A duration as the command line writes it: `500ms`, `10s`, `2m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a duration such as 500ms, 10s or 2m"))?;
    let duration = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        _ => return Err(format!("'{text}': the unit must be ms, s or m")),
    };
    if duration.is_zero() {
        return Err(format!("'{text}': a timeout must be longer than zero"));
    }
    Ok(duration)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish
/// the request they are serving and returns once all of them closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    if options.max_connections == 0 || options.max_connections > u32::MAX as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the connection limit must be 1 to 4294967295",
        ));
    }
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let limiter = Arc::new(SourceLimiter::new(options.rate_limit));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A free slot first, then a connection: at the limit, new connections wait in the
        // kernel's backlog instead of holding a task and buffers here.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            Peer {
                ip: peer.ip(),
                limiter: limiter.clone(),
            },
            router.clone(),
            options,
            stopping.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds its slot until it ends.
    let _all = slots
        .acquire_many(options.max_connections as u32)
        .await
        .expect("the semaphore is never closed");
    Ok(())
}

/// Who is at the other end of a connection, and the limiter its public requests count against.
struct Peer {
    ip: std::net::IpAddr,
    limiter: Arc<SourceLimiter>,
}

impl Peer {
    /// 429 with `Retry-After` when `request` is to a public route and its source is over the
    /// limit; `None` to serve it.
    fn refusal<B>(
        &self,
        request: &Request<B>,
        options: &ServeOptions,
    ) -> Option<axum::response::Response> {
        if options.rate_limit.is_off() || !is_public_route(request.method(), request.uri().path()) {
            return None;
        }
        let source = source_of(
            self.ip,
            request.headers(),
            options.rate_limit.trust_forwarded_for,
        );
        match self.limiter.check(source, Instant::now()) {
            Decision::Allowed => None,
            Decision::Limited { retry_after } => {
                use axum::response::IntoResponse;
                let status = axum::http::StatusCode::TOO_MANY_REQUESTS;
                let mut response =
                    (status, axum::Json(crate::status_error(status, None))).into_response();
                let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(seconds.max(1)),
                );
                Some(response)
            }
        }
    }
}

/// One connection: hyper's HTTP/1.1 state machine with the header read timeout, the request
/// bodies under the body read timeout, the public routes' rate limit, and a watch on idleness.
async fn connection(
    stream: TcpStream,
    peer: Peer,
    router: Router,
    options: ServeOptions,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(EdgeIo::new(stream, activity.clone()));
    let requests = activity.clone();
    let peer = Arc::new(peer);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let in_progress = InProgress::start(requests.clone());
        let deadline = Instant::now() + options.body_read_timeout;
        let router = router.clone();
        let refusal = peer.refusal(&request, &options);
        async move {
            let response = match refusal {
                // Refused before the router: nothing is read of the body or written.
                Some(refused) => refused,
                None => {
                    let request = request.map(|body| Body::new(TimeoutBody::new(body, deadline)));
                    router.oneshot(request).await?
                }
            };
            Ok::<_, std::convert::Infallible>(response.map(|body| {
                Body::new(Answering {
                    body,
                    _in_progress: in_progress,
                })
            }))
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut closing = *stopping.borrow();
    if closing {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        let idle_until = activity.idle_deadline(options.keep_alive_timeout);
        tokio::select! {
            ended = connection.as_mut() => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            () = tokio::time::sleep_until(idle_until), if !closing => {
                if activity.idle_for(options.keep_alive_timeout) {
                    // Closes an idle connection at once; a request still arriving is bounded
                    // by the header read timeout.
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = stopping.changed(), if !closing => {
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// When a connection last received something, and how many of its requests are being served.
struct Activity {
    origin: Instant,
    /// Milliseconds from `origin` to the last read or the end of the last response.
    last: AtomicU64,
    in_progress: AtomicUsize,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last: AtomicU64::new(0),
            in_progress: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = self.origin.elapsed().as_millis() as u64;
        self.last.fetch_max(now, Ordering::Relaxed);
    }

    fn idle_deadline(&self, keep_alive: Duration) -> Instant {
        self.origin + Duration::from_millis(self.last.load(Ordering::Relaxed)) + keep_alive
    }

    fn idle_for(&self, keep_alive: Duration) -> bool {
        self.in_progress.load(Ordering::Relaxed) == 0
            && Instant::now() >= self.idle_deadline(keep_alive)
    }
}

/// A request being served: from its head until its response body is done (or dropped).
struct InProgress(Arc<Activity>);

impl InProgress {
    fn start(activity: Arc<Activity>) -> InProgress {
        activity.in_progress.fetch_add(1, Ordering::Relaxed);
        InProgress(activity)
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that marks its request done when hyper is through with it.
struct Answering {
    body: Body,
    _in_progress: InProgress,
}

impl HttpBody for Answering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// What reading a request body fails with when it did not arrive within the body read
/// timeout; the body extractors answer it with 408.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyReadTimeout;

impl fmt::Display for BodyReadTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body was not received in time")
    }
}

impl std::error::Error for BodyReadTimeout {}

/// A request body that fails with [`BodyReadTimeout`] once its deadline passed.
struct TimeoutBody<B> {
    body: B,
    deadline: Instant,
    /// Made the first time the body has to wait: most bodies arrive with their head.
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<B> TimeoutBody<B> {
    fn new(body: B, deadline: Instant) -> TimeoutBody<B> {
        TimeoutBody {
            body,
            deadline,
            sleep: None,
        }
    }
}

impl<B> HttpBody for TimeoutBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyReadTimeout))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The connection's socket as hyper sees it: reads mark the connection active, and hyper's own
/// error responses become JSON ones.
///
/// hyper answers a request it cannot parse (a malformed request line or header, a URI over its
/// 65,534 bytes, a head over its buffer) itself, before any route sees it, with a bodiless
/// `400`, `414` or `431` and `connection: close`. This socket recognizes that head — a write of
/// exactly one head, with one of those statuses, `content-length: 0` and `connection: close`,
/// which the router never sends since its errors carry JSON ([`crate::errors_as_json`]) — and
/// sends the same status with the `{code, message}` body of [`crate::status_error`] instead.
/// Writes are not vectored, so a head hyper writes alone arrives alone.
struct EdgeIo {
    stream: TcpStream,
    activity: Arc<Activity>,
    /// The JSON response sent in place of hyper's, and how much of it is written.
    replacement: Vec<u8>,
    replaced: usize,
}

impl EdgeIo {
    fn new(stream: TcpStream, activity: Arc<Activity>) -> EdgeIo {
        EdgeIo {
            stream,
            activity,
            replacement: Vec::new(),
            replaced: 0,
        }
    }

    /// Writes what is left of a replacement response.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.replaced < self.replacement.len() {
            let n = ready!(
                Pin::new(&mut self.stream).poll_write(cx, &self.replacement[self.replaced..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.replaced += n;
        }
        self.replacement.clear();
        self.replaced = 0;
        Poll::Ready(Ok(()))
    }
}

/// The JSON response to send instead of `written` when it is one of hyper's bodiless automatic
/// error responses (see [`EdgeIo`]).
fn json_instead_of_automatic(written: &[u8]) -> Option<Vec<u8>> {
    let head = written.strip_suffix(b"\r\n\r\n")?;
    let head = std::str::from_utf8(head).ok()?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?;
    let status = axum::http::StatusCode::from_bytes(status.as_bytes()).ok()?;
    if !matches!(status.as_u16(), 400 | 414 | 431) {
        return None;
    }
    let (mut empty, mut closing, mut date) = (false, false, None);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => empty = value == "0",
            "connection" => closing = value.eq_ignore_ascii_case("close"),
            "date" => date = Some(value),
            _ => {}
        }
    }
    if !(empty && closing) {
        return None;
    }
    let body = serde_json::to_vec(&crate::status_error(status, None)).ok()?;
    let mut response = format!(
        "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(date) = date {
        response.push_str(&format!("date: {date}\r\n"));
    }
    response.push_str("\r\n");
    let mut response = response.into_bytes();
    response.extend_from_slice(&body);
    Some(response)
}

impl AsyncRead for EdgeIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        read
    }
}

impl AsyncWrite for EdgeIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        if let Some(json) = json_instead_of_automatic(buf) {
            this.replacement = json;
            // Whatever is not written now is written by the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.poll_replacement(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_the_command_line_writes_them() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        for bad in ["", "s", "0s", "1h", "-1s", "1.5s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_hypers_bodiless_error_heads_are_replaced() {
        let date = "date: Sun, 06 Dec 2026 20:50:36 GMT";
        for (status, code) in [
            ("400 Bad Request", "bad_request"),
            ("414 URI Too Long", "uri_too_long"),
            ("431 Request Header Fields Too Large", "headers_too_large"),
        ] {
            let automatic = format!(
                "HTTP/1.1 {status}\r\nconnection: close\r\ncontent-length: 0\r\n{date}\r\n\r\n"
            );
            let json = json_instead_of_automatic(automatic.as_bytes()).expect(status);
            let json = String::from_utf8(json).unwrap();
            let (head, body) = json.split_once("\r\n\r\n").unwrap();
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
                "{head}"
            );
            assert!(head.contains("content-type: application/json"), "{head}");
            assert!(
                head.contains(&format!("content-length: {}", body.len())),
                "{head}"
            );
            assert!(head.contains(date), "{head}");
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(body["code"], code, "{body}");
        }
        for kept in [
            // The router's own errors carry a body.
            "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n{}",
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n",
            // Kept alive: not hyper's automatic answer.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            "{\"status\":\"ok\"}",
        ] {
            assert_eq!(json_instead_of_automatic(kept.as_bytes()), None, "{kept}");
        }
    }
}
