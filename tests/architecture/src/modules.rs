//! Rule 10: no module import cycles within a crate.
//!
//! The graph's nodes are the crate's module files, found from each crate root (`src/lib.rs`,
//! `src/main.rs`, `src/bin/*.rs`) through its `mod x;` declarations (so `#[cfg(test)] mod
//! tests;` files are not in it). File A points to file B when A's code names an item of B
//! through a `use` path or a `crate::`/`super::`/`self::` path. A path resolves to the
//! deepest module that has a file (`crate::a::b::Item` → `src/a/b.rs`, else `src/a.rs`); an
//! item named through a facade that does not define it but re-exports it (`pub use`,
//! explicitly or by a glob of a module that defines it) resolves to where it comes from.
//!
//! Not edges: `mod x;` declarations, a facade's own `pub use`/`pub(crate) use` re-exports,
//! paths in `#[cfg(test)]` items, and paths through which no file of the crate is named
//! (other crates, paths relative to a non-module name).
//!
//! A facade is a crate root, a `mod.rs`, or any file that declares a file module.

use std::collections::{BTreeMap, BTreeSet};

use crate::graph::{self, Graph};
use crate::source::{self, FileScan, UseDecl};

/// A module import cycle: a set of files each of which reaches every other through imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCycle {
    /// The files, relative to the crate's directory, sorted.
    pub files: Vec<String>,
    /// One closed path through them: a file, the files it goes through, the file again.
    pub example: Vec<String>,
    /// Every import between two of the files: from, to, and the first path that makes it.
    pub imports: Vec<(String, String, String)>,
}

/// How many facades a re-exported name is followed through.
const MAX_REEXPORT_HOPS: usize = 8;

/// The module import cycles of the crate whose files are `files` (path relative to the
/// crate's directory, such as `src/a/b.rs` → text).
pub fn module_cycles(files: &BTreeMap<String, String>) -> Vec<ModuleCycle> {
    let mut graph = Graph::new();
    let mut via: BTreeMap<(String, String), String> = BTreeMap::new();
    for root in crate_roots(files) {
        let tree = ModuleTree::build(files, root);
        for (file, module) in &tree.module_of {
            let scan = &tree.scans[file];
            let facade = tree.facades.contains(file);
            let uses = scan
                .uses
                .iter()
                .filter(|u| !(facade && u.public))
                .map(|u| (&u.inline, &u.segments, true));
            let paths = scan.paths.iter().map(|p| (&p.inline, &p.segments, false));
            for (inline, segments, is_use) in uses.chain(paths) {
                let context = [module.as_slice(), inline].concat();
                let Some(target) = tree
                    .absolute(&context, segments, is_use)
                    .and_then(|path| tree.file(&path, MAX_REEXPORT_HOPS))
                else {
                    continue;
                };
                if target != *file {
                    graph
                        .entry(file.clone())
                        .or_default()
                        .insert(target.clone());
                    via.entry((file.clone(), target))
                        .or_insert_with(|| segments.join("::"));
                }
            }
        }
    }
    graph::cycles(&graph)
        .into_iter()
        .map(|files| {
            let example = graph::example(&graph, &files);
            let imports = via
                .iter()
                .filter(|((from, to), _)| files.contains(from) && files.contains(to))
                .map(|((from, to), path)| (from.clone(), to.clone(), path.clone()))
                .collect();
            ModuleCycle {
                files,
                example,
                imports,
            }
        })
        .collect()
}

/// The crate roots among `files`.
fn crate_roots(files: &BTreeMap<String, String>) -> Vec<&str> {
    files
        .keys()
        .map(String::as_str)
        .filter(|file| {
            let bin = file.strip_prefix("src/bin/");
            *file == "src/lib.rs"
                || *file == "src/main.rs"
                || bin.is_some_and(|b| !b.contains('/') && b.ends_with(".rs"))
                || bin.is_some_and(|b| {
                    b.split('/').nth(1) == Some("main.rs") && b.matches('/').count() == 1
                })
        })
        .collect()
}

/// One crate root's modules.
struct ModuleTree {
    /// Module path (`[]` for the root) → its file.
    modules: BTreeMap<Vec<String>, String>,
    /// File → its module path.
    module_of: BTreeMap<String, Vec<String>>,
    scans: BTreeMap<String, FileScan>,
    facades: BTreeSet<String>,
}

impl ModuleTree {
    fn build(files: &BTreeMap<String, String>, root: &str) -> ModuleTree {
        let mut tree = ModuleTree {
            modules: BTreeMap::new(),
            module_of: BTreeMap::new(),
            scans: BTreeMap::new(),
            facades: BTreeSet::new(),
        };
        let mut queue = vec![(Vec::new(), root.to_string())];
        while let Some((module, file)) = queue.pop() {
            if tree.module_of.contains_key(&file) {
                continue;
            }
            let scan = source::scan(&files[&file]);
            // A crate root's and a mod.rs's modules sit beside them; a.rs's in a/.
            let dir = if file == root || file.ends_with("/mod.rs") {
                file.rsplit_once('/').map_or("", |(dir, _)| dir).to_string()
            } else {
                file.trim_end_matches(".rs").to_string()
            };
            for (inline, name) in &scan.child_files {
                let base = [dir.as_str()]
                    .into_iter()
                    .chain(inline.iter().map(String::as_str))
                    .chain([name.as_str()])
                    .collect::<Vec<_>>()
                    .join("/");
                let candidates = [format!("{base}.rs"), format!("{base}/mod.rs")];
                if let Some(child) = candidates.into_iter().find(|c| files.contains_key(c)) {
                    let child_module =
                        [module.as_slice(), inline, std::slice::from_ref(name)].concat();
                    queue.push((child_module, child));
                }
            }
            if file == root || file.ends_with("/mod.rs") || !scan.child_files.is_empty() {
                tree.facades.insert(file.clone());
            }
            tree.modules.insert(module.clone(), file.clone());
            tree.module_of.insert(file.clone(), module);
            tree.scans.insert(file, scan);
        }
        tree
    }

    /// The crate-absolute path of `segments`, written in module `context`; `None` when it
    /// names nothing in this crate (another crate, a local name).
    fn absolute(
        &self,
        context: &[String],
        segments: &[String],
        is_use: bool,
    ) -> Option<Vec<String>> {
        let first = segments.first()?.as_str();
        let mut base = match first {
            "crate" => Vec::new(),
            "self" | "super" => context.to_vec(),
            // `use child::Item;` names the current module's child module.
            _ if is_use
                && self
                    .modules
                    .contains_key(&[context, &segments[..1]].concat()) =>
            {
                context.to_vec()
            }
            _ => return None,
        };
        let mut rest = if first == "super" || !["crate", "self"].contains(&first) {
            segments
        } else {
            &segments[1..]
        };
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file that `path` (crate-absolute) names: its deepest module with a file; through
    /// a facade's re-exports, for a name the facade does not define.
    fn file(&self, path: &[String], hops: usize) -> Option<String> {
        let depth = (0..=path.len())
            .rev()
            .find(|&k| self.modules.contains_key(&path[..k]))?;
        let file = &self.modules[&path[..depth]];
        let (Some(name), Some(scan)) = (path.get(depth), self.scans.get(file)) else {
            return Some(file.clone());
        };
        if hops == 0 || !self.facades.contains(file) || scan.defines.contains(name) {
            return Some(file.clone());
        }
        let rest = &path[depth + 1..];
        let module = &self.module_of[file];
        let reexports = || scan.uses.iter().filter(|u| u.public && u.inline.is_empty());
        let source_of = |u: &UseDecl| self.absolute(module, &u.segments, true);
        if let Some(reexport) = reexports().find(|u| u.name() == Some(name.as_str())) {
            // Re-exported from another crate: no file of this crate.
            let mut target = source_of(reexport)?;
            target.extend(rest.iter().cloned());
            return self.file(&target, hops - 1);
        }
        for glob in reexports().filter(|u| u.glob) {
            let Some(mut target) = source_of(glob) else {
                continue;
            };
            let defines = self
                .file(&target, hops - 1)
                .and_then(|f| self.scans.get(&f))
                .is_some_and(|s| s.defines.contains(name));
            if defines {
                target.push(name.clone());
                target.extend(rest.iter().cloned());
                return self.file(&target, hops - 1);
            }
        }
        Some(file.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(path, text)| (path.to_string(), text.to_string()))
            .collect()
    }

    fn cycle_files(files: &[(&str, &str)]) -> Vec<Vec<String>> {
        module_cycles(&tree(files))
            .into_iter()
            .map(|c| c.files)
            .collect()
    }

    #[test]
    fn a_clean_tree_has_no_cycle() {
        let files = [
            (
                "src/lib.rs",
                "pub mod a;\npub mod b;\nmod c;\npub use b::Thing;\nuse crate::a::Helper;\n",
            ),
            ("src/a.rs", "pub struct Helper;\n"),
            (
                "src/b.rs",
                "use super::a::Helper;\npub struct Thing(Helper);\nfn f() { crate::c::g(); }\n",
            ),
            (
                "src/c.rs",
                "pub fn g() { let _ = crate::a::Helper; }\n#[cfg(test)]\nmod tests { use crate::b::Thing; }\n",
            ),
        ];
        assert_eq!(cycle_files(&files), Vec::<Vec<String>>::new());
    }

    #[test]
    fn a_two_file_cycle_fails_with_its_imports() {
        let files = [
            ("src/lib.rs", "mod http;\n"),
            (
                "src/http/mod.rs",
                "mod routes;\nmod withdrawal_routes;\npub struct AppState;\npub use routes::router;\n",
            ),
            (
                "src/http/routes.rs",
                "use super::{AppState, withdrawal_routes};\npub fn query() {}\npub fn router() {}\n",
            ),
            (
                "src/http/withdrawal_routes.rs",
                "use super::AppState;\nfn list() { super::routes::query(); }\n",
            ),
        ];
        let cycles = module_cycles(&tree(&files));
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].files,
            vec!["src/http/routes.rs", "src/http/withdrawal_routes.rs"]
        );
        assert_eq!(
            cycles[0].imports,
            vec![
                (
                    "src/http/routes.rs".to_string(),
                    "src/http/withdrawal_routes.rs".to_string(),
                    "super::withdrawal_routes".to_string()
                ),
                (
                    "src/http/withdrawal_routes.rs".to_string(),
                    "src/http/routes.rs".to_string(),
                    "super::routes::query".to_string()
                ),
            ]
        );
        assert_eq!(
            cycles[0].example,
            vec![
                "src/http/routes.rs",
                "src/http/withdrawal_routes.rs",
                "src/http/routes.rs"
            ]
        );
    }

    #[test]
    fn an_item_reexported_by_the_facade_resolves_to_its_definition() {
        // c.rs uses `crate::Thing`, which lib.rs re-exports from a.rs: the cycle is a ↔ c,
        // and lib.rs (which defines nothing the others use) is in none.
        let files = [
            (
                "src/lib.rs",
                "mod a;\nmod c;\npub use a::Thing;\npub use c::*;\n",
            ),
            (
                "src/a.rs",
                "pub struct Thing;\nfn f() { crate::other(); }\n",
            ),
            ("src/c.rs", "use crate::Thing;\npub fn other() {}\n"),
        ];
        assert_eq!(cycle_files(&files), vec![vec!["src/a.rs", "src/c.rs"]]);
    }

    #[test]
    fn a_facade_that_defines_the_item_is_in_the_cycle() {
        // payments/mod.rs defines PaymentMethod and uses index privately.
        let files = [
            ("src/lib.rs", "pub mod payments;\n"),
            (
                "src/payments/mod.rs",
                "mod index;\npub enum PaymentMethod {}\nuse index::Compiled;\n",
            ),
            (
                "src/payments/index.rs",
                "use super::PaymentMethod;\npub struct Compiled;\n",
            ),
        ];
        assert_eq!(
            cycle_files(&files),
            vec![vec!["src/payments/index.rs", "src/payments/mod.rs"]]
        );
    }

    #[test]
    fn facade_reexports_and_test_modules_make_no_edge() {
        let files = [
            (
                "src/lib.rs",
                "pub mod a;\npub mod b;\npub use a::A;\npub(crate) use b::B;\n",
            ),
            (
                "src/a.rs",
                "pub struct A;\nfn f() { crate::b::g(); }\n#[cfg(test)]\nmod tests;\n",
            ),
            ("src/a/tests.rs", "use crate::b::B;\n"),
            (
                "src/b.rs",
                "pub struct B;\npub fn g() {}\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
            ),
        ];
        assert_eq!(cycle_files(&files), Vec::<Vec<String>>::new());
    }

    #[test]
    fn a_long_cycle_through_deeper_modules_is_one_cycle() {
        let files = [
            (
                "src/lib.rs",
                "pub mod tasks;\npub mod onboarding;\npub mod deposits;\n",
            ),
            ("src/tasks.rs", "use crate::onboarding::kyc::run;\n"),
            ("src/onboarding/mod.rs", "pub mod kyc;\npub mod account;\n"),
            (
                "src/onboarding/kyc.rs",
                "pub fn run() { super::account::open(); }\n",
            ),
            (
                "src/onboarding/account.rs",
                "pub fn open() { crate::deposits::tasks::start(); }\n",
            ),
            ("src/deposits/mod.rs", "pub mod tasks;\n"),
            (
                "src/deposits/tasks.rs",
                "pub fn start() { crate::tasks::dispatch(); }\n",
            ),
        ];
        let cycles = module_cycles(&tree(&files));
        assert_eq!(cycles.len(), 1);
        assert_eq!(
            cycles[0].files,
            vec![
                "src/deposits/tasks.rs",
                "src/onboarding/account.rs",
                "src/onboarding/kyc.rs",
                "src/tasks.rs"
            ]
        );
        assert_eq!(cycles[0].example.len(), 5);
    }

    #[test]
    fn paths_to_other_crates_and_local_names_make_no_edge() {
        let files = [
            ("src/main.rs", "mod a;\nmod b;\nuse std::fmt;\n"),
            ("src/a.rs", "use other_crate::b::X;\nfn f() { b::g(); }\n"),
            ("src/b.rs", "use crate::a;\n"),
        ];
        assert_eq!(cycle_files(&files), Vec::<Vec<String>>::new());
    }
}
