//! Duplicate keys in JSON bodies. serde_json keeps the last of two equal keys in one object;
//! a proxy, a WAF or a provider's parser in front of the API may read the first, and the two
//! would then act on different values. So a body with a key twice in one object, at any depth,
//! is refused: every body the API reads as JSON ([`crate::JsonBody`], the provider webhooks)
//! goes through [`duplicate_key`] before it is parsed.

use std::collections::HashSet;
use std::fmt;

use brokeros_kernel::Error;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key that appears twice in one JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Where, as the other body errors name fields: `data.items[0].id`.
    pub path: String,
    pub key: String,
}

impl DuplicateKey {
    /// The refusal: 400 `duplicate_key`, its field the key's path.
    pub fn error(&self) -> Error {
        Error::Validation {
            code: "duplicate_key",
            message: format!(
                "the key `{}` appears more than once in one JSON object; each key may appear once",
                self.key
            ),
            field: Some(self.path.clone()),
        }
    }
}

/// The first key that appears twice in one object of `json`, at any depth. `None` when every
/// object's keys are distinct, and when `json` is not JSON before a duplicate is found: the
/// parser that reads it then says what is wrong. Keys are compared as decoded (`"a"` and
/// `"\u0061"` are the same key); nesting is bounded by serde_json's recursion limit.
pub fn duplicate_key(json: &[u8]) -> Option<DuplicateKey> {
    let mut scan = Scan::default();
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let _ = Node { scan: &mut scan }.deserialize(&mut deserializer);
    scan.found
}

enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Default)]
struct Scan {
    /// The containers from the root to the value being read.
    path: Vec<Segment>,
    found: Option<DuplicateKey>,
}

impl Scan {
    /// `key` in the object at the current path, written like serde_path_to_error's paths.
    fn path_to(&self, key: &str) -> String {
        let mut path = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        path
    }
}

/// One JSON value, read for its keys only.
struct Node<'a> {
    scan: &'a mut Scan,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }

    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let scan = self.scan;
        let mut index = 0;
        loop {
            scan.path.push(Segment::Index(index));
            let element = seq.next_element_seed(Node { scan: &mut *scan })?;
            scan.path.pop();
            if element.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let scan = self.scan;
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                scan.found = Some(DuplicateKey {
                    path: scan.path_to(&key),
                    key,
                });
                return Err(de::Error::custom("duplicate key"));
            }
            scan.path.push(Segment::Key(key.clone()));
            map.next_value_seed(Node { scan: &mut *scan })?;
            scan.path.pop();
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(json: &str) -> Option<String> {
        duplicate_key(json.as_bytes()).map(|d| d.path)
    }

    #[test]
    fn finds_a_repeated_key_at_every_depth() {
        assert_eq!(found(r#"{"a":1,"b":2,"a":3}"#).as_deref(), Some("a"));
        assert_eq!(
            found(r#"{"a":{"b":{"c":1,"c":2}}}"#).as_deref(),
            Some("a.b.c")
        );
        assert_eq!(
            found(r#"{"rules":[{"id":"x"},{"id":"y","id":"z"}]}"#).as_deref(),
            Some("rules[1].id")
        );
        assert_eq!(found(r#"[[{"k":1,"k":1}]]"#).as_deref(), Some("[0][0].k"));
        // The same key once decoded.
        assert_eq!(found(r#"{"a":1,"\u0061":2}"#).as_deref(), Some("a"));
        // The first of several.
        assert_eq!(
            found(r#"{"x":{"y":1,"y":2},"x":3}"#).as_deref(),
            Some("x.y")
        );
        let dup = duplicate_key(br#"{"email":"a@b.co","email":"c@d.co"}"#).unwrap();
        assert_eq!(dup.key, "email");
        let body = dup.error().body();
        assert_eq!(body.code, "duplicate_key");
        assert_eq!(body.field.as_deref(), Some("email"));
    }

    #[test]
    fn distinct_keys_and_non_json_pass() {
        for ok in [
            r#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#,
            r#"{"A":1,"a":2}"#,
            r#"{}"#,
            r#"[]"#,
            r#""text""#,
            r#"{"n":-1.5e300,"m":18446744073709551615,"o":-9223372036854775808,"p":null,"q":true}"#,
            // Not JSON: the body's own parser says so.
            r#"{"a":1,"#,
            "not json",
            r#"{"a":1} {"a":2}"#,
            "",
        ] {
            assert_eq!(found(ok), None, "{ok}");
        }
        // A duplicate after the point where the text stops being JSON is not looked for.
        assert_eq!(found(r#"{"a":1,,"a":2}"#), None);
    }

    #[test]
    fn deep_nesting_stops_at_the_parsers_limit() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(found(&deep), None);
        let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000));
        assert_eq!(found(&deep_objects), None);
    }
}
