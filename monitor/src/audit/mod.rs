//! The auditors: find scored [`Issue`]s in the configuration items of a run.
//!
//! Pure: no I/O, no clock (the time comes in as `now`). Build an [`Auditor`]
//! once from [`AuditSettings`] and the policy [`Catalogue`], put a run's items
//! in an [`Index`], and call [`Auditor::audit`]:
//!
//! ```
//! use monitor::audit::{AuditSettings, Auditor, Index};
//! use monitor::model::{ConfigItem, ItemStatus, ResourceKey};
//!
//! let catalogue = policies::catalogue::Catalogue::builtin();
//! let auditor = Auditor::new(&AuditSettings::default(), catalogue);
//! let item = ConfigItem {
//!     key: "111122223333/us-east-1/AWS::EC2::SecurityGroup/sg-1".parse().unwrap(),
//!     arn: None,
//!     name: Some("ssh".into()),
//!     status: ItemStatus::Ok,
//!     capture_time: None,
//!     configuration: serde_json::json!({"ipPermissions": [{"ipProtocol": "tcp",
//!         "fromPort": 22, "toPort": 22, "ipv4Ranges": [{"cidrIp": "0.0.0.0/0"}]}]}),
//!     supplementary: Default::default(),
//!     tags: Default::default(),
//! };
//! let index: Index = [item].into_iter().collect();
//! let issues = auditor.audit(&index, time::OffsetDateTime::UNIX_EPOCH);
//! assert_eq!(issues[0].check, "ec2.security-group.open-sensitive-port");
//! ```
//!
//! Each check ([`checks::ALL`]) has a stable name, a category and a default
//! score; settings override scores or turn checks off per account pattern.
//! An issue's id comes from the resource, the check and a `detail` naming
//! what distinguishes it (an account, a port range, a statement, a policy),
//! so it stays the same across runs while the finding stands. Deleted items
//! give no issues. Every policy judgement is the `policies` crate's:
//! [`policies::exposure::analyze`] for resource and trust policies,
//! [`policies::lint`] for admin wildcards and escalation paths of identity
//! policies.

pub mod checks;
mod err;
mod exposure;
mod iam;
mod index;
mod resources;
pub mod settings;
mod shape;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use policies::catalogue::Catalogue;
use policies::exposure::AccountContext;
use serde_json::Value;
use time::OffsetDateTime;

pub use checks::Check;
pub use err::SettingsError;
pub use index::Index;
pub use settings::{AuditSettings, Override};

use crate::model::{ConfigItem, Issue};

/// The AWS Config resource types the auditor has checks for.
pub const AUDITED_TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::IAM::Policy",
    "AWS::S3::Bucket",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Snapshot",
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::Lambda::Function",
    "AWS::CloudTrail::Trail",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBSnapshot",
    "AWS::RDS::DBClusterSnapshot",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancing::LoadBalancer",
    "AWS::ACM::Certificate",
];

/// Finds issues in configuration items. Cheap to share: build it once.
#[derive(Debug, Clone)]
pub struct Auditor<'c> {
    settings: AuditSettings,
    catalogue: &'c Catalogue,
}

impl<'c> Auditor<'c> {
    /// An auditor with these settings, judging policies with `catalogue`
    /// (load it once, e.g. [`Catalogue::builtin`]).
    pub fn new(settings: &AuditSettings, catalogue: &'c Catalogue) -> Auditor<'c> {
        Auditor {
            settings: settings.clone(),
            catalogue,
        }
    }

    /// Its settings.
    pub fn settings(&self) -> &AuditSettings {
        &self.settings
    }

    /// Every issue of every item of the index, sorted by resource, check and
    /// detail (so the answer does not depend on the order items came in).
    pub fn audit(&self, index: &Index, now: OffsetDateTime) -> Vec<Issue> {
        let mut run = Run::new(self, index, now);
        let mut issues = Vec::new();
        for item in index.items() {
            run.item(item, &mut issues);
        }
        finish(issues)
    }

    /// The issues of one item, following its references in `index` (a
    /// Config rule evaluates one resource at a time).
    pub fn audit_item(&self, item: &ConfigItem, index: &Index, now: OffsetDateTime) -> Vec<Issue> {
        let mut run = Run::new(self, index, now);
        let mut issues = Vec::new();
        run.item(item, &mut issues);
        finish(issues)
    }
}

/// Sorts and drops repeated ids (the first wins).
fn finish(mut issues: Vec<Issue>) -> Vec<Issue> {
    issues.sort_by(|a, b| {
        (&a.resource, &a.check, &a.detail).cmp(&(&b.resource, &b.check, &b.detail))
    });
    let mut seen = HashSet::with_capacity(issues.len());
    issues.retain(|issue| seen.insert(issue.id.clone()));
    issues
}

/// One audit call: the references it can follow and what it has worked out
/// so far (account contexts, judged identity policies).
pub(crate) struct Run<'a> {
    pub settings: &'a AuditSettings,
    pub catalogue: &'a Catalogue,
    pub index: &'a Index,
    pub now: OffsetDateTime,
    contexts: HashMap<String, Rc<AccountContext>>,
    pub documents: HashMap<String, Option<Rc<iam::Judged>>>,
}

impl<'a> Run<'a> {
    fn new(auditor: &'a Auditor<'_>, index: &'a Index, now: OffsetDateTime) -> Run<'a> {
        Run {
            settings: &auditor.settings,
            catalogue: auditor.catalogue,
            index,
            now,
            contexts: HashMap::new(),
            documents: HashMap::new(),
        }
    }

    /// The exposure context of an owning account: our other accounts and
    /// the friendly ones count as friendly, the organization is ours.
    pub fn context(&mut self, account: &str) -> Rc<AccountContext> {
        if let Some(found) = self.contexts.get(account) {
            return Rc::clone(found);
        }
        let mut context = AccountContext::new(account)
            .with_friendly(self.settings.friendly_accounts.iter().cloned())
            .with_friendly(self.settings.own_accounts.iter().cloned());
        if let Some(org) = &self.settings.organization_id {
            context = context.with_organization(org.clone());
        }
        let context = Rc::new(context);
        self.contexts
            .insert(account.to_owned(), Rc::clone(&context));
        context
    }

    fn item(&mut self, item: &ConfigItem, out: &mut Vec<Issue>) {
        if item.status.is_deleted() {
            return;
        }
        let mut found = Findings {
            item,
            settings: self.settings,
            out,
        };
        match item.key.resource_type.as_str() {
            "AWS::IAM::Role" => iam::role(self, &mut found),
            "AWS::IAM::User" => iam::user(self, &mut found),
            "AWS::IAM::Group" => iam::group(self, &mut found),
            "AWS::IAM::Policy" => iam::managed_policy(self, &mut found),
            other => resources::audit(other, self, &mut found),
        }
    }
}

/// Where the checks of one item put their issues: applies score overrides
/// and disabled checks, and fills in the resource and ARN.
pub(crate) struct Findings<'i, 'o> {
    pub item: &'i ConfigItem,
    settings: &'i AuditSettings,
    out: &'o mut Vec<Issue>,
}

impl Findings<'_, '_> {
    /// The item's name for messages: its name, else its id.
    pub fn name(&self) -> &str {
        self.item
            .name
            .as_deref()
            .unwrap_or(&self.item.key.resource_id)
    }

    /// Records an issue of `check`, unless the check is disabled for the
    /// item's account.
    pub fn report(&mut self, check: &Check, detail: String, message: String, evidence: Value) {
        let Some(score) = self.settings.score(&self.item.key.account, check) else {
            return;
        };
        let mut issue = Issue::new(
            self.item.key.clone(),
            check.name,
            check.category,
            score,
            detail,
            message,
        );
        issue.arn.clone_from(&self.item.arn);
        issue.evidence = evidence;
        self.out.push(issue);
    }
}

#[cfg(test)]
mod tests;
