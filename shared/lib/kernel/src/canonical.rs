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
    canonical_value_sha256(&serde_json::to_value(value).expect("domain values serialize to JSON"))
}

/// The digest of a JSON value's canonical form, streamed into the hash without building the
/// text (a `Value`'s objects are already sorted).
pub fn canonical_value_sha256(value: &serde_json::Value) -> String {
    struct HashWriter(Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(Sha256::new());
    serde_json::to_writer(&mut writer, value).expect("a JSON value serializes");
    hex::encode(writer.0.finalize())
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
    fn streamed_digest_equals_digest_of_the_text() {
        let v = json!({"z": [1, {"b": "x", "a": null}], "a": "é"});
        assert_eq!(
            canonical_value_sha256(&v),
            sha256_hex(to_canonical_json(&v).as_bytes())
        );
    }

    #[test]
    fn different_values_give_different_digests() {
        assert_ne!(
            canonical_sha256(&json!({"a": 1})),
            canonical_sha256(&json!({"a": 2}))
        );
    }
}
