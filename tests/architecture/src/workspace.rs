//! The real workspace: `cargo metadata`, the crates' sources, and the reports the
//! whole-workspace tests print.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::{env, fs, io};

use crate::deps::{self, Workspace};
use crate::modules::{self, ModuleCycle};
use crate::{purity, repository, routes};

/// The workspace this crate belongs to, from `cargo metadata --format-version 1 --no-deps`
/// (cargo from `$CARGO`, else `cargo` on the `PATH`).
pub fn this_workspace() -> Result<Workspace, String> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .map_err(|e| format!("running {}: {e}", cargo.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Workspace::from_metadata(&String::from_utf8_lossy(&output.stdout))
}

/// Every violation of rules 1 to 9, one message each.
pub fn dependency_report(workspace: &Workspace) -> Vec<String> {
    deps::check(workspace)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Every module import cycle of every member (rule 10), one message each.
pub fn module_cycle_report(workspace: &Workspace) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    for member in &workspace.members {
        let dir = workspace.root.join(&member.dir);
        let files = read_sources(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for cycle in modules::module_cycles(&files) {
            report.push(describe(&member.name, &member.dir, &cycle));
        }
    }
    Ok(report)
}

/// Every impure word in a context's model (rule 11), one message each.
pub fn model_purity_report(workspace: &Workspace) -> Result<Vec<String>, String> {
    per_context(workspace, |dir, files| {
        purity::impurities(files)
            .into_iter()
            .map(|(file, word, why)| {
                format!(
                    "rule 11: a context's model is pure: {dir}/{file} names `{word}` ({why}): \
                     move the I/O into the context's use cases and hand the model plain data"
                )
            })
            .collect()
    })
}

/// Every store access of a context outside its repositories (rule 12), one message each.
pub fn repository_report(workspace: &Workspace) -> Result<Vec<String>, String> {
    per_context(workspace, |dir, files| {
        repository::store_access_outside_repositories(files)
            .into_iter()
            .map(|(file, line, word, why)| {
                format!(
                    "rule 12: a context touches the store only in its repositories: \
                     {dir}/{file}:{line} names `{word}` ({why}): read and write entities \
                     through `Core::find`/`get`/`commit` and move the rest into the context's \
                     `repo` module"
                )
            })
            .collect()
    })
}

/// Every route the http adapter registers other than through `routes!` (rule 13), one
/// message each.
pub fn route_report(workspace: &Workspace) -> Result<Vec<String>, String> {
    let dir = workspace.root.join(routes::HTTP_ADAPTER);
    let files = read_sources(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    Ok(routes::undocumented_registrations(&files)
        .into_iter()
        .map(|(file, line, call)| {
            format!(
                "rule 13: the http adapter registers routes only through `routes!`: \
                 {}/{file}:{line} calls `{call}`: give the handler a `#[utoipa::path]` \
                 and register it with `.routes(routes!(handler))`, so the route is an \
                 operation of the API's contract",
                routes::HTTP_ADAPTER
            )
        })
        .collect())
}

/// The messages `check` finds in the sources of every context crate (`shared/contexts/*`),
/// given the crate's directory and its files.
fn per_context(
    workspace: &Workspace,
    check: impl Fn(&str, &BTreeMap<String, String>) -> Vec<String>,
) -> Result<Vec<String>, String> {
    let mut report = Vec::new();
    for member in &workspace.members {
        if !member.dir.starts_with("shared/contexts/") {
            continue;
        }
        let dir = workspace.root.join(&member.dir);
        let files = read_sources(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        report.extend(check(&member.dir, &files));
    }
    Ok(report)
}

/// The `.rs` files under `crate_dir/src`, by path relative to `crate_dir` (`src/a/b.rs`).
pub fn read_sources(crate_dir: &Path) -> io::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![crate_dir.join("src")];
    while let Some(dir) = dirs.pop() {
        if !dir.is_dir() {
            continue;
        }
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let relative = path.strip_prefix(crate_dir).unwrap_or(&path);
                let key: Vec<_> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect();
                files.insert(key.join("/"), fs::read_to_string(&path)?);
            }
        }
    }
    Ok(files)
}

fn describe(crate_name: &str, crate_dir: &str, cycle: &ModuleCycle) -> String {
    let full = |file: &str| format!("{crate_dir}/{file}");
    let files: Vec<String> = cycle.files.iter().map(|f| full(f)).collect();
    let mut message = format!(
        "rule 10: module import cycle in {crate_name} ({} files): {}\n",
        files.len(),
        compact(&files)
    );
    if files.len() > 2 {
        let example: Vec<String> = cycle.example.iter().map(|f| full(f)).collect();
        message.push_str(&format!("    for one: {}\n", example.join(" → ")));
    }
    for (from, to, path) in &cycle.imports {
        message.push_str(&format!("    {} → {}  ({path})\n", full(from), full(to)));
    }
    message.push_str(
        "    fix: make the imports point one way: move what the files share into a module that imports none of them (or merge them); a facade (lib.rs/mod.rs) may re-export with pub use",
    );
    message
}

/// Files as `a ↔ b` (two) or `dir/{a,b/c,d}.rs` (more).
fn compact(files: &[String]) -> String {
    if files.len() == 2 {
        return files.join(" ↔ ");
    }
    let first = &files[0];
    let mut prefix = first
        .rsplit_once('/')
        .map_or("", |(dir, _)| dir)
        .to_string();
    while !files.iter().all(|f| f.starts_with(&format!("{prefix}/"))) {
        prefix = prefix
            .rsplit_once('/')
            .map_or("", |(dir, _)| dir)
            .to_string();
    }
    let names: Vec<&str> = files
        .iter()
        .map(|f| f[prefix.len() + 1..].trim_end_matches(".rs"))
        .collect();
    format!("{prefix}/{{{}}}.rs", names.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_file_lists() {
        let files = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(compact(&files(&["s/a.rs", "s/b.rs"])), "s/a.rs ↔ s/b.rs");
        assert_eq!(
            compact(&files(&["s/src/a.rs", "s/src/b/mod.rs", "s/src/c.rs"])),
            "s/src/{a,b/mod,c}.rs"
        );
    }

    #[test]
    fn reads_a_source_tree_from_disk() {
        let dir = env::temp_dir().join(format!("brokeros-architecture-{}", std::process::id()));
        fs::create_dir_all(dir.join("src/a")).unwrap();
        fs::write(dir.join("src/lib.rs"), "mod a;\n").unwrap();
        fs::write(dir.join("src/a/mod.rs"), "mod b;\npub struct X;\n").unwrap();
        fs::write(
            dir.join("src/a/b.rs"),
            "use super::X;\nfn f() { crate::a::g(); }\n",
        )
        .unwrap();
        let files = read_sources(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            vec!["src/a/b.rs", "src/a/mod.rs", "src/lib.rs"]
        );
        assert!(modules::module_cycles(&files).is_empty());
    }
}
