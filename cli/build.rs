//! Embeds the web app (`web/` at the repository's root, served by `brokeros serve`) in the
//! binary: a table of every file's path and `include_bytes!`, generated here so a file added to
//! `web/` needs no change in Rust, and any change under `web/` rebuilds the binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// `tsc -p web/jsconfig.json` checks the app's JSDoc types (tests/run.sh) with the declarations
/// generated from the API's contract (`*.d.ts`); browsers never ask for either.
const TYPE_CHECKER_SETTINGS: &str = "jsconfig.json";
const TYPE_DECLARATIONS: &str = ".d.ts";

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let web = manifest.join("../web");
    println!("cargo:rerun-if-changed={}", web.display());
    let mut files = Vec::new();
    collect(&web, &web, &mut files);
    files.sort();
    let mut table = String::from("pub static WEB_FILES: &[(&str, &[u8])] = &[\n");
    for (path, absolute) in &files {
        writeln!(table, "    ({path:?}, include_bytes!({absolute:?})),")
            .expect("a String takes writes");
    }
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("web_files.rs");
    std::fs::write(out, table).expect("OUT_DIR is writable");
}

/// Every file under `dir`, as its path relative to `root` (with `/`) and its absolute path.
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        // Editors' swap and backup files, and the type checker's settings, are no part of the app.
        if path.file_name().is_some_and(|n| {
            let name = n.to_string_lossy();
            name.starts_with('.')
                || name == TYPE_CHECKER_SETTINGS
                || name.ends_with(TYPE_DECLARATIONS)
        }) {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let absolute = path.canonicalize().expect("the file exists");
            files.push((relative, absolute.to_string_lossy().into_owned()));
        }
    }
}
