//! A minimal Lambda Runtime API on 127.0.0.1 for running the bootstrap
//! binaries as real processes, and the helpers to start them. It serves what
//! `lambda_runtime` calls: `GET /2018-06-01/runtime/invocation/next` (long
//! poll, with the request id, deadline and function ARN headers),
//! `POST .../invocation/{id}/response`, `POST .../invocation/{id}/error` and
//! `POST /2018-06-01/runtime/init/error`, over HTTP/1.1 with keep-alive.
#![allow(dead_code, reason = "each test file uses a part")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How a function answered one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST .../response` with this body.
    Response(Value),
    /// `POST .../error`: the `Lambda-Runtime-Function-Error-Type` header and the body.
    Error {
        /// The header's value, if any.
        header: Option<String>,
        /// The body (`{"errorType": .., "errorMessage": ..}`).
        body: Value,
    },
}

impl Outcome {
    /// The response body; panics on an error.
    pub fn response(self) -> Value {
        match self {
            Self::Response(v) => v,
            Self::Error { body, .. } => panic!("expected a response, got the error {body}"),
        }
    }

    /// The error body; panics on a response.
    pub fn error(self) -> Value {
        match self {
            Self::Error { body, .. } => body,
            Self::Response(v) => panic!("expected an error, got the response {v}"),
        }
    }
}

/// The queue of events `GET .../next` takes from: request id and body.
type Events = Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Vec<u8>)>>>;

#[derive(Default)]
struct Shared {
    outcomes: HashMap<String, Outcome>,
    init_error: Option<(Option<String>, Value)>,
    first_poll: Option<Instant>,
}

/// The Runtime API of one function instance.
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, Vec<u8>)>,
    shared: Arc<Mutex<Shared>>,
    next_id: Mutex<u32>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Arc::clone(&shared);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&rx), Arc::clone(&state)));
            }
        });
        Self {
            addr,
            events: tx,
            shared,
            next_id: Mutex::new(0),
        }
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event (raw bytes) and returns its request id.
    pub fn push_raw(&self, body: Vec<u8>) -> String {
        let mut n = self.next_id.lock().unwrap();
        *n += 1;
        let id = format!("req-{n:04}");
        self.events.send((id.clone(), body)).unwrap();
        id
    }

    /// Queues a JSON event and returns its request id.
    pub fn push(&self, event: &Value) -> String {
        self.push_raw(serde_json::to_vec(event).unwrap())
    }

    /// Waits up to `timeout` for the answer to `id`.
    pub async fn outcome(&self, id: &str, timeout: Duration) -> Option<Outcome> {
        self.wait(timeout, |s| s.outcomes.get(id).cloned()).await
    }

    /// Queues `event` and waits for its answer (30 s at most).
    pub async fn call(&self, event: &Value) -> Outcome {
        let id = self.push(event);
        self.outcome(&id, Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("no answer to {event} within 30 s"))
    }

    /// Waits up to `timeout` for an init error: its error type header and body.
    pub async fn init_error(&self, timeout: Duration) -> Option<(Option<String>, Value)> {
        self.wait(timeout, |s| s.init_error.clone()).await
    }

    /// Waits up to `timeout` for the first `GET .../next`.
    pub async fn first_poll(&self, timeout: Duration) -> Option<Instant> {
        self.wait(timeout, |s| s.first_poll).await
    }

    async fn wait<T>(&self, timeout: Duration, f: impl Fn(&Shared) -> Option<T>) -> Option<T> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(found) = f(&self.shared.lock().unwrap()) {
                return Some(found);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

async fn respond(
    stream: &mut BufReader<TcpStream>,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> bool {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let stream = stream.get_mut();
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok()
}

const PREFIX: &str = "/2018-06-01/runtime/";

async fn serve(stream: TcpStream, events: Events, shared: Arc<Mutex<Shared>>) {
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_request(&mut stream).await {
        let route = request.path.strip_prefix(PREFIX).unwrap_or("");
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let accepted = br#"{"status":"OK"}"#;
        let segments: Vec<&str> = route.split('/').collect();
        let ok = match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["invocation", "next"]) => {
                shared
                    .lock()
                    .unwrap()
                    .first_poll
                    .get_or_insert_with(Instant::now);
                let Some((id, event)) = events.lock().await.recv().await else {
                    return;
                };
                let deadline = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_millis()
                    + 300_000;
                let headers = [
                    ("content-type", "application/json".to_owned()),
                    ("lambda-runtime-aws-request-id", id),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:test".to_owned(),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-5759e988-bd862e3fe1be46a994272793".to_owned(),
                    ),
                ];
                respond(&mut stream, "200 OK", &headers, &event).await
            }
            ("POST", &["invocation", id, "response"]) => {
                shared
                    .lock()
                    .unwrap()
                    .outcomes
                    .insert(id.to_owned(), Outcome::Response(body));
                respond(&mut stream, "202 Accepted", &[], accepted).await
            }
            ("POST", &["invocation", id, "error"]) => {
                let header = request
                    .headers
                    .get("lambda-runtime-function-error-type")
                    .cloned();
                shared
                    .lock()
                    .unwrap()
                    .outcomes
                    .insert(id.to_owned(), Outcome::Error { header, body });
                respond(&mut stream, "202 Accepted", &[], accepted).await
            }
            ("POST", ["init", "error"]) => {
                let header = request
                    .headers
                    .get("lambda-runtime-function-error-type")
                    .cloned();
                shared.lock().unwrap().init_error = Some((header, body));
                respond(&mut stream, "202 Accepted", &[], accepted).await
            }
            _ => respond(&mut stream, "404 Not Found", &[], b"{}").await,
        };
        if !ok {
            return;
        }
    }
}

/// Starts `bootstrap` (a path) as a Lambda instance of `api` with the
/// function's `env`; the process is killed when the handle drops.
pub fn spawn(bootstrap: &str, api: &RuntimeApi, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(bootstrap);
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

/// Waits up to 30 s for `child` to exit and returns its code and output.
pub async fn exit(child: Child) -> (Option<i32>, String) {
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the process did not exit within 30 s")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Creates a KMS key in moto and returns its id.
pub async fn create_key(aws: &SdkConfig, spec: KeySpec, usage: KeyUsageType) -> String {
    aws_sdk_kms::Client::new(aws)
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
}

/// An ssh-ca configuration on moto: a KMS P-256 CA key, kmsauth, DynamoDB;
/// returns the TOML, the kmsauth key id and the table.
pub async fn ssh_ca_setup(aws: &SdkConfig) -> (String, String, String) {
    let ca = create_key(aws, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let auth = create_key(aws, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let table = testkit::unique_name("ssh-ca");
    ssh_ca::dynamo::DynamoStore::new(aws, &table)
        .create_table()
        .await
        .unwrap();
    let config = format!(
        "[[ca.keys]]\nkms_key_id = \"{ca}\"\n[kmsauth]\nkey_id = \"{auth}\"\nservice_name = \"ssh-ca\"\n\
         [store]\ndynamodb_table = \"{table}\"\n[policy.host]\nallowed_domains = [\"example.com\"]\n"
    );
    (config, auth, table)
}

/// A certs deployment on moto: the issuing key in KMS, its CA certificates,
/// the DynamoDB inventory, an SNS topic.
pub async fn certs_env(aws: &SdkConfig) -> Vec<(&'static str, String)> {
    let key = create_key(aws, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let spki = aws_sdk_kms::Client::new(aws)
        .get_public_key()
        .key_id(&key)
        .send()
        .await
        .unwrap()
        .public_key
        .unwrap()
        .into_inner();
    let now = time::OffsetDateTime::now_utc();
    let files = certs::ca::init_ca(
        &certs::ca::CaOptions::new("Lambda"),
        Some(&spki),
        now,
        &mut rand::rngs::OsRng,
    )
    .unwrap();
    let table = testkit::unique_name("certs");
    certs::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table.clone())
        .create_table()
        .await
        .unwrap();
    let topic = aws_sdk_sns::Client::new(aws)
        .create_topic()
        .name(testkit::unique_name("certs"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    vec![
        ("CERTS_TABLE", table),
        ("CERTS_KMS_KEY_ID", key),
        ("CERTS_ISSUING_CERT", files.intermediate_cert_pem),
        ("CERTS_ROOT_CERT", files.root_cert_pem),
        (
            "CERTS_PROFILES",
            "[profiles.server]\nmax_validity = \"30d\"\ndomains = [\"*.example.com\"]\n".into(),
        ),
        (
            "CERTS_CRL_URLS",
            "http://pki.example.com/issuing.crl".into(),
        ),
        ("CERTS_SNS_TOPIC_ARN", topic),
        ("CERTS_NOTIFY_DAYS", "30,15,2".into()),
    ]
}
