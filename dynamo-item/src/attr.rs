//! Reading one attribute of an item.

use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::{Item, ItemError};

/// The string attribute `name`, or `None` when the item has none.
pub fn optional_string<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, ItemError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(v)) => Ok(Some(v)),
        Some(_) => Err(ItemError::WrongType {
            name: name.to_owned(),
            expected: "a string",
        }),
    }
}

/// The string attribute `name`.
pub fn string<'a>(item: &'a Item, name: &str) -> Result<&'a str, ItemError> {
    optional_string(item, name)?.ok_or_else(|| missing(name))
}

/// The number attribute `name` parsed as `T`, or `None` when the item has
/// none.
pub fn optional_number<T: FromStr>(item: &Item, name: &str) -> Result<Option<T>, ItemError> {
    match item.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| ItemError::BadNumber {
            name: name.to_owned(),
            value: v.clone(),
        }),
        Some(_) => Err(ItemError::WrongType {
            name: name.to_owned(),
            expected: "a number",
        }),
    }
}

/// The number attribute `name` parsed as `T`.
pub fn number<T: FromStr>(item: &Item, name: &str) -> Result<T, ItemError> {
    optional_number(item, name)?.ok_or_else(|| missing(name))
}

fn missing(name: &str) -> ItemError {
    ItemError::Missing {
        name: name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{n, s};

    fn item() -> Item {
        Item::from([
            ("name".to_owned(), s("web")),
            ("rev".to_owned(), n(12)),
            ("neg".to_owned(), n(-3)),
            ("flag".to_owned(), AttributeValue::Bool(true)),
        ])
    }

    #[test]
    fn strings_read_or_say_what_is_wrong() {
        let item = item();
        assert_eq!(string(&item, "name").unwrap(), "web");
        assert_eq!(optional_string(&item, "name").unwrap(), Some("web"));
        assert_eq!(optional_string(&item, "other").unwrap(), None);
        assert_eq!(
            string(&item, "other").unwrap_err().to_string(),
            "`other` is missing"
        );
        assert_eq!(
            string(&item, "rev").unwrap_err().to_string(),
            "`rev` is not a string"
        );
    }

    #[test]
    fn numbers_parse_as_the_type_asked() {
        let item = item();
        assert_eq!(number::<i64>(&item, "rev").unwrap(), 12);
        assert_eq!(number::<u32>(&item, "rev").unwrap(), 12);
        assert_eq!(number::<i64>(&item, "neg").unwrap(), -3);
        assert_eq!(optional_number::<u64>(&item, "other").unwrap(), None);
        assert_eq!(
            number::<u64>(&item, "neg").unwrap_err().to_string(),
            "`neg` is `-3`"
        );
        assert_eq!(
            number::<i64>(&item, "name").unwrap_err().to_string(),
            "`name` is not a number"
        );
        assert_eq!(
            number::<i64>(&item, "flag").unwrap_err().to_string(),
            "`flag` is not a number"
        );
        assert!(matches!(
            number::<i64>(&item, "other"),
            Err(ItemError::Missing { name }) if name == "other"
        ));
    }
}
