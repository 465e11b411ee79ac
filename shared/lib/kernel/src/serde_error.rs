//! Serde's refusals as validation errors naming the JSON path of their field. Apart from
//! `error`, because an amount's refusal (`money::amount`) is told apart here and `money`
//! itself answers with `Error`.

use crate::Error;

/// The JSON path a serde error is about. serde_path_to_error reports where the deserializer
/// stood (`.` at the top): for a missing field that is the object lacking it, so the field's
/// name, which only serde's message holds ("missing field \`x\`"), is added to it.
fn serde_field(path: &str, message: &str) -> Option<String> {
    let object = (!path.is_empty() && path != ".").then_some(path);
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name);
    match (object, missing) {
        (Some(object), Some(name)) => Some(format!("{object}.{name}")),
        (None, Some(name)) => Some(name.to_string()),
        (object, None) => object.map(str::to_string),
    }
}

impl Error {
    /// A document or request body serde refused, read through serde_path_to_error: the
    /// validation error `code` naming the JSON path of the field it is about (`amount`,
    /// `address.country`, `rules[1].id`), or none when it is about the whole document; an
    /// amount off its grammar is `invalid_amount` ([`crate::money::amount::from_serde_error`]).
    pub fn from_serde<E: std::fmt::Display>(
        code: &'static str,
        error: serde_path_to_error::Error<E>,
    ) -> Self {
        let message = error.inner().to_string();
        match serde_field(&error.path().to_string(), &message) {
            Some(field) => crate::money::amount::from_serde_error(&field, &message)
                .unwrap_or_else(|| Error::invalid(code, field, message)),
            None => Error::Validation {
                code,
                message,
                field: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        #[serde(default)]
        nickname: Option<String>,
        #[serde(default)]
        address: Option<Address>,
        #[serde(default)]
        items: Vec<Item>,
        #[serde(default, deserialize_with = "crate::money::amount::deserialize_option")]
        amount: Option<rust_decimal::Decimal>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Address {
        country: String,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: u32,
    }

    /// The code and field of `json` refused as a [`Body`].
    fn refusal(json: &str) -> (String, Option<String>) {
        let mut de = serde_json::Deserializer::from_str(json);
        let error = serde_path_to_error::deserialize::<_, Body>(&mut de).unwrap_err();
        let body = Error::from_serde("invalid_body", error).body();
        (body.code, body.field)
    }

    #[test]
    fn a_serde_refusal_names_the_path_of_its_field() {
        let named = |code: &str, field: &str| (code.to_string(), Some(field.to_string()));
        let cases = [
            // A missing field: its own name after the object that lacks it.
            ("{}", named("invalid_body", "name")),
            (
                r#"{"name":"A","address":{}}"#,
                named("invalid_body", "address.country"),
            ),
            (
                r#"{"name":"A","items":[{"id":1},{}]}"#,
                named("invalid_body", "items[1].id"),
            ),
            // A wrong type, an unknown field: where serde stood.
            (r#"{"name":42}"#, named("invalid_body", "name")),
            (
                r#"{"name":"A","address":{"country":1}}"#,
                named("invalid_body", "address.country"),
            ),
            (
                r#"{"name":"A","items":[{"id":"x"}]}"#,
                named("invalid_body", "items[0].id"),
            ),
            (
                r#"{"name":"A","admin":true}"#,
                named("invalid_body", "admin"),
            ),
            (
                r#"{"name":"A","amount":"1e3"}"#,
                named("invalid_amount", "amount"),
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(refusal(json), expected, "{json}");
        }
        // About the whole document: no field.
        assert_eq!(refusal("[]"), ("invalid_body".to_string(), None));
    }
}
