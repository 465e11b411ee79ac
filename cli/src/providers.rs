//! The simulated payment providers' side of `brokeros serve`: the webhooks they send, signed
//! with their secrets, posted over HTTP to the server's own `/webhooks/psp/{provider}` as a
//! real provider calls it — the same signature check, deduplication and queue.

use std::net::SocketAddr;

use axum::body::Bytes;
use brokeros_local::OutgoingWebhook;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

/// Posts one webhook to the server at `addr`; answers the HTTP status.
pub async fn post_webhook(addr: SocketAddr, webhook: OutgoingWebhook) -> Result<u16, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let mut request = hyper::Request::post(webhook.path())
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    for (name, value) in &webhook.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .body(Full::new(Bytes::from(webhook.body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}
