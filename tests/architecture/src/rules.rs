//! The rule table: which manifest directory puts a crate on which floor, which floors a floor's
//! crates may depend on, and which external crates they must not use. Everything the test
//! enforces about crate dependencies (rules 1 to 9) is data here: a new context is a new
//! directory under `shared/contexts/` and needs no change to this file.
//!
//! Rules 2 to 4 and 6 to 8 apply to normal and build dependencies; rule 5 (no cycle among the
//! floors of [`ACYCLIC`]) also counts dev-dependencies.

/// A floor of the architecture.
#[derive(Debug)]
pub struct Floor {
    /// The floor's name, as `may_use` lists and the messages spell it.
    pub name: &'static str,
    /// Manifest directories, relative to the workspace root; a trailing `/*` matches any one
    /// directory below (`shared/contexts/*` matches `shared/contexts/crm`).
    pub dirs: &'static [&'static str],
    /// The floors a crate of this floor may depend on; `None`: any.
    pub may_use: Option<&'static [&'static str]>,
    /// External crates it must not depend on; a trailing `*` matches any rest of the name.
    pub banned: &'static [&'static str],
    /// The rule, as a violation quotes it.
    pub rule: &'static str,
    /// How to fix a violation of it.
    pub fix: &'static str,
}

/// The floors of infrastructure without business meaning (`shared/lib/*`).
const LIB: &[&str] = &[
    "kernel",
    "store",
    "store-sqlite",
    "store-dynamodb",
    "sfn",
    "lib",
];

const LIB_RULE: &str =
    "rule 3: a lib crate (store port, engines, sfn) never depends on contexts, the app or adapters";
const LIB_FIX: &str = "lib crates carry no business meaning: move the code that needs the upper crate up into it, or move what the lib crate needs down into shared/lib/";

/// External crates that tie code to a runtime host (AWS, Lambda, HTTP, SQLite).
const HOST_CRATES: &[&str] = &["aws-*", "lambda_*", "axum", "hyper", "rusqlite"];

/// Every floor, tried in order: the first whose `dirs` match classifies the crate.
pub const FLOORS: &[Floor] = &[
    Floor {
        name: "kernel",
        dirs: &["shared/lib/kernel"],
        may_use: Some(&["store"]),
        // The kernel's audited writes are async over the store port and back off with the
        // runtime's timer; the pure models are held to rule 11 instead.
        banned: &["aws-*", "lambda_*", "axum", "hyper", "rusqlite"],
        rule: "rule 2: the kernel depends on the store port only, and on no AWS, Lambda, HTTP or SQLite crate",
        fix: "move the code that needs it out of the kernel (into a context, the app or an adapter); the kernel reaches I/O only through ports",
    },
    Floor {
        name: "store",
        dirs: &["shared/lib/store"],
        may_use: Some(LIB),
        banned: &[],
        rule: LIB_RULE,
        fix: LIB_FIX,
    },
    Floor {
        name: "store-sqlite",
        dirs: &["shared/lib/store-sqlite"],
        may_use: Some(LIB),
        banned: &[],
        rule: LIB_RULE,
        fix: LIB_FIX,
    },
    Floor {
        name: "store-dynamodb",
        dirs: &["shared/lib/store-dynamodb"],
        may_use: Some(LIB),
        banned: &[],
        rule: LIB_RULE,
        fix: LIB_FIX,
    },
    Floor {
        name: "sfn",
        dirs: &["shared/lib/sfn"],
        may_use: Some(LIB),
        banned: &[],
        rule: LIB_RULE,
        fix: LIB_FIX,
    },
    Floor {
        name: "lib",
        dirs: &["shared/lib/*"],
        may_use: Some(LIB),
        banned: &[],
        rule: LIB_RULE,
        fix: LIB_FIX,
    },
    Floor {
        name: "context",
        dirs: &["shared/contexts/*"],
        may_use: Some(&["kernel", "store", "context"]),
        banned: HOST_CRATES,
        rule: "rule 4: a context depends on the kernel, the store port (brokeros-store) and other contexts only, and on no AWS, Lambda, HTTP or SQLite crate",
        fix: "reach engines, workflows and AWS through a port (a trait in the kernel, the store port or the context) implemented in shared/adapters/*; move the code that needs the crate into an adapter or the app",
    },
    Floor {
        name: "app",
        dirs: &["shared/app"],
        may_use: Some(&["kernel", "store", "context"]),
        banned: &[],
        rule: "rule 6: the app depends on the kernel, the store port and contexts only (not on adapters, sfn or store engines)",
        fix: "the app composes contexts over ports; move the code that needs an adapter, sfn or an engine into shared/adapters/*",
    },
    Floor {
        name: "http",
        dirs: &["shared/adapters/http"],
        may_use: Some(&["kernel", "store", "lib", "context", "app"]),
        banned: &[],
        rule: "rule 7: the http adapter depends on no other adapter (aws, local), sfn or store engine",
        fix: "keep the router host-neutral: move the code that needs aws/local/sfn/an engine into that adapter, and hand the router what it needs through the app's services",
    },
    Floor {
        name: "aws",
        dirs: &["shared/adapters/aws"],
        may_use: Some(&[
            "kernel",
            "store",
            "store-dynamodb",
            "lib",
            "context",
            "app",
            "http",
        ]),
        banned: &[],
        rule: "rule 7: the aws adapter depends on neither the local adapter, sfn nor store-sqlite",
        fix: "AWS runs DynamoDB and Step Functions: move the code that needs the local engine or SQLite into shared/adapters/local",
    },
    Floor {
        name: "local",
        dirs: &["shared/adapters/local"],
        may_use: Some(&[
            "kernel",
            "store",
            "store-sqlite",
            "sfn",
            "lib",
            "context",
            "app",
        ]),
        banned: &[],
        rule: "rule 7: the local adapter depends on neither the aws adapter, the http adapter nor store-dynamodb",
        fix: "move the code that needs AWS or HTTP into shared/adapters/aws or shared/adapters/http (or the cli, which composes them)",
    },
    Floor {
        name: "function",
        dirs: &["functions/*"],
        may_use: Some(&["aws", "http"]),
        banned: &["rusqlite"],
        rule: "rule 8: a function depends on the workspace crates brokeros-aws and brokeros-http only",
        fix: "a Lambda binary stays thin: put what it needs behind brokeros-aws (entry helpers, adapters) or brokeros-http (routes)",
    },
    Floor {
        name: "cli",
        dirs: &["cli"],
        may_use: None,
        banned: &[],
        rule: "rule 9: the cli may depend on anything",
        fix: "",
    },
    Floor {
        name: "test",
        dirs: &["tests", "tests/*"],
        may_use: None,
        banned: &[],
        rule: "rule 9: a test crate may depend on anything",
        fix: "",
    },
];

/// Floors whose crates must form no dependency cycle, dev-dependencies included (rule 5).
pub const ACYCLIC: &[&str] = &["context"];
pub const ACYCLIC_RULE: &str =
    "rule 5: no dependency cycle between contexts (dev-dependencies included)";
pub const ACYCLIC_FIX: &str = "let one context own what the others need, or move the shared part down into the kernel; a context's tests may not reach back into a context that depends on it";

/// The floor of the crate whose manifest lives in `dir` (relative to the workspace root,
/// `/`-separated), if any.
pub fn classify(dir: &str) -> Option<&'static Floor> {
    FLOORS
        .iter()
        .find(|floor| floor.dirs.iter().any(|pattern| dir_matches(pattern, dir)))
}

fn dir_matches(pattern: &str, dir: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(parent) => dir
            .strip_prefix(parent)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|child| !child.is_empty() && !child.contains('/')),
        None => pattern == dir,
    }
}

/// Whether `floor` bans the external crate `name`.
pub fn bans(floor: &Floor, name: &str) -> bool {
    floor
        .banned
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => *pattern == name,
        })
}

/// Where a crate may go, for a crate on no floor (rule 1).
pub fn floor_dirs() -> String {
    FLOORS
        .iter()
        .flat_map(|floor| floor.dirs.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_put_crates_on_floors() {
        let floor = |dir| classify(dir).map(|floor| floor.name);
        assert_eq!(floor("shared/lib/kernel"), Some("kernel"));
        assert_eq!(floor("shared/lib/store"), Some("store"));
        assert_eq!(floor("shared/lib/other"), Some("lib"));
        assert_eq!(floor("shared/contexts/crm"), Some("context"));
        assert_eq!(floor("shared/contexts/pamm"), Some("context"));
        assert_eq!(floor("shared/contexts"), None);
        assert_eq!(floor("shared/contexts/crm/inner"), None);
        assert_eq!(floor("shared/app"), Some("app"));
        assert_eq!(floor("shared/adapters/aws"), Some("aws"));
        assert_eq!(floor("shared/adapters/grpc"), None);
        assert_eq!(floor("functions/crm-api"), Some("function"));
        assert_eq!(floor("cli"), Some("cli"));
        assert_eq!(floor("tests"), Some("test"));
        assert_eq!(floor("tests/architecture"), Some("test"));
        assert_eq!(floor("shared/domain"), None);
    }

    #[test]
    fn banned_names_match_by_prefix() {
        let kernel = classify("shared/lib/kernel").unwrap();
        assert!(bans(kernel, "aws-sdk-s3"));
        assert!(bans(kernel, "lambda_http"));
        assert!(
            !bans(kernel, "tokio"),
            "the kernel's audited writes use the runtime's timer"
        );
        assert!(!bans(kernel, "hyper-util"));
        assert!(!bans(kernel, "serde"));
    }

    #[test]
    fn every_floor_named_in_may_use_exists() {
        for floor in FLOORS {
            for name in floor.may_use.unwrap_or_default().iter().chain(ACYCLIC) {
                assert!(
                    FLOORS.iter().any(|other| other.name == *name),
                    "{} names unknown floor {name}",
                    floor.name
                );
            }
        }
    }
}
