//! The pure core: from a role, its access history and its policy history,
//! the rewritten inline policies that drop what the role has not used.
//!
//! No I/O, no clock: `now` is an argument. For each role not excluded by
//! [`filter::role_skips`]:
//! 1. every statement is expanded to catalogue actions (each pattern once
//!    per planner, however many roles hold it);
//! 2. an action is *used* when its action-level record (if the data has
//!    one) or else its service's record shows a use within
//!    `unused_after_days` of `now`; an action whose service no data
//!    mentions is kept (reported in `no_data_services`); actions access
//!    history cannot see and actions added recently are kept too;
//! 3. each inline policy is rewritten statement by statement: Deny
//!    statements, `NOREPO` statements and statements whose every action is
//!    kept are left exactly as written; otherwise only `Action` changes
//!    (`Resource`, `Condition`, `Sid` untouched): the original patterns
//!    whose whole expansion is kept stay verbatim, the rest is written as
//!    the fewest patterns that grant exactly the kept actions
//!    ([`minimize_set`](policies::minimize::minimize_set)); a `NotAction`
//!    becomes an explicit `Action` list; patterns the catalogue does not
//!    know are kept (they may name actions newer than the catalogue).
//!    Statements left with no action go, and so do policies left with no
//!    statement;
//! 4. attached customer-managed policies granting unused permissions are
//!    reported; with [`PlanConfig::managed`], each is detached and replaced
//!    by an inline copy rewritten by the same rules (named
//!    `repokid-<PolicyName>`), or detached without a copy when nothing of it
//!    is left. A copy that would not fit (step 5) is not made and the policy
//!    stays attached, with the reason ([`ManagedDecision::Refused`]);
//! 5. the rewritten inline policies (copies included) must fit IAM's
//!    10,240-character limit for a role's inline policies (whitespace not
//!    counted), or the plan is refused.

use std::sync::Arc;

use policies::Policy;
use policies::catalogue::{ActionSet, Catalogue, Service};
use policies::diff::{PolicyDiff, diff};
use policies::model::{Effect, Negatable, OneOrMany, Statement};
use time::{Duration, OffsetDateTime};

use crate::access::RoleAccess;
use crate::filter::{self, FilterConfig};
use crate::model::{
    AttachedRecord, KeepReason, Kept, ManagedDecision, ManagedUnused, NamedPolicy, Outcome,
    PolicyChange, PolicyVersionRecord, RolePlan, RoleRecord,
};

mod cache;
mod size;

use cache::Cache;
/// A policy's size as IAM counts it: its JSON without whitespace outside
/// strings (the compact JSON form), counted without writing it.
pub use size::json_size;

/// IAM's limit on the total size of a role's inline policies, in
/// characters, whitespace excluded.
pub const INLINE_LIMIT: usize = 10_240;

/// IAM's longest policy name, in characters.
const POLICY_NAME_MAX: usize = 128;

/// The planner's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanConfig {
    /// The role-level filters and the recent-permission window.
    pub filter: FilterConfig,
    /// A service or action not used for this many days is unused (default 90).
    pub unused_after_days: i64,
    /// The inline size limit (default [`INLINE_LIMIT`]).
    pub inline_limit: usize,
    /// Attach a [`policies::diff`] of each changed policy (default true).
    /// The diff is the costliest part of a plan (it maps every granted
    /// action to its resources); a bulk run that only needs the decisions
    /// and the removed permissions can turn it off.
    pub diffs: bool,
    /// Replace each attached customer-managed policy that grants unused
    /// permissions by a right-sized inline copy (default false: they are
    /// only reported). See [`ManagedDecision`].
    pub managed: bool,
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            filter: FilterConfig::default(),
            unused_after_days: 90,
            inline_limit: INLINE_LIMIT,
            diffs: true,
            managed: false,
        }
    }
}

/// What the planner needs about one role.
#[derive(Debug, Clone, Copy)]
pub struct RoleInput<'a> {
    /// The role.
    pub role: &'a RoleRecord,
    /// Its merged access history, if any.
    pub access: Option<&'a RoleAccess>,
    /// Its stored policy versions (may be empty).
    pub history: &'a [PolicyVersionRecord],
}

/// Plans roles against one catalogue; caches pattern expansions and
/// minimizations across roles.
pub struct Planner<'c> {
    cat: &'c Catalogue,
    config: PlanConfig,
    invisible: ActionSet,
    cache: Cache<'c>,
}

/// The expansion of one statement's `Action`/`NotAction`.
struct Expanded {
    actions: Arc<ActionSet>,
    /// Listed patterns the catalogue does not know.
    unknown: Vec<String>,
    /// An Allow statement not marked `NOREPO`: the only kind a plan changes.
    repoable: bool,
}

impl Expanded {
    /// Whether a plan leaves the statement as written: a Deny, a `NOREPO`
    /// statement, or one whose every action is kept.
    fn untouched(&self, keep: &ActionSet) -> bool {
        !self.repoable || self.actions.is_subset(keep)
    }
}

/// Adds what the repoable statements of `statements` grant to `into`.
fn granted_into(statements: &[Expanded], into: &mut ActionSet) {
    for e in statements.iter().filter(|e| e.repoable) {
        into.union_with(&e.actions);
    }
}

/// What the repoable statements of `statements` grant outside `keep`.
fn unused(statements: &[Expanded], keep: &ActionSet) -> ActionSet {
    // Built from the small per-statement differences, not from the whole
    // grant of the policy.
    let mut out = ActionSet::new();
    for e in statements.iter().filter(|e| !e.untouched(keep)) {
        let mut gone = ActionSet::clone(&e.actions);
        gone.subtract(keep);
        out.union_with(&gone);
    }
    out
}

/// An attached customer-managed policy whose document the inventory holds.
struct Managed<'r> {
    record: &'r AttachedRecord,
    document: &'r Policy,
    statements: Vec<Expanded>,
}

impl<'c> Planner<'c> {
    /// The action catalogue the planner expands patterns with.
    pub fn catalogue(&self) -> &'c Catalogue {
        self.cat
    }

    /// A planner with `config`.
    pub fn new(cat: &'c Catalogue, config: PlanConfig) -> Self {
        Planner {
            cat,
            invisible: filter::invisible_actions(cat),
            config,
            cache: Cache::new(cat),
        }
    }

    fn statement(&mut self, st: &Statement) -> Expanded {
        // A statement of one known pattern shares the cached set.
        let mut actions: Option<Arc<ActionSet>> = None;
        let mut unknown = Vec::new();
        for p in st.action.value.iter() {
            match (self.cache.pattern(p), &mut actions) {
                (Some(set), None) => actions = Some(Arc::clone(set)),
                (Some(set), Some(acc)) => Arc::make_mut(acc).union_with(set),
                (None, _) => unknown.push(p.clone()),
            }
        }
        let repoable = st.effect == Effect::Allow && !filter::is_norepo(st);
        if st.action.negated {
            let mut all = ActionSet::all(self.cat.action_count());
            if let Some(excluded) = &actions {
                all.subtract(excluded);
            }
            return Expanded {
                actions: Arc::new(all),
                unknown: Vec::new(),
                repoable,
            };
        }
        Expanded {
            actions: actions.unwrap_or_default(),
            unknown,
            repoable,
        }
    }

    fn policy(&mut self, doc: &Policy) -> Vec<Expanded> {
        doc.statements.iter().map(|st| self.statement(st)).collect()
    }

    /// The actions the role keeps: used, invisible, recent or without data.
    /// Also answers the services without data.
    fn keep_set(
        &self,
        granted: &ActionSet,
        access: &RoleAccess,
        recent: &ActionSet,
        now: OffsetDateTime,
    ) -> (ActionSet, ActionSet, Vec<String>) {
        let cutoff = now - Duration::days(self.config.unused_after_days);
        let is_used = |t: &Option<OffsetDateTime>| t.is_some_and(|t| t >= cutoff);
        let mut used = ActionSet::with_capacity(self.cat.action_count());
        let mut covered = ActionSet::with_capacity(self.cat.action_count());
        for (service, last) in &access.services {
            if let Some(svc) = self.cat.service(service) {
                let range = svc.action_range();
                covered.insert_range(range.clone());
                if is_used(last) {
                    used.insert_range(range);
                }
            }
        }
        for ((service, action), last) in &access.actions {
            let Some(id) = self
                .cat
                .service(service)
                .and_then(|s| s.action(action))
                .map(|a| a.id())
            else {
                continue;
            };
            covered.insert(id);
            if is_used(last) {
                used.insert(id);
            } else {
                used.remove(id);
            }
        }
        let mut no_data = granted.clone();
        no_data.subtract(&covered);
        let no_data_services = prefixes(services_of(self.cat, &no_data));
        let mut keep = used.clone();
        keep.union_with(&no_data);
        keep.union_with(&self.invisible);
        keep.union_with(recent);
        (keep, used, no_data_services)
    }

    /// The plan for one role at `now`.
    pub fn plan_role(&mut self, input: RoleInput<'_>, now: OffsetDateTime) -> RolePlan {
        let role = input.role;
        let mut plan = RolePlan {
            role_arn: role.arn.clone(),
            role_name: role.name.clone(),
            outcome: Outcome::Unchanged,
            removed: Vec::new(),
            removed_count: 0,
            removed_services: Vec::new(),
            policies: Vec::new(),
            kept: Vec::new(),
            no_data_services: Vec::new(),
            managed_unused: Vec::new(),
        };
        let reasons = filter::role_skips(&self.config.filter, role, input.access, now);
        let Some(access) = input.access.filter(|_| reasons.is_empty()) else {
            plan.outcome = Outcome::Skipped { reasons };
            return plan;
        };

        // Expand every statement once.
        let inline: Vec<Vec<Expanded>> = role
            .inline
            .iter()
            .map(|p| self.policy(&p.document))
            .collect();
        let managed: Vec<Managed<'_>> = role
            .attached
            .iter()
            .filter(|a| !a.aws_managed)
            .filter_map(|record| {
                record.document.as_ref().map(|document| Managed {
                    record,
                    document,
                    statements: self.policy(document),
                })
            })
            .collect();
        let mut granted = ActionSet::with_capacity(self.cat.action_count());
        for statements in &inline {
            granted_into(statements, &mut granted);
        }
        let mut all_granted = granted.clone();
        for m in &managed {
            granted_into(&m.statements, &mut all_granted);
        }

        let recent = filter::recently_added(
            self.cat,
            input.history,
            role.inline
                .iter()
                .map(|p| &p.document)
                .chain(role.attached.iter().filter_map(|a| a.document.as_ref())),
            self.config.filter.recent_days,
            now,
        );
        let (keep, used, no_data_services) = self.keep_set(&all_granted, access, &recent, now);
        plan.no_data_services = no_data_services;
        self.report_kept(&mut plan, role, &granted, &used, &recent);

        // What the plan takes from: the inline grants, and those of the
        // managed policies it detaches.
        let mut scope = granted;
        let mut inline_removed = scope.clone();
        inline_removed.subtract(&keep);
        let inline_size = if inline_removed.is_empty() {
            None
        } else {
            Some(self.rewrite_inline(&mut plan, role, &inline, &keep))
        };
        let mut size = Size {
            inline: inline_size,
            copies: 0,
        };
        for m in &managed {
            let unused = unused(&m.statements, &keep);
            if unused.is_empty() {
                continue;
            }
            let decision = if self.config.managed {
                self.replace_managed(&plan, role, m, &keep, &mut size)
            } else {
                ManagedDecision::Reported
            };
            if decision.detaches() {
                granted_into(&m.statements, &mut scope);
            }
            plan.managed_unused.push(ManagedUnused {
                arn: m.record.arn.clone(),
                unused: self.cache.minimize(&unused),
                unused_count: unused.len(),
                decision,
            });
        }

        let mut removed = scope.clone();
        removed.subtract(&keep);
        if removed.is_empty() {
            return plan;
        }
        plan.removed = self.cache.minimize(&removed);
        plan.removed_count = removed.len();
        scope.intersect_with(&keep);
        plan.removed_services = prefixes(
            services_of(self.cat, &removed)
                .into_iter()
                .filter(|s| scope.count_in(s.action_range()) == 0)
                .collect(),
        );
        let total = size.inline(role) + size.copies;
        plan.outcome = if total > self.config.inline_limit {
            Outcome::Refused {
                reason: format!(
                    "the rewritten inline policies take {total} characters, over IAM's limit of {}; \
                     move permissions to a managed policy or add a NOREPO statement",
                    self.config.inline_limit
                ),
            }
        } else {
            Outcome::Repo
        };
        plan
    }

    /// Adds a change for each inline policy the plan rewrites or deletes;
    /// answers the size of the inline policies after the plan.
    fn rewrite_inline(
        &mut self,
        plan: &mut RolePlan,
        role: &RoleRecord,
        inline: &[Vec<Expanded>],
        keep: &ActionSet,
    ) -> usize {
        let mut size = 0;
        for (policy, exp) in role.inline.iter().zip(inline) {
            if exp.iter().all(|e| e.untouched(keep)) {
                size += json_size(&policy.document);
                continue;
            }
            // A statement not untouched loses an action, so `new` differs
            // from the document.
            let new = self.rewrite(&policy.document, exp, keep);
            size += new.as_ref().map_or(0, json_size);
            let gone = unused(exp, keep);
            plan.policies.push(PolicyChange {
                name: policy.name.clone(),
                removed_count: gone.len(),
                diff: self.diff(&policy.document, new.as_ref()),
                old: policy.document.clone(),
                new,
            });
        }
        size
    }

    /// The decision for a customer-managed policy granting unused actions,
    /// with `PlanConfig::managed`: detach it, with a copy if anything of it
    /// is left, unless the copy does not fit.
    fn replace_managed(
        &mut self,
        plan: &RolePlan,
        role: &RoleRecord,
        managed: &Managed<'_>,
        keep: &ActionSet,
        size: &mut Size,
    ) -> ManagedDecision {
        let Some(copy) = self.rewrite(managed.document, &managed.statements, keep) else {
            return ManagedDecision::Detached;
        };
        let copy_size = json_size(&copy);
        let total = size.inline(role) + size.copies + copy_size;
        if total > self.config.inline_limit {
            return ManagedDecision::Refused {
                reason: format!(
                    "its right-sized inline copy takes {copy_size} characters, which would bring \
                     the role's inline policies to {total}, over IAM's limit of {}; it stays \
                     attached (make room in the inline policies, or keep it)",
                    self.config.inline_limit
                ),
            };
        }
        size.copies += copy_size;
        let taken: Vec<&str> = role
            .inline
            .iter()
            .map(|p| p.name.as_str())
            .chain(
                plan.managed_unused
                    .iter()
                    .filter_map(|m| match &m.decision {
                        ManagedDecision::Replaced { copy, .. } => Some(copy.name.as_str()),
                        _ => None,
                    }),
            )
            .collect();
        let name = copy_name(&managed.record.name, &taken);
        let diff = self.diff(managed.document, Some(&copy)).map(Box::new);
        ManagedDecision::Replaced {
            copy: Box::new(NamedPolicy {
                name,
                document: copy,
            }),
            diff,
        }
    }

    /// The [`diff`] of `old` and `new` (`None`: deleted), if the planner
    /// computes diffs.
    fn diff(&self, old: &Policy, new: Option<&Policy>) -> Option<PolicyDiff> {
        self.config.diffs.then(|| {
            let empty = Policy {
                version: old.version,
                id: None,
                statements: OneOrMany::Many(Vec::new()),
            };
            diff(self.cat, old, new.unwrap_or(&empty))
        })
    }

    fn report_kept(
        &mut self,
        plan: &mut RolePlan,
        role: &RoleRecord,
        granted: &ActionSet,
        used: &ActionSet,
        recent: &ActionSet,
    ) {
        for policy in &role.inline {
            for st in policy.document.statements.iter() {
                if let Some(sid) = st.sid.as_deref().filter(|_| filter::is_norepo(st)) {
                    plan.kept.push(Kept {
                        reason: KeepReason::NoRepoStatement {
                            policy: policy.name.clone(),
                            sid: sid.to_owned(),
                        },
                        permissions: st.action_patterns().to_vec(),
                    });
                }
            }
        }
        let mut sets = Vec::new();
        for (reason, set) in [
            (KeepReason::Invisible, &self.invisible),
            (KeepReason::RecentlyAdded, recent),
        ] {
            let mut unused = granted.clone();
            unused.intersect_with(set);
            unused.subtract(used);
            if !unused.is_empty() {
                sets.push((reason, unused));
            }
        }
        for (reason, unused) in sets {
            let permissions = self.cache.minimize(&unused);
            plan.kept.push(Kept {
                reason,
                permissions,
            });
        }
    }

    /// `policies` without the actions of `permission` (an action or a
    /// pattern) in their Allow statements, rewritten as a plan rewrites
    /// them (`NOREPO` statements untouched; policies left empty dropped);
    /// `None` if `permission` matches no known action.
    pub fn without(
        &mut self,
        policies: &[NamedPolicy],
        permission: &str,
    ) -> Option<Vec<NamedPolicy>> {
        let gone = self.cache.pattern(permission)?.clone();
        let mut keep = ActionSet::all(self.cat.action_count());
        keep.subtract(&gone);
        let mut out = Vec::with_capacity(policies.len());
        for policy in policies {
            let expanded = self.policy(&policy.document);
            if let Some(document) = self.rewrite(&policy.document, &expanded, &keep) {
                out.push(NamedPolicy {
                    name: policy.name.clone(),
                    document,
                });
            }
        }
        Some(out)
    }

    /// The policy with only `keep` left, or `None` if nothing is left.
    fn rewrite(&mut self, doc: &Policy, expanded: &[Expanded], keep: &ActionSet) -> Option<Policy> {
        let mut statements = Vec::with_capacity(expanded.len());
        for (st, exp) in doc.statements.iter().zip(expanded) {
            if exp.untouched(keep) {
                statements.push(st.clone());
                continue;
            }
            let mut wanted = ActionSet::clone(&exp.actions);
            wanted.intersect_with(keep);
            let mut patterns: Vec<String> = Vec::new();
            if !st.action.negated {
                for p in st.action.value.iter() {
                    if let Some(set) = self.cache.pattern(p)
                        && set.is_subset(keep)
                    {
                        wanted.subtract(set);
                        patterns.push(p.clone());
                    }
                }
            }
            patterns.extend(self.cache.minimize(&wanted));
            patterns.extend(exp.unknown.iter().cloned());
            if patterns.is_empty() {
                continue;
            }
            // Field by field: the old action list is not worth cloning.
            statements.push(Statement {
                sid: st.sid.clone(),
                effect: st.effect,
                principal: st.principal.clone(),
                action: Negatable::listed(OneOrMany::from_vec(patterns)),
                resource: st.resource.clone(),
                condition: st.condition.clone(),
            });
        }
        if statements.is_empty() {
            return None;
        }
        let statements = match &doc.statements {
            OneOrMany::One(_) if statements.len() == 1 => OneOrMany::from_vec(statements),
            _ => OneOrMany::Many(statements),
        };
        Some(Policy {
            version: doc.version,
            id: doc.id.clone(),
            statements,
        })
    }
}

/// The size of a role's inline policies after a plan, counted as needed.
struct Size {
    /// The rewritten inline policies, once counted (`None`: the plan
    /// leaves them all as they are and they were not counted yet).
    inline: Option<usize>,
    /// The copies of managed policies the plan adds.
    copies: usize,
}

impl Size {
    fn inline(&mut self, role: &RoleRecord) -> usize {
        *self
            .inline
            .get_or_insert_with(|| role.inline.iter().map(|p| json_size(&p.document)).sum())
    }
}

/// The name of the inline copy of managed policy `name`:
/// `repokid-<name>`, cut to [`POLICY_NAME_MAX`] characters, with `-2`,
/// `-3`... added if one of `taken` has it (IAM names ignore case).
fn copy_name(name: &str, taken: &[&str]) -> String {
    let base = format!("repokid-{name}");
    let candidate = |n: usize| {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let room = POLICY_NAME_MAX.saturating_sub(suffix.len());
        let stem = base
            .char_indices()
            .nth(room)
            .and_then(|(i, _)| base.get(..i))
            .unwrap_or(&base);
        format!("{stem}{suffix}")
    };
    // Each taken name rules out one candidate at most: one of the first
    // `taken.len() + 1` is free.
    (1..=taken.len() + 1)
        .map(candidate)
        .find(|c| !taken.iter().any(|t| t.eq_ignore_ascii_case(c)))
        .unwrap_or(base)
}

/// The services with at least one action in `set`.
fn services_of<'c>(cat: &'c Catalogue, set: &ActionSet) -> Vec<Service<'c>> {
    let mut out = Vec::new();
    let mut next = 0;
    while let Some(id) = set.next_from(next) {
        let Some(action) = cat.get(id) else { break };
        let service = action.service();
        next = service.action_range().end;
        out.push(service);
    }
    out
}

/// The prefixes of `services`.
fn prefixes(services: Vec<Service<'_>>) -> Vec<String> {
    services
        .into_iter()
        .map(|s| s.prefix().to_owned())
        .collect()
}

#[cfg(test)]
mod tests;
