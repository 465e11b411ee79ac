//! Canonical JSON and SHA-256 digests of it: the one way Broker OS hashes structured data
//! (audit events, idempotent request bodies), so the same value always gives the same digest.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Serializes with object keys sorted and no insignificant whitespace. serde_json's `Value`
/// keeps objects in a `BTreeMap` (the `preserve_order` feature is not enabled), so going
/// through `Value` sorts every level.
pub fn to_canonical_json<T: Serialize>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("domain values serialize to JSON");
    serde_json::to_string(&value).expect("a JSON value serializes")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn canonical_sha256<T: Serialize>(value: &T) -> String {
    sha256_hex(to_canonical_json(value).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_digest() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1, "a":{"y":2,"x":[1,2]}}"#).unwrap();
        let b = json!({"a": {"x": [1, 2], "y": 2}, "b": 1});
        assert_eq!(canonical_sha256(&a), canonical_sha256(&b));
        assert_eq!(to_canonical_json(&a), r#"{"a":{"x":[1,2],"y":2},"b":1}"#);
    }

    #[test]
    fn different_values_give_different_digests() {
        assert_ne!(
            canonical_sha256(&json!({"a": 1})),
            canonical_sha256(&json!({"a": 2}))
        );
    }
}
