//! The webhook sink against a real HTTP server on 127.0.0.1 (std's
//! `TcpListener`): payload shape, retry of 500 and 429 honouring
//! `Retry-After`, errors that quote the status and body; and HTTPS through
//! rustls against a rustls server with a throwaway CA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use monitor::alert::{AlertError, Options, Sink, WebhookOptions, WebhookSink, alerts};
use monitor::model::{Category, Event, Issue};
use serde_json::Value;
use time::macros::datetime;

/// One recorded request: its request line, headers (lowercased names) and body.
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Serves one connection per canned answer (status, extra headers, body),
/// closing each, and returns what it was sent.
fn serve(answers: Vec<(u16, &'static str, &'static str)>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/services/T000/B000/SECRET",
        listener.local_addr().unwrap()
    );
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for (status, extra, body) in answers {
            let (stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap();
                headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(name, _)| name == "content-length")
                .map(|(_, value)| value.parse().unwrap())
                .unwrap_or(0);
            let mut request_body = vec![0; length];
            reader.read_exact(&mut request_body).unwrap();
            seen.push(Seen {
                line: line.trim_end().to_owned(),
                headers,
                body: request_body,
            });
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
                body.len()
            )
            .unwrap();
            stream.flush().unwrap();
        }
        seen
    });
    (url, handle)
}

fn events() -> Vec<Event> {
    let key = "111122223333/eu-west-1/AWS::S3::Bucket/logs"
        .parse()
        .unwrap();
    let issue = Issue::new(
        key,
        "s3.public-policy",
        Category::InternetAccessible,
        9,
        "*".into(),
        "bucket <logs> & friends are public".into(),
    );
    vec![Event::NewIssue { issue }]
}

fn fast() -> WebhookOptions {
    WebhookOptions {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn retries_a_500_then_delivers_the_payload() {
    let (url, server) = serve(vec![
        (500, "Retry-After: 1\r\n", "try later"),
        (200, "", "ok"),
    ]);
    let sink = WebhookSink::new(&url, fast()).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    let started = Instant::now();
    sink.send(&alert).await.unwrap();
    // Retry-After: 1 was honoured instead of the 10 ms backoff.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.line, "POST /services/T000/B000/SECRET HTTP/1.1");
        assert!(
            request
                .headers
                .contains(&("content-type".into(), "application/json".into()))
        );
    }
    assert_eq!(seen[0].body, seen[1].body);
    let payload: Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(payload["text"], alert.subject.as_str());
    let blocks = payload["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["type"], "header");
    let section = blocks[1]["text"]["text"].as_str().unwrap();
    assert!(
        section.starts_with("new critical issue s3.public-policy"),
        "{section}"
    );
    assert!(
        section.contains("bucket &lt;logs&gt; &amp; friends are public"),
        "{section}"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_quotes_the_answer() {
    let (url, server) = serve(vec![(400, "", "invalid_payload")]);
    let sink = WebhookSink::new(&url, fast()).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    let error = sink.send(&alert).await.unwrap_err();
    match &error {
        AlertError::WebhookStatus {
            status,
            body,
            endpoint,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(body, "invalid_payload");
            assert!(!endpoint.contains("SECRET"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!error.to_string().contains("SECRET"));
    assert_eq!(server.join().unwrap().len(), 1);
}

#[tokio::test]
async fn gives_up_after_the_last_attempt() {
    let (url, server) = serve(vec![
        (429, "", "slow down"),
        (503, "", "busy"),
        (502, "", "bad gateway"),
    ]);
    let sink = WebhookSink::new(&url, fast()).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    let error = sink.send(&alert).await.unwrap_err();
    assert!(
        matches!(error, AlertError::WebhookStatus { status: 502, .. }),
        "{error:?}"
    );
    assert_eq!(server.join().unwrap().len(), 3);
}

/// An HTTPS server on 127.0.0.1 with a fresh self-signed certificate for
/// `localhost`: answers one request with 200 and returns its body.
fn serve_tls() -> (String, String, JoinHandle<Vec<u8>>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let ca_pem = certified.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::aws_lc_rs::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://localhost:{}/hook",
        listener.local_addr().unwrap().port()
    );
    let handle = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let connection = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut reader = BufReader::new(&mut tls);
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .unwrap();
        tls.conn.send_close_notify();
        tls.flush().unwrap();
        body
    });
    (url, ca_pem, handle)
}

#[tokio::test]
async fn posts_over_https_to_a_server_its_ca_vouches_for() {
    let (url, ca_pem, server) = serve_tls();
    let sink = WebhookSink::with_ca(&url, fast(), ca_pem.as_bytes()).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    sink.send(&alert).await.unwrap();
    let body: Value = serde_json::from_slice(&server.join().unwrap()).unwrap();
    assert_eq!(body["text"], alert.subject.as_str());
}

#[tokio::test]
async fn refuses_an_https_server_it_does_not_trust() {
    let (url, _ca_pem, server) = serve_tls();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let options = WebhookOptions {
        attempts: 1,
        ..fast()
    };
    let sink = WebhookSink::with_ca(&url, options, other.cert.pem().as_bytes()).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    let error = sink.send(&alert).await.unwrap_err();
    assert!(
        matches!(error, AlertError::WebhookTransport { .. }),
        "{error:?}"
    );
    // The handshake failed, so no request reached the server.
    if let Ok(body) = server.join() {
        assert!(body.is_empty());
    }
}

#[tokio::test]
async fn an_unreachable_webhook_is_a_transport_error() {
    // Bind then drop: the port is (very likely) closed.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = WebhookOptions {
        attempts: 1,
        ..fast()
    };
    let sink = WebhookSink::new(&format!("http://127.0.0.1:{port}/hook"), options).unwrap();
    let alert = alerts(
        &events(),
        &Options::default(),
        "run-1",
        datetime!(2026-11-22 10:00 UTC),
    )
    .remove(0);
    let error = sink.send(&alert).await.unwrap_err();
    assert!(
        matches!(error, AlertError::WebhookTransport { .. }),
        "{error:?}"
    );
}
