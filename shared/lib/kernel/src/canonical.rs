//! Canonical JSON and SHA-256 digests of it: the one way Broker OS hashes structured data
//! (audit events, idempotent request bodies), so the same value always gives the same digest.
//!
//! The canonical form is serde_json's compact output of a `Value` (object keys sorted by their
//! bytes at every level, no whitespace, serde_json's escapes and number formatting). There is
//! one canonicalization, [`to_canonical_json`]; [`scan_object`] only *recognizes* text that is
//! already in that form, so that a verifier can hash a stored or exported line as it is,
//! without parsing it into a tree and printing it again, and falls back to
//! [`to_canonical_json`] for anything it does not recognize.

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

/// A member of a scanned top-level object: byte ranges in the text of its key (between the
/// quotes, as written) and of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Where the member starts (its key's opening quote).
    pub start: usize,
    pub key: std::ops::Range<usize>,
    pub value: std::ops::Range<usize>,
}

/// How deep a scanned document may nest.
const MAX_DEPTH: usize = 64;

/// Scans one JSON object, filling `members` with its top-level members, and tells whether the
/// text is exactly its own canonical form (then the text *is* what [`to_canonical_json`] would
/// print). Errors on anything that is not a single JSON object, and on a duplicate key at any
/// level (JSON readers disagree on which one wins, so evidence must not contain one).
pub fn scan_object(text: &str, members: &mut Vec<Member>) -> Result<bool, String> {
    members.clear();
    if scan_canonical(text.as_bytes(), 0, members) == Some(text.len()) {
        return Ok(true);
    }
    scan_object_full(text, members)
}

/// [`scan_object`] without its fast path: the full scanner, which also recognizes every other
/// form of a JSON object (and says it is not canonical) and names every error.
fn scan_object_full(text: &str, members: &mut Vec<Member>) -> Result<bool, String> {
    members.clear();
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        text,
        at: 0,
        canonical: true,
    };
    scanner.skip_ws();
    if scanner.peek() != Some(b'{') {
        return Err("not a JSON object".into());
    }
    scanner.object(0, Some(members))?;
    scanner.skip_ws();
    if scanner.at != scanner.bytes.len() {
        return Err(format!("unexpected text at byte {}", scanner.at));
    }
    Ok(scanner.canonical)
}

/// How deep [`scan_canonical`] follows a document before leaving it to [`Scanner`].
const FAST_DEPTH: usize = 32;

/// The fast path of [`scan_object`], for the text it sees almost always: a single object
/// already in canonical form (no whitespace, keys strictly increasing at every level, no
/// escaped key, no `\u` or `\/` escape, integers only). One pass over the bytes, no recursion,
/// no values built. Returns `true` only when the text is all of that, with `members` filled
/// exactly as [`Scanner`] fills them; on anything else (including every error) it returns
/// `false` and the full scanner decides, so the answer never differs from the full
/// scanner's: only its speed does.
///
/// Reads the object that starts at `start` (whatever follows it) and returns where it ends;
/// [`scan_object`] then checks that nothing follows. The members' ranges are in `bytes`.
pub(crate) fn scan_canonical(
    bytes: &[u8],
    start: usize,
    members: &mut Vec<Member>,
) -> Option<usize> {
    members.clear();
    // Per open container: whether it is an object, and the range of its last key.
    let mut objects = [false; FAST_DEPTH];
    let mut last_key = [(0usize, 0usize); FAST_DEPTH];
    if bytes.get(start) != Some(&b'{') {
        return None;
    }
    let mut depth = 1;
    objects[0] = true;
    let mut key_start = 0usize; // of the current top-level member (its key's quote)
    let mut key = (0usize, 0usize);
    let mut value_start = 0usize;
    let mut at = start + 1;
    // Just after '{': an empty object, or its first key.
    if bytes.get(at) == Some(&b'}') {
        return Some(at + 1);
    }
    let mut first_key = true;
    'key: loop {
        // A key, in an object at `depth`.
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let start = at;
        let (end, escaped) = string_end(bytes, at + 1)?;
        if escaped {
            return None;
        }
        let this = (at + 1, end);
        if !first_key {
            let (ps, pe) = last_key[depth - 1];
            if !key_before(&bytes[ps..pe], &bytes[this.0..this.1]) {
                return None;
            }
        }
        last_key[depth - 1] = this;
        at = end + 1;
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        at += 1;
        if depth == 1 {
            key_start = start;
            key = this;
            value_start = at;
        }
        'value: loop {
            // A value.
            match bytes.get(at) {
                Some(b'"') => match string_end(bytes, at + 1) {
                    Some((end, _)) => at = end + 1,
                    None => return None,
                },
                Some(b'{') => {
                    if depth == FAST_DEPTH {
                        return None;
                    }
                    at += 1;
                    if bytes.get(at) == Some(&b'}') {
                        at += 1;
                    } else {
                        objects[depth] = true;
                        depth += 1;
                        first_key = true;
                        continue 'key;
                    }
                }
                Some(b'[') => {
                    if depth == FAST_DEPTH {
                        return None;
                    }
                    at += 1;
                    if bytes.get(at) == Some(&b']') {
                        at += 1;
                    } else {
                        objects[depth] = false;
                        depth += 1;
                        continue 'value;
                    }
                }
                Some(b't') if bytes[at..].starts_with(b"true") => at += 4,
                Some(b'f') if bytes[at..].starts_with(b"false") => at += 5,
                Some(b'n') if bytes[at..].starts_with(b"null") => at += 4,
                Some(b'-' | b'0'..=b'9') => {
                    // Only what the full scanner calls plain: an integer of at most 18
                    // digits, no leading zero, not "-0".
                    let negative = bytes[at] == b'-';
                    let digits = at + usize::from(negative);
                    let mut end = digits;
                    while let Some(b'0'..=b'9') = bytes.get(end) {
                        end += 1;
                    }
                    let n = end - digits;
                    if n == 0
                        || n > 18
                        || (bytes[digits] == b'0' && (n > 1 || negative))
                        || matches!(bytes.get(end), Some(b'.' | b'e' | b'E' | b'+' | b'-'))
                    {
                        return None;
                    }
                    at = end;
                }
                _ => return None,
            }
            // After a value: close containers, or go on with the next member or element.
            loop {
                if depth == 1 {
                    members.push(Member {
                        start: key_start,
                        key: key.0..key.1,
                        value: value_start..at,
                    });
                }
                match (bytes.get(at), objects[depth - 1]) {
                    (Some(b','), true) => {
                        at += 1;
                        first_key = false;
                        continue 'key;
                    }
                    (Some(b','), false) => {
                        at += 1;
                        continue 'value;
                    }
                    (Some(b'}'), true) | (Some(b']'), false) => {
                        at += 1;
                        depth -= 1;
                        if depth == 0 {
                            return Some(at);
                        }
                    }
                    _ => return None,
                }
            }
        }
    }
}

/// Whether key `a` sorts strictly before key `b` (bytewise): keys are short and differ early,
/// where a loop beats a call to `memcmp`.
#[inline]
fn key_before(a: &[u8], b: &[u8]) -> bool {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// From just after a string's opening quote: the index of its closing quote and whether it
/// has escapes, or `None` for what the fast path leaves to the full scanner (a control
/// character, a `\u` or `\/` escape, an invalid escape, no closing quote). Scans 8 bytes at a
/// time (SWAR): the lowest flagged byte of each test below is exact.
#[inline]
fn string_end(bytes: &[u8], mut at: usize) -> Option<(usize, bool)> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut escaped = false;
    loop {
        while let Some(chunk) = bytes.get(at..at + 8) {
            let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let q = x ^ (ONES * u64::from(b'"'));
            let b = x ^ (ONES * u64::from(b'\\'));
            let special = (q.wrapping_sub(ONES) & !q)
                | (b.wrapping_sub(ONES) & !b)
                | (x.wrapping_sub(ONES * 0x20) & !x);
            let special = special & HIGH;
            if special != 0 {
                at += (special.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        match *bytes.get(at)? {
            b'"' => return Some((at, escaped)),
            b'\\' => match bytes.get(at + 1)? {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    escaped = true;
                    at += 2;
                }
                _ => return None,
            },
            0x00..=0x1f => return None,
            _ => at += 1,
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    canonical: bool,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
            self.canonical = false;
        }
    }

    fn value(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(depth + 1, None),
            Some(b'[') => {
                self.at += 1;
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(());
                }
                loop {
                    self.value(depth + 1)?;
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(());
                        }
                        _ => return Err(format!("expected ',' or ']' at byte {}", self.at)),
                    }
                }
            }
            Some(b'"') => self.string().map(|_| ()),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("expected a value at byte {}", self.at)),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(())
        } else {
            Err(format!("invalid literal at byte {}", self.at))
        }
    }

    /// An object; `members` collects the top level's.
    fn object(
        &mut self,
        depth: usize,
        mut members: Option<&mut Vec<Member>>,
    ) -> Result<(), String> {
        self.at += 1; // '{'
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        // Keys seen, kept only once they stop arriving in order (then duplicates can hide).
        let mut previous: Option<std::ops::Range<usize>> = None;
        let mut unordered: Vec<std::ops::Range<usize>> = Vec::new();
        loop {
            self.skip_ws();
            let start = self.at;
            if self.peek() != Some(b'"') {
                return Err(format!("expected a key at byte {}", self.at));
            }
            let (key, escaped) = self.string()?;
            if escaped {
                // Escaped keys sort by what they denote, not by how they are written.
                self.canonical = false;
            }
            let duplicate = || format!("duplicate key \"{}\"", &self.text[key.clone()]);
            if let Some(prev) = &previous {
                let (a, b) = (&self.bytes[prev.clone()], &self.bytes[key.clone()]);
                if a == b {
                    return Err(duplicate());
                }
                if a > b || !unordered.is_empty() {
                    self.canonical = false;
                    if unordered.is_empty() {
                        unordered = match members.as_deref() {
                            Some(m) => m.iter().map(|m| m.key.clone()).collect(),
                            None => vec![prev.clone()],
                        };
                    }
                    if unordered.iter().any(|k| &self.bytes[k.clone()] == b) {
                        return Err(duplicate());
                    }
                }
            }
            if !unordered.is_empty() {
                unordered.push(key.clone());
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(format!("expected ':' at byte {}", self.at));
            }
            self.at += 1;
            self.skip_ws();
            let value_start = self.at;
            self.value(depth)?;
            if let Some(m) = members.as_deref_mut() {
                m.push(Member {
                    start,
                    key: key.clone(),
                    value: value_start..self.at,
                });
            }
            previous = Some(key);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(format!("expected ',' or '}}' at byte {}", self.at)),
            }
        }
    }

    /// A string; returns the range of its content and whether it has escapes.
    fn string(&mut self) -> Result<(std::ops::Range<usize>, bool), String> {
        self.at += 1; // '"'
        let start = self.at;
        let mut escaped = false;
        loop {
            self.skip_plain_string_bytes();
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("unterminated string".into());
            };
            match byte {
                b'"' => {
                    self.at += 1;
                    return Ok((start..self.at - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    let Some(&next) = self.bytes.get(self.at + 1) else {
                        return Err("unterminated string".into());
                    };
                    match next {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
                        b'/' => {
                            self.canonical = false;
                            self.at += 2;
                        }
                        b'u' => {
                            let hex = self
                                .text
                                .get(self.at + 2..self.at + 6)
                                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                                .ok_or_else(|| format!("invalid \\u escape at byte {}", self.at))?;
                            // serde_json writes \u00xx (lowercase) for the control characters
                            // that have no short escape, and no other \u escape.
                            let code = u32::from_str_radix(hex, 16).expect("hex digits");
                            let short = matches!(code, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
                            if code >= 0x20 || short || hex.bytes().any(|b| b.is_ascii_uppercase())
                            {
                                self.canonical = false;
                            }
                            self.at += 6;
                        }
                        _ => return Err(format!("invalid escape at byte {}", self.at)),
                    }
                }
                0x00..=0x1f => {
                    return Err(format!("control character in a string at byte {}", self.at));
                }
                _ => self.at += 1,
            }
        }
    }

    /// Skips string bytes 8 at a time while none of them is a quote, a backslash or a control
    /// character (SWAR: the classic "has a zero byte" / "has a byte less than n" tests, exact
    /// about whether one exists). Most of an audit line is string content.
    fn skip_plain_string_bytes(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        while let Some(chunk) = self.bytes.get(self.at..self.at + 8) {
            let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            let quote = has_zero(x ^ (ONES * u64::from(b'"')));
            let backslash = has_zero(x ^ (ONES * u64::from(b'\\')));
            let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
            if quote | backslash | control != 0 {
                return;
            }
            self.at += 8;
        }
    }

    fn number(&mut self) -> Result<(), String> {
        let start = self.at;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        let token = &self.text[start..self.at];
        let digits = token.strip_prefix('-').unwrap_or(token);
        let plain = !digits.is_empty()
            && digits.len() <= 18
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && token != "-0";
        if !plain {
            // Rare (amounts are strings): serde_json says how it prints this number.
            let number: serde_json::Number = serde_json::from_str(token)
                .map_err(|_| format!("invalid number at byte {start}"))?;
            if serde_json::to_string(&number).ok().as_deref() != Some(token) {
                self.canonical = false;
            }
        }
        Ok(())
    }
}

/// SHA-256 of the canonical form of a JSON object given as text, without its top-level member
/// `skip` (an event's own `hash`). `members` and `canonical` are [`scan_object`]'s result for
/// `text`: when the text is canonical the digest is taken over the text itself, around the
/// skipped member; otherwise the text is parsed and printed by [`to_canonical_json`].
pub fn object_digest_without(
    text: &str,
    members: &[Member],
    canonical: bool,
    skip: &str,
) -> Result<[u8; 32], String> {
    let mut hasher = Sha256::new();
    if !canonical {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if let Some(object) = value.as_object_mut() {
            object.remove(skip);
        }
        hasher.update(to_canonical_json(&value).as_bytes());
        return Ok(hasher.finalize().into());
    }
    let bytes = text.as_bytes();
    match digest_cut(text, members, skip) {
        None => hasher.update(bytes),
        Some(cut) => {
            hasher.update(&bytes[..cut.start]);
            hasher.update(&bytes[cut.end..]);
        }
    }
    Ok(hasher.finalize().into())
}

/// What [`object_digest_without`] leaves out of a canonical text: the member `skip` with the
/// comma before it (or after it when it is the first) so the rest stays canonical; `None`
/// when there is no such member.
pub fn digest_cut(text: &str, members: &[Member], skip: &str) -> Option<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let index = members
        .iter()
        .position(|m| &bytes[m.key.clone()] == skip.as_bytes())?;
    let member = &members[index];
    Some(if index > 0 {
        members[index - 1].value.end..member.value.end
    } else if let Some(next) = members.get(1) {
        member.start..next.start
    } else {
        member.start..member.value.end
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::Strategy;
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

    fn without(text: &str, skip: &str) -> [u8; 32] {
        let mut members = Vec::new();
        let canonical = scan_object(text, &mut members).unwrap();
        object_digest_without(text, &members, canonical, skip).unwrap()
    }

    fn expected_without(text: &str, skip: &str) -> [u8; 32] {
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        v.as_object_mut().unwrap().remove(skip);
        Sha256::digest(to_canonical_json(&v).as_bytes()).into()
    }

    #[test]
    fn canonical_text_is_recognized_and_hashed_as_is() {
        let v = json!({"z": [1, {"b": "x\n\u{1}", "a": null}], "a": "é/", "hash": "h", "n": -12, "f": 1.5});
        let text = to_canonical_json(&v);
        let mut members = Vec::new();
        assert!(scan_object(&text, &mut members).unwrap());
        assert_eq!(members.len(), 5);
        for skip in ["a", "f", "hash", "z", "absent"] {
            assert_eq!(
                without(&text, skip),
                expected_without(&text, skip),
                "{skip}"
            );
        }
    }

    #[test]
    fn other_forms_of_the_same_object_fall_back_to_the_one_canonicalization() {
        for text in [
            r#"{"b":1,"a":2,"hash":"x"}"#,
            r#"{ "a": 2, "hash": "x" }"#,
            r#"{"a":"\u0041","hash":"x"}"#,
            r#"{"a":"\/","hash":"x"}"#,
            r#"{"a":1.50,"hash":"x"}"#,
            r#"{"a":1e2,"hash":"x"}"#,
        ] {
            let mut members = Vec::new();
            assert!(!scan_object(text, &mut members).unwrap(), "{text}");
            assert_eq!(
                without(text, "hash"),
                expected_without(text, "hash"),
                "{text}"
            );
        }
    }

    #[test]
    fn duplicate_keys_and_non_objects_are_refused() {
        let mut members = Vec::new();
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"b":1,"a":2,"b":3}"#,
            r#"{"x":{"b":1,"a":2,"b":3}}"#,
            r#"[1]"#,
            r#"{"a":1} x"#,
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(scan_object(text, &mut members).is_err(), "{text}");
        }
    }

    /// The fast path accepts only what the full scanner calls canonical, with the same
    /// members; and it does accept the canonical text of ordinary values.
    fn fast_path_agrees(text: &str) -> bool {
        let mut fast = Vec::new();
        let mut full = Vec::new();
        let accepted = scan_canonical(text.as_bytes(), 0, &mut fast) == Some(text.len());
        // Through `scan_object`, whichever path answers, into a vector already used.
        let mut used = fast.clone();
        used.push(Member {
            start: 0,
            key: 0..0,
            value: 0..0,
        });
        let answer = scan_object(text, &mut used);
        assert_eq!(answer, scan_object_full(text, &mut full), "{text}");
        if answer.is_ok() {
            assert_eq!(used, full, "{text}");
        }
        if accepted {
            assert_eq!(scan_object_full(text, &mut full), Ok(true), "{text}");
            assert_eq!(fast, full, "{text}");
        }
        accepted
    }

    #[test]
    fn the_fast_path_leaves_everything_unusual_to_the_full_scanner() {
        for text in [
            r#"{}"#,
            r#"{"a":{},"b":[],"c":[{}],"d":[[1,-2,0],{"x":"y\n\"\\\t"}],"e":true,"f":false,"g":null}"#,
        ] {
            assert!(fast_path_agrees(text), "{text}");
        }
        for text in [
            r#" {}"#,
            r#"{} "#,
            r#"{"a":1,"a":2}"#,
            r#"{"b":1,"a":2}"#,
            r#"{"x":{"b":1,"a":2}}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\u001f"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a\n":1}"#,
            r#"{"a":1.5}"#,
            r#"{"a":1e2}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":1234567890123456789}"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
            r#"{"a":1}{}"#,
            "{\"a\":\"\u{1}\"}",
            r#"{"a":"unterminated}"#,
            r#"{"a" :1}"#,
            r#"[1]"#,
            r#"{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        ] {
            assert!(!fast_path_agrees(text), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_fast_path_agrees_with_the_full_scanner_on_any_text(
            value in proptest::collection::btree_map("[a-c\\\\\"é]{0,3}", proptest::prop_oneof![
                (-999_999_999_999_999_999i64..=999_999_999_999_999_999).prop_map(|n| json!(n)),
                "[ -~\u{0}-\u{1f}é]{0,12}".prop_map(|s| json!(s)),
                (-1000i32..1000).prop_map(|n| json!(f64::from(n) / 8.0)),
                proptest::bool::ANY.prop_map(|b| json!([b, null, {"y": [b], "x": {}}, []])),
            ], 0..6),
            edits in proptest::collection::vec((proptest::num::usize::ANY, proptest::sample::select(
                b" \t\n{}[]:,\"\\/u0123456789.-+eEtfnaxy\x01".to_vec())), 0..3),
        ) {
            let value = serde_json::Value::Object(value.into_iter().collect());
            let text = to_canonical_json(&value);
            let object = value.as_object().unwrap();
            let plain = !text.contains("\\u")
                && !object.keys().any(|k| k.contains(['\\', '"']))
                && !object.values().any(serde_json::Value::is_f64);
            proptest::prop_assert_eq!(fast_path_agrees(&text), plain, "{}", text);
            let mut bytes = text.into_bytes();
            for (at, byte) in edits {
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    if bytes[at].is_ascii() {
                        bytes[at] = byte;
                    }
                }
            }
            if let Ok(edited) = String::from_utf8(bytes) {
                fast_path_agrees(&edited);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_value_printed_canonically_is_recognized_and_hashed_alike(
            entries in proptest::collection::btree_map("[a-z\\\\\"\u{1}é]{0,4}", proptest::prop_oneof![
                proptest::num::i64::ANY.prop_map(|n| json!(n)),
                "[ -~\u{0}-\u{1f}é]{0,8}".prop_map(|s| json!(s)),
                // Floats that survive serde_json's parser (it rounds some without `float_roundtrip`;
                // audit events carry amounts as strings).
                (-100_000i32..100_000).prop_map(|n| json!(f64::from(n) / 64.0)),
                proptest::bool::ANY.prop_map(|b| json!([b, null, {"y": b, "x": 1}])),
            ], 0..6)
        ) {
            let value = serde_json::Value::Object(entries.into_iter().collect());
            let text = to_canonical_json(&value);
            let mut members = Vec::new();
            let canonical = scan_object(&text, &mut members).unwrap();
            let keys_escaped = value.as_object().unwrap().keys().any(|k| k.contains(['\\', '"', '\u{1}']));
            proptest::prop_assert!(canonical || keys_escaped, "{}", text);
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            for key in value.as_object().unwrap().keys().map(String::as_str).chain(["none"]) {
                proptest::prop_assert_eq!(without(&text, key), expected_without(&text, key));
                proptest::prop_assert_eq!(without(&pretty, key), expected_without(&text, key));
            }
        }
    }
}
