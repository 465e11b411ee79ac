//! JSONPath as the Amazon States Language uses it: paths (`InputPath`, `OutputPath`,
//! `ItemsPath`, `*Path` fields, `.$` keys) and reference paths (`ResultPath`, Choice
//! `Variable`), `$` for the state input and `$$` for the context object.
//!
//! AWS evaluates paths with Jayway JsonPath, so its rules decide the edge cases here: a
//! definite path (only names and indices) yields the node or fails; an indefinite path yields
//! an array of its matches, which may be empty once the path has become indefinite (a
//! filter that matches nothing gives `[]`), but a name or index that is missing *before* the
//! path becomes indefinite still fails (`$.missing[*]`).
use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::error::EvalError;

const RUNTIME: &str = "States.Runtime";
const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";

/// Checks a path's syntax when a definition is loaded. The message says what is wrong.
pub fn validate_path(path: &str) -> Result<(), String> {
    Path::parse(path).map(|_| ())
}

/// Checks a reference path (a path that identifies a single node: no wildcards, filters,
/// slices or recursive descent).
pub fn validate_reference_path(path: &str) -> Result<(), String> {
    ReferencePath::parse(path).map(|_| ())
}

/// Selects with a path: `$...` from `input`, `$$...` from `context`. A definite path yields
/// the node; an indefinite one (wildcard, filter, slice, recursive descent) yields an array of
/// the matches. A path that matches nothing is an error (`States.Runtime` with the path in
/// the cause; callers re-label it, e.g. `States.ParameterPathFailure` inside Parameters).
/// As in AWS (Jayway), "nothing" means a name or index missing while the path is still
/// definite; once a wildcard, filter, slice or `..` has been applied, misses are skipped and
/// the result may be `[]` (a filter that matches no element).
pub fn select(path: &str, input: &Value, context: &Value) -> Result<Value, EvalError> {
    let parsed = Path::parse(path).map_err(|message| EvalError::new(RUNTIME, message))?;
    let documents = Documents { input, context };
    let matches = evaluate_segments(&parsed.segments, documents.root(parsed.root), documents)
        .map_err(|miss| {
            EvalError::new(
                RUNTIME,
                format!(
                    "The JSONPath '{path}' could not be found in the {}: {miss}",
                    parsed.root.describe()
                ),
            )
        })?;
    if parsed.is_definite() {
        matches.first().map(|node| (*node).clone()).ok_or_else(|| {
            EvalError::new(
                RUNTIME,
                format!(
                    "The JSONPath '{path}' could not be found in the {}",
                    parsed.root.describe()
                ),
            )
        })
    } else {
        Ok(Value::Array(matches.into_iter().cloned().collect()))
    }
}

/// Places `result` into `input` at the reference path `result_path` (creating objects on the
/// way) and returns the new state output. `$` replaces the input whole.
/// Fails with `States.ResultPathMatchFailure` when the path cannot be placed.
pub fn apply_result_path(
    input: Value,
    result_path: &str,
    result: Value,
) -> Result<Value, EvalError> {
    let reference = ReferencePath::parse(result_path)
        .map_err(|message| EvalError::new(RESULT_PATH_MATCH_FAILURE, message))?;
    if reference.root == Root::Context {
        return Err(EvalError::new(
            RESULT_PATH_MATCH_FAILURE,
            format!(
                "ResultPath '{result_path}' points into the context object, which is read-only"
            ),
        ));
    }
    let mut output = input;
    place(&mut output, &reference.steps, 0, result).map_err(|reason| {
        EvalError::new(
            RESULT_PATH_MATCH_FAILURE,
            format!("Unable to apply ResultPath '{result_path}' to the state input: {reason}"),
        )
    })?;
    Ok(output)
}

/// Compares two JSON numbers exactly when both are integers (so large ids and amounts in
/// minor units do not lose precision through `f64`), as floating point otherwise.
pub(crate) fn compare_numbers(left: &Number, right: &Number) -> Option<Ordering> {
    match (as_integer(left), as_integer(right)) {
        (Some(left), Some(right)) => Some(left.cmp(&right)),
        _ => left.as_f64()?.partial_cmp(&right.as_f64()?),
    }
}

fn as_integer(number: &Number) -> Option<i128> {
    number
        .as_i64()
        .map(i128::from)
        .or_else(|| number.as_u64().map(i128::from))
}

fn place(node: &mut Value, steps: &[Step], depth: usize, result: Value) -> Result<(), String> {
    let Some(step) = steps.get(depth) else {
        *node = result;
        return Ok(());
    };
    let location = || describe_steps(&steps[..depth]);
    match step {
        Step::Name(name) => {
            let Value::Object(fields) = node else {
                return Err(format!(
                    "'{}' is {}, so it cannot hold the field '{name}'",
                    location(),
                    describe_type(node)
                ));
            };
            let child = fields
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            place(child, steps, depth + 1, result)
        }
        Step::Index(index) => {
            let Value::Array(items) = node else {
                return Err(format!(
                    "'{}' is {}, so it cannot be indexed with [{index}]",
                    location(),
                    describe_type(node)
                ));
            };
            let length = items.len();
            let position = resolve_index(*index, length).ok_or_else(|| {
                format!(
                    "index [{index}] is out of range for '{}' ({length} items)",
                    location()
                )
            })?;
            place(&mut items[position], steps, depth + 1, result)
        }
    }
}

fn describe_steps(steps: &[Step]) -> String {
    let mut text = String::from("$");
    for step in steps {
        match step {
            Step::Name(name) if is_plain_name(name) => {
                text.push('.');
                text.push_str(name);
            }
            Step::Name(name) => {
                text.push_str("['");
                text.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                text.push_str("']");
            }
            Step::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| is_name_char(c, false))
}

fn describe_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Maps a possibly negative index (counted from the end) onto a position in an array.
fn resolve_index(index: i64, length: usize) -> Option<usize> {
    let length = i64::try_from(length).ok()?;
    let position = if index < 0 { length + index } else { index };
    if (0..length).contains(&position) {
        usize::try_from(position).ok()
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Input,
    Context,
}

impl Root {
    fn describe(self) -> &'static str {
        match self {
            Root::Input => "input",
            Root::Context => "context object",
        }
    }
}

#[derive(Clone, Copy)]
struct Documents<'a> {
    input: &'a Value,
    context: &'a Value,
}

impl<'a> Documents<'a> {
    fn root(self, root: Root) -> &'a Value {
        match root {
            Root::Input => self.input,
            Root::Context => self.context,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Path {
    root: Root,
    segments: Vec<Segment>,
}

impl Path {
    fn parse(text: &str) -> Result<Path, String> {
        let mut parser = Parser::new(text);
        let path = parser.path().map_err(|problem| parser.explain(&problem))?;
        if !parser.at_end() {
            let problem = format!("unexpected '{}'", parser.rest());
            return Err(parser.explain(&problem));
        }
        Ok(path)
    }

    fn is_definite(&self) -> bool {
        self.segments.iter().all(Segment::is_definite)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(Selector),
    Descendants(Selector),
}

impl Segment {
    fn is_definite(&self) -> bool {
        matches!(self, Segment::Child(Selector::Name(_) | Selector::Index(_)))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Selector {
    Name(String),
    Index(i64),
    Wildcard,
    Names(Vec<String>),
    Indices(Vec<i64>),
    Slice(Slice),
    Filter(Filter),
}

impl Selector {
    fn describe(&self) -> &'static str {
        match self {
            Selector::Name(_) | Selector::Index(_) => "a name or index",
            Selector::Wildcard => "the wildcard '*'",
            Selector::Names(_) | Selector::Indices(_) => "a union ','",
            Selector::Slice(_) => "a slice ':'",
            Selector::Filter(_) => "a filter '?'",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Slice {
    start: Option<i64>,
    end: Option<i64>,
    step: i64,
}

impl Slice {
    /// Python-style slice bounds over an array of `length` items (step is always positive).
    fn positions(&self, length: usize) -> Vec<usize> {
        let length = i64::try_from(length).unwrap_or(i64::MAX);
        let clamp = |bound: i64| {
            if bound < 0 {
                (length + bound).max(0)
            } else {
                bound.min(length)
            }
        };
        let start = self.start.map_or(0, clamp);
        let end = self.end.map_or(length, clamp);
        let step = usize::try_from(self.step).unwrap_or(1);
        (start..end)
            .step_by(step)
            .filter_map(|position| usize::try_from(position).ok())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Exists(Operand),
    Compare {
        left: Operand,
        relation: Relation,
        right: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    /// `@...`: relative to the array element (or object) the filter is testing.
    Current(Vec<Segment>),
    /// `$...` or `$$...`: from the state input or the context object.
    Absolute(Path),
    Literal(Value),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A path restricted to names and indices, so it identifies at most one node.
struct ReferencePath {
    root: Root,
    steps: Vec<Step>,
}

enum Step {
    Name(String),
    Index(i64),
}

impl ReferencePath {
    fn parse(text: &str) -> Result<ReferencePath, String> {
        let path = Path::parse(text)?;
        let steps = path
            .segments
            .into_iter()
            .map(|segment| match segment {
                Segment::Child(Selector::Name(name)) => Ok(Step::Name(name)),
                Segment::Child(Selector::Index(index)) => Ok(Step::Index(index)),
                Segment::Descendants(_) => Err(format!(
                    "'{text}' is not a reference path: recursive descent '..' is not allowed"
                )),
                Segment::Child(selector) => Err(format!(
                    "'{text}' is not a reference path: {} is not allowed, only field names and array indices",
                    selector.describe()
                )),
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ReferencePath {
            root: path.root,
            steps,
        })
    }
}

/// Characters that end a dot-notation name. Inside a filter, comparison and boolean
/// operators end it too, so `@.price<10` reads as a comparison.
fn is_name_char(c: char, in_filter: bool) -> bool {
    let structural = c.is_whitespace() || ".[]()'\",*".contains(c);
    let filter_operator = in_filter && "=<>!&|".contains(c);
    !structural && !filter_operator
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    position: usize,
    filter_depth: usize,
}

type Parsed<T> = Result<T, String>;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser {
            text,
            chars: text.chars().collect(),
            position: 0,
            filter_depth: 0,
        }
    }

    fn explain(&self, problem: &str) -> String {
        format!(
            "invalid path '{}': {problem} at character {}",
            self.text,
            self.position + 1
        )
    }

    fn at_end(&self) -> bool {
        self.position >= self.chars.len()
    }

    fn rest(&self) -> String {
        self.chars[self.position.min(self.chars.len())..]
            .iter()
            .collect()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.position + offset).copied()
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, expected: &str) -> bool {
        let matches = expected
            .chars()
            .enumerate()
            .all(|(offset, c)| self.peek_at(offset) == Some(c));
        if matches {
            self.position += expected.chars().count();
        }
        matches
    }

    fn expect(&mut self, expected: char) -> Parsed<()> {
        if self.eat(expected) {
            Ok(())
        } else {
            Err(match self.peek() {
                Some(found) => format!("expected '{expected}' but found '{found}'"),
                None => format!("expected '{expected}' but the path ended"),
            })
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn path(&mut self) -> Parsed<Path> {
        if !self.eat('$') {
            return Err("a path must start with '$'".to_string());
        }
        let root = if self.eat('$') {
            Root::Context
        } else {
            Root::Input
        };
        let segments = self.segments()?;
        Ok(Path { root, segments })
    }

    fn segments(&mut self) -> Parsed<Vec<Segment>> {
        let mut segments = Vec::new();
        loop {
            match self.peek() {
                Some('.') if self.peek_at(1) == Some('.') => {
                    self.position += 2;
                    let selector = match self.peek() {
                        Some('[') => self.bracket()?,
                        Some('*') => {
                            self.position += 1;
                            Selector::Wildcard
                        }
                        _ => Selector::Name(self.dotted_name()?),
                    };
                    segments.push(Segment::Descendants(selector));
                }
                Some('.') => {
                    self.position += 1;
                    let selector = if self.eat('*') {
                        Selector::Wildcard
                    } else {
                        Selector::Name(self.dotted_name()?)
                    };
                    segments.push(Segment::Child(selector));
                }
                Some('[') => segments.push(Segment::Child(self.bracket()?)),
                _ => return Ok(segments),
            }
        }
    }

    fn dotted_name(&mut self) -> Parsed<String> {
        let in_filter = self.filter_depth > 0;
        let start = self.position;
        while self.peek().is_some_and(|c| is_name_char(c, in_filter)) {
            self.position += 1;
        }
        if self.position == start {
            return Err(match self.peek() {
                Some('(') => "functions such as length() are not supported".to_string(),
                Some(found) => format!("expected a field name but found '{found}'"),
                None => "expected a field name but the path ended".to_string(),
            });
        }
        if self.peek() == Some('(') {
            return Err("functions such as length() are not supported".to_string());
        }
        Ok(self.chars[start..self.position].iter().collect())
    }

    fn bracket(&mut self) -> Parsed<Selector> {
        self.expect('[')?;
        self.skip_whitespace();
        let selector = match self.peek() {
            Some('*') => {
                self.position += 1;
                Selector::Wildcard
            }
            Some('?') => {
                self.position += 1;
                self.skip_whitespace();
                self.expect('(')?;
                self.filter_depth += 1;
                let filter = self.filter_or()?;
                self.filter_depth -= 1;
                self.skip_whitespace();
                self.expect(')')?;
                Selector::Filter(filter)
            }
            Some('\'' | '"') => {
                let mut names = vec![self.quoted()?];
                self.skip_whitespace();
                while self.eat(',') {
                    self.skip_whitespace();
                    names.push(self.quoted()?);
                    self.skip_whitespace();
                }
                if names.len() == 1 {
                    Selector::Name(names.remove(0))
                } else {
                    Selector::Names(names)
                }
            }
            _ => self.indices_or_slice()?,
        };
        self.skip_whitespace();
        self.expect(']')?;
        Ok(selector)
    }

    fn indices_or_slice(&mut self) -> Parsed<Selector> {
        let first = self.optional_integer()?;
        self.skip_whitespace();
        if self.eat(':') {
            self.skip_whitespace();
            let end = self.optional_integer()?;
            self.skip_whitespace();
            let step = if self.eat(':') {
                self.skip_whitespace();
                self.optional_integer()?.unwrap_or(1)
            } else {
                1
            };
            if step <= 0 {
                return Err("a slice step must be a positive integer".to_string());
            }
            return Ok(Selector::Slice(Slice {
                start: first,
                end,
                step,
            }));
        }
        let Some(first) = first else {
            return Err(match self.peek() {
                Some(found) => {
                    format!(
                        "expected a quoted name, an index, '*', a slice or a filter but found '{found}'"
                    )
                }
                None => "expected an index but the path ended".to_string(),
            });
        };
        let mut indices = vec![first];
        while self.eat(',') {
            self.skip_whitespace();
            let index = self
                .optional_integer()?
                .ok_or_else(|| "expected an index after ','".to_string())?;
            indices.push(index);
            self.skip_whitespace();
        }
        Ok(if indices.len() == 1 {
            Selector::Index(first)
        } else {
            Selector::Indices(indices)
        })
    }

    fn optional_integer(&mut self) -> Parsed<Option<i64>> {
        let start = self.position;
        self.eat('-');
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.position += 1;
        }
        if self.position == start {
            return Ok(None);
        }
        let digits: String = self.chars[start..self.position].iter().collect();
        digits
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("'{digits}' is not a valid index"))
    }

    fn quoted(&mut self) -> Parsed<String> {
        let Some(quote) = self.peek().filter(|c| *c == '\'' || *c == '"') else {
            return Err("expected a quoted name".to_string());
        };
        self.position += 1;
        let mut text = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted string".to_string()),
                Some('\\') => {
                    let escaped = self
                        .peek_at(1)
                        .ok_or_else(|| "unterminated quoted string".to_string())?;
                    text.push(escaped);
                    self.position += 2;
                }
                Some(c) if c == quote => {
                    self.position += 1;
                    return Ok(text);
                }
                Some(c) => {
                    text.push(c);
                    self.position += 1;
                }
            }
        }
    }

    fn filter_or(&mut self) -> Parsed<Filter> {
        let mut alternatives = vec![self.filter_and()?];
        loop {
            self.skip_whitespace();
            if !self.eat_str("||") {
                break;
            }
            alternatives.push(self.filter_and()?);
        }
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            Filter::Or(alternatives)
        })
    }

    fn filter_and(&mut self) -> Parsed<Filter> {
        let mut conditions = vec![self.filter_unary()?];
        loop {
            self.skip_whitespace();
            if !self.eat_str("&&") {
                break;
            }
            conditions.push(self.filter_unary()?);
        }
        Ok(if conditions.len() == 1 {
            conditions.remove(0)
        } else {
            Filter::And(conditions)
        })
    }

    fn filter_unary(&mut self) -> Parsed<Filter> {
        self.skip_whitespace();
        if self.peek() == Some('!') && self.peek_at(1) != Some('=') {
            self.position += 1;
            return Ok(Filter::Not(Box::new(self.filter_unary()?)));
        }
        if self.eat('(') {
            let inner = self.filter_or()?;
            self.skip_whitespace();
            self.expect(')')?;
            return Ok(inner);
        }
        let left = self.operand()?;
        self.skip_whitespace();
        let Some(relation) = self.relation() else {
            return match left {
                Operand::Literal(_) => {
                    Err("a filter needs a comparison or an '@' path to test".to_string())
                }
                path => Ok(Filter::Exists(path)),
            };
        };
        self.skip_whitespace();
        let right = self.operand()?;
        Ok(Filter::Compare {
            left,
            relation,
            right,
        })
    }

    fn relation(&mut self) -> Option<Relation> {
        let relations = [
            ("==", Relation::Equal),
            ("!=", Relation::NotEqual),
            ("<=", Relation::LessOrEqual),
            (">=", Relation::GreaterOrEqual),
            ("<", Relation::Less),
            (">", Relation::Greater),
        ];
        relations
            .into_iter()
            .find(|(symbol, _)| self.eat_str(symbol))
            .map(|(_, relation)| relation)
    }

    fn operand(&mut self) -> Parsed<Operand> {
        match self.peek() {
            Some('@') => {
                self.position += 1;
                Ok(Operand::Current(self.segments()?))
            }
            Some('$') => Ok(Operand::Absolute(self.path()?)),
            Some('\'' | '"') => Ok(Operand::Literal(Value::String(self.quoted()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number_literal(),
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.eat_str(word) {
                        return Ok(Operand::Literal(value));
                    }
                }
                Err(match self.peek() {
                    Some(found) => format!("expected '@', a path or a literal but found '{found}'"),
                    None => "the filter ended early".to_string(),
                })
            }
        }
    }

    fn number_literal(&mut self) -> Parsed<Operand> {
        let start = self.position;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || "-+.eE".contains(c))
        {
            self.position += 1;
        }
        let text: String = self.chars[start..self.position].iter().collect();
        serde_json::from_str::<Number>(&text)
            .map(|number| Operand::Literal(Value::Number(number)))
            .map_err(|_| format!("'{text}' is not a number"))
    }
}

/// Evaluates segments from `start`. An error means a name or index was missing while the
/// path was still definite, which Jayway (and so AWS) reports rather than skips.
fn evaluate_segments<'a>(
    segments: &[Segment],
    start: &'a Value,
    documents: Documents<'a>,
) -> Result<Vec<&'a Value>, String> {
    let mut current = vec![start];
    let mut definite_so_far = true;
    for segment in segments {
        let mut next = Vec::new();
        for node in current {
            match segment {
                Segment::Child(selector) => {
                    select_children(selector, node, definite_so_far, documents, &mut next)?
                }
                Segment::Descendants(selector) => {
                    select_descendants(selector, node, documents, &mut next)
                }
            }
        }
        definite_so_far &= segment.is_definite();
        current = next;
    }
    Ok(current)
}

fn select_children<'a>(
    selector: &Selector,
    node: &'a Value,
    must_exist: bool,
    documents: Documents<'a>,
    found: &mut Vec<&'a Value>,
) -> Result<(), String> {
    match (selector, node) {
        (Selector::Name(name), Value::Object(fields)) => match fields.get(name) {
            Some(child) => found.push(child),
            None if must_exist => return Err(format!("there is no field '{name}'")),
            None => {}
        },
        (Selector::Names(names), Value::Object(fields)) => {
            found.extend(names.iter().filter_map(|name| fields.get(name)));
        }
        (Selector::Index(index), Value::Array(items)) => match resolve_index(*index, items.len()) {
            Some(position) => found.push(&items[position]),
            None if must_exist => {
                return Err(format!(
                    "index [{index}] is out of range ({} items)",
                    items.len()
                ));
            }
            None => {}
        },
        (Selector::Indices(indices), Value::Array(items)) => {
            found.extend(
                indices
                    .iter()
                    .filter_map(|index| resolve_index(*index, items.len()))
                    .map(|position| &items[position]),
            );
        }
        (Selector::Slice(slice), Value::Array(items)) => {
            found.extend(
                slice
                    .positions(items.len())
                    .into_iter()
                    .map(|position| &items[position]),
            );
        }
        (Selector::Wildcard, Value::Object(fields)) => found.extend(fields.values()),
        (Selector::Wildcard, Value::Array(items)) => found.extend(items.iter()),
        (Selector::Filter(filter), Value::Array(items)) => found.extend(
            items
                .iter()
                .filter(|item| filter_matches(filter, item, documents)),
        ),
        // Jayway tests a filter applied to an object against the object itself.
        (Selector::Filter(filter), Value::Object(_)) if filter_matches(filter, node, documents) => {
            found.push(node);
        }
        (Selector::Wildcard | Selector::Filter(_), _) => {}
        (Selector::Name(name), other) if must_exist => {
            return Err(format!(
                "expected an object with the field '{name}' but found {}",
                describe_type(other)
            ));
        }
        (Selector::Names(_), other) if must_exist => {
            return Err(format!(
                "expected an object but found {}",
                describe_type(other)
            ));
        }
        (Selector::Index(_) | Selector::Indices(_) | Selector::Slice(_), other) if must_exist => {
            return Err(format!(
                "expected an array but found {}",
                describe_type(other)
            ));
        }
        _ => {}
    }
    Ok(())
}

/// `..selector`: applies the selector to the node and every node below it, parents first.
fn select_descendants<'a>(
    selector: &Selector,
    node: &'a Value,
    documents: Documents<'a>,
    found: &mut Vec<&'a Value>,
) {
    match selector {
        // Each object is tested once, as itself; testing array elements as well would report
        // every object inside an array twice.
        Selector::Filter(filter) => {
            if node.is_object() && filter_matches(filter, node, documents) {
                found.push(node);
            }
        }
        other => {
            // A miss below a recursive descent is never an error, so the result is ignored.
            let _ = select_children(other, node, false, documents, found);
        }
    }
    let children: Box<dyn Iterator<Item = &'a Value>> = match node {
        Value::Object(fields) => Box::new(fields.values()),
        Value::Array(items) => Box::new(items.iter()),
        _ => return,
    };
    for child in children {
        select_descendants(selector, child, documents, found);
    }
}

fn filter_matches(filter: &Filter, current: &Value, documents: Documents<'_>) -> bool {
    match filter {
        Filter::Or(alternatives) => alternatives
            .iter()
            .any(|alternative| filter_matches(alternative, current, documents)),
        Filter::And(conditions) => conditions
            .iter()
            .all(|condition| filter_matches(condition, current, documents)),
        Filter::Not(inner) => !filter_matches(inner, current, documents),
        Filter::Exists(operand) => operand_value(operand, current, documents).is_some(),
        Filter::Compare {
            left,
            relation,
            right,
        } => {
            let (Some(left), Some(right)) = (
                operand_value(left, current, documents),
                operand_value(right, current, documents),
            ) else {
                return false;
            };
            relation_holds(*relation, &left, &right)
        }
    }
}

fn operand_value(operand: &Operand, current: &Value, documents: Documents<'_>) -> Option<Value> {
    let (segments, start) = match operand {
        Operand::Literal(value) => return Some(value.clone()),
        Operand::Current(segments) => (segments, current),
        Operand::Absolute(path) => (&path.segments, documents.root(path.root)),
    };
    let matches = evaluate_segments(segments, start, documents).ok()?;
    if segments.iter().all(Segment::is_definite) {
        matches.first().map(|node| (*node).clone())
    } else if matches.is_empty() {
        None
    } else {
        Some(Value::Array(matches.into_iter().cloned().collect()))
    }
}

fn relation_holds(relation: Relation, left: &Value, right: &Value) -> bool {
    let ordering = match (left, right) {
        (Value::Number(left), Value::Number(right)) => compare_numbers(left, right),
        (Value::String(left), Value::String(right)) => Some(left.cmp(right)),
        _ => None,
    };
    let equal = ordering.map_or_else(|| left == right, Ordering::is_eq);
    match relation {
        Relation::Equal => equal,
        Relation::NotEqual => !equal,
        Relation::Less => ordering == Some(Ordering::Less),
        Relation::LessOrEqual => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Relation::Greater => ordering == Some(Ordering::Greater),
        Relation::GreaterOrEqual => {
            matches!(ordering, Some(Ordering::Greater | Ordering::Equal))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec_input() -> Value {
        json!({ "foo": 123, "bar": ["a", "b", "c"], "car": { "cdr": true } })
    }

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    { "category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95 },
                    { "category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99 },
                    { "category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99 },
                    { "category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99 }
                ],
                "bicycle": { "color": "red", "price": 19.95 }
            },
            "expensive": 10
        })
    }

    fn on(path: &str, input: &Value) -> Value {
        match select(path, input, &json!({})) {
            Ok(value) => value,
            Err(error) => panic!("{path}: {error}"),
        }
    }

    fn miss(path: &str, input: &Value) -> EvalError {
        match select(path, input, &json!({})) {
            Ok(value) => panic!("{path} unexpectedly matched {value}"),
            Err(error) => error,
        }
    }

    #[test]
    fn spec_reference_path_examples() {
        let input = spec_input();
        assert_eq!(on("$.foo", &input), json!(123));
        assert_eq!(on("$.bar", &input), json!(["a", "b", "c"]));
        assert_eq!(on("$.car.cdr", &input), json!(true));
        for path in [
            "$.foo",
            "$.bar",
            "$.car.cdr",
            "$",
            "$.bar[1]",
            "$['car']['cdr']",
        ] {
            assert_eq!(validate_reference_path(path), Ok(()), "{path}");
        }
    }

    #[test]
    fn dollar_alone_is_the_whole_input() {
        assert_eq!(on("$", &spec_input()), spec_input());
    }

    #[test]
    fn bracket_notation_with_either_quote_and_escapes() {
        let input = json!({ "a b": 1, "x": { "it's": 2 } });
        assert_eq!(on("$['a b']", &input), json!(1));
        assert_eq!(on("$[\"x\"]['it\\'s']", &input), json!(2));
        assert_eq!(on("$[ 'a b' ]", &input), json!(1));
    }

    #[test]
    fn indices_count_from_the_end_when_negative() {
        let input = spec_input();
        assert_eq!(on("$.bar[0]", &input), json!("a"));
        assert_eq!(on("$.bar[-1]", &input), json!("c"));
        assert_eq!(on("$.bar[-3]", &input), json!("a"));
        assert!(miss("$.bar[-4]", &input).cause.contains("out of range"));
        assert!(miss("$.bar[3]", &input).cause.contains("out of range"));
    }

    #[test]
    fn spec_slice_example() {
        assert_eq!(on("$.a[0:2]", &json!({ "a": [1, 2, 3, 4] })), json!([1, 2]));
    }

    #[test]
    fn slices_clamp_and_accept_open_ends_negative_bounds_and_steps() {
        let input = json!({ "a": [0, 1, 2, 3, 4, 5] });
        assert_eq!(on("$.a[1:3]", &input), json!([1, 2]));
        assert_eq!(on("$.a[:2]", &input), json!([0, 1]));
        assert_eq!(on("$.a[4:]", &input), json!([4, 5]));
        assert_eq!(on("$.a[-2:]", &input), json!([4, 5]));
        assert_eq!(on("$.a[1:100]", &input), json!([1, 2, 3, 4, 5]));
        assert_eq!(on("$.a[0:6:2]", &input), json!([0, 2, 4]));
        assert_eq!(on("$.a[3:1]", &input), json!([]));
        assert!(validate_path("$.a[0:4:0]").is_err());
    }

    #[test]
    fn unions_of_indices_and_names() {
        let input = json!({ "a": [10, 11, 12], "b": 1, "c": 2 });
        assert_eq!(on("$.a[0,2]", &input), json!([10, 12]));
        assert_eq!(on("$.a[0, 7]", &input), json!([10]));
        assert_eq!(on("$['b','c']", &input), json!([1, 2]));
    }

    #[test]
    fn wildcards_over_arrays_and_objects() {
        let input = store();
        assert_eq!(
            on("$.store.book[*].author", &input),
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])
        );
        assert_eq!(
            on("$.store.bicycle.*", &input),
            json!(["red", 19.95]),
            "object values in key order"
        );
        assert_eq!(
            on("$.store.book[*].isbn", &input),
            json!(["0-553-21311-3", "0-395-19395-8"])
        );
        assert_eq!(on("$.store.bicycle.color.*", &input), json!([]));
    }

    #[test]
    fn recursive_descent_collects_every_match_parents_first() {
        let input = store();
        assert_eq!(
            on("$..author", &input),
            json!([
                "Nigel Rees",
                "Evelyn Waugh",
                "Herman Melville",
                "J. R. R. Tolkien"
            ])
        );
        // Without insertion order, object members are visited in key order: bicycle, book.
        let prices = on("$.store..price", &input);
        assert_eq!(prices, json!([19.95, 8.95, 12.99, 8.99, 22.99]));
        assert_eq!(on("$..book[2].title", &input), json!(["Moby Dick"]));
        assert_eq!(
            on("$..book[-1:].title", &input),
            json!(["The Lord of the Rings"])
        );
        let nested = json!({ "b": 1, "x": { "b": 2, "y": [{ "b": 3 }] } });
        assert_eq!(on("$..b", &nested), json!([1, 2, 3]));
        assert_eq!(on("$..nothing", &nested), json!([]));
        assert_eq!(on("$.x..*", &json!({ "x": { "a": [1] } })), json!([[1], 1]));
    }

    #[test]
    fn filters_compare_numbers_strings_booleans_and_test_existence() {
        let input = store();
        assert_eq!(
            on("$.store.book[?(@.price < 10)].title", &input),
            json!(["Sayings of the Century", "Moby Dick"])
        );
        assert_eq!(
            on("$.store.book[?(@.isbn)].title", &input),
            json!(["Moby Dick", "The Lord of the Rings"])
        );
        assert_eq!(
            on("$.store.book[?(@.category == 'reference')].author", &input),
            json!(["Nigel Rees"])
        );
        assert_eq!(
            on("$.store.book[?(@.category != \"fiction\")].price", &input),
            json!([8.95])
        );
        assert_eq!(
            on("$.store.book[?(@.price >= 22.99)].price", &input),
            json!([22.99])
        );
        assert_eq!(
            on("$.store.book[?(@.price<=8.95)].price", &input),
            json!([8.95])
        );
        assert_eq!(
            on("$.store.book[?(@.price > 20)].price", &input),
            json!([22.99])
        );
        assert_eq!(
            on("$.store.book[?(@.price < $.expensive)].price", &input),
            json!([8.95, 8.99])
        );
        let flags = json!({ "items": [{ "id": 1, "ok": true }, { "id": 2, "ok": false }, { "id": 3, "ok": null }] });
        assert_eq!(on("$.items[?(@.ok == true)].id", &flags), json!([1]));
        assert_eq!(on("$.items[?(@.ok == null)].id", &flags), json!([3]));
        assert_eq!(
            on("$.items[?(@.id > 1 && @.ok != true)].id", &flags),
            json!([2, 3])
        );
        assert_eq!(
            on("$.items[?(@.id == 1 || @.id == 3)].id", &flags),
            json!([1, 3])
        );
        assert_eq!(on("$.items[?(!(@.id == 1))].id", &flags), json!([2, 3]));
    }

    #[test]
    fn filter_comparisons_of_mismatched_types_are_false() {
        let input = json!({ "a": [{ "v": "10" }, { "v": 10 }, { "w": 1 }] });
        assert_eq!(on("$.a[?(@.v < 11)]", &input), json!([{ "v": 10 }]));
        assert_eq!(on("$.a[?(@.v == 10.0)]", &input), json!([{ "v": 10 }]));
        assert_eq!(on("$.a[?(@.v > 'a')]", &input), json!([]));
    }

    #[test]
    fn filter_on_scalar_elements_uses_at_alone() {
        let input = json!({ "n": [1, 5, 3, 8] });
        assert_eq!(on("$.n[?(@ > 2)]", &input), json!([5, 3, 8]));
    }

    #[test]
    fn filter_on_an_object_tests_the_object_itself() {
        let input = json!({ "order": { "side": "buy", "qty": 3 } });
        assert_eq!(
            on("$.order[?(@.side == 'buy')]", &input),
            json!([{ "side": "buy", "qty": 3 }])
        );
        assert_eq!(on("$.order[?(@.side == 'sell')]", &input), json!([]));
    }

    #[test]
    fn recursive_descent_with_a_filter_reports_each_object_once() {
        let input = json!({ "a": [{ "x": 1 }, { "x": 2, "b": { "x": 1 } }] });
        assert_eq!(
            on("$..[?(@.x == 1)]", &input),
            json!([{ "x": 1 }, { "x": 1 }])
        );
    }

    #[test]
    fn definite_paths_that_match_nothing_fail_with_the_path_in_the_cause() {
        let input = spec_input();
        let error = miss("$.nothing", &input);
        assert_eq!(error.error, "States.Runtime");
        assert!(error.cause.contains("'$.nothing'"), "{}", error.cause);
        assert!(miss("$.foo.bar", &input).cause.contains("found a number"));
        assert!(miss("$.car[0]", &input).cause.contains("expected an array"));
        assert!(
            miss("$.missing[*]", &input)
                .cause
                .contains("'$.missing[*]'")
        );
    }

    #[test]
    fn indefinite_paths_skip_misses_once_indefinite() {
        let input = json!({ "a": [{ "b": 1 }, { "c": 2 }, 5] });
        assert_eq!(on("$.a[*].b", &input), json!([1]));
        assert_eq!(on("$.a[?(@.b == 99)]", &input), json!([]));
    }

    #[test]
    fn context_paths_select_from_the_context_object() {
        let context = json!({
            "Execution": { "Id": "arn:aws:states:local:execution:Trade:1", "Input": { "x": 1 } },
            "State": { "EnteredTime": "2024-01-02T03:04:05Z", "Name": "Book" },
            "Task": { "Token": "tok-1" },
            "Map": { "Item": { "Index": 2, "Value": { "id": 7 } } }
        });
        let input = json!({ "Execution": "not this" });
        let from_context = |path: &str| select(path, &input, &context);
        assert_eq!(
            from_context("$$.Execution.Id"),
            Ok(json!("arn:aws:states:local:execution:Trade:1"))
        );
        assert_eq!(from_context("$$.Task.Token"), Ok(json!("tok-1")));
        assert_eq!(from_context("$$.Map.Item.Value"), Ok(json!({ "id": 7 })));
        assert_eq!(
            from_context("$$.State.EnteredTime"),
            Ok(json!("2024-01-02T03:04:05Z"))
        );
        assert_eq!(from_context("$$"), Ok(context.clone()));
        assert_eq!(from_context("$.Execution"), Ok(json!("not this")));
        let error = from_context("$$.Task.Nope").unwrap_err();
        assert!(error.cause.contains("context object"), "{}", error.cause);
    }

    #[test]
    fn syntax_errors_are_explained() {
        for (path, expected) in [
            ("", "must start with '$'"),
            ("foo", "must start with '$'"),
            ("$.", "expected a field name"),
            ("$.a[", "expected"),
            ("$.a[0", "expected ']'"),
            ("$['a", "unterminated"),
            ("$.a.length()", "length() are not supported"),
            ("$.a[?(@.b ==)]", "expected '@', a path or a literal"),
            ("$.a[?(1)]", "needs a comparison"),
            ("$.a b", "unexpected ' b'"),
            ("$...a", "expected a field name"),
            ("$[abc]", "expected a quoted name, an index"),
        ] {
            let message = validate_path(path).expect_err(path);
            assert!(message.contains(expected), "{path}: {message}");
        }
    }

    #[test]
    fn reference_paths_reject_everything_that_could_select_several_nodes() {
        for (path, reason) in [
            ("$.a[*]", "wildcard"),
            ("$.a.*", "wildcard"),
            ("$..a", "recursive descent"),
            ("$.a[0:1]", "slice"),
            ("$.a[0,1]", "union"),
            ("$['a','b']", "union"),
            ("$.a[?(@.b)]", "filter"),
        ] {
            let message = validate_reference_path(path).expect_err(path);
            assert!(message.contains(reason), "{path}: {message}");
            assert_eq!(validate_path(path), Ok(()), "{path} is still a valid path");
        }
        assert!(validate_reference_path("$.a[").is_err());
        assert_eq!(validate_reference_path("$$.Execution.Input.x[0]"), Ok(()));
    }

    #[test]
    fn result_path_spec_examples() {
        let input = json!({
            "title": "Numbers to add",
            "numbers": { "val1": 3, "val2": 4 }
        });
        assert_eq!(
            apply_result_path(input.clone(), "$.sum", json!(7)),
            Ok(json!({ "title": "Numbers to add", "numbers": { "val1": 3, "val2": 4 }, "sum": 7 }))
        );
        assert_eq!(apply_result_path(input, "$", json!(7)), Ok(json!(7)));
        let detail = json!({ "master": { "detail": [1, 2, 3] } });
        assert_eq!(
            apply_result_path(detail.clone(), "$.master.detail", json!(6)),
            Ok(json!({ "master": { "detail": 6 } }))
        );
        assert_eq!(
            apply_result_path(detail, "$.master.result.sum", json!(6)),
            Ok(json!({ "master": { "detail": [1, 2, 3], "result": { "sum": 6 } } }))
        );
    }

    #[test]
    fn result_path_creates_intermediate_objects_and_writes_into_arrays() {
        assert_eq!(
            apply_result_path(json!({}), "$.a.b['c d']", json!(true)),
            Ok(json!({ "a": { "b": { "c d": true } } }))
        );
        assert_eq!(
            apply_result_path(json!({ "a": [1, { "x": 0 }] }), "$.a[1].y", json!(2)),
            Ok(json!({ "a": [1, { "x": 0, "y": 2 }] }))
        );
        assert_eq!(
            apply_result_path(json!({ "a": [1, 2] }), "$.a[-1]", json!(9)),
            Ok(json!({ "a": [1, 9] }))
        );
    }

    #[test]
    fn result_path_fails_when_it_cannot_be_placed() {
        for (input, result_path, reason) in [
            (json!({ "a": 1 }), "$.a.b", "'$.a' is a number"),
            (json!("text"), "$.a", "'$' is a string"),
            (json!({ "a": null }), "$.a.b", "'$.a' is null"),
            (json!({ "a": { "b": 1 } }), "$.a[0]", "cannot be indexed"),
            (json!({}), "$.a[0]", "cannot be indexed"),
            (json!({ "a": [1] }), "$.a[3]", "out of range"),
        ] {
            let error = apply_result_path(input, result_path, json!(0)).expect_err(result_path);
            assert_eq!(error.error, "States.ResultPathMatchFailure");
            assert!(
                error.cause.contains(reason),
                "{result_path}: {}",
                error.cause
            );
        }
        for result_path in ["$.a[*]", "$$.Execution.Id", "nope"] {
            let error = apply_result_path(json!({}), result_path, json!(0)).expect_err(result_path);
            assert_eq!(
                error.error, "States.ResultPathMatchFailure",
                "{result_path}"
            );
        }
    }

    #[test]
    fn large_integers_compare_exactly() {
        let big = Number::from(u64::MAX);
        let smaller = Number::from(u64::MAX - 1);
        assert_eq!(compare_numbers(&big, &smaller), Some(Ordering::Greater));
        assert_eq!(
            compare_numbers(&Number::from(-1), &big),
            Some(Ordering::Less)
        );
        let half = Number::from_f64(0.5).expect("finite");
        assert_eq!(
            compare_numbers(&Number::from(1), &half),
            Some(Ordering::Greater)
        );
    }
}
