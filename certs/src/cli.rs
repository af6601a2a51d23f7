//! Command-line arguments, configuration, and output. Glue only: the work is
//! in the library.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;

/// Issue, track, rotate and revoke TLS certificates, with AWS ACM as
/// destination and source.
#[derive(Debug, Parser)]
#[command(name = "certs", version, about)]
pub struct Cli {
    /// Configuration file (TOML); every key can be overridden by `CERTS_<KEY>`.
    #[arg(
        long,
        env = "CERTS_CONFIG",
        default_value = "certs.toml",
        global = true
    )]
    pub config: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// JSON.
    Json,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The internal certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Issue a certificate under a profile, from a CSR or with a generated key.
    Issue(IssueArgs),
    /// List the inventory.
    List,
    /// Show one certificate.
    Show {
        /// Serial (hex, `:` allowed) or SHA-256 fingerprint.
        serial: String,
    },
    /// Certificates expiring soon (active, not yet replaced).
    Expiring {
        /// Window, e.g. `30d`.
        #[arg(long, default_value = "30d")]
        within: String,
    },
    /// Replace a certificate: new key, same names; reimport to its ACM ARNs.
    Rotate {
        /// Serial.
        serial: String,
        /// Directory for the new certificate and key.
        #[arg(long, default_value = ".")]
        out_dir: PathBuf,
    },
    /// Revoke a certificate.
    Revoke {
        /// Serial.
        serial: String,
        /// RFC 5280 reason: keyCompromise, cACompromise, affiliationChanged,
        /// superseded, cessationOfOperation, certificateHold, privilegeWithdrawn,
        /// aACompromise, unspecified.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Write a signed CRL (the CRL number increases every time).
    Crl {
        /// Output file (PEM).
        #[arg(long, default_value = "crl.pem")]
        out: PathBuf,
        /// How long the CRL is valid, e.g. `7d`.
        #[arg(long, default_value = "7d")]
        lifetime: String,
    },
    /// AWS Certificate Manager.
    #[command(subcommand)]
    Acm(AcmCommand),
    /// Run the scheduled job once: rotations and expiry notices.
    Schedule,
}

/// `certs ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a root and an intermediate (the issuing CA).
    Init {
        /// Name of the CA.
        #[arg(long, default_value = "Certs")]
        name: String,
        /// CA key type: p256 or p384.
        #[arg(long, default_value = "p256")]
        key_type: String,
        /// DNS subtree the intermediate may issue for (repeatable).
        #[arg(long = "permit")]
        permit: Vec<String>,
        /// DNS subtree the intermediate may never issue for (repeatable).
        #[arg(long = "exclude")]
        exclude: Vec<String>,
        /// Keep the intermediate's key in KMS (an ECC_NIST_P256/P384 SIGN_VERIFY key).
        #[arg(long)]
        kms_key_id: Option<String>,
        /// Replace an existing CA in the directory.
        #[arg(long)]
        force: bool,
    },
}

/// `certs acm ...`
#[derive(Debug, Subcommand)]
pub enum AcmCommand {
    /// Import a certificate (with its key and the CA chain) into ACM.
    Import {
        /// Serial.
        serial: String,
        /// The certificate's private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// Reimport into this ARN instead of creating a new certificate.
        #[arg(long)]
        arn: Option<String>,
    },
    /// Discover every certificate in ACM (all key types) into the inventory.
    Sync,
}

/// `certs issue`
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Profile name.
    #[arg(long)]
    pub profile: String,
    /// A CSR file (PEM or DER); its signature is verified.
    #[arg(long, conflicts_with = "key_type")]
    pub csr: Option<PathBuf>,
    /// DNS name (repeatable); overrides the CSR's names.
    #[arg(long)]
    pub dns: Vec<String>,
    /// IP address SAN (repeatable).
    #[arg(long)]
    pub ip: Vec<std::net::IpAddr>,
    /// Key type to generate (without --csr): p256, p384, p521, ed25519, rsa2048, rsa3072, rsa4096.
    #[arg(long)]
    pub key_type: Option<String>,
    /// Validity, e.g. `90d` or `8h` (the profile's default otherwise).
    #[arg(long)]
    pub validity: Option<String>,
    /// Owner to record.
    #[arg(long)]
    pub owner: Option<String>,
    /// Issue through ACM Private CA (`pca_arn`) instead of the internal CA.
    #[arg(long, requires = "csr")]
    pub pca: bool,
    /// Directory for the certificate, chain, and generated key.
    #[arg(long, default_value = ".")]
    pub out_dir: PathBuf,
}

/// The configuration file, `certs.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the CA files (`root.pem`, `root.key`, `issuing.pem`, `issuing.key`).
    pub dir: PathBuf,
    /// Inventory database (SQLite).
    pub db: PathBuf,
    /// DynamoDB inventory table; when set it is used instead of `db`.
    pub table: Option<String>,
    /// Profiles file.
    pub profiles: PathBuf,
    /// KMS key of the issuing CA (instead of `issuing.key`).
    pub kms_key_id: Option<String>,
    /// ACM Private CA ARN for `issue --pca`.
    pub pca_arn: Option<String>,
    /// SNS topic for notices.
    pub sns_topic_arn: Option<String>,
    /// Notice intervals, days before expiry.
    pub notify_days: Vec<u32>,
    /// CRL distribution point URLs written into certificates.
    pub crl_urls: Vec<String>,
    /// AIA caIssuers URL written into certificates.
    pub ca_issuers_url: Option<String>,
    /// AIA OCSP URL written into certificates.
    pub ocsp_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("pki"),
            db: PathBuf::from("pki/inventory.db"),
            table: None,
            profiles: PathBuf::from("profiles.toml"),
            kms_key_id: None,
            pca_arn: None,
            sns_topic_arn: None,
            notify_days: certs::expiry::DEFAULT_INTERVALS.to_vec(),
            crl_urls: Vec::new(),
            ca_issuers_url: None,
            ocsp_url: None,
        }
    }
}

impl Config {
    /// Reads the file (defaults when it does not exist), then applies
    /// `CERTS_DIR`, `CERTS_DB`, `CERTS_TABLE`, `CERTS_PROFILES`, `CERTS_KMS_KEY_ID`,
    /// `CERTS_PCA_ARN`, `CERTS_SNS_TOPIC_ARN`, `CERTS_NOTIFY_DAYS` (comma
    /// separated), `CERTS_CRL_URLS` (comma separated), `CERTS_CA_ISSUERS_URL`,
    /// `CERTS_OCSP_URL`.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let mut config: Self = match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                anyhow::anyhow!("configuration `{}` is not valid: {e}", path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::default(),
            Err(e) => anyhow::bail!("cannot read configuration `{}`: {e}", path.display()),
        };
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        if let Some(v) = var("CERTS_DIR") {
            config.dir = v.into();
        }
        if let Some(v) = var("CERTS_DB") {
            config.db = v.into();
        }
        if let Some(v) = var("CERTS_TABLE") {
            config.table = Some(v);
        }
        if let Some(v) = var("CERTS_PROFILES") {
            config.profiles = v.into();
        }
        if let Some(v) = var("CERTS_KMS_KEY_ID") {
            config.kms_key_id = Some(v);
        }
        if let Some(v) = var("CERTS_PCA_ARN") {
            config.pca_arn = Some(v);
        }
        if let Some(v) = var("CERTS_SNS_TOPIC_ARN") {
            config.sns_topic_arn = Some(v);
        }
        if let Some(v) = var("CERTS_NOTIFY_DAYS") {
            config.notify_days = list(v)
                .iter()
                .map(|d| {
                    d.parse().map_err(|_| {
                        anyhow::anyhow!(
                            "`CERTS_NOTIFY_DAYS` holds `{d}`; write whole days such as `30,15,2`"
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = var("CERTS_CRL_URLS") {
            config.crl_urls = list(v);
        }
        if let Some(v) = var("CERTS_CA_ISSUERS_URL") {
            config.ca_issuers_url = Some(v);
        }
        if let Some(v) = var("CERTS_OCSP_URL") {
            config.ocsp_url = Some(v);
        }
        Ok(config)
    }

    /// A CA file in `dir`.
    pub fn ca_file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// URLs for certificates.
    pub fn urls(&self) -> certs::issue::Urls {
        certs::issue::Urls {
            crl: self.crl_urls.clone(),
            ca_issuers: self.ca_issuers_url.clone(),
            ocsp: self.ocsp_url.clone(),
        }
    }
}

/// Prints records as a table.
pub fn print_table(records: &[certs::model::CertRecord], now: time::OffsetDateTime) {
    println!(
        "{:<34} {:<8} {:<20} {:>5} {:<8} {:<10} SANS",
        "SERIAL", "STATUS", "NOT AFTER", "DAYS", "KEY", "PROFILE"
    );
    for r in records {
        let status = match (r.status, &r.replaced_by) {
            (certs::model::Status::Revoked, _) => "revoked",
            (_, Some(_)) => "replaced",
            _ if r.not_after <= now => "expired",
            _ => "active",
        };
        println!(
            "{:<34} {:<8} {:<20} {:>5} {:<8} {:<10} {}",
            r.serial,
            status,
            r.not_after
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            r.days_left(now),
            r.key_type.to_string(),
            r.profile.as_deref().unwrap_or("-"),
            r.sans.join(",")
        );
    }
}
