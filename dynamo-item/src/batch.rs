//! `BatchGetItem` and `BatchWriteItem` within the service's limits, sending
//! again what it left unprocessed (it does so when throttled, or past 16 MB
//! of answer).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, PutRequest, WriteRequest};

use crate::call::call_detail;
use crate::{CallError, Item};

/// Most keys in one `BatchGetItem`.
const MAX_BATCH_GET: usize = 100;
/// Most items in one `BatchWriteItem`.
const MAX_BATCH_WRITE: usize = 25;
/// How many times unprocessed keys or items are sent again.
const RETRIES: u32 = 8;

/// The items of `table` with these keys (each key holds exactly the key
/// attributes; no key twice), strongly consistent, with only the
/// attributes named in `only` (all when empty); keys not found are left
/// out, and the order is the service's.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    only: &[&str],
) -> Result<Vec<Item>, CallError> {
    const OPERATION: &str = "BatchGetItem";
    let mut out = Vec::new();
    let mut keys = keys.into_iter().peekable();
    while keys.peek().is_some() {
        let mut request = KeysAndAttributes::builder()
            .set_keys(Some(keys.by_ref().take(MAX_BATCH_GET).collect()))
            .consistent_read(true);
        if !only.is_empty() {
            let names: Vec<String> = (0..only.len()).map(|i| format!("#a{i}")).collect();
            request = request.projection_expression(names.join(", "));
            for (name, attribute) in names.into_iter().zip(only) {
                request = request.expression_attribute_names(name, *attribute);
            }
        }
        let request = request
            .build()
            .map_err(|e| CallError::failed(OPERATION, e))?;
        let mut pending = Some(HashMap::from([(table.to_owned(), request)]));
        let mut retries = Retries::new(OPERATION);
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            retries.wait().await?;
            let answer = client
                .batch_get_item()
                .set_request_items(Some(requests))
                .send()
                .await
                .map_err(|e| CallError::failed(OPERATION, call_detail(&e)))?;
            if let Some(mut responses) = answer.responses {
                out.extend(responses.remove(table).unwrap_or_default());
            }
            pending = answer.unprocessed_keys;
        }
    }
    Ok(out)
}

/// Puts `items` into `table` (unconditionally: a put replaces an item with
/// the same key; no key twice), 25 to a `BatchWriteItem`.
pub async fn batch_put(client: &Client, table: &str, items: Vec<Item>) -> Result<(), CallError> {
    const OPERATION: &str = "BatchWriteItem";
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let writes = items
            .by_ref()
            .take(MAX_BATCH_WRITE)
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
                    .map_err(|e| CallError::failed(OPERATION, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut pending = Some(HashMap::from([(table.to_owned(), writes)]));
        let mut retries = Retries::new(OPERATION);
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            retries.wait().await?;
            pending = client
                .batch_write_item()
                .set_request_items(Some(requests))
                .send()
                .await
                .map_err(|e| CallError::failed(OPERATION, call_detail(&e)))?
                .unprocessed_items;
        }
    }
    Ok(())
}

/// The sends of one batch: the first at once, each retry after a wait of
/// 100 ms doubling up to 3.2 s, at most [`RETRIES`] of them.
struct Retries {
    operation: &'static str,
    sent: u32,
}

impl Retries {
    fn new(operation: &'static str) -> Retries {
        Retries { operation, sent: 0 }
    }

    /// Waits before the next send, or fails once the retries are spent.
    async fn wait(&mut self) -> Result<(), CallError> {
        if self.sent > RETRIES {
            return Err(CallError::failed(
                self.operation,
                format!("items still unprocessed after {RETRIES} retries (throttled)"),
            ));
        }
        if self.sent > 0 {
            tokio::time::sleep(delay(self.sent)).await;
        }
        self.sent += 1;
        Ok(())
    }
}

/// The wait before retry `n` (1, 2, ...).
fn delay(n: u32) -> Duration {
    Duration::from_millis(50 << n.min(6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_ceiling() {
        let waits: Vec<u64> = (1..=RETRIES)
            .map(|n| u64::try_from(delay(n).as_millis()).unwrap())
            .collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 3200, 3200]);
    }
}
