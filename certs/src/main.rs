//! The `certs` command: see `certs --help` and the crate README.
#![forbid(unsafe_code)]

mod cli;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use certs::aws::acm::Acm;
use certs::aws::acmpca::Pca;
use certs::aws::kms::KmsSigner;
use certs::aws::sns::Notifier;
use certs::ca::{Authority, CaOptions, init_ca, key_from_pem};
use certs::csr::parse_csr;
use certs::issue::{IssueError, KeySource, Request, SecretPem};
use certs::model::{KeyType, Reason};
use certs::ops::{self, Ca, ScheduleConfig};
use certs::profile::{Profiles, parse_duration};
use certs::store::{DynamoStore, SqliteStore, Store};
use clap::Parser;
use cli::{AcmCommand, CaCommand, Cli, Command, Config, Format, IssueArgs};
use time::OffsetDateTime;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // A profile refusal is a denial (1); anything else is an error (2).
            let refused = e
                .downcast_ref::<ops::Error>()
                .is_some_and(|e| matches!(e, ops::Error::Issue(IssueError::Refused(_))));
            ExitCode::from(if refused { 1 } else { 2 })
        }
    }
}

async fn aws() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))
}

fn write(path: &Path, text: &str, secret: bool) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    use std::io::Write;
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// The inventory: DynamoDB when `table` is set, SQLite in `db` otherwise.
async fn store(config: &Config) -> anyhow::Result<Box<dyn Store>> {
    if let Some(table) = &config.table {
        let client = aws_sdk_dynamodb::Client::new(&aws().await);
        return Ok(Box::new(DynamoStore::new(client, table.clone())));
    }
    if let Some(parent) = config.db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    Ok(Box::new(SqliteStore::open(&config.db)?))
}

fn profiles(config: &Config) -> anyhow::Result<Profiles> {
    let text = read(&config.profiles).context(
        "profiles are needed; copy certs/profiles.example.toml and set `profiles` in certs.toml",
    )?;
    Profiles::from_toml(&text).with_context(|| format!("in `{}`", config.profiles.display()))
}

async fn load_ca(config: &Config) -> anyhow::Result<Ca> {
    let cert = read(&config.ca_file("issuing.pem")).context("run `certs ca init` first")?;
    let root = read(&config.ca_file("root.pem")).context("run `certs ca init` first")?;
    match &config.kms_key_id {
        Some(id) => {
            let kms = KmsSigner::new(aws_sdk_kms::Client::new(&aws().await), id.clone());
            Ok(Ca::kms(&cert, &root, kms).await?)
        }
        None => {
            let key = key_from_pem(&read(&config.ca_file("issuing.key"))?)?;
            Ok(Ca::File(Authority::from_pem(&cert, &root, key)?))
        }
    }
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

async fn run(args: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let now = OffsetDateTime::now_utc();
    let format = args.format;
    match args.command {
        Command::Ca(CaCommand::Init {
            name,
            key_type,
            permit,
            exclude,
            kms_key_id,
            force,
        }) => {
            let issuing = config.ca_file("issuing.pem");
            if issuing.exists() && !force {
                bail!(
                    "a CA already exists in `{}`; pass --force to replace it",
                    config.dir.display()
                );
            }
            let mut opts = CaOptions::new(&name);
            opts.key_type = key_type.parse::<KeyType>()?;
            opts.permitted_dns = permit;
            opts.excluded_dns = exclude;
            let kms_key_id = kms_key_id.or(config.kms_key_id.clone());
            let spki = match &kms_key_id {
                Some(id) => Some(
                    KmsSigner::new(aws_sdk_kms::Client::new(&aws().await), id.clone())
                        .public_key_der()
                        .await?,
                ),
                None => None,
            };
            let files = init_ca(&opts, spki.as_deref(), now, &mut rand::rngs::OsRng)?;
            write(&config.ca_file("root.pem"), &files.root_cert_pem, false)?;
            write(
                &config.ca_file("root.key"),
                files.root_key_pem.expose(),
                true,
            )?;
            write(&issuing, &files.intermediate_cert_pem, false)?;
            if let Some(key) = &files.intermediate_key_pem {
                write(&config.ca_file("issuing.key"), key.expose(), true)?;
            }
            let summary = serde_json::json!({
                "dir": config.dir,
                "root": format!("{name} Root CA"),
                "issuing": format!("{name} Issuing CA"),
                "issuing_key": kms_key_id.map_or_else(|| "issuing.key".to_owned(), |k| format!("kms:{k}")),
            });
            match format {
                Format::Json => print_json(&summary)?,
                Format::Table => println!(
                    "created {name} Root CA and {name} Issuing CA in {} (keep root.key offline)",
                    config.dir.display()
                ),
            }
        }
        Command::Issue(issue) => issue_cmd(&config, issue, format, now).await?,
        Command::List => {
            let records = store(&config).await?.list().await?;
            match format {
                Format::Json => print_json(&records)?,
                Format::Table => cli::print_table(&records, now),
            }
        }
        Command::Show { serial } => {
            let Some(record) = store(&config).await?.get(&serial).await? else {
                bail!("no certificate with serial `{serial}`; see `certs list`");
            };
            match format {
                Format::Json => print_json(&record)?,
                Format::Table => {
                    let mut value = serde_json::to_value(&record)?;
                    if let Some(map) = value.as_object_mut() {
                        map.remove("pem");
                        for (k, v) in map {
                            println!("{k:<13} {}", v.to_string().trim_matches('"'));
                        }
                    }
                    print!("{}", record.pem);
                }
            }
        }
        Command::Expiring { within } => {
            let window = parse_duration(&within).with_context(|| {
                format!("--within `{within}` is not a duration; write e.g. `30d`")
            })?;
            let records = store(&config).await?.expiring(now, now + window).await?;
            match format {
                Format::Json => print_json(&records)?,
                Format::Table => cli::print_table(&records, now),
            }
        }
        Command::Rotate { serial, out_dir } => {
            let ca = load_ca(&config).await?;
            let store = store(&config).await?;
            let acm = Acm::new(aws_sdk_acm::Client::new(&aws().await));
            let record = store.get(&serial).await?;
            let acm = record
                .as_ref()
                .is_some_and(|r| r.acm_arns().next().is_some())
                .then_some(&acm);
            let (profiles, urls) = (profiles(&config)?, config.urls());
            let cx = ops::Context {
                acm,
                ..ops::Context::new(store.as_ref(), &profiles, &urls, now)
            };
            let rotation = ops::rotate(&cx, &ca, &serial, &mut rand::rngs::OsRng).await?;
            let written = write_issued(&out_dir, &rotation.new, ca.chain_pem())?;
            let summary = serde_json::json!({
                "old_serial": rotation.old_serial,
                "new_serial": rotation.new.record.serial,
                "reimported": rotation.reimported,
                "files": written,
            });
            match format {
                Format::Json => print_json(&summary)?,
                Format::Table => println!(
                    "rotated {} -> {} (reimported into {} ACM certificates); wrote {}",
                    rotation.old_serial,
                    rotation.new.record.serial,
                    rotation.reimported.len(),
                    written.join(", ")
                ),
            }
        }
        Command::Revoke { serial, reason } => {
            let reason: Reason = reason.parse()?;
            let record = ops::revoke(store(&config).await?.as_ref(), &serial, reason, now).await?;
            match format {
                Format::Json => print_json(&record)?,
                Format::Table => println!(
                    "revoked {} ({reason}); run `certs crl` to publish it",
                    record.serial
                ),
            }
        }
        Command::Crl { out, lifetime } => {
            let lifetime = parse_duration(&lifetime).with_context(|| {
                format!("--lifetime `{lifetime}` is not a duration; write e.g. `7d`")
            })?;
            let ca = load_ca(&config).await?;
            let crl = ops::make_crl(&ca, store(&config).await?.as_ref(), now, lifetime).await?;
            write(&out, &crl.pem(), false)?;
            match format {
                Format::Json => {
                    print_json(&serde_json::json!({"number": crl.number, "file": out}))?
                }
                Format::Table => println!("wrote CRL number {} to {}", crl.number, out.display()),
            }
        }
        Command::Acm(AcmCommand::Import { serial, key, arn }) => {
            let ca = load_ca(&config).await?;
            let acm = Acm::new(aws_sdk_acm::Client::new(&aws().await));
            let key = SecretPem::new(read(&key)?);
            let arn = ops::acm_import(
                store(&config).await?.as_ref(),
                &acm,
                &serial,
                &key,
                ca.chain_pem(),
                arn.as_deref(),
            )
            .await?;
            match format {
                Format::Json => print_json(&serde_json::json!({"arn": arn}))?,
                Format::Table => println!("{arn}"),
            }
        }
        Command::Acm(AcmCommand::Sync) => {
            let acm = Acm::new(aws_sdk_acm::Client::new(&aws().await));
            let report = ops::acm_sync(store(&config).await?.as_ref(), &acm).await?;
            match format {
                Format::Json => print_json(&report)?,
                Format::Table => println!(
                    "added {}, linked {}, pending {}",
                    report.added.len(),
                    report.linked.len(),
                    report.pending.len()
                ),
            }
        }
        Command::Schedule => {
            let ca = load_ca(&config).await?;
            let sdk = aws().await;
            let acm = Acm::new(aws_sdk_acm::Client::new(&sdk));
            let notifier = config
                .sns_topic_arn
                .clone()
                .map(|t| Notifier::new(aws_sdk_sns::Client::new(&sdk), t));
            let schedule = ScheduleConfig {
                intervals: config.notify_days.clone(),
            };
            let (store, profiles, urls) =
                (store(&config).await?, profiles(&config)?, config.urls());
            let cx = ops::Context {
                acm: Some(&acm),
                notifier: notifier.as_ref(),
                ..ops::Context::new(store.as_ref(), &profiles, &urls, now)
            };
            let report = ops::run_schedule(&cx, &ca, &schedule, &mut rand::rngs::OsRng).await?;
            match format {
                Format::Json => print_json(&report)?,
                Format::Table => {
                    for (old, new) in &report.rotated {
                        println!("rotated {old} -> {new}");
                    }
                    for n in &report.notices {
                        println!("{}", n.subject());
                    }
                    for e in &report.errors {
                        eprintln!("error: {e}");
                    }
                }
            }
            if !report.errors.is_empty() {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_issued(
    dir: &Path,
    issued: &certs::issue::Issued,
    chain: &str,
) -> anyhow::Result<Vec<String>> {
    let serial = &issued.record.serial;
    let mut written = Vec::new();
    let cert = dir.join(format!("{serial}.pem"));
    write(&cert, &issued.record.pem, false)?;
    written.push(cert.display().to_string());
    let chain_path = dir.join(format!("{serial}.chain.pem"));
    write(&chain_path, chain, false)?;
    written.push(chain_path.display().to_string());
    if let Some(key) = &issued.key_pem {
        let key_path = dir.join(format!("{serial}.key"));
        write(&key_path, key.expose(), true)?;
        written.push(key_path.display().to_string());
    }
    Ok(written)
}

async fn issue_cmd(
    config: &Config,
    args: IssueArgs,
    format: Format,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let validity = match &args.validity {
        Some(v) => Some(parse_duration(v).with_context(|| {
            format!("--validity `{v}` is not a duration; write e.g. `90d` or `8h`")
        })?),
        None => None,
    };
    let csr = match &args.csr {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            Some(parse_csr(&bytes).map_err(ops::Error::from)?)
        }
        None => None,
    };
    if csr.as_ref().is_some_and(|c| c.asks_for_ca) {
        eprintln!(
            "note: the CSR asks for CA:TRUE; the certificate is issued as CA:FALSE per the profile"
        );
    }
    let profiles = profiles(config)?;
    let store = store(config).await?;
    let urls = config.urls();
    let cx = ops::Context::new(store.as_ref(), &profiles, &urls, now);
    if args.pca {
        let (Some(arn), Some(csr)) = (&config.pca_arn, &csr) else {
            bail!("--pca needs `pca_arn` in certs.toml (or CERTS_PCA_ARN) and --csr");
        };
        let pca = Pca::new(aws_sdk_acmpca::Client::new(&aws().await), arn.clone());
        let (record, chain) = ops::issue_with_pca(
            &cx,
            &pca,
            &args.profile,
            csr,
            validity,
            args.owner.clone(),
            &mut rand::rngs::OsRng,
        )
        .await?;
        let cert = args.out_dir.join(format!("{}.pem", record.serial));
        write(&cert, &record.pem, false)?;
        write(
            &args.out_dir.join(format!("{}.chain.pem", record.serial)),
            &chain,
            false,
        )?;
        match format {
            Format::Json => print_json(&record)?,
            Format::Table => println!(
                "issued {} through ACM Private CA; wrote {}",
                record.serial,
                cert.display()
            ),
        }
        return Ok(());
    }
    let key = match csr {
        Some(csr) => KeySource::Csr(Box::new(csr)),
        None => KeySource::Generate(args.key_type.as_deref().map(str::parse).transpose()?),
    };
    let request = Request {
        dns: args.dns,
        ips: args.ip,
        key,
        validity,
        owner: args.owner,
    };
    let ca = load_ca(config).await?;
    let issued = ops::issue(&cx, &ca, &args.profile, request, &mut rand::rngs::OsRng).await?;
    let written = write_issued(&args.out_dir, &issued, ca.chain_pem())?;
    match format {
        Format::Json => print_json(&serde_json::json!({
            "record": issued.record,
            "files": written,
        }))?,
        Format::Table => println!(
            "issued {} for {} until {}; wrote {}",
            issued.record.serial,
            issued.record.sans.join(","),
            issued.record.not_after,
            written.join(", ")
        ),
    }
    Ok(())
}
