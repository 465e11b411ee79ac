//! Rule 12: a context touches the store only in its repositories. Outside the files of a
//! `repo` module (`src/repo.rs`, `src/repo/…`, or `src/<part>/repo.rs`, `src/<part>/repo/…`)
//! and `keys.rs`, a context's code builds no store item or write, runs no query or
//! transaction, and does not reach for the store port: its use cases read and write entities
//! through the kernel's generic repository (`Core::find`, `get`, `commit`) and everything
//! else through the context's repository functions. Tests (`tests.rs`, `tests/…`, and what
//! follows `#[cfg(test)]`) are free to arrange the store as they need.

use std::collections::BTreeMap;

use crate::source::{code_lines_outside_tests, names_word};

/// What only a repository may name, each with why.
const STORE_ACCESS: &[(&str, &str)] = &[
    ("Item::new", "builds a store item"),
    ("WriteOp::", "builds a store write"),
    ("Query::new", "builds a store query"),
    (STORE_PORT, "reaches for the store port"),
    (".transact(", "runs a store transaction"),
    (".query(", "runs a store query"),
];

/// The store port as a field (`core.store.query(…)`, `&services.store`).
const STORE_PORT: &str = ".store";

/// Whether `line` names [`STORE_PORT`] as the field, not a method that happens to share its
/// name (`flag.store(true, Ordering::SeqCst)` on an atomic touches no store).
fn names_the_store_port(line: &str) -> bool {
    line.match_indices(STORE_PORT).any(|(at, _)| {
        let next = line[at + STORE_PORT.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '(')
    })
}

/// Whether `file` (relative to its crate, `src/…`) may touch the store.
pub fn may_touch_the_store(file: &str) -> bool {
    let parts: Vec<&str> = file.split('/').collect();
    let last = parts.len() - 1;
    parts.iter().enumerate().any(|(i, part)| {
        i > 0
            && match *part {
                "repo" | "tests" => i < last,
                "repo.rs" | "keys.rs" | "tests.rs" => i == last,
                _ => false,
            }
    })
}

/// Every store access outside a repository: `(file, line, word, why)`.
pub fn store_access_outside_repositories(
    files: &BTreeMap<String, String>,
) -> Vec<(String, usize, &'static str, &'static str)> {
    let mut found = Vec::new();
    for (file, text) in files {
        if may_touch_the_store(file) {
            continue;
        }
        for (number, line) in code_lines_outside_tests(text) {
            for (word, why) in STORE_ACCESS {
                let named = if *word == STORE_PORT {
                    names_the_store_port(&line)
                } else {
                    names_word(&line, word)
                };
                if named {
                    found.push((file.clone(), number, *word, *why));
                }
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
    fn repositories_keys_and_tests_are_recognized_by_their_module() {
        for allowed in [
            "src/repo.rs",
            "src/repo/mod.rs",
            "src/deposits/repo.rs",
            "src/routing/repo/stats.rs",
            "src/keys.rs",
            "src/tests.rs",
            "src/process/tests.rs",
            "src/tests/helpers.rs",
        ] {
            assert!(may_touch_the_store(allowed), "{allowed}");
        }
        for other in [
            "src/lib.rs",
            "src/repos.rs",
            "src/repository_policy.rs",
            "src/deposits/mod.rs",
            "src/tests_support.rs",
        ] {
            assert!(!may_touch_the_store(other), "{other}");
        }
    }

    #[test]
    fn store_access_in_a_use_case_is_found_and_comments_tests_and_names_do_not_count() {
        let found = store_access_outside_repositories(&files(&[
            (
                "src/lib.rs",
                "pub async fn f(s: &S) {\n    let p = s.store.query(q).await;\n    \
                 ops.push(WriteOp::Put { item: Item::new(k, 1, d) });\n}\n\
                 #[cfg(test)]\nmod tests { fn t() { s.store.transact(v); } }\n",
            ),
            (
                "src/repo.rs",
                "pub fn put() -> WriteOp { WriteOp::Delete }\n",
            ),
            (
                "src/ledger.rs",
                "#[cfg(test)]\nmod tests;\nfn f() { s.store.transact(v); }\n",
            ),
            (
                "src/clients.rs",
                "//! never `services.store` here\nfn restore() { x.restore(); y.store_id; }\n\
                 fn flag(f: &AtomicBool) { f.store(true, Ordering::SeqCst); }\n\
                 fn port(s: &S) -> Arc<dyn Store> { Arc::clone(&s.store) }\n",
            ),
        ]));
        let words: Vec<(&str, usize, &str)> = found
            .iter()
            .map(|(f, l, w, _)| (f.as_str(), *l, *w))
            .collect();
        assert_eq!(
            words,
            vec![
                ("src/clients.rs", 4, ".store"),
                ("src/ledger.rs", 3, ".store"),
                ("src/ledger.rs", 3, ".transact("),
                ("src/lib.rs", 2, ".store"),
                ("src/lib.rs", 2, ".query("),
                ("src/lib.rs", 3, "Item::new"),
                ("src/lib.rs", 3, "WriteOp::"),
            ]
        );
    }
}
