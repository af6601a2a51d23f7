//! A record's JSON body: in `body` (S), or gzipped in `body_gz` (B) past
//! [`GZIP_OVER`] bytes, so that records up to several times DynamoDB's
//! 400 KB item limit still fit one item.

use std::borrow::Cow;
use std::io::{Read, Write};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Item, ItemError};

/// Bodies of more than this many bytes of JSON are stored gzipped (64 KiB).
pub const GZIP_OVER: usize = 64 * 1024;

const BODY: &str = "body";
const BODY_GZ: &str = "body_gz";

/// Adds `value` as a JSON body to `item` (see [`put_body_text`]); answers
/// the body's size in bytes as stored.
pub fn put_body<T: Serialize>(item: &mut Item, value: &T) -> Result<usize, ItemError> {
    let text = serde_json::to_string(value).map_err(ItemError::Encode)?;
    put_body_text(item, text)
}

/// Adds JSON `text` to `item`: as `body` when it is at most [`GZIP_OVER`]
/// bytes, else gzipped (default level) as `body_gz`. Answers the size in
/// bytes of what was added, for callers that keep requests under a limit.
pub fn put_body_text(item: &mut Item, text: String) -> Result<usize, ItemError> {
    if text.len() <= GZIP_OVER {
        let size = text.len();
        item.insert(BODY.to_owned(), AttributeValue::S(text));
        return Ok(size);
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    let gz = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .map_err(|source| ItemError::Gzip {
            doing: "compress",
            source,
        })?;
    let size = gz.len();
    item.insert(BODY_GZ.to_owned(), AttributeValue::B(Blob::new(gz)));
    Ok(size)
}

/// The JSON text of `item`'s body: `body` if it has one, else `body_gz`
/// decompressed.
pub fn body_text(item: &Item) -> Result<Cow<'_, str>, ItemError> {
    match (item.get(BODY), item.get(BODY_GZ)) {
        (Some(AttributeValue::S(text)), _) => Ok(Cow::Borrowed(text)),
        (_, Some(AttributeValue::B(gz))) => {
            let mut text = String::new();
            GzDecoder::new(gz.as_ref())
                .read_to_string(&mut text)
                .map_err(|source| ItemError::Gzip {
                    doing: "decompress",
                    source,
                })?;
            Ok(Cow::Owned(text))
        }
        _ => Err(ItemError::NoBody),
    }
}

/// `item`'s body decoded from JSON.
pub fn body<T: DeserializeOwned>(item: &Item) -> Result<T, ItemError> {
    serde_json::from_str(&body_text(item)?).map_err(ItemError::Decode)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn small_bodies_stay_json_text() {
        let mut item = Item::new();
        let value = BTreeMap::from([("a", 1), ("b", 2)]);
        assert_eq!(put_body(&mut item, &value).unwrap(), 13);
        assert_eq!(item.get("body"), Some(&crate::s(r#"{"a":1,"b":2}"#)));
        assert!(!item.contains_key("body_gz"));
        assert_eq!(body::<BTreeMap<String, i32>>(&item).unwrap().len(), 2);
    }

    #[test]
    fn the_threshold_is_inclusive() {
        // A JSON string of GZIP_OVER bytes, quotes included.
        let at = "x".repeat(GZIP_OVER - 2);
        let mut item = Item::new();
        assert_eq!(put_body(&mut item, &at).unwrap(), GZIP_OVER);
        assert!(item.contains_key("body"));
        let over = "x".repeat(GZIP_OVER - 1);
        let mut item = Item::new();
        let size = put_body(&mut item, &over).unwrap();
        assert!(size < GZIP_OVER / 10, "{size}");
        assert!(item.contains_key("body_gz") && !item.contains_key("body"));
        assert_eq!(body::<String>(&item).unwrap(), over);
    }

    #[test]
    fn gzip_is_the_standard_format() {
        let text = format!("\"{}\"", "y".repeat(GZIP_OVER));
        let mut item = Item::new();
        put_body_text(&mut item, text.clone()).unwrap();
        let Some(AttributeValue::B(gz)) = item.get("body_gz") else {
            panic!("no body_gz: {item:?}");
        };
        // The gzip magic number, then deflate, as any gzip reader expects.
        assert_eq!(gz.as_ref().get(..3), Some(&[0x1f, 0x8b, 8][..]));
        assert_eq!(body_text(&item).unwrap(), text);
    }

    #[test]
    fn unreadable_bodies_say_why() {
        assert!(matches!(
            body::<String>(&Item::new()),
            Err(ItemError::NoBody)
        ));
        let mut item = Item::new();
        item.insert("body".to_owned(), crate::s("{not json"));
        assert!(matches!(body::<String>(&item), Err(ItemError::Decode(_))));
        let mut item = Item::new();
        item.insert(
            "body_gz".to_owned(),
            AttributeValue::B(Blob::new(b"not gzip".to_vec())),
        );
        let e = body::<String>(&item).unwrap_err();
        assert!(
            e.to_string().starts_with("its body does not decompress"),
            "{e}"
        );
        // A `body` of another type does not hide a `body_gz`.
        let mut item = Item::new();
        put_body_text(&mut item, format!("\"{}\"", "z".repeat(GZIP_OVER))).unwrap();
        item.insert("body".to_owned(), crate::n(1));
        assert_eq!(body::<String>(&item).unwrap().len(), GZIP_OVER);
    }

    proptest! {
        #[test]
        fn bodies_read_back_as_written(text in ".{0,200}", repeat in 0usize..800) {
            let value = vec![text; repeat];
            let mut item = Item::new();
            put_body(&mut item, &value).unwrap();
            prop_assert_eq!(item.len(), 1);
            prop_assert_eq!(body::<Vec<String>>(&item).unwrap(), value);
        }
    }
}
