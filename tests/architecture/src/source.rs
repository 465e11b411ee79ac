//! Reading one Rust source file for rule 10, without a Rust parser: comments and literals are
//! blanked, the rest is cut into identifiers, `::` and single punctuation characters, and a
//! scan over those tokens collects what the file declares (`mod x;`, item names) and the
//! paths it refers to (`use` trees; `crate::…`, `super::…`, `self::…` paths in code).
//! Whatever a `#[cfg(test)]` attribute guards is skipped.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// What one file says.
#[derive(Debug, Default)]
pub struct FileScan {
    /// `mod name;` declarations (outside `#[cfg(test)]`): the inline modules around the
    /// declaration, and the name.
    pub child_files: Vec<(Vec<String>, String)>,
    pub uses: Vec<UseDecl>,
    /// `crate::…`, `super::…` and `self::…` paths in code (outside `use` declarations).
    pub paths: Vec<PathRef>,
    /// Names of the items the file defines at its top level (`struct`, `fn`, `mod`, …).
    pub defines: BTreeSet<String>,
}

/// One path of a `use` declaration's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UseDecl {
    /// The inline modules around the declaration (empty at the file's top level).
    pub inline: Vec<String>,
    /// `pub use`, `pub(crate) use`, …
    pub public: bool,
    /// The path, `self` at the end removed (`a::{self}` is `a`).
    pub segments: Vec<String>,
    /// `a::*`
    pub glob: bool,
    /// `a::b as c`
    pub alias: Option<String>,
}

impl UseDecl {
    /// The name the declaration brings into scope (`None` for a glob or `as _`).
    pub fn name(&self) -> Option<&str> {
        if self.glob {
            return None;
        }
        match self.alias.as_deref() {
            Some("_") => None,
            Some(alias) => Some(alias),
            None => self.segments.last().map(String::as_str),
        }
    }
}

/// A qualified path in code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    pub inline: Vec<String>,
    pub segments: Vec<String>,
}

/// Keywords that introduce a named item.
const ITEM_KEYWORDS: &[&str] = &[
    "struct",
    "enum",
    "union",
    "fn",
    "trait",
    "type",
    "const",
    "static",
    "macro_rules",
];

/// Scans one file's text.
pub fn scan(text: &str) -> FileScan {
    Scanner {
        toks: tokenize(&blank_comments_and_literals(text)),
        out: FileScan::default(),
        inline: Vec::new(),
    }
    .run()
}

struct Scanner {
    toks: Vec<Tok>,
    out: FileScan,
    /// The inline modules (`mod name { … }`) the scan is in, each with the brace depth of
    /// its body.
    inline: Vec<(String, usize)>,
}

impl Scanner {
    fn ident(&self, at: usize) -> Option<&str> {
        match self.toks.get(at) {
            Some(Tok::Ident(name)) => Some(name),
            _ => None,
        }
    }

    fn is(&self, at: usize, tok: &Tok) -> bool {
        self.toks.get(at) == Some(tok)
    }

    fn inline_path(&self) -> Vec<String> {
        self.inline.iter().map(|(name, _)| name.clone()).collect()
    }

    fn run(mut self) -> FileScan {
        let mut depth = 0;
        let mut public = false;
        let mut i = 0;
        while i < self.toks.len() {
            let was_public = std::mem::take(&mut public);
            match &self.toks[i] {
                Tok::Punct('#') => {
                    let (end, cfg_test) = attribute(&self.toks, i);
                    i = if cfg_test {
                        skip_item(&self.toks, end)
                    } else {
                        end
                    };
                    public = was_public;
                    continue;
                }
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    if self.inline.last().is_some_and(|(_, d)| *d == depth) {
                        self.inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                Tok::Ident(word) => match word.as_str() {
                    "pub" => {
                        public = true;
                        i += 1;
                        if self.is(i, &Tok::Punct('(')) {
                            i = after_group(&self.toks, i);
                        }
                        continue;
                    }
                    "use" if !self.is(i + 1, &Tok::Punct('<')) => {
                        let end = (i..self.toks.len())
                            .find(|&j| self.is(j, &Tok::Punct(';')))
                            .unwrap_or(self.toks.len());
                        let mut paths = Vec::new();
                        let mut at = i + 1;
                        use_tree(&self.toks[..end], &mut at, Vec::new(), &mut paths);
                        let inline = self.inline_path();
                        for (mut segments, glob, alias) in paths {
                            if segments.len() > 1 && segments.last().is_some_and(|s| s == "self") {
                                segments.pop();
                            }
                            self.out.uses.push(UseDecl {
                                inline: inline.clone(),
                                public: was_public,
                                segments,
                                glob,
                                alias,
                            });
                        }
                        i = end + 1;
                        continue;
                    }
                    "mod" => {
                        if let Some(name) = self.ident(i + 1).map(str::to_string) {
                            if self.inline.is_empty() && depth == 0 {
                                self.out.defines.insert(name.clone());
                            }
                            if self.is(i + 2, &Tok::Punct(';')) {
                                self.out.child_files.push((self.inline_path(), name));
                                i += 3;
                                continue;
                            }
                            if self.is(i + 2, &Tok::Punct('{')) {
                                depth += 1;
                                self.inline.push((name, depth));
                                i += 3;
                                continue;
                            }
                        }
                    }
                    "crate" | "super" | "self"
                        if self.is(i + 1, &Tok::PathSep)
                            && !(i > 0
                                && (self.is(i - 1, &Tok::PathSep)
                                    || self.is(i - 1, &Tok::Punct('$')))) =>
                    {
                        let mut segments = vec![word.clone()];
                        i += 1;
                        while self.is(i, &Tok::PathSep) {
                            match self.ident(i + 1) {
                                Some(next) => segments.push(next.to_string()),
                                None => break,
                            }
                            i += 2;
                        }
                        let inline = self.inline_path();
                        self.out.paths.push(PathRef { inline, segments });
                        continue;
                    }
                    keyword
                        if ITEM_KEYWORDS.contains(&keyword)
                            && depth == 0
                            && !(i > 0 && self.is(i - 1, &Tok::Punct('\''))) =>
                    {
                        let mut at = i + 1;
                        if self.is(at, &Tok::Punct('!')) {
                            at += 1;
                        }
                        if let Some(name) = self.ident(at)
                            && !ITEM_KEYWORDS.contains(&name)
                        {
                            self.out.defines.insert(name.to_string());
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
            i += 1;
        }
        self.out
    }
}

/// Reads the `use` tree at `toks[*at..]` under `prefix`: each path, whether it ends in `*`,
/// and its `as` name.
type UsePath = (Vec<String>, bool, Option<String>);

fn use_tree(toks: &[Tok], at: &mut usize, prefix: Vec<String>, out: &mut Vec<UsePath>) {
    let mut segments = prefix;
    while let Some(tok) = toks.get(*at) {
        *at += 1;
        match tok {
            Tok::PathSep => {}
            Tok::Ident(name) => {
                segments.push(name.clone());
                if toks.get(*at) == Some(&Tok::PathSep) {
                    continue;
                }
                let mut alias = None;
                if toks.get(*at) == Some(&Tok::Ident("as".into())) {
                    alias = match toks.get(*at + 1) {
                        Some(Tok::Ident(alias)) => Some(alias.clone()),
                        _ => Some("_".into()),
                    };
                    *at += 2;
                }
                out.push((segments, false, alias));
                return;
            }
            Tok::Punct('*') => {
                out.push((segments, true, None));
                return;
            }
            Tok::Punct('{') => loop {
                match toks.get(*at) {
                    None => return,
                    Some(Tok::Punct('}')) => {
                        *at += 1;
                        return;
                    }
                    Some(Tok::Punct(',')) => *at += 1,
                    Some(_) => {
                        let before = *at;
                        use_tree(toks, at, segments.clone(), out);
                        if *at == before {
                            *at += 1;
                        }
                    }
                }
            },
            _ => return,
        }
    }
}

/// The attribute starting at `toks[start]` (`#[…]` or `#![…]`): the index after it, and
/// whether it is `#[cfg(test)]`.
fn attribute(toks: &[Tok], start: usize) -> (usize, bool) {
    let mut open = start + 1;
    if toks.get(open) == Some(&Tok::Punct('!')) {
        open += 1;
    }
    if toks.get(open) != Some(&Tok::Punct('[')) {
        return (start + 1, false);
    }
    let end = after_group(toks, open);
    let cfg_test = [
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
    ];
    (end, toks.get(open + 1..end - 1) == Some(&cfg_test[..]))
}

/// The index after the item starting at `toks[start]` (its attributes, visibility, and up to
/// its `;` or its block's `}`).
fn skip_item(toks: &[Tok], start: usize) -> usize {
    let mut i = start;
    while toks.get(i) == Some(&Tok::Punct('#')) {
        i = attribute(toks, i).0;
    }
    let mut after_visibility = i;
    if toks.get(i) == Some(&Tok::Ident("pub".into())) {
        after_visibility = i + 1;
        if toks.get(after_visibility) == Some(&Tok::Punct('(')) {
            after_visibility = after_group(toks, after_visibility);
        }
    }
    let is_use = toks.get(after_visibility) == Some(&Tok::Ident("use".into()));
    let mut depth = 0usize;
    while let Some(tok) = toks.get(i) {
        match tok {
            Tok::Punct('{') if depth == 0 && !is_use => return after_group(toks, i),
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
            }
            Tok::Punct(';') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// The index after the bracket group opening at `toks[open]`.
fn after_group(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, tok) in toks.iter().enumerate().skip(open) {
        match tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// `text` with comments, strings and character literals replaced by spaces (line breaks
/// kept), so that neither braces nor paths inside them count.
/// Whether `code` names `word` as a whole: a word that starts with an identifier character
/// is not the end of a longer identifier (`async` is not in `is_async`), and one that ends
/// with a letter or digit is not the start of one (`async` is not in `asynchronous`). A word
/// ending in `_`, `:` or other punctuation is a prefix (`aws_` names `aws_sdk_s3`, `.store`
/// names `.store.as_ref()`).
pub fn names_word(code: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        let starts_clean = !word.starts_with(ident) || !before.is_some_and(ident);
        let ends_clean = !word.ends_with(char::is_alphanumeric) || !after.is_some_and(ident);
        starts_clean && ends_clean
    })
}

/// Source files from `(path, text)` pairs, as the checks read them: the rules' tests' inputs.
#[cfg(test)]
pub fn files(list: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The lines of `text`'s code, comments and literals blanked, each with its number (from 1),
/// up to an inline test module (`#[cfg(test)]` followed by a line with `{`); a
/// `#[cfg(test)] mod tests;` declaration does not end the code.
pub fn code_lines_outside_tests(text: &str) -> Vec<(usize, String)> {
    let code = blank_comments_and_literals(text);
    let lines: Vec<&str> = code.lines().collect();
    let mut outside = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        let next = lines.get(number + 1).copied().unwrap_or_default();
        if line.trim_start().starts_with("#[cfg(test)]") && next.contains('{') {
            break;
        }
        outside.push((number + 1, line.to_string()));
    }
    outside
}

pub fn blank_comments_and_literals(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, from: &[char]| {
        out.extend(from.iter().map(|&c| if c == '\n' { '\n' } else { ' ' }));
    };
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        // Whether `c` continues an identifier (the `b` of `br"…"` starts none).
        let prev_ident = i > 0
            && is_ident(chars[i - 1])
            && !(chars[i - 1] == 'b' && (i < 2 || !is_ident(chars[i - 2])));
        let end = if c == '/' && next == Some('/') {
            (i..chars.len())
                .find(|&j| chars[j] == '\n')
                .unwrap_or(chars.len())
        } else if c == '/' && next == Some('*') {
            let (mut j, mut nesting) = (i + 2, 1);
            while j < chars.len() && nesting > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    nesting += 1;
                    j += 1;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    nesting -= 1;
                    j += 1;
                }
                j += 1;
            }
            j
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            j + 1
        } else if c == 'r' && !prev_ident && raw_string_hashes(&chars, i + 1).is_some() {
            let hashes = raw_string_hashes(&chars, i + 1).unwrap_or(0);
            let body = i + 2 + hashes;
            let closing: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            (body..chars.len())
                .find(|&j| chars[j..].starts_with(&closing))
                .map_or(chars.len(), |j| j + closing.len())
        } else if c == '\'' && next == Some('\\') {
            (i + 3..chars.len())
                .find(|&j| chars[j] == '\'')
                .map_or(chars.len(), |j| j + 1)
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i + 3
        } else {
            out.push(c);
            i += 1;
            continue;
        };
        let end = end.min(chars.len());
        blank(&mut out, &chars[i..end]);
        i = end;
    }
    out
}

/// For a raw string whose `r` is just before `chars[at]`: the number of `#` before its `"`.
fn raw_string_hashes(chars: &[char], at: usize) -> Option<usize> {
    let hashes = chars[at.min(chars.len())..]
        .iter()
        .take_while(|&&c| c == '#')
        .count();
    (chars.get(at + hashes) == Some(&'"')).then_some(hashes)
}

/// Cuts blanked text into tokens. `r#name` is the identifier `name`.
pub fn tokenize(text: &str) -> Vec<Tok> {
    let chars: Vec<char> = text.chars().collect();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if is_ident(c) {
            let mut start = i;
            if c == 'r'
                && chars.get(i + 1) == Some(&'#')
                && chars.get(i + 2).is_some_and(|&c| is_ident(c))
            {
                start = i + 2;
            }
            let mut end = start;
            while end < chars.len() && is_ident(chars[end]) {
                end += 1;
            }
            toks.push(Tok::Ident(chars[start..end].iter().collect()));
            i = end;
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            toks.push(Tok::PathSep);
            i += 2;
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(scan: &FileScan) -> Vec<String> {
        scan.uses
            .iter()
            .map(|u| {
                let mut s = u.segments.join("::");
                if u.glob {
                    s.push_str("::*");
                }
                if let Some(alias) = &u.alias {
                    s.push_str(&format!(" as {alias}"));
                }
                if u.public {
                    s.insert_str(0, "pub ");
                }
                s
            })
            .collect()
    }

    fn paths(scan: &FileScan) -> Vec<String> {
        scan.paths.iter().map(|p| p.segments.join("::")).collect()
    }

    #[test]
    fn blanks_comments_and_literals() {
        let text = "a /* { } /* nested */ crate::x */ b // crate::y {\n\
                    \"crate::z { \\\" }\" r#\"crate::w \"# '{' '\\'' 'a c";
        let blanked = blank_comments_and_literals(text);
        assert!(!blanked.contains("crate"), "{blanked}");
        assert!(!blanked.contains('{'), "{blanked}");
        assert_eq!(blanked.lines().count(), 2);
        assert!(blanked.ends_with("'a c"), "{blanked}");
    }

    #[test]
    fn reads_use_trees_over_several_lines() {
        let scan = scan(
            "use std::fmt;\n\
             pub use self::inner::{A, b::{C as D, self}, *};\n\
             pub(crate) use super::{\n    x,\n    y::Z,\n};\n\
             use crate::onboarding::{self, clients};\n",
        );
        assert_eq!(
            uses(&scan),
            vec![
                "std::fmt",
                "pub self::inner::A",
                "pub self::inner::b::C as D",
                "pub self::inner::b",
                "pub self::inner::*",
                "pub super::x",
                "pub super::y::Z",
                "crate::onboarding",
                "crate::onboarding::clients",
            ]
        );
    }

    #[test]
    fn reads_qualified_paths_but_not_macro_or_nested_ones() {
        let scan = scan(
            "pub(crate) fn f() -> crate::a::B { super::c::d(); self::e::<u8>(); $crate::m::n; \
             x::crate::y; let s = \"crate::q\"; }",
        );
        assert_eq!(paths(&scan), vec!["crate::a::B", "super::c::d", "self::e"]);
    }

    #[test]
    fn skips_what_cfg_test_guards() {
        let scan = scan(
            "#[cfg(test)]\nmod tests;\n\
             #[cfg(test)]\n#[allow(unused)]\nmod more {\n    use crate::x;\n    fn f() { crate::y::z(); }\n}\n\
             #[cfg(test)]\nuse crate::only_in_tests::{A, B};\n\
             mod kept;\n\
             pub fn g() { crate::z::w(); }\n",
        );
        assert_eq!(
            scan.child_files,
            vec![(Vec::<String>::new(), "kept".to_string())]
        );
        assert_eq!(uses(&scan), Vec::<String>::new());
        assert_eq!(paths(&scan), vec!["crate::z::w"]);
    }

    #[test]
    fn records_top_level_definitions_and_inline_modules() {
        let scan = scan(
            "pub struct A; pub(crate) enum B {} const fn c() {} impl A { pub fn not_top() {} }\n\
             static S: &'static str = \"\"; macro_rules! m { () => {} }\n\
             mod inner { use super::A; mod deeper; }\n",
        );
        let defines: Vec<&str> = scan.defines.iter().map(String::as_str).collect();
        assert_eq!(defines, vec!["A", "B", "S", "c", "inner", "m"]);
        assert_eq!(scan.uses[0].inline, vec!["inner"]);
        assert_eq!(
            scan.child_files,
            vec![(vec!["inner".to_string()], "deeper".to_string())]
        );
    }
}
