//! The architecture test of Broker OS.
//!
//! Rules 1 to 9 (every crate on a floor by its manifest directory; each floor's dependencies)
//! come from the table in [`rules`] and are checked against `cargo metadata` in [`deps`];
//! rule 10 (no module import cycles inside a crate) is [`modules`]; rule 11 (a context's model
//! is pure) is [`purity`]; rule 12 (a context touches the store only in its repositories) is
//! [`repository`]; rule 13 (the http adapter registers routes only through `routes!`, from
//! their documented operation) is [`routes`]. The whole-workspace tests
//! are `tests/architecture.rs`:
//!
//! ```text
//! cargo test -p brokeros-architecture --test architecture
//! ```

pub mod deps;
mod graph;
pub mod modules;
pub mod purity;
pub mod repository;
pub mod routes;
pub mod rules;
mod source;
pub mod workspace;

pub use deps::{Violation, Workspace};
pub use modules::{ModuleCycle, module_cycles};
pub use workspace::{
    dependency_report, model_purity_report, module_cycle_report, read_sources, repository_report,
    route_report, this_workspace,
};
