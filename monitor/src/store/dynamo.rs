//! The store in one DynamoDB table, for Lambda.
//!
//! # Table layout
//!
//! Partition key `pk` (string), sort key `sk` (string):
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | resource head | `res#<key>` | `head` | `head_number` (N), `last_seen` (N), `kind` = `head#<account>`, `sort` = key, body |
//! | revision | `res#<key>` | `rev#<number, 10 digits>` | `first_seen` (N), body |
//! | issue state | `issue#<id>` | `state` | `kind` = `issue#<account>`, `sort` = id, body |
//! | justification | `issue#<id>` | `justification` | `kind` = `justification`, `sort` = id, body |
//!
//! `<key>` is the resource key `ACCOUNT/REGION/TYPE/ID`; times are Unix
//! nanoseconds. The body is the record as JSON in `body` (S), or gzip of it
//! in `body_gz` (B) when the JSON is over 64 KiB (DynamoDB's item limit is
//! 400 KB). A head's body holds its revision number, hash, item and first
//! seen time; its `last_seen` is the attribute (so an unchanged resource
//! costs one small update), and the revision item's own `last_seen` is
//! brought up to date when a newer revision supersedes it.
//!
//! One global secondary index, `kind` (partition `kind`, sort `sort`, all
//! attributes), lists the heads and issues of an account and every
//! justification. Its reads are eventually consistent (AWS: usually under a
//! second). `revisions_since` scans the table (revisions have no time
//! index): fine for `monitor drift --since` now and then, not for every run.
//!
//! # Writes
//!
//! Each resource's changes (its new revisions, the superseded revision's
//! `last_seen`, and its head) go in one `TransactWriteItems`, with the head
//! written only if it is still the revision the plan started from
//! (`head_number` unchanged, or absent for a new resource); a resource is never
//! half-recorded and two concurrent runs cannot fork its history (the loser
//! gets [`StoreError::Conflict`] and runs again). Several resources share a
//! transaction up to 100 actions or about 3 MB (a collection holding more
//! than 8 states of one resource, such as an imported Config history, is
//! recorded in several passes so that each fits); transactions follow one
//! another, so a failure part-way leaves the earlier resources recorded and
//! the later ones not, and running the same collection again records the
//! rest. The events of the resources recorded before such a failure are not
//! returned (the call fails), so their alerts are lost: the store errs
//! towards never alerting twice. Issue states and lapsed justifications are
//! written the same way (whole records, in transactions of up to 100).

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, GlobalSecondaryIndex, KeyType, Projection, ProjectionType, Put,
    ScalarAttributeType, TransactWriteItem, Update,
};
use dynamo_item::{CallError, Group, Item, n, s};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::err::{from_nanos, to_nanos};
use super::{
    Filter, Head, IssueState, Justification, KeyPlan, Revision, Scope, Store, StoreError,
    new_justification, plan_record, relevant,
};
use crate::durable::Ephemeral;
use crate::lifecycle::reconcile;
use crate::model::{ConfigItem, Event, Issue, IssueId, ResourceKey};

/// Name of the index by kind.
pub const KIND_INDEX: &str = "kind";
/// Most states of one resource recorded in one pass: each becomes a
/// revision item of at most 400 KB in the resource's transaction (4 MB).
const MAX_STATES_PER_KEY: usize = 8;

/// The DynamoDB store: one table laid out as the module documentation says.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    ephemeral: Ephemeral,
}

fn resource_pk(key: &ResourceKey) -> String {
    format!("res#{key}")
}

fn revision_sk(number: u32) -> String {
    format!("rev#{number:010}")
}

fn issue_pk(id: &IssueId) -> String {
    format!("issue#{id}")
}

/// What a head item's body holds.
#[derive(Serialize, Deserialize)]
struct HeadBody {
    number: u32,
    hash: String,
    item: ConfigItem,
    #[serde(with = "time::serde::rfc3339")]
    first_seen: OffsetDateTime,
}

/// Adds `value` as the body of `item` (JSON, gzipped past 64 KiB);
/// answers its size.
fn put_body<T: Serialize>(item: &mut Item, what: &str, value: &T) -> Result<usize, StoreError> {
    dynamo_item::put_body(item, value).map_err(|e| StoreError::corrupt(what, e))
}

fn body<T: DeserializeOwned>(item: &Item, what: &str) -> Result<T, StoreError> {
    dynamo_item::body(item).map_err(|e| StoreError::corrupt(what, e))
}

/// The time in the number attribute `name`.
fn time(item: &Item, name: &str, what: &str) -> Result<OffsetDateTime, StoreError> {
    let nanos = dynamo_item::number(item, name).map_err(|e| StoreError::corrupt(what, e))?;
    from_nanos(what, nanos)
}

fn read_head(item: &Item) -> Result<Head, StoreError> {
    let body: HeadBody = body(item, "resource head")?;
    let what = body.item.key.to_string();
    Ok(Head {
        number: body.number,
        hash: body.hash,
        last_seen: time(item, "last_seen", &what)?,
        item: body.item,
        first_seen: body.first_seen,
    })
}

impl DynamoStore {
    /// The store in `table`, reached through `client`, with the default
    /// ephemeral paths.
    pub fn new(client: Client, table: String) -> DynamoStore {
        DynamoStore {
            client,
            table,
            ephemeral: Ephemeral::defaults(),
        }
    }

    /// The same store, judging revisions with these ephemeral paths.
    pub fn with_ephemeral(self, ephemeral: Ephemeral) -> DynamoStore {
        DynamoStore { ephemeral, ..self }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn fail(&self, operation: &'static str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Dynamo {
            table: self.table.clone(),
            operation,
            detail: e.to_string(),
        }
    }

    fn call<E>(
        &self,
        operation: &'static str,
        e: aws_sdk_dynamodb::error::SdkError<E>,
    ) -> StoreError
    where
        E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + 'static,
    {
        self.fail(operation, dynamo_item::call_detail(&e))
    }

    fn batch_or_transaction(&self, e: CallError) -> StoreError {
        match e {
            CallError::Failed { operation, detail } => self.fail(operation, detail),
            CallError::Conflict { what } => StoreError::Conflict(what),
        }
    }

    /// Creates the table with the layout above (on-demand capacity). Returns
    /// once DynamoDB accepted it; AWS takes a few seconds to make it active.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let built = |e: aws_sdk_dynamodb::error::BuildError| self.fail("CreateTable", e);
        let key = |name: &str, kind: KeyType| dynamo_item::key(name, kind).map_err(built);
        let attr = |name: &str| dynamo_item::attribute(name, ScalarAttributeType::S).map_err(built);
        let index = GlobalSecondaryIndex::builder()
            .index_name(KIND_INDEX)
            .key_schema(key("kind", KeyType::Hash)?)
            .key_schema(key("sort", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(built)?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("kind")?)
            .attribute_definitions(attr("sort")?)
            .global_secondary_indexes(index)
            .send()
            .await
            .map_err(|e| self.call("CreateTable", e))?;
        Ok(())
    }

    /// Items by key, strongly consistent, across `BatchGetItem` calls and
    /// retries of unprocessed keys; keys not found are left out.
    async fn get_many(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>, StoreError> {
        let keys = keys
            .into_iter()
            .map(|(pk, sk)| HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))]))
            .collect();
        dynamo_item::batch_get(&self.client, &self.table, keys, &[])
            .await
            .map_err(|e| self.batch_or_transaction(e))
    }

    /// Every item of a kind, across pages.
    async fn query_kind(&self, kind: &str) -> Result<Vec<Item>, StoreError> {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(KIND_INDEX)
            .key_condition_expression("#kind = :k")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":k", s(kind))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Query", e))
    }

    /// Every item matching a filter on a full scan, across pages; `#kind`
    /// in the filter names the `kind` attribute.
    async fn scan(&self, filter: &str, values: Item) -> Result<Vec<Item>, StoreError> {
        let names = filter
            .contains("#kind")
            .then(|| HashMap::from([("#kind".to_owned(), "kind".to_owned())]));
        self.client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(Some(values))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Scan", e))
    }

    /// The items of a kind family (`head#`, `issue#`) for the scope's
    /// accounts, or for all accounts when it names none.
    async fn by_account(&self, prefix: &str, scope: &Scope) -> Result<Vec<Item>, StoreError> {
        if scope.accounts.is_empty() {
            return self
                .scan(
                    "begins_with(#kind, :p)",
                    HashMap::from([(":p".to_owned(), s(prefix))]),
                )
                .await;
        }
        let mut out = Vec::new();
        for account in &scope.accounts {
            out.extend(self.query_kind(&format!("{prefix}{account}")).await?);
        }
        Ok(out)
    }

    /// Writes groups in transactions of up to 100 writes and about 3 MB,
    /// several groups to one; no group here holds more than 100 writes, so
    /// none is split.
    async fn write(&self, groups: Vec<Group>) -> Result<(), StoreError> {
        dynamo_item::transact(&self.client, groups)
            .await
            .map_err(|e| self.batch_or_transaction(e))
    }

    fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build()
            .map_err(|e| self.fail("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn update(
        &self,
        pk: String,
        sk: String,
        expression: &str,
        condition: &str,
        values: Item,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression(expression)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| self.fail("TransactWriteItems", e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The actions that carry out one resource's plan.
    fn plan_group(&self, plan: &KeyPlan) -> Result<Group, StoreError> {
        let key = plan.key.to_string();
        let pk = resource_pk(&plan.key);
        let mut group = Group {
            actions: Vec::new(),
            bytes: 0,
            name: key.clone(),
        };
        if let Some((number, last_seen)) = plan.superseded {
            // The old head's revision item: bring its last_seen up to date.
            group.actions.push(self.update(
                pk.clone(),
                revision_sk(number),
                "SET last_seen = :t",
                "attribute_exists(pk)",
                HashMap::from([(":t".to_owned(), n(to_nanos(last_seen)?))]),
            )?);
        }
        for r in &plan.revisions {
            let mut item: Item = HashMap::from([
                ("pk".to_owned(), s(&pk)),
                ("sk".to_owned(), s(revision_sk(r.number))),
                ("first_seen".to_owned(), n(to_nanos(r.first_seen)?)),
                ("last_seen".to_owned(), n(to_nanos(r.last_seen)?)),
            ]);
            group.bytes += put_body(&mut item, &key, r)?;
            group
                .actions
                .push(self.put(item, Some("attribute_not_exists(pk)"), HashMap::new())?);
        }
        let last_seen = n(to_nanos(plan.head.last_seen)?);
        if plan.is_touch() {
            group.actions.push(self.update(
                pk,
                "head".to_owned(),
                "SET last_seen = :t",
                "head_number = :n",
                HashMap::from([
                    (":t".to_owned(), last_seen),
                    (":n".to_owned(), n(plan.head.number)),
                ]),
            )?);
            return Ok(group);
        }
        let mut item: Item = HashMap::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s("head")),
            ("head_number".to_owned(), n(plan.head.number)),
            ("last_seen".to_owned(), last_seen),
            ("kind".to_owned(), s(format!("head#{}", plan.key.account))),
            ("sort".to_owned(), s(&key)),
        ]);
        group.bytes += put_body(
            &mut item,
            &key,
            &HeadBody {
                number: plan.head.number,
                hash: plan.head.hash.clone(),
                item: plan.head.item.clone(),
                first_seen: plan.head.first_seen,
            },
        )?;
        let (condition, values) = match plan.expected {
            Some(expected) => (
                "head_number = :n",
                HashMap::from([(":n".to_owned(), n(expected))]),
            ),
            None => ("attribute_not_exists(pk)", HashMap::new()),
        };
        group.actions.push(self.put(item, Some(condition), values)?);
        Ok(group)
    }

    /// Records items in which no resource appears more than
    /// [`MAX_STATES_PER_KEY`] times, so each resource's writes fit one
    /// transaction.
    async fn record_chunk(
        &self,
        items: &[ConfigItem],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let mut keys = Vec::new();
        let mut asked = HashSet::new();
        for item in items {
            if asked.insert(&item.key) {
                keys.push((resource_pk(&item.key), "head".to_owned()));
            }
        }
        let mut heads = HashMap::new();
        for item in self.get_many(keys).await? {
            let head = read_head(&item)?;
            heads.insert(head.item.key.clone(), head);
        }
        let (plans, events) = plan_record(&self.ephemeral, &heads, items, seen_at);
        let groups = plans
            .iter()
            .map(|plan| self.plan_group(plan))
            .collect::<Result<Vec<_>, _>>()?;
        self.write(groups).await?;
        Ok(events)
    }

    async fn issue_state(&self, id: &IssueId) -> Result<Option<IssueState>, StoreError> {
        let items = self
            .get_many(vec![(issue_pk(id), "state".to_owned())])
            .await?;
        items
            .first()
            .map(|item| body(item, &format!("issue {id}")))
            .transpose()
    }

    fn put_record<T: Serialize>(
        &self,
        pk: String,
        sk: &str,
        kind: String,
        sort: &str,
        record: &T,
    ) -> Result<Group, StoreError> {
        let mut item: Item = HashMap::from([
            ("pk".to_owned(), s(&pk)),
            ("sk".to_owned(), s(sk)),
            ("kind".to_owned(), s(kind)),
            ("sort".to_owned(), s(sort)),
        ]);
        let bytes = put_body(&mut item, &pk, record)?;
        Ok(Group {
            actions: vec![self.put(item, None, HashMap::new())?],
            bytes,
            name: pk,
        })
    }

    fn justification_group(&self, j: &Justification) -> Result<Group, StoreError> {
        self.put_record(
            issue_pk(&j.id),
            "justification",
            "justification".to_owned(),
            &j.id.0,
            j,
        )
    }
}

#[async_trait::async_trait]
impl Store for DynamoStore {
    async fn record(
        &self,
        items: &[ConfigItem],
        seen_at: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let mut events = Vec::new();
        for chunk in chunks_per_key(items, MAX_STATES_PER_KEY) {
            events.extend(self.record_chunk(chunk, seen_at).await?);
        }
        Ok(events)
    }

    async fn latest(&self, filter: &Filter) -> Result<Vec<ConfigItem>, StoreError> {
        let mut out = Vec::new();
        for item in self.by_account("head#", &filter.scope).await? {
            let head = read_head(&item)?;
            if (filter.include_deleted || !head.item.status.is_deleted())
                && filter.scope.covers(&head.item.key)
            {
                out.push(head.item);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn history(&self, key: &ResourceKey) -> Result<Vec<Revision>, StoreError> {
        let items: Vec<Item> = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(resource_pk(key)))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.call("Query", e))?;
        let mut head = None;
        let mut revisions = Vec::new();
        for item in &items {
            match item.get("sk") {
                Some(AttributeValue::S(sk)) if sk == "head" => head = Some(read_head(item)?),
                _ => revisions.push(read_revision(item)?),
            }
        }
        revisions.sort_by_key(|r| r.number);
        if let (Some(head), Some(last)) = (head, revisions.last_mut())
            && last.number == head.number
        {
            last.last_seen = head.last_seen;
        }
        Ok(revisions)
    }

    async fn revisions_since(&self, since: OffsetDateTime) -> Result<Vec<Revision>, StoreError> {
        let items = self
            .scan(
                "begins_with(sk, :rev) AND first_seen >= :t",
                HashMap::from([
                    (":rev".to_owned(), s("rev#")),
                    (":t".to_owned(), n(to_nanos(since)?)),
                ]),
            )
            .await?;
        let mut revisions = items
            .iter()
            .map(read_revision)
            .collect::<Result<Vec<_>, _>>()?;
        // The newest revision's last_seen lives on its head.
        let mut keys: Vec<(String, String)> = revisions
            .iter()
            .map(|r| (resource_pk(&r.key), "head".to_owned()))
            .collect();
        keys.sort();
        keys.dedup();
        let heads: HashMap<ResourceKey, Head> = self
            .get_many(keys)
            .await?
            .iter()
            .map(|item| read_head(item).map(|h| (h.item.key.clone(), h)))
            .collect::<Result<_, _>>()?;
        for r in &mut revisions {
            if let Some(head) = heads.get(&r.key).filter(|h| h.number == r.number) {
                r.last_seen = head.last_seen;
            }
        }
        revisions.sort_by(|a, b| {
            (a.first_seen, &a.key, a.number).cmp(&(b.first_seen, &b.key, b.number))
        });
        Ok(revisions)
    }

    async fn reconcile(
        &self,
        scope: &Scope,
        issues: &[Issue],
        now: OffsetDateTime,
    ) -> Result<Vec<Event>, StoreError> {
        let found: HashSet<&IssueId> = issues.iter().map(|i| &i.id).collect();
        let mut previous = Vec::new();
        for item in self.by_account("issue#", scope).await? {
            let state: IssueState = body(&item, "issue state")?;
            if relevant(scope, &found, &state) {
                previous.push(state);
            }
        }
        let known: HashSet<IssueId> = previous.iter().map(|s| s.issue.id.clone()).collect();
        let missing: Vec<(String, String)> = found
            .iter()
            .filter(|id| !known.contains(**id))
            .map(|id| (issue_pk(id), "state".to_owned()))
            .collect();
        for item in self.get_many(missing).await? {
            previous.push(body(&item, "issue state")?);
        }
        let result = reconcile(scope, &previous, &self.justifications().await?, issues, now);
        let mut groups = Vec::new();
        for state in &result.states {
            groups.push(self.put_record(
                issue_pk(&state.issue.id),
                "state",
                format!("issue#{}", state.issue.resource.account),
                &state.issue.id.0,
                state,
            )?);
        }
        for j in &result.lapsed {
            groups.push(self.justification_group(j)?);
        }
        self.write(groups).await?;
        Ok(result.events)
    }

    async fn issues(&self, scope: &Scope) -> Result<Vec<IssueState>, StoreError> {
        let mut out = Vec::new();
        for item in self.by_account("issue#", scope).await? {
            let state: IssueState = body(&item, "issue state")?;
            if scope.covers(&state.issue.resource) {
                out.push(state);
            }
        }
        out.sort_by(|a, b| a.issue.id.cmp(&b.issue.id));
        Ok(out)
    }

    async fn justify(
        &self,
        id: &IssueId,
        reason: &str,
        by: &str,
        expires: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<Justification, StoreError> {
        let j = new_justification(self.issue_state(id).await?, id, reason, by, expires, now)?;
        self.write(vec![self.justification_group(&j)?]).await?;
        Ok(j)
    }

    async fn justifications(&self) -> Result<Vec<Justification>, StoreError> {
        let mut out = self
            .query_kind("justification")
            .await?
            .iter()
            .map(|item| body(item, "justification"))
            .collect::<Result<Vec<Justification>, _>>()?;
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

fn read_revision(item: &Item) -> Result<Revision, StoreError> {
    let mut revision: Revision = body(item, "revision")?;
    // The attribute is brought up to date when the revision is superseded;
    // the body keeps the value it was written with.
    revision.last_seen = time(item, "last_seen", &revision.key.to_string())?;
    Ok(revision)
}

/// `items` cut into consecutive runs in which no resource appears more than
/// `limit` times.
fn chunks_per_key(items: &[ConfigItem], limit: usize) -> Vec<&[ConfigItem]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut counts: HashMap<&ResourceKey, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let count = counts.entry(&item.key).or_default();
        if *count == limit {
            out.extend(items.get(start..i));
            start = i;
            counts.clear();
            counts.insert(&item.key, 1);
        } else {
            *count += 1;
        }
    }
    out.extend(items.get(start..).filter(|rest| !rest.is_empty()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ItemStatus;

    fn item(id: &str) -> ConfigItem {
        ConfigItem {
            key: format!("111111111111/us-east-1/AWS::S3::Bucket/{id}")
                .parse()
                .unwrap(),
            arn: None,
            name: None,
            status: ItemStatus::Ok,
            capture_time: None,
            configuration: serde_json::Value::Null,
            supplementary: Default::default(),
            tags: Default::default(),
        }
    }

    #[test]
    fn chunks_keep_each_resource_under_the_limit() {
        let items: Vec<ConfigItem> = ["a", "b", "a", "a", "b", "c", "a"]
            .iter()
            .map(|id| item(id))
            .collect();
        let chunks = chunks_per_key(&items, 2);
        let ids: Vec<Vec<&str>> = chunks
            .iter()
            .map(|c| c.iter().map(|i| i.key.resource_id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b", "a"], vec!["a", "b", "c", "a"]]);
        assert!(chunks_per_key(&[], 2).is_empty());
    }

    #[test]
    fn big_bodies_are_gzipped_and_read_back() {
        let mut big = item("big");
        big.configuration = serde_json::json!({"filler": "x".repeat(dynamo_item::GZIP_OVER * 2)});
        let mut stored = Item::new();
        let size = put_body(&mut stored, "big", &big).unwrap();
        assert!(size < dynamo_item::GZIP_OVER);
        assert!(stored.contains_key("body_gz") && !stored.contains_key("body"));
        assert_eq!(body::<ConfigItem>(&stored, "big").unwrap(), big);
        let mut small = Item::new();
        put_body(&mut small, "small", &item("s")).unwrap();
        assert!(small.contains_key("body"));
    }
}
