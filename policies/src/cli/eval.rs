//! `policies eval`: is a request allowed?

use anyhow::Context as _;
use policies::eval::{Caller, Context, Decision, Evaluator, PolicySet, Request, StatementRef};
use serde_json::{Value, json};

use super::{FileArg, Format, Outcome, input, print_json};

/// Evaluate one request against policies by AWS's evaluation logic.
///
/// Exits 0 on Allow and 1 on ExplicitDeny or ImplicitDeny. Context values
/// are typed from their text: `aws:SourceIp=10.0.0.1`,
/// `aws:MultiFactorAuthPresent=true`, `aws:CurrentTime=2024-01-31T12:00:00Z`;
/// a multi-valued key takes a list, `aws:TagKeys=[team,env]` (`[]` is the
/// empty set), and repeating a key adds values.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An identity policy of the caller (repeat for several).
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<FileArg>,
    /// The resource's policy (bucket, key, queue, trust policy...).
    #[arg(long, value_name = "FILE")]
    resource_policy: Option<FileArg>,
    /// The caller's permissions boundary.
    #[arg(long, value_name = "FILE")]
    boundary: Option<FileArg>,
    /// A service control policy; repeat for each level of the organization,
    /// root first (every level must allow).
    #[arg(long = "scp", value_name = "FILE")]
    scps: Vec<FileArg>,
    /// The session policy of a role session.
    #[arg(long, value_name = "FILE")]
    session_policy: Option<FileArg>,
    /// The action, e.g. `s3:GetObject`.
    #[arg(long)]
    action: String,
    /// The resource ARN; omitted means `*` (actions without resources).
    #[arg(long)]
    resource: Option<String>,
    /// The account owning the resource, when its ARN has none (S3).
    #[arg(long, value_name = "ACCOUNT_ID")]
    resource_account: Option<String>,
    /// The caller: a user, role, assumed-role session or account-root ARN,
    /// or a service principal such as `lambda.amazonaws.com`.
    #[arg(long)]
    principal: Option<String>,
    /// A request context key, `key=value`; repeat as needed.
    #[arg(long = "context", value_name = "KEY=VALUE")]
    context: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let load_all = |files: &[FileArg]| {
        files
            .iter()
            .map(|f| input::policy(f))
            .collect::<anyhow::Result<Vec<_>>>()
    };
    let load = |file: &Option<FileArg>| file.as_deref().map(input::policy).transpose();
    let set = PolicySet {
        identity: load_all(&args.policies)?,
        resource: load(&args.resource_policy)?,
        permissions_boundary: load(&args.boundary)?,
        scps: load_all(&args.scps)?.into_iter().map(|p| vec![p]).collect(),
        session: load(&args.session_policy)?,
    };
    if set.identity.is_empty() && set.resource.is_none() {
        anyhow::bail!(
            "no policy to evaluate; give `--policy FILE` and/or `--resource-policy FILE`"
        );
    }
    let mut context = Context::new();
    for entry in &args.context {
        context
            .add_entry(entry)
            .with_context(|| format!("--context `{entry}`"))?;
    }
    let mut request = Request::new(&args.action).with_context(context);
    if let Some(principal) = &args.principal {
        let caller =
            if principal.starts_with("arn:") || principal.chars().all(|c| c.is_ascii_digit()) {
                Caller::parse(principal).with_context(|| format!("--principal `{principal}`"))?
            } else {
                Caller::service(principal)
            };
        request = request.with_caller(caller);
    }
    if let Some(resource) = &args.resource {
        request = request.with_resource(resource);
    }
    if let Some(account) = &args.resource_account {
        request = request.with_resource_account(account);
    }
    let evaluator = Evaluator::new(&set);
    let response = evaluator.evaluate(&request);
    match args.format {
        Format::Json => print_json(&json!({
            "decision": response.decision.to_string(),
            "determining": response.determining.iter().map(statement_json).collect::<Vec<_>>(),
            "missing_allow": response.missing.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "errors": response.errors.iter().map(|e| json!({
                "statement": statement_json(&e.statement),
                "error": e.error.to_string(),
            })).collect::<Vec<_>>(),
        }))?,
        Format::Table => {
            println!("{}", response.decision);
            for statement in &response.determining {
                println!("  by {statement}");
            }
            for missing in &response.missing {
                println!("  no Allow in {missing}");
            }
            for error in &response.errors {
                println!("  skipped {}: {}", error.statement, error.error);
            }
        }
    }
    Ok(Outcome::found_if(response.decision != Decision::Allow))
}

fn statement_json(statement: &StatementRef<'_>) -> Value {
    json!({
        "layer": statement.layer.as_str(),
        "policy": statement.policy,
        "statement": statement.statement,
        "sid": statement.sid,
    })
}
