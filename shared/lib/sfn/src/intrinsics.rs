//! The intrinsic functions (`States.Format`, `States.StringToJson`, `States.Array`, ...):
//! parsing of the call syntax (nested calls, string literals with escapes, numbers, booleans,
//! null, paths as arguments) and evaluation.
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Number, Value};
use sha2::Digest;

use crate::error::EvalError;
use crate::path;

const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// AWS allows at most 10 intrinsic function calls in one field.
const MAX_CALLS_PER_FIELD: usize = 10;
/// AWS limit on the input of `States.Base64Encode` and `States.Base64Decode`.
const MAX_BASE64_INPUT_CHARS: usize = 10_000;
/// AWS limit on the length of the array `States.ArrayRange` returns.
const MAX_RANGE_ITEMS: usize = 1_000;
const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(expression: &str) -> bool {
    expression.trim_start().starts_with("States.")
}

/// Checks a call's syntax, function names and argument counts at load time.
pub fn validate(expression: &str) -> Result<(), String> {
    let call = Call::parse(expression)?;
    call.check_statically()
        .map_err(|problem| format!("invalid intrinsic function call '{expression}': {problem}"))
}

/// Evaluates a call. Failures are `States.IntrinsicFailure`.
pub fn evaluate(expression: &str, input: &Value, context: &Value) -> Result<Value, EvalError> {
    Call::parse(expression)
        .and_then(|call| call.evaluate(input, context))
        .map_err(|cause| EvalError::new(INTRINSIC_FAILURE, cause))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

/// The argument types of a function: `required` first, then `optional` ones, then any
/// number of `rest`.
struct Signature {
    required: &'static [Kind],
    optional: &'static [Kind],
    rest: Option<Kind>,
}

impl Signature {
    const fn fixed(required: &'static [Kind]) -> Signature {
        Signature {
            required,
            optional: &[],
            rest: None,
        }
    }

    fn kind_at(&self, index: usize) -> Option<Kind> {
        self.required
            .iter()
            .chain(self.optional)
            .nth(index)
            .copied()
            .or(self.rest)
    }

    fn accepts_count(&self, count: usize) -> bool {
        let minimum = self.required.len();
        let maximum = minimum + self.optional.len();
        count >= minimum && (self.rest.is_some() || count <= maximum)
    }

    fn describe_count(&self) -> String {
        let minimum = self.required.len();
        let maximum = minimum + self.optional.len();
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        if self.rest.is_some() {
            format!("at least {minimum} {}", plural(minimum))
        } else if minimum == maximum {
            format!("exactly {minimum} {}", plural(minimum))
        } else {
            format!("{minimum} to {maximum} arguments")
        }
    }
}

impl Function {
    const ALL: [Function; 18] = [
        Function::Format,
        Function::StringToJson,
        Function::JsonToString,
        Function::Array,
        Function::ArrayPartition,
        Function::ArrayContains,
        Function::ArrayRange,
        Function::ArrayGetItem,
        Function::ArrayLength,
        Function::ArrayUnique,
        Function::Base64Encode,
        Function::Base64Decode,
        Function::Hash,
        Function::JsonMerge,
        Function::MathRandom,
        Function::MathAdd,
        Function::StringSplit,
        Function::Uuid,
    ];

    fn name(self) -> &'static str {
        match self {
            Function::Format => "States.Format",
            Function::StringToJson => "States.StringToJson",
            Function::JsonToString => "States.JsonToString",
            Function::Array => "States.Array",
            Function::ArrayPartition => "States.ArrayPartition",
            Function::ArrayContains => "States.ArrayContains",
            Function::ArrayRange => "States.ArrayRange",
            Function::ArrayGetItem => "States.ArrayGetItem",
            Function::ArrayLength => "States.ArrayLength",
            Function::ArrayUnique => "States.ArrayUnique",
            Function::Base64Encode => "States.Base64Encode",
            Function::Base64Decode => "States.Base64Decode",
            Function::Hash => "States.Hash",
            Function::JsonMerge => "States.JsonMerge",
            Function::MathRandom => "States.MathRandom",
            Function::MathAdd => "States.MathAdd",
            Function::StringSplit => "States.StringSplit",
            Function::Uuid => "States.UUID",
        }
    }

    fn from_name(name: &str) -> Option<Function> {
        Function::ALL
            .into_iter()
            .find(|function| function.name() == name)
    }

    fn signature(self) -> Signature {
        use Kind::*;
        match self {
            Function::Format => Signature {
                required: &[String],
                optional: &[],
                rest: Some(Scalar),
            },
            Function::Array => Signature {
                required: &[],
                optional: &[],
                rest: Some(Any),
            },
            Function::MathRandom => Signature {
                required: &[Number, Number],
                optional: &[Integer],
                rest: None,
            },
            Function::StringToJson | Function::Base64Encode | Function::Base64Decode => {
                Signature::fixed(&[String])
            }
            Function::JsonToString => Signature::fixed(&[Any]),
            Function::ArrayPartition | Function::ArrayGetItem => {
                Signature::fixed(&[Array, Integer])
            }
            Function::ArrayContains => Signature::fixed(&[Array, Any]),
            Function::ArrayRange => Signature::fixed(&[Integer, Integer, Integer]),
            Function::ArrayLength | Function::ArrayUnique => Signature::fixed(&[Array]),
            Function::Hash | Function::StringSplit => Signature::fixed(&[String, String]),
            Function::JsonMerge => Signature::fixed(&[Object, Object, Boolean]),
            Function::MathAdd => Signature::fixed(&[Number, Number]),
            Function::Uuid => Signature::fixed(&[]),
        }
    }

    /// Checks one argument on its own: its type, and the limits that do not depend on the
    /// other arguments. Used on literal arguments at load time and on every argument at run
    /// time, so both report the same words.
    fn check_argument(self, index: usize, value: &Value) -> Result<(), String> {
        let position = index + 1;
        let name = self.name();
        let kind = self
            .signature()
            .kind_at(index)
            .ok_or_else(|| format!("{name} takes {}", self.signature().describe_count()))?;
        if !kind.accepts(value) {
            return Err(format!(
                "{name}: argument {position} must be {}, found {}",
                kind.describe(),
                describe_value(value)
            ));
        }
        match (self, index) {
            (Function::ArrayPartition, 1) if integral(value).is_some_and(|size| size < 1) => Err(
                format!("{name}: the chunk size must be greater than 0, found {value}"),
            ),
            (Function::ArrayRange, 2) if integral(value) == Some(0) => {
                Err(format!("{name}: the step must not be 0"))
            }
            (Function::ArrayGetItem, 1) if integral(value).is_some_and(|index| index < 0) => Err(
                format!("{name}: the index must not be negative, found {value}"),
            ),
            (Function::Base64Encode | Function::Base64Decode, 0)
                if value
                    .as_str()
                    .is_some_and(|text| text.chars().count() > MAX_BASE64_INPUT_CHARS) =>
            {
                Err(format!(
                    "{name}: the input must be at most {MAX_BASE64_INPUT_CHARS} characters"
                ))
            }
            (Function::Hash, 1)
                if value
                    .as_str()
                    .is_some_and(|algorithm| !HASH_ALGORITHMS.contains(&algorithm)) =>
            {
                Err(format!(
                    "{name}: unsupported algorithm {value}; use one of {}",
                    HASH_ALGORITHMS.join(", ")
                ))
            }
            (Function::JsonMerge, 2) if value == &Value::Bool(true) => Err(format!(
                "{name}: deep merge is not supported; the third argument must be false"
            )),
            (Function::MathAdd, 0 | 1)
                if rounded(value).is_none_or(|number| i32::try_from(number).is_err()) =>
            {
                Err(format!(
                    "{name}: argument {position} must be between {} and {}, found {value}",
                    i32::MIN,
                    i32::MAX
                ))
            }
            (Function::MathRandom, 0 | 1) if rounded(value).is_none() => Err(format!(
                "{name}: argument {position} is out of the 64-bit integer range, found {value}"
            )),
            _ => Ok(()),
        }
    }

    /// Runs the function on arguments that already passed `check_argument`.
    /// `literal_template` is the first argument of `States.Format` when it was written as a
    /// literal, because only there can escapes tell `\{}` apart from a placeholder.
    fn run(
        self,
        arguments: &Arguments<'_>,
        literal_template: Option<&Template>,
    ) -> Result<Value, String> {
        let name = self.name();
        match self {
            Function::Format => {
                let template = match literal_template {
                    Some(template) => template.clone(),
                    None => Template::from_plain(arguments.string(0)?),
                };
                let fillers = arguments.values.get(1..).unwrap_or_default();
                template.fill(fillers).map(Value::String)
            }
            Function::StringToJson => serde_json::from_str(arguments.string(0)?)
                .map_err(|error| format!("{name}: the argument is not valid JSON ({error})")),
            Function::JsonToString => serde_json::to_string(arguments.value(0)?)
                .map(Value::String)
                .map_err(|error| format!("{name}: {error}")),
            Function::Array => Ok(Value::Array(arguments.values.to_vec())),
            Function::ArrayPartition => {
                let items = arguments.array(0)?;
                let size = usize::try_from(arguments.integer(1)?)
                    .ok()
                    .filter(|size| *size > 0)
                    .ok_or_else(|| format!("{name}: the chunk size must be greater than 0"))?;
                Ok(Value::Array(
                    items
                        .chunks(size)
                        .map(|chunk| Value::Array(chunk.to_vec()))
                        .collect(),
                ))
            }
            Function::ArrayContains => Ok(Value::Bool(
                arguments.array(0)?.contains(arguments.value(1)?),
            )),
            Function::ArrayRange => {
                let (start, end, step) = (
                    arguments.integer(0)?,
                    arguments.integer(1)?,
                    arguments.integer(2)?,
                );
                range(start, end, step).map_err(|problem| format!("{name}: {problem}"))
            }
            Function::ArrayGetItem => {
                let items = arguments.array(0)?;
                let index = arguments.integer(1)?;
                usize::try_from(index)
                    .ok()
                    .and_then(|position| items.get(position))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "{name}: index {index} is out of range for an array of {} items",
                            items.len()
                        )
                    })
            }
            Function::ArrayLength => Ok(Value::from(arguments.array(0)?.len())),
            Function::ArrayUnique => {
                let mut unique: Vec<Value> = Vec::new();
                for item in arguments.array(0)? {
                    if !unique.contains(item) {
                        unique.push(item.clone());
                    }
                }
                Ok(Value::Array(unique))
            }
            Function::Base64Encode => Ok(Value::String(BASE64.encode(arguments.string(0)?))),
            Function::Base64Decode => {
                let bytes = BASE64.decode(arguments.string(0)?).map_err(|error| {
                    format!("{name}: the argument is not valid base64 ({error})")
                })?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| format!("{name}: the decoded data is not UTF-8 text"))
            }
            Function::Hash => {
                let data = arguments.string(0)?.as_bytes();
                let digest = match arguments.string(1)? {
                    "MD5" => hex::encode(md5::Md5::digest(data)),
                    "SHA-1" => hex::encode(sha1::Sha1::digest(data)),
                    "SHA-256" => hex::encode(sha2::Sha256::digest(data)),
                    "SHA-384" => hex::encode(sha2::Sha384::digest(data)),
                    "SHA-512" => hex::encode(sha2::Sha512::digest(data)),
                    other => return Err(format!("{name}: unsupported algorithm '{other}'")),
                };
                Ok(Value::String(digest))
            }
            Function::JsonMerge => {
                let mut merged = arguments.object(0)?.clone();
                merged.extend(arguments.object(1)?.clone());
                Ok(Value::Object(merged))
            }
            Function::MathRandom => {
                let start = arguments.rounded(0)?;
                let end = arguments.rounded(1)?;
                if start >= end {
                    return Err(format!(
                        "{name}: the start ({start}) must be less than the end ({end})"
                    ));
                }
                let number = match arguments.values.get(2) {
                    Some(_) => {
                        let seed = arguments.integer(2)?.cast_unsigned();
                        StdRng::seed_from_u64(seed).random_range(start..end)
                    }
                    None => rand::rng().random_range(start..end),
                };
                Ok(Value::from(number))
            }
            Function::MathAdd => Ok(Value::from(arguments.rounded(0)? + arguments.rounded(1)?)),
            Function::StringSplit => {
                let text = arguments.string(0)?;
                let delimiters = arguments.string(1)?;
                Ok(Value::Array(
                    text.split(|c| delimiters.contains(c))
                        .filter(|part| !part.is_empty())
                        .map(Value::from)
                        .collect(),
                ))
            }
            Function::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
        }
    }
}

/// `start` to `end` inclusive in steps of `step`.
fn range(start: i64, end: i64, step: i64) -> Result<Value, String> {
    if step == 0 {
        return Err("the step must not be 0".to_string());
    }
    let (start_wide, end_wide, step_wide) = (i128::from(start), i128::from(end), i128::from(step));
    let count = if (step > 0 && start <= end) || (step < 0 && start >= end) {
        (end_wide - start_wide) / step_wide + 1
    } else {
        0
    };
    let count = usize::try_from(count)
        .ok()
        .filter(|count| *count <= MAX_RANGE_ITEMS)
        .ok_or_else(|| {
            format!("the range would hold {count} items; at most {MAX_RANGE_ITEMS} are allowed")
        })?;
    Ok(Value::Array(
        std::iter::successors(Some(start), |previous| previous.checked_add(step))
            .take(count)
            .map(Value::from)
            .collect(),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Scalar,
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
}

impl Kind {
    fn accepts(self, value: &Value) -> bool {
        match self {
            Kind::Any => true,
            Kind::Scalar => !value.is_array() && !value.is_object(),
            Kind::String => value.is_string(),
            Kind::Number => value.is_number(),
            Kind::Integer => integral(value).is_some(),
            Kind::Boolean => value.is_boolean(),
            Kind::Array => value.is_array(),
            Kind::Object => value.is_object(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Any => "any value",
            Kind::Scalar => "a string, number, boolean or null",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Integer => "an integer",
            Kind::Boolean => "a boolean",
            Kind::Array => "an array",
            Kind::Object => "an object",
        }
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
        scalar => {
            let text = scalar.to_string();
            if text.chars().count() > 40 {
                format!("{}...", text.chars().take(40).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// The value as an `i64` when it is a whole number (`3` or `3.0`).
fn integral(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    number.as_i64().or_else(|| {
        let float = number.as_f64()?;
        (float.fract() == 0.0 && in_i64_range(float)).then_some(float as i64)
    })
}

/// AWS rounds non-integer arguments of `States.MathAdd` and `States.MathRandom` to the
/// nearest integer (halves up, as Java's `Math.round` does).
fn rounded(value: &Value) -> Option<i64> {
    let Value::Number(number) = value else {
        return None;
    };
    number.as_i64().or_else(|| {
        let float = (number.as_f64()? + 0.5).floor();
        in_i64_range(float).then_some(float as i64)
    })
}

fn in_i64_range(float: f64) -> bool {
    // 2^63 is exactly representable; i64::MAX is not, so the upper bound is exclusive.
    (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&float)
}

/// The evaluated arguments of one call, with typed access. The types were checked by
/// `Function::check_argument`; the accessors still return errors rather than panic.
struct Arguments<'a> {
    function: Function,
    values: &'a [Value],
}

impl<'a> Arguments<'a> {
    fn value(&self, index: usize) -> Result<&'a Value, String> {
        self.values.get(index).ok_or_else(|| {
            format!(
                "{} takes {}",
                self.function.name(),
                self.function.signature().describe_count()
            )
        })
    }

    fn typed<T>(
        &self,
        index: usize,
        kind: Kind,
        convert: impl Fn(&'a Value) -> Option<T>,
    ) -> Result<T, String> {
        let value = self.value(index)?;
        convert(value).ok_or_else(|| {
            format!(
                "{}: argument {} must be {}, found {}",
                self.function.name(),
                index + 1,
                kind.describe(),
                describe_value(value)
            )
        })
    }

    fn string(&self, index: usize) -> Result<&'a str, String> {
        self.typed(index, Kind::String, Value::as_str)
    }

    fn integer(&self, index: usize) -> Result<i64, String> {
        self.typed(index, Kind::Integer, integral)
    }

    fn rounded(&self, index: usize) -> Result<i64, String> {
        self.typed(index, Kind::Number, rounded)
    }

    fn array(&self, index: usize) -> Result<&'a Vec<Value>, String> {
        self.typed(index, Kind::Array, Value::as_array)
    }

    fn object(&self, index: usize) -> Result<&'a serde_json::Map<String, Value>, String> {
        self.typed(index, Kind::Object, Value::as_object)
    }
}

/// A `States.Format` template: text with `{}` placeholders.
#[derive(Debug, Clone, PartialEq)]
struct Template {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Placeholder,
}

impl Template {
    /// A template that came from data (a path), where there are no escapes.
    fn from_plain(text: &str) -> Template {
        let mut pieces = Vec::new();
        for (index, part) in text.split("{}").enumerate() {
            if index > 0 {
                pieces.push(Piece::Placeholder);
            }
            if !part.is_empty() {
                pieces.push(Piece::Text(part.to_string()));
            }
        }
        Template { pieces }
    }

    fn placeholders(&self) -> usize {
        self.pieces
            .iter()
            .filter(|piece| **piece == Piece::Placeholder)
            .count()
    }

    /// The string the literal stands for when it is not a template.
    fn plain_text(&self) -> String {
        self.pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.as_str(),
                Piece::Placeholder => "{}",
            })
            .collect()
    }

    fn fill(&self, values: &[Value]) -> Result<String, String> {
        let placeholders = self.placeholders();
        if placeholders != values.len() {
            return Err(format!(
                "States.Format: the template has {placeholders} placeholder(s) but {} value(s) were given",
                values.len()
            ));
        }
        let mut values = values.iter();
        let mut text = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(literal) => text.push_str(literal),
                Piece::Placeholder => match values.next() {
                    Some(Value::String(value)) => text.push_str(value),
                    Some(value) if Kind::Scalar.accepts(value) => text.push_str(&value.to_string()),
                    other => {
                        return Err(format!(
                            "States.Format: a value must be a string, number, boolean or null, found {}",
                            other.map_or_else(|| "nothing".to_string(), describe_value)
                        ));
                    }
                },
            }
        }
        Ok(text)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Argument {
    /// A single-quoted string literal, kept as a template for `States.Format`.
    Text(Template),
    /// A number, boolean or null literal.
    Literal(Value),
    Path(String),
    Call(Call),
}

impl Argument {
    fn constant(&self) -> Option<Value> {
        match self {
            Argument::Text(template) => Some(Value::String(template.plain_text())),
            Argument::Literal(value) => Some(value.clone()),
            Argument::Path(_) | Argument::Call(_) => None,
        }
    }

    fn is_constant(&self) -> bool {
        match self {
            Argument::Text(_) | Argument::Literal(_) => true,
            Argument::Path(_) => false,
            Argument::Call(call) => call.arguments.iter().all(Argument::is_constant),
        }
    }

    fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, String> {
        match self {
            Argument::Text(template) => Ok(Value::String(template.plain_text())),
            Argument::Literal(value) => Ok(value.clone()),
            Argument::Path(path) => path::select(path, input, context).map_err(|error| error.cause),
            Argument::Call(call) => call.evaluate(input, context),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Call {
    function: Function,
    arguments: Vec<Argument>,
}

impl Call {
    fn parse(expression: &str) -> Result<Call, String> {
        let mut parser = CallParser {
            chars: expression.chars().collect(),
            position: 0,
            calls: 0,
        };
        let explain = |problem: String, position: usize| {
            format!(
                "invalid intrinsic function call '{expression}': {problem} at character {}",
                position + 1
            )
        };
        parser.skip_whitespace();
        let call = parser
            .call()
            .map_err(|problem| explain(problem, parser.position))?;
        parser.skip_whitespace();
        if let Some(found) = parser.peek() {
            return Err(explain(
                format!("unexpected '{found}' after the call"),
                parser.position,
            ));
        }
        Ok(call)
    }

    fn check_statically(&self) -> Result<(), String> {
        // A call on constants alone can be run now; running it finds every fault it has.
        if self.arguments.iter().all(Argument::is_constant) {
            return self.evaluate(&Value::Null, &Value::Null).map(|_| ());
        }
        for (index, argument) in self.arguments.iter().enumerate() {
            match argument {
                Argument::Call(inner) => inner.check_statically()?,
                Argument::Path(_) => {}
                literal => {
                    if let Some(value) = literal.constant() {
                        self.function.check_argument(index, &value)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn evaluate(&self, input: &Value, context: &Value) -> Result<Value, String> {
        let values = self
            .arguments
            .iter()
            .map(|argument| argument.evaluate(input, context))
            .collect::<Result<Vec<_>, String>>()?;
        for (index, value) in values.iter().enumerate() {
            self.function.check_argument(index, value)?;
        }
        let literal_template = match self.arguments.first() {
            Some(Argument::Text(template)) if self.function == Function::Format => Some(template),
            _ => None,
        };
        let arguments = Arguments {
            function: self.function,
            values: &values,
        };
        self.function.run(&arguments, literal_template)
    }
}

struct CallParser {
    chars: Vec<char>,
    position: usize,
    calls: usize,
}

impl CallParser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.position).copied()
    }

    fn eat(&mut self, expected: char) -> bool {
        if self.peek() == Some(expected) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.position += 1;
        }
    }

    fn starts_with(&self, prefix: &str) -> bool {
        prefix
            .chars()
            .enumerate()
            .all(|(offset, c)| self.chars.get(self.position + offset) == Some(&c))
    }

    fn take_while(&mut self, accept: impl Fn(char) -> bool) -> String {
        let start = self.position;
        while self.peek().is_some_and(&accept) {
            self.position += 1;
        }
        self.chars[start..self.position].iter().collect()
    }

    fn call(&mut self) -> Result<Call, String> {
        let name_start = self.position;
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '.');
        let function = Function::from_name(&name).ok_or_else(|| {
            self.position = name_start;
            if name.is_empty() {
                "expected an intrinsic function name".to_string()
            } else {
                format!("unknown intrinsic function '{name}'")
            }
        })?;
        self.calls += 1;
        if self.calls > MAX_CALLS_PER_FIELD {
            return Err(format!(
                "more than {MAX_CALLS_PER_FIELD} intrinsic function calls in one field"
            ));
        }
        self.skip_whitespace();
        if !self.eat('(') {
            return Err(format!("expected '(' after {name}"));
        }
        let mut arguments = Vec::new();
        self.skip_whitespace();
        if !self.eat(')') {
            loop {
                arguments.push(self.argument()?);
                self.skip_whitespace();
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(match self.peek() {
                        Some(found) => format!("expected ',' or ')' but found '{found}'"),
                        None => format!("the call to {name} is not closed with ')'"),
                    });
                }
                self.skip_whitespace();
            }
        }
        let signature = function.signature();
        if !signature.accepts_count(arguments.len()) {
            return Err(format!(
                "{name} takes {}, found {}",
                signature.describe_count(),
                arguments.len()
            ));
        }
        if let (Function::Format, Some(Argument::Text(template))) = (function, arguments.first()) {
            let placeholders = template.placeholders();
            let values = arguments.len() - 1;
            if placeholders != values {
                return Err(format!(
                    "{name}: the template has {placeholders} placeholder(s) but {values} value(s) were given"
                ));
            }
        }
        Ok(Call {
            function,
            arguments,
        })
    }

    fn argument(&mut self) -> Result<Argument, String> {
        match self.peek() {
            Some('\'') => self.text().map(Argument::Text),
            Some('$') => self.path().map(Argument::Path),
            Some(c) if c == '-' || c.is_ascii_digit() => self.number().map(Argument::Literal),
            Some(_) if self.starts_with("States.") => self.call().map(Argument::Call),
            Some(_) => {
                let start = self.position;
                let word = self.take_while(|c| c.is_ascii_alphanumeric());
                match word.as_str() {
                    "true" => Ok(Argument::Literal(Value::Bool(true))),
                    "false" => Ok(Argument::Literal(Value::Bool(false))),
                    "null" => Ok(Argument::Literal(Value::Null)),
                    _ => {
                        self.position = start;
                        Err(format!(
                            "expected a string, number, true, false, null, path or call but found '{}'",
                            self.chars[start..].iter().collect::<String>()
                        ))
                    }
                }
            }
            None => Err("expected an argument but the expression ended".to_string()),
        }
    }

    /// A single-quoted literal. `\'`, `\{`, `\}` and `\\` are the only escapes; an unescaped
    /// `{}` is a placeholder should the literal be a `States.Format` template.
    fn text(&mut self) -> Result<Template, String> {
        self.position += 1;
        let mut pieces = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err("unterminated string literal".to_string());
            };
            self.position += 1;
            match c {
                '\'' => break,
                '\\' => match self.peek() {
                    Some(escaped @ ('\'' | '{' | '}' | '\\')) => {
                        text.push(escaped);
                        self.position += 1;
                    }
                    Some(other) => {
                        return Err(format!(
                            "invalid escape '\\{other}' (only \\', \\{{, \\}} and \\\\ are allowed)"
                        ));
                    }
                    None => return Err("unterminated string literal".to_string()),
                },
                '{' if self.peek() == Some('}') => {
                    self.position += 1;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Placeholder);
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces })
    }

    /// A path runs to the `,` or `)` that ends the argument; commas, parentheses and quotes
    /// inside its brackets (filters, quoted names) belong to the path.
    fn path(&mut self) -> Result<String, String> {
        let start = self.position;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek() {
            match (quote, c) {
                (Some(_), '\\') => self.position += 1,
                (Some(open), c) if c == open => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']' | ')') if depth > 0 => depth -= 1,
                (None, ',' | ')') => break,
                (None, c) if depth == 0 && c.is_whitespace() => break,
                (None, _) => {}
            }
            self.position += 1;
        }
        let end = self.position.min(self.chars.len());
        let text: String = self.chars[start..end].iter().collect();
        path::validate_path(&text)?;
        Ok(text)
    }

    fn number(&mut self) -> Result<Value, String> {
        let text = self.take_while(|c| c.is_ascii_digit() || "-+.eE".contains(c));
        serde_json::from_str::<Number>(&text)
            .map(Value::Number)
            .map_err(|_| format!("'{text}' is not a number"))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(expression: &str, input: &Value) -> Value {
        assert_eq!(validate(expression), Ok(()), "{expression} should validate");
        match evaluate(
            expression,
            input,
            &json!({ "Execution": { "Id": "exec-1" } }),
        ) {
            Ok(value) => value,
            Err(error) => panic!("{expression}: {error}"),
        }
    }

    fn fails(expression: &str, input: &Value) -> String {
        let error = evaluate(expression, input, &json!({})).expect_err(expression);
        assert_eq!(error.error, "States.IntrinsicFailure", "{expression}");
        error.cause
    }

    fn invalid(expression: &str) -> String {
        validate(expression).expect_err(expression)
    }

    #[test]
    fn is_intrinsic_tells_calls_from_paths() {
        assert!(is_intrinsic("States.Format('x')"));
        assert!(is_intrinsic("  States.UUID()"));
        assert!(!is_intrinsic("$.States"));
        assert!(!is_intrinsic("$$.Execution.Id"));
    }

    #[test]
    fn format_spec_examples() {
        let input = json!({ "name": "Arnav", "template": "Hello, my name is {}." });
        assert_eq!(
            run("States.Format('Hello, my name is {}.', $.name)", &input),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            run("States.Format($.template, $.name)", &input),
            json!("Hello, my name is Arnav.")
        );
    }

    #[test]
    fn format_renders_numbers_booleans_null_and_escapes() {
        let input = json!({ "qty": 3, "price": 9.5, "ok": true, "none": null });
        assert_eq!(
            run(
                "States.Format('{} x {} ok={} {}', $.qty, $.price, $.ok, $.none)",
                &input
            ),
            json!("3 x 9.5 ok=true null")
        );
        assert_eq!(
            run(r"States.Format('it\'s \{literal\} \\ {}', 'x')", &input),
            json!(r"it's {literal} \ x")
        );
        assert_eq!(run(r"States.Format('\{}')", &input), json!("{}"));
        assert_eq!(
            run("States.Format('no placeholders')", &input),
            json!("no placeholders")
        );
    }

    #[test]
    fn format_failures() {
        assert!(invalid("States.Format('{} {}', 'a')").contains("2 placeholder(s) but 1 value(s)"));
        assert!(invalid("States.Format()").contains("at least 1 argument"));
        assert!(invalid("States.Format(1)").contains("must be a string"));
        let input = json!({ "t": "{} and {}", "list": [1] });
        assert!(
            fails("States.Format($.t, 'a')", &input).contains("2 placeholder(s) but 1 value(s)")
        );
        assert!(
            fails("States.Format('{}', $.list)", &input)
                .contains("must be a string, number, boolean or null, found an array")
        );
    }

    #[test]
    fn string_to_json_spec_example_and_failure() {
        let input = json!({ "escapedJsonString": "{\"foo\": \"bar\"}", "bad": "{oops" });
        assert_eq!(
            run("States.StringToJson($.escapedJsonString)", &input),
            json!({ "foo": "bar" })
        );
        assert_eq!(run("States.StringToJson('[1, 2]')", &input), json!([1, 2]));
        assert!(fails("States.StringToJson($.bad)", &input).contains("not valid JSON"));
        assert!(invalid("States.StringToJson('{oops')").contains("not valid JSON"));
        assert!(invalid("States.StringToJson(5)").contains("must be a string"));
    }

    #[test]
    fn json_to_string_spec_example_and_failure() {
        let input = json!({ "unescapedJson": { "foo": "bar" } });
        assert_eq!(
            run("States.JsonToString($.unescapedJson)", &input),
            json!("{\"foo\":\"bar\"}")
        );
        assert_eq!(run("States.JsonToString(5)", &input), json!("5"));
        assert!(invalid("States.JsonToString()").contains("exactly 1 argument"));
        assert!(fails("States.JsonToString($.missing)", &input).contains("'$.missing'"));
    }

    #[test]
    fn array_spec_example_and_literals() {
        assert_eq!(
            run("States.Array($.Id)", &json!({ "Id": 123456 })),
            json!([123456])
        );
        assert_eq!(run("States.Array()", &json!({})), json!([]));
        assert_eq!(
            run(
                "States.Array('a', 1, -2.5, true, false, null, States.Array(1))",
                &json!({})
            ),
            json!(["a", 1, -2.5, true, false, null, [1]])
        );
        assert!(fails("States.Array($.nope)", &json!({})).contains("'$.nope'"));
    }

    #[test]
    fn array_partition() {
        let input = json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9] });
        assert_eq!(
            run("States.ArrayPartition($.inputArray, 4)", &input),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            run("States.ArrayPartition(States.Array(), 2)", &input),
            json!([])
        );
        assert!(invalid("States.ArrayPartition($.inputArray, 0)").contains("greater than 0"));
        assert!(invalid("States.ArrayPartition($.inputArray, 1.5)").contains("must be an integer"));
        assert!(
            fails("States.ArrayPartition($.inputArray, -1)", &input).contains("greater than 0")
        );
        assert!(fails("States.ArrayPartition('abc', 1)", &input).contains("must be an array"));
    }

    #[test]
    fn array_contains() {
        let input = json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5 });
        assert_eq!(
            run("States.ArrayContains($.inputArray, $.lookingFor)", &input),
            json!(true)
        );
        assert_eq!(
            run("States.ArrayContains($.inputArray, 10)", &input),
            json!(false)
        );
        assert_eq!(
            run("States.ArrayContains(States.Array('a'), 'a')", &input),
            json!(true)
        );
        assert!(invalid("States.ArrayContains($.inputArray)").contains("exactly 2 arguments"));
        assert!(
            fails("States.ArrayContains($.lookingFor, 5)", &input).contains("must be an array")
        );
    }

    #[test]
    fn array_range() {
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", &json!({})),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run("States.ArrayRange(1, 8, 2)", &json!({})),
            json!([1, 3, 5, 7])
        );
        assert_eq!(
            run("States.ArrayRange(5, 1, -2)", &json!({})),
            json!([5, 3, 1])
        );
        assert_eq!(run("States.ArrayRange(5, 1, 1)", &json!({})), json!([]));
        assert_eq!(
            run("States.ArrayRange(0, 999, 1)", &json!({}))
                .as_array()
                .map(Vec::len),
            Some(1000)
        );
        assert!(invalid("States.ArrayRange(0, 1000, 1)").contains("1001 items; at most 1000"));
        assert!(invalid("States.ArrayRange(1, 9, 0)").contains("must not be 0"));
        assert!(
            fails("States.ArrayRange($.a, 9, 1)", &json!({ "a": "1" }))
                .contains("must be an integer")
        );
    }

    #[test]
    fn array_get_item() {
        let input = json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5 });
        assert_eq!(
            run("States.ArrayGetItem($.inputArray, $.index)", &input),
            json!(6)
        );
        assert!(fails("States.ArrayGetItem($.inputArray, 9)", &input).contains("out of range"));
        assert!(invalid("States.ArrayGetItem($.inputArray, -1)").contains("must not be negative"));
        assert!(invalid("States.ArrayGetItem(States.Array(1), 1)").contains("out of range"));
    }

    #[test]
    fn array_length() {
        let input = json!({ "inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9] });
        assert_eq!(run("States.ArrayLength($.inputArray)", &input), json!(9));
        assert_eq!(run("States.ArrayLength(States.Array())", &input), json!(0));
        assert!(
            fails("States.ArrayLength($)", &input).contains("must be an array, found an object")
        );
    }

    #[test]
    fn array_unique_keeps_first_occurrences_in_order() {
        let input = json!({ "inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4], "mixed": ["b", "a", "b", { "k": 1 }, { "k": 1 }] });
        assert_eq!(
            run("States.ArrayUnique($.inputArray)", &input),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            run("States.ArrayUnique($.mixed)", &input),
            json!(["b", "a", { "k": 1 }])
        );
        assert!(invalid("States.ArrayUnique('x')").contains("must be an array"));
    }

    #[test]
    fn base64_encode_and_decode() {
        let input = json!({ "input": "Data to encode", "base64": "RGF0YSB0byBlbmNvZGU=" });
        assert_eq!(
            run("States.Base64Encode($.input)", &input),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run("States.Base64Decode($.base64)", &input),
            json!("Data to encode")
        );
        assert!(invalid("States.Base64Decode('***')").contains("not valid base64"));
        assert!(fails("States.Base64Decode('/w==')", &input).contains("not UTF-8"));
        let too_long = json!({ "text": "a".repeat(10_001) });
        assert!(
            fails("States.Base64Encode($.text)", &too_long).contains("at most 10000 characters")
        );
        assert!(
            fails("States.Base64Decode($.text)", &too_long).contains("at most 10000 characters")
        );
        assert!(invalid("States.Base64Encode(1)").contains("must be a string"));
    }

    #[test]
    fn hash_with_every_algorithm() {
        let input = json!({ "Data": "input data" });
        for (algorithm, digest) in [
            ("MD5", "812f45842bc6d66ee14572ce20db8e86"),
            ("SHA-1", "aaff4a450a104cd177d28d18d74485e8cae074b7"),
            (
                "SHA-256",
                "b4a697a057313163aee33cd8d40c66e9f0f177e00cac2de32475ffff6169c3e3",
            ),
        ] {
            let expression = format!("States.Hash($.Data, '{algorithm}')");
            assert_eq!(run(&expression, &input), json!(digest), "{algorithm}");
        }
        for (algorithm, hex_length) in [("SHA-384", 96), ("SHA-512", 128)] {
            let expression = format!("States.Hash('abc', '{algorithm}')");
            let digest = run(&expression, &input);
            let digest = digest.as_str().unwrap_or_default();
            assert_eq!(digest.len(), hex_length, "{algorithm}");
            assert!(
                digest
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        assert_eq!(
            run("States.Hash('abc', 'SHA-512')", &input),
            json!(
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            )
        );
        assert!(invalid("States.Hash($.Data, 'SHA-3')").contains("unsupported algorithm"));
        assert!(fails("States.Hash($.Data, $.Data)", &input).contains("unsupported algorithm"));
        assert!(fails("States.Hash($, 'MD5')", &input).contains("must be a string"));
    }

    #[test]
    fn json_merge_is_shallow_and_the_second_object_wins() {
        let input = json!({
            "json1": { "a": { "a1": 1, "a2": 2 }, "b": 2 },
            "json2": { "a": { "a3": 1, "a4": 2 }, "c": 3 }
        });
        assert_eq!(
            run("States.JsonMerge($.json1, $.json2, false)", &input),
            json!({ "a": { "a3": 1, "a4": 2 }, "b": 2, "c": 3 })
        );
        assert!(
            invalid("States.JsonMerge($.json1, $.json2, true)")
                .contains("deep merge is not supported")
        );
        assert!(invalid("States.JsonMerge($.json1, $.json2)").contains("exactly 3 arguments"));
        assert!(
            fails("States.JsonMerge($.json1, $.json2.a.a3, false)", &input)
                .contains("must be an object")
        );
    }

    #[test]
    fn math_random_stays_in_range_and_is_deterministic_with_a_seed() {
        for _ in 0..50 {
            let value = run("States.MathRandom(1, 5)", &json!({}));
            let number = value.as_i64().unwrap_or(-1);
            assert!((1..5).contains(&number), "{number}");
        }
        let seeded = run("States.MathRandom(1, 1000, 7)", &json!({}));
        assert_eq!(run("States.MathRandom(1, 1000, 7)", &json!({})), seeded);
        assert_eq!(
            run("States.MathRandom(3, 4)", &json!({})),
            json!(3),
            "end is exclusive"
        );
        assert!(invalid("States.MathRandom(5, 5)").contains("must be less than the end"));
        assert!(invalid("States.MathRandom(1, 5, 0.5)").contains("must be an integer"));
        assert!(invalid("States.MathRandom(1)").contains("2 to 3 arguments"));
    }

    #[test]
    fn math_add_rounds_and_checks_the_range() {
        let input = json!({ "value1": 111, "step": -1 });
        assert_eq!(run("States.MathAdd($.value1, $.step)", &input), json!(110));
        assert_eq!(run("States.MathAdd(1.5, 2.4)", &input), json!(4));
        assert_eq!(
            run("States.MathAdd(2147483647, 2147483647)", &input),
            json!(4294967294_i64)
        );
        assert!(
            invalid("States.MathAdd(2147483648, 1)").contains("between -2147483648 and 2147483647")
        );
        assert!(invalid("States.MathAdd('1', 1)").contains("must be a number"));
        assert!(fails("States.MathAdd($.value1, $.missing)", &input).contains("'$.missing'"));
    }

    #[test]
    fn string_split_on_any_delimiter_character_and_drops_empty_parts() {
        let input = json!({ "inputString": "1,2,3,4,5", "splitter": "," });
        assert_eq!(
            run("States.StringSplit($.inputString, $.splitter)", &input),
            json!(["1", "2", "3", "4", "5"])
        );
        assert_eq!(
            run(
                "States.StringSplit('This.is+a,test=string', '.+,=')",
                &input
            ),
            json!(["This", "is", "a", "test", "string"])
        );
        assert_eq!(
            run("States.StringSplit(',,a,,b,', ',')", &input),
            json!(["a", "b"])
        );
        assert!(invalid("States.StringSplit('a', 1)").contains("must be a string"));
    }

    #[test]
    fn uuid_is_a_fresh_version_4_uuid() {
        let first = run("States.UUID()", &json!({}));
        let second = run("States.UUID()", &json!({}));
        assert_ne!(first, second);
        let parsed = uuid::Uuid::parse_str(first.as_str().unwrap_or_default());
        assert_eq!(parsed.map(|id| id.get_version_num()), Ok(4));
        assert!(invalid("States.UUID(1)").contains("exactly 0 arguments"));
    }

    #[test]
    fn nested_calls_from_the_aws_guide() {
        // The guide's example has '{}.{}.{}' with two values, which its own rule (as many
        // values as placeholders) rejects; the nine nested calls are kept.
        let input = json!({ "ImageRecipe": { "Arn": "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/my-recipe/1.0.0" } });
        let expression = "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit(States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))";
        assert_eq!(run(expression, &input), json!("1.0"));
    }

    #[test]
    fn path_arguments_read_the_input_and_the_context_object() {
        let input = json!({ "orders": [{ "id": "a", "qty": 2 }, { "id": "b", "qty": 0 }], "odd, key": "k" });
        assert_eq!(
            run("States.Format('{}', $$.Execution.Id)", &input),
            json!("exec-1")
        );
        assert_eq!(
            run("States.ArrayLength($.orders[?(@.qty > 0)])", &input),
            json!(1)
        );
        assert_eq!(
            run("States.Format('{}', $['odd, key'])", &input),
            json!("k")
        );
        assert_eq!(run("States.ArrayLength( $.orders )", &input), json!(2));
    }

    #[test]
    fn syntax_and_static_errors_are_reported_at_load_time() {
        for (expression, expected) in [
            ("States.Nope()", "unknown intrinsic function 'States.Nope'"),
            ("States.Format", "expected '(' after States.Format"),
            ("States.Format('x'", "not closed"),
            ("States.Format('x)", "unterminated string literal"),
            (r"States.Format('\n')", "invalid escape"),
            ("States.Array(1 2)", "expected ',' or ')'"),
            ("States.Array(1,)", "expected a string, number"),
            ("States.Array(bogus)", "expected a string, number"),
            ("States.Array($.a[)", "invalid path"),
            ("States.Array(1) x", "unexpected 'x' after the call"),
            ("States.Array(1-)", "'1-' is not a number"),
            ("States.ArrayLength(States.UUID())", "must be an array"),
        ] {
            let message = invalid(expression);
            assert!(message.contains(expected), "{expression}: {message}");
        }
        let eleven_calls = format!("{}1{}", "States.Array(".repeat(11), ")".repeat(11));
        assert!(invalid(&eleven_calls).contains("more than 10"));
        let ten_calls = format!("{}1{}", "States.Array(".repeat(10), ")".repeat(10));
        assert_eq!(validate(&ten_calls), Ok(()));
    }

    #[test]
    fn runtime_syntax_errors_are_intrinsic_failures() {
        assert!(fails("States.Nope()", &json!({})).contains("unknown intrinsic function"));
    }
}
