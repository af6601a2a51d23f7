//! A real OpenSSH server and client for the integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    dead_code,
    reason = "tests; each test file uses part of this module"
)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ssh_ca::ca::{CaKey, CaSet};
use ssh_ca::handler::Service;
use ssh_ca::model::Response;
use ssh_ca::policy::Policy;
use ssh_ca::store::SqliteStore;
use ssh_ca::validate::{ValidationConfig, Validator};
use ssh_key::rand_core::OsRng;
use ssh_key::{Algorithm, LineEnding, PrivateKey};

pub const SSHD: &str = "/usr/sbin/sshd";

pub fn have_openssh() -> bool {
    testkit::require(
        Path::new(SSHD).exists() && Path::new("/usr/bin/ssh-keygen").exists(),
        "OpenSSH sshd",
    )
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The user the tests run as (root under CI).
pub fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `ssh-keygen -t ALG` into `dir/name`; returns the private key path.
pub fn keygen(dir: &Path, name: &str, alg: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", alg, "-N", "", "-C", name, "-f"])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

pub fn pub_line(private: &Path) -> String {
    std::fs::read_to_string(private.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A signing service with a fresh local CA key of `alg`, SQLite in memory,
/// default validation and the given policy.
pub fn service(alg: Algorithm, policy: Policy) -> (Service<SqliteStore>, PrivateKey) {
    let ca = PrivateKey::random(&mut OsRng, alg).unwrap();
    let text = ca.to_openssh(LineEnding::LF).unwrap();
    let key = CaKey::from_openssh(&text, None).unwrap();
    let service = Service {
        validator: Validator::new(ValidationConfig::default()).unwrap(),
        policy,
        cas: CaSet::new(vec![key]).unwrap(),
        store: SqliteStore::in_memory().unwrap(),
        kms: None,
        iam: None,
        kmsauth: None,
    };
    (service, ca)
}

pub fn issued(response: Response) -> String {
    match response {
        Response::Issued { certificate } => certificate,
        Response::Failed {
            error_type,
            message,
        } => panic!("refused: {error_type:?}: {message}"),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running sshd on 127.0.0.1, killed on drop.
pub struct Sshd {
    pub dir: PathBuf,
    pub port: u16,
    child: Child,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sshd {
    /// Starts sshd trusting `ca_pub` for users; `principals` may log in as
    /// the current user. `host_cert` installs a host certificate. The KRL
    /// file `dir/revoked.krl` must exist (write an empty KRL first).
    pub fn start(dir: &Path, ca_pub: &str, principals: &[&str], host_cert: Option<&str>) -> Self {
        if current_user() == "root" && !Path::new("/run/sshd").exists() {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let host_key = dir.join("host_ed25519");
        if !host_key.exists() {
            keygen(dir, "host_ed25519", "ed25519");
        }
        std::fs::write(dir.join("trusted_ca.pub"), format!("{ca_pub}\n")).unwrap();
        let user = current_user();
        std::fs::write(
            dir.join(format!("principals_{user}")),
            principals.join("\n") + "\n",
        )
        .unwrap();
        let mut config = format!(
            "ListenAddress 127.0.0.1\n\
             HostKey {host}\n\
             PidFile none\n\
             UsePAM no\n\
             StrictModes no\n\
             PermitRootLogin yes\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             AuthorizedKeysFile none\n\
             TrustedUserCAKeys {dir}/trusted_ca.pub\n\
             AuthorizedPrincipalsFile {dir}/principals_%u\n\
             RevokedKeys {dir}/revoked.krl\n\
             LogLevel VERBOSE\n",
            host = host_key.display(),
            dir = dir.display(),
        );
        if let Some(cert) = host_cert {
            let path = dir.join("host_ed25519-cert.pub");
            std::fs::write(&path, format!("{cert}\n")).unwrap();
            config.push_str(&format!("HostCertificate {}\n", path.display()));
        }
        let config_path = dir.join("sshd_config");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config_path)
            .arg("-p")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let sshd = Self {
            dir: dir.to_owned(),
            port,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start: {}",
                sshd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        sshd
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// `ssh` as the current user with `key` and `cert`, running `command`.
    /// `known_hosts` checks the host strictly under `alias`; without it the
    /// host key is not checked.
    pub fn ssh(
        &self,
        key: &Path,
        cert: &Path,
        known_hosts: Option<(&Path, &str)>,
        command: &str,
    ) -> Output {
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
        ])
        .args([
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
        ])
        .arg("-i")
        .arg(key)
        .arg("-o")
        .arg(format!("CertificateFile={}", cert.display()))
        .arg("-p")
        .arg(self.port.to_string());
        match known_hosts {
            Some((file, alias)) => {
                cmd.arg("-o")
                    .arg(format!("UserKnownHostsFile={}", file.display()))
                    .args(["-o", "StrictHostKeyChecking=yes"])
                    .arg("-o")
                    .arg(format!("HostKeyAlias={alias}"));
            }
            None => {
                cmd.args(["-o", "UserKnownHostsFile=/dev/null"])
                    .args(["-o", "StrictHostKeyChecking=no"]);
            }
        }
        cmd.arg(format!("{}@127.0.0.1", current_user()))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
