//! Persistence behind [`Store`]: [`SqliteStore`] (one file, the default)
//! and [`DynamoStore`] (one DynamoDB table, for Lambda).
//!
//! What is kept: the latest inventory of each role; every version of every
//! policy a role has held (a new version is added when the document
//! changes, and none is ever overwritten or deleted); access records,
//! merged latest-use-wins, with the time each role's data was last
//! collected; every plan computed, as JSON; every saved set of a role's
//! inline policies ([`InlineVersion`], numbered per role, never
//! overwritten); the schedule; per-role leases; the per-account stats
//! series.
//!
//! The trait is asynchronous and object-safe (callers hold a
//! `Box<dyn Store>` or `&dyn Store`) and every method takes `&self`: a
//! store is shared, and its own writes are atomic where the semantics need
//! it (a new version number, a lease). Time always comes in as an argument.

mod dynamo;
mod sqlite;

pub use dynamo::DynamoStore;
pub use sqlite::SqliteStore;

use time::OffsetDateTime;

use crate::access::AccessHistory;
use crate::err::StoreError;
use crate::model::{
    AccessRecord, AccountTotals, InlineVersion, NamedPolicy, PolicyVersionRecord, RolePlan,
    RoleRecord, Scheduled, VersionReason,
};

/// Counts of what a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StoreStats {
    /// Roles.
    pub roles: usize,
    /// Policy versions, over all roles and policies.
    pub policy_versions: usize,
    /// Roles with access data.
    pub roles_with_access: usize,
    /// Access records (one per role, service and action).
    pub access_records: usize,
    /// Plans saved.
    pub plans: usize,
}

/// What an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpdateSummary {
    /// Roles written.
    pub roles: usize,
    /// Policy versions added (new or changed documents).
    pub new_versions: usize,
}

/// Where repokid keeps its state.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Saves the inventory seen at `seen_at`, adding a policy version for
    /// every inline or attached document that differs from the latest stored
    /// version of that policy.
    async fn put_roles(
        &self,
        roles: &[RoleRecord],
        seen_at: OffsetDateTime,
    ) -> Result<UpdateSummary, StoreError>;
    /// Every role, by name.
    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError>;
    /// A role's policy versions, oldest first (by time seen, then policy,
    /// then version).
    async fn policy_history(&self, role_arn: &str) -> Result<Vec<PolicyVersionRecord>, StoreError>;
    /// Merges access records collected at `collected_at`: per role, service
    /// and action the latest use wins; per role the latest collection time.
    async fn put_access(
        &self,
        records: &[AccessRecord],
        collected_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The merged access history of every role.
    async fn access(&self) -> Result<AccessHistory, StoreError>;
    /// Saves a plan computed at `created_at` (every plan is kept).
    async fn put_plan(&self, plan: &RolePlan, created_at: OffsetDateTime)
    -> Result<(), StoreError>;
    /// Counts of what is stored.
    async fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Saves all of a role's inline policies and the ARNs of its attached
    /// managed policies, as read at `taken_at`, as a new version (none is
    /// ever overwritten); answers its number.
    async fn put_inline_version(
        &self,
        role_arn: &str,
        policies: &[NamedPolicy],
        attached: &[String],
        reason: VersionReason,
        taken_at: OffsetDateTime,
    ) -> Result<u32, StoreError>;
    /// A role's saved inline-policy versions, oldest first.
    async fn inline_versions(&self, role_arn: &str) -> Result<Vec<InlineVersion>, StoreError>;
    /// Schedules a role (replacing an earlier schedule of it).
    async fn schedule(&self, entry: &Scheduled) -> Result<(), StoreError>;
    /// Cancels a role's schedule; answers whether there was one.
    async fn unschedule(&self, role_arn: &str) -> Result<bool, StoreError>;
    /// Every scheduled role, soonest due first (then by ARN).
    async fn scheduled(&self) -> Result<Vec<Scheduled>, StoreError>;
    /// Takes the lease on a role for `owner` until `expires_at`, if no other
    /// owner holds an unexpired one at `now`; answers whether it was taken.
    /// The same owner may take it again (extending it). Atomic: of two
    /// runs asking at once, one gets it.
    async fn try_lock(
        &self,
        role_arn: &str,
        owner: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives up `owner`'s lease on a role (nothing if another owner holds it).
    async fn unlock(&self, role_arn: &str, owner: &str) -> Result<(), StoreError>;
    /// Adds per-account totals to the stats series (replacing an entry of
    /// the same time and account).
    async fn put_totals(&self, totals: &[AccountTotals]) -> Result<(), StoreError>;
    /// The stats series, oldest first, by account within a time.
    async fn totals(&self) -> Result<Vec<AccountTotals>, StoreError>;
}

#[cfg(test)]
mod tests;
