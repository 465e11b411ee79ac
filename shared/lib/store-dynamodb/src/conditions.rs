//! Condition expressions for the port's [`Condition`]s.
//!
//! Expired items are dead for the port even before DynamoDB's TTL sweeper deletes them, so
//! every condition treats an item whose `expires_at <= now` as absent.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use brokeros_store::Condition;

use crate::codec::{EXPIRES_AT, PK, VERSION, number};

/// A condition expression with exactly the names and values it uses (DynamoDB refuses unused
/// ones).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConditionExpression {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

/// An item not expired yet (`#exp` names `expires_at`, `:now` is the time of the request).
pub(crate) const ALIVE: &str = "(attribute_not_exists(#exp) OR #exp > :now)";

/// The expression for `condition` evaluated at `now`; `None` for [`Condition::Always`].
pub(crate) fn condition_expression(condition: Condition, now: i64) -> Option<ConditionExpression> {
    let (expression, version) = match condition {
        Condition::Always => return None,
        Condition::NotExists => (
            "attribute_not_exists(#pk) OR #exp <= :now".to_string(),
            None,
        ),
        Condition::VersionIs(version) => (format!("#v = :v AND {ALIVE}"), Some(version)),
        Condition::Exists => (format!("attribute_exists(#pk) AND {ALIVE}"), None),
    };
    let mut names = HashMap::from([("#exp".to_string(), EXPIRES_AT.to_string())]);
    let mut values = HashMap::from([(":now".to_string(), number(now))]);
    if expression.contains("#pk") {
        names.insert("#pk".to_string(), PK.to_string());
    }
    if let Some(version) = version {
        names.insert("#v".to_string(), VERSION.to_string());
        values.insert(":v".to_string(), number(version));
    }
    Some(ConditionExpression {
        expression,
        names,
        values,
    })
}

/// A condition that always holds, for a `Check` with [`Condition::Always`]: DynamoDB's
/// ConditionCheck requires an expression.
pub(crate) fn tautology() -> ConditionExpression {
    ConditionExpression {
        expression: "attribute_not_exists(#pk) OR attribute_exists(#pk)".to_string(),
        names: HashMap::from([("#pk".to_string(), PK.to_string())]),
        values: HashMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_name_exactly_what_they_use() {
        assert_eq!(condition_expression(Condition::Always, 5), None);
        for condition in [
            Condition::NotExists,
            Condition::VersionIs(3),
            Condition::Exists,
        ] {
            let c = condition_expression(condition, 5).unwrap();
            for name in c.names.keys() {
                assert!(
                    c.expression.contains(name.as_str()),
                    "{name} unused in {}",
                    c.expression
                );
            }
            for value in c.values.keys() {
                assert!(
                    c.expression.contains(value.as_str()),
                    "{value} unused in {}",
                    c.expression
                );
            }
        }
        let version = condition_expression(Condition::VersionIs(3), 5).unwrap();
        assert_eq!(version.values.get(":v"), Some(&number(3)));
        assert_eq!(version.values.get(":now"), Some(&number(5)));
    }
}
