//! The DynamoDB store, for the Lambda signer: one table with a string
//! partition key `pk`. Issuances are `cert#<serial>` items, revocations
//! `revocation#<sha256 of the revocation>` items; both carry the record as JSON.

use std::collections::HashMap;
use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use dynamo_item::{Item, conditional, n, s};
use sha2::Digest;

use crate::err::{AwsError, StoreError};
use crate::store::{Issuance, Revocation, RevocationRecord, Store};

/// A DynamoDB table holding issuances and revocations.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

fn corrupt(id: &str, reason: impl ToString) -> StoreError {
    StoreError::Corrupt {
        id: id.to_owned(),
        reason: reason.to_string(),
    }
}

/// The string attribute `name`, or an error naming the item by its `pk`.
fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    dynamo_item::string(item, name)
        .map_err(|e| corrupt(dynamo_item::string(item, "pk").unwrap_or("(no pk)"), e))
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

    fn call<E>(&self, operation: &'static str, e: SdkError<E>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        self.fail(operation, dynamo_item::call_detail(&e))
    }

    fn fail(&self, operation: &'static str, detail: impl std::fmt::Display) -> StoreError {
        StoreError::Aws(AwsError::Call {
            service: "DynamoDB",
            operation,
            message: format!("table `{}`: {detail}", self.table),
        })
    }

    /// Creates the table (on-demand billing), for set-up and tests.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType};
        let attribute = dynamo_item::attribute("pk", ScalarAttributeType::S)
            .map_err(|e| self.fail("CreateTable", e))?;
        let key = dynamo_item::key("pk", KeyType::Hash).map_err(|e| self.fail("CreateTable", e))?;
        self.client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attribute)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(|e| self.call("CreateTable", e))?;
        Ok(())
    }

    /// Every item whose `pk` starts with `prefix` and, if given, whose
    /// `key_id` equals `key_id` (all pages).
    async fn scan(&self, prefix: &str, key_id: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut filter = "begins_with(pk, :prefix)".to_owned();
        let mut values = HashMap::from([(":prefix".to_owned(), s(prefix))]);
        if let Some(key_id) = key_id {
            filter.push_str(" AND key_id = :key_id");
            values.insert(":key_id".into(), s(key_id));
        }
        self.client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .set_expression_attribute_values(Some(values))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Scan", e))
    }

    async fn record_now(&self, issuance: &Issuance) -> Result<(), StoreError> {
        let json = serde_json::to_string(issuance).map_err(|e| corrupt("(new)", e))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("cert#{}", issuance.serial)))
            .item("key_id", s(&issuance.key_id))
            .item("record", s(json))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| self.call("PutItem", e))?;
        Ok(())
    }

    async fn by_serial_now(&self, serial: u64) -> Result<Option<Issuance>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("cert#{serial}")))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.call("GetItem", e))?;
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
            .item("pk", s(revocation_pk(&what)))
            .item("what", s(what))
            .item("revoked_at", n(record.revoked_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        // A lost condition: already revoked; the first record stays.
        conditional(result).map_err(|e| self.call("PutItem", e))?;
        Ok(())
    }

    async fn revocations_now(&self) -> Result<Vec<RevocationRecord>, StoreError> {
        let mut records = Vec::new();
        for item in self.scan("revocation#", None).await? {
            let what = string(&item, "what")?;
            let revocation: Revocation =
                serde_json::from_str(what).map_err(|e| corrupt(what, e))?;
            let revoked_at =
                dynamo_item::number(&item, "revoked_at").map_err(|e| corrupt(what, e))?;
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
