//! The store in one DynamoDB table, for Lambda.
//!
//! # Table
//!
//! Partition key `pk` (string), sort key `sk` (string), on-demand capacity
//! (`PAY_PER_REQUEST`), no secondary index: every read is a `GetItem`,
//! `BatchGetItem` or a `Query` on one fixed `pk`. [`DynamoStore::create_table`]
//! (`repokid init-table`) creates it; a deployment template declares the
//! same two keys.
//!
//! | record | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | role | `role` | `<role arn>` | body: the [`RoleRecord`]; `heads`: per policy, its latest version number and the SHA-256 of its document; `rev` (N); `seen_at` (N) |
//! | policy version | `version` | `<role arn> <policy key> <version, 10 digits>` | `policy` (the inline name or managed ARN), `hash`, `seen_at` (N), body: the document |
//! | access collected | `access` | `<role arn>` | `collected_at` (N), `rev` (N) |
//! | access of a service | `access` | `<role arn> <service>` | body: the service's last use and each action's, with their sources; `rev` (N) |
//! | plan | `plan` | `<role arn> <created at> <n, 6 digits>` | body: the [`RolePlan`] |
//! | inline version | `inline` | `<role arn> <version, 10 digits>` | body: the [`InlineVersion`] |
//! | schedule entry | `schedule` | `<role arn>` | body: the [`Scheduled`] entry |
//! | lease | `lease` | `<role arn>` | `owner`, `expires_at` (N) |
//! | stats entry | `totals` | `<taken at> <account>` | body: the [`AccountTotals`] |
//!
//! Times are Unix seconds (as in the SQLite store); in sort keys they are
//! written as 20 digits, offset so that their text sorts as the time does.
//! Role ARNs hold no space (IAM's character set), so `<role arn> ` is an
//! exact prefix of one role's items. The policy key is the first 16 hex
//! digits of the SHA-256 of the policy's name, so that a sort key stays
//! under DynamoDB's 1,024 bytes whatever the lengths of the role's and the
//! policy's paths. A body is the record as JSON in `body` (S), or gzip of
//! it in `body_gz` (B) when the JSON is over 64 KiB.
//!
//! # The 400 KB item limit
//!
//! Every version (of one policy, or of all of a role's inline policies) is
//! an item of its own, so no history ever grows an item: a role with
//! hundreds of versions has hundreds of small items, read back page by
//! page. One version is small: IAM caps a role's inline policies at 10,240
//! characters in total and a managed policy at 6,144, so even a role's
//! whole set of inline policies is far below the limit (and ten full-size
//! policies, 100 KB, would still fit). A role record (its inline and
//! attached documents, tags) and a plan are likewise bounded by IAM's
//! limits and compressed past 64 KiB; a body still over 350,000 bytes is
//! refused with [`StoreError::TooLarge`] rather than sent.
//!
//! # Consistency
//!
//! Every read is strongly consistent. Writes that depend on what is stored
//! are conditional: a role item is written only if its `rev` is still the
//! one read (with the versions it adds, in one `TransactWriteItems`), an
//! access item likewise, a policy or inline version only if its number is
//! free (`attribute_not_exists`), a lease only if it is free, expired or
//! the same owner's. Two runs writing the same role at once: one wins, the
//! other gets [`StoreError::Conflict`] and can run again (inline versions
//! and plans retry by themselves with the next number). Transactions hold
//! up to 100 writes; a role with more new policy versions than that is
//! written in several, its role item last, and a version write that finds
//! the same document already there (a run interrupted between the two)
//! succeeds. Stats entries go through `BatchWriteItem`, whose unprocessed
//! items are sent again. Every `Query` is followed page by page.
//!
//! Each kind of record shares one partition key, so one table serves any
//! number of accounts without an index; DynamoDB splits a busy partition
//! by sort key (the table has no local index, so no 10 GB limit per key).
//! A first `update` of thousands of roles writes tens of thousands of
//! version items, and throttling is retried by the SDK.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, KeyType, Put, ReturnValue, ScalarAttributeType, Select,
    TransactWriteItem,
};
use dynamo_item::{CallError, Group, Item, conditional, n, s};
use policies::Policy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::sqlite::documents;
use super::{Store, StoreStats, UpdateSummary};
use crate::access::{AccessHistory, RoleAccess};
use crate::err::{StoreError, error_chain};
use crate::model::{
    AccessRecord, AccessSource, AccountTotals, InlineVersion, NamedPolicy, PolicyVersionRecord,
    RolePlan, RoleRecord, Scheduled, VersionReason,
};

const ROLE: &str = "role";
const VERSION: &str = "version";
const ACCESS: &str = "access";
const PLAN: &str = "plan";
const INLINE: &str = "inline";
const SCHEDULE: &str = "schedule";
const LEASE: &str = "lease";
const TOTALS: &str = "totals";

/// The largest body sent (the item limit is 400 KB, keys and attributes
/// included).
const MAX_BODY: usize = 350_000;
/// How many times a number taken by another run is tried again.
const RETRIES: u32 = 8;

/// The DynamoDB store: one table laid out as the module documentation says.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

/// A time as sort-key text: 20 digits that sort as the times do.
fn sortable(t: OffsetDateTime) -> String {
    format!("{:020}", t.unix_timestamp().cast_unsigned() ^ (1 << 63))
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The short, fixed-length key of a policy name in version sort keys.
fn policy_key(policy: &str) -> String {
    sha256_hex(policy).chars().take(16).collect()
}

fn version_sk(role_arn: &str, policy: &str, version: u32) -> String {
    format!("{role_arn} {} {version:010}", policy_key(policy))
}

fn inline_sk(role_arn: &str, version: u32) -> String {
    format!("{role_arn} {version:010}")
}

/// The latest stored version of each of a role's policies.
type Heads = BTreeMap<String, Head>;

/// The latest stored version of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    /// Its number.
    #[serde(rename = "v")]
    version: u32,
    /// The SHA-256 of its document's JSON.
    #[serde(rename = "h")]
    hash: String,
}

/// One use: when, and from which source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Use {
    #[serde(rename = "t")]
    last_used: Option<i64>,
    #[serde(rename = "s")]
    source: AccessSource,
}

impl Use {
    /// `old` merged with `new`: the later use wins (`None` is the
    /// earliest; on a tie the stored record stays), as in SQLite.
    fn merge(old: Option<Use>, new: Use) -> Use {
        match old {
            Some(old) if new.last_used <= old.last_used => old,
            _ => new,
        }
    }
}

/// A role's access data for one service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ServiceAccess {
    /// The service-level record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service: Option<Use>,
    /// Action-level records by lowercase action name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    actions: BTreeMap<String, Use>,
}

impl ServiceAccess {
    fn add(&mut self, record: &AccessRecord) {
        let new = Use {
            last_used: record.last_used.map(OffsetDateTime::unix_timestamp),
            source: record.source,
        };
        match &record.action {
            None => self.service = Some(Use::merge(self.service, new)),
            Some(action) => {
                let action = action.to_ascii_lowercase();
                let merged = Use::merge(self.actions.get(&action).copied(), new);
                self.actions.insert(action, merged);
            }
        }
    }

    fn merge(mut self, other: &ServiceAccess) -> ServiceAccess {
        if let Some(u) = other.service {
            self.service = Some(Use::merge(self.service, u));
        }
        for (action, u) in &other.actions {
            let merged = Use::merge(self.actions.get(action).copied(), *u);
            self.actions.insert(action.clone(), merged);
        }
        self
    }

    fn records(&self) -> usize {
        usize::from(self.service.is_some()) + self.actions.len()
    }
}

/// A role item as read: its `rev` and version heads.
#[derive(Default)]
struct RoleState {
    rev: Option<u64>,
    heads: Heads,
}

impl DynamoStore {
    /// The store in `table`, reached through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// The store in `table`, with a client of the SDK configuration `sdk`.
    pub fn from_sdk(sdk: &SdkConfig, table: impl Into<String>) -> DynamoStore {
        DynamoStore::new(Client::new(sdk), table)
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn fail(&self, operation: &'static str, detail: impl ToString) -> StoreError {
        StoreError::Dynamo {
            table: self.table.clone(),
            operation,
            detail: detail.to_string(),
        }
    }

    fn call<E>(&self, operation: &'static str, e: SdkError<E>) -> StoreError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        self.fail(operation, dynamo_item::call_detail(&e))
    }

    fn batch_or_transaction(&self, e: CallError) -> StoreError {
        match e {
            CallError::Failed { operation, detail } => self.fail(operation, detail),
            CallError::Conflict { what } => self.conflict(what),
        }
    }

    fn corrupt(&self, what: &str, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            store: format!("DynamoDB table {}", self.table),
            what: what.to_owned(),
            detail: detail.to_string(),
        }
    }

    fn conflict(&self, what: String) -> StoreError {
        StoreError::Conflict {
            table: self.table.clone(),
            what,
        }
    }

    /// Creates the table (keys `pk` and `sk`, strings; on-demand capacity)
    /// unless it exists, and waits up to two minutes for it to be active.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let built = |e: BuildError| self.fail("CreateTable", e);
        let key = |name: &str, kind: KeyType| dynamo_item::key(name, kind).map_err(built);
        let attr = |name: &str| dynamo_item::attribute(name, ScalarAttributeType::S).map_err(built);
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // It exists already (or is being created): wait for it all the same.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(self.call("CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(Duration::from_secs(120))
            .await
            .map_err(|e| self.fail("DescribeTable", error_chain(&e)))?;
        Ok(())
    }

    /// Adds JSON `text` as the body of `item` (gzipped past 64 KiB);
    /// answers its size.
    fn put_text(&self, item: &mut Item, what: &str, text: String) -> Result<usize, StoreError> {
        let size = dynamo_item::put_body_text(item, text).map_err(|e| self.corrupt(what, e))?;
        self.fits(what, size)
    }

    fn put_body<T: Serialize>(
        &self,
        item: &mut Item,
        what: &str,
        value: &T,
    ) -> Result<usize, StoreError> {
        let size = dynamo_item::put_body(item, value).map_err(|e| self.corrupt(what, e))?;
        self.fits(what, size)
    }

    /// `size`, if a body of that many bytes (compressed) fits an item.
    fn fits(&self, what: &str, size: usize) -> Result<usize, StoreError> {
        if size > MAX_BODY {
            return Err(StoreError::TooLarge {
                table: self.table.clone(),
                what: what.to_owned(),
                bytes: size,
            });
        }
        Ok(size)
    }

    fn body_text<'a>(&self, item: &'a Item, what: &str) -> Result<Cow<'a, str>, StoreError> {
        dynamo_item::body_text(item).map_err(|e| self.corrupt(what, e))
    }

    fn body<T: serde::de::DeserializeOwned>(
        &self,
        item: &Item,
        what: &str,
    ) -> Result<T, StoreError> {
        dynamo_item::body(item).map_err(|e| self.corrupt(what, e))
    }

    fn number(&self, item: &Item, name: &str, what: &str) -> Result<i64, StoreError> {
        dynamo_item::number(item, name).map_err(|e| self.corrupt(what, e))
    }

    fn string<'a>(&self, item: &'a Item, name: &str, what: &str) -> Result<&'a str, StoreError> {
        dynamo_item::string(item, name).map_err(|e| self.corrupt(what, e))
    }

    fn time(&self, item: &Item, name: &str, what: &str) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::from_unix_timestamp(self.number(item, name, what)?)
            .map_err(|e| self.corrupt(what, e))
    }

    fn rev(&self, item: &Item, what: &str) -> Result<u64, StoreError> {
        dynamo_item::number(item, "rev").map_err(|e| self.corrupt(what, e))
    }

    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
    }

    /// Every item of partition `pk` (whose sort key starts with `prefix`,
    /// if given), strongly consistent, across pages.
    async fn query(&self, pk: &str, prefix: Option<&str>) -> Result<Vec<Item>, StoreError> {
        self.query_request(pk, prefix)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Query", e))
    }

    /// How many items [`query`](Self::query) would answer.
    async fn count(&self, pk: &str) -> Result<usize, StoreError> {
        let mut pages = self
            .query_request(pk, None)
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut total = 0;
        while let Some(page) = pages.try_next().await.map_err(|e| self.call("Query", e))? {
            total += usize::try_from(page.count).unwrap_or(0);
        }
        Ok(total)
    }

    /// The sort key of the last item of `pk` whose sort key starts with
    /// `prefix`, strongly consistent.
    async fn last_sk(&self, pk: &str, prefix: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .query_request(pk, Some(prefix))
            .scan_index_forward(false)
            .limit(1)
            .projection_expression("#sk")
            .expression_attribute_names("#sk", "sk")
            .send()
            .await
            .map_err(|e| self.call("Query", e))?;
        Ok(out
            .items
            .unwrap_or_default()
            .first()
            .and_then(|item| match item.get("sk") {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            }))
    }

    fn query_request(
        &self,
        pk: &str,
        prefix: Option<&str>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk));
        match prefix {
            None => request.key_condition_expression("pk = :pk"),
            Some(p) => request
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":p", s(p)),
        }
    }

    /// Items by key (only the attributes named in `only`, if any), strongly
    /// consistent, across `BatchGetItem` calls and retries of unprocessed
    /// keys; keys not found are left out.
    async fn get_many(
        &self,
        keys: &[(String, String)],
        only: &[&str],
    ) -> Result<Vec<Item>, StoreError> {
        let mut seen = HashSet::new();
        let keys = keys
            .iter()
            .filter(|k| seen.insert(*k))
            .map(|(pk, sk)| Self::key(pk, sk))
            .collect();
        dynamo_item::batch_get(&self.client, &self.table, keys, only)
            .await
            .map_err(|e| self.batch_or_transaction(e))
    }

    /// Puts items with `BatchWriteItem`, sending unprocessed ones again.
    async fn put_many(&self, items: Vec<Item>) -> Result<(), StoreError> {
        dynamo_item::batch_put(&self.client, &self.table, items)
            .await
            .map_err(|e| self.batch_or_transaction(e))
    }

    /// A conditional put for a transaction.
    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        names: &[(&str, &str)],
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!names.is_empty()).then(|| {
                names
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect()
            }))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|e| self.fail("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A put of `item` with `rev` one past `expected`, written only if the
    /// stored item's `rev` is still `expected` (or, for `None`, if there is
    /// no item).
    fn put_rev(
        &self,
        mut item: Item,
        expected: Option<u64>,
    ) -> Result<TransactWriteItem, StoreError> {
        item.insert("rev".to_owned(), n(expected.map_or(1, |r| r + 1)));
        match expected {
            None => self.put(item, Some("attribute_not_exists(pk)"), &[], HashMap::new()),
            Some(rev) => self.put(
                item,
                Some("#rev = :rev"),
                &[("#rev", "rev")],
                HashMap::from([(":rev".to_owned(), n(rev))]),
            ),
        }
    }

    /// Writes groups in transactions of up to 100 writes; a group is never
    /// split unless it alone holds more (then its writes go in order over
    /// several transactions).
    async fn write(&self, groups: Vec<Group>) -> Result<(), StoreError> {
        dynamo_item::transact(&self.client, groups)
            .await
            .map_err(|e| self.batch_or_transaction(e))
    }

    /// Puts `item` only if no item has its key; answers false if one has.
    async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        let put = conditional(result).map_err(|e| self.call("PutItem", e))?;
        Ok(put.is_some())
    }

    /// The role items of `arns`: their `rev` and version heads.
    async fn role_states(&self, arns: &[&str]) -> Result<HashMap<String, RoleState>, StoreError> {
        let keys: Vec<(String, String)> = arns
            .iter()
            .map(|arn| (ROLE.to_owned(), (*arn).to_owned()))
            .collect();
        let mut out = HashMap::new();
        for item in self.get_many(&keys, &["sk", "heads", "rev"]).await? {
            let arn = self.string(&item, "sk", "role")?.to_owned();
            let heads: Heads = match item.get("heads") {
                Some(AttributeValue::S(text)) => {
                    serde_json::from_str(text).map_err(|e| self.corrupt(&arn, e))?
                }
                _ => Heads::new(),
            };
            let rev = Some(self.rev(&item, &arn)?);
            out.insert(arn, RoleState { rev, heads });
        }
        Ok(out)
    }
}

/// What `put_roles` writes for one role.
struct RoleWrite {
    /// The version items, in order.
    versions: Vec<TransactWriteItem>,
    /// Their body sizes.
    bytes: usize,
    /// The role item last written for it (a role given twice: the last).
    role: Item,
    /// The role's state as read, and as it becomes.
    expected: Option<u64>,
    heads: Heads,
}

#[async_trait]
impl Store for DynamoStore {
    async fn put_roles(
        &self,
        roles: &[RoleRecord],
        seen_at: OffsetDateTime,
    ) -> Result<UpdateSummary, StoreError> {
        let arns: Vec<&str> = roles.iter().map(|r| r.arn.as_str()).collect();
        let mut states = self.role_states(&arns).await?;
        let at = seen_at.unix_timestamp();
        let mut order: Vec<String> = Vec::new();
        let mut writes: HashMap<String, RoleWrite> = HashMap::new();
        let mut summary = UpdateSummary::default();
        for role in roles {
            let state = states.remove(&role.arn).unwrap_or_default();
            let write = match writes.entry(role.arn.clone()) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    order.push(role.arn.clone());
                    v.insert(RoleWrite {
                        versions: Vec::new(),
                        bytes: 0,
                        role: Item::new(),
                        expected: state.rev,
                        heads: state.heads,
                    })
                }
            };
            for (policy, document) in documents(role) {
                let text = document.to_json();
                let hash = sha256_hex(&text);
                let version = match write.heads.get(policy) {
                    Some(head) if head.hash == hash => continue,
                    Some(head) => head.version + 1,
                    None => 1,
                };
                let what = format!("role {} policy {policy} version {version}", role.arn);
                let mut item = Self::key(VERSION, &version_sk(&role.arn, policy, version));
                item.insert("policy".to_owned(), s(policy));
                item.insert("hash".to_owned(), s(&hash));
                item.insert("seen_at".to_owned(), n(at));
                write.bytes += self.put_text(&mut item, &what, text)?;
                // Never overwritten, except by the same document (a run
                // interrupted before its role item was written).
                write.versions.push(self.put(
                    item,
                    Some("attribute_not_exists(pk) OR #hash = :hash"),
                    &[("#hash", "hash")],
                    HashMap::from([(":hash".to_owned(), s(&hash))]),
                )?);
                write
                    .heads
                    .insert(policy.to_owned(), Head { version, hash });
                summary.new_versions += 1;
            }
            let mut item = Self::key(ROLE, &role.arn);
            item.insert("seen_at".to_owned(), n(at));
            write.bytes += self.put_body(&mut item, &format!("role {}", role.arn), role)?;
            write.role = item;
            summary.roles += 1;
        }
        let mut groups = Vec::with_capacity(order.len());
        for arn in order {
            let Some(mut write) = writes.remove(&arn) else {
                continue;
            };
            let heads = serde_json::to_string(&write.heads).map_err(|e| self.corrupt(&arn, e))?;
            write.role.insert("heads".to_owned(), s(heads));
            let mut actions = write.versions;
            actions.push(self.put_rev(write.role, write.expected)?);
            groups.push(Group {
                actions,
                bytes: write.bytes,
                name: format!("role {arn}"),
            });
        }
        self.write(groups).await?;
        Ok(summary)
    }

    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        let mut roles = self
            .query(ROLE, None)
            .await?
            .iter()
            .map(|item| self.body::<RoleRecord>(item, "role"))
            .collect::<Result<Vec<_>, _>>()?;
        roles.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        Ok(roles)
    }

    async fn policy_history(&self, role_arn: &str) -> Result<Vec<PolicyVersionRecord>, StoreError> {
        let items = self.query(VERSION, Some(&format!("{role_arn} "))).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            let sk = self.string(item, "sk", "policy version")?;
            let policy = self.string(item, "policy", sk)?.to_owned();
            let version = sk
                .rsplit_once(' ')
                .and_then(|(_, v)| v.parse().ok())
                .ok_or_else(|| self.corrupt(sk, "no version number in the sort key"))?;
            let what = format!("policy `{policy}` version {version}");
            out.push(PolicyVersionRecord {
                role_arn: role_arn.to_owned(),
                document: Policy::parse(&self.body_text(item, &what)?)
                    .map_err(|e| self.corrupt(&what, e))?,
                seen_at: self.time(item, "seen_at", &what)?,
                policy,
                version,
            });
        }
        out.sort_by(|a, b| {
            (a.seen_at, &a.policy, a.version).cmp(&(b.seen_at, &b.policy, b.version))
        });
        Ok(out)
    }

    async fn put_access(
        &self,
        records: &[AccessRecord],
        collected_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        // Per role, per service: the new records merged among themselves.
        let mut roles: BTreeMap<&str, BTreeMap<String, ServiceAccess>> = BTreeMap::new();
        for r in records {
            roles
                .entry(r.role_arn.as_str())
                .or_default()
                .entry(r.service.to_ascii_lowercase())
                .or_default()
                .add(r);
        }
        let mut keys = Vec::new();
        for (arn, services) in &roles {
            keys.push((ACCESS.to_owned(), (*arn).to_owned()));
            for service in services.keys() {
                keys.push((ACCESS.to_owned(), format!("{arn} {service}")));
            }
        }
        let mut stored: HashMap<String, Item> = HashMap::new();
        for item in self.get_many(&keys, &[]).await? {
            let sk = self.string(&item, "sk", "access")?.to_owned();
            stored.insert(sk, item);
        }
        let at = collected_at.unix_timestamp();
        let mut groups = Vec::new();
        for (arn, services) in roles {
            let old = stored.get(arn);
            let old_at = old
                .map(|item| self.number(item, "collected_at", arn))
                .transpose()?;
            if old_at.is_none_or(|t| t < at) {
                let mut item = Self::key(ACCESS, arn);
                item.insert("collected_at".to_owned(), n(at));
                let rev = old.map(|item| self.rev(item, arn)).transpose()?;
                groups.push(Group {
                    actions: vec![self.put_rev(item, rev)?],
                    bytes: 0,
                    name: format!("access of {arn}"),
                });
            }
            for (service, new) in services {
                let sk = format!("{arn} {service}");
                let old = stored.get(&sk);
                let (merged, rev) = match old {
                    None => (new, None),
                    Some(item) => {
                        let before: ServiceAccess = self.body(item, &sk)?;
                        let merged = before.clone().merge(&new);
                        if merged == before {
                            continue;
                        }
                        (merged, Some(self.rev(item, &sk)?))
                    }
                };
                let mut item = Self::key(ACCESS, &sk);
                let bytes = self.put_body(&mut item, &sk, &merged)?;
                groups.push(Group {
                    actions: vec![self.put_rev(item, rev)?],
                    bytes,
                    name: format!("access of {arn} to {service}"),
                });
            }
        }
        self.write(groups).await
    }

    async fn access(&self) -> Result<AccessHistory, StoreError> {
        let mut history = AccessHistory::default();
        for item in self.query(ACCESS, None).await? {
            let sk = self.string(&item, "sk", "access")?;
            match sk.split_once(' ') {
                None => {
                    let at = self.time(&item, "collected_at", sk)?;
                    history
                        .roles
                        .entry(sk.to_owned())
                        .or_default()
                        .collected(at);
                }
                Some((arn, service)) => {
                    let body: ServiceAccess = self.body(&item, sk)?;
                    let role: &mut RoleAccess = history.roles.entry(arn.to_owned()).or_default();
                    let time = |u: &Use| {
                        u.last_used
                            .map(OffsetDateTime::from_unix_timestamp)
                            .transpose()
                            .map_err(|e| self.corrupt(sk, e))
                    };
                    if let Some(u) = &body.service {
                        role.services.insert(service.to_owned(), time(u)?);
                    }
                    for (action, u) in &body.actions {
                        role.actions
                            .insert((service.to_owned(), action.clone()), time(u)?);
                    }
                }
            }
        }
        Ok(history)
    }

    async fn put_plan(
        &self,
        plan: &RolePlan,
        created_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let prefix = format!("{} {} ", plan.role_arn, sortable(created_at));
        let what = format!("plan of {}", plan.role_arn);
        for _ in 0..=RETRIES {
            let next = match self.last_sk(PLAN, &prefix).await? {
                None => 0,
                Some(sk) => sk
                    .rsplit_once(' ')
                    .and_then(|(_, n)| n.parse::<u32>().ok())
                    .ok_or_else(|| self.corrupt(&sk, "no plan number in the sort key"))?
                    .saturating_add(1),
            };
            let mut item = Self::key(PLAN, &format!("{prefix}{next:06}"));
            self.put_body(&mut item, &what, plan)?;
            if self.put_new(item).await? {
                return Ok(());
            }
        }
        Err(self.conflict(what))
    }

    async fn stats(&self) -> Result<StoreStats, StoreError> {
        let mut roles_with_access = 0;
        let mut access_records = 0;
        for item in self.query(ACCESS, None).await? {
            let sk = self.string(&item, "sk", "access")?;
            if sk.contains(' ') {
                access_records += self.body::<ServiceAccess>(&item, sk)?.records();
            } else {
                roles_with_access += 1;
            }
        }
        Ok(StoreStats {
            roles: self.count(ROLE).await?,
            policy_versions: self.count(VERSION).await?,
            roles_with_access,
            access_records,
            plans: self.count(PLAN).await?,
        })
    }

    async fn put_inline_version(
        &self,
        role_arn: &str,
        policies: &[NamedPolicy],
        attached: &[String],
        reason: VersionReason,
        taken_at: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        let prefix = format!("{role_arn} ");
        for _ in 0..=RETRIES {
            let version = match self.last_sk(INLINE, &prefix).await? {
                None => 1,
                Some(sk) => sk
                    .rsplit_once(' ')
                    .and_then(|(_, v)| v.parse::<u32>().ok())
                    .ok_or_else(|| self.corrupt(&sk, "no version number in the sort key"))?
                    .saturating_add(1),
            };
            let record = InlineVersion {
                role_arn: role_arn.to_owned(),
                version,
                taken_at,
                reason,
                policies: policies.to_vec(),
                attached: attached.to_vec(),
            };
            let mut item = Self::key(INLINE, &inline_sk(role_arn, version));
            let what = format!("inline version {version} of {role_arn}");
            self.put_body(&mut item, &what, &record)?;
            if self.put_new(item).await? {
                return Ok(version);
            }
        }
        Err(self.conflict(format!("inline versions of {role_arn}")))
    }

    async fn inline_versions(&self, role_arn: &str) -> Result<Vec<InlineVersion>, StoreError> {
        let mut out = self
            .query(INLINE, Some(&format!("{role_arn} ")))
            .await?
            .iter()
            .map(|item| self.body::<InlineVersion>(item, "inline version"))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by_key(|v| v.version);
        Ok(out)
    }

    async fn schedule(&self, entry: &Scheduled) -> Result<(), StoreError> {
        let mut item = Self::key(SCHEDULE, &entry.role_arn);
        self.put_body(&mut item, "schedule entry", entry)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.call("PutItem", e))?;
        Ok(())
    }

    async fn unschedule(&self, role_arn: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(SCHEDULE, role_arn)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| self.call("DeleteItem", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn scheduled(&self) -> Result<Vec<Scheduled>, StoreError> {
        let mut out = self
            .query(SCHEDULE, None)
            .await?
            .iter()
            .map(|item| self.body::<Scheduled>(item, "schedule entry"))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.due_at, &a.role_arn).cmp(&(b.due_at, &b.role_arn)));
        Ok(out)
    }

    async fn try_lock(
        &self,
        role_arn: &str,
        owner: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut item = Self::key(LEASE, role_arn);
        item.insert("owner".to_owned(), s(owner));
        item.insert("expires_at".to_owned(), n(expires_at.unix_timestamp()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #expires <= :now OR #owner = :owner")
            .expression_attribute_names("#expires", "expires_at")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.unix_timestamp()))
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        let locked = conditional(result).map_err(|e| self.call("PutItem", e))?;
        Ok(locked.is_some())
    }

    async fn unlock(&self, role_arn: &str, owner: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(LEASE, role_arn)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        // A lost condition: another owner's lease, or none; nothing to give up.
        conditional(result).map_err(|e| self.call("DeleteItem", e))?;
        Ok(())
    }

    async fn put_totals(&self, totals: &[AccountTotals]) -> Result<(), StoreError> {
        // One item per time and account; the last given wins, as an upsert.
        let mut items: BTreeMap<String, Item> = BTreeMap::new();
        for t in totals {
            let sk = format!("{} {}", sortable(t.taken_at), t.account);
            let mut item = Self::key(TOTALS, &sk);
            self.put_body(&mut item, "stats entry", t)?;
            items.insert(sk, item);
        }
        self.put_many(items.into_values().collect()).await
    }

    async fn totals(&self) -> Result<Vec<AccountTotals>, StoreError> {
        let mut out = self
            .query(TOTALS, None)
            .await?
            .iter()
            .map(|item| self.body::<AccountTotals>(item, "stats entry"))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| (a.taken_at, &a.account).cmp(&(b.taken_at, &b.account)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_times_sort_as_times() {
        let times = [
            datetime!(1960-01-01 0:00 UTC),
            datetime!(1970-01-01 0:00 UTC),
            datetime!(1970-01-01 0:00:01 UTC),
            datetime!(2024-04-01 0:00 UTC),
            datetime!(2100-01-01 0:00 UTC),
        ];
        let keys: Vec<String> = times.iter().map(|t| sortable(*t)).collect();
        assert!(keys.iter().all(|k| k.len() == 20));
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    }

    #[test]
    fn the_later_use_wins_and_a_tie_keeps_the_stored_one() {
        let u = |t: Option<i64>, source| Use {
            last_used: t,
            source,
        };
        let stored = u(Some(10), AccessSource::Aardvark);
        assert_eq!(
            Use::merge(Some(stored), u(Some(20), AccessSource::CloudTrail)).last_used,
            Some(20)
        );
        assert_eq!(
            Use::merge(Some(stored), u(Some(5), AccessSource::CloudTrail)),
            stored
        );
        assert_eq!(
            Use::merge(Some(stored), u(None, AccessSource::CloudTrail)),
            stored
        );
        assert_eq!(
            Use::merge(Some(stored), u(Some(10), AccessSource::CloudTrail)),
            stored
        );
        let never = u(None, AccessSource::AccessAdvisor);
        assert_eq!(Use::merge(None, never), never);
        assert_eq!(Use::merge(Some(never), stored), stored);
    }

    #[test]
    fn sort_keys_stay_short_for_long_names() {
        let arn = format!("arn:aws:iam::111122223333:role/{}/web", "p".repeat(500));
        let policy = format!("arn:aws:iam::111122223333:policy/{}/p", "q".repeat(500));
        let sk = version_sk(&arn, &policy, 7);
        assert!(sk.len() < 1024, "{}", sk.len());
        assert!(sk.starts_with(&format!("{arn} ")));
        assert!(sk.ends_with(" 0000000007"));
        assert_ne!(policy_key("a"), policy_key("b"));
    }
}
