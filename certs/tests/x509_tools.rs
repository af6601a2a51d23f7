//! Certificates and CRLs proven by outside verifiers: `openssl verify`,
//! `openssl x509 -text`, `openssl crl -verify`, `openssl verify -crl_check`,
//! and real TLS handshakes (rustls server and client, aws-lc-rs provider).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use certs::ca::{Authority, CaOptions, init_ca, key_from_pem};
use certs::csr::parse_csr;
use certs::issue::{Issued, KeySource, Request, Urls};
use certs::model::{KeyType, Reason};
use certs::ops::{self, Ca, Context};
use certs::profile::Profiles;
use certs::store::{SqliteStore, Store};
use rand::SeedableRng;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use time::{Duration, OffsetDateTime};

const PROFILES: &str = r#"
[profiles.server]
usage = "server"
key_types = ["p256", "p384", "ed25519", "rsa"]
max_validity = "397d"
default_validity = "90d"
domains = ["localhost", "*.example.com", "www.other.org"]
ip_ranges = ["127.0.0.0/8"]

[profiles.client]
usage = "client"
max_validity = "12h"
domains = ["*.clients.example.com"]
"#;

fn openssl_present() -> bool {
    testkit::require(
        Command::new("openssl").arg("version").output().is_ok(),
        "openssl",
    )
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

struct Fixture {
    dir: tempfile::TempDir,
    ca: Ca,
    root_pem: String,
    store: SqliteStore,
    profiles: Profiles,
    now: OffsetDateTime,
}

impl Fixture {
    fn new(opts: CaOptions) -> Self {
        let now = OffsetDateTime::now_utc();
        let files = init_ca(&opts, None, now, &mut rand::rngs::OsRng).unwrap();
        let key = key_from_pem(files.intermediate_key_pem.as_ref().unwrap().expose()).unwrap();
        let authority =
            Authority::from_pem(&files.intermediate_cert_pem, &files.root_cert_pem, key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("root.pem"), &files.root_cert_pem).unwrap();
        std::fs::write(dir.path().join("inter.pem"), &files.intermediate_cert_pem).unwrap();
        Self {
            dir,
            ca: Ca::File(authority),
            root_pem: files.root_cert_pem,
            store: SqliteStore::in_memory().unwrap(),
            profiles: Profiles::from_toml(PROFILES).unwrap(),
            now,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    async fn issue(&self, profile: &str, dns: &[&str], key: KeySource, urls: &Urls) -> Issued {
        let request = Request {
            dns: dns.iter().map(|s| (*s).to_owned()).collect(),
            ips: vec![],
            key,
            validity: None,
            owner: Some("tests".into()),
        };
        ops::issue(
            &Context::new(&self.store, &self.profiles, urls, self.now),
            &self.ca,
            profile,
            request,
            &mut rand::rngs::StdRng::from_entropy(),
        )
        .await
        .unwrap()
    }

    fn write_leaf(&self, name: &str, issued: &Issued) -> String {
        std::fs::write(self.path(name), &issued.record.pem).unwrap();
        self.p(name)
    }

    fn verify(&self, leaf: &str, extra: &[&str]) -> (bool, String) {
        let root = self.p("root.pem");
        let inter = self.p("inter.pem");
        let mut args = vec!["verify", "-CAfile", &root, "-untrusted", &inter];
        args.extend_from_slice(extra);
        args.push(leaf);
        openssl(&args)
    }
}

#[tokio::test]
async fn openssl_accepts_the_chain_from_an_openssl_csr_and_shows_profile_extensions() {
    if !openssl_present() {
        return;
    }
    let f = Fixture::new(CaOptions::new("Tools"));
    // A CSR made by openssl that asks for CA:TRUE and a name; only the name may be honoured.
    let key = f.p("leaf.key");
    let csr = f.p("leaf.csr");
    let (ok, out) = openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        "/CN=www.example.com",
        "-addext",
        "subjectAltName=DNS:www.example.com,DNS:api.example.com",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
    ]);
    assert!(ok, "{out}");
    let parsed = parse_csr(&std::fs::read(&csr).unwrap()).unwrap();
    assert!(parsed.asks_for_ca);
    let urls = Urls {
        crl: vec!["http://pki.example.com/issuing.crl".into()],
        ca_issuers: Some("http://pki.example.com/issuing.crt".into()),
        ocsp: None,
    };
    let issued = f
        .issue("server", &[], KeySource::Csr(Box::new(parsed)), &urls)
        .await;
    let leaf = f.write_leaf("leaf.pem", &issued);

    let (ok, out) = f.verify(&leaf, &["-purpose", "sslserver"]);
    assert!(ok && out.contains(": OK"), "{out}");

    let (ok, text) = openssl(&["x509", "-in", &leaf, "-noout", "-text"]);
    assert!(ok, "{text}");
    for expected in [
        "CA:FALSE",
        "TLS Web Server Authentication",
        "Digital Signature",
        "DNS:www.example.com, DNS:api.example.com",
        "X509v3 CRL Distribution Points",
        "URI:http://pki.example.com/issuing.crl",
        "CA Issuers - URI:http://pki.example.com/issuing.crt",
        "X509v3 Authority Key Identifier",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert!(!text.contains("CA:TRUE"), "{text}");
    assert!(!text.contains("TLS Web Client Authentication"), "{text}");
    // The profile's validity, backdated five minutes.
    assert_eq!(
        issued.record.not_after - issued.record.not_before,
        Duration::days(90)
    );

    // As a client certificate, the server-only leaf is refused.
    let (ok, out) = f.verify(&leaf, &["-purpose", "sslclient"]);
    assert!(!ok, "{out}");
}

#[tokio::test]
async fn every_generated_key_type_verifies() {
    if !openssl_present() {
        return;
    }
    let f = Fixture::new(CaOptions::new("Keys"));
    for kt in [
        KeyType::P256,
        KeyType::P384,
        KeyType::Ed25519,
        KeyType::Rsa(2048),
    ] {
        let issued = f
            .issue(
                "server",
                &["k.example.com"],
                KeySource::Generate(Some(kt)),
                &Urls::default(),
            )
            .await;
        assert_eq!(issued.record.key_type, kt);
        let leaf = f.write_leaf(&format!("{kt}.pem"), &issued);
        let (ok, out) = f.verify(&leaf, &[]);
        assert!(ok, "{kt}: {out}");
        if let KeyType::Rsa(_) = kt {
            let (_, text) = openssl(&["x509", "-in", &leaf, "-noout", "-text"]);
            assert!(text.contains("Key Encipherment"), "{text}");
        }
    }
}

#[tokio::test]
async fn name_constraints_are_enforced_by_openssl() {
    if !openssl_present() {
        return;
    }
    let mut opts = CaOptions::new("Constrained");
    opts.permitted_dns = vec!["example.com".into()];
    let f = Fixture::new(opts);
    let inside = f
        .issue(
            "server",
            &["a.example.com"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    let outside = f
        .issue(
            "server",
            &["www.other.org"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    let (ok, out) = f.verify(&f.write_leaf("in.pem", &inside), &[]);
    assert!(ok, "{out}");
    let (ok, out) = f.verify(&f.write_leaf("out.pem", &outside), &[]);
    assert!(!ok, "{out}");
    assert!(out.contains("permitted subtree violation"), "{out}");
}

#[tokio::test]
async fn crl_verifies_and_rejects_the_revoked_certificate() {
    if !openssl_present() {
        return;
    }
    let f = Fixture::new(CaOptions::new("Revoking"));
    let revoked = f
        .issue(
            "server",
            &["bad.example.com"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    let good = f
        .issue(
            "server",
            &["good.example.com"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    ops::revoke(
        &f.store,
        &revoked.record.serial,
        Reason::KeyCompromise,
        f.now,
    )
    .await
    .unwrap();

    let first = ops::make_crl(&f.ca, &f.store, f.now, Duration::days(7))
        .await
        .unwrap();
    let crl = ops::make_crl(&f.ca, &f.store, f.now, Duration::days(7))
        .await
        .unwrap();
    assert_eq!((first.number, crl.number), (1, 2));
    std::fs::write(f.path("crl.pem"), crl.pem()).unwrap();
    let chain = f.p("chain.pem");
    std::fs::write(&chain, f.ca.chain_pem()).unwrap();

    let (ok, out) = openssl(&[
        "crl",
        "-in",
        &f.p("crl.pem"),
        "-CAfile",
        &chain,
        "-verify",
        "-noout",
        "-text",
    ]);
    assert!(ok && out.contains("verify OK"), "{out}");
    let number_line = out
        .lines()
        .skip_while(|l| !l.contains("X509v3 CRL Number"))
        .nth(1)
        .unwrap_or_default();
    assert_eq!(number_line.trim(), "2", "{out}");
    assert!(out.contains("Key Compromise"), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains(&revoked.record.serial[..8]),
        "{out}"
    );

    let crl_path = f.p("crl.pem");
    let (ok, out) = f.verify(
        &f.write_leaf("revoked.pem", &revoked),
        &["-crl_check", "-CRLfile", &crl_path],
    );
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = f.verify(
        &f.write_leaf("good.pem", &good),
        &["-crl_check", "-CRLfile", &crl_path],
    );
    assert!(ok, "{out}");
}

fn server_config(
    issued: &Issued,
    chain_pem: &str,
    client_roots: Option<&str>,
) -> rustls::ServerConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_roots {
        Some(root) => {
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots(root)),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    builder
        .with_single_cert(cert_chain(issued, chain_pem), private_key(issued))
        .unwrap()
}

fn client_config(root: &str, identity: Option<(&Issued, &str)>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(root));
    match identity {
        Some((issued, chain)) => builder
            .with_client_auth_cert(cert_chain(issued, chain), private_key(issued))
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

fn pem_certs(pem: &str) -> Vec<CertificateDer<'static>> {
    x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes())
        .map(|p| CertificateDer::from(p.unwrap().contents))
        .collect()
}

fn roots(root_pem: &str) -> rustls::RootCertStore {
    let mut store = rustls::RootCertStore::empty();
    for c in pem_certs(root_pem) {
        store.add(c).unwrap();
    }
    store
}

fn cert_chain(issued: &Issued, chain_pem: &str) -> Vec<CertificateDer<'static>> {
    // Leaf, then the issuing CA (the root is the peer's trust anchor).
    let mut chain = vec![CertificateDer::from(issued.der.clone())];
    chain.extend(pem_certs(chain_pem).into_iter().take(1));
    chain
}

fn private_key(issued: &Issued) -> PrivateKeyDer<'static> {
    let pem = issued.key_pem.as_ref().unwrap().expose();
    let der = rcgen::KeyPair::from_pem(pem).unwrap().serialize_der();
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))
}

/// Runs one TLS exchange over 127.0.0.1: the client sends "ping", the
/// server answers "pong". Returns the client's result.
fn handshake(
    server: rustls::ServerConfig,
    client: rustls::ClientConfig,
    name: &str,
) -> Result<Vec<u8>, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(server);
    let handle = std::thread::spawn(move || -> Result<(), String> {
        let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
        sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok();
        let conn = rustls::ServerConnection::new(server).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
        tls.write_all(b"pong").map_err(|e| e.to_string())?;
        tls.flush().map_err(|e| e.to_string())?;
        Ok(())
    });
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok();
    let conn = rustls::ClientConnection::new(
        Arc::new(client),
        ServerName::try_from(name.to_owned()).unwrap(),
    )
    .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let result = (|| {
        tls.write_all(b"ping").map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; 4];
        tls.read_exact(&mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    })();
    drop(tls);
    let _ = handle.join();
    result
}

#[tokio::test]
async fn rustls_handshake_server_and_mutual_tls() {
    let f = Fixture::new(CaOptions::new("Handshake"));
    let server = f
        .issue(
            "server",
            &["localhost"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    let client = f
        .issue(
            "client",
            &["svc.clients.example.com"],
            KeySource::Generate(Some(KeyType::P384)),
            &Urls::default(),
        )
        .await;
    let chain = f.ca.chain_pem().to_owned();

    // Server authentication only.
    let reply = handshake(
        server_config(&server, &chain, None),
        client_config(&f.root_pem, None),
        "localhost",
    )
    .unwrap();
    assert_eq!(reply, b"pong");

    // Mutual TLS with a client-profile certificate.
    let reply = handshake(
        server_config(&server, &chain, Some(&f.root_pem)),
        client_config(&f.root_pem, Some((&client, &chain))),
        "localhost",
    )
    .unwrap();
    assert_eq!(reply, b"pong");

    // Mutual TLS without a client certificate fails.
    let refused = handshake(
        server_config(&server, &chain, Some(&f.root_pem)),
        client_config(&f.root_pem, None),
        "localhost",
    );
    assert!(refused.is_err());

    // A server-profile certificate is refused as a client identity (EKU).
    let refused = handshake(
        server_config(&server, &chain, Some(&f.root_pem)),
        client_config(&f.root_pem, Some((&server, &chain))),
        "localhost",
    );
    assert!(refused.is_err());

    // A client trusting another root refuses the server.
    let other = Fixture::new(CaOptions::new("Other"));
    let refused = handshake(
        server_config(&server, &chain, None),
        client_config(&other.root_pem, None),
        "localhost",
    );
    assert!(refused.unwrap_err().contains("UnknownIssuer"));

    // The name must match.
    let refused = handshake(
        server_config(&server, &chain, None),
        client_config(&f.root_pem, None),
        "elsewhere.example.com",
    );
    assert!(refused.is_err());
}

#[tokio::test]
async fn inventory_keeps_what_was_issued() {
    let f = Fixture::new(CaOptions::new("Inventory"));
    let a = f
        .issue(
            "server",
            &["a.example.com"],
            KeySource::Generate(None),
            &Urls::default(),
        )
        .await;
    let rec = f.store.get(&a.record.serial).await.unwrap().unwrap();
    assert_eq!(rec, a.record);
    assert_eq!(rec.issuer, "CN=Inventory Issuing CA");
    assert_eq!(rec.owner.as_deref(), Some("tests"));
    let soon = f
        .store
        .expiring(f.now, f.now + Duration::days(91))
        .await
        .unwrap();
    assert_eq!(soon.len(), 1);
    assert!(
        f.store
            .expiring(f.now, f.now + Duration::days(30))
            .await
            .unwrap()
            .is_empty()
    );
}
