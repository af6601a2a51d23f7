//! What moto never does: a service that leaves keys and items unprocessed
//! (as DynamoDB does when throttled), and batches over the per-call limits
//! counted call by call. The SDK's own mocks answer.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Mutex;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use dynamo_item::{CallError, Item, batch_get, batch_put, n, s};

const TABLE: &str = "t";

fn key(i: usize) -> Item {
    Item::from([("pk".to_owned(), s(format!("k{i}")))])
}

fn keys(from: usize, to: usize) -> Vec<Item> {
    (from..to).map(key).collect()
}

/// What a `BatchGetItem` request asks of the table.
fn asked(
    request: &aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemInput,
) -> KeysAndAttributes {
    request.request_items().unwrap().get(TABLE).unwrap().clone()
}

#[tokio::test]
async fn batch_get_chunks_by_100_and_sends_unprocessed_keys_again() {
    let calls: Mutex<Vec<usize>> = Mutex::default();
    let rule = mock!(Client::batch_get_item).then_compute_output(move |request| {
        let asked = asked(request);
        assert_eq!(asked.projection_expression(), Some("#a0, #a1"));
        assert_eq!(asked.consistent_read(), Some(true));
        let keys = asked.keys();
        let mut calls = calls.lock().unwrap();
        calls.push(keys.len());
        // The first answer leaves its last two keys unprocessed.
        let (done, left) = if calls.len() == 1 {
            keys.split_at(keys.len() - 2)
        } else {
            (keys, &[][..])
        };
        let found = done
            .iter()
            .map(|k| {
                let mut item = k.clone();
                item.insert("rev".to_owned(), n(1));
                item
            })
            .collect();
        let mut out = BatchGetItemOutput::builder().responses(TABLE, found);
        if !left.is_empty() {
            // As DynamoDB does: the request as it was, with the keys left.
            let again = KeysAndAttributes::builder()
                .set_keys(Some(left.to_vec()))
                .set_projection_expression(asked.projection_expression().map(str::to_owned))
                .set_expression_attribute_names(asked.expression_attribute_names().cloned())
                .set_consistent_read(asked.consistent_read())
                .build()
                .unwrap();
            out = out.unprocessed_keys(TABLE, again);
        }
        out.build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let found = batch_get(&client, TABLE, keys(0, 230), &["pk", "rev"])
        .await
        .unwrap();
    // 100 (two left), the two again, 100, 30.
    assert_eq!(rule.num_calls(), 4);
    let mut ids: Vec<String> = found
        .iter()
        .map(|item| dynamo_item::string(item, "pk").unwrap().to_owned())
        .collect();
    ids.sort();
    let mut expected: Vec<String> = (0..230).map(|i| format!("k{i}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert!(
        found
            .iter()
            .all(|item| dynamo_item::number::<u8>(item, "rev").unwrap() == 1)
    );
}

#[tokio::test]
async fn batch_get_of_no_keys_calls_nothing() {
    let rule = mock!(Client::batch_get_item).then_output(|| BatchGetItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    assert!(
        batch_get(&client, TABLE, Vec::new(), &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(rule.num_calls(), 0);
}

#[tokio::test]
async fn batch_put_chunks_by_25_and_sends_unprocessed_items_again() {
    let sizes: Mutex<Vec<usize>> = Mutex::default();
    let rule = mock!(Client::batch_write_item).then_compute_output(move |request| {
        let writes = request.request_items().unwrap().get(TABLE).unwrap();
        let mut sizes = sizes.lock().unwrap();
        sizes.push(writes.len());
        match sizes.len() {
            // The first answer leaves one item unprocessed; the resend
            // carries exactly that one.
            1 => BatchWriteItemOutput::builder()
                .unprocessed_items(TABLE, writes[..1].to_vec())
                .build(),
            2 => {
                let item = writes.first().unwrap().put_request().unwrap().item();
                assert_eq!(writes.len(), 1);
                assert_eq!(item.get("pk"), Some(&s("k0")));
                BatchWriteItemOutput::builder().build()
            }
            _ => BatchWriteItemOutput::builder().build(),
        }
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    batch_put(&client, TABLE, keys(0, 60)).await.unwrap();
    // 25 (one left), the one again, 25, 10.
    assert_eq!(rule.num_calls(), 4);
}

#[tokio::test]
async fn items_never_processed_fail_after_the_retries() {
    let rule = mock!(Client::batch_write_item).then_compute_output(|request| {
        let writes = request.request_items().unwrap().get(TABLE).unwrap();
        BatchWriteItemOutput::builder()
            .unprocessed_items(TABLE, writes[..1].to_vec())
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let e = batch_put(&client, TABLE, keys(0, 1)).await.unwrap_err();
    // The first send and eight more (about 13 s of backoff).
    assert_eq!(rule.num_calls(), 9);
    assert!(matches!(
        e,
        CallError::Failed {
            operation: "BatchWriteItem",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "`BatchWriteItem` failed: items still unprocessed after 8 retries (throttled)"
    );
}
