//! Choice rules: every comparison operator and its `*Path` variant, `And`/`Or`/`Not`, and the
//! `Is*` type tests.
use serde_json::Value;

use crate::EvalError;

/// A parsed Choice rule (a top-level rule also carries `Next`, which the state machine reads;
/// this type only decides whether the rule matches).
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    _todo: (),
}

impl ChoiceRule {
    /// Parses and checks one rule; the message says what is wrong (the caller names the state).
    pub fn parse(rule: &Value) -> Result<ChoiceRule, String> {
        let _ = rule;
        todo!("expressions")
    }

    /// Whether the rule matches the state's effective input.
    pub fn matches(&self, input: &Value, context: &Value) -> Result<bool, EvalError> {
        let _ = (input, context);
        todo!("expressions")
    }
}
