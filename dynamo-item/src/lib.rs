//! The DynamoDB item helpers the toolkit's stores share.
//!
//! Each tool (monitor, repokid, certs, ssh-ca) lays out its own table; this
//! crate holds only what their DynamoDB stores do alike, so that one copy is
//! tested and fixed:
//!
//! - [`Item`], [`s`] and [`n`]: an item and its string and number values.
//! - [`string`], [`number`] and their `optional_` forms read an attribute
//!   and say which one is missing or malformed.
//! - [`put_body`] and [`body`]: a record as JSON in the `body` attribute
//!   (S), or gzipped in `body_gz` (B) when the JSON is over [`GZIP_OVER`]
//!   bytes; [`put_body_text`] and [`body_text`] do the same for JSON text
//!   the caller keeps as text.
//! - [`call_detail`] turns an SDK error into a message that leads with the
//!   service's error code; [`conditional`] tells a write whose condition
//!   did not hold from a failed call.
//! - [`batch_get`] and [`batch_put`]: `BatchGetItem` and `BatchWriteItem`
//!   in chunks of the service's limits, sending again, with backoff, what
//!   the service left unprocessed.
//! - [`key`] and [`attribute`]: the key schema of a table or index, for a
//!   store's `create_table`.
//! - [`Group`] and [`transact`]: writes grouped so that each group lands in
//!   one `TransactWriteItems`, as many groups per transaction as the
//!   service's limits allow; a lost condition answers
//!   [`CallError::Conflict`].
//!
//! Errors are [`ItemError`] (an item does not read or encode) and
//! [`CallError`] (a call failed). Their messages are the detail a store's
//! own error wraps: the store names its table and the record and says how
//! to fix it.
//!
//! ```
//! use dynamo_item::{Item, body, n, put_body, s};
//!
//! let mut item = Item::from([("pk".to_owned(), s("role")), ("rev".to_owned(), n(3))]);
//! put_body(&mut item, &vec!["a", "b"])?;
//! assert_eq!(item.get("body"), Some(&s(r#"["a","b"]"#)));
//! assert_eq!(body::<Vec<String>>(&item)?, ["a", "b"]);
//! # Ok::<(), dynamo_item::ItemError>(())
//! ```
#![forbid(unsafe_code)]

mod attr;
mod batch;
mod body;
mod call;
mod err;
mod schema;
mod transact;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub use attr::{number, optional_number, optional_string, string};
pub use batch::{batch_get, batch_put};
pub use body::{GZIP_OVER, body, body_text, put_body, put_body_text};
pub use call::{call_detail, conditional};
pub use err::{CallError, ItemError};
pub use schema::{attribute, key};
pub use transact::{Group, transact};

/// An item: attribute names and their values.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value, written as `v` displays (DynamoDB carries
/// numbers as text).
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_carry_their_type_and_text() {
        assert_eq!(s("x"), AttributeValue::S("x".to_owned()));
        assert_eq!(n(-42_i64), AttributeValue::N("-42".to_owned()));
        assert_eq!(n(7_u32), AttributeValue::N("7".to_owned()));
    }
}
