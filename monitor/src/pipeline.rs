//! One monitoring run, the same from the command line and from Lambda:
//! record what was collected, audit the scope, set suppressed issues aside,
//! compare with the issues on record, alert on what is new, and only then
//! remember the new issue states.
//!
//! Alerts go out before issue states are written: if a sink fails, the states
//! stay as they were, so the next run alerts again rather than never (an
//! issue alert is delivered at least once). Resource changes are recorded
//! before alerting, so their alerts are at most once; a failed delivery is
//! reported in [`RunReport::delivery`].

use time::OffsetDateTime;

use crate::alert::{self, Delivery, Options, Sink};
use crate::audit::{Auditor, Index};
use crate::lifecycle::{self, Scope};
use crate::model::{ConfigItem, Event, Issue};
use crate::store::{Filter, Store, StoreError};
use crate::suppress::{Expired, Suppressed, Suppressions};

/// What a run needs.
pub struct Pipeline<'a> {
    /// Where revisions and issue states are kept.
    pub store: &'a dyn Store,
    /// How issues are found.
    pub auditor: &'a Auditor<'a>,
    /// Issues set aside with a reason.
    pub suppressions: &'a Suppressions,
    /// Which events make alerts.
    pub alerts: Options,
    /// Where alerts go (none: no alerts).
    pub sinks: &'a [Box<dyn Sink>],
}

/// What a run did.
#[derive(Debug)]
pub struct RunReport {
    /// Everything that changed: resources and issues.
    pub events: Vec<Event>,
    /// The open issues of the scope, suppressed ones excluded, sorted.
    pub issues: Vec<Issue>,
    /// Issues a live suppression set aside.
    pub suppressed: Vec<Suppressed>,
    /// Suppressions past their date that still match issues.
    pub expired: Vec<Expired>,
    /// Alerts made.
    pub alerts: usize,
    /// How their delivery went.
    pub delivery: Delivery,
    /// Whether issue states were written (false when a delivery failed).
    pub committed: bool,
}

impl Pipeline<'_> {
    /// Runs once over `scope` at `now`. With `collected`, those items are a
    /// complete collection of the scope and are recorded first (resources
    /// missing from them are recorded as deleted); without, the newest
    /// recorded state is audited. `run` names the run in alerts.
    pub async fn run(
        &self,
        scope: &Scope,
        collected: Option<&[ConfigItem]>,
        run: &str,
        now: OffsetDateTime,
    ) -> Result<RunReport, StoreError> {
        let mut events = match collected {
            Some(items) => self.store.record_complete(scope, items, now).await?,
            None => Vec::new(),
        };
        let scope = with_global(scope);
        let index = self.index(&scope).await?;
        let found = self.auditor.audit(&index, now);
        let outcome = self
            .suppressions
            .apply(found, |key| index.tags(key), now.date());

        let previous = self.store.issues(&scope).await?;
        let justifications = self.store.justifications().await?;
        let preview =
            lifecycle::reconcile(&scope, &previous, &justifications, &outcome.issues, now);
        events.extend(preview.events);

        let alerts = alert::alerts(&events, &self.alerts, run, now);
        let delivery = alert::deliver(&alerts, self.sinks).await;
        let committed = delivery.failures.is_empty();
        if committed {
            self.store.reconcile(&scope, &outcome.issues, now).await?;
        }
        Ok(RunReport {
            events,
            issues: outcome.issues,
            suppressed: outcome.suppressed,
            expired: outcome.expired,
            alerts: alerts.len(),
            delivery,
            committed,
        })
    }

    async fn index(&self, scope: &Scope) -> Result<Index, StoreError> {
        let filter = Filter {
            scope: scope.clone(),
            include_deleted: false,
        };
        let mut index = Index::new();
        for item in self.store.latest(&filter).await? {
            index.insert(item);
        }
        Ok(index)
    }
}

/// `scope` widened to IAM's `global` region when it names regions: a
/// region's resources are judged with the account's IAM policies.
pub fn with_global(scope: &Scope) -> Scope {
    let mut scope = scope.clone();
    if !scope.regions.is_empty() && !scope.regions.iter().any(|r| r == "global") {
        scope.regions.push("global".to_owned());
    }
    scope
}
