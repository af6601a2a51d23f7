//! Many accounts through moto's STS: a role assumed per account, a bounded
//! number at once, one account's failure reported with its id.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use monitor::source::SourceError;
use monitor::source::accounts::{AssumeRole, for_each_account};

#[tokio::test]
async fn source_every_account_runs_with_its_own_role_and_failures_stay_local() {
    let Some(config) = testkit::aws_config().await else {
        return;
    };
    let accounts: Vec<String> = [
        "111111111111",
        "222222222222",
        "333333333333",
        "444444444444",
        "111111111111",
    ]
    .map(str::to_owned)
    .to_vec();
    let role = AssumeRole::new("monitor-audit", "monitor-test");
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (now, peak) = (Arc::clone(&running), Arc::clone(&most));
    let results = for_each_account(&config, &accounts, &role, 2, move |account, assumed| {
        let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
        async move {
            let here = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(here, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let identity = aws_sdk_sts::Client::new(&assumed)
                .get_caller_identity()
                .send()
                .await
                .map_err(|e| SourceError::handler(e.to_string()));
            now.fetch_sub(1, Ordering::SeqCst);
            if account == "333333333333" {
                return Err(SourceError::handler("the audit failed"));
            }
            Ok(identity?.arn().unwrap_or_default().to_owned())
        }
    })
    .await;

    assert!(
        most.load(Ordering::SeqCst) <= 2,
        "more than 2 accounts at once"
    );
    let order: Vec<&str> = results.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(
        order,
        [
            "111111111111",
            "222222222222",
            "333333333333",
            "444444444444"
        ]
    );
    for result in &results {
        match (result.account.as_str(), &result.result) {
            ("333333333333", Err(error)) => {
                assert_eq!(
                    error.to_string(),
                    "account `333333333333`: stopped by the item handler: the audit failed"
                );
            }
            (account, Ok(arn)) => {
                // The work ran with the assumed role's credentials.
                assert!(
                    arn.starts_with(&format!(
                        "arn:aws:sts::{account}:assumed-role/monitor-audit/"
                    )),
                    "{arn}"
                );
            }
            (account, Err(error)) => panic!("{account}: {error}"),
        }
    }
    assert_eq!(
        role.role_arn("555555555555"),
        "arn:aws:iam::555555555555:role/monitor-audit"
    );
}
