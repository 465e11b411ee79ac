//! Choice rules: every comparison operator and its `*Path` variant, `And`/`Or`/`Not`, and the
//! `Is*` type tests.
use std::cmp::Ordering;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::EvalError;
use crate::path;

/// A parsed Choice rule (a top-level rule also carries `Next`, which the state machine reads;
/// this type only decides whether the rule matches).
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    condition: Condition,
}

impl ChoiceRule {
    /// Parses and checks one rule; the message says what is wrong (the caller names the state).
    pub fn parse(rule: &Value) -> Result<ChoiceRule, String> {
        Condition::parse(rule, Level::TopLevel).map(|condition| ChoiceRule { condition })
    }

    /// Whether the rule matches the state's effective input.
    pub fn matches(&self, input: &Value, context: &Value) -> Result<bool, EvalError> {
        self.condition.matches(input, context)
    }
}

/// Top-level rules carry the transition (`Next`, `Assign`); rules nested in `And`, `Or` and
/// `Not` must not, since they do not choose a state on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    TopLevel,
    Nested,
}

#[derive(Debug, Clone, PartialEq)]
enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Test { variable: String, test: Test },
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Compare {
        family: Family,
        relation: Relation,
        operand: Operand,
    },
    Matches(Vec<PatternToken>),
    Is {
        check: TypeCheck,
        expected: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

impl Relation {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Equals => ordering.is_eq(),
            Relation::LessThan => ordering.is_lt(),
            Relation::GreaterThan => ordering.is_gt(),
            Relation::LessThanEquals => ordering.is_le(),
            Relation::GreaterThanEquals => ordering.is_ge(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Literal(Value),
    /// The `*Path` operators compare with a value taken from the input.
    Path(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeCheck {
    Null,
    Present,
    Numeric,
    String,
    Boolean,
    Timestamp,
}

impl TypeCheck {
    fn holds(self, value: &Value) -> bool {
        match self {
            TypeCheck::Null => value.is_null(),
            TypeCheck::Present => true,
            TypeCheck::Numeric => value.is_number(),
            TypeCheck::String => value.is_string(),
            TypeCheck::Boolean => value.is_boolean(),
            TypeCheck::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
        }
    }
}

/// `StringMatches` patterns: `*` matches any run of characters, `\*` and `\\` are literal.
#[derive(Debug, Clone, PartialEq)]
enum PatternToken {
    Char(char),
    AnyRun,
}

enum Operator {
    Compare {
        family: Family,
        relation: Relation,
        by_path: bool,
    },
    Matches,
    Is(TypeCheck),
}

impl Operator {
    fn from_name(name: &str) -> Option<Operator> {
        let type_checks = [
            ("IsNull", TypeCheck::Null),
            ("IsPresent", TypeCheck::Present),
            ("IsNumeric", TypeCheck::Numeric),
            ("IsString", TypeCheck::String),
            ("IsBoolean", TypeCheck::Boolean),
            ("IsTimestamp", TypeCheck::Timestamp),
        ];
        if let Some((_, check)) = type_checks.iter().find(|(operator, _)| *operator == name) {
            return Some(Operator::Is(*check));
        }
        if name == "StringMatches" {
            return Some(Operator::Matches);
        }
        let (base, by_path) = match name.strip_suffix("Path") {
            Some(base) => (base, true),
            None => (name, false),
        };
        let families = [
            ("String", Family::String),
            ("Numeric", Family::Numeric),
            ("Boolean", Family::Boolean),
            ("Timestamp", Family::Timestamp),
        ];
        let relations = [
            ("Equals", Relation::Equals),
            ("LessThan", Relation::LessThan),
            ("GreaterThan", Relation::GreaterThan),
            ("LessThanEquals", Relation::LessThanEquals),
            ("GreaterThanEquals", Relation::GreaterThanEquals),
        ];
        let (family, relation_name) = families
            .into_iter()
            .find_map(|(prefix, family)| Some((family, base.strip_prefix(prefix)?)))?;
        let (_, relation) = relations
            .into_iter()
            .find(|(candidate, _)| *candidate == relation_name)?;
        if family == Family::Boolean && relation != Relation::Equals {
            return None;
        }
        Some(Operator::Compare {
            family,
            relation,
            by_path,
        })
    }
}

impl Condition {
    fn parse(rule: &Value, level: Level) -> Result<Condition, String> {
        let Value::Object(fields) = rule else {
            return Err(format!("a Choice rule must be an object, found {rule}"));
        };
        let mut combinator: Option<(&str, &Value)> = None;
        let mut variable: Option<&Value> = None;
        let mut operator: Option<(&str, Operator, &Value)> = None;
        for (key, value) in fields {
            match key.as_str() {
                "Comment" => {}
                "Next" | "Assign" if level == Level::TopLevel => {}
                "Next" | "Assign" => {
                    return Err(format!(
                        "'{key}' is only allowed on a top-level Choice rule, not inside And, Or or Not"
                    ));
                }
                "And" | "Or" | "Not" => {
                    if let Some((first, _)) = combinator {
                        return Err(format!(
                            "a Choice rule cannot have both '{first}' and '{key}'"
                        ));
                    }
                    combinator = Some((key, value));
                }
                "Variable" => variable = Some(value),
                name => {
                    let parsed = Operator::from_name(name)
                        .ok_or_else(|| format!("unknown field '{name}' in a Choice rule"))?;
                    if let Some((first, _, _)) = operator {
                        return Err(format!(
                            "a Choice rule must have exactly one comparison operator, found '{first}' and '{name}'"
                        ));
                    }
                    operator = Some((name, parsed, value));
                }
            }
        }
        match (combinator, variable, operator) {
            (Some((name, value)), None, None) => Condition::parse_combinator(name, value),
            (Some((name, _)), _, _) => Err(format!(
                "'{name}' cannot share a rule with 'Variable' or a comparison operator"
            )),
            (None, Some(variable), Some((name, operator, value))) => {
                Condition::parse_test(variable, name, operator, value)
            }
            (None, None, Some((name, _, _))) => {
                Err(format!("the rule uses '{name}' but has no 'Variable'"))
            }
            (None, Some(_), None) => {
                Err("the rule has a 'Variable' but no comparison operator".to_string())
            }
            (None, None, None) => Err(
                "a Choice rule needs 'And', 'Or', 'Not', or a 'Variable' with a comparison operator"
                    .to_string(),
            ),
        }
    }

    fn parse_combinator(name: &str, value: &Value) -> Result<Condition, String> {
        if name == "Not" {
            let inner = Condition::parse(value, Level::Nested)
                .map_err(|problem| format!("in 'Not': {problem}"))?;
            return Ok(Condition::Not(Box::new(inner)));
        }
        let rules = value
            .as_array()
            .filter(|rules| !rules.is_empty())
            .ok_or_else(|| format!("'{name}' needs a non-empty array of Choice rules"))?;
        let conditions = rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                Condition::parse(rule, Level::Nested)
                    .map_err(|problem| format!("in '{name}'[{index}]: {problem}"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(if name == "And" {
            Condition::And(conditions)
        } else {
            Condition::Or(conditions)
        })
    }

    fn parse_test(
        variable: &Value,
        name: &str,
        operator: Operator,
        value: &Value,
    ) -> Result<Condition, String> {
        let variable =
            reference_path(variable).map_err(|problem| format!("'Variable': {problem}"))?;
        let test = match operator {
            Operator::Is(check) => {
                let expected = value
                    .as_bool()
                    .ok_or_else(|| format!("'{name}' needs true or false, found {value}"))?;
                Test::Is { check, expected }
            }
            Operator::Matches => {
                let pattern = value
                    .as_str()
                    .ok_or_else(|| format!("'{name}' needs a string pattern, found {value}"))?;
                Test::Matches(
                    parse_pattern(pattern).map_err(|problem| format!("'{name}': {problem}"))?,
                )
            }
            Operator::Compare {
                family,
                relation,
                by_path: true,
            } => Test::Compare {
                family,
                relation,
                operand: Operand::Path(
                    reference_path(value).map_err(|problem| format!("'{name}': {problem}"))?,
                ),
            },
            Operator::Compare {
                family,
                relation,
                by_path: false,
            } => {
                let fits = match family {
                    Family::String => value.is_string(),
                    Family::Numeric => value.is_number(),
                    Family::Boolean => value.is_boolean(),
                    Family::Timestamp => value.as_str().and_then(parse_timestamp).is_some(),
                };
                if !fits {
                    return Err(format!(
                        "'{name}' needs {}, found {value}",
                        match family {
                            Family::String => "a string",
                            Family::Numeric => "a number",
                            Family::Boolean => "true or false",
                            Family::Timestamp =>
                                "an RFC 3339 timestamp such as \"2024-01-31T09:30:00Z\"",
                        }
                    ));
                }
                Test::Compare {
                    family,
                    relation,
                    operand: Operand::Literal(value.clone()),
                }
            }
        };
        Ok(Condition::Test { variable, test })
    }

    fn matches(&self, input: &Value, context: &Value) -> Result<bool, EvalError> {
        match self {
            Condition::And(conditions) => {
                for condition in conditions {
                    if !condition.matches(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(conditions) => {
                for condition in conditions {
                    if condition.matches(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(inner) => Ok(!inner.matches(input, context)?),
            Condition::Test { variable, test } => test.matches(variable, input, context),
        }
    }
}

impl Test {
    fn matches(&self, variable: &str, input: &Value, context: &Value) -> Result<bool, EvalError> {
        // IsPresent is the one test for which a missing variable is an answer, not an error.
        if let Test::Is {
            check: TypeCheck::Present,
            expected,
        } = self
        {
            return Ok(path::select(variable, input, context).is_ok() == *expected);
        }
        let value = path::select(variable, input, context)?;
        match self {
            Test::Is { check, expected } => Ok(check.holds(&value) == *expected),
            Test::Matches(pattern) => Ok(value
                .as_str()
                .is_some_and(|text| pattern_matches(pattern, text))),
            Test::Compare {
                family,
                relation,
                operand,
            } => {
                let other = match operand {
                    Operand::Literal(literal) => literal.clone(),
                    Operand::Path(other_path) => path::select(other_path, input, context)?,
                };
                Ok(compare(*family, &value, &other)
                    .is_some_and(|ordering| relation.holds(ordering)))
            }
        }
    }
}

/// Orders two values of the operator's type; `None` when either is of another type, which
/// makes the rule not match rather than fail.
fn compare(family: Family, left: &Value, right: &Value) -> Option<Ordering> {
    match (family, left, right) {
        (Family::String, Value::String(left), Value::String(right)) => Some(left.cmp(right)),
        (Family::Numeric, Value::Number(left), Value::Number(right)) => {
            path::compare_numbers(left, right)
        }
        (Family::Boolean, Value::Bool(left), Value::Bool(right)) => Some(left.cmp(right)),
        (Family::Timestamp, Value::String(left), Value::String(right)) => {
            Some(parse_timestamp(left)?.cmp(&parse_timestamp(right)?))
        }
        _ => None,
    }
}

fn reference_path(value: &Value) -> Result<String, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("needs a reference path string, found {value}"))?;
    path::validate_reference_path(text)?;
    Ok(text.to_string())
}

/// RFC 3339 with AWS's narrowing: an uppercase `T` between date and time, an uppercase `Z`
/// for UTC. Timestamps with different offsets compare as instants.
fn parse_timestamp(text: &str) -> Option<OffsetDateTime> {
    if text.get(10..11) != Some("T") || text.ends_with('z') {
        return None;
    }
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn parse_pattern(pattern: &str) -> Result<Vec<PatternToken>, String> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => tokens.push(PatternToken::AnyRun),
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '\\')) => tokens.push(PatternToken::Char(escaped)),
                Some(other) => {
                    return Err(format!(
                        "invalid escape '\\{other}' in the pattern (only \\* and \\\\ are allowed)"
                    ));
                }
                None => return Err("the pattern ends with a lone '\\'".to_string()),
            },
            other => tokens.push(PatternToken::Char(other)),
        }
    }
    Ok(tokens)
}

/// Wildcard matching that backtracks only to the most recent `*`, so it runs in linear
/// time per `*` rather than exponential time on patterns like `*a*a*a*b`.
fn pattern_matches(pattern: &[PatternToken], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let mut pattern_position = 0;
    let mut text_position = 0;
    let mut last_star: Option<(usize, usize)> = None;
    while let Some(&current) = text.get(text_position) {
        match pattern.get(pattern_position) {
            Some(PatternToken::AnyRun) => {
                last_star = Some((pattern_position + 1, text_position));
                pattern_position += 1;
            }
            Some(PatternToken::Char(expected)) if *expected == current => {
                pattern_position += 1;
                text_position += 1;
            }
            _ => match last_star {
                Some((after_star, star_start)) => {
                    last_star = Some((after_star, star_start + 1));
                    pattern_position = after_star;
                    text_position = star_start + 1;
                }
                None => return false,
            },
        }
    }
    pattern
        .iter()
        .skip(pattern_position)
        .all(|token| *token == PatternToken::AnyRun)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(definition: Value) -> ChoiceRule {
        match ChoiceRule::parse(&definition) {
            Ok(rule) => rule,
            Err(message) => panic!("{definition}: {message}"),
        }
    }

    fn check(definition: Value, input: &Value) -> bool {
        match rule(definition.clone()).matches(input, &json!({ "Execution": { "Name": "run-7" } }))
        {
            Ok(matched) => matched,
            Err(error) => panic!("{definition}: {error}"),
        }
    }

    fn rejected(definition: Value) -> String {
        ChoiceRule::parse(&definition).expect_err(&definition.to_string())
    }

    #[test]
    fn spec_choice_state_example() {
        let not_private =
            json!({ "Not": { "Variable": "$.type", "StringEquals": "Private" }, "Next": "Public" });
        let zero = json!({ "Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero" });
        let twenties = json!({
            "And": [
                { "Variable": "$.value", "NumericGreaterThanEquals": 20 },
                { "Variable": "$.value", "NumericLessThan": 30 }
            ],
            "Next": "ValueInTwenties"
        });
        let input = json!({ "type": "Private", "value": 22 });
        assert!(!check(not_private.clone(), &input));
        assert!(!check(zero.clone(), &input));
        assert!(check(twenties.clone(), &input));
        let public_zero = json!({ "type": "Public", "value": 0 });
        assert!(check(not_private, &public_zero));
        assert!(check(zero, &public_zero));
        assert!(!check(twenties, &public_zero));
    }

    #[test]
    fn string_operators_compare_lexically() {
        let input = json!({ "s": "banana" });
        for (operator, operand, expected) in [
            ("StringEquals", "banana", true),
            ("StringEquals", "Banana", false),
            ("StringLessThan", "cherry", true),
            ("StringLessThan", "banana", false),
            ("StringGreaterThan", "apple", true),
            ("StringGreaterThan", "banana", false),
            ("StringLessThanEquals", "banana", true),
            ("StringLessThanEquals", "apple", false),
            ("StringGreaterThanEquals", "banana", true),
            ("StringGreaterThanEquals", "cherry", false),
        ] {
            let definition = json!({ "Variable": "$.s", operator: operand });
            assert_eq!(check(definition, &input), expected, "{operator} {operand}");
        }
    }

    #[test]
    fn numeric_operators_compare_integers_exactly_and_decimals_as_floats() {
        let input = json!({ "n": 9007199254740993_u64, "x": 1.5 });
        for (variable, operator, operand, expected) in [
            ("$.n", "NumericEquals", json!(9007199254740993_u64), true),
            ("$.n", "NumericEquals", json!(9007199254740992_u64), false),
            (
                "$.n",
                "NumericGreaterThan",
                json!(9007199254740992_u64),
                true,
            ),
            ("$.x", "NumericEquals", json!(1.5), true),
            ("$.x", "NumericLessThan", json!(2), true),
            ("$.x", "NumericLessThan", json!(1), false),
            ("$.x", "NumericGreaterThan", json!(1), true),
            ("$.x", "NumericLessThanEquals", json!(1.5), true),
            ("$.x", "NumericLessThanEquals", json!(1.4), false),
            ("$.x", "NumericGreaterThanEquals", json!(1.5), true),
            ("$.x", "NumericGreaterThanEquals", json!(-3), true),
            ("$.x", "NumericGreaterThanEquals", json!(2), false),
        ] {
            let definition = json!({ "Variable": variable, operator: operand });
            assert_eq!(
                check(definition, &input),
                expected,
                "{variable} {operator} {operand}"
            );
        }
    }

    #[test]
    fn boolean_equals() {
        let input = json!({ "flag": true });
        assert!(check(
            json!({ "Variable": "$.flag", "BooleanEquals": true }),
            &input
        ));
        assert!(!check(
            json!({ "Variable": "$.flag", "BooleanEquals": false }),
            &input
        ));
    }

    #[test]
    fn timestamps_compare_as_instants() {
        let input = json!({ "at": "2024-01-31T10:00:00+02:00" });
        for (operator, operand, expected) in [
            ("TimestampEquals", "2024-01-31T08:00:00Z", true),
            ("TimestampEquals", "2024-01-31T10:00:00Z", false),
            ("TimestampLessThan", "2024-01-31T08:00:00.001Z", true),
            ("TimestampLessThan", "2024-01-31T08:00:00Z", false),
            ("TimestampGreaterThan", "2024-01-31T07:59:59Z", true),
            ("TimestampGreaterThan", "2024-01-31T08:00:00Z", false),
            ("TimestampLessThanEquals", "2024-01-31T08:00:00Z", true),
            ("TimestampLessThanEquals", "2024-01-31T07:00:00Z", false),
            ("TimestampGreaterThanEquals", "2024-01-31T08:00:00Z", true),
            ("TimestampGreaterThanEquals", "2024-02-01T00:00:00Z", false),
        ] {
            let definition = json!({ "Variable": "$.at", operator: operand });
            assert_eq!(check(definition, &input), expected, "{operator} {operand}");
        }
        let not_a_timestamp = json!({ "at": "yesterday" });
        assert!(!check(
            json!({ "Variable": "$.at", "TimestampLessThan": "2030-01-01T00:00:00Z" }),
            &not_a_timestamp
        ));
    }

    #[test]
    fn every_path_variant_reads_its_operand_from_the_input() {
        let input = json!({
            "s": "b", "s_low": "a", "s_same": "b",
            "n": 5, "n_low": 4, "n_same": 5.0,
            "flag": false, "flag_same": false,
            "t": "2024-01-01T00:00:00Z", "t_low": "2023-12-31T23:59:59Z", "t_same": "2024-01-01T01:00:00+01:00"
        });
        for (operator, variable, operand, expected) in [
            ("StringEqualsPath", "$.s", "$.s_same", true),
            ("StringLessThanPath", "$.s_low", "$.s", true),
            ("StringGreaterThanPath", "$.s", "$.s_low", true),
            ("StringLessThanEqualsPath", "$.s", "$.s_low", false),
            ("StringGreaterThanEqualsPath", "$.s", "$.s_same", true),
            ("NumericEqualsPath", "$.n", "$.n_same", true),
            ("NumericLessThanPath", "$.n", "$.n_low", false),
            ("NumericGreaterThanPath", "$.n", "$.n_low", true),
            ("NumericLessThanEqualsPath", "$.n_low", "$.n", true),
            ("NumericGreaterThanEqualsPath", "$.n_low", "$.n", false),
            ("BooleanEqualsPath", "$.flag", "$.flag_same", true),
            ("TimestampEqualsPath", "$.t", "$.t_same", true),
            ("TimestampLessThanPath", "$.t_low", "$.t", true),
            ("TimestampGreaterThanPath", "$.t_low", "$.t", false),
            ("TimestampLessThanEqualsPath", "$.t", "$.t_same", true),
            ("TimestampGreaterThanEqualsPath", "$.t", "$.t_low", true),
        ] {
            let definition = json!({ "Variable": variable, operator: operand });
            assert_eq!(
                check(definition, &input),
                expected,
                "{variable} {operator} {operand}"
            );
        }
    }

    #[test]
    fn path_operands_can_come_from_the_context_object() {
        let input = json!({ "name": "run-7" });
        assert!(check(
            json!({ "Variable": "$.name", "StringEqualsPath": "$$.Execution.Name" }),
            &input
        ));
    }

    #[test]
    fn a_missing_path_operand_is_a_runtime_error() {
        let definition = json!({ "Variable": "$.n", "NumericEqualsPath": "$.other" });
        let error = rule(definition)
            .matches(&json!({ "n": 1 }), &json!({}))
            .expect_err("missing");
        assert_eq!(error.error, "States.Runtime");
        assert!(error.cause.contains("'$.other'"), "{}", error.cause);
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        for (pattern, text, expected) in [
            ("log-*.txt", "log-2024-01-31.txt", true),
            ("log-*.txt", "log-.txt", true),
            ("log-*.txt", "log-1.csv", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXcYYb", false),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            (r"\*.txt", "*.txt", true),
            (r"\*.txt", "a.txt", false),
            (r"C:\\temp\\*", r"C:\temp\notes", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ] {
            let definition = json!({ "Variable": "$.s", "StringMatches": pattern });
            assert_eq!(
                check(definition, &json!({ "s": text })),
                expected,
                "{pattern} ~ {text}"
            );
        }
        assert!(
            rejected(json!({ "Variable": "$.s", "StringMatches": r"\d+" }))
                .contains("invalid escape")
        );
        assert!(rejected(json!({ "Variable": "$.s", "StringMatches": "x\\" })).contains("lone"));
    }

    #[test]
    fn type_mismatches_do_not_match() {
        let input = json!({ "s": "5", "n": 5, "b": true, "o": {} });
        for definition in [
            json!({ "Variable": "$.s", "NumericEquals": 5 }),
            json!({ "Variable": "$.n", "StringEquals": "5" }),
            json!({ "Variable": "$.n", "BooleanEquals": true }),
            json!({ "Variable": "$.b", "StringMatches": "*" }),
            json!({ "Variable": "$.o", "TimestampEquals": "2024-01-01T00:00:00Z" }),
            json!({ "Variable": "$.n", "StringEqualsPath": "$.s" }),
        ] {
            assert!(!check(definition.clone(), &input), "{definition}");
        }
    }

    #[test]
    fn type_tests_with_true_and_false() {
        let input = json!({
            "nothing": null, "n": 1.5, "s": "x", "b": false,
            "t": "2024-01-31T09:30:00Z", "lower": "2024-01-31t09:30:00z", "spaced": "2024-01-31 09:30:00Z"
        });
        for (operator, variable, expected_with_true) in [
            ("IsNull", "$.nothing", true),
            ("IsNull", "$.s", false),
            ("IsNumeric", "$.n", true),
            ("IsNumeric", "$.s", false),
            ("IsString", "$.s", true),
            ("IsString", "$.n", false),
            ("IsBoolean", "$.b", true),
            ("IsBoolean", "$.nothing", false),
            ("IsTimestamp", "$.t", true),
            ("IsTimestamp", "$.s", false),
            ("IsTimestamp", "$.lower", false),
            ("IsTimestamp", "$.spaced", false),
            ("IsPresent", "$.nothing", true),
            ("IsPresent", "$.absent", false),
            ("IsPresent", "$.s.deeper", false),
        ] {
            let with_true = json!({ "Variable": variable, operator: true });
            let with_false = json!({ "Variable": variable, operator: false });
            assert_eq!(
                check(with_true, &input),
                expected_with_true,
                "{operator} {variable}"
            );
            assert_eq!(
                check(with_false, &input),
                !expected_with_true,
                "{operator} {variable} false"
            );
        }
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error_except_for_is_present() {
        for definition in [
            json!({ "Variable": "$.absent", "StringEquals": "x" }),
            json!({ "Variable": "$.absent", "IsNull": true }),
            json!({ "Variable": "$.absent", "IsString": false }),
        ] {
            let error = rule(definition.clone())
                .matches(&json!({}), &json!({}))
                .expect_err(&definition.to_string());
            assert_eq!(error.error, "States.Runtime");
            assert!(error.cause.contains("'$.absent'"), "{}", error.cause);
        }
    }

    #[test]
    fn and_or_not_nest() {
        let definition = json!({
            "Or": [
                { "And": [
                    { "Variable": "$.side", "StringEquals": "buy" },
                    { "Not": { "Variable": "$.qty", "NumericLessThanEquals": 0 } }
                ] },
                { "Variable": "$.override", "IsPresent": true }
            ],
            "Next": "Accept"
        });
        assert!(check(
            definition.clone(),
            &json!({ "side": "buy", "qty": 3 })
        ));
        assert!(!check(
            definition.clone(),
            &json!({ "side": "buy", "qty": 0 })
        ));
        assert!(!check(
            definition.clone(),
            &json!({ "side": "sell", "qty": 3 })
        ));
        assert!(check(
            definition,
            &json!({ "side": "sell", "qty": 0, "override": 1 })
        ));
    }

    #[test]
    fn and_stops_at_the_first_false_and_or_at_the_first_true() {
        let and = json!({ "And": [
            { "Variable": "$.a", "BooleanEquals": true },
            { "Variable": "$.absent", "BooleanEquals": true }
        ] });
        assert!(!check(and, &json!({ "a": false })));
        let or = json!({ "Or": [
            { "Variable": "$.a", "BooleanEquals": true },
            { "Variable": "$.absent", "BooleanEquals": true }
        ] });
        assert!(check(or.clone(), &json!({ "a": true })));
        assert!(
            rule(or)
                .matches(&json!({ "a": false }), &json!({}))
                .is_err()
        );
    }

    #[test]
    fn malformed_rules_are_rejected_with_a_reason() {
        for (definition, expected) in [
            (json!("StringEquals"), "must be an object"),
            (
                json!({ "Variable": "$.a", "StringEquals": "x", "NumericEquals": 1 }),
                "exactly one comparison operator",
            ),
            (
                json!({ "Variable": "$.a", "StringEqualz": "x" }),
                "unknown field 'StringEqualz'",
            ),
            (
                json!({ "Variable": "$.a", "BooleanLessThan": true }),
                "unknown field 'BooleanLessThan'",
            ),
            (
                json!({ "Variable": "$.a", "StringMatchesPath": "$.b" }),
                "unknown field 'StringMatchesPath'",
            ),
            (json!({ "Variable": "$.a" }), "no comparison operator"),
            (json!({ "StringEquals": "x" }), "no 'Variable'"),
            (json!({ "Next": "X" }), "needs 'And', 'Or', 'Not'"),
            (
                json!({ "Variable": "$.a", "StringEquals": 1 }),
                "'StringEquals' needs a string, found 1",
            ),
            (
                json!({ "Variable": "$.a", "NumericEquals": "1" }),
                "'NumericEquals' needs a number",
            ),
            (
                json!({ "Variable": "$.a", "BooleanEquals": "true" }),
                "'BooleanEquals' needs true or false",
            ),
            (
                json!({ "Variable": "$.a", "TimestampEquals": "2024-01-31" }),
                "RFC 3339 timestamp",
            ),
            (
                json!({ "Variable": "$.a", "IsNull": "yes" }),
                "'IsNull' needs true or false",
            ),
            (
                json!({ "Variable": "$.a", "StringEqualsPath": "b" }),
                "must start with '$'",
            ),
            (
                json!({ "Variable": "$.a[*]", "StringEquals": "x" }),
                "'Variable'",
            ),
            (
                json!({ "Variable": 5, "StringEquals": "x" }),
                "reference path string",
            ),
            (json!({ "And": [] }), "non-empty array"),
            (
                json!({ "Or": { "Variable": "$.a", "IsNull": true } }),
                "non-empty array",
            ),
            (
                json!({ "Not": [] }),
                "in 'Not': a Choice rule must be an object",
            ),
            (
                json!({ "And": [{ "Variable": "$.a", "IsNull": true }], "Or": [] }),
                "both 'And' and 'Or'",
            ),
            (
                json!({ "And": [{ "Variable": "$.a", "IsNull": true }], "Variable": "$.a" }),
                "cannot share a rule",
            ),
            (
                json!({ "And": [{ "Variable": "$.a", "IsNull": true, "Next": "X" }] }),
                "in 'And'[0]: 'Next' is only allowed on a top-level Choice rule",
            ),
            (
                json!({ "Not": { "Variable": "$.a", "IsNull": true, "Next": "X" } }),
                "'Next' is only allowed on a top-level",
            ),
        ] {
            let message = rejected(definition.clone());
            assert!(message.contains(expected), "{definition}: {message}");
        }
    }

    #[test]
    fn top_level_rules_may_carry_next_assign_and_comment() {
        let definition = json!({
            "Variable": "$.a", "IsNull": false, "Next": "X", "Comment": "why", "Assign": { "seen": true }
        });
        assert!(check(definition, &json!({ "a": 1 })));
        let nested_comment =
            json!({ "Not": { "Variable": "$.a", "IsNull": true, "Comment": "ok" } });
        assert!(check(nested_comment, &json!({ "a": 1 })));
    }
}
