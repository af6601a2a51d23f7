//! Start-up of each bootstrap binary: the time from spawning the process to
//! its first `GET /runtime/invocation/next` on a local Runtime API (so the
//! function's init, its AWS calls to moto included, is inside), and the size
//! of the stripped release binary. Prints medians.
//!
//! `cargo bench -p lambdas --bench startup [-- --runs N]`. The functions
//! need AWS at init (KMS public keys): the bench uses moto at
//! `AWS_ENDPOINT_URL` when set (as under `scripts/test`), otherwise it starts
//! `.venv-moto/bin/moto_server` (made by `scripts/test`) on a free port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "bench"
)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use support::{RuntimeApi, certs_env, spawn, ssh_ca_setup};

const FUNCTIONS: [(&str, &str); 9] = [
    ("ssh-ca-sign", env!("CARGO_BIN_EXE_ssh-ca-sign")),
    ("ssh-ca-sign-host", env!("CARGO_BIN_EXE_ssh-ca-sign-host")),
    ("certs-issue", env!("CARGO_BIN_EXE_certs-issue")),
    ("certs-expiry", env!("CARGO_BIN_EXE_certs-expiry")),
    ("repokid-update", env!("CARGO_BIN_EXE_repokid-update")),
    (
        "repokid-repo-scheduled",
        env!("CARGO_BIN_EXE_repokid-repo-scheduled"),
    ),
    ("monitor-audit", env!("CARGO_BIN_EXE_monitor-audit")),
    ("monitor-account", env!("CARGO_BIN_EXE_monitor-account")),
    (
        "monitor-config-rule",
        env!("CARGO_BIN_EXE_monitor-config-rule"),
    ),
];

/// moto's endpoint, and the server when this bench started it.
fn moto() -> (String, Option<std::process::Child>) {
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
        return (url, None);
    }
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv-moto/bin/moto_server");
    assert!(
        std::path::Path::new(server).exists(),
        "no moto: run `bash scripts/test -p lambdas` once (it installs .venv-moto) or set AWS_ENDPOINT_URL"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (format!("http://127.0.0.1:{port}"), Some(child));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().ok();
    child.wait().ok();
    panic!("moto did not start on port {port}");
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(15);
    let (endpoint, mut server) = moto();
    let aws_env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        ("AWS_MAX_ATTEMPTS", "1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/nonexistent".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent".into()),
        ("RUST_LOG", "warn".into()),
    ];
    let aws = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "bench",
        ))
        .load()
        .await;
    let (ssh_config, _, _) = ssh_ca_setup(&aws).await;
    let certs = certs_env(&aws).await;
    let state = tempfile::tempdir().unwrap();
    let repokid_config = format!(
        "[store]\nsqlite = \"{}\"\n",
        state.path().join("repokid.db").display()
    );
    // monitor makes no call at start: a table name and queue URL suffice.
    let monitor_env = [
        (
            "MONITOR_CONFIG",
            "[store]\ndynamodb_table = \"monitor\"\n[collect]\naccounts = [\"123456789012\"]\nregions = [\"us-east-1\"]\n".to_owned(),
        ),
        (
            "MONITOR_QUEUE_URL",
            format!("{endpoint}/123456789012/monitor"),
        ),
    ];

    println!(
        "{:<24} {:>14} {:>16}",
        "function", "start (median)", "binary (bytes)"
    );
    for (name, bootstrap) in FUNCTIONS {
        let mut env = aws_env.clone();
        if name.starts_with("ssh-ca") {
            env.push(("SSH_CA_CONFIG", ssh_config.clone()));
        } else if name.starts_with("repokid") {
            env.push(("REPOKID_CONFIG", repokid_config.clone()));
        } else if name.starts_with("monitor") {
            env.extend(monitor_env.iter().cloned());
        } else {
            env.extend(certs.iter().cloned());
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let api = RuntimeApi::start().await;
            let started = std::time::Instant::now();
            let mut child = spawn(bootstrap, &api, &env);
            let Some(ready) = api.first_poll(Duration::from_secs(30)).await else {
                child.kill().await.ok();
                let out = child.wait_with_output().await.unwrap();
                panic!(
                    "{name} did not poll: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            };
            times.push(ready - started);
            child.kill().await.ok();
        }
        let size = std::fs::metadata(bootstrap).unwrap().len();
        println!(
            "{name:<24} {:>11.1} ms {size:>16}",
            median(times).as_secs_f64() * 1000.0
        );
    }
    if let Some(server) = server.as_mut() {
        server.kill().ok();
        server.wait().ok();
    }
}
