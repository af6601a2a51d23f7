//! Writes grouped into `TransactWriteItems` calls.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;

use crate::CallError;
use crate::call::call_detail;

/// Most actions in one `TransactWriteItems` (the service's limit).
const MAX_ACTIONS: usize = 100;
/// Bytes of bodies in one transaction before another is started (the
/// service's limit is 4 MB of request, keys and names included).
const MAX_BYTES: usize = 3_000_000;

/// Writes that belong together: a record and what hangs on it.
#[derive(Debug, Default)]
pub struct Group {
    /// The writes, in order.
    pub actions: Vec<TransactWriteItem>,
    /// The bytes of bodies they carry (see [`put_body`](crate::put_body)).
    pub bytes: usize,
    /// What they write, for the conflict message (`role arn:...`).
    pub name: String,
}

/// Writes `groups` in order, in as few transactions as the service's limits
/// allow: a group is never split over two unless it alone holds more than
/// 100 writes (then its writes go in order over several). Transactions are
/// sent one after another, so a failure leaves the earlier ones written and
/// the rest not; a transaction cancelled because a condition did not hold
/// or another transaction touched its items answers
/// [`CallError::Conflict`] naming its groups.
pub async fn transact(client: &Client, groups: Vec<Group>) -> Result<(), CallError> {
    for t in transactions(groups) {
        let result = client
            .transact_write_items()
            .set_transact_items(Some(t.actions))
            .send()
            .await;
        if let Err(e) = result {
            return Err(if lost_a_race(&e) {
                CallError::Conflict {
                    what: t.names.join(", "),
                }
            } else {
                CallError::failed("TransactWriteItems", call_detail(&e))
            });
        }
    }
    Ok(())
}

/// One transaction's writes, and the names of the groups it (partly) holds.
#[derive(Default)]
struct Transaction {
    actions: Vec<TransactWriteItem>,
    names: Vec<String>,
}

/// `groups` packed into transactions, in order.
fn transactions(groups: Vec<Group>) -> Vec<Transaction> {
    let mut out = Vec::new();
    let mut current = Transaction::default();
    let mut bytes = 0;
    for group in groups {
        if !current.actions.is_empty()
            && (current.actions.len() + group.actions.len() > MAX_ACTIONS
                || bytes + group.bytes > MAX_BYTES)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += group.bytes;
        for action in group.actions {
            if current.actions.len() == MAX_ACTIONS {
                // A group of more than MAX_ACTIONS writes: split it, and
                // count all its bytes again for what follows.
                let mut full = std::mem::take(&mut current);
                full.names.push(group.name.clone());
                out.push(full);
                bytes = group.bytes;
            }
            current.actions.push(action);
        }
        current.names.push(group.name);
    }
    if !current.actions.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a transaction was cancelled for a failed condition or a
/// concurrent transaction on the same items.
fn lost_a_race<R>(e: &SdkError<TransactWriteItemsError, R>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
            cancelled.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some("ConditionalCheckFailed" | "TransactionConflict")
                )
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;

    use super::*;

    fn group(name: &str, actions: usize, bytes: usize) -> Group {
        Group {
            actions: (0..actions)
                .map(|_| TransactWriteItem::builder().build())
                .collect(),
            bytes,
            name: name.to_owned(),
        }
    }

    fn shape(groups: Vec<Group>) -> Vec<(usize, Vec<String>)> {
        transactions(groups)
            .into_iter()
            .map(|t| (t.actions.len(), t.names))
            .collect()
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn groups_share_transactions_up_to_the_action_limit() {
        assert_eq!(
            shape(vec![group("a", 60, 0), group("b", 40, 0), group("c", 1, 0)]),
            vec![(100, names(&["a", "b"])), (1, names(&["c"]))]
        );
        assert!(shape(Vec::new()).is_empty());
    }

    #[test]
    fn groups_share_transactions_up_to_the_byte_limit() {
        assert_eq!(
            shape(vec![
                group("a", 1, 2_000_000),
                group("b", 1, 1_000_000),
                group("c", 1, 1),
                group("d", 1, 1),
            ]),
            vec![(2, names(&["a", "b"])), (2, names(&["c", "d"]))]
        );
        // A group over the limit on its own still goes, alone.
        assert_eq!(
            shape(vec![group("a", 1, 1), group("big", 1, 5_000_000)]),
            vec![(1, names(&["a"])), (1, names(&["big"]))]
        );
    }

    #[test]
    fn only_a_group_over_the_action_limit_is_split() {
        assert_eq!(
            shape(vec![
                group("a", 10, 0),
                group("huge", 250, 0),
                group("b", 5, 0)
            ]),
            vec![
                (10, names(&["a"])),
                (100, names(&["huge"])),
                (100, names(&["huge"])),
                (55, names(&["huge", "b"])),
            ]
        );
        // After a split the rest of the group still counts its bytes.
        assert_eq!(
            shape(vec![group("huge", 101, 2_500_000), group("b", 1, 600_000)]),
            vec![
                (100, names(&["huge"])),
                (1, names(&["huge"])),
                (1, names(&["b"]))
            ]
        );
    }

    fn cancelled(codes: &[&str]) -> SdkError<TransactWriteItemsError, ()> {
        let reasons = codes
            .iter()
            .map(|c| CancellationReason::builder().code(*c).build())
            .collect();
        SdkError::service_error(
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .set_cancellation_reasons(Some(reasons))
                    .build(),
            ),
            (),
        )
    }

    #[test]
    fn a_lost_condition_or_a_concurrent_write_is_a_race() {
        assert!(lost_a_race(&cancelled(&["None", "ConditionalCheckFailed"])));
        assert!(lost_a_race(&cancelled(&["TransactionConflict"])));
        assert!(!lost_a_race(&cancelled(&["None", "ValidationError"])));
        assert!(!lost_a_race(&cancelled(&["ThrottlingError"])));
        assert!(!lost_a_race(
            &SdkError::<TransactWriteItemsError, ()>::timeout_error("slow")
        ));
    }
}
