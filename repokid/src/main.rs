//! `repokid`: right-size IAM roles from access history.
//!
//! Reads roles and access data (`update`), plans the removal of unused
//! permissions (`plan`), applies plans to IAM (`repo`), undoes them
//! (`rollback`), removes one permission from listed roles (`remove`),
//! schedules repos (`schedule`, `unschedule`, `scheduled`), finds roles
//! granting a permission (`find`), summarizes the store (`stats`) and
//! creates the DynamoDB table of a DynamoDB store (`init-table`).
//! Exit codes: 0 ok, 1 some account or role failed (the others were done),
//! 2 usage, input or AWS error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use policies::account::AccountDetails;
use policies::catalogue::Catalogue;
use policies::expand::{expand, statement_actions};
use policies::model::Effect;
use repokid::access::{AardvarkExport, AccessProvider, CloudTrailDir};
use repokid::apply::RoleResult;
use repokid::apply::{self, ApplyReport, Call};
use repokid::aws::AwsIam;
use repokid::aws::cloudtrail::S3Location;
use repokid::aws::collect;
use repokid::aws::notify::SnsNotifier;
use repokid::aws::route::Route;
use repokid::config::{Config, DEFAULT_SQLITE, StoreBackend};
use repokid::model::{ManagedDecision, Outcome, RolePlan};
use repokid::{
    DynamoStore, PlanConfig, Planner, RoleInput, RoleRecord, SqliteStore, Store, schedule, stats,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Parser)]
#[command(
    name = "repokid",
    version,
    about = "Right-size IAM roles from access history"
)]
struct Cli {
    /// The configuration file (default: `repokid.toml` if it exists; see
    /// repokid.example.toml). Every key can also be set by an environment
    /// variable `REPOKID__<TABLE>__<KEY>`; flags win over both.
    #[arg(long, global = true, env = "REPOKID_CONFIG")]
    config: Option<PathBuf>,
    /// A SQLite database holding roles, policy versions, access data and
    /// plans, instead of the configuration's store (`store.sqlite`, default
    /// `repokid.db`, or the DynamoDB table `store.dynamodb_table`).
    #[arg(long, global = true, env = "REPOKID_DB")]
    db: Option<PathBuf>,
    /// The time to plan at (RFC 3339), instead of the clock; for reproducible runs.
    #[arg(long, global = true, env = "REPOKID_NOW")]
    now: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read roles and access data into the store.
    ///
    /// With `--from DIR`, from export files. Otherwise from the AWS APIs:
    /// the roles of each account (`--account` or `accounts.ids`; none: the
    /// caller's own account, through the role `accounts.assume_role` in
    /// each), Access Advisor for each role, and CloudTrail logs from
    /// `--cloudtrail s3://bucket/prefix`. An account or role that fails is
    /// reported, the rest is stored, and the exit code is 1. Each update
    /// appends per-account totals to the stats series.
    Update(UpdateArgs),
    /// Show what removing unused permissions would change (nothing is applied).
    Plan(PlanArgs),
    /// List the roles granting a permission (also through wildcards and NotAction).
    Find {
        /// An action such as `s3:GetObject` (a pattern such as `s3:Get*` matches any of its actions).
        #[arg(long)]
        permission: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove roles' unused permissions in IAM (a dry run unless `--commit`).
    ///
    /// Plans against each role's live inline policies; with `--commit`,
    /// saves them (and the ARNs of the attached managed policies) as a new
    /// version in the store first, then puts each rewritten policy, detaches
    /// the managed policies replaced by inline copies (`--managed`), and
    /// deletes each dropped inline policy; a failed call puts back what was
    /// changed. With `--all` or `--scheduled`, a failing role
    /// does not stop the others but makes the exit code 1. Each role is
    /// changed in its own account (see `--assume-role`).
    Repo(RepoArgs),
    /// Put back a stored version of a role's inline policies (a dry run unless `--commit`).
    ///
    /// Without `--version`, restores the version saved by the last `repo`.
    /// Managed policies the version had attached and the role lacks are
    /// re-attached; nothing is ever detached. Every saved version is listed.
    Rollback {
        /// The role name, or its ARN (needed when roles of several accounts share the name).
        #[arg(long)]
        role: String,
        /// The stored version to restore (default: the one saved by the last `repo`).
        #[arg(long)]
        version: Option<u32>,
        /// Make the changes (without it, only print them).
        #[arg(long)]
        commit: bool,
        #[command(flatten)]
        reach: ReachFlags,
    },
    /// Remove one permission from the inline policies of listed roles (a dry run unless `--commit`).
    ///
    /// Applied like `repo`: live policies read, saved as a version before
    /// any change, restored if a call fails. `NOREPO` statements are left alone.
    Remove {
        /// An action or pattern (`s3:PutObject`, `s3:Put*`).
        #[arg(long)]
        permission: String,
        /// A file with one role name or ARN a line (`#` comments and blank lines ignored).
        #[arg(long)]
        roles: PathBuf,
        /// Make the changes (without it, only print them).
        #[arg(long)]
        commit: bool,
        #[command(flatten)]
        reach: ReachFlags,
    },
    /// Schedule roles to be repoed after some days (notifies the SNS topic if configured).
    Schedule {
        /// The role name, or its ARN (needed when roles of several accounts share the name).
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        role: Option<String>,
        /// Every role whose plan removes something.
        #[arg(long)]
        all: bool,
        /// Days until the repo (default: `schedule.days`, 7).
        #[arg(long)]
        days: Option<i64>,
        #[command(flatten)]
        filters: FilterFlags,
    },
    /// Take a role off the schedule.
    Unschedule {
        /// The role name, or its ARN (needed when roles of several accounts share the name).
        #[arg(long)]
        role: String,
    },
    /// List the scheduled roles.
    Scheduled {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Create the DynamoDB table of the store (keys `pk` and `sk`, on-demand capacity), unless it exists.
    InitTable {
        /// The table name (default: `store.dynamodb_table`).
        #[arg(long)]
        table: Option<String>,
    },
    /// Summarize the store and what plans would remove, with the per-account series.
    Stats {
        /// Output format (`csv`: the per-account series only).
        #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
        format: StatsFormat,
    },
}

#[derive(Args)]
struct UpdateArgs {
    /// A directory with `authorization-details.json`, and optionally
    /// `access/*.json` (Aardvark exports) and `cloudtrail/` (log files),
    /// instead of the AWS APIs.
    #[arg(long, conflicts_with_all = ["accounts", "cloudtrail"])]
    from: Option<PathBuf>,
    /// An account ID to inventory (repeatable; default: `accounts.ids`).
    #[arg(long = "account")]
    accounts: Vec<String>,
    /// The role assumed in each account (default: `accounts.assume_role`).
    #[arg(long)]
    assume_role: Option<String>,
    /// At most this many accounts at once (default: `accounts.concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Do not run Access Advisor jobs.
    #[arg(long)]
    no_access_advisor: bool,
    /// Only service-level Access Advisor data.
    #[arg(long)]
    service_level: bool,
    /// Seconds an Access Advisor job may take (default: `access.advisor_timeout_seconds`).
    #[arg(long)]
    advisor_timeout: Option<u64>,
    /// At most this many roles' Access Advisor jobs at once, per account
    /// (default: `access.advisor_concurrency`, 8).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    advisor_concurrency: Option<usize>,
    /// CloudTrail log files to read, as `s3://bucket/prefix` (default: `access.cloudtrail`).
    #[arg(long)]
    cloudtrail: Option<String>,
}

/// Plan settings; each overrides the configuration's `[filter]` (and
/// `--managed`, `[repo]`).
#[derive(Args)]
struct FilterFlags {
    /// A service or action unused for this many days is removed (default 90).
    #[arg(long)]
    unused_days: Option<i64>,
    /// Roles younger than this many days are skipped (default 90).
    #[arg(long)]
    min_age_days: Option<i64>,
    /// Access data older than this many days is refused (default 7).
    #[arg(long)]
    max_data_age_days: Option<i64>,
    /// Permissions added within this many days are kept (default 90).
    #[arg(long)]
    recent_days: Option<i64>,
    /// A role name or ARN never to touch (repeatable; added to `filter.blocklist`).
    #[arg(long)]
    exclude: Vec<String>,
    /// Only roles whose name or ARN matches this glob (repeatable; replaces `filter.allowlist`).
    #[arg(long)]
    only: Vec<String>,
    /// Also right-size attached customer-managed policies: each one granting
    /// unused permissions is replaced by an inline copy `repokid-<PolicyName>`
    /// holding what is used, and detached (default: `repo.managed`, off:
    /// they are only reported).
    #[arg(long)]
    managed: bool,
}

impl FilterFlags {
    /// The configuration's plan settings with these flags applied.
    fn apply(&self, config: &Config) -> PlanConfig {
        let mut plan = config.plan_config();
        let f = &mut plan.filter;
        if let Some(v) = self.unused_days {
            plan.unused_after_days = v;
        }
        if let Some(v) = self.min_age_days {
            f.min_age_days = v;
        }
        if let Some(v) = self.max_data_age_days {
            f.max_data_age_days = v;
        }
        if let Some(v) = self.recent_days {
            f.recent_days = v;
        }
        f.blocklist.extend(self.exclude.iter().cloned());
        if !self.only.is_empty() {
            f.allowlist.clone_from(&self.only);
        }
        plan.managed |= self.managed;
        plan
    }
}

/// How IAM calls reach each role's account.
#[derive(Args)]
struct ReachFlags {
    /// Assume this role in the account of each role changed (the caller's
    /// own included). Default: `accounts.assume_role` when `accounts.ids` is
    /// set, as `update` does; with no account listed, the caller's own
    /// credentials, which reach only roles of the caller's account.
    #[arg(long, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    assume_role: Option<String>,
}

impl ReachFlags {
    /// IAM through the usual AWS environment, reaching each role's
    /// account as these flags and the configuration say.
    async fn iam(&self, config: &Config) -> AwsIam {
        let route = match &self.assume_role {
            Some(role) => Route::Assume(role.clone()),
            None => Route::of(&config.collect_options().accounts),
        };
        AwsIam::with_route(&aws_config::load_from_env().await, route)
    }
}

#[derive(Args)]
struct PlanArgs {
    /// Plan one role, by name (every role of that name) or ARN.
    #[arg(long, conflicts_with = "all", required_unless_present = "all")]
    role: Option<String>,
    /// Plan every role.
    #[arg(long)]
    all: bool,
    /// Read the directory as `update --from` would, into a throw-away store, instead of `--db`.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[command(flatten)]
    filters: FilterFlags,
}

#[derive(Args)]
#[group(id = "which", required = true, multiple = false)]
struct RepoArgs {
    /// The role name, or its ARN (needed when roles of several accounts share the name).
    #[arg(long, group = "which")]
    role: Option<String>,
    /// Every role whose plan removes something.
    #[arg(long, group = "which")]
    all: bool,
    /// The scheduled roles that are due (a notice to the SNS topic first, if configured).
    #[arg(long, group = "which")]
    scheduled: bool,
    /// Make the changes (without it, only print them).
    #[arg(long)]
    commit: bool,
    #[command(flatten)]
    filters: FilterFlags,
    #[command(flatten)]
    reach: ReachFlags,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum StatsFormat {
    Table,
    Json,
    Csv,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("repokid: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The configuration: `--config`, else `./repokid.toml` if present, else
/// the defaults; environment overrides applied either way.
fn load_config(path: Option<&Path>) -> Result<Config> {
    let default = Path::new("repokid.toml");
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read `{}`; check --config", p.display()))?,
            p.display().to_string(),
        ),
        None if default.is_file() => (
            std::fs::read_to_string(default).context("cannot read `repokid.toml`")?,
            "repokid.toml".to_owned(),
        ),
        None => (String::new(), "the environment".to_owned()),
    };
    Config::load(&text, std::env::vars()).with_context(|| format!("`{name}`"))
}

/// The roles (names or ARNs) of a `--roles` file.
fn role_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read `{}`; pass a file of role names or ARNs",
            path.display()
        )
    })?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// The store `--db` names (SQLite), else the configuration's: the SQLite
/// file or the DynamoDB table; with a name for messages.
struct Opened {
    store: Box<dyn Store>,
    name: String,
}

async fn open_store(db: Option<&Path>, config: &Config) -> Result<Opened> {
    let backend = match db {
        Some(path) => StoreBackend::Sqlite(path.to_path_buf()),
        None => config.store.backend(DEFAULT_SQLITE),
    };
    Ok(match backend {
        StoreBackend::Sqlite(path) => Opened {
            store: Box::new(SqliteStore::open(&path)?),
            name: format!("`{}`", path.display()),
        },
        StoreBackend::DynamoDb(table) => Opened {
            name: format!("DynamoDB table `{table}`"),
            store: Box::new(DynamoStore::from_sdk(
                &aws_config::load_from_env().await,
                table,
            )),
        },
    })
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let now = match &cli.now {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("`--now {text}` is not an RFC 3339 time such as 2024-05-01T00:00:00Z")
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let config = load_config(cli.config.as_deref())?;
    let db = cli.db.as_deref();
    let cat = Catalogue::try_builtin().map_err(|e| anyhow::anyhow!("{e}"))?;
    match cli.command {
        Command::InitTable { table } => {
            let table = match (table, config.store.dynamodb_table.clone()) {
                (Some(t), _) | (None, Some(t)) => t,
                (None, None) => bail!(
                    "no table named; pass --table NAME or set `store.dynamodb_table` (REPOKID__STORE__DYNAMODB_TABLE)"
                ),
            };
            let store = DynamoStore::from_sdk(&aws_config::load_from_env().await, &table);
            store.create_table().await?;
            println!("DynamoDB table `{table}` is ready (keys `pk` and `sk`, on-demand capacity)");
            Ok(ExitCode::SUCCESS)
        }
        Command::Update(args) => {
            let opened = open_store(db, &config).await?;
            let store = opened.store.as_ref();
            let code = match &args.from {
                None => update_live(store, &args, &config, &opened.name, now).await?,
                Some(from) => {
                    let (roles, versions, records) = update(store, from, now).await?;
                    println!(
                        "{roles} roles, {versions} new policy versions, {records} access records stored in {}",
                        opened.name
                    );
                    ExitCode::SUCCESS
                }
            };
            let mut planner = Planner::new(
                cat,
                PlanConfig {
                    diffs: false,
                    ..config.plan_config()
                },
            );
            let totals = stats::account_totals(store, &mut planner, now).await?;
            store.put_totals(&totals).await?;
            Ok(code)
        }
        Command::Plan(args) => {
            let store: Box<dyn Store> = match &args.from {
                Some(dir) => {
                    let store = SqliteStore::in_memory()?;
                    update(&store, dir, now).await?;
                    Box::new(store)
                }
                None => open_store(db, &config).await?.store,
            };
            let plan = args.filters.apply(&config);
            plan_cmd(store.as_ref(), cat, &args, plan, now).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Find { permission, format } => {
            let opened = open_store(db, &config).await?;
            find_cmd(opened.store.as_ref(), cat, &permission, format).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats { format } => {
            let opened = open_store(db, &config).await?;
            stats_cmd(opened.store.as_ref(), cat, &config, format, now).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Repo(args) => repo_cmd(&args, &config, db, cat, now).await,
        Command::Rollback {
            role,
            version,
            commit,
            reach,
        } => {
            let opened = open_store(db, &config).await?;
            let store = opened.store.as_ref();
            // Not found or ambiguous: `rollback` below says so.
            if let Ok(found) = apply::find_role(store, &role).await {
                println!("stored versions of role {} ({}):", found.name, found.arn);
                for v in store.inline_versions(&found.arn).await? {
                    let names: Vec<&str> = v
                        .policies
                        .iter()
                        .map(|p| p.name.as_str())
                        .chain(v.attached.iter().map(String::as_str))
                        .collect();
                    println!(
                        "  {:>3}  {}  {:15}  {}",
                        v.version,
                        v.taken_at.format(&Rfc3339).unwrap_or_default(),
                        v.reason.as_str(),
                        names.join(", ")
                    );
                }
            }
            let iam = reach.iam(&config).await;
            let report = apply::rollback(&iam, store, &role, version, commit, now).await?;
            print_apply(&report, "rollback");
            Ok(ExitCode::SUCCESS)
        }
        Command::Remove {
            permission,
            roles,
            commit,
            reach,
        } => {
            let names = role_file(&roles)?;
            let opened = open_store(db, &config).await?;
            let mut planner = Planner::new(cat, config.plan_config());
            let iam = reach.iam(&config).await;
            let mut results = Vec::new();
            for name in &names {
                let result = apply::remove(
                    &iam,
                    opened.store.as_ref(),
                    &mut planner,
                    name,
                    &permission,
                    commit,
                    now,
                )
                .await;
                results.push(RoleResult {
                    role_name: name.clone(),
                    result,
                });
            }
            Ok(print_results(&results, "remove"))
        }
        Command::Schedule {
            role,
            all,
            days,
            filters,
        } => {
            let opened = open_store(db, &config).await?;
            let store = opened.store.as_ref();
            let mut planner = Planner::new(
                cat,
                PlanConfig {
                    diffs: false,
                    ..filters.apply(&config)
                },
            );
            let names = match role {
                Some(name) => vec![name],
                None if all => apply::repoable(store, &mut planner, now).await?,
                None => Vec::new(),
            };
            let days = days.unwrap_or(config.schedule.days);
            let notifier = notifier(&config).await;
            let results =
                schedule::schedule(store, &mut planner, notifier.as_ref(), &names, days, now).await;
            let mut failed = false;
            for r in &results {
                match &r.result {
                    Ok(s) => println!(
                        "{}: due {}{}",
                        r.role_name,
                        s.due_at.format(&Rfc3339).unwrap_or_default(),
                        if s.notified { " (notified)" } else { "" }
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("repokid: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Unschedule { role } => {
            let opened = open_store(db, &config).await?;
            let store = opened.store.as_ref();
            let by_arn = role.starts_with("arn:");
            let mut found: Vec<_> = store
                .scheduled()
                .await?
                .into_iter()
                .filter(|s| {
                    if by_arn {
                        s.role_arn == role
                    } else {
                        s.role_name == role
                    }
                })
                .collect();
            if found.len() > 1 {
                let arns: Vec<String> = found.into_iter().map(|s| s.role_arn).collect();
                bail!(
                    "{} scheduled roles are named `{role}` ({}); name the one meant by its ARN",
                    arns.len(),
                    arns.join(", ")
                );
            }
            let Some(entry) = found.pop() else {
                bail!("role `{role}` is not scheduled; see `repokid scheduled`");
            };
            store.unschedule(&entry.role_arn).await?;
            println!("{role}: taken off the schedule ({})", entry.role_arn);
            Ok(ExitCode::SUCCESS)
        }
        Command::Scheduled { format } => {
            let opened = open_store(db, &config).await?;
            let entries = opened.store.scheduled().await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
                Format::Table => {
                    println!("ROLE\tDUE\tSCHEDULED\tNOTIFIED\tDUE NOW");
                    for e in &entries {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            e.role_name,
                            e.due_at.format(&Rfc3339).unwrap_or_default(),
                            e.scheduled_at.format(&Rfc3339).unwrap_or_default(),
                            if e.notified { "yes" } else { "no" },
                            if e.due_at <= now { "yes" } else { "no" }
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The SNS notifier of the configuration, if a topic is set.
async fn notifier(config: &Config) -> Option<SnsNotifier> {
    let topic = config.notify.sns_topic.clone()?;
    let sdk = aws_config::load_from_env().await;
    Some(SnsNotifier {
        client: aws_sdk_sns::Client::new(&sdk),
        topic_arn: topic,
    })
}

async fn repo_cmd(
    args: &RepoArgs,
    config: &Config,
    db: Option<&Path>,
    cat: &Catalogue,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let opened = open_store(db, config).await?;
    let store = opened.store.as_ref();
    let mut planner = Planner::new(cat, args.filters.apply(config));
    let iam = args.reach.iam(config).await;
    if let Some(role) = &args.role {
        let report = apply::repo(&iam, store, &mut planner, role, args.commit, now).await?;
        print_apply(&report, "repo");
        return Ok(ExitCode::SUCCESS);
    }
    let results = if args.scheduled {
        let notifier = notifier(config).await;
        schedule::repo_due(
            &iam,
            notifier.as_ref(),
            store,
            &mut planner,
            args.commit,
            now,
        )
        .await?
    } else {
        let arns = apply::repoable(store, &mut planner, now).await?;
        apply::repo_many(&iam, store, &mut planner, &arns, args.commit, now).await
    };
    if results.is_empty() {
        println!("no role to repo");
    }
    Ok(print_results(&results, "repo"))
}

/// Prints each role's report or error; exit 1 if any failed.
fn print_results(results: &[RoleResult], command: &str) -> ExitCode {
    let mut failed = 0;
    for r in results {
        match &r.result {
            Ok(report) => print_apply(report, command),
            Err(e) => {
                failed += 1;
                eprintln!("repokid: role {}: {e}", r.role_name);
            }
        }
    }
    if failed > 0 {
        eprintln!("repokid: {failed} of {} roles failed", results.len());
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_apply(report: &ApplyReport, command: &str) {
    if let Some(plan) = &report.plan {
        println!("role {}: plan {}", report.role_name, plan.outcome.label());
        let detail = outcome_detail(plan);
        if !detail.is_empty() {
            println!("  {detail}");
        }
        if plan.outcome == Outcome::Repo {
            println!(
                "  removes {} actions: {}",
                plan.removed_count,
                short_list(&plan.removed)
            );
        }
    }
    if let Some(target) = &report.target {
        println!(
            "role {}: restoring version {} ({})",
            report.role_name,
            target.version,
            target.reason.as_str()
        );
    }
    if report.calls.is_empty() {
        println!("nothing to change: IAM already holds these policies");
        return;
    }
    let verb = if report.committed { "done" } else { "would do" };
    println!("{verb}:");
    for call in &report.calls {
        match call {
            Call::Put {
                name,
                document,
                previous,
            } => println!(
                "  PutRolePolicy {name} ({}):\n{}",
                if previous.is_some() {
                    "replace"
                } else {
                    "create"
                },
                serde_json::to_string_pretty(&document.to_value()).unwrap_or_default()
            ),
            Call::Delete { name, .. } => println!("  DeleteRolePolicy {name}"),
            Call::Detach { policy_arn } => println!("  DetachRolePolicy {policy_arn}"),
            Call::Attach { policy_arn } => println!("  AttachRolePolicy {policy_arn}"),
        }
    }
    match report.saved_version {
        Some(v) => println!(
            "the inline policies and attachments as they were are stored as version {v}; undo with `repokid rollback --role {} --version {v} --commit`",
            report.role_name
        ),
        None => println!(
            "dry run: run `repokid {command} --role {}{} --commit` to make these changes",
            report.role_name,
            report
                .target
                .as_ref()
                .map(|t| format!(" --version {}", t.version))
                .unwrap_or_default()
        ),
    }
}

/// `update` from the AWS APIs.
async fn update_live(
    store: &dyn Store,
    args: &UpdateArgs,
    config: &Config,
    store_name: &str,
    now: OffsetDateTime,
) -> Result<ExitCode> {
    let mut options = config.collect_options();
    if let Some(url) = &args.cloudtrail {
        options.cloudtrail = Some(S3Location::parse(url).with_context(|| {
            format!("`--cloudtrail {url}` is not of the form s3://bucket/prefix")
        })?);
    }
    if !args.accounts.is_empty() {
        options.accounts.ids.clone_from(&args.accounts);
    }
    if let Some(role) = &args.assume_role {
        options.accounts.role_name.clone_from(role);
    }
    if let Some(n) = args.concurrency {
        options.accounts.limit = n;
    }
    if args.no_access_advisor {
        options.advisor = None;
    }
    if let Some(advisor) = &mut options.advisor {
        if args.service_level {
            advisor.action_level = false;
        }
        if let Some(secs) = args.advisor_timeout {
            advisor.timeout = std::time::Duration::from_secs(secs);
        }
        if let Some(n) = args.advisor_concurrency {
            advisor.concurrency = n;
        }
    }
    let sdk = aws_config::load_from_env().await;
    let collected = collect::collect(&sdk, &options).await;
    let summary = store.put_roles(&collected.roles, now).await?;
    store.put_access(&collected.access, now).await?;
    for a in &collected.accounts {
        println!(
            "account {}: {} roles, {} Access Advisor records",
            a.account, a.roles, a.access_records
        );
    }
    println!(
        "{} roles, {} new policy versions, {} access records stored in {store_name}",
        summary.roles,
        summary.new_versions,
        collected.access.len(),
    );
    for f in &collected.failures {
        eprintln!("repokid: {}: {}", f.target, f.error);
    }
    Ok(if collected.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Reads `dir` into the store: (roles, new policy versions, access records).
async fn update(
    store: &dyn Store,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<(usize, usize, usize)> {
    let export = dir.join("authorization-details.json");
    let text = std::fs::read_to_string(&export).with_context(|| {
        format!(
            "cannot read `{}`; pass the directory holding it",
            export.display()
        )
    })?;
    let details =
        AccountDetails::parse(&text).with_context(|| format!("`{}`", export.display()))?;
    let roles = RoleRecord::from_account(&details);
    let summary = store.put_roles(&roles, now).await?;
    let mut records = Vec::new();
    let access = dir.join("access");
    if access.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&access)
            .with_context(|| format!("cannot list `{}`", access.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for path in files {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read `{}`", path.display()))?;
            let export = AardvarkExport {
                name: path.display().to_string(),
                text,
            };
            records.extend(export.records()?);
        }
    }
    let trail = dir.join("cloudtrail");
    if trail.is_dir() {
        records.extend(CloudTrailDir { dir: trail }.records()?);
    }
    store.put_access(&records, now).await?;
    Ok((summary.roles, summary.new_versions, records.len()))
}

async fn plans(
    store: &dyn Store,
    cat: &Catalogue,
    config: PlanConfig,
    only: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<RolePlan>> {
    let roles = store.roles().await?;
    let access = store.access().await?;
    let mut planner = Planner::new(cat, config);
    let mut out = Vec::new();
    for role in roles
        .iter()
        .filter(|r| only.is_none_or(|n| n == r.name || n == r.arn))
    {
        let history = store.policy_history(&role.arn).await?;
        let input = RoleInput {
            role,
            access: access.role(&role.arn),
            history: &history,
        };
        out.push(planner.plan_role(input, now));
    }
    if let Some(name) = only
        && out.is_empty()
    {
        bail!("no role named `{name}` in the store; run `repokid update --from DIR` first");
    }
    Ok(out)
}

async fn plan_cmd(
    store: &dyn Store,
    cat: &Catalogue,
    args: &PlanArgs,
    config: PlanConfig,
    now: OffsetDateTime,
) -> Result<()> {
    let config = PlanConfig {
        // The table of all roles shows no diff; skip the costliest part.
        diffs: args.role.is_some() || args.format == Format::Json,
        ..config
    };
    let plans = plans(store, cat, config, args.role.as_deref(), now).await?;
    for plan in &plans {
        store.put_plan(plan, now).await?;
    }
    match (args.format, args.role.is_some()) {
        (Format::Json, _) => println!("{}", serde_json::to_string_pretty(&plans)?),
        (Format::Table, false) => print_plan_table(&plans),
        (Format::Table, true) => plans.iter().for_each(print_plan_detail),
    }
    Ok(())
}

fn outcome_detail(plan: &RolePlan) -> String {
    match &plan.outcome {
        Outcome::Skipped { reasons } => reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        Outcome::Refused { reason } => reason.clone(),
        Outcome::Repo | Outcome::Unchanged => {
            let mut parts = Vec::new();
            if !plan.removed_services.is_empty() {
                parts.push(format!(
                    "services gone: {}",
                    short_list(&plan.removed_services)
                ));
            }
            if !plan.no_data_services.is_empty() {
                parts.push(format!(
                    "no data (kept): {}",
                    short_list(&plan.no_data_services)
                ));
            }
            if !plan.managed_unused.is_empty() {
                let n: usize = plan.managed_unused.iter().map(|m| m.unused_count).sum();
                let detached = plan.detached().len();
                let refused = plan
                    .managed_unused
                    .iter()
                    .filter(|m| matches!(m.decision, ManagedDecision::Refused { .. }))
                    .count();
                let mut text = format!("{n} unused in managed policies");
                if detached > 0 {
                    text.push_str(&format!(", {detached} replaced or detached"));
                }
                if refused > 0 {
                    text.push_str(&format!(", {refused} refused"));
                }
                parts.push(text);
            }
            parts.join("; ")
        }
    }
}

/// The first few items of a list, then how many more.
fn short_list(items: &[String]) -> String {
    const SHOWN: usize = 6;
    let head = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match items.len().checked_sub(SHOWN) {
        Some(more) if more > 0 => format!("{head} (+{more} more)"),
        _ => head,
    }
}

fn print_plan_table(plans: &[RolePlan]) {
    let width = plans
        .iter()
        .map(|p| p.role_name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:width$}  {:9}  {:>7}  {:>8}  DETAIL",
        "ROLE", "OUTCOME", "REMOVED", "POLICIES"
    );
    for plan in plans {
        println!(
            "{:width$}  {:9}  {:>7}  {:>8}  {}",
            plan.role_name,
            plan.outcome.label(),
            plan.removed_count,
            plan.policies.len(),
            outcome_detail(plan)
        );
    }
}

fn print_plan_detail(plan: &RolePlan) {
    println!("role {} ({})", plan.role_name, plan.role_arn);
    println!("outcome: {}", plan.outcome.label());
    let detail = outcome_detail(plan);
    if !detail.is_empty() {
        println!("  {detail}");
    }
    if plan.removed_count > 0 {
        println!(
            "removed: {} actions: {}",
            plan.removed_count,
            plan.removed.join(", ")
        );
    }
    if !plan.removed_services.is_empty() {
        println!("services removed: {}", plan.removed_services.join(", "));
    }
    for kept in &plan.kept {
        println!(
            "kept ({}): {}",
            serde_json::to_string(&kept.reason).unwrap_or_default(),
            kept.permissions.join(", ")
        );
    }
    for m in &plan.managed_unused {
        println!(
            "managed {} unused ({}): {}",
            m.arn,
            m.unused_count,
            m.unused.join(", ")
        );
        match &m.decision {
            ManagedDecision::Reported => {
                println!("  reported only (--managed replaces it by an inline copy)");
            }
            ManagedDecision::Replaced { copy, .. } => println!(
                "  detached, replaced by inline policy {}:\n{}",
                copy.name,
                serde_json::to_string_pretty(&copy.document.to_value()).unwrap_or_default()
            ),
            ManagedDecision::Detached => println!("  detached (nothing of it is used)"),
            ManagedDecision::Refused { reason } => println!("  stays attached: {reason}"),
        }
    }
    for change in &plan.policies {
        println!(
            "policy {}: {} actions removed",
            change.name, change.removed_count
        );
        if let Some(diff) = &change.diff {
            if !diff.revoked.is_empty() {
                println!("  - revoked: {}", diff.revoked.join(", "));
            }
            if !diff.granted.is_empty() {
                println!("  + granted: {}", diff.granted.join(", "));
            }
            for c in &diff.changed {
                println!(
                    "  ~ {}: +{:?} -{:?}",
                    c.actions.join(", "),
                    c.added,
                    c.removed
                );
            }
        }
        match &change.new {
            Some(doc) => println!(
                "  new document:\n{}",
                serde_json::to_string_pretty(&doc.to_value()).unwrap_or_default()
            ),
            None => println!("  deleted (no statement left)"),
        }
    }
}

async fn find_cmd(
    store: &dyn Store,
    cat: &Catalogue,
    permission: &str,
    format: Format,
) -> Result<()> {
    let wanted = expand(cat, [permission]).actions;
    if wanted.is_empty() {
        bail!(
            "`{permission}` matches no known action; write it as `service:Action`, e.g. s3:GetObject"
        );
    }
    let mut hits: Vec<HashMap<&str, String>> = Vec::new();
    let roles = store.roles().await?;
    for role in &roles {
        let docs = role
            .inline
            .iter()
            .map(|p| (format!("inline {}", p.name), &p.document))
            .chain(role.attached.iter().filter_map(|a| {
                a.document
                    .as_ref()
                    .map(|d| (format!("managed {}", a.arn), d))
            }));
        for (label, doc) in docs {
            for st in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
                let mut got = statement_actions(cat, st).actions;
                got.intersect_with(&wanted);
                if !got.is_empty() {
                    let mut hit = HashMap::new();
                    hit.insert("role", role.name.clone());
                    hit.insert("policy", label.clone());
                    hit.insert("sid", st.sid.clone().unwrap_or_default());
                    let negated = if st.action.negated { "NotAction " } else { "" };
                    hit.insert(
                        "action",
                        format!("{negated}{}", st.action_patterns().join(", ")),
                    );
                    hits.push(hit);
                }
            }
        }
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&hits)?),
        Format::Table => {
            println!("ROLE\tPOLICY\tSID\tACTION");
            for h in &hits {
                let get = |k| h.get(k).map_or("", String::as_str);
                println!(
                    "{}\t{}\t{}\t{}",
                    get("role"),
                    get("policy"),
                    get("sid"),
                    get("action")
                );
            }
        }
    }
    Ok(())
}

async fn stats_cmd(
    store: &dyn Store,
    cat: &Catalogue,
    config: &Config,
    format: StatsFormat,
    now: OffsetDateTime,
) -> Result<()> {
    let series = store.totals().await?;
    if format == StatsFormat::Csv {
        print!("{}", stats::csv(&series));
        return Ok(());
    }
    let stats = store.stats().await?;
    let config = PlanConfig {
        diffs: false,
        ..config.plan_config()
    };
    let plans = plans(store, cat, config, None, now).await?;
    let mut outcomes: HashMap<&str, usize> = HashMap::new();
    for p in &plans {
        *outcomes.entry(p.outcome.label()).or_default() += 1;
    }
    let removable: usize = plans
        .iter()
        .filter(|p| p.outcome == Outcome::Repo)
        .map(|p| p.removed_count)
        .sum();
    match format {
        StatsFormat::Json | StatsFormat::Csv => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": stats, "outcomes": outcomes, "removable_permissions": removable,
                "series": series,
            }))?
        ),
        StatsFormat::Table => {
            println!("roles                {}", stats.roles);
            println!("policy versions      {}", stats.policy_versions);
            println!("roles with access    {}", stats.roles_with_access);
            println!("access records       {}", stats.access_records);
            println!("plans saved          {}", stats.plans);
            for label in ["repo", "unchanged", "skipped", "refused"] {
                println!(
                    "roles {label:14} {}",
                    outcomes.get(label).copied().unwrap_or(0)
                );
            }
            println!("removable actions    {removable}");
            if !series.is_empty() {
                println!();
                println!("TAKEN AT\tACCOUNT\tROLES\tWITH ACCESS\tREPOABLE\tREMOVABLE");
                for t in &series {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        t.taken_at.format(&Rfc3339).unwrap_or_default(),
                        t.account,
                        t.roles,
                        t.roles_with_access,
                        t.roles_repoable,
                        t.removable_permissions
                    );
                }
            }
        }
    }
    Ok(())
}
