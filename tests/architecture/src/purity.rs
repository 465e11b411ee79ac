//! Rule 11: a context's model is pure. The files of a context's `model` module (`src/model.rs`,
//! `src/model/…`, or `src/<part>/model.rs`, `src/<part>/model/…`) name no I/O: no async code, no
//! runtime, no storage port, no AWS, HTTP or file and network APIs. Its words are read after
//! comments and literals are blanked, so a doc comment that mentions them is fine.

use std::collections::BTreeMap;

use crate::source::{blank_comments_and_literals, names_word};

/// What a pure model must not name, each with why.
const IMPURE: &[(&str, &str)] = &[
    ("async", "async code"),
    ("await", "async code"),
    ("tokio", "the async runtime"),
    ("async_trait", "an async port"),
    ("brokeros_store", "the storage port"),
    ("brokeros_kernel::changeset", "storage (changesets)"),
    (
        "brokeros_kernel::idempotency",
        "storage (idempotent execution)",
    ),
    ("std::fs", "files"),
    ("std::net", "the network"),
    ("axum", "HTTP"),
    ("http::", "HTTP"),
    ("aws_", "AWS"),
    ("lambda_", "Lambda"),
    ("rusqlite", "SQLite"),
];

/// Whether `file` (relative to its crate, `src/…`) belongs to a model module.
pub fn is_model_file(file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    parts
        .iter()
        .enumerate()
        .any(|(i, part)| i > 0 && (*part == "model" && i + 1 < parts.len() || *part == "model.rs"))
}

/// Every impure word of every model file: `(file, word, why)`.
pub fn impurities(files: &BTreeMap<String, String>) -> Vec<(String, &'static str, &'static str)> {
    let mut found = Vec::new();
    for (file, text) in files {
        if !is_model_file(file) {
            continue;
        }
        let code = blank_comments_and_literals(text);
        for (word, why) in IMPURE {
            if names_word(&code, word) {
                found.push((file.clone(), *word, *why));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::files;

    #[test]
    fn model_files_are_recognized_by_their_module() {
        for model in [
            "src/model.rs",
            "src/model/mod.rs",
            "src/model/routing/decision.rs",
            "src/deposits/model.rs",
            "src/kyc/model/names.rs",
        ] {
            assert!(is_model_file(model), "{model}");
        }
        for other in [
            "src/lib.rs",
            "src/models.rs",
            "src/remodel.rs",
            "src/tasks.rs",
        ] {
            assert!(!is_model_file(other), "{other}");
        }
    }

    #[test]
    fn io_in_a_model_is_found_and_comments_do_not_count() {
        let found = impurities(&files(&[
            (
                "src/model.rs",
                "pub async fn f() { tokio::time::sleep(d).await; }\n",
            ),
            ("src/model/a.rs", "use brokeros_store::Store;\n"),
            ("src/lib.rs", "pub async fn use_case() {}\n"),
            (
                "src/model/b.rs",
                "//! no tokio, no async here\npub fn asynchronous() {}\n",
            ),
        ]));
        let words: Vec<(&str, &str)> = found.iter().map(|(f, w, _)| (f.as_str(), *w)).collect();
        assert!(words.contains(&("src/model.rs", "async")));
        assert!(words.contains(&("src/model.rs", "tokio")));
        assert!(words.contains(&("src/model/a.rs", "brokeros_store")));
        assert!(
            !words
                .iter()
                .any(|(f, _)| *f == "src/lib.rs" || *f == "src/model/b.rs")
        );
    }
}
