//! Rules 1 to 9: every workspace member on a floor (by its manifest directory), and each
//! floor's dependencies as [`crate::rules`] allows, read from `cargo metadata` JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::graph::{self, Graph};
use crate::rules::{self, ACYCLIC, ACYCLIC_FIX, ACYCLIC_RULE};

/// The workspace as `cargo metadata --format-version 1 --no-deps` describes it.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub members: Vec<Member>,
}

/// A workspace member.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    /// The manifest's directory, relative to the workspace root, `/`-separated.
    pub dir: String,
    pub dependencies: Vec<Dependency>,
}

/// A dependency as the member's manifest declares it.
#[derive(Debug)]
pub struct Dependency {
    /// The package's name (not its rename).
    pub name: String,
    /// Whether it is a dev-dependency.
    pub dev: bool,
    /// For a path dependency, its directory relative to the workspace root.
    pub dir: Option<String>,
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// `rule N: …`, what breaks it, and how to fix it.
    pub message: String,
    /// The crate that breaks the rule (for rule 5, the crates of the cycle).
    pub crate_name: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl Workspace {
    /// Reads the output of `cargo metadata --format-version 1 --no-deps`.
    pub fn from_metadata(json: &str) -> Result<Workspace, String> {
        let metadata: Value =
            serde_json::from_str(json).map_err(|e| format!("cargo metadata: {e}"))?;
        let root = PathBuf::from(string(&metadata, "workspace_root")?);
        let member_ids: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .ok_or("cargo metadata: no workspace_members")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let mut members = Vec::new();
        for package in metadata["packages"]
            .as_array()
            .ok_or("cargo metadata: no packages")?
        {
            if !member_ids.contains(string(package, "id")?) {
                continue;
            }
            let manifest = Path::new(string(package, "manifest_path")?);
            let dir = relative(&root, manifest.parent().unwrap_or(manifest));
            let mut dependencies = Vec::new();
            for dependency in package["dependencies"].as_array().into_iter().flatten() {
                dependencies.push(Dependency {
                    name: string(dependency, "name")?.to_string(),
                    dev: dependency["kind"].as_str() == Some("dev"),
                    dir: dependency["path"]
                        .as_str()
                        .map(|path| relative(&root, Path::new(path))),
                });
            }
            members.push(Member {
                name: string(package, "name")?.to_string(),
                dir,
                dependencies,
            });
        }
        members.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(Workspace { root, members })
    }

    /// The member a dependency names, if it is a workspace crate.
    fn member(&self, dependency: &Dependency) -> Option<&Member> {
        let dir = dependency.dir.as_deref()?;
        self.members.iter().find(|member| member.dir == dir)
    }
}

fn string<'v>(value: &'v Value, field: &str) -> Result<&'v str, String> {
    value[field]
        .as_str()
        .ok_or_else(|| format!("cargo metadata: no {field}"))
}

/// `path` relative to `root`, `/`-separated (`path` itself, as given, if outside).
fn relative(root: &Path, path: &Path) -> String {
    let path = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = path
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}

/// Every violation of rules 1 to 9 (by member) and of rule 5, sorted.
pub fn check(workspace: &Workspace) -> Vec<Violation> {
    let mut violations = BTreeSet::new();
    for member in &workspace.members {
        let Some(floor) = rules::classify(&member.dir) else {
            violations.insert(Violation {
                crate_name: member.name.clone(),
                message: format!(
                    "rule 1: {} ({}) is on no floor: move the crate under shared/lib/ (infrastructure) or shared/contexts/ (a business context), or into another floor's directory ({}); a new kind of crate needs a floor in tests/architecture/src/rules.rs",
                    member.name,
                    member.dir,
                    rules::floor_dirs()
                ),
            });
            continue;
        };
        for dependency in member.dependencies.iter().filter(|d| !d.dev) {
            let broken = match workspace.member(dependency) {
                Some(target) => {
                    let target_floor = rules::classify(&target.dir);
                    let allowed = match floor.may_use {
                        None => true,
                        Some(floors) => target_floor.is_some_and(|t| floors.contains(&t.name)),
                    };
                    (!allowed).then(|| {
                        let on = target_floor
                            .map_or("on no floor".to_string(), |t| format!("floor {}", t.name));
                        format!("{} ({}, {on})", target.name, target.dir)
                    })
                }
                None => rules::bans(floor, &dependency.name)
                    .then(|| format!("external crate {}", dependency.name)),
            };
            if let Some(what) = broken {
                violations.insert(Violation {
                    crate_name: member.name.clone(),
                    message: format!(
                        "{}: {} ({}, floor {}) depends on {what}: {}",
                        floor.rule, member.name, member.dir, floor.name, floor.fix
                    ),
                });
            }
        }
    }
    violations.extend(acyclic_floor_cycles(workspace));
    violations.into_iter().collect()
}

/// Rule 5: cycles among the crates of the [`ACYCLIC`] floors, dev-dependencies included.
fn acyclic_floor_cycles(workspace: &Workspace) -> Vec<Violation> {
    let in_scope = |member: &Member| {
        rules::classify(&member.dir).is_some_and(|floor| ACYCLIC.contains(&floor.name))
    };
    let mut graph = Graph::new();
    let mut why: BTreeMap<(String, String), &str> = BTreeMap::new();
    for member in workspace.members.iter().filter(|m| in_scope(m)) {
        for dependency in &member.dependencies {
            if let Some(target) = workspace.member(dependency).filter(|t| in_scope(t)) {
                if target.name == member.name {
                    continue;
                }
                graph
                    .entry(member.name.clone())
                    .or_default()
                    .insert(target.name.clone());
                let kind = if dependency.dev { " (dev)" } else { "" };
                why.entry((member.name.clone(), target.name.clone()))
                    .or_insert(kind);
            }
        }
    }
    graph::cycles(&graph)
        .into_iter()
        .map(|component| {
            let path = graph::example(&graph, &component);
            let steps: Vec<String> = path
                .windows(2)
                .map(|step| {
                    let kind = why
                        .get(&(step[0].clone(), step[1].clone()))
                        .copied()
                        .unwrap_or("");
                    format!("{} →{kind} {}", step[0], step[1])
                })
                .collect();
            Violation {
                crate_name: component.join(", "),
                message: format!(
                    "{ACYCLIC_RULE}: {} depend on each other ({}): {ACYCLIC_FIX}",
                    component.join(", "),
                    steps.join(", ")
                ),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A member: name, directory, and dependencies as (name, path dir or "", kind or "").
    type Fake<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str, &'a str)]);

    fn metadata(members: &[Fake]) -> String {
        let packages: Vec<Value> = members
            .iter()
            .map(|(name, dir, deps)| {
                let dependencies: Vec<Value> = deps
                    .iter()
                    .map(|(dep, path, kind)| {
                        let mut d = json!({
                            "name": dep,
                            "kind": if kind.is_empty() { Value::Null } else { json!(kind) },
                        });
                        if !path.is_empty() {
                            d["path"] = json!(format!("/ws/{path}"));
                        }
                        d
                    })
                    .collect();
                json!({
                    "name": name,
                    "id": format!("path+file:///ws/{dir}#{name}@0.1.0"),
                    "manifest_path": format!("/ws/{dir}/Cargo.toml"),
                    "dependencies": dependencies,
                })
            })
            .collect();
        let ids: Vec<Value> = packages.iter().map(|p| p["id"].clone()).collect();
        json!({ "packages": packages, "workspace_members": ids, "workspace_root": "/ws" })
            .to_string()
    }

    /// The target layout, every edge allowed.
    fn clean() -> Vec<Fake<'static>> {
        vec![
            ("brokeros-store", "shared/lib/store", &[("serde", "", "")]),
            (
                "brokeros-kernel",
                "shared/lib/kernel",
                &[
                    ("brokeros-store", "shared/lib/store", ""),
                    ("serde", "", ""),
                ],
            ),
            (
                "brokeros-store-sqlite",
                "shared/lib/store-sqlite",
                &[
                    ("brokeros-store", "shared/lib/store", ""),
                    ("rusqlite", "", ""),
                    ("tokio", "", ""),
                ],
            ),
            (
                "brokeros-store-dynamodb",
                "shared/lib/store-dynamodb",
                &[
                    ("brokeros-store", "shared/lib/store", ""),
                    ("aws-sdk-dynamodb", "", ""),
                ],
            ),
            (
                "brokeros-sfn",
                "shared/lib/sfn",
                &[
                    ("brokeros-store", "shared/lib/store", ""),
                    ("brokeros-kernel", "shared/lib/kernel", ""),
                    ("brokeros-store-sqlite", "shared/lib/store-sqlite", "dev"),
                ],
            ),
            (
                "brokeros-crm",
                "shared/contexts/crm",
                &[
                    ("brokeros-kernel", "shared/lib/kernel", ""),
                    ("brokeros-store", "shared/lib/store", ""),
                    ("tokio", "", ""),
                    ("brokeros-store-sqlite", "shared/lib/store-sqlite", "dev"),
                ],
            ),
            (
                "brokeros-onboarding",
                "shared/contexts/onboarding",
                &[
                    ("brokeros-kernel", "shared/lib/kernel", ""),
                    ("brokeros-crm", "shared/contexts/crm", ""),
                ],
            ),
            (
                "brokeros-app",
                "shared/app",
                &[
                    ("brokeros-kernel", "shared/lib/kernel", ""),
                    ("brokeros-crm", "shared/contexts/crm", ""),
                    ("brokeros-onboarding", "shared/contexts/onboarding", ""),
                ],
            ),
            (
                "brokeros-http",
                "shared/adapters/http",
                &[
                    ("brokeros-app", "shared/app", ""),
                    ("axum", "", ""),
                    ("brokeros-adapter-local", "shared/adapters/local", "dev"),
                ],
            ),
            (
                "brokeros-aws",
                "shared/adapters/aws",
                &[
                    ("brokeros-app", "shared/app", ""),
                    ("brokeros-http", "shared/adapters/http", ""),
                    ("brokeros-store-dynamodb", "shared/lib/store-dynamodb", ""),
                    ("lambda_http", "", ""),
                ],
            ),
            (
                "brokeros-adapter-local",
                "shared/adapters/local",
                &[
                    ("brokeros-app", "shared/app", ""),
                    ("brokeros-sfn", "shared/lib/sfn", ""),
                    ("brokeros-store-sqlite", "shared/lib/store-sqlite", ""),
                ],
            ),
            (
                "crm-api",
                "functions/crm-api",
                &[
                    ("brokeros-aws", "shared/adapters/aws", ""),
                    ("brokeros-http", "shared/adapters/http", ""),
                    ("tokio", "", ""),
                ],
            ),
            (
                "brokeros",
                "cli",
                &[
                    ("brokeros-adapter-local", "shared/adapters/local", ""),
                    ("brokeros-aws", "shared/adapters/aws", ""),
                    ("brokeros-sfn", "shared/lib/sfn", ""),
                ],
            ),
            (
                "brokeros-tests",
                "tests",
                &[("brokeros-store-sqlite", "shared/lib/store-sqlite", "")],
            ),
            ("brokeros-architecture", "tests/architecture", &[]),
        ]
    }

    /// The violations of the clean layout with `member`'s dependencies replaced (or `member`
    /// added).
    fn violations_with<'a>(member: Fake<'a>) -> Vec<String> {
        let mut members: Vec<Fake<'a>> = clean();
        members.retain(|m| m.0 != member.0);
        members.push(member);
        let workspace = Workspace::from_metadata(&metadata(&members)).unwrap();
        check(&workspace).iter().map(|v| v.to_string()).collect()
    }

    fn assert_one(violations: &[String], rule: &str, parts: &[&str]) {
        assert_eq!(violations.len(), 1, "{violations:#?}");
        let message = &violations[0];
        assert!(message.starts_with(rule), "{message}");
        for part in parts {
            assert!(message.contains(part), "{message} lacks {part}");
        }
    }

    #[test]
    fn the_target_layout_passes() {
        let workspace = Workspace::from_metadata(&metadata(&clean())).unwrap();
        assert_eq!(workspace.members.len(), clean().len());
        assert_eq!(check(&workspace), vec![]);
    }

    #[test]
    fn rule_1_an_unclassified_member_fails() {
        let v = violations_with(("brokeros-domain", "shared/domain", &[]));
        assert_one(
            &v,
            "rule 1:",
            &[
                "brokeros-domain (shared/domain) is on no floor",
                "shared/contexts/",
            ],
        );
        let v = violations_with(("brokeros-grpc", "shared/adapters/grpc", &[]));
        assert_one(&v, "rule 1:", &["brokeros-grpc"]);
    }

    #[test]
    fn rule_2_the_kernel_depends_on_the_store_port_only() {
        let v = violations_with((
            "brokeros-kernel",
            "shared/lib/kernel",
            &[("brokeros-sfn", "shared/lib/sfn", "")],
        ));
        assert_one(&v, "rule 2:", &["brokeros-kernel", "brokeros-sfn"]);
        for external in ["aws-sdk-s3", "lambda_runtime", "axum", "hyper", "rusqlite"] {
            let v = violations_with((
                "brokeros-kernel",
                "shared/lib/kernel",
                &[(external, "", "")],
            ));
            assert_one(&v, "rule 2:", &[&format!("external crate {external}")]);
        }
        let dev_only = violations_with((
            "brokeros-kernel",
            "shared/lib/kernel",
            &[("aws-sdk-s3", "", "dev")],
        ));
        assert_eq!(dev_only, Vec::<String>::new());
    }

    #[test]
    fn rule_3_lib_crates_never_depend_upwards() {
        for (name, dir, up, up_dir) in [
            (
                "brokeros-store",
                "shared/lib/store",
                "brokeros-crm",
                "shared/contexts/crm",
            ),
            (
                "brokeros-sfn",
                "shared/lib/sfn",
                "brokeros-app",
                "shared/app",
            ),
            (
                "brokeros-store-sqlite",
                "shared/lib/store-sqlite",
                "brokeros-adapter-local",
                "shared/adapters/local",
            ),
        ] {
            let v = violations_with((name, dir, &[(up, up_dir, "")]));
            assert_one(&v, "rule 3:", &[name, up]);
        }
    }

    #[test]
    fn rule_4_contexts_stay_off_engines_app_adapters_and_hosts() {
        for (dep, dir) in [
            ("brokeros-sfn", "shared/lib/sfn"),
            ("brokeros-store-sqlite", "shared/lib/store-sqlite"),
            ("brokeros-store-dynamodb", "shared/lib/store-dynamodb"),
            ("brokeros-app", "shared/app"),
            ("brokeros-http", "shared/adapters/http"),
            ("aws-sdk-sqs", ""),
            ("aws-config", ""),
            ("lambda_http", ""),
            ("axum", ""),
            ("hyper", ""),
            ("rusqlite", ""),
        ] {
            let v = violations_with(("brokeros-crm", "shared/contexts/crm", &[(dep, dir, "")]));
            assert_one(&v, "rule 4:", &["brokeros-crm", dep]);
        }
    }

    #[test]
    fn rule_5_contexts_form_no_cycle_even_through_dev_dependencies() {
        let v = violations_with((
            "brokeros-crm",
            "shared/contexts/crm",
            &[
                ("brokeros-kernel", "shared/lib/kernel", ""),
                ("brokeros-onboarding", "shared/contexts/onboarding", "dev"),
            ],
        ));
        assert_one(
            &v,
            "rule 5:",
            &[
                "brokeros-crm, brokeros-onboarding",
                "brokeros-crm → (dev) brokeros-onboarding",
                "brokeros-onboarding → brokeros-crm",
            ],
        );
    }

    #[test]
    fn rule_6_the_app_stays_off_adapters_sfn_and_engines() {
        for (dep, dir) in [
            ("brokeros-sfn", "shared/lib/sfn"),
            ("brokeros-store-sqlite", "shared/lib/store-sqlite"),
            ("brokeros-aws", "shared/adapters/aws"),
            ("brokeros-http", "shared/adapters/http"),
        ] {
            let v = violations_with(("brokeros-app", "shared/app", &[(dep, dir, "")]));
            assert_one(&v, "rule 6:", &["brokeros-app", dep]);
        }
    }

    #[test]
    fn rule_7_adapters_keep_to_their_host() {
        for (name, dir, dep, dep_dir) in [
            (
                "brokeros-http",
                "shared/adapters/http",
                "brokeros-aws",
                "shared/adapters/aws",
            ),
            (
                "brokeros-http",
                "shared/adapters/http",
                "brokeros-sfn",
                "shared/lib/sfn",
            ),
            (
                "brokeros-http",
                "shared/adapters/http",
                "brokeros-store-sqlite",
                "shared/lib/store-sqlite",
            ),
            (
                "brokeros-aws",
                "shared/adapters/aws",
                "brokeros-adapter-local",
                "shared/adapters/local",
            ),
            (
                "brokeros-aws",
                "shared/adapters/aws",
                "brokeros-store-sqlite",
                "shared/lib/store-sqlite",
            ),
            (
                "brokeros-aws",
                "shared/adapters/aws",
                "brokeros-sfn",
                "shared/lib/sfn",
            ),
            (
                "brokeros-adapter-local",
                "shared/adapters/local",
                "brokeros-aws",
                "shared/adapters/aws",
            ),
            (
                "brokeros-adapter-local",
                "shared/adapters/local",
                "brokeros-http",
                "shared/adapters/http",
            ),
            (
                "brokeros-adapter-local",
                "shared/adapters/local",
                "brokeros-store-dynamodb",
                "shared/lib/store-dynamodb",
            ),
        ] {
            let v = violations_with((name, dir, &[(dep, dep_dir, "")]));
            assert_one(&v, "rule 7:", &[name, dep]);
        }
    }

    #[test]
    fn rule_8_functions_use_the_aws_and_http_adapters_only() {
        for (dep, dir) in [
            ("brokeros-adapter-local", "shared/adapters/local"),
            ("brokeros-sfn", "shared/lib/sfn"),
            ("brokeros-store-sqlite", "shared/lib/store-sqlite"),
            ("brokeros-app", "shared/app"),
            ("brokeros-crm", "shared/contexts/crm"),
            ("brokeros-kernel", "shared/lib/kernel"),
        ] {
            let v = violations_with(("crm-api", "functions/crm-api", &[(dep, dir, "")]));
            assert_one(&v, "rule 8:", &["crm-api (functions/crm-api", dep]);
        }
        // The function's edge to a crate on no floor fails too, besides rule 1 for that crate.
        let mut members = clean();
        members.push(("brokeros-domain", "shared/domain", &[]));
        members.retain(|m| m.0 != "crm-api");
        members.push((
            "crm-api",
            "functions/crm-api",
            &[("brokeros-domain", "shared/domain", "")],
        ));
        let workspace = Workspace::from_metadata(&metadata(&members)).unwrap();
        let v: Vec<String> = check(&workspace).iter().map(|v| v.to_string()).collect();
        assert_eq!(v.len(), 2, "{v:#?}");
        assert!(v[0].starts_with("rule 1: brokeros-domain (shared/domain) is on no floor"));
        assert!(v[1].starts_with("rule 8: a function"));
        assert!(v[1].contains("depends on brokeros-domain (shared/domain, on no floor)"));
    }

    #[test]
    fn rule_9_cli_and_tests_may_use_anything() {
        let anything: &[(&str, &str, &str)] = &[
            ("brokeros-adapter-local", "shared/adapters/local", ""),
            ("brokeros-store-sqlite", "shared/lib/store-sqlite", ""),
            ("brokeros-crm", "shared/contexts/crm", ""),
            ("rusqlite", "", ""),
        ];
        assert_eq!(
            violations_with(("brokeros", "cli", anything)),
            Vec::<String>::new()
        );
        assert_eq!(
            violations_with(("brokeros-tests", "tests", anything)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_new_context_needs_no_change() {
        let v = violations_with((
            "brokeros-pamm",
            "shared/contexts/pamm",
            &[("brokeros-crm", "shared/contexts/crm", "")],
        ));
        assert_eq!(v, Vec::<String>::new());
    }
}
