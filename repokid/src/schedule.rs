//! Scheduling: roles are put on a schedule with a due date (N days out),
//! listed and cancelled; when due, `repo --scheduled` (or the Lambda
//! handler) repos them. Everyone concerned hears of it through a
//! [`Notifier`] twice: when a role is scheduled, and just before it is
//! repoed.
//!
//! The notices are JSON objects ([`Notice`]):
//! `{"event": "scheduled" | "repo", "role_arn", "role_name", "due_at",
//! "removed": [patterns], "removed_count", "at"}`.

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::apply::{self, Iam, RoleResult};
use crate::err::{ApplyError, AwsError, StoreError};
use crate::model::{Outcome, RolePlan, Scheduled};
use crate::plan::{Planner, RoleInput};
use crate::store::Store;

/// The default delay between scheduling a role and repoing it.
pub const DEFAULT_DAYS: i64 = 7;

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeEvent {
    /// The role was scheduled.
    Scheduled,
    /// The role is about to be repoed.
    Repo,
}

/// A notification about one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// What happened.
    pub event: NoticeEvent,
    /// The role's ARN.
    pub role_arn: String,
    /// The role's name.
    pub role_name: String,
    /// When the repo is due.
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    /// The permissions the plan removes, as patterns.
    pub removed: Vec<String>,
    /// How many actions that is.
    pub removed_count: usize,
    /// When the notice was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Where notices go ([`crate::aws::notify::SnsNotifier`] for SNS).
#[expect(
    async_fn_in_trait,
    reason = "called through generics from one task; no Send bound is needed"
)]
pub trait Notifier {
    /// Sends one notice.
    async fn notify(&self, notice: &Notice) -> Result<(), AwsError>;
}

/// A role scheduled, or why not.
#[derive(Debug)]
pub struct ScheduleResult {
    /// The role as named to [`schedule`]: a name or an ARN.
    pub role_name: String,
    /// The schedule entry, or why the role was not scheduled.
    pub result: Result<Scheduled, ScheduleError>,
}

/// Why a role was not scheduled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// Not in the store, or a name roles of several accounts carry.
    #[error(transparent)]
    Role(ApplyError),
    /// Its plan removes nothing (skipped, refused or unchanged).
    #[error("role `{role}`: nothing to repo ({outcome}); see `repokid plan --role {role}`")]
    NothingToRepo {
        /// The role as named (a name or an ARN).
        role: String,
        /// The plan's outcome.
        outcome: &'static str,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The notice could not be sent (the role is scheduled all the same).
    #[error("role `{role}` scheduled, but the notice failed: {source}")]
    Notify {
        /// The role name.
        role: String,
        /// The cause.
        source: AwsError,
    },
}

/// The plan at `now` of stored role `role` (a name or an ARN, see
/// [`apply::find_role`]).
async fn stored_plan(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    role: &str,
    now: OffsetDateTime,
) -> Result<RolePlan, ApplyError> {
    let role = apply::find_role(store, role).await?;
    let history = store.policy_history(&role.arn).await?;
    let access = store.access().await?;
    Ok(planner.plan_role(
        RoleInput {
            role: &role,
            access: access.role(&role.arn),
            history: &history,
        },
        now,
    ))
}

fn notice(
    event: NoticeEvent,
    plan: &RolePlan,
    due_at: OffsetDateTime,
    at: OffsetDateTime,
) -> Notice {
    Notice {
        event,
        role_arn: plan.role_arn.clone(),
        role_name: plan.role_name.clone(),
        due_at,
        removed: plan.removed.clone(),
        removed_count: plan.removed_count,
        at,
    }
}

/// Schedules each of `roles` (names or ARNs, see [`apply::find_role`])
/// whose plan removes something, due `days` after `now`, and notifies
/// (when a notifier is given).
pub async fn schedule<N: Notifier>(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    notifier: Option<&N>,
    roles: &[String],
    days: i64,
    now: OffsetDateTime,
) -> Vec<ScheduleResult> {
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        let result = schedule_one(store, planner, notifier, role, days, now).await;
        out.push(ScheduleResult {
            role_name: role.clone(),
            result,
        });
    }
    out
}

async fn schedule_one<N: Notifier>(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    notifier: Option<&N>,
    name: &str,
    days: i64,
    now: OffsetDateTime,
) -> Result<Scheduled, ScheduleError> {
    let plan = stored_plan(store, planner, name, now)
        .await
        .map_err(|e| match e {
            ApplyError::Store(e) => ScheduleError::Store(e),
            e => ScheduleError::Role(e),
        })?;
    if plan.outcome != Outcome::Repo {
        return Err(ScheduleError::NothingToRepo {
            role: name.to_owned(),
            outcome: plan.outcome.label(),
        });
    }
    let mut entry = Scheduled {
        role_arn: plan.role_arn.clone(),
        role_name: plan.role_name.clone(),
        due_at: now + Duration::days(days),
        scheduled_at: now,
        notified: false,
    };
    store.schedule(&entry).await?;
    if let Some(n) = notifier {
        n.notify(&notice(NoticeEvent::Scheduled, &plan, entry.due_at, now))
            .await
            .map_err(|source| ScheduleError::Notify {
                role: name.to_owned(),
                source,
            })?;
        entry.notified = true;
        store.schedule(&entry).await?;
    }
    Ok(entry)
}

/// The scheduled roles due at `now`.
pub async fn due(store: &dyn Store, now: OffsetDateTime) -> Result<Vec<Scheduled>, StoreError> {
    Ok(store
        .scheduled()
        .await?
        .into_iter()
        .filter(|s| s.due_at <= now)
        .collect())
}

/// Repos every role due at `now`, the role of the entry's ARN (in its own
/// account, as `iam` routes it): a notice first (when a notifier is
/// given; if it fails, that role is not repoed), then [`apply::repo`];
/// with `commit`, a role whose repo succeeded (or had nothing left to do)
/// leaves the schedule. One role failing does not stop the others.
pub async fn repo_due<I: Iam, N: Notifier>(
    iam: &I,
    notifier: Option<&N>,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    commit: bool,
    now: OffsetDateTime,
) -> Result<Vec<RoleResult>, StoreError> {
    let mut out = Vec::new();
    for entry in due(store, now).await? {
        let result = repo_one_due(iam, notifier, store, planner, &entry, commit, now).await;
        out.push(RoleResult {
            role_name: entry.role_name,
            result,
        });
    }
    Ok(out)
}

async fn repo_one_due<I: Iam, N: Notifier>(
    iam: &I,
    notifier: Option<&N>,
    store: &dyn Store,
    planner: &mut Planner<'_>,
    entry: &Scheduled,
    commit: bool,
    now: OffsetDateTime,
) -> Result<crate::apply::ApplyReport, ApplyError> {
    if let Some(n) = notifier.filter(|_| commit) {
        let plan = stored_plan(store, planner, &entry.role_arn, now).await?;
        n.notify(&notice(NoticeEvent::Repo, &plan, entry.due_at, now))
            .await
            .map_err(|source| ApplyError::Notify {
                role: entry.role_name.clone(),
                source,
            })?;
    }
    let report = apply::repo(iam, store, planner, &entry.role_arn, commit, now).await?;
    if commit {
        store.unschedule(&entry.role_arn).await?;
    }
    Ok(report)
}
