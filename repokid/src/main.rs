//! `repokid`: right-size IAM roles from access history.
//!
//! Reads an account export and access data (`update`), plans the removal of
//! unused permissions (`plan`), applies a plan to IAM (`repo`) and undoes it
//! (`rollback`), finds roles granting a permission (`find`) and summarizes
//! the store (`stats`). Exit codes: 0 ok, 2 usage, input or AWS error.

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
use repokid::apply::{self, ApplyReport, Call};
use repokid::aws::AwsIam;
use repokid::filter::FilterConfig;
use repokid::model::{Outcome, RolePlan};
use repokid::{PlanConfig, Planner, RoleInput, RoleRecord, SqliteStore, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

#[derive(Parser)]
#[command(
    name = "repokid",
    version,
    about = "Right-size IAM roles from access history"
)]
struct Cli {
    /// The SQLite database holding roles, policy versions, access data and plans.
    #[arg(long, global = true, env = "REPOKID_DB", default_value = "repokid.db")]
    db: PathBuf,
    /// The time to plan at (RFC 3339), instead of the clock; for reproducible runs.
    #[arg(long, global = true, env = "REPOKID_NOW")]
    now: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read an account export and access data from a directory into the store.
    Update {
        /// A directory with `authorization-details.json`, and optionally
        /// `access/*.json` (Aardvark exports) and `cloudtrail/` (log files).
        #[arg(long)]
        from: PathBuf,
    },
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
    /// Remove a role's unused permissions in IAM (a dry run unless `--commit`).
    ///
    /// Plans against the role's live inline policies; with `--commit`, saves
    /// them as a new version in the store first, then puts each rewritten
    /// policy and deletes each dropped one; a failed call puts back what was
    /// changed. Uses the default plan settings (see `plan --help`).
    Repo {
        /// The role name.
        #[arg(long)]
        role: String,
        /// Make the changes (without it, only print them).
        #[arg(long)]
        commit: bool,
    },
    /// Put back a stored version of a role's inline policies (a dry run unless `--commit`).
    ///
    /// Without `--version`, restores the version saved by the last `repo`.
    /// Every saved version is listed.
    Rollback {
        /// The role name.
        #[arg(long)]
        role: String,
        /// The stored version to restore (default: the one saved by the last `repo`).
        #[arg(long)]
        version: Option<u32>,
        /// Make the changes (without it, only print them).
        #[arg(long)]
        commit: bool,
    },
    /// Summarize the store and what plans would remove.
    Stats {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Args)]
struct PlanArgs {
    /// Plan one role, by name.
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
    /// A service or action unused for this many days is removed.
    #[arg(long, default_value_t = 90)]
    unused_days: i64,
    /// Roles younger than this many days are skipped.
    #[arg(long, default_value_t = 90)]
    min_age_days: i64,
    /// Access data older than this many days is refused.
    #[arg(long, default_value_t = 7)]
    max_data_age_days: i64,
    /// Permissions added within this many days are kept.
    #[arg(long, default_value_t = 90)]
    recent_days: i64,
    /// A role name or ARN never to touch (repeatable).
    #[arg(long)]
    exclude: Vec<String>,
    /// Only roles whose name or ARN matches this glob (repeatable).
    #[arg(long)]
    only: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("repokid: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let now = match &cli.now {
        Some(text) => OffsetDateTime::parse(text, &Rfc3339).with_context(|| {
            format!("`--now {text}` is not an RFC 3339 time such as 2024-05-01T00:00:00Z")
        })?,
        None => OffsetDateTime::now_utc(),
    };
    let cat = Catalogue::try_builtin().map_err(|e| anyhow::anyhow!("{e}"))?;
    match cli.command {
        Command::Update { from } => {
            let mut store = SqliteStore::open(&cli.db)?;
            let (roles, versions, records) = update(&mut store, &from, now)?;
            println!(
                "{roles} roles, {versions} new policy versions, {records} access records stored in `{}`",
                cli.db.display()
            );
            Ok(())
        }
        Command::Plan(args) => {
            let mut store = match &args.from {
                Some(dir) => {
                    let mut store = SqliteStore::in_memory()?;
                    update(&mut store, dir, now)?;
                    store
                }
                None => SqliteStore::open(&cli.db)?,
            };
            plan_cmd(&mut store, cat, &args, now)
        }
        Command::Find { permission, format } => {
            find_cmd(&SqliteStore::open(&cli.db)?, cat, &permission, format)
        }
        Command::Stats { format } => stats_cmd(&SqliteStore::open(&cli.db)?, cat, format, now),
        Command::Repo { role, commit } => {
            let mut store = SqliteStore::open(&cli.db)?;
            let report = runtime()?.block_on(async {
                let iam = AwsIam::new(&aws_config::load_from_env().await);
                let mut planner = Planner::new(cat, PlanConfig::default());
                apply::repo(&iam, &mut store, &mut planner, &role, commit, now).await
            })?;
            print_apply(&report, "repo");
            Ok(())
        }
        Command::Rollback {
            role,
            version,
            commit,
        } => {
            let mut store = SqliteStore::open(&cli.db)?;
            if let Some(arn) = store
                .roles()?
                .iter()
                .find(|r| r.name == role)
                .map(|r| r.arn.clone())
            {
                println!("stored versions of role {role}:");
                for v in store.inline_versions(&arn)? {
                    let names: Vec<&str> = v.policies.iter().map(|p| p.name.as_str()).collect();
                    println!(
                        "  {:>3}  {}  {:15}  {}",
                        v.version,
                        v.taken_at.format(&Rfc3339).unwrap_or_default(),
                        v.reason.as_str(),
                        names.join(", ")
                    );
                }
            }
            let report = runtime()?.block_on(async {
                let iam = AwsIam::new(&aws_config::load_from_env().await);
                apply::rollback(&iam, &mut store, &role, version, commit, now).await
            })?;
            print_apply(&report, "rollback");
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
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
        println!("nothing to change: IAM already holds these inline policies");
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
        }
    }
    match report.saved_version {
        Some(v) => println!(
            "the inline policies as they were are stored as version {v}; undo with `repokid rollback --role {} --version {v} --commit`",
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

/// Reads `dir` into the store: (roles, new policy versions, access records).
fn update(store: &mut dyn Store, dir: &Path, now: OffsetDateTime) -> Result<(usize, usize, usize)> {
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
    let summary = store.put_roles(&roles, now)?;
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
    store.put_access(&records, now)?;
    Ok((summary.roles, summary.new_versions, records.len()))
}

fn plans(
    store: &dyn Store,
    cat: &Catalogue,
    config: PlanConfig,
    only: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<RolePlan>> {
    let roles = store.roles()?;
    let access = store.access()?;
    let mut planner = Planner::new(cat, config);
    let mut out = Vec::new();
    for role in roles.iter().filter(|r| only.is_none_or(|n| n == r.name)) {
        let history = store.policy_history(&role.arn)?;
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

fn plan_cmd(
    store: &mut SqliteStore,
    cat: &Catalogue,
    args: &PlanArgs,
    now: OffsetDateTime,
) -> Result<()> {
    let config = PlanConfig {
        filter: FilterConfig {
            min_age_days: args.min_age_days,
            blocklist: args.exclude.clone(),
            allowlist: args.only.clone(),
            max_data_age_days: args.max_data_age_days,
            recent_days: args.recent_days,
            ..FilterConfig::default()
        },
        unused_after_days: args.unused_days,
        // The table of all roles shows no diff; skip the costliest part.
        diffs: args.role.is_some() || args.format == Format::Json,
        ..PlanConfig::default()
    };
    let plans = plans(store, cat, config, args.role.as_deref(), now)?;
    for plan in &plans {
        store.put_plan(plan, now)?;
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
                parts.push(format!("{n} unused in managed policies"));
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

fn find_cmd(store: &dyn Store, cat: &Catalogue, permission: &str, format: Format) -> Result<()> {
    let wanted = expand(cat, [permission]).actions;
    if wanted.is_empty() {
        bail!(
            "`{permission}` matches no known action; write it as `service:Action`, e.g. s3:GetObject"
        );
    }
    let mut hits: Vec<HashMap<&str, String>> = Vec::new();
    let roles = store.roles()?;
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

fn stats_cmd(
    store: &dyn Store,
    cat: &Catalogue,
    format: Format,
    now: OffsetDateTime,
) -> Result<()> {
    let stats = store.stats()?;
    let config = PlanConfig {
        diffs: false,
        ..PlanConfig::default()
    };
    let plans = plans(store, cat, config, None, now)?;
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
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": stats, "outcomes": outcomes, "removable_permissions": removable,
            }))?
        ),
        Format::Table => {
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
        }
    }
    Ok(())
}
