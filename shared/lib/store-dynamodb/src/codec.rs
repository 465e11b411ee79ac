//! The attribute layout of an item in DynamoDB, and the conversion both ways.
//!
//! | attribute                  | type | holds                                     |
//! |----------------------------|------|-------------------------------------------|
//! | `pk`, `sk`                 | S    | the table keys                            |
//! | `v`                        | N    | the version                               |
//! | `data`                     | S    | the opaque payload                        |
//! | `gsiNpk`, `gsiNsk` (N=1..4)| S    | index keys, present only for indexes set  |
//! | `expires_at`               | N    | Unix seconds; also the table's TTL field  |

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use brokeros_store::{Index, IndexKey, Item, Key, StoreError};

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
pub(crate) const VERSION: &str = "v";
pub(crate) const DATA: &str = "data";
pub(crate) const EXPIRES_AT: &str = "expires_at";

pub(crate) type Attributes = HashMap<String, AttributeValue>;

/// The partition key attribute of an index (`gsi1pk` …).
pub(crate) fn index_pk_attribute(index: Index) -> String {
    format!("{}pk", index.name())
}

/// The sort key attribute of an index (`gsi1sk` …).
pub(crate) fn index_sk_attribute(index: Index) -> String {
    format!("{}sk", index.name())
}

pub(crate) fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

pub(crate) fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The primary key attributes of `key`.
pub(crate) fn key_attributes(key: &Key) -> Attributes {
    HashMap::from([
        (PK.to_string(), string(&key.pk)),
        (SK.to_string(), string(&key.sk)),
    ])
}

/// Every attribute of `item`; absent indexes and a missing expiry have no attribute at all.
pub(crate) fn item_attributes(item: &Item) -> Attributes {
    let mut attributes = key_attributes(&item.key);
    attributes.insert(VERSION.to_string(), number(item.version));
    attributes.insert(DATA.to_string(), string(&item.data));
    for (index, key) in &item.indexes {
        attributes.insert(index_pk_attribute(*index), string(&key.pk));
        attributes.insert(index_sk_attribute(*index), string(&key.sk));
    }
    if let Some(expires_at) = item.expires_at {
        attributes.insert(EXPIRES_AT.to_string(), number(expires_at));
    }
    attributes
}

fn malformed(what: &str) -> StoreError {
    StoreError::Unavailable(format!("malformed item in DynamoDB: {what}"))
}

fn required_string(attributes: &Attributes, name: &str) -> Result<String, StoreError> {
    match attributes.get(name) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        _ => Err(malformed(&format!(
            "attribute `{name}` is missing or not a string"
        ))),
    }
}

fn optional_string(attributes: &Attributes, name: &str) -> Result<Option<String>, StoreError> {
    match attributes.get(name) {
        None => Ok(None),
        Some(AttributeValue::S(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(&format!("attribute `{name}` is not a string"))),
    }
}

fn parse_number<T: std::str::FromStr>(
    attributes: &Attributes,
    name: &str,
) -> Result<Option<T>, StoreError> {
    match attributes.get(name) {
        None => Ok(None),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map(Some)
            .map_err(|_| malformed(&format!("attribute `{name}` is not an integer"))),
        Some(_) => Err(malformed(&format!("attribute `{name}` is not a number"))),
    }
}

/// The item these attributes describe.
pub(crate) fn item_from_attributes(attributes: &Attributes) -> Result<Item, StoreError> {
    let key = Key::new(
        required_string(attributes, PK)?,
        required_string(attributes, SK)?,
    );
    let version = parse_number::<u64>(attributes, VERSION)?
        .ok_or_else(|| malformed("attribute `v` is missing"))?;
    let data = required_string(attributes, DATA)?;
    let mut indexes = BTreeMap::new();
    for index in Index::ALL {
        let pk = optional_string(attributes, &index_pk_attribute(index))?;
        let sk = optional_string(attributes, &index_sk_attribute(index))?;
        if let (Some(pk), Some(sk)) = (pk, sk) {
            indexes.insert(index, IndexKey { pk, sk });
        }
    }
    let expires_at = parse_number::<i64>(attributes, EXPIRES_AT)?;
    Ok(Item {
        key,
        version,
        data,
        indexes,
        expires_at,
    })
}

/// The table key an item's attributes hold, if they hold one.
pub(crate) fn key_from_attributes(attributes: &Attributes) -> Option<Key> {
    match (attributes.get(PK), attributes.get(SK)) {
        (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) => {
            Some(Key::new(pk.clone(), sk.clone()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_survives_the_round_trip() {
        let item = Item::new(Key::new("LEAD#1", "META"), 7, r#"{"a":1}"#)
            .with_index(Index::Gsi2, "BROKER#b", "2024#LEAD#1")
            .with_index(Index::Gsi4, "STATUS#new", "LEAD#1")
            .expiring_at(1_700_000_000);
        let attributes = item_attributes(&item);
        assert_eq!(attributes.get("gsi2pk"), Some(&string("BROKER#b")));
        assert_eq!(attributes.get("gsi4sk"), Some(&string("LEAD#1")));
        assert!(!attributes.contains_key("gsi1pk"));
        assert_eq!(attributes.get("expires_at"), Some(&number(1_700_000_000)));
        assert_eq!(item_from_attributes(&attributes).unwrap(), item);
    }

    #[test]
    fn a_plain_item_has_only_its_own_attributes() {
        let item = Item::new(Key::new("p", "s"), 1, "");
        let attributes = item_attributes(&item);
        let mut names: Vec<&str> = attributes.keys().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["data", "pk", "sk", "v"]);
        assert_eq!(item_from_attributes(&attributes).unwrap(), item);
    }

    #[test]
    fn a_malformed_item_is_refused() {
        let mut attributes = item_attributes(&Item::new(Key::new("p", "s"), 1, "x"));
        attributes.insert("v".into(), string("one"));
        assert!(matches!(
            item_from_attributes(&attributes),
            Err(StoreError::Unavailable(_))
        ));
    }
}
