//! The whole workspace against the architecture's rules (see `src/rules.rs` for rules 1 to 9,
//! `src/modules.rs` for rule 10, `src/purity.rs` for rule 11, `src/repository.rs` for rule 12,
//! `src/routes.rs` for rule 13).

use brokeros_architecture::{
    dependency_report, model_purity_report, module_cycle_report, repository_report, route_report,
    this_workspace,
};

#[test]
fn workspace_follows_the_dependency_rule() {
    let workspace = this_workspace().expect("cargo metadata");
    let report = dependency_report(&workspace);
    assert!(
        report.is_empty(),
        "{} violation(s) of the dependency rules:\n\n{}\n",
        report.len(),
        report.join("\n\n")
    );
}

#[test]
fn no_module_import_cycles() {
    let workspace = this_workspace().expect("cargo metadata");
    let report = module_cycle_report(&workspace).expect("the workspace's sources");
    assert!(
        report.is_empty(),
        "{} module import cycle(s):\n\n{}\n",
        report.len(),
        report.join("\n\n")
    );
}

#[test]
fn context_models_are_pure() {
    let workspace = this_workspace().expect("cargo metadata");
    let report = model_purity_report(&workspace).expect("the workspace's sources");
    assert!(
        report.is_empty(),
        "{} impure model(s):\n\n{}\n",
        report.len(),
        report.join("\n\n")
    );
}

#[test]
fn contexts_touch_the_store_only_in_their_repositories() {
    let workspace = this_workspace().expect("cargo metadata");
    let report = repository_report(&workspace).expect("the workspace's sources");
    assert!(
        report.is_empty(),
        "{} store access(es) outside a repository:\n\n{}\n",
        report.len(),
        report.join("\n\n")
    );
}

#[test]
fn the_http_adapter_registers_routes_only_from_their_documented_operations() {
    let workspace = this_workspace().expect("cargo metadata");
    let report = route_report(&workspace).expect("the http adapter's sources");
    assert!(
        report.is_empty(),
        "{} route(s) registered outside the API's contract:\n\n{}\n",
        report.len(),
        report.join("\n\n")
    );
}
