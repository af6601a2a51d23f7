//! The helpers against DynamoDB as moto serves it (`scripts/test`): bodies,
//! batches, transactions and conditional writes on a fresh table.
#![allow(clippy::unwrap_used, reason = "tests")]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{BillingMode, KeyType, Put, ScalarAttributeType, TransactWriteItem};
use dynamo_item::{
    CallError, GZIP_OVER, Group, Item, batch_get, batch_put, body, call_detail, conditional, n,
    number, put_body, s, transact,
};

async fn table() -> Option<(Client, String)> {
    let config = testkit::aws_config().await?;
    let client = Client::new(&config);
    let table = testkit::unique_name("dynamo-item");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(dynamo_item::key("pk", KeyType::Hash).unwrap())
        .attribute_definitions(dynamo_item::attribute("pk", ScalarAttributeType::S).unwrap())
        .send()
        .await
        .unwrap();
    Some((client, table))
}

fn record(i: usize) -> Vec<String> {
    // Every tenth record is big enough to be gzipped.
    let len = if i.is_multiple_of(10) { GZIP_OVER } else { 10 };
    vec![format!("record {i}"), "x".repeat(len)]
}

fn item(i: usize) -> Item {
    let mut item = Item::from([
        ("pk".to_owned(), s(format!("r{i}"))),
        ("n".to_owned(), n(i)),
    ]);
    put_body(&mut item, &record(i)).unwrap();
    item
}

fn put(table: &str, item: Item, condition: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

#[tokio::test]
async fn bodies_go_through_batches_and_read_back() {
    let Some((client, table)) = table().await else {
        return;
    };
    batch_put(&client, &table, (0..60).map(item).collect())
        .await
        .unwrap();
    let keys = (0..70)
        .map(|i| Item::from([("pk".to_owned(), s(format!("r{i}")))]))
        .collect();
    let found = batch_get(&client, &table, keys, &["n", "body", "body_gz"])
        .await
        .unwrap();
    // Keys 60 to 69 do not exist; `pk` was not asked for.
    assert_eq!(found.len(), 60);
    for item in &found {
        assert!(!item.contains_key("pk"));
        let i: usize = number(item, "n").unwrap();
        assert_eq!(body::<Vec<String>>(item).unwrap(), record(i));
        assert_eq!(item.contains_key("body_gz"), i.is_multiple_of(10));
    }
}

#[tokio::test]
async fn a_lost_condition_in_a_transaction_is_a_conflict_naming_its_groups() {
    let Some((client, table)) = table().await else {
        return;
    };
    let new = |name: &str, i: usize| Group {
        actions: vec![put(&table, item(i), "attribute_not_exists(pk)")],
        bytes: 0,
        name: name.to_owned(),
    };
    transact(&client, vec![new("first", 1), new("second", 2)])
        .await
        .unwrap();
    let e = transact(&client, vec![new("third", 3), new("second again", 2)])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Conflict { what } if what == "third, second again"),
        "{e}"
    );
    // Nothing of the cancelled transaction was written.
    let found = batch_get(
        &client,
        &table,
        vec![Item::from([("pk".to_owned(), s("r3"))])],
        &[],
    )
    .await
    .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn conditional_writes_tell_a_lost_condition_from_a_failure() {
    let Some((client, table)) = table().await else {
        return;
    };
    let put_new = |i: usize| {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(i)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    };
    assert!(conditional(put_new(1).await).unwrap().is_some());
    assert!(conditional(put_new(1).await).unwrap().is_none());

    let missing = client
        .put_item()
        .table_name(format!("{table}-missing"))
        .set_item(Some(item(1)))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    let e = conditional(missing).unwrap_err();
    let detail = call_detail(&e);
    assert!(
        detail.starts_with("ResourceNotFoundException: "),
        "{detail}"
    );
}
