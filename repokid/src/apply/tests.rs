use std::cell::RefCell;

use policies::catalogue::Catalogue;
use time::macros::datetime;

use super::*;
use crate::PlanConfig;
use crate::model::{AccessRecord, AccessSource, ManagedDecision};
use crate::store::SqliteStore;

const NOW: OffsetDateTime = datetime!(2024-05-01 0:00 UTC);
const ARN: &str = "arn:aws:iam::111122223333:role/web";

/// IAM in memory, its roles by ARN (a call naming a role any other way
/// finds none), with their attached managed policies; the `fail_put`-th
/// `PutRolePolicy` (1-based) fails, and so does every `DeleteRolePolicy` of
/// policy `fail_delete`.
#[derive(Default)]
struct FakeIam {
    roles: RefCell<BTreeMap<String, BTreeMap<String, Policy>>>,
    attached: RefCell<BTreeMap<String, Vec<String>>>,
    calls: RefCell<Vec<String>>,
    fail_put: Option<usize>,
    fail_delete: Option<&'static str>,
    puts: RefCell<usize>,
}

impl FakeIam {
    /// Role [`ARN`] with `policies`.
    fn with(policies: &[NamedPolicy]) -> FakeIam {
        let fake = FakeIam::default();
        fake.add(ARN, policies);
        fake
    }

    fn add(&self, arn: &str, policies: &[NamedPolicy]) {
        self.roles
            .borrow_mut()
            .insert(arn.to_owned(), as_map(policies));
    }

    /// The policies of role [`ARN`].
    fn state(&self) -> BTreeMap<String, Policy> {
        self.state_of(ARN)
    }

    fn state_of(&self, arn: &str) -> BTreeMap<String, Policy> {
        self.roles.borrow().get(arn).cloned().unwrap_or_default()
    }

    /// The managed policies attached to role [`ARN`].
    fn attached_now(&self) -> Vec<String> {
        self.attached.borrow().get(ARN).cloned().unwrap_or_default()
    }

    /// Runs `change` on the policies of role `arn`, or fails as IAM does
    /// for a role it does not have.
    fn on<T>(
        &self,
        operation: &'static str,
        arn: &str,
        change: impl FnOnce(&mut BTreeMap<String, Policy>) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        match self.roles.borrow_mut().get_mut(arn) {
            Some(policies) => change(policies),
            None => Err(IamError {
                operation,
                role: arn.into(),
                policy: None,
                message: "NoSuchEntity".into(),
            }),
        }
    }
}

fn failure(operation: &'static str, name: &str) -> IamError {
    IamError {
        operation,
        role: "web".into(),
        policy: Some(name.into()),
        message: "throttled".into(),
    }
}

impl Iam for FakeIam {
    async fn inline_policies(&self, role_arn: &str) -> Result<Vec<NamedPolicy>, IamError> {
        self.on("ListRolePolicies", role_arn, |policies| {
            Ok(policies
                .iter()
                .map(|(name, document)| NamedPolicy {
                    name: name.clone(),
                    document: document.clone(),
                })
                .collect())
        })
    }

    async fn put_policy(
        &self,
        role_arn: &str,
        name: &str,
        document: &Policy,
    ) -> Result<(), IamError> {
        *self.puts.borrow_mut() += 1;
        self.calls.borrow_mut().push(format!("put {name}"));
        if Some(*self.puts.borrow()) == self.fail_put {
            return Err(failure("PutRolePolicy", name));
        }
        self.on("PutRolePolicy", role_arn, |policies| {
            policies.insert(name.to_owned(), document.clone());
            Ok(())
        })
    }

    async fn delete_policy(&self, role_arn: &str, name: &str) -> Result<(), IamError> {
        self.calls.borrow_mut().push(format!("delete {name}"));
        if self.fail_delete == Some(name) {
            return Err(failure("DeleteRolePolicy", name));
        }
        self.on("DeleteRolePolicy", role_arn, |policies| {
            match policies.remove(name) {
                Some(_) => Ok(()),
                None => Err(failure("DeleteRolePolicy", name)),
            }
        })
    }

    async fn attached_policies(&self, role_arn: &str) -> Result<Vec<String>, IamError> {
        self.on("ListAttachedRolePolicies", role_arn, |_| Ok(()))?;
        Ok(self
            .attached
            .borrow()
            .get(role_arn)
            .cloned()
            .unwrap_or_default())
    }

    async fn attach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError> {
        self.calls.borrow_mut().push(format!("attach {policy_arn}"));
        self.on("AttachRolePolicy", role_arn, |_| Ok(()))?;
        let mut attached = self.attached.borrow_mut();
        let list = attached.entry(role_arn.to_owned()).or_default();
        // Attaching an attached policy succeeds and changes nothing, as in IAM.
        if !list.iter().any(|a| a == policy_arn) {
            list.push(policy_arn.to_owned());
        }
        Ok(())
    }

    async fn detach_policy(&self, role_arn: &str, policy_arn: &str) -> Result<(), IamError> {
        self.calls.borrow_mut().push(format!("detach {policy_arn}"));
        self.on("DetachRolePolicy", role_arn, |_| Ok(()))?;
        let mut attached = self.attached.borrow_mut();
        let list = attached.entry(role_arn.to_owned()).or_default();
        let before = list.len();
        list.retain(|a| a != policy_arn);
        if list.len() == before {
            return Err(failure("DetachRolePolicy", policy_arn));
        }
        Ok(())
    }
}

fn named(name: &str, text: &str) -> NamedPolicy {
    NamedPolicy {
        name: name.into(),
        document: Policy::parse(text).unwrap(),
    }
}

/// Three policies: `a` and `b` get rewritten, `c` (only EC2) is dropped.
fn originals() -> Vec<NamedPolicy> {
    vec![
        named(
            "a",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#,
        ),
        named(
            "b",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","ec2:StartInstances"],"Resource":"*"}]}"#,
        ),
        named(
            "c",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#,
        ),
    ]
}

fn store_with_role() -> SqliteStore {
    let store = SqliteStore::in_memory().unwrap();
    let role = RoleRecord {
        arn: ARN.into(),
        name: "web".into(),
        id: "AROA1".into(),
        path: "/".into(),
        create_date: Some(datetime!(2020-01-01 0:00 UTC)),
        tags: Vec::new(),
        inline: originals(),
        attached: Vec::new(),
    };
    store
        .put_roles(&[role], datetime!(2024-01-01 0:00 UTC))
        .unwrap();
    let record = |service: &str, last| AccessRecord {
        role_arn: ARN.into(),
        service: service.into(),
        action: None,
        last_used: last,
        source: AccessSource::Aardvark,
    };
    let used = Some(datetime!(2024-04-25 0:00 UTC));
    store
        .put_access(
            &[
                record("s3", used),
                record("sqs", used),
                record("ec2", Some(datetime!(2023-01-01 0:00 UTC))),
            ],
            datetime!(2024-04-30 0:00 UTC),
        )
        .unwrap();
    store
}

fn as_map(policies: &[NamedPolicy]) -> BTreeMap<String, Policy> {
    policies
        .iter()
        .map(|p| (p.name.clone(), p.document.clone()))
        .collect()
}

async fn run_repo(
    iam: &FakeIam,
    store: &SqliteStore,
    commit: bool,
) -> Result<ApplyReport, ApplyError> {
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    repo(iam, store, &mut planner, "web", commit, NOW).await
}

#[tokio::test]
async fn dry_run_makes_no_call_and_saves_nothing() {
    let iam = FakeIam::with(&originals());
    let store = store_with_role();
    let report = run_repo(&iam, &store, false).await.unwrap();
    let shape: Vec<(&str, bool)> = report
        .calls
        .iter()
        .map(|c| (c.name(), matches!(c, Call::Put { .. })))
        .collect();
    assert_eq!(shape, [("a", true), ("b", true), ("c", false)]);
    assert!(!report.committed);
    assert!(iam.calls.borrow().is_empty());
    assert!(store.inline_versions(ARN).unwrap().is_empty());
}

#[tokio::test]
async fn repo_saves_first_then_is_idempotent_and_rolls_back() {
    let iam = FakeIam::with(&originals());
    let store = store_with_role();
    let report = run_repo(&iam, &store, true).await.unwrap();
    assert!(report.committed);
    assert_eq!(report.saved_version, Some(1));
    let planned = planned_policies(&originals(), report.plan.as_ref().unwrap());
    assert_eq!(iam.state(), as_map(&planned));
    assert_eq!(planned.len(), 2);
    let saved = store.inline_versions(ARN).unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].reason, VersionReason::BeforeRepo);
    assert_eq!(as_map(&saved[0].policies), as_map(&originals()));

    iam.calls.borrow_mut().clear();
    let again = run_repo(&iam, &store, true).await.unwrap();
    assert!(again.calls.is_empty());
    assert!(iam.calls.borrow().is_empty());
    assert_eq!(store.inline_versions(ARN).unwrap().len(), 1);

    let back = rollback(&iam, &store, "web", None, true, NOW)
        .await
        .unwrap();
    assert_eq!(back.target.as_ref().map(|t| t.version), Some(1));
    assert_eq!(back.saved_version, Some(2));
    assert_eq!(iam.state(), as_map(&originals()));
    // The stored role follows IAM.
    let role = find_role(&store, "web").await.unwrap();
    assert_eq!(as_map(&role.inline), as_map(&originals()));
    // Rolling back to version 2 gives the repo'd policies again.
    rollback(&iam, &store, "web", Some(2), true, NOW)
        .await
        .unwrap();
    assert_eq!(iam.state(), as_map(&planned));
}

#[tokio::test]
async fn a_failure_half_way_restores_what_was_there() {
    let iam = FakeIam {
        fail_put: Some(2),
        ..FakeIam::with(&originals())
    };
    let store = store_with_role();
    let err = run_repo(&iam, &store, true).await.unwrap_err();
    let ApplyError::PartlyApplied {
        failure,
        applied,
        total,
        restore_failures,
        version,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(failure.policy.as_deref(), Some("b"));
    assert_eq!((*applied, *total, *version), (1, 3, 1));
    assert!(restore_failures.is_empty(), "{restore_failures:?}");
    // put a, put b (fails), then b and a are put back; c never touched.
    assert_eq!(*iam.calls.borrow(), ["put a", "put b", "put b", "put a"]);
    assert_eq!(iam.state(), as_map(&originals()));
    assert!(
        err.to_string()
            .contains("restored the inline policies stored as version 1"),
        "{err}"
    );
    // The documents were saved before the first call.
    assert_eq!(
        as_map(&store.inline_versions(ARN).unwrap()[0].policies),
        as_map(&originals())
    );
}

#[test]
fn calls_compare_documents() {
    let current = originals();
    assert!(calls(&current, &current).is_empty());
    let wanted = vec![
        current[1].clone(),
        named(
            "d",
            r#"{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        ),
    ];
    let got: Vec<String> = calls(&current, &wanted)
        .iter()
        .map(|c| {
            format!(
                "{}{}",
                if matches!(c, Call::Put { .. }) {
                    "+"
                } else {
                    "-"
                },
                c.name()
            )
        })
        .collect();
    assert_eq!(got, ["+d", "-a", "-c"]);
}

#[test]
fn rollback_defaults_to_the_version_before_the_last_repo() {
    let v = |version, reason| InlineVersion {
        role_arn: ARN.into(),
        version,
        taken_at: NOW,
        reason,
        policies: Vec::new(),
        attached: Vec::new(),
    };
    let versions = [
        v(1, VersionReason::BeforeRepo),
        v(2, VersionReason::BeforeRepo),
        v(3, VersionReason::BeforeRollback),
    ];
    assert_eq!(default_target(&versions).map(|v| v.version), Some(2));
    assert!(default_target(&versions[2..]).is_none());
}

#[tokio::test]
async fn a_role_held_by_another_run_is_refused_and_released_after() {
    let iam = FakeIam::with(&originals());
    let store = store_with_role();
    let arn = store.roles().unwrap()[0].arn.clone();
    assert!(store.try_lock(&arn, "other", NOW, NOW + LEASE).unwrap());
    let err = run_repo(&iam, &store, true).await.unwrap_err();
    assert!(matches!(&err, ApplyError::Locked(r) if r == "web"), "{err}");
    assert_eq!(iam.state(), as_map(&originals()), "no call made");
    // A dry run needs no lease.
    assert!(run_repo(&iam, &store, false).await.is_ok());
    store.unlock(&arn, "other").unwrap();
    let report = run_repo(&iam, &store, true).await.unwrap();
    assert!(report.committed);
    // The run gave its lease back: someone else may take it at once.
    assert!(store.try_lock(&arn, "other", NOW, NOW + LEASE).unwrap());
}

#[tokio::test]
async fn remove_takes_one_permission_out_everywhere() {
    let iam = FakeIam::with(&originals());
    let store = store_with_role();
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let dry = remove(&iam, &store, &mut planner, "web", "ec2:Start*", false, NOW)
        .await
        .unwrap();
    assert!(!dry.committed);
    assert_eq!(iam.state(), as_map(&originals()));
    let names: Vec<&str> = dry.calls.iter().map(Call::name).collect();
    assert_eq!(names, ["b", "c"]);

    let done = remove(&iam, &store, &mut planner, "web", "ec2:Start*", true, NOW)
        .await
        .unwrap();
    assert!(done.committed);
    let state = iam.state();
    assert_eq!(state["a"], originals()[0].document, "untouched");
    assert_eq!(
        state["b"]
            .statements
            .iter()
            .next()
            .unwrap()
            .action_patterns(),
        ["sqs:SendMessage"]
    );
    // `ec2:*` is written out without the StartInstances action.
    let c = state["c"]
        .statements
        .iter()
        .next()
        .unwrap()
        .action_patterns();
    assert!(!c.iter().any(|p| p == "ec2:*" || p == "ec2:StartInstances"));
    assert!(c.iter().any(|p| p == "ec2:D*"), "{c:?}");
    assert!(c.iter().any(|p| p == "ec2:StopInstances"), "{c:?}");
    let versions = store.inline_versions(ARN).unwrap();
    assert_eq!(versions.last().unwrap().reason, VersionReason::BeforeRemove);
    // Again: nothing left to remove.
    let again = remove(&iam, &store, &mut planner, "web", "ec2:Start*", true, NOW)
        .await
        .unwrap();
    assert!(again.calls.is_empty());
    let err = remove(&iam, &store, &mut planner, "web", "nope:Nothing", true, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::UnknownPermission(_)), "{err}");
}

/// The role `web` of [`ARN`] and one of the same name in another account.
const OTHER: &str = "arn:aws:iam::444455556666:role/team/web";

fn store_with_two_webs() -> SqliteStore {
    let store = store_with_role();
    let mut other = find_role_sync(&store, ARN);
    other.arn = OTHER.into();
    other.path = "/team/".into();
    store
        .put_roles(&[other], datetime!(2024-01-01 0:00 UTC))
        .unwrap();
    let used = |service: &str, last| AccessRecord {
        role_arn: OTHER.into(),
        service: service.into(),
        action: None,
        last_used: Some(last),
        source: AccessSource::Aardvark,
    };
    store
        .put_access(
            &[
                used("s3", datetime!(2024-04-25 0:00 UTC)),
                used("sqs", datetime!(2024-04-25 0:00 UTC)),
                used("ec2", datetime!(2023-01-01 0:00 UTC)),
            ],
            datetime!(2024-04-30 0:00 UTC),
        )
        .unwrap();
    store
}

fn find_role_sync(store: &SqliteStore, arn: &str) -> RoleRecord {
    store
        .roles()
        .unwrap()
        .into_iter()
        .find(|r| r.arn == arn)
        .unwrap()
}

#[tokio::test]
async fn roles_of_one_name_in_two_accounts_are_told_apart_by_arn() {
    let store = store_with_two_webs();
    let err = find_role(&store, "web").await.unwrap_err();
    let ApplyError::AmbiguousRole { name, arns } = &err else {
        panic!("{err}");
    };
    assert_eq!(name, "web");
    assert_eq!(arns.len(), 2);
    assert!(arns.iter().any(|a| a == ARN) && arns.iter().any(|a| a == OTHER));
    assert!(err.to_string().contains("by its ARN"), "{err}");
    assert_eq!(find_role(&store, OTHER).await.unwrap().arn, OTHER);
    assert!(matches!(
        find_role(&store, "arn:aws:iam::444455556666:role/web").await,
        Err(ApplyError::UnknownRole(_))
    ));

    // A name alone is refused before any call.
    let iam = FakeIam::with(&originals());
    iam.add(OTHER, &originals());
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let refused = repo(&iam, &store, &mut planner, "web", true, NOW).await;
    assert!(matches!(refused, Err(ApplyError::AmbiguousRole { .. })));
    assert!(iam.calls.borrow().is_empty());

    // By ARN: only that role changes.
    let done = repo(&iam, &store, &mut planner, OTHER, true, NOW)
        .await
        .unwrap();
    assert!(done.committed);
    assert_eq!(done.role_arn, OTHER);
    assert_eq!(
        iam.state(),
        as_map(&originals()),
        "the other account's role"
    );
    assert_ne!(iam.state_of(OTHER), as_map(&originals()));
    assert_eq!(store.inline_versions(OTHER).unwrap().len(), 1);
    assert!(store.inline_versions(ARN).unwrap().is_empty());

    // `repo --all`: both, each by its ARN, each in its own account.
    let arns = repoable(&store, &mut planner, NOW).await.unwrap();
    assert_eq!(arns, [ARN]);
    iam.add(OTHER, &originals());
    let both = [ARN.to_owned(), OTHER.to_owned()];
    let results = repo_many(&iam, &store, &mut planner, &both, true, NOW).await;
    for (r, arn) in results.iter().zip(&both) {
        let report = r.result.as_ref().unwrap();
        assert_eq!(&report.role_arn, arn);
        assert_eq!(report.role_name, "web");
    }
    assert_eq!(iam.state(), iam.state_of(OTHER));
    assert_ne!(iam.state(), as_map(&originals()));
}

#[tokio::test]
async fn a_role_iam_does_not_reach_fails_alone_in_a_run_over_many() {
    let store = store_with_two_webs();
    // IAM reaches only the first account.
    let iam = FakeIam::with(&originals());
    let mut planner = Planner::new(Catalogue::builtin(), PlanConfig::default());
    let both = [OTHER.to_owned(), ARN.to_owned()];
    let results = repo_many(&iam, &store, &mut planner, &both, true, NOW).await;
    let err = results[0].result.as_ref().unwrap_err();
    assert!(
        matches!(err, ApplyError::Iam(e) if e.role == OTHER && e.operation == "ListRolePolicies"),
        "{err}"
    );
    assert!(store.inline_versions(OTHER).unwrap().is_empty());
    assert!(results[1].result.as_ref().unwrap().committed);
    assert_ne!(iam.state(), as_map(&originals()));
}

/// A customer-managed policy of the account, attached to role `web`.
const SHARED: &str = "arn:aws:iam::111122223333:policy/team/shared";

/// Role `web` of [`store_with_role`] with [`SHARED`] attached too: S3 (used)
/// and EC2 (unused).
fn store_with_managed_role() -> SqliteStore {
    let store = store_with_role();
    let mut role = find_role_sync(&store, ARN);
    role.attached = vec![AttachedRecord {
        name: "shared".into(),
        arn: SHARED.into(),
        aws_managed: false,
        document: Some(
            Policy::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ec2:DescribeInstances"],"Resource":"*"}]}"#,
            )
            .unwrap(),
        ),
    }];
    store
        .put_roles(&[role], datetime!(2024-01-01 0:00 UTC))
        .unwrap();
    store
}

/// IAM holding [`originals`] and [`SHARED`] attached to role [`ARN`].
fn iam_with_managed() -> FakeIam {
    let iam = FakeIam::with(&originals());
    iam.attached
        .borrow_mut()
        .insert(ARN.into(), vec![SHARED.into()]);
    iam
}

async fn run_managed_repo(
    iam: &FakeIam,
    store: &SqliteStore,
    commit: bool,
) -> Result<ApplyReport, ApplyError> {
    let config = PlanConfig {
        managed: true,
        ..PlanConfig::default()
    };
    let mut planner = Planner::new(Catalogue::builtin(), config);
    repo(iam, store, &mut planner, "web", commit, NOW).await
}

/// The calls of a report, as the fake logs them.
fn call_log(report: &ApplyReport) -> Vec<String> {
    report
        .calls
        .iter()
        .map(|c| match c {
            Call::Put { name, .. } => format!("put {name}"),
            Call::Delete { name, .. } => format!("delete {name}"),
            Call::Detach { policy_arn } => format!("detach {policy_arn}"),
            Call::Attach { policy_arn } => format!("attach {policy_arn}"),
        })
        .collect()
}

#[tokio::test]
async fn without_managed_an_attached_policy_is_only_reported() {
    let iam = iam_with_managed();
    let store = store_with_managed_role();
    let report = run_repo(&iam, &store, true).await.unwrap();
    let plan = report.plan.as_ref().unwrap();
    assert_eq!(plan.managed_unused.len(), 1);
    assert_eq!(plan.managed_unused[0].decision, ManagedDecision::Reported);
    assert_eq!(call_log(&report), ["put a", "put b", "delete c"]);
    assert_eq!(iam.attached_now(), [SHARED]);
    assert!(!iam.state().contains_key("repokid-shared"));
    // The version saved records the attachment anyway.
    assert_eq!(store.inline_versions(ARN).unwrap()[0].attached, [SHARED]);
}

#[tokio::test]
async fn managed_repo_puts_the_copy_then_detaches_then_rolls_back() {
    let iam = iam_with_managed();
    let store = store_with_managed_role();
    let detach = format!("detach {SHARED}");
    let attach = format!("attach {SHARED}");

    // The dry run lists the detach, between the puts and the delete.
    let dry = run_managed_repo(&iam, &store, false).await.unwrap();
    assert_eq!(
        call_log(&dry),
        ["put a", "put b", "put repokid-shared", &detach, "delete c"]
    );
    assert!(iam.calls.borrow().is_empty());
    assert_eq!(iam.attached_now(), [SHARED]);

    let done = run_managed_repo(&iam, &store, true).await.unwrap();
    assert!(done.committed);
    assert_eq!(*iam.calls.borrow(), call_log(&dry));
    assert!(iam.attached_now().is_empty());
    let copy = &iam.state()["repokid-shared"];
    assert_eq!(
        copy.statements.iter().next().unwrap().action_patterns(),
        ["s3:GetObject"]
    );
    let expected = planned_policies(&originals(), done.plan.as_ref().unwrap());
    assert_eq!(iam.state(), as_map(&expected));
    // Saved first: the inline policies and the attachment as they were.
    let saved = store.inline_versions(ARN).unwrap();
    assert_eq!(as_map(&saved[0].policies), as_map(&originals()));
    assert_eq!(saved[0].attached, [SHARED]);
    // The stored role follows IAM.
    let role = find_role(&store, "web").await.unwrap();
    assert!(role.attached.is_empty());
    assert!(role.inline.iter().any(|p| p.name == "repokid-shared"));

    // Twice: the policy is no longer attached and the copy is inline and
    // right-sized already; nothing to do.
    iam.calls.borrow_mut().clear();
    let again = run_managed_repo(&iam, &store, true).await.unwrap();
    assert!(again.calls.is_empty(), "{:?}", again.calls);
    assert!(iam.calls.borrow().is_empty());
    assert_eq!(store.inline_versions(ARN).unwrap().len(), 1);

    // Rollback: inline policies as before, the policy re-attached before
    // its copy goes.
    let back = rollback(&iam, &store, "web", None, true, NOW)
        .await
        .unwrap();
    assert_eq!(
        call_log(&back),
        ["put a", "put b", "put c", &attach, "delete repokid-shared"]
    );
    assert_eq!(iam.state(), as_map(&originals()));
    assert_eq!(iam.attached_now(), [SHARED]);
    let role = find_role(&store, "web").await.unwrap();
    assert_eq!(role.attached.len(), 1);
    assert_eq!(role.attached[0].arn, SHARED);
    assert_eq!(role.attached[0].name, "shared");
    assert!(
        role.attached[0].document.is_some(),
        "from the stored history"
    );
    // The rollback saved the state it replaced: no attachment then.
    let saved = store.inline_versions(ARN).unwrap();
    assert!(saved[1].attached.is_empty());

    // Rolling back again changes nothing; the managed repo can run again.
    iam.calls.borrow_mut().clear();
    let twice = rollback(&iam, &store, "web", Some(1), true, NOW)
        .await
        .unwrap();
    assert!(twice.calls.is_empty(), "{:?}", twice.calls);
    assert!(iam.calls.borrow().is_empty());
    let redo = run_managed_repo(&iam, &store, false).await.unwrap();
    assert!(call_log(&redo).contains(&detach));
}

#[tokio::test]
async fn rollback_never_detaches() {
    let iam = iam_with_managed();
    let store = store_with_managed_role();
    run_managed_repo(&iam, &store, true).await.unwrap();
    // Attached since by someone else: the rollback leaves it.
    let other = "arn:aws:iam::111122223333:policy/other";
    iam.attached
        .borrow_mut()
        .get_mut(ARN)
        .unwrap()
        .push(other.into());
    let back = rollback(&iam, &store, "web", Some(1), true, NOW)
        .await
        .unwrap();
    assert!(!call_log(&back).iter().any(|c| c.starts_with("detach")));
    assert_eq!(iam.attached_now(), [other, SHARED]);
}

#[tokio::test]
async fn a_failure_after_the_detach_reattaches_and_deletes_the_copy() {
    let iam = FakeIam {
        fail_delete: Some("c"),
        ..iam_with_managed()
    };
    let store = store_with_managed_role();
    let err = run_managed_repo(&iam, &store, true).await.unwrap_err();
    let ApplyError::PartlyApplied {
        applied,
        total,
        restore_failures,
        ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!((*applied, *total), (4, 5));
    assert!(restore_failures.is_empty(), "{restore_failures:?}");
    let (detach, attach) = (format!("detach {SHARED}"), format!("attach {SHARED}"));
    assert_eq!(
        *iam.calls.borrow(),
        [
            "put a",
            "put b",
            "put repokid-shared",
            &detach,
            "delete c",
            // Undone, latest first (the failed delete too: it may have
            // taken effect).
            "put c",
            &attach,
            "delete repokid-shared",
            "put b",
            "put a",
        ]
    );
    assert_eq!(iam.state(), as_map(&originals()));
    assert_eq!(iam.attached_now(), [SHARED]);
    // The stored role is left as it was.
    let role = find_role(&store, "web").await.unwrap();
    assert_eq!(role.attached.len(), 1);
}
