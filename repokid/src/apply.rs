//! Applying plans to IAM (`repo`) and undoing them (`rollback`).
//!
//! The IAM calls sit behind [`Iam`] (implemented for the real service by
//! [`crate::aws::AwsIam`], which sends each call to the account of the
//! role's ARN), so this logic runs against a fake in tests.
//!
//! A command names its role by name or by ARN ([`find_role`]); a name that
//! roles of several accounts carry is refused ([`ApplyError::AmbiguousRole`]).
//! The IAM calls always name the role by its ARN.
//!
//! Both commands work the same way:
//! 1. read the role's current inline policies, and the ARNs of its
//!    attached managed policies, from IAM;
//! 2. compute the wanted policies (the plan of the live policies for
//!    `repo`, a stored version for `rollback`) and the calls that turn one
//!    into the other, in this order: a `PutRolePolicy` per policy whose
//!    document differs or is missing, then a `DetachRolePolicy` per managed
//!    policy the plan detaches (`repo`) or an `AttachRolePolicy` per
//!    managed policy to re-attach (`rollback`), then a `DeleteRolePolicy`
//!    per inline policy not wanted. So the copy replacing a managed policy
//!    is in place before the policy is detached, and a re-attached policy
//!    before its copy goes: the role never lacks a permission it keeps.
//!    Equal documents and attachments already as wanted give no call, so
//!    running a command twice changes nothing the second time;
//! 3. without `commit`, stop there (a dry run);
//! 4. with `commit`, save the current inline policies and attached ARNs as
//!    a new [`InlineVersion`] in the store *before* any call, make the
//!    calls in order, and, if one fails, undo what was changed, latest
//!    first (re-put the saved documents, delete the policies that were not
//!    there, re-attach what was detached, detach what was attached) and
//!    report both ([`ApplyError::PartlyApplied`]); on success, save the
//!    role with its new inline and attached policies, so later plans see
//!    them.
//!
//! # Managed policies
//! `repo` plans only the attached managed policies that are both in the
//! stored inventory (which holds their documents) and attached in IAM now;
//! one attached since the last `repokid update` is left alone. With
//! [`PlanConfig::managed`](crate::plan::PlanConfig::managed) off (the
//! default) nothing is detached. `rollback` re-attaches each managed
//! policy of the stored version that is not attached now; it never
//! detaches anything (a policy attached since is left attached). A version
//! saved before repokid recorded attachments has none, so rolling back to
//! it leaves the attachments as they are.
//!
//! Every plan `repo` computes and every change `remove` computes is saved
//! in the store ([`Store::put_plan`]), dry run or not, so `repokid stats`
//! counts them.
//!
//! A committing run holds the role's lease in the store ([`LEASE`], see
//! [`Store::try_lock`]) from reading the live policies to the last call, so
//! two runs on one role cannot interleave; the second fails with
//! [`ApplyError::Locked`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use policies::Policy;
use policies::catalogue::Catalogue;
use policies::diff::diff;
use policies::model::{OneOrMany, Statement, Version};
use time::{Duration, OffsetDateTime};

use crate::err::{ApplyError, IamError, StoreError};
use crate::model::{
    AttachedRecord, InlineVersion, NamedPolicy, Outcome, PolicyChange, PolicyVersionRecord,
    RolePlan, RoleRecord, VersionReason,
};
use crate::plan::{Planner, RoleInput};
use crate::store::Store;

/// The IAM calls `repo` and `rollback` make, on one role's inline policies
/// and managed-policy attachments. The role is named by its ARN
/// (`arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`), which tells its account
/// and its name.
#[expect(
    async_fn_in_trait,
    reason = "called through generics from one task; no Send bound is needed"
)]
pub trait Iam {
    /// Every inline policy of role `role_arn` (all pages), with its document.
    async fn inline_policies(&self, role_arn: &str) -> Result<Vec<NamedPolicy>, IamError>;
    /// Creates or replaces inline policy `name` of role `role_arn`.
    async fn put_policy(
        &self,
        role_arn: &str,
        name: &str,
        document: &Policy,
    ) -> Result<(), IamError>;
    /// Deletes inline policy `name` of role `role_arn`.
    async fn delete_policy(&self, role_arn: &str, name: &str) -> Result<(), IamError>;
    /// The ARNs of the managed policies attached to role `role_arn` (all
    /// pages).
    async fn attached_policies(&self, role_arn: &str) -> Result<Vec<String>, IamError>;
    /// Attaches managed policy `policy_arn` to role `role_arn`.
    async fn attach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError>;
    /// Detaches managed policy `policy_arn` from role `role_arn`.
    async fn detach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError>;
}

/// One IAM call of a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `PutRolePolicy`.
    Put {
        /// The inline policy name.
        name: String,
        /// The document put.
        document: Policy,
        /// The document it replaces (none: the policy is new).
        previous: Option<Policy>,
    },
    /// `DeleteRolePolicy`.
    Delete {
        /// The inline policy name.
        name: String,
        /// The document deleted.
        previous: Policy,
    },
    /// `DetachRolePolicy`.
    Detach {
        /// The managed policy's ARN.
        policy_arn: String,
    },
    /// `AttachRolePolicy`.
    Attach {
        /// The managed policy's ARN.
        policy_arn: String,
    },
}

impl Call {
    /// The policy the call is about: an inline policy's name, or a managed
    /// policy's ARN.
    pub fn name(&self) -> &str {
        match self {
            Call::Put { name, .. } | Call::Delete { name, .. } => name,
            Call::Detach { policy_arn } | Call::Attach { policy_arn } => policy_arn,
        }
    }
}

/// What `repo` or `rollback` did or, in a dry run, would do.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplyReport {
    /// The role's name.
    pub role_name: String,
    /// The role's ARN.
    pub role_arn: String,
    /// The calls, in order (empty: IAM already holds what is wanted).
    pub calls: Vec<Call>,
    /// True when the calls were made.
    pub committed: bool,
    /// The stored version holding the policies as they were before the
    /// calls (only when calls were made).
    pub saved_version: Option<u32>,
    /// For `repo`: the plan of the live policies.
    pub plan: Option<RolePlan>,
    /// For `rollback`: the version restored.
    pub target: Option<InlineVersion>,
}

/// The calls turning inline policies `current` into `wanted`: puts in
/// `wanted`'s order, then deletes in `current`'s order.
pub fn calls(current: &[NamedPolicy], wanted: &[NamedPolicy]) -> Vec<Call> {
    calls_around(current, wanted, Vec::new())
}

/// The calls turning inline policies `current` into `wanted`, with the
/// attachment calls `attachments` between the puts and the deletes (see
/// the module documentation).
fn calls_around(
    current: &[NamedPolicy],
    wanted: &[NamedPolicy],
    attachments: Vec<Call>,
) -> Vec<Call> {
    let now: BTreeMap<&str, &Policy> = current
        .iter()
        .map(|p| (p.name.as_str(), &p.document))
        .collect();
    let mut out: Vec<Call> = wanted
        .iter()
        .filter(|p| now.get(p.name.as_str()) != Some(&&p.document))
        .map(|p| Call::Put {
            name: p.name.clone(),
            document: p.document.clone(),
            previous: now.get(p.name.as_str()).map(|d| (*d).clone()),
        })
        .collect();
    out.extend(attachments);
    out.extend(
        current
            .iter()
            .filter(|c| !wanted.iter().any(|w| w.name == c.name))
            .map(|c| Call::Delete {
                name: c.name.clone(),
                previous: c.document.clone(),
            }),
    );
    out
}

/// The inline policies `plan` leaves on a role whose inline policies are
/// `current` ([`RolePlan::inline_after`]): the copies of the managed
/// policies it replaces included.
pub fn planned_policies(current: &[NamedPolicy], plan: &RolePlan) -> Vec<NamedPolicy> {
    plan.inline_after(current)
}

/// The stored role `role` names: an ARN (`arn:...`) names the role of that
/// ARN; a name, the one stored role carrying it (several: refused with
/// their ARNs, as roles of different accounts may share a name).
pub async fn find_role(store: &dyn Store, role: &str) -> Result<RoleRecord, ApplyError> {
    let by_arn = role.starts_with("arn:");
    let mut found: Vec<RoleRecord> = store
        .roles()
        .await?
        .into_iter()
        .filter(|r| {
            if by_arn {
                r.arn == role
            } else {
                r.name == role
            }
        })
        .collect();
    if found.len() > 1 {
        return Err(ApplyError::AmbiguousRole {
            name: role.to_owned(),
            arns: found.into_iter().map(|r| r.arn).collect(),
        });
    }
    found
        .pop()
        .ok_or_else(|| ApplyError::UnknownRole(role.to_owned()))
}

/// `repokid repo`: plans stored role `role` (a name or an ARN, see
/// [`find_role`]) against its live inline policies and, with `commit`,
/// applies the plan (see the module documentation).
pub async fn repo<I: Iam>(
    iam: &I,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    role: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = find_role(store, role).await?;
    let lease = Lease::take(store, &role, commit, now).await?;
    let result = repo_leased(iam, store, planner, role, commit, now).await;
    lease.give_back(store, result).await
}

/// How long a `repo`/`rollback` may hold a role before another run may
/// take it over (a crashed run's lease expires).
pub const LEASE: Duration = Duration::minutes(15);

/// A role's lease in the store, held while a committing run changes it.
struct Lease {
    /// (role ARN, owner), or nothing for a dry run.
    held: Option<(String, String)>,
}

impl Lease {
    /// Takes the role's lease for a committing run (a dry run takes none).
    async fn take(
        store: &dyn Store,
        role: &RoleRecord,
        commit: bool,
        now: OffsetDateTime,
    ) -> Result<Lease, ApplyError> {
        if !commit {
            return Ok(Lease { held: None });
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let owner = format!(
            "{}-{}-{}",
            std::process::id(),
            now.unix_timestamp_nanos(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        if !store.try_lock(&role.arn, &owner, now, now + LEASE).await? {
            return Err(ApplyError::Locked(role.name.clone()));
        }
        Ok(Lease {
            held: Some((role.arn.clone(), owner)),
        })
    }

    /// Gives the lease back, then answers `result` (or the store's error
    /// if giving back failed after a success).
    async fn give_back<T>(
        self,
        store: &dyn Store,
        result: Result<T, ApplyError>,
    ) -> Result<T, ApplyError> {
        if let Some((arn, owner)) = &self.held {
            let freed = store.unlock(arn, owner).await;
            if result.is_ok() {
                freed?;
            }
        }
        result
    }
}

async fn repo_leased<I: Iam>(
    iam: &I,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    mut role: RoleRecord,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let current = iam.inline_policies(&role.arn).await?;
    let attached = iam.attached_policies(&role.arn).await?;
    role.inline.clone_from(&current);
    // The stored documents of the policies still attached; one attached
    // since the inventory has no document and is left alone.
    role.attached.retain(|a| attached.contains(&a.arn));
    let history = store.policy_history(&role.arn).await?;
    let access = store.access().await?;
    let plan = planner.plan_role(
        RoleInput {
            role: &role,
            access: access.role(&role.arn),
            history: &history,
        },
        now,
    );
    store.put_plan(&plan, now).await?;
    let wanted = plan.inline_after(&current);
    // Only policies attached now were planned (see above).
    let detached: Vec<String> = plan.detached().into_iter().map(str::to_owned).collect();
    let detaches = detached
        .iter()
        .map(|arn| Call::Detach {
            policy_arn: arn.clone(),
        })
        .collect();
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls: calls_around(&current, &wanted, detaches),
        committed: false,
        saved_version: None,
        plan: Some(plan),
        target: None,
    };
    if commit && !report.calls.is_empty() {
        role.inline = wanted;
        role.attached.retain(|a| !detached.contains(&a.arn));
        let before = Before {
            inline: &current,
            attached: &attached,
        };
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            before,
            VersionReason::BeforeRepo,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// What a role held in IAM before a change: its inline policies and the
/// ARNs of its attached managed policies.
#[derive(Clone, Copy)]
struct Before<'a> {
    inline: &'a [NamedPolicy],
    attached: &'a [String],
}

/// One role's result in a run over many roles.
#[derive(Debug)]
pub struct RoleResult {
    /// The role as the run named it: a name, or an ARN ([`repoable`]
    /// answers ARNs).
    pub role_name: String,
    /// What was done, or why not.
    pub result: Result<ApplyReport, ApplyError>,
}

/// The roles of the store whose plan (from the stored inventory and
/// access data, at `now`) removes something, by ARN (names may repeat
/// across accounts).
pub async fn repoable(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let access = store.access().await?;
    let mut out = Vec::new();
    for role in store.roles().await? {
        let history = store.policy_history(&role.arn).await?;
        let plan = planner.plan_role(
            RoleInput {
                role: &role,
                access: access.role(&role.arn),
                history: &history,
            },
            now,
        );
        if plan.outcome == Outcome::Repo {
            out.push(role.arn);
        }
    }
    Ok(out)
}

/// [`repo`] for each of `roles` (names or ARNs) in turn; one role failing
/// (also failing to reach its account) does not stop the others.
pub async fn repo_many<I: Iam>(
    iam: &I,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    roles: &[String],
    commit: bool,
    now: OffsetDateTime,
) -> Vec<RoleResult> {
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        let result = repo(iam, store, planner, role, commit, now).await;
        out.push(RoleResult {
            role_name: role.clone(),
            result,
        });
    }
    out
}

/// The version `rollback` restores when none is named: the one saved by
/// the last `repo`.
pub fn default_target(versions: &[InlineVersion]) -> Option<&InlineVersion> {
    versions
        .iter()
        .rev()
        .find(|v| v.reason == VersionReason::BeforeRepo)
}

/// `repokid rollback`: puts back the inline policies of stored version
/// `version` of role `role` (a name or an ARN, see [`find_role`];
/// default version: [`default_target`]) and, with `commit`, applies the
/// change (see the module documentation).
pub async fn rollback<I: Iam>(
    iam: &I,
    store: &dyn Store,
    role: &str,
    version: Option<u32>,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = find_role(store, role).await?;
    let lease = Lease::take(store, &role, commit, now).await?;
    let result = rollback_leased(iam, store, role, version, commit, now).await;
    lease.give_back(store, result).await
}

async fn rollback_leased<I: Iam>(
    iam: &I,
    store: &dyn Store,
    mut role: RoleRecord,
    version: Option<u32>,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let versions = store.inline_versions(&role.arn).await?;
    let target = match version {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => default_target(&versions),
    }
    .cloned()
    .ok_or_else(|| ApplyError::NoVersion {
        role: role.name.clone(),
        version,
    })?;
    let current = iam.inline_policies(&role.arn).await?;
    let attached = iam.attached_policies(&role.arn).await?;
    // Re-attach what the version had and IAM lacks; never detach.
    let missing: Vec<String> = target
        .attached
        .iter()
        .filter(|arn| !attached.contains(arn))
        .cloned()
        .collect();
    let attaches = missing
        .iter()
        .map(|arn| Call::Attach {
            policy_arn: arn.clone(),
        })
        .collect();
    let calls = calls_around(&current, &target.policies, attaches);
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls,
        committed: false,
        saved_version: None,
        plan: None,
        target: None,
    };
    if commit && !report.calls.is_empty() {
        role.inline.clone_from(&target.policies);
        role.attached.retain(|a| attached.contains(&a.arn));
        let history = store.policy_history(&role.arn).await?;
        role.attached
            .extend(missing.iter().map(|arn| attached_record(arn, &history)));
        let before = Before {
            inline: &current,
            attached: &attached,
        };
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            before,
            VersionReason::BeforeRollback,
            now,
        )
        .await?;
    }
    report.target = Some(target);
    Ok(report)
}

/// The record of managed policy `arn` re-attached by a rollback, with its
/// latest document in the role's policy `history` (none if never stored:
/// the next `repokid update` reads it).
fn attached_record(arn: &str, history: &[PolicyVersionRecord]) -> AttachedRecord {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or_default();
    AttachedRecord {
        name: resource.rsplit('/').next().unwrap_or(resource).to_owned(),
        arn: arn.to_owned(),
        aws_managed: arn.split(':').nth(4) == Some("aws"),
        document: history
            .iter()
            .filter(|v| v.policy == arn)
            .max_by_key(|v| (v.seen_at, v.version))
            .map(|v| v.document.clone()),
    }
}

/// `repokid remove`: takes the actions of `permission` (an action or a
/// pattern such as `s3:Put*`) out of role `role`'s (a name or an ARN, see
/// [`find_role`]) live inline
/// policies (Allow statements only; `NOREPO` statements untouched) and,
/// with `commit`, applies the change the same way `repo` does. The change
/// is saved in the store as a plan ([`removal_plan`]), committed or not.
pub async fn remove<I: Iam>(
    iam: &I,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    role: &str,
    permission: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = find_role(store, role).await?;
    let lease = Lease::take(store, &role, commit, now).await?;
    let result = remove_leased(iam, store, planner, role, permission, commit, now).await;
    lease.give_back(store, result).await
}

async fn remove_leased<I: Iam>(
    iam: &I,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    mut role: RoleRecord,
    permission: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let current = iam.inline_policies(&role.arn).await?;
    let attached = iam.attached_policies(&role.arn).await?;
    let wanted = planner
        .without(&current, permission)
        .ok_or_else(|| ApplyError::UnknownPermission(permission.to_owned()))?;
    let calls = calls(&current, &wanted);
    let plan = removal_plan(planner.catalogue(), &role, &calls);
    store.put_plan(&plan, now).await?;
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls,
        committed: false,
        saved_version: None,
        plan: Some(plan),
        target: None,
    };
    if commit && !report.calls.is_empty() {
        role.inline = wanted;
        let before = Before {
            inline: &current,
            attached: &attached,
        };
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            before,
            VersionReason::BeforeRemove,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// The plan of a `remove` whose calls are `calls`: outcome `repo` when
/// there is a call (else `unchanged`), each changed policy with its diff,
/// and what the role as a whole no longer grants (counted over all its
/// changed policies together, so an action granted twice counts once).
pub fn removal_plan(cat: &Catalogue, role: &RoleRecord, calls: &[Call]) -> RolePlan {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    let mut changes = Vec::with_capacity(calls.len());
    for call in calls {
        let (name, old, new) = match call {
            Call::Put {
                name,
                document,
                previous: Some(previous),
            } => (name, previous, Some(document)),
            Call::Delete { name, previous } => (name, previous, None),
            // A remove never creates a policy nor touches attachments.
            Call::Put { previous: None, .. } | Call::Detach { .. } | Call::Attach { .. } => {
                continue;
            }
        };
        let new = new.cloned();
        let d = diff(cat, old, new.as_ref().unwrap_or(&empty_like(old)));
        before.extend(old.statements.iter().cloned());
        after.extend(new.iter().flat_map(|p| p.statements.iter().cloned()));
        changes.push(PolicyChange {
            name: name.clone(),
            old: old.clone(),
            new,
            removed_count: d.revoked_count,
            diff: Some(d),
        });
    }
    let whole = |statements: Vec<Statement>| Policy {
        version: Some(Version::V2012_10_17),
        id: None,
        statements: OneOrMany::Many(statements),
    };
    let (before, after) = (whole(before), whole(after));
    let removed = diff(cat, &before, &after);
    let kept = diff(cat, &after, &whole(Vec::new()));
    let services = |patterns: &[String]| -> std::collections::BTreeSet<String> {
        patterns
            .iter()
            .filter_map(|p| p.split_once(':').map(|(s, _)| s.to_ascii_lowercase()))
            .collect()
    };
    let still = services(&kept.revoked);
    RolePlan {
        role_arn: role.arn.clone(),
        role_name: role.name.clone(),
        outcome: if changes.is_empty() {
            Outcome::Unchanged
        } else {
            Outcome::Repo
        },
        removed_services: services(&removed.revoked)
            .into_iter()
            .filter(|s| !still.contains(s))
            .collect(),
        removed: removed.revoked,
        removed_count: removed.revoked_count,
        policies: changes,
        kept: Vec::new(),
        no_data_services: Vec::new(),
        managed_unused: Vec::new(),
    }
}

/// A policy with `policy`'s version and no statement.
fn empty_like(policy: &Policy) -> Policy {
    Policy {
        version: policy.version,
        id: None,
        statements: OneOrMany::Many(Vec::new()),
    }
}

/// Saves `before`, makes the report's calls, restores on failure, and
/// saves `role` (holding the new inline and attached policies) on success.
async fn commit_calls<I: Iam>(
    iam: &I,
    store: &dyn Store,
    report: &mut ApplyReport,
    role: &RoleRecord,
    before: Before<'_>,
    reason: VersionReason,
    now: OffsetDateTime,
) -> Result<(), ApplyError> {
    let version = store
        .put_inline_version(&role.arn, before.inline, before.attached, reason, now)
        .await?;
    report.saved_version = Some(version);
    for (done, call) in report.calls.iter().enumerate() {
        if let Err(failure) = make(iam, &role.arn, call).await {
            // The failed call is undone too (it may have taken effect),
            // unless that means deleting a policy it failed to create or
            // detaching one it failed to attach.
            let failed_new = matches!(call, Call::Put { previous: None, .. } | Call::Attach { .. });
            let undo = done + usize::from(!failed_new);
            let restore_failures = restore(iam, &role.arn, report.calls.iter().take(undo)).await;
            return Err(ApplyError::PartlyApplied {
                role: role.name.clone(),
                version,
                failure: Box::new(failure),
                applied: done,
                total: report.calls.len(),
                restore_failures,
            });
        }
    }
    report.committed = true;
    store.put_roles(std::slice::from_ref(role), now).await?;
    Ok(())
}

async fn make<I: Iam>(iam: &I, role_arn: &str, call: &Call) -> Result<(), IamError> {
    match call {
        Call::Put { name, document, .. } => iam.put_policy(role_arn, name, document).await,
        Call::Delete { name, .. } => iam.delete_policy(role_arn, name).await,
        Call::Detach { policy_arn } => iam.detach_policy(role_arn, policy_arn).await,
        Call::Attach { policy_arn } => iam.attach_policy(role_arn, policy_arn).await,
    }
}

/// Undoes `made` on role `role_arn`, latest first; answers the calls that
/// failed.
async fn restore<'a, I: Iam>(
    iam: &I,
    role_arn: &str,
    made: impl DoubleEndedIterator<Item = &'a Call>,
) -> Vec<IamError> {
    let mut failures = Vec::new();
    for call in made.rev() {
        let undone = match call {
            Call::Put {
                name,
                previous: Some(doc),
                ..
            }
            | Call::Delete {
                name,
                previous: doc,
            } => iam.put_policy(role_arn, name, doc).await,
            Call::Put {
                name,
                previous: None,
                ..
            } => iam.delete_policy(role_arn, name).await,
            Call::Detach { policy_arn } => iam.attach_policy(role_arn, policy_arn).await,
            Call::Attach { policy_arn } => iam.detach_policy(role_arn, policy_arn).await,
        };
        if let Err(e) = undone {
            failures.push(e);
        }
    }
    failures
}

#[cfg(test)]
mod tests;
