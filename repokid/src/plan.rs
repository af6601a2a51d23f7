//! The pure core: from a role, its access history and its policy history,
//! the rewritten inline policies that drop what the role has not used.
//!
//! No I/O, no clock: `now` is an argument. For each role not excluded by
//! [`filter::role_skips`]:
//! 1. every Allow statement is expanded to catalogue actions;
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
//!    ([`minimize_set`]); a `NotAction` becomes an explicit `Action` list;
//!    patterns the catalogue does not know are kept (they may name actions
//!    newer than the catalogue). Statements left with no action go, and so
//!    do policies left with no statement;
//! 4. the rewritten inline policies must fit IAM's 10,240-character limit
//!    for a role's inline policies (whitespace not counted), or the plan is
//!    refused;
//! 5. attached customer-managed policies are not rewritten; their unused
//!    permissions are reported.

use std::collections::HashMap;

use policies::Policy;
use policies::catalogue::{ActionId, ActionSet, Catalogue};
use policies::diff::diff;
use policies::expand::expand_pattern;
use policies::minimize::{Options, minimize_set};
use policies::model::{Effect, Negatable, OneOrMany, Statement};
use time::{Duration, OffsetDateTime};

use crate::access::RoleAccess;
use crate::filter::{self, FilterConfig};
use crate::model::{
    KeepReason, Kept, ManagedUnused, NamedPolicy, Outcome, PolicyChange, PolicyVersionRecord,
    RolePlan, RoleRecord,
};

/// IAM's limit on the total size of a role's inline policies, in
/// characters, whitespace excluded.
pub const INLINE_LIMIT: usize = 10_240;

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
}

impl Default for PlanConfig {
    fn default() -> Self {
        PlanConfig {
            filter: FilterConfig::default(),
            unused_after_days: 90,
            inline_limit: INLINE_LIMIT,
            diffs: true,
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

/// Plans roles against one catalogue; caches pattern expansions across roles.
pub struct Planner<'c> {
    cat: &'c Catalogue,
    config: PlanConfig,
    invisible: ActionSet,
    /// Pattern → its actions, or `None` if it matches none.
    patterns: HashMap<String, Option<ActionSet>>,
    /// (a service's first id, a subset of its actions as a bit mask from
    /// there) → their fewest patterns.
    minimized: HashMap<(usize, Vec<u64>), Vec<String>>,
}

/// Past this many cached minimizations the cache starts afresh (bounds memory).
const MINIMIZED_CACHE: usize = 200_000;

/// The expansion of one statement's `Action`/`NotAction`.
struct Expanded {
    actions: ActionSet,
    /// Listed patterns the catalogue does not know.
    unknown: Vec<String>,
}

impl<'c> Planner<'c> {
    /// A planner with `config`.
    pub fn new(cat: &'c Catalogue, config: PlanConfig) -> Self {
        Planner {
            cat,
            invisible: filter::invisible_actions(cat),
            config,
            patterns: HashMap::new(),
            minimized: HashMap::new(),
        }
    }

    /// [`minimize_set`], one service at a time, cached: the same subsets of
    /// a service recur across statements and roles.
    fn minimize(&mut self, set: &ActionSet) -> Vec<String> {
        let mut out = Vec::new();
        // The service's first id, and its subset as a bit mask from there.
        let mut key: (usize, Vec<u64>) = (0, Vec::new());
        let mut end = 0;
        for id in set {
            let i = id.index();
            if i >= end {
                self.flush_minimized(&mut key, &mut out);
                let Some(action) = self.cat.get(id) else {
                    break;
                };
                let range = action.service().action_range();
                key.0 = range.start;
                end = range.end;
            }
            let bit = i - key.0;
            if key.1.len() <= bit / 64 {
                key.1.resize(bit / 64 + 1, 0);
            }
            if let Some(word) = key.1.get_mut(bit / 64) {
                *word |= 1 << (bit % 64);
            }
        }
        self.flush_minimized(&mut key, &mut out);
        out.sort_by(|a, b| {
            a.bytes()
                .map(|c| c.to_ascii_lowercase())
                .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
                .then_with(|| a.cmp(b))
        });
        out
    }

    fn flush_minimized(&mut self, key: &mut (usize, Vec<u64>), out: &mut Vec<String>) {
        if key.1.is_empty() {
            return;
        }
        if let Some(found) = self.minimized.get(key) {
            out.extend(found.iter().cloned());
            key.1.clear();
            return;
        }
        let mut set = ActionSet::new();
        for (w, word) in key.1.iter().enumerate() {
            for b in 0..64 {
                if word & (1 << b) != 0 {
                    let index = key.0 + w * 64 + b;
                    set.insert(ActionId::new(u32::try_from(index).unwrap_or(u32::MAX)));
                }
            }
        }
        let patterns = minimize_set(self.cat, &set, &Options::default());
        out.extend(patterns.iter().cloned());
        if self.minimized.len() >= MINIMIZED_CACHE {
            self.minimized.clear();
        }
        self.minimized
            .insert((key.0, std::mem::take(&mut key.1)), patterns);
    }

    /// The actions one pattern grants (cached), `None` if none.
    fn pattern(&mut self, pattern: &str) -> Option<&ActionSet> {
        // Keyed as written: a pattern spelt in another case is one more
        // entry with the same expansion.
        if !self.patterns.contains_key(pattern) {
            let mut set = ActionSet::new();
            let found = expand_pattern(self.cat, pattern, &mut set)
                .ok()
                .map(|()| set);
            self.patterns.insert(pattern.to_owned(), found);
        }
        self.patterns.get(pattern).and_then(Option::as_ref)
    }

    fn statement(&mut self, st: &Statement) -> Expanded {
        let mut actions = ActionSet::new();
        let mut unknown = Vec::new();
        for p in st.action.value.iter() {
            match self.pattern(p) {
                Some(set) => actions.union_with(set),
                None => unknown.push(p.clone()),
            }
        }
        if st.action.negated {
            let mut all = ActionSet::all(self.cat.action_count());
            all.subtract(&actions);
            return Expanded {
                actions: all,
                unknown: Vec::new(),
            };
        }
        Expanded { actions, unknown }
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
        let mut used = ActionSet::new();
        let mut covered = ActionSet::new();
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
        let no_data_services = services_of(self.cat, &no_data);
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

        // Expand every inline statement once.
        let mut expanded: Vec<Vec<Expanded>> = Vec::with_capacity(role.inline.len());
        let mut granted = ActionSet::new();
        for policy in &role.inline {
            let mut list = Vec::with_capacity(policy.document.statements.len());
            for st in policy.document.statements.iter() {
                let e = self.statement(st);
                if st.effect == Effect::Allow && !filter::is_norepo(st) {
                    granted.union_with(&e.actions);
                }
                list.push(e);
            }
            expanded.push(list);
        }
        let managed: Vec<(&str, ActionSet)> = role
            .attached
            .iter()
            .filter(|a| !a.aws_managed)
            .filter_map(|a| a.document.as_ref().map(|d| (a.arn.as_str(), d)))
            .map(|(arn, doc)| {
                let mut set = ActionSet::new();
                for st in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
                    set.union_with(&self.statement(st).actions);
                }
                (arn, set)
            })
            .collect();
        let mut all_granted = granted.clone();
        for (_, set) in &managed {
            all_granted.union_with(set);
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

        for (arn, set) in &managed {
            let mut unused = set.clone();
            unused.subtract(&keep);
            if !unused.is_empty() {
                plan.managed_unused.push(ManagedUnused {
                    arn: (*arn).to_owned(),
                    unused: self.minimize(&unused),
                    unused_count: unused.len(),
                });
            }
        }

        let mut removed = granted.clone();
        removed.subtract(&keep);
        if removed.is_empty() {
            return plan;
        }
        plan.removed = self.minimize(&removed);
        plan.removed_count = removed.len();
        let mut kept_granted = granted.clone();
        kept_granted.intersect_with(&keep);
        plan.removed_services = services_of(self.cat, &removed)
            .into_iter()
            .filter(|s| {
                self.cat
                    .service(s)
                    .is_none_or(|svc| kept_granted.count_in(svc.action_range()) == 0)
            })
            .collect();

        let mut size = 0;
        for (policy, exp) in role.inline.iter().zip(&expanded) {
            if policy
                .document
                .statements
                .iter()
                .zip(exp)
                .all(|(st, e)| untouched(st, e, &keep))
            {
                size += json_size(&policy.document);
                continue;
            }
            let new = self.rewrite(&policy.document, exp, &keep);
            if let Some(doc) = &new {
                size += json_size(doc);
            }
            if new.as_ref() != Some(&policy.document) {
                let mut gone = ActionSet::new();
                for (st, e) in policy.document.statements.iter().zip(exp) {
                    if st.effect == Effect::Allow && !filter::is_norepo(st) {
                        gone.union_with(&e.actions);
                    }
                }
                gone.subtract(&keep);
                let diff = self.config.diffs.then(|| {
                    let empty = Policy {
                        version: policy.document.version,
                        id: None,
                        statements: OneOrMany::Many(Vec::new()),
                    };
                    diff(self.cat, &policy.document, new.as_ref().unwrap_or(&empty))
                });
                plan.policies.push(PolicyChange {
                    name: policy.name.clone(),
                    removed_count: gone.len(),
                    diff,
                    old: policy.document.clone(),
                    new,
                });
            }
        }
        plan.outcome = if size > self.config.inline_limit {
            Outcome::Refused {
                reason: format!(
                    "the rewritten inline policies take {size} characters, over IAM's limit of {}; \
                     move permissions to a managed policy or add a NOREPO statement",
                    self.config.inline_limit
                ),
            }
        } else {
            Outcome::Repo
        };
        plan
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
            let permissions = self.minimize(&unused);
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
        let gone = self.pattern(permission)?.clone();
        let mut keep = ActionSet::all(self.cat.action_count());
        keep.subtract(&gone);
        let mut out = Vec::with_capacity(policies.len());
        for policy in policies {
            let expanded: Vec<Expanded> = policy
                .document
                .statements
                .iter()
                .map(|st| self.statement(st))
                .collect();
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
            if untouched(st, exp, keep) {
                statements.push(st.clone());
                continue;
            }
            let mut wanted = exp.actions.clone();
            wanted.intersect_with(keep);
            let mut patterns: Vec<String> = Vec::new();
            if !st.action.negated {
                for p in st.action.value.iter() {
                    if let Some(set) = self.pattern(p)
                        && set.is_subset(keep)
                    {
                        wanted.subtract(set);
                        patterns.push(p.clone());
                    }
                }
            }
            patterns.extend(self.minimize(&wanted));
            patterns.extend(exp.unknown.iter().cloned());
            if patterns.is_empty() {
                continue;
            }
            let mut new = st.clone();
            new.action = Negatable::listed(OneOrMany::from_vec(patterns));
            statements.push(new);
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

/// Whether a plan leaves the statement as written: a Deny, a `NOREPO`
/// statement, or one whose every action is kept.
fn untouched(st: &Statement, exp: &Expanded, keep: &ActionSet) -> bool {
    st.effect == Effect::Deny || filter::is_norepo(st) || exp.actions.is_subset(keep)
}

/// The service prefixes with at least one action in `set`.
fn services_of(cat: &Catalogue, set: &ActionSet) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = 0;
    for id in set {
        if id.index() < next {
            continue;
        }
        let Some(action) = cat.get(id) else { break };
        let service = action.service();
        next = service.action_range().end;
        out.push(service.prefix().to_owned());
    }
    out
}

/// A policy's size as IAM counts it: its JSON without whitespace outside
/// strings (the compact JSON form), counted without writing it.
pub use size::json_size;

mod size;

#[cfg(test)]
mod tests;
