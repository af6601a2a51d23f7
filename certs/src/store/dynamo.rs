//! The inventory in one DynamoDB table, for Lambda.
//!
//! # Table layout
//!
//! Key: partition key `pk` (string) and sort key `sk` (string). Three kinds
//! of item share the table:
//!
//! | item | `pk` | `sk` | attributes |
//! | --- | --- | --- | --- |
//! | certificate | `cert#<serial>` | issuer DN | the record (below) |
//! | CRL counter | `crl#<issuer DN>` | `number` | `number` (N) |
//! | ACM pointer | `arn#<ACM ARN>` | `-` | `serial`, `issuer`, `not_after` of the newest certificate deployed there |
//!
//! A certificate item holds `serial`, `issuer`, `fingerprint`, `subject`,
//! `sans` (list), `not_before` and `not_after` (N, Unix seconds), `key_type`,
//! `owner`, `profile`, `source`, `status` (`active`/`revoked`),
//! `revoked_at` (N), `reason`, `destinations` (JSON), `replaces`,
//! `replaced_by`, `pem`, and `notified` (number set of the notice intervals
//! sent). Absent optional fields are absent attributes.
//!
//! Global secondary indexes:
//! - `fingerprint`: partition key `fingerprint`, keys only; finds a
//!   certificate by SHA-256 fingerprint.
//! - `expiry`: partition key `expiry_month` (`YYYY-MM` of `not_after`), sort
//!   key `not_after`, all attributes. Sparse: `expiry_month` is present only
//!   while a certificate is active and not replaced, so "expiring within N
//!   days" queries the one or two months the window spans.
//! - `revoked`: partition key `revoked_issuer` (the issuer DN, present only
//!   on revoked certificates), sort key `not_after`, all attributes; the CRL
//!   reads the issuer's unexpired revocations from it.
//!
//! Writes are conditional: a certificate is put with
//! `attribute_not_exists(pk)` (an issued record is never overwritten),
//! revocation requires `status = active`, a notice is marked with `NOT
//! contains(notified, :interval)`, destinations change only if unchanged
//! since read (retried), and the CRL number is an atomic `ADD` returning the
//! new value. Nothing is ever deleted. Index reads are eventually consistent
//! (AWS: typically under a second); lookups by serial and ARN read the table
//! with strong consistency.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, KeyType as DynamoKeyType, Projection,
    ProjectionType, ReturnValue, ScalarAttributeType, TransactWriteItem, Update,
};
use dynamo_item::{Item, conditional, n, s};
use time::OffsetDateTime;

use super::{Store, StoreError};
use crate::aws::AwsError;
use crate::crl::RevokedEntry;
use crate::model::{CertRecord, Destination, KeyType, Reason, Revocation, Source, Status};

/// Name of the index by fingerprint.
pub const FINGERPRINT_INDEX: &str = "fingerprint";
/// Name of the sparse index of active, unreplaced certificates by expiry month.
pub const EXPIRY_INDEX: &str = "expiry";
/// Name of the sparse index of revoked certificates by issuer.
pub const REVOKED_INDEX: &str = "revoked";

/// How often a destination update is retried when another writer changed
/// the certificate in between.
const DESTINATION_ATTEMPTS: usize = 5;

/// The DynamoDB inventory: one table laid out as the module documentation
/// describes.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn cert_pk(serial: &str) -> String {
    format!("cert#{serial}")
}

fn expiry_month(t: OffsetDateTime) -> String {
    format!("{:04}-{:02}", t.year(), u8::from(t.month()))
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Revoked => "revoked",
    }
}

/// A certificate record as an item, with its index attributes.
fn to_item(r: &CertRecord) -> Result<Item, StoreError> {
    let destinations = serde_json::to_string(&r.destinations).map_err(|e| StoreError::Corrupt {
        serial: r.serial.clone(),
        detail: e.to_string(),
    })?;
    let mut item: Item = [
        ("pk", s(cert_pk(&r.serial))),
        ("sk", s(&r.issuer)),
        ("serial", s(&r.serial)),
        ("issuer", s(&r.issuer)),
        ("fingerprint", s(&r.fingerprint)),
        ("subject", s(&r.subject)),
        ("sans", AttributeValue::L(r.sans.iter().map(s).collect())),
        ("not_before", n(r.not_before.unix_timestamp())),
        ("not_after", n(r.not_after.unix_timestamp())),
        ("key_type", s(r.key_type.to_string())),
        ("source", s(r.source.as_str())),
        ("status", s(status_name(r.status))),
        ("destinations", s(destinations)),
        ("pem", s(&r.pem)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let optional = [
        ("owner", r.owner.as_ref().map(s)),
        ("profile", r.profile.as_ref().map(s)),
        ("replaces", r.replaces.as_ref().map(s)),
        ("replaced_by", r.replaced_by.as_ref().map(s)),
        (
            "revoked_at",
            r.revocation.as_ref().map(|v| n(v.at.unix_timestamp())),
        ),
        ("reason", r.revocation.as_ref().map(|v| s(v.reason.name()))),
        (
            "expiry_month",
            (r.status == Status::Active && r.replaced_by.is_none())
                .then(|| s(expiry_month(r.not_after))),
        ),
        (
            "revoked_issuer",
            (r.status == Status::Revoked).then(|| s(&r.issuer)),
        ),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            item.insert(k.to_owned(), v);
        }
    }
    Ok(item)
}

/// Reads an item's attributes, naming the certificate in errors.
struct Reader<'a> {
    item: &'a Item,
    serial: String,
}

impl<'a> Reader<'a> {
    fn new(item: &'a Item) -> Self {
        let serial = match item.get("serial") {
            Some(AttributeValue::S(v)) => v.clone(),
            _ => "?".to_owned(),
        };
        Self { item, serial }
    }

    fn corrupt(&self, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            serial: self.serial.clone(),
            detail: detail.to_string(),
        }
    }

    fn opt(&self, name: &str) -> Result<Option<String>, StoreError> {
        dynamo_item::optional_string(self.item, name)
            .map(|v| v.map(str::to_owned))
            .map_err(|e| self.corrupt(e))
    }

    fn req(&self, name: &str) -> Result<String, StoreError> {
        dynamo_item::string(self.item, name)
            .map(str::to_owned)
            .map_err(|e| self.corrupt(e))
    }

    /// A time stored as Unix seconds.
    fn time(&self, name: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        let Some(t) =
            dynamo_item::optional_number::<i64>(self.item, name).map_err(|e| self.corrupt(e))?
        else {
            return Ok(None);
        };
        OffsetDateTime::from_unix_timestamp(t)
            .map(Some)
            .map_err(|_| self.corrupt(format!("`{name}` is `{t}`, not a time")))
    }

    fn req_time(&self, name: &str) -> Result<OffsetDateTime, StoreError> {
        self.time(name)?
            .ok_or_else(|| self.corrupt(format!("`{name}` is missing")))
    }

    fn numbers(&self, name: &str) -> Result<Vec<u32>, StoreError> {
        match self.item.get(name) {
            None => Ok(Vec::new()),
            Some(AttributeValue::Ns(values)) => {
                let mut out = values
                    .iter()
                    .map(|v| {
                        v.parse()
                            .map_err(|_| self.corrupt(format!("`{name}` holds `{v}`")))
                    })
                    .collect::<Result<Vec<u32>, _>>()?;
                out.sort_unstable();
                Ok(out)
            }
            Some(_) => Err(self.corrupt(format!("`{name}` is not a number set"))),
        }
    }

    fn record(&self) -> Result<CertRecord, StoreError> {
        let sans = match self.item.get("sans") {
            Some(AttributeValue::L(values)) => values
                .iter()
                .map(|v| match v {
                    AttributeValue::S(v) => Ok(v.clone()),
                    _ => Err(self.corrupt("`sans` holds a non-string".to_owned())),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
            Some(_) => return Err(self.corrupt("`sans` is not a list".to_owned())),
        };
        let key_type = self.req("key_type")?;
        let source = self.req("source")?;
        let status = match self.req("status")?.as_str() {
            "active" => Status::Active,
            "revoked" => Status::Revoked,
            other => return Err(self.corrupt(format!("status `{other}`"))),
        };
        let revocation = match (self.time("revoked_at")?, self.opt("reason")?) {
            (Some(at), Some(reason)) => Some(Revocation {
                at,
                reason: reason
                    .parse()
                    .map_err(|e: crate::model::UnknownReason| self.corrupt(e.to_string()))?,
            }),
            _ => None,
        };
        Ok(CertRecord {
            serial: self.req("serial")?,
            subject: self.req("subject")?,
            sans,
            issuer: self.req("issuer")?,
            not_before: self.req_time("not_before")?,
            not_after: self.req_time("not_after")?,
            key_type: key_type
                .parse::<KeyType>()
                .map_err(|e| self.corrupt(e.to_string()))?,
            fingerprint: self.req("fingerprint")?,
            owner: self.opt("owner")?,
            profile: self.opt("profile")?,
            source: Source::parse(&source)
                .ok_or_else(|| self.corrupt(format!("source `{source}`")))?,
            status,
            revocation,
            destinations: serde_json::from_str(&self.req("destinations")?)
                .map_err(|e| self.corrupt(e.to_string()))?,
            replaces: self.opt("replaces")?,
            replaced_by: self.opt("replaced_by")?,
            pem: self.req("pem")?,
        })
    }
}

/// The months `YYYY-MM` from `from`'s to `until`'s, inclusive.
fn months(from: OffsetDateTime, until: OffsetDateTime) -> Vec<String> {
    let index = |t: OffsetDateTime| i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1;
    (index(from)..=index(until))
        .map(|m| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1))
        .collect()
}

impl DynamoStore {
    /// The inventory in `table`, reached through `client`.
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table with the layout above (on-demand capacity). Returns
    /// once DynamoDB accepted it; AWS takes a few seconds to make it active.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| self.fail("CreateTable", e);
        let key = |name: &str, kind: DynamoKeyType| dynamo_item::key(name, kind).map_err(built);
        let attr = |name: &str, kind: ScalarAttributeType| {
            dynamo_item::attribute(name, kind).map_err(built)
        };
        let index = |name: &str, hash: &str, range: Option<&str>, projection: ProjectionType| {
            let mut keys = vec![key(hash, DynamoKeyType::Hash)?];
            if let Some(range) = range {
                keys.push(key(range, DynamoKeyType::Range)?);
            }
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .set_key_schema(Some(keys))
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(built)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", DynamoKeyType::Hash)?)
            .key_schema(key("sk", DynamoKeyType::Range)?)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("sk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("fingerprint", ScalarAttributeType::S)?)
            .attribute_definitions(attr("expiry_month", ScalarAttributeType::S)?)
            .attribute_definitions(attr("revoked_issuer", ScalarAttributeType::S)?)
            .attribute_definitions(attr("not_after", ScalarAttributeType::N)?)
            .global_secondary_indexes(index(
                FINGERPRINT_INDEX,
                "fingerprint",
                None,
                ProjectionType::KeysOnly,
            )?)
            .global_secondary_indexes(index(
                EXPIRY_INDEX,
                "expiry_month",
                Some("not_after"),
                ProjectionType::All,
            )?)
            .global_secondary_indexes(index(
                REVOKED_INDEX,
                "revoked_issuer",
                Some("not_after"),
                ProjectionType::All,
            )?)
            .send()
            .await
            .map_err(|e| self.call("CreateTable", e))?;
        Ok(())
    }

    fn call<E>(&self, operation: &'static str, e: SdkError<E>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        self.fail(operation, dynamo_item::call_detail(&e))
    }

    fn fail(&self, operation: &'static str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Dynamo {
            table: self.table.clone(),
            error: AwsError::Call {
                service: "dynamodb",
                operation,
                detail: e.to_string(),
            },
        }
    }

    /// An `UpdateItem` of `record`'s item.
    fn update_cert(
        &self,
        record: &CertRecord,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(cert_pk(&record.serial)))
            .key("sk", s(&record.issuer))
    }

    /// Reads one certificate item by its key, strongly consistent.
    async fn item(&self, pk: String, sk: String) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.call("GetItem", e))?;
        Ok(out.item)
    }

    /// Every item a query returns, across pages.
    async fn query_all(
        &self,
        index: Option<&str>,
        condition: &str,
        values: &[(&str, AttributeValue)],
    ) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .set_index_name(index.map(str::to_owned))
            .consistent_read(index.is_none())
            .key_condition_expression(condition)
            .set_expression_attribute_values(Some(
                values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            ))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Query", e))
    }

    async fn get_exactly(&self, key: &str) -> Result<CertRecord, StoreError> {
        self.get(key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.to_owned()))
    }

    /// Points `arn` at `record` unless it already points at a certificate
    /// that expires later.
    async fn point_arn(&self, arn: &str, record: &CertRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("arn#{arn}")))
            .item("sk", s("-"))
            .item("serial", s(&record.serial))
            .item("issuer", s(&record.issuer))
            .item("not_after", n(record.not_after.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk) OR not_after <= :na")
            .expression_attribute_values(":na", n(record.not_after.unix_timestamp()))
            .send()
            .await;
        // A lost condition: it points at a later certificate already.
        conditional(result).map_err(|e| self.call("PutItem", e))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn insert(&self, record: &CertRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(record)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        if conditional(result)
            .map_err(|e| self.call("PutItem", e))?
            .is_none()
        {
            return Err(StoreError::Duplicate(record.serial.clone()));
        }
        for arn in record.acm_arns() {
            self.point_arn(arn, record).await?;
        }
        Ok(())
    }

    async fn insert_many(&self, records: &[CertRecord]) -> Result<(), StoreError> {
        // Conditional puts one by one: BatchWriteItem takes no conditions.
        for record in records {
            self.insert(record).await?;
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<CertRecord>, StoreError> {
        let key = key.to_ascii_lowercase().replace(':', "");
        if key.len() == 64 {
            let found = self
                .query_all(
                    Some(FINGERPRINT_INDEX),
                    "fingerprint = :f",
                    &[(":f", s(&key))],
                )
                .await?;
            let keys = found
                .first()
                .and_then(|i| match (i.get("pk"), i.get("sk")) {
                    (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
                        Some((pk.clone(), sk.clone()))
                    }
                    _ => None,
                });
            if let Some((pk, sk)) = keys
                && let Some(item) = self.item(pk, sk).await?
            {
                return Reader::new(&item).record().map(Some);
            }
        }
        let serial = crate::model::normalize_serial(&key);
        let found = self
            .query_all(None, "pk = :pk", &[(":pk", s(cert_pk(&serial)))])
            .await?;
        match found.as_slice() {
            [] => Ok(None),
            [item] => Reader::new(item).record().map(Some),
            _ => Err(StoreError::Ambiguous(serial)),
        }
    }

    async fn list(&self) -> Result<Vec<CertRecord>, StoreError> {
        let items: Vec<Item> = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", s("cert#"))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Scan", e))?;
        let mut records = items
            .iter()
            .map(|item| Reader::new(item).record())
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| (a.not_after, &a.serial).cmp(&(b.not_after, &b.serial)));
        Ok(records)
    }

    async fn expiring(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Vec<CertRecord>, StoreError> {
        if until <= now {
            return Ok(Vec::new());
        }
        let (low, high) = (now.unix_timestamp() + 1, until.unix_timestamp());
        let mut records = Vec::new();
        for month in months(now, until) {
            let items = self
                .query_all(
                    Some(EXPIRY_INDEX),
                    "expiry_month = :m AND not_after BETWEEN :lo AND :hi",
                    &[(":m", s(month)), (":lo", n(low)), (":hi", n(high))],
                )
                .await?;
            for item in &items {
                let record = Reader::new(item).record()?;
                // The index may lag a revocation or a replacement by a moment.
                if record.status == Status::Active && record.replaced_by.is_none() {
                    records.push(record);
                }
            }
        }
        records.sort_by(|a, b| (a.not_after, &a.serial).cmp(&(b.not_after, &b.serial)));
        Ok(records)
    }

    async fn revoke(
        &self,
        serial: &str,
        revocation: &Revocation,
    ) -> Result<CertRecord, StoreError> {
        let record = self.get_exactly(serial).await?;
        if record.status == Status::Revoked {
            return Err(StoreError::AlreadyRevoked(record.serial));
        }
        let result = self
            .update_cert(&record)
            .update_expression(
                "SET #status = :revoked, revoked_at = :at, reason = :reason, revoked_issuer = :issuer REMOVE expiry_month",
            )
            .condition_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":revoked", s("revoked"))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":issuer", s(&record.issuer))
            .expression_attribute_values(":at", n(revocation.at.unix_timestamp()))
            .expression_attribute_values(":reason", s(revocation.reason.name()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional(result).map_err(|e| self.call("UpdateItem", e))? {
            Some(out) => Reader::new(&out.attributes.unwrap_or_default()).record(),
            None => Err(StoreError::AlreadyRevoked(record.serial)),
        }
    }

    async fn revoked(
        &self,
        issuer: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<RevokedEntry>, StoreError> {
        let items = self
            .query_all(
                Some(REVOKED_INDEX),
                "revoked_issuer = :i AND not_after > :now",
                &[(":i", s(issuer)), (":now", n(now.unix_timestamp()))],
            )
            .await?;
        let mut out = Vec::new();
        for item in &items {
            let r = Reader::new(item);
            out.push(RevokedEntry {
                serial: r.req("serial")?,
                at: r.req_time("revoked_at")?,
                reason: r
                    .opt("reason")?
                    .as_deref()
                    .unwrap_or("unspecified")
                    .parse::<Reason>()
                    .unwrap_or(Reason::Unspecified),
            });
        }
        out.sort_by(|a, b| (a.at, &a.serial).cmp(&(b.at, &b.serial)));
        Ok(out)
    }

    async fn link(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let old = self.get_exactly(old).await?;
        let new = self.get_exactly(new).await?;
        let built = |e: aws_sdk_dynamodb::error::BuildError| self.fail("TransactWriteItems", e);
        let update = |r: &CertRecord, expression: &str, value: &str| {
            Update::builder()
                .table_name(&self.table)
                .key("pk", s(cert_pk(&r.serial)))
                .key("sk", s(&r.issuer))
                .update_expression(expression)
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":v", s(value))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
                .map_err(built)
        };
        self.client
            .transact_write_items()
            .transact_items(update(
                &old,
                "SET replaced_by = :v REMOVE expiry_month",
                &new.serial,
            )?)
            .transact_items(update(&new, "SET replaces = :v", &old.serial)?)
            .send()
            .await
            .map_err(|e| self.call("TransactWriteItems", e))?;
        Ok(())
    }

    async fn add_destination(
        &self,
        serial: &str,
        destination: &Destination,
    ) -> Result<(), StoreError> {
        for _ in 0..DESTINATION_ATTEMPTS {
            let record = self.get_exactly(serial).await?;
            if record.destinations.contains(destination) {
                return Ok(());
            }
            let corrupt = |e: serde_json::Error| StoreError::Corrupt {
                serial: record.serial.clone(),
                detail: e.to_string(),
            };
            let before = serde_json::to_string(&record.destinations).map_err(corrupt)?;
            let mut after = record.destinations.clone();
            after.push(destination.clone());
            let after = serde_json::to_string(&after).map_err(corrupt)?;
            let result = self
                .update_cert(&record)
                .update_expression("SET destinations = :after")
                .condition_expression("destinations = :before")
                .expression_attribute_values(":before", s(before))
                .expression_attribute_values(":after", s(after))
                .send()
                .await;
            // None: someone else changed the destinations since we read them.
            if conditional(result)
                .map_err(|e| self.call("UpdateItem", e))?
                .is_some()
            {
                let Destination::Acm { arn } = destination;
                return self.point_arn(arn, &record).await;
            }
        }
        Err(self.fail(
            "UpdateItem",
            format!("destinations of `{serial}` kept changing during {DESTINATION_ATTEMPTS} attempts; run the command again"),
        ))
    }

    async fn find_by_arn(&self, arn: &str) -> Result<Option<CertRecord>, StoreError> {
        let Some(pointer) = self.item(format!("arn#{arn}"), "-".to_owned()).await? else {
            return Ok(None);
        };
        let r = Reader::new(&pointer);
        let Some(item) = self
            .item(cert_pk(&r.req("serial")?), r.req("issuer")?)
            .await?
        else {
            return Ok(None);
        };
        let record = Reader::new(&item).record()?;
        let deployed = record.acm_arns().any(|a| a == arn);
        Ok(deployed.then_some(record))
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(format!("crl#{issuer}")))
            .key("sk", s("number"))
            .update_expression("ADD #n :one")
            .expression_attribute_names("#n", "number")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| self.call("UpdateItem", e))?;
        match out.attributes.as_ref().and_then(|a| a.get("number")) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| StoreError::Corrupt {
                serial: issuer.to_owned(),
                detail: format!("CRL number `{v}`"),
            }),
            _ => Err(self.fail("UpdateItem", "the answer has no `number`; retry")),
        }
    }

    async fn mark_notified(
        &self,
        serial: &str,
        interval_days: u32,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let record = self.get_exactly(serial).await?;
        let result = self
            .update_cert(&record)
            .update_expression("ADD notified :set SET notified_at = :at")
            .condition_expression("attribute_exists(pk) AND NOT contains(notified, :i)")
            .expression_attribute_values(
                ":set",
                AttributeValue::Ns(vec![interval_days.to_string()]),
            )
            .expression_attribute_values(":i", n(interval_days))
            .expression_attribute_values(":at", n(at.unix_timestamp()))
            .send()
            .await;
        let marked = conditional(result).map_err(|e| self.call("UpdateItem", e))?;
        Ok(marked.is_some())
    }

    async fn notified(&self, serial: &str) -> Result<Vec<u32>, StoreError> {
        let record = self.get_exactly(serial).await?;
        match self.item(cert_pk(&record.serial), record.issuer).await? {
            Some(item) => Reader::new(&item).numbers("notified"),
            None => Err(StoreError::NotFound(serial.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_span_year_ends() {
        assert_eq!(
            months(
                datetime!(2029-11-20 00:00 UTC),
                datetime!(2030-02-01 00:00 UTC)
            ),
            vec!["2029-11", "2029-12", "2030-01", "2030-02"]
        );
        assert_eq!(
            months(
                datetime!(2030-01-01 00:00 UTC),
                datetime!(2030-01-31 00:00 UTC)
            ),
            vec!["2030-01"]
        );
    }

    #[test]
    fn items_round_trip_with_index_attributes() {
        let mut r = super::super::synthetic_record(5, datetime!(2030-03-31 23:55 UTC));
        r.owner = Some("team-web".to_owned());
        r.destinations.push(Destination::Acm {
            arn: "arn:aws:acm:us-east-1:1:certificate/x".to_owned(),
        });
        let item = to_item(&r).unwrap();
        assert_eq!(item.get("expiry_month"), Some(&s("2030-03")));
        assert!(!item.contains_key("revoked_issuer"));
        assert_eq!(Reader::new(&item).record().unwrap(), r);

        r.status = Status::Revoked;
        r.revocation = Some(Revocation {
            at: datetime!(2030-01-01 00:00 UTC),
            reason: Reason::KeyCompromise,
        });
        let item = to_item(&r).unwrap();
        assert!(!item.contains_key("expiry_month"));
        assert_eq!(item.get("revoked_issuer"), Some(&s(&r.issuer)));
        assert_eq!(Reader::new(&item).record().unwrap(), r);

        let mut broken = item.clone();
        broken.insert("not_after".to_owned(), s("soon"));
        assert!(matches!(
            Reader::new(&broken).record(),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
