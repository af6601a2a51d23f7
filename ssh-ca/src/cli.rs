//! Argument parsing and output; the library does the work.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use ssh_key::{Certificate, PublicKey};

use ssh_ca::aws::{Kms, Lambda};
use ssh_ca::config::{Config, DEFAULT_SQLITE, StoreBackend};
use ssh_ca::handler::{Service, needs_aws};
use ssh_ca::model::{Request, Response, UserRequest};
use ssh_ca::store::{AnyStore, Revocation, RevocationRecord, Store, build_krl};
use ssh_ca::{kmsauth, sign};

/// Sign short-lived SSH certificates, publish the CA keys, revoke
/// certificates, and ask a signer for a certificate.
#[derive(Debug, Parser)]
#[command(name = "ssh-ca", version)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign one request (JSON, as the Lambda receives it) with the local configuration.
    Sign {
        #[command(flatten)]
        config: ConfigArg,
        /// The request file (`-` for standard input).
        #[arg(long)]
        request: PathBuf,
        /// The request id recorded in the key id (default: a random one).
        #[arg(long)]
        request_id: Option<String>,
        /// Output: the certificate line, or the JSON response.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the CA public keys, for sshd's TrustedUserCAKeys or known_hosts.
    CaKeys {
        #[command(flatten)]
        config: ConfigArg,
        /// Print `@cert-authority PATTERN KEY` lines for known_hosts instead.
        #[arg(long, value_name = "PATTERN")]
        known_hosts: Option<String>,
    },
    /// Revoke certificates (by serial or key id) or a key (with all its certificates).
    Revoke {
        #[command(flatten)]
        config: ConfigArg,
        #[command(flatten)]
        what: RevokeWhat,
    },
    /// Write the OpenSSH key revocation list (for sshd's RevokedKeys).
    Krl {
        #[command(flatten)]
        config: ConfigArg,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Ask for a user certificate for your key and write it beside the key.
    Request(RequestArgs),
}

#[derive(Debug, ClapArgs)]
struct ConfigArg {
    /// The configuration file (see ca.example.toml).
    #[arg(long, env = "SSH_CA_CONFIG")]
    config: PathBuf,
}

#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
struct RevokeWhat {
    /// A certificate serial (as `ssh-keygen -L` prints it).
    #[arg(long)]
    serial: Option<u64>,
    /// A key id (every certificate recorded with it).
    #[arg(long)]
    key_id: Option<String>,
    /// A public key file (the key and all its certificates), or a
    /// certificate file (that certificate).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Debug, ClapArgs)]
struct RequestArgs {
    /// Your public key (`~/.ssh/id_ed25519.pub`).
    #[arg(long)]
    key: PathBuf,
    /// A remote user name to log in as (repeatable).
    #[arg(long = "principal", required = true)]
    principals: Vec<String>,
    /// The signing Lambda function to invoke.
    #[arg(long, conflicts_with = "config", required_unless_present = "config")]
    function: Option<String>,
    /// Sign locally with this configuration instead of invoking a function.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Your user name (default: $USER).
    #[arg(long)]
    user: Option<String>,
    /// Your address (default: this machine's outgoing address).
    #[arg(long)]
    ip: Option<IpAddr>,
    /// Restrict the certificate to these source addresses or CIDR blocks.
    #[arg(long = "source-address")]
    source_addresses: Vec<String>,
    /// Bind the certificate to this command.
    #[arg(long)]
    command: Option<String>,
    /// Lifetime in seconds (at most the policy's maximum).
    #[arg(long)]
    validity: Option<u64>,
    /// The kmsauth KMS key; with it a token is made and sent.
    #[arg(long)]
    kmsauth_key: Option<String>,
    /// The signer's service name for kmsauth.
    #[arg(long, default_value = "ssh-ca")]
    service: String,
    /// The kmsauth token's lifetime in seconds.
    #[arg(long, default_value_t = 600)]
    token_lifetime: i64,
    /// Add the key and its new certificate to ssh-agent.
    #[arg(long)]
    add_to_agent: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).context("cannot read standard input");
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Loads the configuration; relative paths in it are relative to its file.
fn load_config(path: &Path) -> anyhow::Result<Config> {
    let text = read(path)?;
    let mut config = Config::load(&text, std::env::vars())
        .with_context(|| format!("configuration `{}`", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for key in &mut config.ca.keys {
        key.file = key.file.as_ref().map(|f| base.join(f));
    }
    if let StoreBackend::Sqlite(file) = config.store.backend(DEFAULT_SQLITE) {
        config.store.sqlite = Some(base.join(file));
    }
    Ok(config)
}

async fn aws_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Loads everything `config` names: key files, AWS when needed, the store.
async fn service(path: &Path) -> anyhow::Result<Service<AnyStore>> {
    let config = load_config(path)?;
    let mut texts = Vec::with_capacity(config.ca.keys.len());
    for key in &config.ca.keys {
        texts.push(match &key.file {
            Some(file) => Some(read(file)?),
            None => None,
        });
    }
    let aws = if needs_aws(&config) || config.store.dynamodb_table.is_some() {
        Some(aws_config().await)
    } else {
        None
    };
    let store = AnyStore::open(&config.store, aws.as_ref())?;
    Ok(Service::from_config(&config, &texts, aws.as_ref(), store).await?)
}

fn request_id() -> String {
    format!("{:016x}", ssh_ca::handler::random_serial())
}

/// Runs one command; the exit code is 0 on success, 1 when a request was
/// refused, 2 on a usage or input error (returned as `Err`).
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Sign {
            config,
            request,
            request_id: id,
            format,
        } => {
            let service = service(&config.config).await?;
            let payload: serde_json::Value = serde_json::from_str(&read(&request)?)
                .with_context(|| format!("request `{}` is not JSON", request.display()))?;
            let id = id.unwrap_or_else(request_id);
            let response = service.handle(payload, &id, now()).await;
            print_response(&response, format)
        }
        Command::CaKeys {
            config,
            known_hosts,
        } => {
            let service = service(&config.config).await?;
            let lines = match known_hosts {
                Some(pattern) => service.cas.known_hosts_lines(&pattern),
                None => service.cas.trusted_user_ca_keys("ssh-ca"),
            };
            for line in lines {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { config, what } => {
            let service = service(&config.config).await?;
            revoke(&service.store, what).await
        }
        Command::Krl { config, out } => {
            let config = load_config(&config.config)?;
            let aws = match config.store.dynamodb_table {
                Some(_) => Some(aws_config().await),
                None => None,
            };
            let store = AnyStore::open(&config.store, aws.as_ref())?;
            let records = store.revocations().await?;
            let krl = build_krl(&records, now())?;
            std::fs::write(&out, krl.to_bytes())
                .with_context(|| format!("cannot write `{}`", out.display()))?;
            eprintln!(
                "wrote {} ({} revocations, version {})",
                out.display(),
                records.len(),
                krl.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Request(args) => request(args).await,
    }
}

fn print_response(response: &Response, format: Format) -> anyhow::Result<ExitCode> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(response)?),
        Format::Text => match response {
            Response::Issued { certificate } => println!("{certificate}"),
            Response::Failed {
                error_type,
                message,
            } => eprintln!("refused ({error_type:?}): {message}"),
        },
    }
    Ok(match response {
        Response::Issued { .. } => ExitCode::SUCCESS,
        Response::Failed { .. } => ExitCode::from(1),
    })
}

async fn revoke(store: &AnyStore, what: RevokeWhat) -> anyhow::Result<ExitCode> {
    let mut revocations = Vec::new();
    if let Some(serial) = what.serial {
        let Some(issued) = store.by_serial(serial).await? else {
            bail!("serial {serial} is not in the store; check it with `ssh-keygen -L -f CERT`");
        };
        revocations.push(Revocation::Serial {
            serial,
            ca_key: issued.ca_key,
        });
    }
    if let Some(key_id) = what.key_id {
        let issued = store.by_key_id(&key_id).await?;
        if issued.is_empty() {
            bail!(
                "no certificate with key id `{key_id}` is in the store; copy it from `ssh-keygen -L`"
            );
        }
        for i in issued {
            revocations.push(Revocation::KeyId {
                key_id: key_id.clone(),
                ca_key: i.ca_key,
            });
        }
    }
    if let Some(path) = what.key {
        let text = read(&path)?;
        if let Ok(cert) = Certificate::from_openssh(text.trim()) {
            let ca = PublicKey::from(cert.signature_key().clone()).to_openssh()?;
            revocations.push(Revocation::Serial {
                serial: cert.serial(),
                ca_key: ca,
            });
        } else {
            let key = PublicKey::from_openssh(text.trim()).with_context(|| {
                format!(
                    "`{}` is neither a public key nor a certificate",
                    path.display()
                )
            })?;
            revocations.push(Revocation::Key {
                public_key: PublicKey::from(key.key_data().clone()).to_openssh()?,
            });
        }
    }
    let at = now();
    for revocation in revocations {
        eprintln!("revoked {revocation:?}");
        store
            .revoke(&RevocationRecord {
                revocation,
                revoked_at: at,
            })
            .await?;
    }
    eprintln!("run `ssh-ca krl --out FILE` and distribute FILE to sshd's RevokedKeys");
    Ok(ExitCode::SUCCESS)
}

/// This machine's outgoing address: a UDP socket "connected" to a
/// documentation address sends nothing but picks the route.
fn local_ip() -> IpAddr {
    UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| {
            s.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
            s.local_addr()
        })
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a| a.ip())
}

async fn request(args: RequestArgs) -> anyhow::Result<ExitCode> {
    let public_key = read(&args.key)?;
    let user = match args.user {
        Some(user) => user,
        None => std::env::var("USER").context("$USER is not set; pass --user NAME")?,
    };
    let needs_aws = args.function.is_some() || args.kmsauth_key.is_some();
    let aws = if needs_aws {
        Some(aws_config().await)
    } else {
        None
    };
    let kmsauth_token = match (&args.kmsauth_key, &aws) {
        (Some(key), Some(aws)) => {
            let now = i64::try_from(now()).unwrap_or(i64::MAX);
            Some(
                kmsauth::generate(
                    &Kms::new(aws),
                    key,
                    &user,
                    &args.service,
                    now,
                    args.token_lifetime,
                )
                .await?,
            )
        }
        _ => None,
    };
    let request = UserRequest {
        bastion_user: user,
        bastion_user_ip: args.ip.unwrap_or_else(local_ip).to_string(),
        remote_usernames: args.principals,
        public_key_to_sign: public_key.trim().to_owned(),
        bastion_ips: (!args.source_addresses.is_empty()).then_some(args.source_addresses),
        command: args.command,
        kmsauth_token,
        validity_seconds: args.validity,
    };
    let payload = serde_json::to_value(Request::User(request))?;
    let response: Response = match (&args.function, &args.config, &aws) {
        (Some(function), _, Some(aws)) => {
            let answer = Lambda::new(aws)
                .invoke(function, serde_json::to_vec(&payload)?)
                .await?;
            serde_json::from_slice(&answer).with_context(|| {
                format!("function `{function}` answered something else than a response")
            })?
        }
        (None, Some(config), _) => {
            let service = service(config).await?;
            service.handle(payload, &request_id(), now()).await
        }
        _ => bail!("give --function NAME or --config FILE"),
    };
    let certificate = match response {
        Response::Issued { certificate } => certificate,
        Response::Failed {
            error_type,
            message,
        } => {
            eprintln!("refused ({error_type:?}): {message}");
            return Ok(ExitCode::from(1));
        }
    };
    let cert_path = cert_path(&args.key);
    std::fs::write(&cert_path, format!("{certificate}\n"))
        .with_context(|| format!("cannot write `{}`", cert_path.display()))?;
    let cert = Certificate::from_openssh(&certificate)?;
    println!("certificate: {}", cert_path.display());
    println!("principals:  {}", cert.valid_principals().join(", "));
    println!("serial:      {}", cert.serial());
    println!("expires:     {}", sign::rfc3339(cert.valid_before()));
    if args.add_to_agent {
        let private = args.key.with_extension("");
        let lifetime = cert.valid_before().saturating_sub(now()).max(1);
        let status = std::process::Command::new("ssh-add")
            .arg("-t")
            .arg(lifetime.to_string())
            .arg(&private)
            .status()
            .context("cannot run ssh-add")?;
        if !status.success() {
            bail!(
                "ssh-add `{}` failed; is ssh-agent running?",
                private.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `id_ed25519.pub` -> `id_ed25519-cert.pub`, beside the key.
fn cert_path(key: &Path) -> PathBuf {
    let name = key
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".pub").unwrap_or(&name);
    key.with_file_name(format!("{stem}-cert.pub"))
}
