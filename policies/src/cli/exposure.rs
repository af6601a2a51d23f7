//! `policies exposure`: who a resource or trust policy lets in.

use policies::Policy;
use policies::exposure::{AccountContext, Actions, Class, Exposure, analyze};
use serde::Serialize;

use super::input::{self, Document};
use super::{FileArg, Format, Outcome, print_json};

/// Show who a resource policy or a role's trust policy lets in.
///
/// Principals are classed as the owning account, its organization, a
/// friendly account, a third party, a service, a federated provider, or
/// anyone; conditions that really narrow access (source account, ARN,
/// organization, IP range, VPC, VPC endpoint) are taken into account. For an
/// account export, every role's trust policy is analysed. Exits 1 when a
/// policy is open to the internet or reaches a third-party or unknown principal.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Policy files or account exports, or `-`.
    #[arg(required = true)]
    files: Vec<FileArg>,
    /// The account that owns the resources or roles.
    #[arg(long, value_name = "ACCOUNT_ID")]
    account: String,
    /// Accounts you trust (repeat for several).
    #[arg(long, value_name = "ACCOUNT_ID")]
    friendly: Vec<String>,
    /// Your AWS Organizations id (`o-...`), so `aws:PrincipalOrgID` counts as yours.
    #[arg(long, value_name = "ORG_ID")]
    org: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Serialize)]
struct Analysed {
    file: String,
    policy: String,
    exposure: Exposure,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    if !is_account_id(&args.account) {
        anyhow::bail!(
            "--account `{}` is not a 12-digit AWS account id",
            args.account
        );
    }
    if let Some(bad) = args.friendly.iter().find(|a| !is_account_id(a)) {
        anyhow::bail!("--friendly `{bad}` is not a 12-digit AWS account id");
    }
    let mut context =
        AccountContext::new(&args.account).with_friendly(args.friendly.iter().cloned());
    if let Some(org) = &args.org {
        context = context.with_organization(org);
    }
    let mut analysed = Vec::new();
    for path in &args.files {
        let text = input::read(path)?;
        let file = path.display().to_string();
        let mut add = |policy: String, document: &Policy| {
            analysed.push(Analysed {
                file: file.clone(),
                policy,
                exposure: analyze(document, &context),
            });
        };
        match input::document(path, &text)? {
            Document::Policy(policy) => add(file.clone(), &policy),
            Document::Account(details) => {
                for role in &details.roles {
                    add(
                        format!("role/{} trust policy", role.name),
                        &role.trust_policy,
                    );
                }
            }
        }
    }
    let risky = |e: &Exposure| {
        e.internet_accessible
            || e.reach
                .iter()
                .any(|c| matches!(c, Class::ThirdParty | Class::Unknown | Class::Any))
    };
    let found = analysed.iter().any(|a| risky(&a.exposure));
    match args.format {
        Format::Json => print_json(&analysed)?,
        Format::Table => {
            for a in &analysed {
                print_exposure(&a.policy, &a.exposure, risky(&a.exposure));
            }
        }
    }
    Ok(Outcome::found_if(found))
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

fn class_name(class: Class) -> String {
    serde_json::to_value(class)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
        .replace('_', "-")
}

fn print_exposure(policy: &str, exposure: &Exposure, risky: bool) {
    let mark = if exposure.internet_accessible {
        "INTERNET ACCESSIBLE"
    } else if risky {
        "EXPOSED"
    } else {
        "ok"
    };
    let reach: Vec<String> = exposure.reach.iter().map(|c| class_name(*c)).collect();
    println!(
        "{policy}: {mark}; reach: {}",
        if reach.is_empty() {
            "nobody".into()
        } else {
            reach.join(", ")
        }
    );
    for actions in &exposure.internet_actions {
        match actions {
            Actions::Listed(list) => println!("  anyone may: {}", list.join(", ")),
            Actions::AllBut(list) => println!("  anyone may do all but: {}", list.join(", ")),
        }
    }
    for account in &exposure.accounts {
        println!(
            "  account {} ({})",
            account.account,
            class_name(account.class)
        );
    }
    for statement in &exposure.statements {
        for note in &statement.notes {
            println!("  Statement[{}]: {note}", statement.index);
        }
    }
}
