//! Per-account totals, appended to the store's series at each `update`
//! so that `repokid stats` can show how an estate shrinks over time.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::err::StoreError;
use crate::model::{AccountTotals, Outcome};
use crate::plan::{Planner, RoleInput};
use crate::store::Store;

/// The account ID in a role ARN (empty if the ARN has none).
pub fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

/// Each account's totals over the store's roles, planned at `now` (the
/// planner should not compute diffs: they are not needed here).
pub async fn account_totals(
    store: &dyn Store,
    planner: &mut Planner<'_>,
    now: OffsetDateTime,
) -> Result<Vec<AccountTotals>, StoreError> {
    let access = store.access().await?;
    let mut by_account: BTreeMap<String, AccountTotals> = BTreeMap::new();
    for role in store.roles().await? {
        let account = account_of(&role.arn).to_owned();
        let history = store.policy_history(&role.arn).await?;
        let role_access = access.role(&role.arn);
        let plan = planner.plan_role(
            RoleInput {
                role: &role,
                access: role_access,
                history: &history,
            },
            now,
        );
        let t = by_account
            .entry(account.clone())
            .or_insert_with(|| AccountTotals {
                taken_at: now,
                account,
                roles: 0,
                inline_policies: 0,
                roles_with_access: 0,
                roles_repoable: 0,
                removable_permissions: 0,
            });
        t.roles += 1;
        t.inline_policies += role.inline.len();
        t.roles_with_access += usize::from(role_access.is_some());
        if plan.outcome == Outcome::Repo {
            t.roles_repoable += 1;
            t.removable_permissions += plan.removed_count;
        }
    }
    Ok(by_account.into_values().collect())
}

/// The series as CSV, a header line first.
pub fn csv(series: &[AccountTotals]) -> String {
    let mut out = String::from(
        "taken_at,account,roles,inline_policies,roles_with_access,roles_repoable,removable_permissions\n",
    );
    for t in series {
        let at = t
            .taken_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        out.push_str(&format!(
            "{at},{},{},{},{},{},{}\n",
            t.account,
            t.roles,
            t.inline_policies,
            t.roles_with_access,
            t.roles_repoable,
            t.removable_permissions
        ));
    }
    out
}
