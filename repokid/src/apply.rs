//! Applying plans to IAM (`repo`) and undoing them (`rollback`).
//!
//! The IAM calls sit behind [`Iam`] (implemented for the real service by
//! [`crate::aws::AwsIam`]), so this logic runs against a fake in tests.
//!
//! Both commands work the same way:
//! 1. read the role's current inline policies from IAM;
//! 2. compute the wanted policies (the plan of the live policies for
//!    `repo`, a stored version for `rollback`) and the calls that turn one
//!    into the other: a `PutRolePolicy` per policy whose document differs
//!    or is missing, a `DeleteRolePolicy` per policy not wanted. Equal
//!    documents give no call, so running a command twice changes nothing
//!    the second time;
//! 3. without `commit`, stop there (a dry run);
//! 4. with `commit`, save the current policies as a new [`InlineVersion`]
//!    in the store *before* any call, make the calls in order, and, if one
//!    fails, put back what was changed (re-put the saved documents, delete
//!    the policies that were not there) and report both
//!    ([`ApplyError::PartlyApplied`]); on success, save the role with its
//!    new inline policies, so later plans see them.
//!
//! A committing run holds the role's lease in the store ([`LEASE`], see
//! [`Store::try_lock`]) from reading the live policies to the last call, so
//! two runs on one role cannot interleave; the second fails with
//! [`ApplyError::Locked`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use policies::Policy;
use time::{Duration, OffsetDateTime};

use crate::err::{ApplyError, IamError, StoreError};
use crate::model::{InlineVersion, NamedPolicy, Outcome, RolePlan, RoleRecord, VersionReason};
use crate::plan::{Planner, RoleInput};
use crate::store::Store;

/// The IAM calls `repo` and `rollback` make, on one role's inline policies.
#[expect(
    async_fn_in_trait,
    reason = "called through generics from one task; no Send bound is needed"
)]
pub trait Iam {
    /// Every inline policy of role `role` (all pages), with its document.
    async fn inline_policies(&self, role: &str) -> Result<Vec<NamedPolicy>, IamError>;
    /// Creates or replaces inline policy `name` of `role`.
    async fn put_policy(&self, role: &str, name: &str, document: &Policy) -> Result<(), IamError>;
    /// Deletes inline policy `name` of `role`.
    async fn delete_policy(&self, role: &str, name: &str) -> Result<(), IamError>;
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
}

impl Call {
    /// The inline policy the call is about.
    pub fn name(&self) -> &str {
        match self {
            Call::Put { name, .. } | Call::Delete { name, .. } => name,
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

/// The calls turning `current` into `wanted`: puts in `wanted`'s order,
/// then deletes in `current`'s order.
pub fn calls(current: &[NamedPolicy], wanted: &[NamedPolicy]) -> Vec<Call> {
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

/// The inline policies a plan leaves: each rewritten one replaced, each
/// dropped one gone, the others as they are.
pub fn planned_policies(current: &[NamedPolicy], plan: &RolePlan) -> Vec<NamedPolicy> {
    if plan.outcome != Outcome::Repo {
        return current.to_vec();
    }
    current
        .iter()
        .filter_map(|p| match plan.policies.iter().find(|c| c.name == p.name) {
            None => Some(p.clone()),
            Some(change) => change.new.as_ref().map(|doc| NamedPolicy {
                name: p.name.clone(),
                document: doc.clone(),
            }),
        })
        .collect()
}

fn stored_role(store: &dyn Store, name: &str) -> Result<RoleRecord, ApplyError> {
    store
        .roles()?
        .into_iter()
        .find(|r| r.name == name)
        .ok_or_else(|| ApplyError::UnknownRole(name.to_owned()))
}

/// `repokid repo`: plans role `role_name` (from the store) against its
/// live inline policies and, with `commit`, applies the plan (see the
/// module documentation).
pub async fn repo<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    planner: &mut Planner<'_>,
    role_name: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = stored_role(store, role_name)?;
    let lease = Lease::take(store, &role, commit, now)?;
    let result = repo_leased(iam, store, planner, role, commit, now).await;
    lease.give_back(store, result)
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
    fn take(
        store: &mut dyn Store,
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
        if !store.try_lock(&role.arn, &owner, now, now + LEASE)? {
            return Err(ApplyError::Locked(role.name.clone()));
        }
        Ok(Lease {
            held: Some((role.arn.clone(), owner)),
        })
    }

    /// Gives the lease back, then answers `result` (or the store's error
    /// if giving back failed after a success).
    fn give_back<T>(
        self,
        store: &mut dyn Store,
        result: Result<T, ApplyError>,
    ) -> Result<T, ApplyError> {
        if let Some((arn, owner)) = &self.held {
            let freed = store.unlock(arn, owner);
            if result.is_ok() {
                freed?;
            }
        }
        result
    }
}

async fn repo_leased<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    planner: &mut Planner<'_>,
    mut role: RoleRecord,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role_name = role.name.clone();
    let role_name = role_name.as_str();
    let current = iam.inline_policies(role_name).await?;
    role.inline.clone_from(&current);
    let history = store.policy_history(&role.arn)?;
    let access = store.access()?;
    let plan = planner.plan_role(
        RoleInput {
            role: &role,
            access: access.role(&role.arn),
            history: &history,
        },
        now,
    );
    let wanted = planned_policies(&current, &plan);
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls: calls(&current, &wanted),
        committed: false,
        saved_version: None,
        plan: Some(plan),
        target: None,
    };
    if commit && !report.calls.is_empty() {
        role.inline = wanted;
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            &current,
            VersionReason::BeforeRepo,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// One role's result in a run over many roles.
#[derive(Debug)]
pub struct RoleResult {
    /// The role name.
    pub role_name: String,
    /// What was done, or why not.
    pub result: Result<ApplyReport, ApplyError>,
}

/// The roles of the store whose plan (from the stored inventory and
/// access data, at `now`) removes something, by name.
pub fn repoable(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    now: OffsetDateTime,
) -> Result<Vec<String>, StoreError> {
    let access = store.access()?;
    let mut out = Vec::new();
    for role in store.roles()? {
        let history = store.policy_history(&role.arn)?;
        let plan = planner.plan_role(
            RoleInput {
                role: &role,
                access: access.role(&role.arn),
                history: &history,
            },
            now,
        );
        if plan.outcome == Outcome::Repo {
            out.push(role.name);
        }
    }
    Ok(out)
}

/// [`repo`] for each of `names` in turn; one role failing does not stop
/// the others.
pub async fn repo_many<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    planner: &mut Planner<'_>,
    names: &[String],
    commit: bool,
    now: OffsetDateTime,
) -> Vec<RoleResult> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let result = repo(iam, store, planner, name, commit, now).await;
        out.push(RoleResult {
            role_name: name.clone(),
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
/// `version` of role `role_name` (default: [`default_target`]) and, with
/// `commit`, applies the change (see the module documentation).
pub async fn rollback<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    role_name: &str,
    version: Option<u32>,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = stored_role(store, role_name)?;
    let lease = Lease::take(store, &role, commit, now)?;
    let result = rollback_leased(iam, store, role, version, commit, now).await;
    lease.give_back(store, result)
}

async fn rollback_leased<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    mut role: RoleRecord,
    version: Option<u32>,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role_name = role.name.clone();
    let role_name = role_name.as_str();
    let versions = store.inline_versions(&role.arn)?;
    let target = match version {
        Some(n) => versions.iter().find(|v| v.version == n),
        None => default_target(&versions),
    }
    .cloned()
    .ok_or_else(|| ApplyError::NoVersion {
        role: role_name.to_owned(),
        version,
    })?;
    let current = iam.inline_policies(role_name).await?;
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls: calls(&current, &target.policies),
        committed: false,
        saved_version: None,
        plan: None,
        target: Some(target),
    };
    if commit && !report.calls.is_empty() {
        role.inline = report
            .target
            .as_ref()
            .map(|t| t.policies.clone())
            .unwrap_or_default();
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            &current,
            VersionReason::BeforeRollback,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// `repokid remove`: takes the actions of `permission` (an action or a
/// pattern such as `s3:Put*`) out of role `role_name`'s live inline
/// policies (Allow statements only; `NOREPO` statements untouched) and,
/// with `commit`, applies the change the same way `repo` does.
pub async fn remove<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    planner: &mut Planner<'_>,
    role_name: &str,
    permission: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let role = stored_role(store, role_name)?;
    let lease = Lease::take(store, &role, commit, now)?;
    let result = remove_leased(iam, store, planner, role, permission, commit, now).await;
    lease.give_back(store, result)
}

async fn remove_leased<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    planner: &mut Planner<'_>,
    mut role: RoleRecord,
    permission: &str,
    commit: bool,
    now: OffsetDateTime,
) -> Result<ApplyReport, ApplyError> {
    let current = iam.inline_policies(&role.name).await?;
    let wanted = planner
        .without(&current, permission)
        .ok_or_else(|| ApplyError::UnknownPermission(permission.to_owned()))?;
    let mut report = ApplyReport {
        role_name: role.name.clone(),
        role_arn: role.arn.clone(),
        calls: calls(&current, &wanted),
        committed: false,
        saved_version: None,
        plan: None,
        target: None,
    };
    if commit && !report.calls.is_empty() {
        role.inline = wanted;
        commit_calls(
            iam,
            store,
            &mut report,
            &role,
            &current,
            VersionReason::BeforeRemove,
            now,
        )
        .await?;
    }
    Ok(report)
}

/// Saves `current`, makes the report's calls, restores on failure, and
/// saves `role` (holding the new inline policies) on success.
async fn commit_calls<I: Iam>(
    iam: &I,
    store: &mut dyn Store,
    report: &mut ApplyReport,
    role: &RoleRecord,
    current: &[NamedPolicy],
    reason: VersionReason,
    now: OffsetDateTime,
) -> Result<(), ApplyError> {
    let version = store.put_inline_version(&role.arn, current, reason, now)?;
    report.saved_version = Some(version);
    for (done, call) in report.calls.iter().enumerate() {
        if let Err(failure) = make(iam, &role.name, call).await {
            // The failed call is undone too (it may have taken effect),
            // unless that means deleting a policy it failed to create.
            let failed_new = matches!(call, Call::Put { previous: None, .. });
            let undo = done + usize::from(!failed_new);
            let restore_failures = restore(iam, &role.name, report.calls.iter().take(undo)).await;
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
    store.put_roles(std::slice::from_ref(role), now)?;
    Ok(())
}

async fn make<I: Iam>(iam: &I, role: &str, call: &Call) -> Result<(), IamError> {
    match call {
        Call::Put { name, document, .. } => iam.put_policy(role, name, document).await,
        Call::Delete { name, .. } => iam.delete_policy(role, name).await,
    }
}

/// Undoes `made`, latest first; answers the calls that failed.
async fn restore<'a, I: Iam>(
    iam: &I,
    role: &str,
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
            } => iam.put_policy(role, name, doc).await,
            Call::Put {
                name,
                previous: None,
                ..
            } => iam.delete_policy(role, name).await,
        };
        if let Err(e) = undone {
            failures.push(e);
        }
    }
    failures
}

#[cfg(test)]
mod tests;
