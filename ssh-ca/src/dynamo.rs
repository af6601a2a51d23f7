//! The DynamoDB store, for the Lambda signer: one table with a string
//! partition key `pk`. Issuances are `cert#<serial>` items, revocations
//! `revocation#<sha256 of the revocation>` items; both carry the record as JSON.

use std::collections::HashMap;
use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use sha2::Digest;

use crate::err::{AwsError, StoreError};
use crate::store::{Issuance, Revocation, RevocationRecord, Store};

/// A DynamoDB table holding issuances and revocations.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

fn call_error(operation: &'static str, e: impl std::error::Error) -> StoreError {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    StoreError::Aws(AwsError::Call {
        service: "DynamoDB",
        operation,
        message,
    })
}

fn corrupt(id: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}

fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    let pk = item
        .get("pk")
        .and_then(|v| v.as_s().ok())
        .map_or("(no pk)", String::as_str);
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(pk, format!("attribute `{name}` is missing")))
}

fn revocation_pk(what: &str) -> String {
    format!("revocation#{}", hex::encode(sha2::Sha256::digest(what)))
}

impl DynamoStore {
    /// A store on `table` (which must exist with partition key `pk`, a string).
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self {
            client: aws_sdk_dynamodb::Client::new(config),
            table: table.into(),
        }
    }

    /// Creates the table (on-demand billing), for set-up and tests.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let attribute = AttributeDefinition::builder()
            .attribute_name("pk")
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| call_error("CreateTable", e))?;
        let key = KeySchemaElement::builder()
            .attribute_name("pk")
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| call_error("CreateTable", e))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attribute)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| call_error("CreateTable", e))?;
        Ok(())
    }

    /// Every item whose `pk` starts with `prefix` and, if given, whose
    /// `key_id` equals `key_id` (all pages).
    async fn scan(&self, prefix: &str, key_id: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut filter = "begins_with(pk, :prefix)".to_owned();
        let mut values = HashMap::from([(":prefix".to_owned(), AttributeValue::S(prefix.into()))]);
        if let Some(key_id) = key_id {
            filter.push_str(" AND key_id = :key_id");
            values.insert(":key_id".into(), AttributeValue::S(key_id.into()));
        }
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .set_expression_attribute_values(Some(values))
            .into_paginator()
            .send();
        let mut items = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| call_error("Scan", e))?;
            items.extend(page.items.unwrap_or_default());
        }
        Ok(items)
    }

    async fn record_now(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let json = serde_json::to_string(issuance).map_err(|e| corrupt("(new)", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(format!("cert#{}", issuance.serial)))
            .item("key_id", AttributeValue::S(issuance.key_id.clone()))
            .item("record", AttributeValue::S(json))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| call_error("PutItem", e))?;
        Ok(())
    }

    async fn by_serial_now(&self, serial: u64) -> Result<Option<Issuance>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(format!("cert#{serial}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_error("GetItem", e))?;
        out.item
            .map(|item| {
                serde_json::from_str(string(&item, "record")?)
                    .map_err(|e| corrupt(&serial.to_string(), e))
            })
            .transpose()
    }

    async fn by_key_id_now(&self, key_id: &str) -> Result<Vec<Issuance>, StoreError> {
        self.scan("cert#", Some(key_id))
            .await?
            .iter()
            .map(|item| {
                serde_json::from_str(string(item, "record")?).map_err(|e| corrupt(key_id, e))
            })
            .collect()
    }

    async fn revoke_now(&self, record: &RevocationRecord) -> Result<(), StoreError> {
        let what = serde_json::to_string(&record.revocation).map_err(|e| corrupt("(new)", e))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(revocation_pk(&what)))
            .item("what", AttributeValue::S(what))
            .item(
                "revoked_at",
                AttributeValue::N(record.revoked_at.to_string()),
            )
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Already revoked: keep the first record.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(call_error("PutItem", e)),
        }
    }

    async fn revocations_now(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        let mut records = Vec::new();
        for item in self.scan("revocation#", None).await? {
            let what = string(&item, "what")?;
            let revocation: Revocation =
                serde_json::from_str(what).map_err(|e| corrupt(what, e))?;
            let revoked_at = item
                .get("revoked_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| corrupt(what, "attribute `revoked_at` is missing"))?;
            records.push(RevocationRecord {
                revocation,
                revoked_at,
            });
        }
        records.sort_by(|a, b| {
            (a.revoked_at, format!("{:?}", a.revocation))
                .cmp(&(b.revoked_at, format!("{:?}", b.revocation)))
        });
        Ok(records)
    }
}

impl Store for DynamoStore {
    fn record(&self, issuance: &Issuance) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.record_now(issuance)
    }

    fn by_serial(
        &self,
        serial: u64,
    ) -> impl Future<Output = Result<Option<Issuance>, StoreError>> + Send {
        self.by_serial_now(serial)
    }

    fn by_key_id(
        &self,
        key_id: &str,
    ) -> impl Future<Output = Result<Vec<Issuance>, StoreError>> + Send {
        self.by_key_id_now(key_id)
    }

    fn revoke(
        &self,
        record: &RevocationRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.revoke_now(record)
    }

    fn revocations(
        &self,
    ) -> impl Future<Output = Result<Vec<RevocationRecord>, StoreError>> + Send {
        self.revocations_now()
    }
}
