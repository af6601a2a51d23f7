//! The engineer's client, `ssh-ca request --function`, end to end: a kmsauth
//! token made with moto's KMS, the Lambda Invoke API answered by a local
//! stand-in that runs the real handler (moto's Lambda needs Docker), the
//! certificate written beside the key and added to a real ssh-agent.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use common::*;
use ssh_ca::aws::Kms;
use ssh_ca::handler::Service;
use ssh_ca::kmsauth::{KmsAuthConfig, Verifier};
use ssh_ca::policy::Policy;
use ssh_ca::store::{SqliteStore, Store};
use ssh_key::{Algorithm, Certificate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers Lambda `Invoke` calls (`POST /2015-03-31/functions/NAME/invocations`)
/// with the handler's response; records the payloads it saw.
async fn serve_invoke(
    listener: TcpListener,
    service: Arc<Service<SqliteStore>>,
    seen: Arc<tokio::sync::Mutex<Vec<(String, serde_json::Value)>>>,
) {
    loop {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let (head_end, length) = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "client closed early");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                break (end + 4, length);
            }
        };
        while buf.len() < head_end + length {
            let n = socket.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
        }
        let request_line = String::from_utf8_lossy(&buf[..head_end])
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let payload: serde_json::Value =
            serde_json::from_slice(&buf[head_end..head_end + length]).unwrap();
        seen.lock().await.push((request_line, payload.clone()));
        let response = service.handle(payload, "lambda-request-1", now()).await;
        let body = serde_json::to_vec(&response).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Amz-Executed-Version: $LATEST\r\nConnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        socket.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_invokes_the_function_with_a_kmsauth_token() {
    let Some(aws) = testkit::aws_config().await else {
        return;
    };
    if !have_openssh() {
        return;
    }
    let kms = Kms::new(&aws);
    let key_id = aws_sdk_kms::Client::new(&aws)
        .create_key()
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let (mut service, _ca) = service(Algorithm::Ed25519, Policy::default());
    service.kms = Some(kms.clone());
    service.kmsauth = Some(Verifier::new(
        KmsAuthConfig {
            key_id: key_id.clone(),
            service_name: "ssh-ca".into(),
            max_lifetime_seconds: 3600,
        },
        kms.key_arn(&key_id).await.unwrap(),
    ));
    let service = Arc::new(service);
    let seen = Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(serve_invoke(listener, service.clone(), seen.clone()));

    let tmp = tempfile::tempdir().unwrap();
    let key = keygen(tmp.path(), "id_ed25519", "ed25519");
    let socket = tmp.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&socket)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if socket.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ssh-ca"));
    cmd.arg("request")
        .arg("--key")
        .arg(key.with_extension("pub"))
        .args(["--principal", "alice", "--function", "ssh-ca-signer"])
        .args([
            "--kmsauth-key",
            &key_id,
            "--user",
            "alice",
            "--ip",
            "127.0.0.1",
        ])
        .arg("--add-to-agent")
        .env("AWS_ENDPOINT_URL_LAMBDA", &endpoint)
        .env("SSH_AUTH_SOCK", &socket);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.contains("principals:  alice"), "{printed}");

    // The function was invoked once, by name, with a token.
    let calls = seen.lock().await.clone();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0]
            .0
            .starts_with("POST /2015-03-31/functions/ssh-ca-signer/invocations"),
        "{}",
        calls[0].0
    );
    assert!(calls[0].1["kmsauth_token"].as_str().unwrap().len() > 20);

    // The certificate is beside the key, recorded, and in the agent.
    let cert = Certificate::read_file(&tmp.path().join("id_ed25519-cert.pub")).unwrap();
    let record = service
        .store
        .by_serial(cert.serial())
        .await
        .unwrap()
        .unwrap();
    assert!(
        record
            .key_id
            .starts_with("request[lambda-request-1] for[alice]")
    );
    let listed = Command::new("ssh-add")
        .arg("-L")
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("ssh-ed25519-cert-v01@openssh.com "),
        "{listed}"
    );

    let _ = agent.kill();
    let _ = agent.wait();
    server.abort();
}
